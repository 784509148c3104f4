//! `draw_buffer`: a GstBuffer from Python (`hash(gst_buffer)` as pyds takes buffers, or a
//! PyGObject `Gst.Buffer`), dispatched like the Rust probe: DeepStream NVMM batches
//! (CUDA memory, Jetson's map path), GStreamer CUDA memory, system memory.
//!
//! One difference from the Rust probe, and why: a buffer seen from a Python pad probe
//! is never writable, because PyGObject's wrapper holds a second reference to it.
//! `gst_buffer_map(WRITE)` refuses such a buffer, so system memory is mapped one level
//! down (`gst_memory_map(WRITE)`), which only requires that the memory itself is not
//! shared with another buffer or read-only: the same bytes pyds users write through
//! `get_nvds_buf_surface`. NVMM batches are only read (the descriptor); their pixels are
//! written through the descriptor's pointers, as DeepStream's own elements do.

use cd::gst::probe::{MemoryKind, StreamInfo};
use cd::nvmm::{Abi, NvmmBatch, NvmmOptions};
use cd::{DrawList, FrameInfo, HostFrame, PixelFormat};
use gstreamer as gst;
use gstreamer::glib::translate::from_glib_none;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::{PyRenderer, to_py};

/// A raw address that crosses into the GIL-free closure. What it points to is the
/// caller's (pyds contract: the buffer outlives the call).
#[derive(Clone, Copy)]
struct Addr(usize);

/// The address of a GstBuffer or GstCaps given from Python: an int (what `hash()`
/// of a PyGObject boxed wrapper returns: the C pointer, which is what pyds uses), or a
/// PyGObject wrapper of the named GType.
fn address(obj: &Bound<'_, PyAny>, gtype: &str, what: &str) -> PyResult<usize> {
    if let Ok(v) = obj.extract::<i64>() {
        return usize::try_from(v)
            .ok()
            .filter(|&a| a != 0)
            .ok_or_else(|| PyValueError::new_err(format!("{what} address {v} is not a pointer")));
    }
    let name: Option<String> = obj
        .getattr_opt("__gtype__")?
        .map(|t| t.getattr("name").and_then(|n| n.extract()))
        .transpose()?;
    if name.as_deref() == Some(gtype) {
        let h = obj.hash()?;
        return usize::try_from(h)
            .ok()
            .filter(|&a| a != 0)
            .ok_or_else(|| PyValueError::new_err(format!("{what} wrapper without a pointer")));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be hash(gst_{what}) or a Gst.{} object, got {}",
        if what == "buffer" { "Buffer" } else { "Caps" },
        obj.get_type().name()?
    )))
}

/// Whether `addr` points at a mini object of GType `ty`: catches a caps pointer passed
/// as a buffer, a freed buffer whose memory was reused... (not every dangling pointer:
/// like pyds, nothing can check that one fully).
///
/// # Safety
/// `addr` must be readable for a `GstMiniObject` header.
unsafe fn is_mini_object(addr: usize, ty: gst::glib::ffi::GType) -> bool {
    // SAFETY: per the contract, the header is readable.
    let t = unsafe { (*(addr as *const gst::ffi::GstMiniObject)).type_ };
    t == ty
}

/// The caps of the call, with their own reference.
fn caps(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<gst::Caps>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = obj.extract::<String>() {
        return s
            .parse::<gst::Caps>()
            .map(Some)
            .map_err(|_| PyValueError::new_err(format!("cannot parse caps '{s}'")));
    }
    // A Gst.Pad (or anything with the method): the caps now negotiated on it.
    if obj.hasattr("get_current_caps")? {
        let c = obj.call_method0("get_current_caps")?;
        if c.is_none() {
            return Err(PyValueError::new_err("the pad has no caps yet"));
        }
        return caps(Some(&c));
    }
    let addr = address(obj, "GstCaps", "caps")?;
    // SAFETY: an address given as caps: checked to be a GstCaps before use (the
    // header read is the one thing trusted, as with every address from Python).
    if !unsafe { is_mini_object(addr, gst::ffi::gst_caps_get_type()) } {
        return Err(PyValueError::new_err(format!(
            "caps address {addr:#x} is not a GstCaps"
        )));
    }
    // SAFETY: a live GstCaps (checked above); from_glib_none takes a reference of our own.
    Ok(Some(unsafe {
        from_glib_none(addr as *const gst::ffi::GstCaps)
    }))
}

