//! Upstream GStreamer CUDA memory (`video/x-raw(memory:CUDAMemory)`, made by
//! `cudaupload`, the nvcodec decoders and friends).
//!
//! The buffer is mapped with `GST_MAP_CUDA`, which yields the device pointer of
//! plane 0 (GStreamer uploads first if the host copy is newer); the stride comes from
//! the buffer's `GstVideoMeta`, else from the memory's own `GstVideoInfo`. The GPU is
//! the memory's `GstCudaContext` `cuda-device-id`. Work pending on the memory's CUDA
//! stream (GStreamer >= 1.24) is waited for before drawing; the CUDA backend's render
//! is blocking, so the memory is complete again when it is unmapped.
//!
//! GStreamer 1.22 allocates in a CUDA context of its own, not the device's primary
//! context that the CUDA backend runs in, and a kernel cannot address another
//! context's allocations. When the pointer belongs to a foreign context the frame is
//! staged: copied with `cuMemcpyPeer` into a device buffer of the primary context
//! (kept between buffers), drawn there and copied back.
//!
//! Nothing here links libgstcuda: memory is recognised by its type name, its public
//! struct layout is mirrored, and the optional `gst_cuda_memory_sync` is looked up at
//! run time.

use std::ffi::c_void;
use std::sync::OnceLock;

use cudarc::driver::sys as cu;
use gstreamer as gst;
use gstreamer::ffi as gst_ffi;
use gstreamer::glib;
use gstreamer::glib::translate::from_glib_none;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

use crate::color::PixelFormat;
use crate::error::{Error, Result};
use crate::frame::{DeviceFrame, FrameInfo};

/// `GST_CUDA_MEMORY_TYPE_NAME`.
pub const CUDA_MEMORY_TYPE: &str = "gst.cuda.memory";
/// `GST_MAP_CUDA` = `GST_MAP_FLAG_LAST << 1` (gst/cuda/gstcudamemory.h).
pub const GST_MAP_CUDA: u32 = gst_ffi::GST_MAP_FLAG_LAST << 1;

/// Layout of the public part of `GstCudaMemory` (gst/cuda/gstcudamemory.h, 1.22+).
#[repr(C)]
struct GstCudaMemory {
    mem: gst_ffi::GstMemory,
    context: *mut gst_ffi::GstObject,
    info: gst_video::ffi::GstVideoInfo,
}

/// Whether `mem` is GStreamer CUDA memory.
pub fn is_cuda_memory(mem: &gst::MemoryRef) -> bool {
    mem.is_type(CUDA_MEMORY_TYPE)
}

type SyncFn = unsafe extern "C" fn(*mut gst_ffi::GstMemory);

/// `gst_cuda_memory_sync` (GStreamer >= 1.24: waits for the memory's stream), if the
/// process has a libgstcuda that exports it.
fn memory_sync_fn() -> Option<SyncFn> {
    static SYNC: OnceLock<Option<(libloading::Library, SyncFn)>> = OnceLock::new();
    SYNC.get_or_init(|| {
        // SAFETY: loading GStreamer's own CUDA helper library runs only its (idempotent)
        // constructors; the symbol has the C signature declared above.
        unsafe {
            let lib = libloading::Library::new("libgstcuda-1.0.so.0").ok()?;
            let f: SyncFn = *lib.get::<SyncFn>(b"gst_cuda_memory_sync\0").ok()?;
            Some((lib, f))
        }
    })
    .as_ref()
    .map(|(_, f)| *f)
}

/// A buffer of CUDA memory mapped for the CUDA backend; unmapped on drop.
pub struct CudaFrameMap<'a> {
    buffer: &'a mut gst::BufferRef,
    map: gst_ffi::GstMapInfo,
    frame: DeviceFrame,
    /// The context that owns the memory, when it is not the primary context.
    foreign_ctx: Option<cu::CUcontext>,
}

