//! Upstream GStreamer CUDA memory (`video/x-raw(memory:CUDAMemory)`, made by
//! `cudaupload`, the nvcodec decoders and friends): recognising and mapping it. Sharing
//! cudadraw's CUDA context with the GStreamer CUDA elements, so that such memory is
//! drawn in place, is [`super::cudacontext`].
//!
//! The buffer is mapped with `GST_MAP_CUDA`, which yields the device pointer of
//! plane 0 (GStreamer uploads first if the host copy is newer); the stride comes from
//! the buffer's `GstVideoMeta`, else from the memory's own `GstVideoInfo`. The GPU is
//! the memory's `GstCudaContext` `cuda-device-id`.
//!
//! # Contexts: in place or through copies
//!
//! A kernel can only address memory of the CUDA context it runs in. cudadraw's CUDA
//! backend runs in the device's primary context; GStreamer (1.22) allocates in whatever
//! `GstCudaContext` its elements agreed on through GStreamer's context sharing
//! (`GST_QUERY_CONTEXT` / `NEED_CONTEXT` for type [`super::cudacontext::CUDA_CONTEXT_TYPE`]), and when
//! nobody offers one, `gst_cuda_context_new` creates a context of its own
//! (`cuCtxCreate`). So:
//!
//! * the `cudadraw` element answers those context queries with a `cudacontext::SharedContext`: a
//!   `GstCudaContext` wrapping the primary context (`gst_cuda_context_new_wrapped`).
//!   `cudaupload`, `cudadownload`, decoders... then allocate in cudadraw's context and
//!   every frame is drawn in place on the mapped pointer ([`CudaPath::InPlace`]);
//! * a probe has no element to answer queries: call `cudacontext::share_context` on the pipeline
//!   before it starts, and the same happens;
//! * otherwise (another context was chosen by the application or created by
//!   GStreamer) the frame is staged: copied with `cuMemcpyPeer` into a device buffer of
//!   cudadraw's context (kept between buffers), drawn there and copied back
//!   ([`CudaPath::Copied`]). Correct, but two frame copies per buffer.
//!
//! Which path a buffer takes is decided per buffer from the context that owns the
//! mapped pointer (`cuPointerGetAttribute`), compared with the context the renderer
//! launches in (`CudaRenderer::context`), so a wrong guess can only
//! cost copies, never draw through a pointer the kernels cannot address.
//!
//! # Streams
//!
//! GStreamer 1.22's `GstCudaMemory` carries no stream (its elements synchronise their
//! own work before pushing a buffer); where libgstcuda exports `gst_cuda_memory_sync`
//! (GStreamer >= 1.24) it is called once the memory is mapped. Drawn in place, the
//! renderer's stream is then ordered after the context's legacy stream with an event
//! (GStreamer 1.22 uploads with blocking `cuMemcpy` calls there, which return before a
//! copy from pageable memory lands); nothing else on the context is waited for. Only
//! the staging path synchronises whole contexts (`cuCtxSynchronize`, memory's then
//! ours), as no stream orders work across contexts. The CUDA backend's render waits
//! for its own stream, so the memory is complete again when it is unmapped.
//!
//! # Negotiation
//!
//! `cudaupload` and `cudadownload` list system memory *before* CUDA memory in the caps
//! they offer (GStreamer 1.22), so `videotestsrc ! cudaupload ! cudadraw ! cudadownload`
//! negotiates plain system memory: both pass through and cudadraw draws on the host.
//! Put a `video/x-raw(memory:CUDAMemory)` capsfilter after `cudaupload` to get CUDA
//! memory, and check the caps a decoder negotiated the same way.
//!
//! Nothing here links libgstcuda: memory is recognised by its type name, its public
//! struct layout is mirrored, and the few functions needed are looked up at run time
//! in `libgstcuda-1.0.so.0`, so the crate loads and runs where it is missing (context
//! sharing is then simply not offered).

