//! One frame of an NvBufSurface batch and the batch's memory type: what parsing a
//! descriptor produces ([`crate::nvmm::surface`]) and the CPU map path consumes
//! ([`crate::nvmm::map`]).

use std::fmt;

use crate::color::PixelFormat;
use crate::frame::FrameInfo;
use crate::nvmm::abi::{self, mem_type};

/// Where a batch's pixels live (`NvBufSurfaceMemType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemType {
    /// CUDA device memory on dGPU, SURFACE_ARRAY on Jetson.
    Default,
    /// Page-locked host memory, addressed by kernels through unified addressing.
    CudaPinned,
    /// CUDA device memory.
    CudaDevice,
    /// CUDA managed memory.
    CudaUnified,
    /// Jetson NvBuffer, reachable only through `NvBufSurfaceMap`.
    SurfaceArray,
    /// Jetson, like SURFACE_ARRAY.
    Handle,
    /// malloc'ed host memory.
    System,
}

impl MemType {
    /// Decodes an `NvBufSurfaceMemType`.
    pub fn from_raw(v: u32) -> Option<MemType> {
        Some(match v {
            mem_type::DEFAULT => MemType::Default,
            mem_type::CUDA_PINNED => MemType::CudaPinned,
            mem_type::CUDA_DEVICE => MemType::CudaDevice,
            mem_type::CUDA_UNIFIED => MemType::CudaUnified,
            mem_type::SURFACE_ARRAY => MemType::SurfaceArray,
            mem_type::HANDLE => MemType::Handle,
            mem_type::SYSTEM => MemType::System,
            _ => return None,
        })
    }

    /// The `NvBufSurfaceMemType` value.
    pub fn raw(self) -> u32 {
        match self {
            MemType::Default => mem_type::DEFAULT,
            MemType::CudaPinned => mem_type::CUDA_PINNED,
            MemType::CudaDevice => mem_type::CUDA_DEVICE,
            MemType::CudaUnified => mem_type::CUDA_UNIFIED,
            MemType::SurfaceArray => mem_type::SURFACE_ARRAY,
            MemType::Handle => mem_type::HANDLE,
            MemType::System => mem_type::SYSTEM,
        }
    }
}

impl fmt::Display for MemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(abi::mem_type_name(self.raw()))
    }
}

/// One filled frame of a batch, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmmFrame {
    /// Position in the batch (`surfaceList[index]`).
    pub index: usize,
    /// Plane 0's address, `dataPtr + planeParams.offset[0]`: a device address for CUDA
    /// memory types, a host address for SYSTEM (the raw `dataPtr` on Jetson memory,
    /// which is reached through `NvBufSurfaceMap` instead).
    pub data_ptr: u64,
    /// Row pitch in bytes.
    pub pitch: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The raw `NvBufSurfaceColorFormat`.
    pub color_format: u32,
    /// The packed format it maps to; for planar frames (`planar` is `Some`) `Rgba`,
    /// the format their ops are resolved against.
    pub format: PixelFormat,
    /// NV12 and I420 frames: planes (offsets from `data_ptr`, which is then the raw
    /// `dataPtr`), matrix and range from the colour format; `None` for packed frames.
    pub planar: Option<crate::planar::PlanarInfo>,
    /// The raw `NvBufSurfaceLayout` (always pitch-linear once validated).
    pub layout: u32,
    /// The batch's memory type.
    pub mem_type: MemType,
    /// The descriptor's `gpuId`.
    pub gpu_id: u32,
}

impl NvmmFrame {
    /// Size, pitch and format of the frame (packed frames; for planar ones the
    /// nominal RGBA layout of plane 0's size).
    pub fn info(&self) -> FrameInfo {
        FrameInfo::new(self.width, self.height, self.pitch, self.format)
    }
}
