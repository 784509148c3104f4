//! Synthetic NVMM (feature `synthetic-nvmm`): DeepStream-identical `NvBufSurface`
//! batches on machines without DeepStream, so the path that serves DeepStream buffers
//! is exercised on any CUDA host.
//!
//! A batch is a GstBuffer whose one memory holds exactly the descriptor (64 or 72
//! bytes, as DeepStream's); `surfaceList` points to params kept beside it, and the
//! frames are one contiguous CUDA allocation (device, pinned or managed memory) with
//! DeepStream's plane parameters. The memory's owner returns the allocation to its pool
//! when GStreamer frees the memory (or frees it when the pool is gone), so no buffer
//! can leak or dangle.

use std::sync::{Arc, Mutex, Weak};

use gstreamer as gst;

use crate::cuda::memory::{Allocation, MemoryKind, copy_2d};

use crate::color::PixelFormat;
use crate::error::{Error, Result};
use crate::frame::FrameInfo;
use crate::nvmm::abi::{Abi, FrameParams, SurfaceHeader, color_format};
use crate::nvmm::frame::{MemType, NvmmFrame};
use crate::nvmm::surface::MAX_BATCH;

/// Allocations a pool keeps for reuse (beyond this, released batches are freed).
const POOL_KEEP: usize = 8;

/// What a [`SyntheticPool`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticConfig {
    pub abi: Abi,
    /// CudaDevice, CudaPinned, CudaUnified or Default (device memory, as on dGPU).
    pub mem_type: MemType,
    /// `batchSize`: frames per descriptor.
    pub batch_size: u32,
    /// `gpuId`: the device the frames are allocated on.
    pub gpu_id: u32,
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    /// Row pitch alignment in bytes (a power of two >= 4); DeepStream pads rows too.
    pub pitch_align: usize,
}

impl SyntheticConfig {
    /// Device memory, RGBA, one frame, pitch aligned to 512 bytes, detected ABI (the
    /// 4.0-7.1 layout if `CUDADRAW_NVMM_ABI` is invalid: consumers report that).
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            abi: Abi::detect().unwrap_or(Abi::Ds4To7),
            mem_type: MemType::CudaDevice,
            batch_size: 1,
            gpu_id: 0,
            width,
            height,
            format: PixelFormat::Rgba,
            pitch_align: 512,
        }
    }

    /// Row pitch of each frame.
    pub fn pitch(&self) -> usize {
        (self.width as usize * 4).next_multiple_of(self.pitch_align.max(4))
    }
}

fn memory_kind(m: MemType) -> MemoryKind {
    match m {
        MemType::CudaPinned => MemoryKind::Pinned,
        MemType::CudaUnified => MemoryKind::Managed,
        _ => MemoryKind::Device,
    }
}

/// Owns what a batch's descriptor points to; GStreamer drops it with the memory.
struct SurfaceOwner {
    desc: Vec<u8>,
    /// `surfaceList` (u64 storage for alignment).
    _list: Vec<u64>,
    alloc: Option<Allocation>,
    pool: Weak<Mutex<Vec<Allocation>>>,
}

impl AsRef<[u8]> for SurfaceOwner {
    fn as_ref(&self) -> &[u8] {
        &self.desc
    }
}

impl AsMut<[u8]> for SurfaceOwner {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.desc
    }
}

impl Drop for SurfaceOwner {
    fn drop(&mut self) {
        let Some(alloc) = self.alloc.take() else {
            return;
        };
        if let Some(pool) = self.pool.upgrade() {
            let mut free = pool.lock().unwrap_or_else(|e| e.into_inner());
            if free.len() < POOL_KEEP {
                free.push(alloc);
            }
        }
        // Otherwise `alloc` is dropped here: freed.
    }
}

/// Allocates synthetic NVMM batches of one configuration, reusing frame memory.
#[derive(Debug)]
pub struct SyntheticPool {
    cfg: SyntheticConfig,
    free: Arc<Mutex<Vec<Allocation>>>,
}