// Without the `cuda` feature only the GStreamer side remains (memory recognition,
// context queries answered by no one): its CUDA-only helpers are unused then.
#![cfg_attr(not(feature = "cuda"), allow(unused_imports, dead_code))]

use std::sync::OnceLock;

use gstreamer as gst;
use gstreamer::ffi as gst_ffi;
use gstreamer::glib;
use gstreamer::glib::translate::{IntoGlib, from_glib_none};
use gstreamer_video as gst_video;

#[cfg(feature = "cuda")]
use super::caps::StreamFormat;
#[cfg(feature = "cuda")]
use crate::cuda::context::{self, ContextHandle};
use crate::error::{Error, Result};
#[cfg(feature = "cuda")]
use crate::frame::{DeviceFrame, FrameInfo};
#[cfg(feature = "cuda")]
use crate::planar::DevicePlanarFrame;
#[cfg(feature = "cuda")]
pub use crate::render::CudaMemoryFrame;

#[cfg(feature = "cuda")]
pub use crate::cuda::context::context_synchronizations;
pub use crate::render::CudaPath;

/// `GST_CUDA_MEMORY_TYPE_NAME`.
pub const CUDA_MEMORY_TYPE: &str = "gst.cuda.memory";
/// `GST_MAP_CUDA` = `GST_MAP_FLAG_LAST << 1` (gst/cuda/gstcudamemory.h).
pub const GST_MAP_CUDA: u32 = gst_ffi::GST_MAP_FLAG_LAST << 1;

#[cfg(feature = "cuda")]
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

#[cfg(feature = "cuda")]
type SyncFn = unsafe extern "C" fn(*mut gst_ffi::GstMemory);

#[cfg(feature = "cuda")]
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

#[cfg(feature = "cuda")]
/// A buffer of CUDA memory mapped for the CUDA backend; unmapped on drop.
pub struct CudaFrameMap<'a> {
    buffer: &'a mut gst::BufferRef,
    map: gst_ffi::GstMapInfo,
    frame: CudaMemoryFrame,
    /// The CUDA context that owns the mapped pointer (none: the driver names none,
    /// the pointer is then usable from any context).
    owner: ContextHandle,
}

