//! The C ABI of cudadraw: `libcudadraw.so` / `libcudadraw.a` and `include/cudadraw.h`
//! (generated from this file by cbindgen; `tests/header.rs` fails when they differ).
//!
//! Rules every entry point follows, and why:
//! - returns a `cudadraw_status` (`CUDADRAW_OK` or an error code); the message of the
//!   last failure on the calling thread is `cudadraw_last_error()`;
//! - never unwinds into C: every body runs under `catch_unwind`, a panic becomes
//!   `CUDADRAW_ERR_PANIC` (unwinding through a C frame is undefined behaviour);
//! - checks every pointer for null and every string for UTF-8 before use; enum-like
//!   parameters are plain `uint32_t` constants, checked (a C enum holding an unknown
//!   value would be undefined behaviour as a Rust enum);
//! - on any error no frame is touched (the core validates the whole batch first).
//!
//! Ownership: objects made by `cudadraw_*_new` belong to the caller until passed to the
//! matching `cudadraw_*_free`; frames, surfaces and pixel buffers always belong to the
//! caller and are only borrowed for the duration of a call (until
//! `cudadraw_renderer_wait` for `cudadraw_render_device_on_stream`).
#![allow(non_camel_case_types)]
// Every entry point has one safety contract, the header's (above and in
// cbindgen.toml): each pointer is NULL or valid for what its parameter documents, for
// the duration of the call. Repeating it on 30 functions would only bury it.
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use cd::draw::{
    Anchor, ArrowEnds, ArrowOp, BlurOp, ClassMapOp, DeviceMask, EllipseOp, FontId, Halo,
    InvalidOps, LineOp, MaskOp, MaskSource, MaskType, MaskValues, OverlayOp, PointOp, PolygonOp,
    PolylineOp, ResolveOptions, RotatedBoxOp, Stroke, TextOp, TextStyle,
};
use cd::geom::Point;
use cd::{BlurKind, Border, Color, DrawList, Filter, FrameInfo, ImageId, PixelFormat, Rect};

/// Result of every call: `CUDADRAW_OK` (0) or one of the `CUDADRAW_ERR_*` codes.
pub type cudadraw_status = i32;

/// Success.
pub const CUDADRAW_OK: cudadraw_status = 0;
/// A null pointer, a string that is not UTF-8, an unknown constant: the call itself is
/// malformed.
pub const CUDADRAW_ERR_INVALID_ARGUMENT: cudadraw_status = 1;
/// Input that fails validation (frame layout, op parameters, unknown image, batch
/// size, overlapping frames, malformed NvBufSurface...). Nothing was drawn.
pub const CUDADRAW_ERR_INVALID_INPUT: cudadraw_status = 2;
/// A pixel format or memory type cudadraw cannot draw on (NV12, CUDA arrays...).
pub const CUDADRAW_ERR_UNSUPPORTED: cudadraw_status = 3;
/// No CUDA driver or device (or a library built without CUDA).
pub const CUDADRAW_ERR_NO_CUDA_DEVICE: cudadraw_status = 4;
/// A CUDA driver call failed.
pub const CUDADRAW_ERR_CUDA: cudadraw_status = 5;
/// A file could not be read.
pub const CUDADRAW_ERR_IO: cudadraw_status = 6;
/// An internal error (a caught panic). The renderer stays usable.
pub const CUDADRAW_ERR_PANIC: cudadraw_status = 7;

/// Byte order of a 4-byte pixel: `cudadraw_frame_info.format`.
pub const CUDADRAW_FORMAT_RGBA: u32 = 0;
pub const CUDADRAW_FORMAT_BGRA: u32 = 1;
pub const CUDADRAW_FORMAT_RGBX: u32 = 2;
pub const CUDADRAW_FORMAT_BGRX: u32 = 3;

/// Where an outline lies relative to the box edge.
pub const CUDADRAW_ALIGN_INSIDE: u32 = 0;
pub const CUDADRAW_ALIGN_CENTER: u32 = 1;
pub const CUDADRAW_ALIGN_OUTSIDE: u32 = 2;

/// Overlay scaling filter.
pub const CUDADRAW_FILTER_BILINEAR: u32 = 0;
pub const CUDADRAW_FILTER_NEAREST: u32 = 1;

/// NvBufSurface layout: from `CUDADRAW_NVMM_ABI` or the DeepStream install.
pub const CUDADRAW_NVMM_ABI_AUTO: u32 = 0;
/// DeepStream 4.0 to 7.1 (64-byte `NvBufSurface`).
pub const CUDADRAW_NVMM_ABI_DS4_TO_7: u32 = 1;
/// DeepStream 8.0 and later (72-byte `NvBufSurface`).
pub const CUDADRAW_NVMM_ABI_DS8: u32 = 2;

/// A rectangle in pixels (fractions allowed; edges rounded half away from zero).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_rect {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// Layout of one frame.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_frame_info {
    pub width: u32,
    pub height: u32,
    /// Bytes between the starts of two rows, >= 4 * width. Padding is never written.
    pub pitch: usize,
    /// One of `CUDADRAW_FORMAT_*`.
    pub format: u32,
}

/// A frame in host memory: `data` points to pixel (0, 0), borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_host_frame {
    pub data: *mut u8,
    pub info: cudadraw_frame_info,
}

/// A frame in CUDA-addressable memory (device, pinned or managed) of GPU `gpu_id`,
/// allocated in that GPU's primary context (what the CUDA runtime and DeepStream use).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_device_frame {
    /// `CUdeviceptr` of pixel (0, 0).
    pub ptr: u64,
    pub gpu_id: u32,
    pub info: cudadraw_frame_info,
}

/// Owns overlay images and both backends (CPU, CUDA). Not thread-safe: use one
/// renderer per thread, or serialise calls on it.
pub struct cudadraw_renderer {
    inner: cd::render::Renderer,
}

/// The ops for one frame, applied in order.
pub struct cudadraw_list {
    inner: DrawList,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

struct Fail {
    code: cudadraw_status,
    msg: String,
}

impl From<cd::Error> for Fail {
    fn from(e: cd::Error) -> Self {
        let code = match &e {
            cd::Error::NoCudaDevice(_) => CUDADRAW_ERR_NO_CUDA_DEVICE,
            cd::Error::UnsupportedFormat(_) => CUDADRAW_ERR_UNSUPPORTED,
            cd::Error::Io { .. } => CUDADRAW_ERR_IO,
            #[cfg(feature = "cuda")]
            cd::Error::Cuda { .. } => CUDADRAW_ERR_CUDA,
            _ => CUDADRAW_ERR_INVALID_INPUT,
        };
        Fail {
            code,
            msg: e.to_string(),
        }
    }
}

fn arg(msg: impl Into<String>) -> Fail {
    Fail {
        code: CUDADRAW_ERR_INVALID_ARGUMENT,
        msg: msg.into(),
    }
}

fn set_error(msg: &str) {
    // An interior NUL would cut the message; replace it rather than lose the rest.
    let c = CString::new(msg.replace('\0', "?")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Runs an entry point's body: no panic crosses into C, failures leave a message.
fn call(f: impl FnOnce() -> Result<(), Fail>) -> cudadraw_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => CUDADRAW_OK,
        Ok(Err(fail)) => {
            set_error(&fail.msg);
            fail.code
        }
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_error(&format!("cudadraw: internal error (panic): {what}"));
            CUDADRAW_ERR_PANIC
        }
    }
}

