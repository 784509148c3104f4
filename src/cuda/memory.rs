//! CUDA allocations and host copies for the crate's own producers (the synthetic
//! NvBufSurface batches of `nvmm::synthetic`): device, pinned and managed memory in the
//! process-lifetime primary context of a GPU, freed on drop.

use std::ffi::c_void;

use cudarc::driver::{result, sys};

use super::context::{self, CtxGuard, cuda};
use crate::error::{Error, Result};

/// What kind of memory an [`Allocation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKind {
    /// `cuMemAlloc`.
    Device,
    /// `cuMemHostAlloc` (portable, device-mapped): kernels reach it through UVA.
    Pinned,
    /// `cuMemAllocManaged` (global attach).
    Managed,
}

/// One CUDA allocation on one GPU, freed on drop.
#[derive(Debug)]
pub struct Allocation {
    gpu: u32,
    kind: MemoryKind,
    ptr: u64,
    len: usize,
}

impl Allocation {
    /// `len` bytes of `kind` memory on GPU `gpu`.
    pub fn new(gpu: u32, kind: MemoryKind, len: usize) -> Result<Self> {
        let (ctx, _) = context::retained_primary(gpu)?;
        let _g = CtxGuard::push(ctx)?;
        // SAFETY: plain allocations in the pushed context; freed once in Drop.
        let ptr = unsafe {
            match kind {
                MemoryKind::Pinned => result::malloc_host(
                    len,
                    sys::CU_MEMHOSTALLOC_PORTABLE | sys::CU_MEMHOSTALLOC_DEVICEMAP,
                )
                .map(|p| p as u64),
                MemoryKind::Managed => {
                    result::malloc_managed(len, sys::CUmemAttach_flags::CU_MEM_ATTACH_GLOBAL)
                }
                MemoryKind::Device => result::malloc_sync(len),
            }
        }
        .map_err(cuda("allocate CUDA memory"))?;
        Ok(Self {
            gpu,
            kind,
            ptr,
            len,
        })
    }

    /// The address kernels use (for pinned memory also the host address).
    pub fn ptr(&self) -> u64 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn gpu(&self) -> u32 {
        self.gpu
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; a failed free at teardown leaks nothing
        // the driver does not reclaim with the context.
        if let Ok((ctx, _)) = context::retained_primary(self.gpu)
            && let Ok(_g) = CtxGuard::push(ctx)
        {
            // SAFETY: ptr came from the matching allocator in `new` and is freed once.
            let _ = unsafe {
                match self.kind {
                    MemoryKind::Pinned => result::free_host(self.ptr as *mut c_void),
                    _ => result::free_sync(self.ptr),
                }
            };
        }
    }
}

/// A synchronous 2D copy between host memory and CUDA-addressable memory (device,
/// pinned or managed: unified addressing covers them all) on GPU `gpu`.
///
/// `host` and `device` are (address, pitch); `(row_bytes, rows)` the rectangle.
///
/// # Safety
/// `device` must address `rows` rows of `row_bytes` bytes, pitch apart, of live
/// CUDA-addressable memory; `host` must be valid for the same with its pitch (reads
/// when `to_device`, writes otherwise).
pub unsafe fn copy_2d(
    gpu: u32,
    (host, host_pitch): (*mut u8, usize),
    (device, device_pitch): (u64, usize),
    (row_bytes, rows): (usize, usize),
    to_device: bool,
) -> Result<()> {
    if rows == 0 || row_bytes == 0 {
        return Ok(());
    }
    if host_pitch < row_bytes || device_pitch < row_bytes {
        return Err(Error::InvalidFrame {
            index: 0,
            reason: format!("pitches {host_pitch}/{device_pitch} < row of {row_bytes} bytes"),
        });
    }
    let (ctx, _) = context::retained_primary(gpu)?;
    let _g = CtxGuard::push(ctx)?;
    let (host_t, dev_t) = (
        sys::CUmemorytype::CU_MEMORYTYPE_HOST,
        sys::CUmemorytype::CU_MEMORYTYPE_UNIFIED,
    );
    let copy = sys::CUDA_MEMCPY2D {
        srcXInBytes: 0,
        srcY: 0,
        srcMemoryType: if to_device { host_t } else { dev_t },
        srcHost: host as *const c_void,
        srcDevice: if to_device { 0 } else { device },
        srcArray: std::ptr::null_mut(),
        srcPitch: if to_device { host_pitch } else { device_pitch },
        dstXInBytes: 0,
        dstY: 0,
        dstMemoryType: if to_device { dev_t } else { host_t },
        dstHost: host as *mut c_void,
        dstDevice: if to_device { device } else { 0 },
        dstArray: std::ptr::null_mut(),
        dstPitch: if to_device { device_pitch } else { host_pitch },
        WidthInBytes: row_bytes,
        Height: rows,
    };
    // SAFETY: the caller guarantees both sides; a context is current.
    context::check("cuMemcpy2D", unsafe { sys::cuMemcpy2D_v2(&copy) })
}
