//! Upstream GStreamer CUDA memory (`video/x-raw(memory:CUDAMemory)`, made by
//! `cudaupload`, the nvcodec decoders and friends), and sharing cudadraw's CUDA context
//! with the GStreamer CUDA elements so that such memory is drawn in place.
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
//! (`GST_QUERY_CONTEXT` / `NEED_CONTEXT` for type [`CUDA_CONTEXT_TYPE`]), and when
//! nobody offers one, `gst_cuda_context_new` creates a context of its own
//! (`cuCtxCreate`). So:
//!
//! * the `cudadraw` element answers those context queries with a [`SharedContext`]: a
//!   `GstCudaContext` wrapping the primary context (`gst_cuda_context_new_wrapped`).
//!   `cudaupload`, `cudadownload`, decoders... then allocate in cudadraw's context and
//!   every frame is drawn in place on the mapped pointer ([`CudaPath::InPlace`]);
//! * a probe has no element to answer queries: call [`share_context`] on the pipeline
//!   before it starts, and the same happens;
//! * otherwise (another context was chosen by the application or created by
//!   GStreamer) the frame is staged: copied with `cuMemcpyPeer` into a device buffer of
//!   cudadraw's context (kept between buffers), drawn there and copied back
//!   ([`CudaPath::Copied`]). Correct, but two frame copies per buffer.
//!
//! Which path a buffer takes is decided per buffer from the context that owns the
//! mapped pointer (`cuPointerGetAttribute`), compared with the context the renderer
//! launches in ([`crate::cuda::CudaRenderer::context`]), so a wrong guess can only
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

use std::ffi::c_void;
use std::sync::{Mutex, OnceLock};

use gstreamer as gst;
use gstreamer::ffi as gst_ffi;
use gstreamer::glib;
use gstreamer::glib::translate::{FromGlibPtrFull, ToGlibPtr, from_glib_none};
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

#[cfg(feature = "cuda")]
use crate::color::PixelFormat;
#[cfg(feature = "cuda")]
use crate::cuda::context::{self, ContextHandle};
use crate::error::{Error, Result};
#[cfg(feature = "cuda")]
use crate::frame::{DeviceFrame, FrameInfo};

#[cfg(feature = "cuda")]
pub use crate::cuda::context::context_synchronizations;
pub use crate::render::CudaPath;

/// `GST_CUDA_MEMORY_TYPE_NAME`.
pub const CUDA_MEMORY_TYPE: &str = "gst.cuda.memory";
/// `GST_MAP_CUDA` = `GST_MAP_FLAG_LAST << 1` (gst/cuda/gstcudamemory.h).
pub const GST_MAP_CUDA: u32 = gst_ffi::GST_MAP_FLAG_LAST << 1;
/// `GST_CUDA_CONTEXT_TYPE`: the `GstContext` type GStreamer's CUDA elements share.
pub const CUDA_CONTEXT_TYPE: &str = "gst.cuda.context";

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
    frame: DeviceFrame,
    /// The CUDA context that owns the mapped pointer (none: the driver names none,
    /// the pointer is then usable from any context).
    owner: ContextHandle,
}