/// `&T` from a C pointer, or an INVALID_ARGUMENT error naming the parameter.
///
/// # Safety
/// A non-null `p` must point to a live `T` for `'a`.
unsafe fn r<'a, T>(p: *const T, name: &str) -> Result<&'a T, Fail> {
    // SAFETY: per the contract: null is refused, anything else is a live T.
    unsafe { p.as_ref() }.ok_or_else(|| arg(format!("{name} is NULL")))
}

/// `&mut T` from a C pointer (see [`r`]).
///
/// # Safety
/// A non-null `p` must point to a live `T`, not aliased, for `'a`.
unsafe fn m<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Fail> {
    // SAFETY: per the contract.
    unsafe { p.as_mut() }.ok_or_else(|| arg(format!("{name} is NULL")))
}

/// A C array as a slice (`n == 0` accepts NULL).
///
/// # Safety
/// A non-null `p` must point to `n` live `T`s for `'a`.
unsafe fn slice<'a, T>(p: *const T, n: usize, name: &str) -> Result<&'a [T], Fail> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(arg(format!("{name} is NULL but its count is {n}")));
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// A C string as UTF-8.
///
/// # Safety
/// A non-null `p` must point to a NUL-terminated string.
unsafe fn utf8<'a>(p: *const c_char, name: &str) -> Result<&'a str, Fail> {
    if p.is_null() {
        return Err(arg(format!("{name} is NULL")));
    }
    // SAFETY: per the contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| arg(format!("{name} is not valid UTF-8")))
}

fn color(c: u32) -> Color {
    let [r, g, b, a] = c.to_be_bytes();
    Color::rgba(r, g, b, a)
}

fn rect(r: cudadraw_rect) -> Rect {
    Rect::new(r.left, r.top, r.width, r.height)
}

fn format(f: u32) -> Result<PixelFormat, Fail> {
    match f {
        CUDADRAW_FORMAT_RGBA => Ok(PixelFormat::Rgba),
        CUDADRAW_FORMAT_BGRA => Ok(PixelFormat::Bgra),
        CUDADRAW_FORMAT_RGBX => Ok(PixelFormat::Rgbx),
        CUDADRAW_FORMAT_BGRX => Ok(PixelFormat::Bgrx),
        _ => Err(arg(format!("unknown pixel format {f} (CUDADRAW_FORMAT_*)"))),
    }
}

fn info(i: &cudadraw_frame_info, index: usize) -> Result<FrameInfo, Fail> {
    let fi = FrameInfo::new(i.width, i.height, i.pitch, format(i.format)?);
    fi.validate(index)?;
    Ok(fi)
}

fn border(width: u32, c: u32, align: u32) -> Result<Border, Fail> {
    Ok(Border::new(width, color(c)).align(self::align(align)?))
}

/// The lists of a render call.
///
/// # Safety
/// `lists` must be NULL (with `n == 0`) or point to `n` pointers, each NULL or a live
/// list.
unsafe fn lists<'a>(
    lists: *const *const cudadraw_list,
    n: usize,
) -> Result<Vec<&'a DrawList>, Fail> {
    // SAFETY: per the contract.
    let ptrs = unsafe { slice(lists, n, "lists") }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: per the contract, each pointer is NULL (refused) or a live list.
        .map(|(i, &p)| unsafe { r(p, &format!("lists[{i}]")) }.map(|l| &l.inner))
        .collect()
}

/// Refuses frames that share bytes before any `&mut` slice exists over them (two
/// mutable slices over the same memory would be undefined behaviour).
fn check_disjoint(spans: impl Iterator<Item = (u64, usize)>) -> Result<(), Fail> {
    let mut v: Vec<(u64, u64, usize)> = spans
        .enumerate()
        .map(|(i, (p, len))| (p, p.saturating_add(len as u64), i))
        .collect();
    v.sort_unstable();
    for w in v.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(cd::Error::OverlappingFrames {
                first: w[0].2.min(w[1].2),
                second: w[0].2.max(w[1].2),
            }
            .into());
        }
    }
    Ok(())
}

/// The message of the last failed call on this thread ("" if none). The string
/// belongs to the library and stays valid until the next failing call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn cudadraw_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The library version ("0.1.0"), a static string.
#[unsafe(no_mangle)]
pub extern "C" fn cudadraw_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// 1 if this process can draw on a GPU (library built with CUDA, driver loadable, a
/// device present), else 0.
#[unsafe(no_mangle)]
pub extern "C" fn cudadraw_cuda_available() -> i32 {
    catch_unwind(cd::render::Renderer::cuda_available).unwrap_or(false) as i32
}

/// Creates a renderer into `*out`. Free it with `cudadraw_renderer_free`. Never touches
/// the CUDA driver: the CUDA backend starts on the first device render.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_renderer_new(
    out: *mut *mut cudadraw_renderer,
) -> cudadraw_status {
    call(|| {
        // SAFETY: `out` is the caller's out-pointer, checked for NULL.
        let out = unsafe { m(out, "out") }?;
        *out = Box::into_raw(Box::new(cudadraw_renderer {
            inner: cd::render::Renderer::new(),
        }));
        Ok(())
    })
}

/// Frees a renderer and its images. NULL is ignored. No call may use it afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_renderer_free(renderer: *mut cudadraw_renderer) {
    if renderer.is_null() {
        return;
    }
    // A panic in a Drop (driver teardown) must not cross either.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: made by Box::into_raw in cudadraw_renderer_new, freed once (caller's
        // contract).
        drop(unsafe { Box::from_raw(renderer) });
    }));
}

/// With `skip` non-zero, ops that fail validation are left out (counted by
/// `cudadraw_renderer_last_skipped`) and the others drawn, instead of failing the call
/// (for lists built from detections made elsewhere).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_renderer_set_skip_invalid(
    renderer: *mut cudadraw_renderer,
    skip: i32,
) -> cudadraw_status {
    call(|| {
        // SAFETY: a renderer from cudadraw_renderer_new (checked for NULL).
        let rr = unsafe { m(renderer, "renderer") }?;
        rr.inner.set_options(ResolveOptions {
            invalid_ops: if skip != 0 {
                InvalidOps::Skip
            } else {
                InvalidOps::Reject
            },
            ..rr.inner.options()
        });
        Ok(())
    })
}

/// Ops left out by the last render (with skip-invalid on); 0 for a NULL renderer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_renderer_last_skipped(
    renderer: *const cudadraw_renderer,
) -> usize {
    // SAFETY: a renderer from cudadraw_renderer_new, or NULL.
    match unsafe { renderer.as_ref() } {
        Some(rr) => {
            catch_unwind(AssertUnwindSafe(|| rr.inner.last_resolved().skipped())).unwrap_or(0)
        }
        None => 0,
    }
}