pub(crate) fn draw_buffer(
    py: Python<'_>,
    renderer: &PyRenderer,
    buffer: &Bound<'_, PyAny>,
    lists: &Bound<'_, PyAny>,
    caps_obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    if buffer.is_none() {
        return Err(PyTypeError::new_err("buffer is None"));
    }
    let addr = Addr(address(buffer, "GstBuffer", "buffer")?);
    let lists = crate::lists(lists)?;
    gst::init().map_err(|e| PyValueError::new_err(format!("GStreamer: {e}")))?;
    let caps = caps(caps_obj)?;
    // SAFETY: the caller hands a live GstBuffer (pyds contract); its type is checked
    // before anything else is read.
    if !unsafe { is_mini_object(addr.0, gst::ffi::gst_buffer_get_type()) } {
        return Err(PyValueError::new_err(format!(
            "buffer address {:#x} is not a GstBuffer",
            addr.0
        )));
    }
    py.detach(move || {
        let mut r = renderer.lock_for_render();
        // SAFETY: a live GstBuffer (checked above), not freed while the caller holds it
        // for this call.
        let buf = unsafe { gst::BufferRef::from_ptr(addr.0 as *const gst::ffi::GstBuffer) };
        #[cfg(feature = "cuda")]
        if lists.has_device_arrays() {
            let (cuda, _) = r.cuda_and_images().map_err(to_py)?;
            lists.follow_producers(cuda, None).map_err(to_py)?;
        }
        dispatch(&mut r, buf, addr, caps.as_ref(), &lists.lists).map_err(to_py)
    })
}

/// Whether the caller holds the only reference (gst_buffer_is_writable is a macro).
fn writable(buf: &gst::BufferRef) -> bool {
    // SAFETY: a live buffer; the call only reads its refcount and flags.
    unsafe {
        gst::ffi::gst_mini_object_is_writable(buf.as_ptr() as *const gst::ffi::GstMiniObject) != 0
    }
}

fn gst_err(msg: impl Into<String>) -> cd::Error {
    cd::Error::Gst(msg.into())
}

/// Where a buffer's frame is when it is in system memory.
struct Layout {
    info: FrameInfo,
    offset: usize,
}