impl<'a> CudaFrameMap<'a> {
    /// Maps plane 0 of `buffer` (read-write, `GST_MAP_CUDA`) and describes it.
    pub fn map(
        buffer: &'a mut gst::BufferRef,
        video: &gst_video::VideoInfo,
        format: PixelFormat,
    ) -> Result<Self> {
        if buffer.n_memory() != 1 || !is_cuda_memory(buffer.peek_memory(0)) {
            return Err(Error::Gst("buffer does not hold one CUDA memory".into()));
        }
        let stride = match buffer.meta::<gst_video::VideoMeta>() {
            Some(m) => {
                if m.offset()[0] != 0 {
                    return Err(Error::Gst(format!(
                        "CUDA buffer with plane 0 at offset {} is not supported",
                        m.offset()[0]
                    )));
                }
                m.stride()[0]
            }
            None => {
                let mem = buffer.peek_memory(0).as_ptr() as *const GstCudaMemory;
                // SAFETY: the memory is of type gst.cuda.memory, whose instances are
                // GstCudaMemory structs with this public prefix.
                unsafe { (*mem).info.stride[0] }
            }
        };
        let pitch = usize::try_from(stride)
            .map_err(|_| Error::Gst(format!("negative CUDA stride {stride}")))?;
        let gpu_id = {
            let mem = buffer.peek_memory(0).as_ptr() as *const GstCudaMemory;
            // SAFETY: as above; the context is a GstCudaContext (a GObject) owned by
            // the memory for its whole life.
            let ctx = unsafe { (*mem).context };
            if ctx.is_null() {
                return Err(Error::Gst("CUDA memory without a context".into()));
            }
            let obj: glib::Object =
                unsafe { from_glib_none(ctx as *mut glib::gobject_ffi::GObject) };
            if obj.find_property("cuda-device-id").is_some() {
                obj.property::<u32>("cuda-device-id")
            } else {
                0
            }
        };
        if let Some(sync) = memory_sync_fn() {
            // SAFETY: the memory is a GstCudaMemory; sync only waits on its stream.
            unsafe { sync(buffer.peek_memory(0).as_ptr() as *mut gst_ffi::GstMemory) };
        }
        // SAFETY: a zeroed GstMapInfo is the documented initial state; the buffer is
        // writable (caller's contract) and mapped with flags GstCudaMemory supports.
        let mut map: gst_ffi::GstMapInfo = unsafe { std::mem::zeroed() };
        let flags = gst_ffi::GST_MAP_READ | gst_ffi::GST_MAP_WRITE | GST_MAP_CUDA;
        let ok = unsafe { gst_ffi::gst_buffer_map(buffer.as_mut_ptr(), &mut map, flags) };
        if ok == glib::ffi::GFALSE {
            return Err(Error::Gst(
                "cannot map the CUDA memory (GST_MAP_CUDA)".into(),
            ));
        }
        let info = FrameInfo::new(video.width(), video.height(), pitch, format);
        // SAFETY: the map gives the device address of the memory, which holds the
        // frame described by the caps and video meta, for as long as it is mapped.
        let frame = unsafe { DeviceFrame::new(map.data as u64, info, gpu_id) };
        let mut this = Self {
            buffer,
            map,
            frame,
            foreign_ctx: None,
        };
        if map_len_ok(&this.map, &info).is_err() {
            return Err(Error::Gst(format!(
                "CUDA memory of {} bytes is smaller than the {} the frame needs",
                this.map.size,
                info.min_len()
            )));
        }
        this.foreign_ctx = foreign_context(this.frame.ptr, gpu_id)?;
        Ok(this)
    }

    /// The mapped frame.
    pub fn frame(&self) -> &DeviceFrame {
        &self.frame
    }

    /// Whether the memory belongs to a CUDA context other than the device's primary
    /// context (drawing must then go through [`Staging`]).
    pub fn foreign_context(&self) -> bool {
        self.foreign_ctx.is_some()
    }

    /// Draws with `draw` on a frame the CUDA backend can address: the mapped frame
    /// itself, or a copy in `staging` that is copied back afterwards.
    pub fn draw_with<R>(
        &self,
        staging: &mut Staging,
        draw: impl FnOnce(&DeviceFrame) -> Result<R>,
    ) -> Result<R> {
        match self.foreign_ctx {
            None => draw(&self.frame),
            Some(ctx) => staging.draw(&self.frame, ctx, draw),
        }
    }

    /// Unmaps (also done on drop; this reports nothing more but reads better).
    pub fn finish(self) -> Result<()> {
        drop(self);
        Ok(())
    }
}

fn map_len_ok(map: &gst_ffi::GstMapInfo, info: &FrameInfo) -> Result<()> {
    if map.size < info.min_len() {
        return Err(Error::Gst("short".into()));
    }
    Ok(())
}

impl Drop for CudaFrameMap<'_> {
    fn drop(&mut self) {
        // SAFETY: mapped in `map` with this very info; unmapping with GST_MAP_CUDA |
        // WRITE tells GStreamer the device copy is now the newer one.
        unsafe { gst_ffi::gst_buffer_unmap(self.buffer.as_mut_ptr(), &mut self.map) };
    }
}

fn cuda_err(op: &'static str, r: cu::CUresult) -> Result<()> {
    r.result().map_err(|source| Error::Cuda { op, source })
}

/// The primary context of `gpu`, retained once for the life of the process (the CUDA
/// backend runs in it too).
fn primary_context(gpu: u32) -> Result<cu::CUcontext> {
    static CTX: OnceLock<Vec<OnceLock<usize>>> = OnceLock::new();
    let slots = CTX.get_or_init(|| (0..64).map(|_| OnceLock::new()).collect());
    let slot = slots
        .get(gpu as usize)
        .ok_or_else(|| Error::Gst(format!("GPU id {gpu} out of range")))?;
    if let Some(c) = slot.get() {
        return Ok(*c as cu::CUcontext);
    }
    // SAFETY: plain driver calls with valid out-pointers; the driver is loaded (the
    // caller checked) and initialised by GStreamer's CUDA library already.
    unsafe {
        cuda_err("cuInit", cu::cuInit(0))?;
        let mut dev: cu::CUdevice = 0;
        cuda_err("cuDeviceGet", cu::cuDeviceGet(&mut dev, gpu as i32))?;
        let mut ctx: cu::CUcontext = std::ptr::null_mut();
        cuda_err(
            "cuDevicePrimaryCtxRetain",
            cu::cuDevicePrimaryCtxRetain(&mut ctx, dev),
        )?;
        Ok(*slot.get_or_init(|| ctx as usize) as cu::CUcontext)
    }
}