/// Registers an overlay image from straight-alpha RGBA pixels (`stride` bytes per
/// row, >= 4 * width; the pixels are copied) and writes its handle to `*out_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_image_add(
    renderer: *mut cudadraw_renderer,
    rgba: *const u8,
    width: u32,
    height: u32,
    stride: usize,
    out_id: *mut u32,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers, checked for NULL.
        let (rr, out) = unsafe { (m(renderer, "renderer")?, m(out_id, "out_id")?) };
        let row = width as usize * 4;
        if stride < row {
            return Err(arg(format!("stride {stride} < 4 x width {width}")));
        }
        let len = match height {
            0 => 0,
            h => stride
                .checked_mul(h as usize - 1)
                .and_then(|v| v.checked_add(row))
                .ok_or_else(|| arg("image size overflows"))?,
        };
        // SAFETY: the caller promises `height` rows of `stride` bytes at `rgba`.
        let src = unsafe { slice(rgba, len, "rgba") }?;
        let mut data = Vec::with_capacity(row * height as usize);
        for y in 0..height as usize {
            data.extend_from_slice(&src[y * stride..][..row]);
        }
        let image = cd::Image::new(width, height, data)?;
        *out = rr.inner.add_image(image).0;
        Ok(())
    })
}

/// Registers a PNG file (UTF-8 path) as an overlay image; handle in `*out_id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_image_add_png_file(
    renderer: *mut cudadraw_renderer,
    path: *const c_char,
    out_id: *mut u32,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers, checked for NULL / UTF-8.
        let (rr, out, path) = unsafe {
            (
                m(renderer, "renderer")?,
                m(out_id, "out_id")?,
                utf8(path, "path")?,
            )
        };
        let image = cd::gst::load_png(std::path::Path::new(path))?;
        *out = rr.inner.add_image(image).0;
        Ok(())
    })
}

/// Removes an image; lists that still name it fail validation.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_image_remove(
    renderer: *mut cudadraw_renderer,
    id: u32,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointer, checked for NULL.
        let rr = unsafe { m(renderer, "renderer") }?;
        match rr.inner.images_mut().remove(ImageId(id)) {
            Some(_) => Ok(()),
            None => Err(cd::Error::InvalidImage(format!(
                "cannot remove image {id}: no such handle"
            ))
            .into()),
        }
    })
}

/// Reads a PNG file (UTF-8 path) as packed straight-alpha RGBA: writes its size to
/// `*width`, `*height` and, when `out` is not NULL, its `4 * width * height` bytes to
/// `out` (`out_len` bytes available; too small is an error). Call with `out` NULL
/// first to learn the size. The caller owns `out`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_png_read_file(
    path: *const c_char,
    out: *mut u8,
    out_len: usize,
    width: *mut u32,
    height: *mut u32,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers, checked for NULL / UTF-8.
        let (path, w, h) = unsafe {
            (
                utf8(path, "path")?,
                m(width, "width")?,
                m(height, "height")?,
            )
        };
        let image = cd::gst::load_png(std::path::Path::new(path))?;
        *w = image.width();
        *h = image.height();
        if out.is_null() {
            return Ok(());
        }
        let data = image.data();
        if out_len < data.len() {
            return Err(arg(format!(
                "out_len {out_len} < {} bytes of pixels",
                data.len()
            )));
        }
        // SAFETY: the caller gives `out_len` writable bytes at `out` (>= data.len()).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), out, data.len()) };
        Ok(())
    })
}

/// Creates an empty draw list into `*out`. Free it with `cudadraw_list_free`. Reuse a
/// list from frame to frame with `cudadraw_list_clear` (no allocation in steady state).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_new(out: *mut *mut cudadraw_list) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's out-pointer, checked for NULL.
        let out = unsafe { m(out, "out") }?;
        *out = Box::into_raw(Box::new(cudadraw_list {
            inner: DrawList::new(),
        }));
        Ok(())
    })
}

/// Frees a list. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_free(list: *mut cudadraw_list) {
    if !list.is_null() {
        // SAFETY: made by Box::into_raw in cudadraw_list_new, freed once.
        drop(unsafe { Box::from_raw(list) });
    }
}

/// Removes every op (keeps the allocation).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_clear(list: *mut cudadraw_list) -> cudadraw_status {
    // SAFETY: caller's pointer, checked for NULL.
    call(|| unsafe { m(list, "list") }.map(|l| l.inner.clear()))
}

/// Number of ops; 0 for NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_len(list: *const cudadraw_list) -> usize {
    // SAFETY: caller's pointer or NULL.
    unsafe { list.as_ref() }.map_or(0, |l| l.inner.len())
}

/// Appends one op built by `f` (the one place list functions differ).
///
/// # Safety
/// `list` must be NULL or a live list.
unsafe fn push(
    list: *mut cudadraw_list,
    f: impl FnOnce(&mut DrawList) -> Result<(), Fail>,
) -> cudadraw_status {
    call(|| {
        // SAFETY: per the contract, NULL refused.
        let l = unsafe { m(list, "list") }?;
        f(&mut l.inner)
    })
}

/// An outlined box. `color` is 0xRRGGBBAA; `align` one of `CUDADRAW_ALIGN_*`. Op
/// parameters are validated when rendering.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_outline(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    width: u32,
    color: u32,
    align: u32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            l.outline(self::rect(rect), border(width, color, align)?);
            Ok(())
        })
    }
}

/// A filled box (alpha-blended), `color` 0xRRGGBBAA.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_fill(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    color: u32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            l.fill(self::rect(rect), self::color(color));
            Ok(())
        })
    }
}

/// A box with an outline (`border_width` 0: none) and a fill (`fill` alpha 0: none;
/// the fill covers the box minus its outline).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_box(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    border_width: u32,
    border_color: u32,
    align: u32,
    fill: u32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            let b = match border_width {
                0 => None,
                w => Some(border(w, border_color, align)?),
            };
            let f = (fill & 0xff != 0).then(|| color(fill));
            l.rect(self::rect(rect), b, f);
            Ok(())
        })
    }
}

fn blur(l: &mut DrawList, r: cudadraw_rect, kind: BlurKind, expand: f32) -> Result<(), Fail> {
    l.push(BlurOp {
        rect: rect(r),
        kind,
        expand,
    });
    Ok(())
}

/// Box blur of radius `radius` (window 2r+1), region grown by `expand` pixels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_blur_box(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    radius: u32,
    expand: f32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe { push(list, |l| blur(l, rect, BlurKind::Box { radius }, expand)) }
}

/// Gaussian blur of standard deviation `sigma`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_blur_gaussian(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    sigma: f32,
    expand: f32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            blur(l, rect, BlurKind::Gaussian { sigma }, expand)
        })
    }
}