impl SyntheticPool {
    /// Checks the configuration and opens the GPU's primary context.
    /// [`Error::NoCudaDevice`] without a driver or with fewer GPUs than `gpu_id + 1`.
    pub fn new(cfg: SyntheticConfig) -> Result<SyntheticPool> {
        if !matches!(
            cfg.mem_type,
            MemType::CudaDevice | MemType::CudaPinned | MemType::CudaUnified | MemType::Default
        ) {
            return Err(cfg.abi.error(format!(
                "synthetic NVMM makes CUDA memory only, not {}",
                cfg.mem_type
            )));
        }
        if cfg.batch_size == 0 || cfg.batch_size > MAX_BATCH {
            return Err(cfg.abi.error(format!(
                "batch size {} outside 1..={MAX_BATCH}",
                cfg.batch_size
            )));
        }
        if !cfg.pitch_align.is_power_of_two() {
            return Err(cfg.abi.error(format!(
                "pitch alignment {} is not a power of two",
                cfg.pitch_align
            )));
        }
        FrameInfo::new(cfg.width, cfg.height, cfg.pitch(), cfg.format).validate(0)?;
        let n = crate::cuda::device_count();
        if cfg.gpu_id as usize >= n {
            return Err(Error::NoCudaDevice(format!(
                "synthetic NVMM on GPU {} but {n} CUDA device(s) present",
                cfg.gpu_id
            )));
        }
        crate::cuda::context::primary_context(cfg.gpu_id)?;
        Ok(SyntheticPool {
            cfg,
            free: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SyntheticConfig {
        &self.cfg
    }

    fn frame_stride(&self) -> usize {
        self.cfg.pitch() * self.cfg.height as usize
    }

    /// A batch with `num_filled` frames (<= batch size) whose pixels are unspecified.
    pub fn acquire(&self, num_filled: u32) -> Result<gst::Buffer> {
        let cfg = &self.cfg;
        if num_filled > cfg.batch_size {
            return Err(cfg.abi.error(format!(
                "numFilled {num_filled} > batchSize {}",
                cfg.batch_size
            )));
        }
        let alloc = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            free.pop()
        };
        let alloc = match alloc {
            Some(a) => a,
            None => Allocation::new(
                cfg.gpu_id,
                memory_kind(cfg.mem_type),
                self.frame_stride() * cfg.batch_size as usize,
            )?,
        };
        let stride = cfg.abi.params_size();
        let mut list = vec![0u64; (stride * cfg.batch_size as usize).div_ceil(8)];
        let pitch = cfg.pitch() as u32;
        {
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut list);
            for i in 0..cfg.batch_size as usize {
                let ptr = alloc.ptr() + (i * self.frame_stride()) as u64;
                let p = FrameParams::packed_rgba(
                    cfg.width,
                    cfg.height,
                    pitch,
                    nv_color_format(cfg.format),
                    ptr,
                );
                cfg.abi.write_params(&mut bytes[i * stride..], &p)?;
            }
        }
        let header = SurfaceHeader {
            gpu_id: cfg.gpu_id,
            batch_size: cfg.batch_size,
            num_filled,
            is_contiguous: true,
            mem_type: cfg.mem_type.raw(),
            surface_list: list.as_ptr() as u64,
        };
        let mut desc = vec![0u8; cfg.abi.surface_size()];
        cfg.abi.write_header(&mut desc, &header)?;
        Ok(gst::Buffer::from_mut_slice(SurfaceOwner {
            desc,
            _list: list,
            alloc: Some(alloc),
            pool: Arc::downgrade(&self.free),
        }))
    }

    /// A batch holding `frames` (each `src_stride` bytes per row, at least 4 * width).
    pub fn upload(&self, frames: &[&[u8]], src_stride: usize) -> Result<gst::Buffer> {
        let buffer = self.acquire(frames.len() as u32)?;
        {
            let map = buffer
                .map_readable()
                .map_err(|_| self.cfg.abi.error("cannot map a synthetic batch"))?;
            let mut parsed = Vec::new();
            // SAFETY: we just wrote this descriptor; its params and frames are live.
            unsafe { crate::nvmm::surface::parse(map.as_slice(), self.cfg.abi, &mut parsed) }?;
            for (f, src) in parsed.iter().zip(frames) {
                upload_to_frame(f, src, src_stride)?;
            }
        }
        Ok(buffer)
    }
}

/// The `NvBufSurfaceColorFormat` of a drawable format.
pub fn nv_color_format(f: PixelFormat) -> u32 {
    match f {
        PixelFormat::Rgba => color_format::RGBA,
        PixelFormat::Bgra => color_format::BGRA,
        PixelFormat::Rgbx => color_format::RGBX,
        PixelFormat::Bgrx => color_format::BGRX,
    }
}

/// Copies between host memory (`host_len` bytes, `host_stride` apart) and frame `f`.
fn copy_frame(
    f: &NvmmFrame,
    host: *mut u8,
    host_stride: usize,
    host_len: usize,
    to_device: bool,
) -> Result<()> {
    let row = f.width as usize * 4;
    let need = host_stride * (f.height as usize - 1) + row;
    if host_stride < row || host_len < need {
        return Err(Error::InvalidFrame {
            index: f.index,
            reason: format!(
                "host buffer of {host_len} bytes with stride {host_stride} cannot hold {}x{}",
                f.width, f.height
            ),
        });
    }
    // SAFETY: the host side was checked to hold the rows; the frame's dataPtr is a live
    // CUDA-addressable allocation of pitch x height bytes (validated descriptor).
    unsafe {
        copy_2d(
            f.gpu_id,
            (host, host_stride),
            (f.data_ptr, f.pitch),
            (row, f.height as usize),
            to_device,
        )
    }
}

/// Copies a frame of a CUDA-memory batch (device, pinned, unified or dGPU default) into
/// host memory with `dst_stride` bytes per row. Synchronous.
pub fn download_frame(f: &NvmmFrame, dst: &mut [u8], dst_stride: usize) -> Result<()> {
    if !matches!(
        f.mem_type,
        MemType::CudaDevice | MemType::CudaPinned | MemType::CudaUnified | MemType::Default
    ) {
        return Err(Error::UnsupportedFormat(format!(
            "cannot download {} memory with CUDA copies",
            f.mem_type
        )));
    }
    copy_frame(f, dst.as_mut_ptr(), dst_stride, dst.len(), false)
}

/// Copies host pixels into a frame of a CUDA-memory batch (see [`download_frame`]).
pub fn upload_to_frame(f: &NvmmFrame, src: &[u8], src_stride: usize) -> Result<()> {
    // The source is only read (to_device): the cast to *mut is the copy API's shape.
    copy_frame(f, src.as_ptr() as *mut u8, src_stride, src.len(), true)
}