/// Runs `f` with `ctx` current on this thread, restoring the previous one.
unsafe fn with_context<R>(ctx: cu::CUcontext, f: impl FnOnce() -> R) -> Result<R> {
    // SAFETY: push/pop are balanced; ctx is a retained primary context.
    unsafe {
        cuda_err("cuCtxPushCurrent", cu::cuCtxPushCurrent_v2(ctx))?;
        let r = f();
        let mut old = std::ptr::null_mut();
        cu::cuCtxPopCurrent_v2(&mut old);
        Ok(r)
    }
}

/// The context owning `ptr` if it is not `gpu`'s primary context.
fn foreign_context(ptr: u64, gpu: u32) -> Result<Option<cu::CUcontext>> {
    if !crate::cuda::driver_present() {
        return Err(Error::NoCudaDevice("CUDA memory but no libcuda".into()));
    }
    let primary = primary_context(gpu)?;
    let mut owner: cu::CUcontext = std::ptr::null_mut();
    // SAFETY: valid out-pointer of the attribute's type (CUcontext).
    unsafe {
        cuda_err(
            "cuPointerGetAttribute(CONTEXT)",
            cu::cuPointerGetAttribute(
                &mut owner as *mut cu::CUcontext as *mut c_void,
                cu::CUpointer_attribute::CU_POINTER_ATTRIBUTE_CONTEXT,
                ptr,
            ),
        )?;
    }
    Ok((!owner.is_null() && owner != primary).then_some(owner))
}

/// A device buffer in the primary context, kept between buffers, for frames whose
/// memory belongs to another context. Grows to the largest frame seen, never shrinks.
#[derive(Debug, Default)]
pub struct Staging {
    ptr: u64,
    len: usize,
    gpu: u32,
}

impl Staging {
    fn ensure(&mut self, gpu: u32, len: usize) -> Result<()> {
        if self.ptr != 0 && self.gpu == gpu && self.len >= len {
            return Ok(());
        }
        self.release();
        let ctx = primary_context(gpu)?;
        // SAFETY: push/pop bracket the allocation in the primary context.
        unsafe {
            cuda_err("cuCtxPushCurrent", cu::cuCtxPushCurrent_v2(ctx))?;
            let mut p: cu::CUdeviceptr = 0;
            let r = cu::cuMemAlloc_v2(&mut p, len);
            let mut old = std::ptr::null_mut();
            cu::cuCtxPopCurrent_v2(&mut old);
            cuda_err("cuMemAlloc (staging)", r)?;
            self.ptr = p;
        }
        self.len = len;
        self.gpu = gpu;
        Ok(())
    }

    fn release(&mut self) {
        if self.ptr == 0 {
            return;
        }
        if let Ok(ctx) = primary_context(self.gpu) {
            // SAFETY: the pointer was allocated in this context and is unused now.
            unsafe {
                if cu::cuCtxPushCurrent_v2(ctx) == cu::CUresult::CUDA_SUCCESS {
                    cu::cuMemFree_v2(self.ptr);
                    let mut old = std::ptr::null_mut();
                    cu::cuCtxPopCurrent_v2(&mut old);
                }
            }
        }
        self.ptr = 0;
        self.len = 0;
    }

    fn draw<R>(
        &mut self,
        frame: &DeviceFrame,
        owner: cu::CUcontext,
        draw: impl FnOnce(&DeviceFrame) -> Result<R>,
    ) -> Result<R> {
        let len = frame.info.min_len();
        self.ensure(frame.gpu_id, len)?;
        let primary = primary_context(frame.gpu_id)?;
        // SAFETY: both ranges hold `len` bytes in their contexts; cuMemcpyPeer is
        // synchronous, so the copy is complete before the render reads it. The
        // primary context is made current around it (the copy runs in a context).
        unsafe {
            let r = with_context(primary, || {
                cu::cuMemcpyPeer(self.ptr, primary, frame.ptr, owner, len)
            })?;
            cuda_err("cuMemcpyPeer (to staging)", r)?;
        }
        // SAFETY: the staging buffer holds `len` bytes in the primary context.
        let staged = unsafe { DeviceFrame::new(self.ptr, frame.info, frame.gpu_id) };
        let r = draw(&staged)?;
        // SAFETY: as above, in the other direction; the render was synchronised.
        unsafe {
            let r = with_context(primary, || {
                cu::cuMemcpyPeer(frame.ptr, owner, self.ptr, primary, len)
            })?;
            cuda_err("cuMemcpyPeer (from staging)", r)?;
        }
        Ok(r)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        self.release();
    }
}