/// Pixelation in cells of `block` pixels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_blur_pixelate(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    block: u32,
    expand: f32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            blur(l, rect, BlurKind::Pixelate { block }, expand)
        })
    }
}

/// Opaque redaction in `color` (0xRRGGBBAA; the alpha is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_blur_solid(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    color: u32,
    expand: f32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            blur(
                l,
                rect,
                BlurKind::Solid {
                    color: self::color(color),
                },
                expand,
            )
        })
    }
}

/// Blends registered image `image` into `rect` at `opacity` (0..1) with `filter`
/// (`CUDADRAW_FILTER_*`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_overlay(
    list: *mut cudadraw_list,
    image: u32,
    rect: cudadraw_rect,
    opacity: f32,
    filter: u32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            l.push(OverlayOp {
                image: ImageId(image),
                rect: self::rect(rect),
                opacity,
                filter: self::filter(filter)?,
            });
            Ok(())
        })
    }
}

/// Registers face `index` of a TTF/OTF/TTC font file; `*out_id` gets its handle (font
/// 0, `CUDADRAW_FONT_DEFAULT`, is the built-in DejaVu Sans). A file that is not a font
/// is `CUDADRAW_ERR_INVALID_INPUT` (see `cudadraw_last_error`); `*out_id` is then left
/// as it was.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_font_add_file(
    renderer: *mut cudadraw_renderer,
    path: *const c_char,
    index: u32,
    out_id: *mut u32,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers, checked for NULL / UTF-8.
        let (rr, out, path) = unsafe {
            (
                m(renderer, "renderer")?,
                m(out_id, "out_id")?,
                utf8(path, "path")?,
            )
        };
        let font = cd::draw::Font::from_path(path, index)?;
        *out = rr.inner.add_font(font).0;
        Ok(())
    })
}

/// The built-in font's handle.
pub const CUDADRAW_FONT_DEFAULT: u32 = 0;

/// A text style: `size` px (6..=256), `color` 0xRRGGBBAA, `background` 0xRRGGBBAA
/// (alpha 0: none) with `padding` px, `font` a handle from `cudadraw_font_add_file` or
/// `CUDADRAW_FONT_DEFAULT`.
fn style(size: u32, color: u32, background: u32, padding: u32, font: u32) -> TextStyle {
    let mut s = TextStyle::new(size, self::color(color))
        .padding(padding)
        .font(FontId(font));
    s.background = (background & 0xff != 0).then(|| self::color(background));
    s
}

/// Text with its first line's top-left corner at (x, y). `text` is NUL-terminated
/// UTF-8 (invalid UTF-8 is an error, nothing is appended); '\n' starts a line.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_text(
    list: *mut cudadraw_list,
    x: f32,
    y: f32,
    text: *const c_char,
    size: u32,
    color: u32,
    background: u32,
    padding: u32,
    font: u32,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `utf8`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: the function's contract, NULL refused.)
            let t = utf8(text, "text")?;
            l.text(x, y, t, style(size, color, background, padding, font));
            Ok(())
        })
    }
}

/// A label on a box, placed as nvdsosd places labels (above the box's top-left
/// corner; inside when it would leave the frame at the top). Arguments as for
/// `cudadraw_list_text`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_label(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    text: *const c_char,
    size: u32,
    color: u32,
    background: u32,
    padding: u32,
    font: u32,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `utf8`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: the function's contract, NULL refused.)
            let t = utf8(text, "text")?;
            l.label(
                self::rect(rect),
                t,
                style(size, color, background, padding, font),
            );
            Ok(())
        })
    }
}

/// A line of `width` px from (x0, y0) to (x1, y1), flat caps; `aa` non-zero:
/// anti-aliased.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_line(
    list: *mut cudadraw_list,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    width: f32,
    color: u32,
    aa: i32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            l.push(LineOp {
                from: Point::new(x0, y0),
                to: Point::new(x1, y1),
                width,
                color: self::color(color),
                cap: cd::draw::Cap::Flat,
                aa: aa != 0,
            });
            Ok(())
        })
    }
}