#[cfg(feature = "cuda")]
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
        if !crate::cuda::driver_present() {
            return Err(Error::NoCudaDevice("CUDA memory but no libcuda".into()));
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
            device_id_of(&obj)
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
        let info = FrameInfo::new(video.width(), video.height(), pitch, format);
        // SAFETY: the map gives the device address of the memory, which holds the
        // frame described by the caps and video meta, for as long as it is mapped.
        let frame = unsafe { DeviceFrame::new(map.data as u64, info, gpu_id) };
        // From here on `this` unmaps on every exit.
        let mut this = Self {
            buffer,
            map,
            frame,
            owner: ContextHandle::NONE,
        };
        if this.map.size < info.min_len() {
            return Err(Error::Gst(format!(
                "CUDA memory of {} bytes is smaller than the {} the frame needs",
                this.map.size,
                info.min_len()
            )));
        }
        this.owner = context::pointer_context(this.frame.ptr())?;
        // The map may itself have uploaded a newer host copy; GStreamer >= 1.24 also
        // tracks the memory's stream: wait for it once mapped.
        if let Some(sync) = memory_sync_fn() {
            // SAFETY: the memory is a GstCudaMemory; sync only waits on its stream.
            unsafe { sync(this.buffer.peek_memory(0).as_ptr() as *mut gst_ffi::GstMemory) };
        }
        Ok(this)
    }

    /// The mapped frame.
    pub fn frame(&self) -> &DeviceFrame {
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

/// `cuda-device-id` of a `GstCudaContext` (0 if the object has no such property).
fn device_id_of(obj: &glib::Object) -> u32 {
    if obj.find_property("cuda-device-id").is_some() {
        obj.property::<u32>("cuda-device-id")
    } else {
        0
    }
}

// ---------------------------------------------------------------------------------
// Context sharing

type Gboolean = glib::ffi::gboolean;

/// The libgstcuda functions context sharing needs (all exported since 1.22), resolved
/// at run time.
struct GstCudaLib {
    /// `gst_cuda_context_new_wrapped(CUcontext, CUdevice)`.
    new_wrapped: unsafe extern "C" fn(*mut c_void, i32) -> *mut gst_ffi::GstObject,
    get_handle: unsafe extern "C" fn(*mut gst_ffi::GstObject) -> *mut c_void,
    handle_context_query: unsafe extern "C" fn(
        *mut gst_ffi::GstElement,
        *mut gst_ffi::GstQuery,
        *mut gst_ffi::GstObject,
    ) -> Gboolean,
    new_context: unsafe extern "C" fn(*mut gst_ffi::GstObject) -> *mut gst_ffi::GstContext,
    /// Keeps the symbols above valid.
    _lib: libloading::Library,
}

/// Symbol `name` (NUL-terminated) of `lib` as a `T`.
///
/// # Safety
/// `T` must be the symbol's true (function pointer) type, and the value must not be
/// used after `lib` is unloaded.
unsafe fn symbol<T: Copy>(
    lib: &libloading::Library,
    name: &[u8],
) -> std::result::Result<T, String> {
    // SAFETY: forwarded to the caller.
    unsafe { lib.get::<T>(name) }
        .map(|s| *s)
        .map_err(|e| format!("libgstcuda lacks {}: {e}", String::from_utf8_lossy(name)))
}

/// libgstcuda, loaded once; the error says why context sharing is unavailable.
fn gst_cuda_lib() -> Result<&'static GstCudaLib> {
    static LIB: OnceLock<std::result::Result<GstCudaLib, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        // SAFETY: loading GStreamer's CUDA library runs only its constructors; every
        // symbol is given its C signature from gst/cuda/*.h (1.22).
        unsafe {
            let lib = libloading::Library::new("libgstcuda-1.0.so.0")
                .map_err(|e| format!("libgstcuda-1.0.so.0 not loadable: {e}"))?;
            // libgstcuda reaches the driver through a table filled by this call; its
            // other functions assert on an empty table.
            let load: unsafe extern "C" fn() -> Gboolean =
                symbol(&lib, b"gst_cuda_load_library\0")?;
            if load() == glib::ffi::GFALSE {
                return Err("gst_cuda_load_library failed (no CUDA driver)".into());
            }
            Ok(GstCudaLib {
                new_wrapped: symbol(&lib, b"gst_cuda_context_new_wrapped\0")?,
                get_handle: symbol(&lib, b"gst_cuda_context_get_handle\0")?,
                handle_context_query: symbol(&lib, b"gst_cuda_handle_context_query\0")?,
                new_context: symbol(&lib, b"gst_context_new_cuda_context\0")?,
                _lib: lib,
            })
        }
    })
    .as_ref()
    .map_err(|e| Error::Gst(format!("CUDA context sharing unavailable: {e}")))
}

