//! Sharing cudadraw's CUDA context with GStreamer's CUDA elements (context type
//! [`CUDA_CONTEXT_TYPE`]), so that `cudaupload`, `cudadownload` and the nvcodec
//! elements allocate in the context the kernels run in and CUDA memory is drawn in
//! place (see [`super::cudamem`] for the memory itself): the element answers its
//! neighbours' context queries with a `SharedContext` (feature `cuda`); probe users call
//! `share_context` on the pipeline.
//!
//! Nothing here links libgstcuda: its few functions are looked up at run time in
//! `libgstcuda-1.0.so.0`, so the crate loads and runs where it is missing (sharing is
//! then simply not offered).

// Without the `cuda` feature only the GStreamer side remains (queries answered by no
// one): its CUDA-only helpers are unused then.
#![cfg_attr(not(feature = "cuda"), allow(unused_imports, dead_code))]

use std::ffi::c_void;
use std::sync::{Mutex, OnceLock};

use gstreamer as gst;
use gstreamer::ffi as gst_ffi;
use gstreamer::glib;
use gstreamer::glib::translate::{FromGlibPtrFull, ToGlibPtr};
use gstreamer::prelude::*;

#[cfg(feature = "cuda")]
use crate::cuda::context::{self, ContextHandle};
use crate::error::{Error, Result};

/// `GST_CUDA_CONTEXT_TYPE`: the `GstContext` type GStreamer's CUDA elements share.
pub const CUDA_CONTEXT_TYPE: &str = "gst.cuda.context";

/// `cuda-device-id` of a `GstCudaContext` (0 if the object has no such property).
pub(crate) fn device_id_of(obj: &glib::Object) -> u32 {
    if obj.find_property("cuda-device-id").is_some() {
        obj.property::<u32>("cuda-device-id")
    } else {
        0
    }
}

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
    /// `SharedContext::for_gpu` or another wrapper of the same `CUcontext`):
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