/// A polygon of `n_points` points (`xy`: x0, y0, x1, y1, ...), filled by the non-zero
/// rule with `fill` (alpha 0: none) and outlined `outline_width` px in
/// `outline_color` (width 0: none). The points are copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_polygon(
    list: *mut cudadraw_list,
    xy: *const f32,
    n_points: usize,
    fill: u32,
    outline_width: f32,
    outline_color: u32,
    aa: i32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`; `xy` holds 2 * n_points floats.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: 2 * n_points floats at xy, per the contract.)
            let points = points(xy, n_points)?;
            l.push(PolygonOp {
                points,
                fill: some_color(fill),
                outline: outline(outline_width, outline_color),
                aa: aa != 0,
            });
            Ok(())
        })
    }
}

/// A circle at (cx, cy): outline `outline_width` px inside `radius` (0: none) and
/// `fill` (alpha 0: none).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_circle(
    list: *mut cudadraw_list,
    cx: f32,
    cy: f32,
    radius: f32,
    outline_width: f32,
    outline_color: u32,
    fill: u32,
    aa: i32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            l.push(EllipseOp {
                center: Point::new(cx, cy),
                rx: radius,
                ry: radius,
                outline: outline(outline_width, outline_color),
                align: cd::Align::Inside,
                fill: some_color(fill),
                aa: aa != 0,
            });
            Ok(())
        })
    }
}

/// Ends of open lines and polylines: `cudadraw_line_style.cap`.
pub const CUDADRAW_CAP_FLAT: u32 = 0;
/// A disc of the stroke's width on each end point.
pub const CUDADRAW_CAP_ROUND: u32 = 1;

/// Which ends of an arrow carry a head: `cudadraw_arrow_style.ends`.
pub const CUDADRAW_ARROW_END: u32 = 0;
pub const CUDADRAW_ARROW_START: u32 = 1;
pub const CUDADRAW_ARROW_BOTH: u32 = 2;

/// What the (x, y) of `cudadraw_list_text_styled` is: the top-left corner of the first
/// line's box (as `cudadraw_list_text`)...
pub const CUDADRAW_ANCHOR_TOP: u32 = 0;
/// ... or the left end of the first line's baseline.
pub const CUDADRAW_ANCHOR_BASELINE: u32 = 1;

/// How mask values are stored (`dtype` of the mask and class map functions): one byte
/// per value (instance masks: 0..255 is 0..1; class maps: the class id)...
pub const CUDADRAW_MASK_U8: u32 = 0;
/// ... IEEE half floats (instance masks; clamped to [0, 1], NaN is 0)...
pub const CUDADRAW_MASK_F16: u32 = 1;
/// ... IEEE floats (instance masks; clamped to [0, 1], NaN is 0)...
pub const CUDADRAW_MASK_F32: u32 = 2;
/// ... 32-bit signed class ids (class maps only). Values are in the host's byte order
/// and need no alignment in host memory; device masks must be aligned to their size.
pub const CUDADRAW_MASK_I32: u32 = 3;

/// The whole style of a text or label (`cudadraw_list_text_styled`,
/// `cudadraw_list_label_styled`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_text_style {
    /// Pixels per em, 6..=256 (checked when rendering).
    pub size: u32,
    /// Glyph colour, 0xRRGGBBAA (alpha 0: no glyphs).
    pub color: u32,
    /// Box behind the text, 0xRRGGBBAA (alpha 0: none).
    pub background: u32,
    /// Pixels between the text's box and the background's edge (also a label's offset
    /// from its box), at most 256.
    pub padding: u32,
    /// A handle from `cudadraw_font_add_file` or `CUDADRAW_FONT_DEFAULT`.
    pub font: u32,
    /// Outline around the glyphs, 1..=3 px (0: none), drawn before them...
    pub halo_width: u32,
    /// ... in this colour, 0xRRGGBBAA.
    pub halo_color: u32,
}

/// The stroke of a line or polyline (`cudadraw_list_line_styled`,
/// `cudadraw_list_polyline`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_line_style {
    /// Stroke width in px, in (0, 1024] (checked when rendering).
    pub width: f32,
    /// 0xRRGGBBAA.
    pub color: u32,
    /// One of `CUDADRAW_CAP_*`.
    pub cap: u32,
    /// Non-zero: anti-aliased (4 x 4 samples per pixel).
    pub aa: i32,
}

/// An arrow's stroke and heads (`cudadraw_list_arrow`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_arrow_style {
    /// Stroke width in px, in (0, 1024].
    pub width: f32,
    /// 0xRRGGBBAA.
    pub color: u32,
    /// Head length along the line in px, [0, 4096]; 4 * width + 6 is the usual one
    /// (the default of the Rust and Python APIs).
    pub head_length: f32,
    /// Head half-angle in degrees, in (0, 90); 30 is the usual one.
    pub head_angle: f32,
    /// One of `CUDADRAW_ARROW_*`.
    pub ends: u32,
    /// Non-zero: anti-aliased.
    pub aa: i32,
}

/// Outline and fill of an ellipse or rotated box (`cudadraw_list_ellipse`,
/// `cudadraw_list_rotated_box`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_shape_style {
    /// Outline width in px, in (0, 1024] (0: no outline)...
    pub outline_width: f32,
    /// ... in this colour, 0xRRGGBBAA.
    pub outline_color: u32,
    /// Where an ellipse's outline lies relative to its radii, one of
    /// `CUDADRAW_ALIGN_*`; a rotated box's outline is always inside its edges
    /// (`CUDADRAW_ALIGN_INSIDE`, anything else is refused).
    pub align: u32,
    /// Fill, 0xRRGGBBAA (alpha 0: none).
    pub fill: u32,
    /// Non-zero: anti-aliased.
    pub aa: i32,
}

/// How an instance mask is drawn (`cudadraw_list_mask`, `cudadraw_list_mask_device`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cudadraw_mask_style {
    /// Drawn where the (scaled) value reaches this, in [0, 1].
    pub threshold: f32,
    /// 0xRRGGBBAA, alpha-blended.
    pub color: u32,
    /// Scaling onto the box: `CUDADRAW_FILTER_*`.
    pub filter: u32,
    /// The mask's boundary pixels (inside, with a 4-neighbour outside) in this colour
    /// instead, 0xRRGGBBAA (alpha 0: no contour).
    pub contour: u32,
}

fn cap(c: u32) -> Result<cd::draw::Cap, Fail> {
    match c {
        CUDADRAW_CAP_FLAT => Ok(cd::draw::Cap::Flat),
        CUDADRAW_CAP_ROUND => Ok(cd::draw::Cap::Round),
        _ => Err(arg(format!("unknown cap {c} (CUDADRAW_CAP_*)"))),
    }
}

fn align(a: u32) -> Result<cd::Align, Fail> {
    match a {
        CUDADRAW_ALIGN_INSIDE => Ok(cd::Align::Inside),
        CUDADRAW_ALIGN_CENTER => Ok(cd::Align::Center),
        CUDADRAW_ALIGN_OUTSIDE => Ok(cd::Align::Outside),
        _ => Err(arg(format!("unknown align {a} (CUDADRAW_ALIGN_*)"))),
    }
}

fn filter(f: u32) -> Result<Filter, Fail> {
    match f {
        CUDADRAW_FILTER_BILINEAR => Ok(Filter::Bilinear),
        CUDADRAW_FILTER_NEAREST => Ok(Filter::Nearest),
        _ => Err(arg(format!("unknown filter {f} (CUDADRAW_FILTER_*)"))),
    }
}

/// An optional colour: alpha 0 is none.
fn some_color(c: u32) -> Option<Color> {
    (c & 0xff != 0).then(|| color(c))
}

/// An optional outline: width 0 is none (NaN or a negative width is kept, and refused
/// when rendering).
fn outline(width: f32, c: u32) -> Option<Stroke> {
    (width != 0.0).then(|| Stroke::new(width, color(c)))
}

/// `n` points from `xy` (x0, y0, x1, y1, ...), copied; more than the limit is refused
/// before anything is read.
///
/// # Safety
/// A non-null `xy` must point to `2 * n` floats.
unsafe fn points(xy: *const f32, n: usize) -> Result<Vec<Point>, Fail> {
    if n > cd::draw::shape::MAX_POINTS {
        return Err(arg(format!(
            "{n} points (limit {})",
            cd::draw::shape::MAX_POINTS
        )));
    }
    // SAFETY: per the contract (n is bounded, so 2 * n does not overflow).
    let v = unsafe { slice(xy, 2 * n, "xy") }?;
    Ok(v.chunks_exact(2).map(|p| Point::new(p[0], p[1])).collect())
}

fn text_style(s: &cudadraw_text_style) -> TextStyle {
    let mut t = style(s.size, s.color, s.background, s.padding, s.font);
    t.halo = (s.halo_width != 0).then(|| Halo {
        width: s.halo_width,
        color: color(s.halo_color),
    });
    t
}

/// Text as `cudadraw_list_text`, with every style field (`style`: halo included) and
/// `anchor` (`CUDADRAW_ANCHOR_*`) saying what (x, y) is. `text` and `style` are read
/// during the call only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_text_styled(
    list: *mut cudadraw_list,
    x: f32,
    y: f32,
    anchor: u32,
    text: *const c_char,
    style: *const cudadraw_text_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push`, `utf8` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: the function's contract, NULL refused.)
            let t = utf8(text, "text")?;
            let s = r(style, "style")?;
            let anchor = match anchor {
                CUDADRAW_ANCHOR_TOP => Anchor::Top,
                CUDADRAW_ANCHOR_BASELINE => Anchor::Baseline,
                _ => return Err(arg(format!("unknown anchor {anchor} (CUDADRAW_ANCHOR_*)"))),
            };
            l.push(TextOp {
                text: t.to_owned(),
                x,
                y,
                anchor,
                style: text_style(s),
            });
            Ok(())
        })
    }
}