#[cfg(feature = "cuda")]
/// cudadraw's `GstCudaContext` for one GPU: wraps the device's primary context, the
/// context the CUDA backend renders in, so memory GStreamer allocates in it is drawn in
/// place. One per GPU per process, created on first use and kept (with its retain of
/// the primary context) until the process ends. Cloning clones a reference.
#[derive(Debug, Clone)]
pub struct SharedContext {
    obj: gst::Object,
    gpu: u32,
    handle: ContextHandle,
}

#[cfg(feature = "cuda")]
// The process-wide contexts, one per GPU that asked for one.
static SHARED: Mutex<Vec<SharedContext>> = Mutex::new(Vec::new());

#[cfg(feature = "cuda")]
impl SharedContext {
    /// cudadraw's context for GPU `gpu` (created on first call). Fails where
    /// libgstcuda, the CUDA driver or the device is missing.
    pub fn for_gpu(gpu: u32) -> Result<Self> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = shared.iter().find(|c| c.gpu == gpu) {
            return Ok(c.clone());
        }
        let lib = gst_cuda_lib()?;
        let ctx = context::primary_context(gpu)?;
        let dev = context::device_handle(gpu)?;
        // SAFETY: ctx is a primary context retained for the life of the process (the
        // caller's duty per the 1.22 docs), dev its device. The result is transfer
        // full (already sunk), or null on failure.
        let raw = unsafe { (lib.new_wrapped)(ctx.as_raw(), dev) };
        if raw.is_null() {
            return Err(Error::Gst(format!(
                "gst_cuda_context_new_wrapped failed for GPU {gpu}"
            )));
        }
        // SAFETY: a new full reference to a GstObject.
        let obj: gst::Object = unsafe { gst::Object::from_glib_full(raw) };
        let c = Self {
            obj,
            gpu,
            handle: ctx,
        };
        shared.push(c.clone());
        Ok(c)
    }

    /// The GPU (device ordinal).
    pub fn gpu(&self) -> u32 {
        self.gpu
    }

    /// The wrapped `CUcontext`.
    pub fn handle(&self) -> ContextHandle {
        self.handle
    }

    /// The `GstCudaContext` object.
    pub fn object(&self) -> &gst::Object {
        &self.obj
    }

    /// A `GstContext` of type [`CUDA_CONTEXT_TYPE`] carrying this context, for
    /// `gst::Element::set_context` or a `NEED_CONTEXT` answer.
    pub fn to_gst_context(&self) -> Result<gst::Context> {
        let lib = gst_cuda_lib()?;
        // SAFETY: obj is a GstCudaContext; the result is a new (transfer full)
        // GstContext, or null.
        let raw = unsafe { (lib.new_context)(self.obj.to_glib_none().0) };
        if raw.is_null() {
            return Err(Error::Gst("gst_context_new_cuda_context failed".into()));
        }
        // SAFETY: a new full reference.
        Ok(unsafe { gst::Context::from_glib_full(raw) })
    }

    /// Answers `query` (a `GST_QUERY_CONTEXT` for [`CUDA_CONTEXT_TYPE`]) with this
    /// context, as `element`; false if it is another query.
    pub fn answer_query(&self, element: &gst::Element, query: &mut gst::QueryRef) -> bool {
        answer_context_query(element, query, &self.obj)
    }
}

/// Whether `obj` is a `GstCudaContext` (the type exists once libgstcuda is loaded).
fn is_gst_cuda_context(obj: &gst::Object) -> bool {
    glib::Type::from_name("GstCudaContext").is_some_and(|t| obj.type_().is_a(t))
}

/// Whether `query` is a `GST_QUERY_CONTEXT` asking for [`CUDA_CONTEXT_TYPE`].
pub fn is_cuda_context_query(query: &gst::QueryRef) -> bool {
    matches!(query.view(), gst::QueryView::Context(q) if q.context_type() == CUDA_CONTEXT_TYPE)
}