fn dispatch(
    r: &mut cd::render::Renderer,
    buf: &gst::BufferRef,
    addr: Addr,
    caps: Option<&gst::Caps>,
    lists: &[DrawList],
) -> cd::Result<bool> {
    if lists.iter().all(DrawList::is_empty) {
        // As the Rust probe: nothing to draw, the buffer is not even mapped.
        return Ok(false);
    }
    let meta = buf.meta::<gstreamer_video::VideoMeta>();
    let (kind, layout, video) = match caps {
        Some(c) => {
            let si = StreamInfo::from_caps(c)?;
            cd::gst::probe::check_memory(buf, si.memory)?;
            if si.memory == MemoryKind::Nvmm {
                // The descriptor describes the frames (packed, NV12 or I420); checked
                // against the caps below.
                return nvmm(r, buf, Some(&si), lists);
            }
            let format = si.format.require_packed("the Python binding's frames")?;
            let layout = match &meta {
                Some(m) => layout_of_meta(m, format)?,
                None => Layout {
                    info: FrameInfo::new(
                        si.video.width(),
                        si.video.height(),
                        usize::try_from(si.video.stride()[0]).map_err(|_| {
                            gst_err("negative stride (bottom-up frames are not drawn)")
                        })?,
                        format,
                    ),
                    offset: si.video.offset()[0],
                },
            };
            (si.memory, Some(layout), Some(si.video))
        }
        None => match &meta {
            Some(m) => {
                let format = cd::gst::probe::pixel_format(m.format()).ok_or_else(|| {
                    cd::Error::UnsupportedFormat(format!(
                        "{} (cudadraw draws on RGBA, BGRA, RGBx and BGRx)",
                        m.format().to_str()
                    ))
                })?;
                cd::gst::probe::check_memory(buf, MemoryKind::System)?;
                (MemoryKind::System, Some(layout_of_meta(m, format)?), None)
            }
            None if buf.n_memory() >= 1
                && [Abi::Ds4To7.surface_size(), Abi::Ds8.surface_size()].contains(&buf.size()) =>
            {
                cd::gst::probe::check_memory(buf, MemoryKind::Nvmm)?;
                (MemoryKind::Nvmm, None, None)
            }
            None => {
                return Err(gst_err(format!(
                    "buffer of {} bytes without GstVideoMeta and no caps: pass caps= (the pad, \
                     pad.get_current_caps() or a caps string) so that its layout is known",
                    buf.size()
                )));
            }
        },
    };
    match kind {
        MemoryKind::Nvmm => nvmm(r, buf, None, lists),
        MemoryKind::System => {
            let layout = layout.ok_or_else(|| gst_err("no layout"))?;
            system(r, buf, addr, &layout, lists)?;
            Ok(true)
        }
        MemoryKind::Cuda => cuda(r, buf, addr, video, lists),
        _ => Err(gst_err("unknown memory kind")),
    }
}

/// An NvBufSurface batch (NVMM caps `si`, or none: a descriptor-sized buffer).
fn nvmm(
    r: &mut cd::render::Renderer,
    buf: &gst::BufferRef,
    si: Option<&StreamInfo>,
    lists: &[DrawList],
) -> cd::Result<bool> {
    // SAFETY: the caps (or the buffer's exact descriptor size without caps) say
    // memory:NVMM: an NvBufSurface producer made this buffer; the parser checks the
    // size and every field it uses.
    let batch = unsafe { NvmmBatch::from_buffer(buf, &NvmmOptions::default()) }?;
    if let Some(si) = si {
        cd::gst::drawer::check_nvmm_format(&batch, si.format, si.video.format().to_str())?;
    }
    batch.render(r, lists)?;
    Ok(true)
}

/// A `gst_memory_map` mapping, unmapped on drop.
struct MemMap {
    mem: *mut gst::ffi::GstMemory,
    map: std::mem::MaybeUninit<gst::ffi::GstMapInfo>,
}

impl Drop for MemMap {
    fn drop(&mut self) {
        // SAFETY: `map` was filled by a successful gst_memory_map of `mem`; unmapped once.
        unsafe { gst::ffi::gst_memory_unmap(self.mem, self.map.as_mut_ptr()) };
    }
}

fn layout_of_meta(m: &gstreamer_video::VideoMeta, format: PixelFormat) -> cd::Result<Layout> {
    if m.n_planes() < 1 {
        return Err(gst_err("GstVideoMeta without planes"));
    }
    let pitch = usize::try_from(m.stride()[0])
        .map_err(|_| gst_err("negative stride (bottom-up frames are not drawn)"))?;
    Ok(Layout {
        info: FrameInfo::new(m.width(), m.height(), pitch, format),
        offset: m.offset()[0],
    })
}