/// A label as `cudadraw_list_label`, with every style field (`style`: halo included).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_label_styled(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    text: *const c_char,
    style: *const cudadraw_text_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push`, `utf8` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: the function's contract, NULL refused.)
            let t = utf8(text, "text")?;
            let s = r(style, "style")?;
            l.label(self::rect(rect), t, text_style(s));
            Ok(())
        })
    }
}

/// A line from (x0, y0) to (x1, y1) as `cudadraw_list_line`, with a cap (`style`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_line_styled(
    list: *mut cudadraw_list,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    style: *const cudadraw_line_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: NULL refused.)
            let s = r(style, "style")?;
            l.push(LineOp {
                from: Point::new(x0, y0),
                to: Point::new(x1, y1),
                width: s.width,
                color: color(s.color),
                cap: cap(s.cap)?,
                aa: s.aa != 0,
            });
            Ok(())
        })
    }
}

/// Connected segments through `n_points` points (`xy`: x0, y0, x1, y1, ...; copied;
/// at least 2, at most 16384, each finite: checked when rendering), round joins;
/// `closed` non-zero joins the last point to the first. A track trail.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_polyline(
    list: *mut cudadraw_list,
    xy: *const f32,
    n_points: usize,
    closed: i32,
    style: *const cudadraw_line_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push`, `points` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: 2 * n_points floats at xy, NULL refused.)
            let s = r(style, "style")?;
            let points = points(xy, n_points)?;
            l.push(PolylineOp {
                points,
                closed: closed != 0,
                width: s.width,
                color: color(s.color),
                cap: cap(s.cap)?,
                aa: s.aa != 0,
            });
            Ok(())
        })
    }
}

/// An arrow from (x0, y0) to (x1, y1) with triangular heads (`style`): each head's
/// tip on its end point.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_arrow(
    list: *mut cudadraw_list,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    style: *const cudadraw_arrow_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: NULL refused.)
            let s = r(style, "style")?;
            let ends = match s.ends {
                CUDADRAW_ARROW_END => ArrowEnds::End,
                CUDADRAW_ARROW_START => ArrowEnds::Start,
                CUDADRAW_ARROW_BOTH => ArrowEnds::Both,
                e => return Err(arg(format!("unknown arrow ends {e} (CUDADRAW_ARROW_*)"))),
            };
            l.push(ArrowOp {
                from: Point::new(x0, y0),
                to: Point::new(x1, y1),
                width: s.width,
                color: color(s.color),
                head_length: s.head_length,
                head_angle: s.head_angle,
                ends,
                aa: s.aa != 0,
            });
            Ok(())
        })
    }
}

/// An axis-aligned ellipse at (cx, cy) of radii `rx`, `ry` (a circle when equal; this
/// is also the circle with an outline centred on or outside its radius): outline,
/// alignment and fill from `style`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_ellipse(
    list: *mut cudadraw_list,
    cx: f32,
    cy: f32,
    rx: f32,
    ry: f32,
    style: *const cudadraw_shape_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: NULL refused.)
            let s = r(style, "style")?;
            l.push(EllipseOp {
                center: Point::new(cx, cy),
                rx,
                ry,
                outline: outline(s.outline_width, s.outline_color),
                align: align(s.align)?,
                fill: some_color(s.fill),
                aa: s.aa != 0,
            });
            Ok(())
        })
    }
}

/// A rotated (oriented) box: centre (cx, cy), size `width` x `height`, turned by
/// `angle` degrees (clockwise on screen, y down); outline inside its edges and fill
/// from `style` (whose `align` must be `CUDADRAW_ALIGN_INSIDE`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_rotated_box(
    list: *mut cudadraw_list,
    cx: f32,
    cy: f32,
    width: f32,
    height: f32,
    angle: f32,
    style: *const cudadraw_shape_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: NULL refused.)
            let s = r(style, "style")?;
            if s.align != CUDADRAW_ALIGN_INSIDE {
                return Err(arg(format!(
                    "align {} for a rotated box (its outline lies inside its edges: \
                     CUDADRAW_ALIGN_INSIDE)",
                    s.align
                )));
            }
            l.push(RotatedBoxOp {
                center: Point::new(cx, cy),
                width,
                height,
                angle,
                outline: outline(s.outline_width, s.outline_color),
                fill: some_color(s.fill),
                aa: s.aa != 0,
            });
            Ok(())
        })
    }
}

/// A dot (a keypoint): a disc of `radius` px at (cx, cy) in `color`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_point(
    list: *mut cudadraw_list,
    cx: f32,
    cy: f32,
    radius: f32,
    color: u32,
    aa: i32,
) -> cudadraw_status {
    // SAFETY: forwarded contract of `push`.
    unsafe {
        push(list, |l| {
            l.push(PointOp {
                center: Point::new(cx, cy),
                radius,
                color: self::color(color),
                aa: aa != 0,
            });
            Ok(())
        })
    }
}

fn mask_type(dtype: u32) -> Result<MaskType, Fail> {
    match dtype {
        CUDADRAW_MASK_U8 => Ok(MaskType::U8),
        CUDADRAW_MASK_F16 => Ok(MaskType::F16),
        CUDADRAW_MASK_F32 => Ok(MaskType::F32),
        CUDADRAW_MASK_I32 => Ok(MaskType::I32),
        _ => Err(arg(format!("unknown mask type {dtype} (CUDADRAW_MASK_*)"))),
    }
}

