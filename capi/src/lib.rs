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
    BlurOp, EllipseOp, FontId, InvalidOps, LineOp, OverlayOp, PolygonOp, ResolveOptions, Stroke,
    TextStyle,
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
    let a = match align {
        CUDADRAW_ALIGN_INSIDE => cd::Align::Inside,
        CUDADRAW_ALIGN_CENTER => cd::Align::Center,
        CUDADRAW_ALIGN_OUTSIDE => cd::Align::Outside,
        _ => return Err(arg(format!("unknown align {align} (CUDADRAW_ALIGN_*)"))),
    };
    Ok(Border::new(width, color(c)).align(a))
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
            let filter = match filter {
                CUDADRAW_FILTER_BILINEAR => Filter::Bilinear,
                CUDADRAW_FILTER_NEAREST => Filter::Nearest,
                _ => return Err(arg(format!("unknown filter {filter} (CUDADRAW_FILTER_*)"))),
            };
            l.push(OverlayOp {
                image: ImageId(image),
                rect: self::rect(rect),
                opacity,
                filter,
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
            if n_points > cd::draw::shape::MAX_POINTS {
                return Err(arg(format!(
                    "{n_points} points (limit {})",
                    cd::draw::shape::MAX_POINTS
                )));
            }
            // (Inside the unsafe block above: 2 * n_points floats at xy, per the contract.)
            let v = slice(xy, 2 * n_points, "xy")?;
            let points = v.chunks_exact(2).map(|p| Point::new(p[0], p[1])).collect();
            l.push(PolygonOp {
                points,
                fill: (fill & 0xff != 0).then(|| color(fill)),
                outline: (outline_width != 0.0)
                    .then(|| Stroke::new(outline_width, color(outline_color))),
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
                outline: (outline_width != 0.0)
                    .then(|| Stroke::new(outline_width, color(outline_color))),
                align: cd::Align::Inside,
                fill: (fill & 0xff != 0).then(|| color(fill)),
                aa: aa != 0,
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