/// Answers `query` (a `GST_QUERY_CONTEXT` for [`CUDA_CONTEXT_TYPE`]) as `element` with
/// `cuda_context`, a `GstCudaContext` (`gst_cuda_handle_context_query`); false if it is
/// another query or libgstcuda is unavailable.
pub fn answer_context_query(
    element: &gst::Element,
    query: &mut gst::QueryRef,
    cuda_context: &gst::Object,
) -> bool {
    if !is_cuda_context_query(query) || !is_gst_cuda_context(cuda_context) {
        return false;
    }
    let Ok(lib) = gst_cuda_lib() else {
        return false;
    };
    // SAFETY: a context query, a live element and a GstCudaContext (checked above);
    // the function only sets a new GstContext on the (writable) query.
    unsafe {
        (lib.handle_context_query)(
            element.to_glib_none().0,
            query.as_mut_ptr(),
            cuda_context.to_glib_none().0,
        ) != glib::ffi::GFALSE
    }
}

/// What a `GstContext` offered to cudadraw (through `set_context`) carries.
#[derive(Debug, Clone)]
pub enum OfferedContext {
    /// Not a CUDA context (another type, or no usable `GstCudaContext` in it).
    NotCuda,
    /// A `GstCudaContext` wrapping cudadraw's context for `gpu` (the one of
    /// [`SharedContext::for_gpu`] or another wrapper of the same `CUcontext`):
    /// memory allocated in it is drawn in place.
    Ours {
        /// The offered object (keep handing on this one, so the pipeline shares one).
        object: gst::Object,
        /// Its `cuda-device-id`.
        gpu: u32,
    },
    /// A `GstCudaContext` of another CUDA context: memory allocated in it is drawn
    /// through copies.
    Foreign {
        /// Its `cuda-device-id`.
        gpu: u32,
    },
}

/// Classifies a `GstContext` offered to cudadraw.
pub fn classify_context(context: &gst::ContextRef) -> OfferedContext {
    if context.context_type() != CUDA_CONTEXT_TYPE {
        return OfferedContext::NotCuda;
    }
    let Ok(object) = context.structure().get::<gst::Object>(CUDA_CONTEXT_TYPE) else {
        return OfferedContext::NotCuda;
    };
    if !is_gst_cuda_context(&object) {
        return OfferedContext::NotCuda;
    }
    let gpu = device_id_of(object.upcast_ref());
    let Ok(lib) = gst_cuda_lib() else {
        // A GstCudaContext exists, so libgstcuda is loaded; failing to load it here
        // means the driver is unusable: nothing can be drawn in place anyway.
        return OfferedContext::Foreign { gpu };
    };
    // SAFETY: the structure field holds a GstCudaContext (GStreamer's own type for
    // this context type); get_handle only reads it.
    let handle = unsafe { (lib.get_handle)(object.to_glib_none().0) };
    #[cfg(not(feature = "cuda"))]
    let _ = handle;
    #[cfg(feature = "cuda")]
    if let Ok(ours) = context::primary_context(gpu)
        && !handle.is_null()
        && handle == ours.as_raw()
    {
        return OfferedContext::Ours { object, gpu };
    }
    OfferedContext::Foreign { gpu }
}

#[cfg(feature = "cuda")]
/// Makes the GStreamer CUDA elements of `pipeline` (any bin, or a single element)
/// allocate in cudadraw's context of GPU `gpu`, so that CUDA memory drawn by a probe
/// ([`crate::gst::probe::attach`]) is drawn in place rather than through two frame
/// copies per buffer. The `cudadraw` element needs no such call: it offers its context
/// to its neighbours itself.
///
/// Call it before the pipeline leaves the NULL state. It sets the `GstContext` on the
/// bin, which hands it to every child (and to children added later) and answers their
/// `NEED_CONTEXT` messages with it; this leaves the bus's sync handler to the
/// application. Elements told to use another GPU (`cuda-device-id`) keep their own
/// context, and their memory is still drawn, through copies.
pub fn share_context(pipeline: &impl IsA<gst::Element>, gpu: u32) -> Result<()> {
    let context = SharedContext::for_gpu(gpu)?.to_gst_context()?;
    pipeline.as_ref().set_context(&context);
    Ok(())
}