/// `height` rows of `width` values of `dtype`, `pitch` bytes apart, copied from host
/// memory (in the host's byte order, any alignment).
///
/// # Safety
/// A non-null `values` must point to `height` rows of `pitch` bytes (the last row at
/// least `width` values).
unsafe fn host_values(
    values: *const c_void,
    width: u32,
    height: u32,
    pitch: usize,
    dtype: u32,
) -> Result<MaskSource, Fail> {
    let t = mask_type(dtype)?;
    let e = t.size();
    let row = width as usize * e;
    if pitch < row {
        return Err(arg(format!(
            "pitch {pitch} < width {width} x {e} bytes per value"
        )));
    }
    if values.is_null() {
        return Err(arg("values is NULL"));
    }
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 {
        // An empty mask: refused when rendering, with its size.
        let empty = match t {
            MaskType::U8 => MaskValues::U8(Vec::new().into()),
            MaskType::F16 => MaskValues::F16(Vec::new().into()),
            MaskType::F32 => MaskValues::F32(Vec::new().into()),
            _ => MaskValues::I32(Vec::new().into()),
        };
        return Ok(MaskSource::host(width, height, empty));
    }
    let len = pitch
        .checked_mul(h - 1)
        .and_then(|v| v.checked_add(row))
        .ok_or_else(|| arg("mask size overflows"))?;
    // SAFETY: per the contract, `len` readable bytes at `values` (not NULL).
    let bytes = unsafe { slice(values as *const u8, len, "values") }?;
    let rows = || (0..h).flat_map(move |y| bytes[y * pitch..][..row].chunks_exact(e));
    let v = match t {
        MaskType::U8 => MaskValues::U8(rows().map(|b| b[0]).collect()),
        MaskType::F16 => MaskValues::F16(
            rows()
                .map(|b| half::f16::from_bits(u16::from_ne_bytes([b[0], b[1]])))
                .collect(),
        ),
        MaskType::F32 => MaskValues::F32(
            rows()
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        _ => MaskValues::I32(
            rows()
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
    };
    Ok(MaskSource::host(width, height, v))
}

fn mask_op(rect: cudadraw_rect, mask: MaskSource, s: &cudadraw_mask_style) -> Result<MaskOp, Fail> {
    Ok(MaskOp {
        rect: self::rect(rect),
        mask,
        threshold: s.threshold,
        color: color(s.color),
        filter: filter(s.filter)?,
        contour: some_color(s.contour),
    })
}

/// An instance mask drawn into `rect` (scaled to it, pixel centres aligned as
/// overlays): `width` x `height` values of `dtype` (`CUDADRAW_MASK_U8`, `_F16` or
/// `_F32`; `_I32` is refused when rendering) in host memory, rows `pitch` bytes apart
/// (>= width x the value size), copied during the call. Drawn where the value reaches
/// `style->threshold`. A NULL `values` or a short pitch is
/// `CUDADRAW_ERR_INVALID_ARGUMENT` (nothing appended); sizes outside 1..=8192 are
/// refused when rendering.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_mask(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    values: *const c_void,
    width: u32,
    height: u32,
    pitch: usize,
    dtype: u32,
    style: *const cudadraw_mask_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push`, `host_values` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: NULL refused; `values` per the contract.)
            let s = r(style, "style")?;
            let mask = host_values(values, width, height, pitch, dtype)?;
            l.push(mask_op(rect, mask, s)?);
            Ok(())
        })
    }
}

/// An instance mask as `cudadraw_list_mask`, its values in CUDA memory (`ptr`, a
/// `CUdeviceptr` of the GPU the frames are drawn on, e.g. a TensorRT output), never
/// copied: it must stay valid and unchanged until the render that draws it has
/// finished on the GPU. Only device renders draw it (a host render refuses it). A
/// null or misaligned `ptr` or a pitch below `width` values is refused when rendering
/// (`CUDADRAW_ERR_INVALID_INPUT`, nothing drawn).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_mask_device(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    ptr: u64,
    width: u32,
    height: u32,
    pitch: usize,
    dtype: u32,
    style: *const cudadraw_mask_style,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `r`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: NULL refused.)
            let s = r(style, "style")?;
            let t = mask_type(dtype)?;
            // SAFETY: the caller's device memory, alive until the render has finished
            // (header contract); null, misaligned and short-pitched masks are refused
            // when the list is resolved.
            let d = DeviceMask::new(ptr, pitch, width, height, t);
            l.push(mask_op(rect, MaskSource::Device(d), s)?);
            Ok(())
        })
    }
}

/// `n_palette` colours 0xRRGGBBAA, copied.
///
/// # Safety
/// A non-null `palette` must point to `n` values.
unsafe fn palette(p: *const u32, n: usize) -> Result<std::sync::Arc<[Color]>, Fail> {
    // SAFETY: per the contract.
    let v = unsafe { slice(p, n, "palette") }?;
    Ok(v.iter().map(|&c| color(c)).collect())
}

/// A semantic-segmentation map scaled onto `rect` (nearest): `width` x `height` class
/// ids of `dtype` (`CUDADRAW_MASK_U8` or `_I32`) in host memory, rows `pitch` bytes
/// apart, copied. Each pixel takes `palette[id]` (`n_palette` colours 0xRRGGBBAA,
/// 1..=1024, copied; alpha-blended); ids outside the palette and entries of alpha 0
/// leave the pixel as it is.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_class_map(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    ids: *const c_void,
    width: u32,
    height: u32,
    pitch: usize,
    dtype: u32,
    palette: *const u32,
    n_palette: usize,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push`, `host_values` and `palette`.
    unsafe {
        push(list, |l| {
            // (Inside the unsafe block above: the function's contract.)
            let map = host_values(ids, width, height, pitch, dtype)?;
            l.push(ClassMapOp {
                rect: self::rect(rect),
                map,
                palette: self::palette(palette, n_palette)?,
            });
            Ok(())
        })
    }
}

/// A class map as `cudadraw_list_class_map`, its ids in CUDA memory (`ptr`, as
/// `cudadraw_list_mask_device`: not copied, device renders only; the palette is
/// copied).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_list_class_map_device(
    list: *mut cudadraw_list,
    rect: cudadraw_rect,
    ptr: u64,
    width: u32,
    height: u32,
    pitch: usize,
    dtype: u32,
    palette: *const u32,
    n_palette: usize,
) -> cudadraw_status {
    // SAFETY: forwarded contracts of `push` and `palette`.
    unsafe {
        push(list, |l| {
            let t = mask_type(dtype)?;
            // SAFETY: as in cudadraw_list_mask_device.
            let d = DeviceMask::new(ptr, pitch, width, height, t);
            l.push(ClassMapOp {
                rect: self::rect(rect),
                map: MaskSource::Device(d),
                palette: self::palette(palette, n_palette)?,
            });
            Ok(())
        })
    }
}

/// Draws `lists[i]` on `frames[i]` in host memory (CPU renderer), `n_frames` frames
/// and as many lists. On error nothing is drawn on any frame.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_render_host(
    renderer: *mut cudadraw_renderer,
    frames: *const cudadraw_host_frame,
    n_frames: usize,
    lists: *const *const cudadraw_list,
    n_lists: usize,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers and arrays, checked for NULL.
        let (rr, fs, ls) = unsafe {
            (
                m(renderer, "renderer")?,
                slice(frames, n_frames, "frames")?,
                self::lists(lists, n_lists)?,
            )
        };
        let mut infos = Vec::with_capacity(fs.len());
        for (i, f) in fs.iter().enumerate() {
            if f.data.is_null() {
                return Err(cd::Error::InvalidFrame {
                    index: i,
                    reason: "null data pointer".into(),
                }
                .into());
            }
            infos.push(info(&f.info, i)?);
        }
        check_disjoint(
            fs.iter()
                .zip(&infos)
                .map(|(f, i)| (f.data as u64, i.min_len())),
        )?;
        let mut hosts = Vec::with_capacity(fs.len());
        for (f, i) in fs.iter().zip(&infos) {
            // SAFETY: the caller lends `min_len` writable bytes at `data` for this call;
            // frames were checked disjoint, so no two slices alias.
            hosts.push(unsafe { cd::HostFrame::from_raw(f.data, *i) }?);
        }
        rr.inner.render_host(&mut hosts, &ls)?;
        Ok(())
    })
}