#[cfg(feature = "cuda")]
impl<'a> CudaFrameMap<'a> {
    /// Maps `buffer` (read-write, `GST_MAP_CUDA`: the device address of its first byte)
    /// and describes the frame: plane 0's stride (packed formats) or every plane's
    /// offset and stride (NV12, I420) from the buffer's `GstVideoMeta`, else from the
    /// memory's own `GstVideoInfo`.
    pub fn map(
        buffer: &'a mut gst::BufferRef,
        video: &gst_video::VideoInfo,
        format: StreamFormat,
    ) -> Result<Self> {
        if buffer.n_memory() != 1 || !is_cuda_memory(buffer.peek_memory(0)) {
            return Err(Error::Gst("buffer does not hold one CUDA memory".into()));
        }
        if !crate::cuda::driver_present() {
            return Err(Error::NoCudaDevice("CUDA memory but no libcuda".into()));
        }
        let mem = buffer.peek_memory(0).as_ptr() as *const GstCudaMemory;
        // SAFETY: the memory is of type gst.cuda.memory, whose instances are
        // GstCudaMemory structs with this public prefix, alive while the buffer is.
        let (mem_offsets, mem_strides) = unsafe { ((*mem).info.offset, (*mem).info.stride) };
        if buffer.meta::<gst_video::VideoMeta>().is_none() {
            // The layout then comes from the memory's own video info: it must describe
            // frames of the caps' format and size.
            // SAFETY: as above; finfo is set for every allocated GstCudaMemory.
            let (finfo, w, h) =
                unsafe { ((*mem).info.finfo, (*mem).info.width, (*mem).info.height) };
            // SAFETY: a non-null finfo points to GStreamer's static format table.
            let format = (!finfo.is_null()).then(|| unsafe { (*finfo).format });
            if format != Some(video.format().into_glib())
                || w != video.width() as i32
                || h != video.height() as i32
            {
                return Err(Error::Gst(format!(
                    "the CUDA memory's own video info ({w}x{h}) disagrees with the caps \
                     ({} {}x{}) and the buffer has no video meta",
                    video.format().to_str(),
                    video.width(),
                    video.height()
                )));
            }
        }
        let gpu_id = {
            // SAFETY: as above; the context is a GstCudaContext (a GObject) owned by
            // the memory for its whole life.
            let ctx = unsafe { (*mem).context };
            if ctx.is_null() {
                return Err(Error::Gst("CUDA memory without a context".into()));
            }
            let obj: glib::Object =
                unsafe { from_glib_none(ctx as *mut glib::gobject_ffi::GObject) };
            super::cudacontext::device_id_of(&obj)
        };
        // The frame at address 0 for now: its layout (and the bytes it needs) first.
        let layout = match format {
            StreamFormat::Packed(format) => {
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
                    None => mem_strides[0],
                };
                let pitch = usize::try_from(stride)
                    .map_err(|_| Error::Gst(format!("negative CUDA stride {stride}")))?;
                let info = FrameInfo::new(video.width(), video.height(), pitch, format);
                // SAFETY: a description only; the address is set once mapped.
                CudaMemoryFrame::Packed(unsafe { DeviceFrame::new(0, info, gpu_id) })
            }
            StreamFormat::Planar {
                layout,
                matrix,
                range,
            } => {
                let pi = super::caps::planar_info(
                    buffer,
                    video,
                    layout,
                    matrix,
                    range,
                    (&mem_offsets, &mem_strides),
                )?;
                // SAFETY: as above.
                CudaMemoryFrame::Planar(unsafe { DevicePlanarFrame::new(0, pi, gpu_id) })
            }
        };
        // A layout from a bogus video meta is refused before its size means anything.
        let need = match &layout {
            CudaMemoryFrame::Packed(f) => {
                f.info().validate(0)?;
                f.info().min_len()
            }
            CudaMemoryFrame::Planar(f) => {
                f.info().validate(0)?;
                f.info().min_len()
            }
        };
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
        // From here on `this` unmaps on every exit; its frame gets the address once the
        // memory is known to hold it.
        let mut this = Self {
            buffer,
            map,
            frame: layout,
            owner: ContextHandle::NONE,
        };
        if this.map.size < need {
            return Err(Error::Gst(format!(
                "CUDA memory of {} bytes is smaller than the {need} the frame needs",
                this.map.size
            )));
        }
        // SAFETY: the map gives the device address of the memory, which holds the
        // `need` bytes of the frame described by the caps and video meta for as long as
        // it is mapped.
        this.frame = unsafe { layout.at_address(this.map.data as u64) };
        this.owner = context::pointer_context(this.map.data as u64)?;
        // The map may itself have uploaded a newer host copy; GStreamer >= 1.24 also
        // tracks the memory's stream: wait for it once mapped.
        if let Some(sync) = memory_sync_fn() {
            // SAFETY: the memory is a GstCudaMemory; sync only waits on its stream.
            unsafe { sync(this.buffer.peek_memory(0).as_ptr() as *mut gst_ffi::GstMemory) };
        }
        Ok(this)
    }

    /// The mapped frame.
    pub fn frame(&self) -> &CudaMemoryFrame {
        &self.frame
    }

    /// The CUDA context that owns the memory ([`ContextHandle::NONE`] if the driver
    /// names none). [`crate::render::Renderer::render_cuda_memory`] draws in place when
    /// it is the renderer's, through a staging copy otherwise.
    pub fn owner_context(&self) -> ContextHandle {
        self.owner
    }
}

#[cfg(feature = "cuda")]
impl Drop for CudaFrameMap<'_> {
    fn drop(&mut self) {
        // SAFETY: mapped in `map` with this very info; unmapping with GST_MAP_CUDA |
        // WRITE tells GStreamer the device copy is now the newer one.
        unsafe { gst_ffi::gst_buffer_unmap(self.buffer.as_mut_ptr(), &mut self.map) };
    }
}