fn system(
    r: &mut cd::render::Renderer,
    buf: &gst::BufferRef,
    addr: Addr,
    layout: &Layout,
    lists: &[DrawList],
) -> cd::Result<()> {
    if lists.len() != 1 {
        return Err(cd::Error::BatchMismatch {
            frames: 1,
            lists: lists.len(),
        });
    }
    layout.info.validate(0)?;
    let draw = |r: &mut cd::render::Renderer, data: &mut [u8]| -> cd::Result<()> {
        let len = data.len();
        let data = data.get_mut(layout.offset..).ok_or_else(|| {
            gst_err(format!(
                "plane 0 offset {} beyond the buffer's {len} bytes",
                layout.offset
            ))
        })?;
        let mut hf = HostFrame::new(data, layout.info)?;
        r.render_host(std::slice::from_mut(&mut hf), lists)
    };
    if buf.n_memory() == 1 {
        let mem = buf.peek_memory(0).as_ptr() as *mut gst::ffi::GstMemory;
        let mut map = std::mem::MaybeUninit::<gst::ffi::GstMapInfo>::zeroed();
        // SAFETY: the memory of a live buffer; gst_memory_map(WRITE) decides whether
        // writing is allowed (refused when the memory is read-only or shared with
        // another buffer), without gst_buffer_map's check of the buffer's own refcount.
        // gstreamer-rs' MemoryRef insists on a writable *memory object* before mapping,
        // which a pooled memory inside a buffer never is.
        let ok =
            unsafe { gst::ffi::gst_memory_map(mem, map.as_mut_ptr(), gst::ffi::GST_MAP_WRITE) };
        if ok == 0 {
            return Err(gst_err(
                "cannot map the buffer's memory writable (read-only, or shared with another \
                 buffer)",
            ));
        }
        // Unmapped on every way out, a caught panic included.
        let guard = MemMap { mem, map };
        // SAFETY: mapped above: `data` is valid for `size` bytes, written by us alone
        // until the guard unmaps it.
        let data = unsafe {
            let m = guard.map.assume_init_ref();
            if m.size == 0 || m.data.is_null() {
                &mut [][..]
            } else {
                std::slice::from_raw_parts_mut(m.data, m.size)
            }
        };
        return draw(r, data);
    }
    if !writable(buf) {
        return Err(gst_err(format!(
            "a buffer of {} memories must be writable to be drawn (another reference holds it)",
            buf.n_memory()
        )));
    }
    // SAFETY: a writable buffer (sole reference: the caller's), mapped for this draw.
    let buf = unsafe { gst::BufferRef::from_mut_ptr(addr.0 as *mut gst::ffi::GstBuffer) };
    let mut map = buf
        .map_writable()
        .map_err(|_| gst_err("cannot map the buffer writable"))?;
    draw(r, map.as_mut_slice())
}

#[cfg(not(feature = "cuda"))]
fn cuda(
    _r: &mut cd::render::Renderer,
    _buf: &gst::BufferRef,
    _addr: Addr,
    _video: Option<gstreamer_video::VideoInfo>,
    _lists: &[DrawList],
) -> cd::Result<bool> {
    Err(cd::Error::NoCudaDevice(
        "CUDA memory, but cudadraw was built without the `cuda` feature".into(),
    ))
}

#[cfg(feature = "cuda")]
fn cuda(
    r: &mut cd::render::Renderer,
    buf: &gst::BufferRef,
    addr: Addr,
    video: Option<gstreamer_video::VideoInfo>,
    lists: &[DrawList],
) -> cd::Result<bool> {
    let video = video.ok_or_else(|| gst_err("CUDA memory needs caps"))?;
    let format = cd::gst::caps::StreamFormat::of_video(&video)?;
    if !writable(buf) {
        // GST_MAP_CUDA | WRITE goes through gst_buffer_map, which refuses shared buffers.
        return Err(gst_err(
            "a buffer of CUDA memory must be writable to be drawn from Python (PyGObject's \
             wrapper holds a second reference in a pad probe: use the cudadraw element or \
             the Rust probe for memory:CUDAMemory)",
        ));
    }
    // SAFETY: a writable buffer (sole reference: the caller's), mapped for this draw.
    let buf = unsafe { gst::BufferRef::from_mut_ptr(addr.0 as *mut gst::ffi::GstBuffer) };
    let mapped = cd::gst::cudamem::CudaFrameMap::map(buf, &video, format)?;
    r.render_cuda_memory(mapped.frame(), mapped.owner_context(), lists)?;
    Ok(true)
}