/// Device frames of a call.
fn device_frames(fs: &[cudadraw_device_frame]) -> Result<Vec<cd::DeviceFrame>, Fail> {
    let mut out = Vec::with_capacity(fs.len());
    for (i, f) in fs.iter().enumerate() {
        let fi = info(&f.info, i)?;
        // SAFETY: the caller promises `ptr` addresses `min_len` bytes of memory that
        // kernels on `gpu_id` may read and write for the call (header contract);
        // pointer, alignment and layout are validated by the renderer.
        out.push(unsafe { cd::DeviceFrame::new(f.ptr, fi, f.gpu_id) });
    }
    Ok(out)
}

/// Draws `lists[i]` on `frames[i]` in CUDA memory and waits for the GPU (one
/// synchronisation per GPU). `CUDADRAW_ERR_NO_CUDA_DEVICE` without CUDA.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_render_device(
    renderer: *mut cudadraw_renderer,
    frames: *const cudadraw_device_frame,
    n_frames: usize,
    lists: *const *const cudadraw_list,
    n_lists: usize,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers and arrays, checked for NULL.
        let (rr, fs, ls) = unsafe {
            (
                m(renderer, "renderer")?,
                slice(frames, n_frames, "frames")?,
                self::lists(lists, n_lists)?,
            )
        };
        let dev = device_frames(fs)?;
        rr.inner.render_device(&dev, &ls)?;
        Ok(())
    })
}

/// Enqueues the batch on the caller's CUDA `stream` (a `CUstream` / `cudaStream_t` of
/// the primary context of the frames' GPU, all frames on one GPU) after the work
/// already there, and returns without waiting. The frames must stay valid until the
/// stream is synchronised or `cudadraw_renderer_wait` returns; the next render on this
/// renderer waits for this one first.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_render_device_on_stream(
    renderer: *mut cudadraw_renderer,
    frames: *const cudadraw_device_frame,
    n_frames: usize,
    lists: *const *const cudadraw_list,
    n_lists: usize,
    stream: *mut c_void,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers and arrays, checked for NULL.
        let (rr, fs, ls) = unsafe {
            (
                m(renderer, "renderer")?,
                slice(frames, n_frames, "frames")?,
                self::lists(lists, n_lists)?,
            )
        };
        let dev = device_frames(fs)?;
        on_stream(&mut rr.inner, &dev, &ls, stream)
    })
}

#[cfg(feature = "cuda")]
fn on_stream(
    r: &mut cd::render::Renderer,
    dev: &[cd::DeviceFrame],
    ls: &[&DrawList],
    stream: *mut c_void,
) -> Result<(), Fail> {
    let (cuda, images) = r.cuda_and_images()?;
    // SAFETY: the caller's stream of the frames' GPU's primary context (header
    // contract), alive until it is synchronised.
    unsafe { cuda.submit_on_stream(dev, ls, images, stream as cd::cuda::CuStream) }?;
    Ok(())
}

#[cfg(not(feature = "cuda"))]
fn on_stream(
    _r: &mut cd::render::Renderer,
    _dev: &[cd::DeviceFrame],
    _ls: &[&DrawList],
    _stream: *mut c_void,
) -> Result<(), Fail> {
    Err(cd::Error::NoCudaDevice("cudadraw was built without the `cuda` feature".into()).into())
}

/// Waits for everything this renderer enqueued on the GPU (after
/// `cudadraw_render_device_on_stream`). OK at once when nothing is in flight.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_renderer_wait(
    renderer: *mut cudadraw_renderer,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointer, checked for NULL.
        let rr = unsafe { m(renderer, "renderer") }?;
        wait(&mut rr.inner)
    })
}

#[cfg(feature = "cuda")]
fn wait(r: &mut cd::render::Renderer) -> Result<(), Fail> {
    if !cd::render::Renderer::cuda_available() {
        return Ok(());
    }
    let (cuda, _) = r.cuda_and_images()?;
    cuda.wait()?;
    Ok(())
}

#[cfg(not(feature = "cuda"))]
fn wait(_r: &mut cd::render::Renderer) -> Result<(), Fail> {
    Ok(())
}

/// The descriptor bytes of a caller's NvBufSurface, lent to a GstMemory for one call.
struct Borrowed {
    ptr: *const u8,
    len: usize,
}

// SAFETY: only read, only during the call that made it (the GstBuffer wrapping it is
// dropped before that call returns).
unsafe impl Send for Borrowed {}

impl AsRef<[u8]> for Borrowed {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the caller's NvBufSurface of `len` bytes, alive for the call.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Draws `lists[i]` on the i-th filled frame of a DeepStream batch: `surface` is an
/// `NvBufSurface*` (e.g. `(NvBufSurface *) map.data` of a mapped NVMM GstBuffer),
/// `abi` one of `CUDADRAW_NVMM_ABI_*`. Dispatches like the GStreamer probe: CUDA
/// device / pinned / unified memory on the GPU, Jetson's SURFACE_ARRAY through
/// `NvBufSurfaceMap`, system memory on the CPU. Waits for the GPU before returning.
/// `n_lists` must equal `numFilled`. The surface and its frames belong to the caller.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cudadraw_render_nvbufsurface(
    renderer: *mut cudadraw_renderer,
    surface: *mut c_void,
    abi: u32,
    lists: *const *const cudadraw_list,
    n_lists: usize,
) -> cudadraw_status {
    call(|| {
        // SAFETY: caller's pointers, checked for NULL.
        let (rr, ls) = unsafe { (m(renderer, "renderer")?, self::lists(lists, n_lists)?) };
        if surface.is_null() {
            return Err(arg("surface is NULL"));
        }
        let abi = match abi {
            CUDADRAW_NVMM_ABI_AUTO => cd::nvmm::Abi::detect()?,
            CUDADRAW_NVMM_ABI_DS4_TO_7 => cd::nvmm::Abi::Ds4To7,
            CUDADRAW_NVMM_ABI_DS8 => cd::nvmm::Abi::Ds8,
            _ => return Err(arg(format!("unknown abi {abi} (CUDADRAW_NVMM_ABI_*)"))),
        };
        gstreamer::init().map_err(|e| arg(format!("GStreamer: {e}")))?;
        // The batch parser reads descriptors from a GstBuffer (what every other path
        // hands it); wrapping the caller's bytes in one, without a copy, reuses it and
        // keeps the descriptor's own address for NvBufSurfaceMap on Jetson.
        let mem = gstreamer::Memory::from_slice(Borrowed {
            ptr: surface as *const u8,
            len: abi.surface_size(),
        });
        let mut buffer = gstreamer::Buffer::new();
        buffer
            .get_mut()
            .ok_or_else(|| arg("new buffer not writable"))?
            .append_memory(mem);
        let opts = cd::nvmm::NvmmOptions {
            abi: Some(abi),
            ..Default::default()
        };
        // SAFETY: `surface` is an NvBufSurface of `abi` whose surfaceList and dataPtrs
        // are live (header contract); the parser validates every field it uses.
        let batch = unsafe { cd::nvmm::NvmmBatch::from_buffer(&buffer, &opts) }?;
        batch.render(&mut rr.inner, &ls)?;
        Ok(())
    })
}
