//! `import cudadraw`: the draw model, the renderer and the three ways in (NumPy host
//! arrays, CUDA arrays, GstBuffers) over the Rust crate, with nothing copied where the
//! pixels live. Names mirror the Rust API; errors carry the Rust messages.
//!
//! Adding an op (see docs/python.md): one `#[pymethods]` method on [`DrawList`] that
//! converts its arguments with the helpers below ([`rect`], [`color`], [`point`],
//! [`stroke`], [`host_values`]...) and calls the
//! Rust builder; [`op_tuple`] gains one arm so `DrawList.ops()` shows it.

mod arrays;
mod gstbuf;
#[cfg(feature = "synthetic-nvmm")]
mod synthetic;

use std::sync::{Mutex, MutexGuard, OnceLock};

use std::sync::Arc;

use cd::draw::{
    Anchor, ArrowEnds, ArrowOp, BlurOp, BoxOp, Cap, ClassMapOp, DeviceMask, EllipseOp, Font,
    FontId, Halo, InvalidOps, LabelOp, LineOp, MaskOp, MaskSource, MaskType, MaskValues, OverlayOp,
    PointOp, PolygonOp, PolylineOp, ResolveOptions, RotatedBoxOp, Stroke, TextOp, TextStyle,
};
use cd::geom::Point;
use cd::{Align, BlurKind as RsBlurKind, Border, Color, Filter, Image, ImageId, Op, Rect};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use arrays::Place;

create_exception!(
    cudadraw,
    CudaError,
    PyRuntimeError,
    "A CUDA driver call failed, or there is no usable CUDA device."
);

/// The crate's errors as Python exceptions, with the crate's messages: bad input is a
/// `ValueError`, driver trouble a `CudaError`, file trouble an `OSError`.
pub(crate) fn to_py(e: cd::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        cd::Error::NoCudaDevice(_) => CudaError::new_err(msg),
        #[cfg(feature = "cuda")]
        cd::Error::Cuda { .. } => CudaError::new_err(msg),
        cd::Error::Io { .. } => PyOSError::new_err(msg),
        _ => PyValueError::new_err(msg),
    }
}

/// A colour: `(r, g, b)`, `(r, g, b, a)` (0..=255 each) or an int `0xRRGGBBAA`.
pub(crate) fn color(v: &Bound<'_, PyAny>) -> PyResult<Color> {
    if let Ok(i) = v.extract::<i64>() {
        let i = u32::try_from(i).map_err(|_| {
            PyValueError::new_err(format!("colour {i:#x} is not a 32-bit 0xRRGGBBAA value"))
        })?;
        let [r, g, b, a] = i.to_be_bytes();
        return Ok(Color::rgba(r, g, b, a));
    }
    let parts: Vec<i64> = v.extract().map_err(|_| {
        PyTypeError::new_err("a colour is (r, g, b), (r, g, b, a) or an int 0xRRGGBBAA")
    })?;
    let byte = |x: i64| {
        u8::try_from(x)
            .map_err(|_| PyValueError::new_err(format!("colour component {x} outside 0..=255")))
    };
    match parts.as_slice() {
        [r, g, b] => Ok(Color::rgb(byte(*r)?, byte(*g)?, byte(*b)?)),
        [r, g, b, a] => Ok(Color::rgba(byte(*r)?, byte(*g)?, byte(*b)?, byte(*a)?)),
        _ => Err(PyValueError::new_err(format!(
            "a colour has 3 or 4 components, got {}",
            parts.len()
        ))),
    }
}

/// A rectangle: `(left, top, width, height)` in pixels (floats allowed). Range checks
/// (NaN, sizes) are the renderer's, so Python and Rust refuse the same things.
pub(crate) fn rect(v: &Bound<'_, PyAny>) -> PyResult<Rect> {
    let (l, t, w, h): (f32, f32, f32, f32) = v
        .extract()
        .map_err(|_| PyTypeError::new_err("a rectangle is (left, top, width, height)"))?;
    Ok(Rect::new(l, t, w, h))
}

fn align(s: &str) -> PyResult<Align> {
    match s {
        "inside" => Ok(Align::Inside),
        "center" | "centre" => Ok(Align::Center),
        "outside" => Ok(Align::Outside),
        _ => Err(PyValueError::new_err(format!(
            "align must be 'inside', 'center' or 'outside', got '{s}'"
        ))),
    }
}

fn align_name(a: Align) -> &'static str {
    match a {
        Align::Center => "center",
        Align::Outside => "outside",
        _ => "inside",
    }
}

fn filter(s: &str) -> PyResult<Filter> {
    match s {
        "bilinear" => Ok(Filter::Bilinear),
        "nearest" => Ok(Filter::Nearest),
        _ => Err(PyValueError::new_err(format!(
            "filter must be 'bilinear' or 'nearest', got '{s}'"
        ))),
    }
}

fn pixel_format(s: &str) -> PyResult<cd::PixelFormat> {
    match s.to_ascii_lowercase().as_str() {
        "rgba" => Ok(cd::PixelFormat::Rgba),
        "bgra" => Ok(cd::PixelFormat::Bgra),
        "rgbx" => Ok(cd::PixelFormat::Rgbx),
        "bgrx" => Ok(cd::PixelFormat::Bgrx),
        _ => Err(PyValueError::new_err(format!(
            "format must be 'rgba', 'bgra', 'rgbx' or 'bgrx', got '{s}'"
        ))),
    }
}

/// A border: `(width, colour)` or `(width, colour, align)`.
fn border(v: &Bound<'_, PyAny>) -> PyResult<Border> {
    let t = v
        .cast::<PyTuple>()
        .map_err(|_| PyTypeError::new_err("a border is (width, colour[, align])"))?;
    if !(t.len() == 2 || t.len() == 3) {
        return Err(PyTypeError::new_err("a border is (width, colour[, align])"));
    }
    let width: u32 = t.get_item(0)?.extract()?;
    let mut b = Border::new(width, color(&t.get_item(1)?)?);
    if t.len() == 3 {
        b = b.align(align(&t.get_item(2)?.extract::<String>()?)?);
    }
    Ok(b)
}

/// A point: `(x, y)` in pixels (any sequence of two numbers: a tuple, a list, a NumPy row).
fn point(v: &Bound<'_, PyAny>) -> PyResult<Point> {
    let err = || PyTypeError::new_err("a point is (x, y)");
    if v.is_instance_of::<PyString>() {
        return Err(err());
    }
    let xy: Vec<f32> = v.extract().map_err(|_| err())?;
    match xy.as_slice() {
        [x, y] => Ok(Point::new(*x, *y)),
        _ => Err(err()),
    }
}

/// Points: a sequence of `(x, y)` (or an (N, 2) NumPy array).
fn points(v: &Bound<'_, PyAny>) -> PyResult<Vec<Point>> {
    let err = || PyTypeError::new_err("points is a sequence of (x, y)");
    if v.is_none() || v.is_instance_of::<PyString>() {
        return Err(err());
    }
    let mut out = Vec::new();
    for (i, p) in v.try_iter().map_err(|_| err())?.enumerate() {
        out.push(
            point(&p?)
                .map_err(|_| PyTypeError::new_err(format!("points[{i}] is not a point (x, y)")))?,
        );
    }
    Ok(out)
}

/// A shape outline: `(width, colour)` (Rust `Stroke`).
fn stroke(v: &Bound<'_, PyAny>) -> PyResult<Stroke> {
    let t = v
        .cast::<PyTuple>()
        .ok()
        .filter(|t| t.len() == 2)
        .ok_or_else(|| PyTypeError::new_err("an outline is (width, colour)"))?;
    let width: f32 = t
        .get_item(0)?
        .extract()
        .map_err(|_| PyTypeError::new_err("an outline's width is a number"))?;
    Ok(Stroke::new(width, color(&t.get_item(1)?)?))
}

/// A text halo: `(width, colour)` (Rust `Halo`).
fn halo(v: &Bound<'_, PyAny>) -> PyResult<Halo> {
    let t = v
        .cast::<PyTuple>()
        .ok()
        .filter(|t| t.len() == 2)
        .ok_or_else(|| PyTypeError::new_err("a halo is (width, colour)"))?;
    let width: u32 = t
        .get_item(0)?
        .extract()
        .map_err(|_| PyValueError::new_err("a halo's width is a whole number of pixels"))?;
    Ok(Halo {
        width,
        color: color(&t.get_item(1)?)?,
    })
}

fn cap(s: &str) -> PyResult<Cap> {
    match s {
        "flat" => Ok(Cap::Flat),
        "round" => Ok(Cap::Round),
        _ => Err(PyValueError::new_err(format!(
            "cap must be 'flat' or 'round', got '{s}'"
        ))),
    }
}

fn cap_name(c: Cap) -> &'static str {
    match c {
        Cap::Round => "round",
        _ => "flat",
    }
}

fn ends(s: &str) -> PyResult<ArrowEnds> {
    match s {
        "end" => Ok(ArrowEnds::End),
        "start" => Ok(ArrowEnds::Start),
        "both" => Ok(ArrowEnds::Both),
        _ => Err(PyValueError::new_err(format!(
            "ends must be 'end', 'start' or 'both', got '{s}'"
        ))),
    }
}

fn ends_name(e: ArrowEnds) -> &'static str {
    match e {
        ArrowEnds::Start => "start",
        ArrowEnds::Both => "both",
        _ => "end",
    }
}

fn anchor(s: &str) -> PyResult<Anchor> {
    match s {
        "top" => Ok(Anchor::Top),
        "baseline" => Ok(Anchor::Baseline),
        _ => Err(PyValueError::new_err(format!(
            "anchor must be 'top' or 'baseline', got '{s}'"
        ))),
    }
}

fn anchor_name(a: Anchor) -> &'static str {
    match a {
        Anchor::Baseline => "baseline",
        _ => "top",
    }
}

fn filter_name(f: Filter) -> &'static str {
    if f == Filter::Nearest {
        "nearest"
    } else {
        "bilinear"
    }
}

/// A font handle: a `FontId` or its int.
fn font_id(v: &Bound<'_, PyAny>) -> PyResult<FontId> {
    match v.cast::<PyFontId>() {
        Ok(f) => Ok(FontId(f.get().id)),
        Err(_) => v.extract::<u32>().map(FontId).map_err(|_| {
            PyTypeError::new_err("font is a FontId from Renderer.add_font (or FontId.DEFAULT)")
        }),
    }
}

/// The style arguments of `text` and `label` as a Rust `TextStyle` (defaults: the
/// built-in font, 16 px, white, no background, 2 px padding, no halo).
fn text_style(
    size: u32,
    color: Option<&Bound<'_, PyAny>>,
    font: Option<&Bound<'_, PyAny>>,
    background: Option<&Bound<'_, PyAny>>,
    padding: u32,
    halo: Option<&Bound<'_, PyAny>>,
) -> PyResult<TextStyle> {
    let d = TextStyle::default();
    Ok(TextStyle {
        font: font.map(font_id).transpose()?.unwrap_or(d.font),
        size,
        color: color.map(self::color).transpose()?.unwrap_or(d.color),
        background: background.map(self::color).transpose()?,
        padding,
        halo: halo.map(self::halo).transpose()?,
    })
}

/// A 2-D host array of mask values or class ids, copied: `(height, width)` NumPy array
/// (any strides) of one of `allowed` dtypes, read through `__array_interface__` and
/// `tobytes()` (C order).
fn host_values(v: &Bound<'_, PyAny>, what: &str, allowed: &[MaskType]) -> PyResult<MaskSource> {
    let kinds = kinds_text(allowed);
    let not_array = || PyTypeError::new_err(format!("{what} is a 2-D NumPy array ({kinds})"));
    if !v.hasattr("__array_interface__")? {
        return Err(not_array());
    }
    let d = v
        .getattr("__array_interface__")?
        .cast_into::<PyDict>()
        .map_err(|_| not_array())?;
    let typestr: String = d
        .get_item("typestr")?
        .ok_or_else(not_array)?
        .extract()
        .map_err(|_| not_array())?;
    let little = cfg!(target_endian = "little");
    let dtype = match typestr.as_str() {
        "|u1" => Some(MaskType::U8),
        "<f2" if little => Some(MaskType::F16),
        "<f4" if little => Some(MaskType::F32),
        "<i4" if little => Some(MaskType::I32),
        ">f2" if !little => Some(MaskType::F16),
        ">f4" if !little => Some(MaskType::F32),
        ">i4" if !little => Some(MaskType::I32),
        _ => None,
    }
    .filter(|t| allowed.contains(t))
    .ok_or_else(|| {
        let name = v
            .getattr("dtype")
            .and_then(|d| d.str())
            .map(|d| d.to_string())
            .unwrap_or_default();
        PyValueError::new_err(format!(
            "{what} must be {kinds} (native byte order), got dtype {name} ('{typestr}')"
        ))
    })?;
    let shape: Vec<i64> = d
        .get_item("shape")?
        .ok_or_else(not_array)?
        .extract()
        .map_err(|_| not_array())?;
    let [h, w] = shape.as_slice() else {
        return Err(PyValueError::new_err(format!(
            "{what} must be 2-D (height, width), got shape {shape:?}"
        )));
    };
    let side = |x: i64| {
        u32::try_from(x)
            .map_err(|_| PyValueError::new_err(format!("{what} shape {shape:?} is out of range")))
    };
    let (width, height) = (side(*w)?, side(*h)?);
    let data = v.call_method0("tobytes").map_err(|_| not_array())?;
    let bytes = data.cast::<PyBytes>().map_err(|_| not_array())?.as_bytes();
    let expected = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(dtype.size()));
    if expected != Some(bytes.len()) {
        return Err(PyValueError::new_err(format!(
            "{what}: {} bytes for shape {shape:?} of '{typestr}'",
            bytes.len()
        )));
    }
    let values = match dtype {
        MaskType::U8 => MaskValues::U8(bytes.into()),
        MaskType::F16 => {
            let bits: Arc<[u16]> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]))
                .collect();
            // SAFETY: `half::f16`, the element type of `MaskValues::F16`, is
            // `#[repr(transparent)]` over its IEEE binary16 bits (a `u16`), so a slice
            // of the bits is a slice of the values, with the same layout and no invalid
            // bit patterns.
            MaskValues::F16(unsafe { f16_from_bits(bits) })
        }
        MaskType::F32 => MaskValues::F32(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        _ => MaskValues::I32(
            bytes
                .chunks_exact(4)
                .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
    };
    Ok(MaskSource::host(width, height, values))
}

/// "uint8, float16 or float32".
fn kinds_text(allowed: &[MaskType]) -> String {
    match allowed
        .iter()
        .map(|t| dtype_name(*t))
        .collect::<Vec<_>>()
        .as_slice()
    {
        [init @ .., last] if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        names => names.join(""),
    }
}

/// A 2-D device array of mask values or class ids, not copied: `(height, width)`
/// through `__cuda_array_interface__` (CuPy, PyTorch CUDA tensors, Numba), rows any
/// positive multiple of the value size apart, values contiguous in a row. `None` when
/// `v` is no CUDA array. The mask is read on the GPU when the list is drawn: the
/// returned hold keeps `v` alive with the list and names its producer's stream.
fn device_values(
    v: &Bound<'_, PyAny>,
    what: &str,
    allowed: &[MaskType],
) -> PyResult<Option<(MaskSource, DeviceArray)>> {
    let Some(d) = v.getattr_opt("__cuda_array_interface__")? else {
        return Ok(None);
    };
    let d = d
        .cast_into::<PyDict>()
        .map_err(|_| PyTypeError::new_err("__cuda_array_interface__ is not a dict"))?;
    let get = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(d.get_item(k)?.filter(|x| !x.is_none()))
    };
    let bad = |m: String| PyValueError::new_err(format!("{what}: {m}"));
    let typestr: String = get("typestr")?
        .ok_or_else(|| bad("array interface without typestr".into()))?
        .extract()?;
    let little = cfg!(target_endian = "little");
    let dtype = match typestr.as_str() {
        "|u1" | "<u1" | ">u1" => Some(MaskType::U8),
        "<f2" if little => Some(MaskType::F16),
        "<f4" if little => Some(MaskType::F32),
        "<i4" if little => Some(MaskType::I32),
        ">f2" if !little => Some(MaskType::F16),
        ">f4" if !little => Some(MaskType::F32),
        ">i4" if !little => Some(MaskType::I32),
        _ => None,
    }
    .filter(|t| allowed.contains(t))
    .ok_or_else(|| {
        bad(format!(
            "a device array of {} (native byte order) is needed, got '{typestr}'",
            kinds_text(allowed)
        ))
    })?;
    let shape: Vec<i64> = get("shape")?
        .ok_or_else(|| bad("array interface without shape".into()))?
        .extract()?;
    let [h, w] = shape.as_slice() else {
        return Err(bad(format!(
            "must be 2-D (height, width), got shape {shape:?}"
        )));
    };
    let side =
        |x: i64| u32::try_from(x).map_err(|_| bad(format!("shape {shape:?} is out of range")));
    let (width, height) = (side(*w)?, side(*h)?);
    let e = dtype.size() as i64;
    let (row, col) = match get("strides")? {
        Some(st) => {
            let st: Vec<i64> = st.extract()?;
            let [r, c] = st.as_slice() else {
                return Err(bad(format!("strides {st:?} do not match shape {shape:?}")));
            };
            (*r, *c)
        }
        None => (*w * e, e),
    };
    if col != e && *w > 1 {
        return Err(bad(format!(
            "the values of a row must be contiguous (column stride {e}), got {col}"
        )));
    }
    let pitch = if *h > 1 { row } else { (*w).max(1) * e };
    if pitch <= 0 {
        return Err(bad(format!(
            "row stride {row} is not positive (flipped arrays are not drawn)"
        )));
    }
    let data = get("data")?
        .ok_or_else(|| bad("the array exports no data pointer".into()))?
        .cast_into::<PyTuple>()
        .map_err(|_| bad("'data' of the array interface is not a tuple".into()))?;
    // Read-only is fine: the mask is only read.
    let (ptr, _readonly): (u64, bool) = data.extract()?;
    let stream = match get("stream")? {
        Some(st) => {
            let st: u64 = st.extract()?;
            if st == 0 {
                return Err(bad(
                    "__cuda_array_interface__ stream 0 is not allowed by the protocol".into(),
                ));
            }
            Some(st)
        }
        None => torch_stream(v)?,
    };
    // SAFETY: the producer's interface promises `height` rows `pitch` bytes apart of
    // `width` values at `ptr`, alive while the hold (which owns `v`) lives, and the
    // hold lives as long as the list and every draw of it; null, misaligned and short
    // pitches are refused when the list is resolved.
    let mask = unsafe { DeviceMask::new(ptr, pitch as usize, width, height, dtype) };
    let hold = DeviceArray {
        _obj: v.clone().unbind(),
        ptr,
        stream,
    };
    Ok(Some((MaskSource::Device(mask), hold)))
}

/// Reinterprets binary16 bits as `T` (inferred: the f16 type of `MaskValues::F16`,
/// which the bindings do not name so as not to depend on its crate).
///
/// # Safety
/// `T` must be `#[repr(transparent)]` over `u16` with every bit pattern valid.
unsafe fn f16_from_bits<T>(bits: Arc<[u16]>) -> Arc<[T]> {
    const {
        assert!(std::mem::size_of::<T>() == 2 && std::mem::align_of::<T>() == 2);
    }
    // SAFETY: the caller vouches that `T` has the layout of `u16` (checked above for
    // size and alignment), so the allocation holds the same bytes as `[T]`.
    unsafe { Arc::from_raw(Arc::into_raw(bits) as *const [T]) }
}

fn dtype_name(t: MaskType) -> &'static str {
    match t {
        MaskType::U8 => "uint8",
        MaskType::F16 => "float16",
        MaskType::F32 => "float32",
        _ => "int32",
    }
}

/// A mask source for `ops()`: `(dtype, width, height)`, or `("device", debug)`.
fn source_tuple<'py>(py: Python<'py>, m: &MaskSource) -> PyResult<Bound<'py, PyTuple>> {
    match m {
        MaskSource::Host {
            width,
            height,
            values,
        } => {
            let t = match values {
                MaskValues::U8(_) => "uint8",
                MaskValues::F16(_) => "float16",
                MaskValues::F32(_) => "float32",
                _ => "int32",
            };
            (t, *width, *height).into_pyobject(py)
        }
        other => ("device", format!("{other:?}")).into_pyobject(py),
    }
}

/// How a region is blurred or redacted (Rust `BlurKind`): `BlurKind.box(radius)`,
/// `.gaussian(sigma)`, `.pixelate(block)`, `.solid(colour)`.
#[pyclass(module = "cudadraw", name = "BlurKind", frozen, eq)]
#[derive(Clone, Copy, PartialEq)]
struct PyBlurKind {
    kind: RsBlurKind,
}

#[pymethods]
impl PyBlurKind {
    #[staticmethod]
    #[pyo3(name = "box")]
    fn box_(radius: u32) -> Self {
        Self {
            kind: RsBlurKind::Box { radius },
        }
    }

    #[staticmethod]
    fn gaussian(sigma: f32) -> Self {
        Self {
            kind: RsBlurKind::Gaussian { sigma },
        }
    }

    #[staticmethod]
    fn pixelate(block: u32) -> Self {
        Self {
            kind: RsBlurKind::Pixelate { block },
        }
    }

    #[staticmethod]
    fn solid(color: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            kind: RsBlurKind::Solid {
                color: self::color(color)?,
            },
        })
    }

    fn __repr__(&self) -> String {
        kind_repr(self.kind)
    }
}

fn kind_repr(k: RsBlurKind) -> String {
    match k {
        RsBlurKind::Box { radius } => format!("BlurKind.box({radius})"),
        RsBlurKind::Gaussian { sigma } => format!("BlurKind.gaussian({sigma})"),
        RsBlurKind::Pixelate { block } => format!("BlurKind.pixelate({block})"),
        RsBlurKind::Solid { color: c } => {
            format!("BlurKind.solid(({}, {}, {}, {}))", c.r, c.g, c.b, c.a)
        }
        other => format!("{other:?}"),
    }
}

fn kind_tuple<'py>(py: Python<'py>, k: RsBlurKind) -> PyResult<Bound<'py, PyTuple>> {
    match k {
        RsBlurKind::Box { radius } => ("box", radius).into_pyobject(py),
        RsBlurKind::Gaussian { sigma } => ("gaussian", sigma).into_pyobject(py),
        RsBlurKind::Pixelate { block } => ("pixelate", block).into_pyobject(py),
        RsBlurKind::Solid { color: c } => ("solid", (c.r, c.g, c.b, c.a)).into_pyobject(py),
        other => ("other", format!("{other:?}")).into_pyobject(py),
    }
}

/// Handle of an image registered with `Renderer.add_image`.
#[pyclass(module = "cudadraw", name = "ImageId", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PyImageId {
    #[pyo3(get)]
    id: u32,
}

#[pymethods]
impl PyImageId {
    fn __repr__(&self) -> String {
        format!("ImageId({})", self.id)
    }
}

/// Handle of a font registered with `Renderer.add_font`; `FontId.DEFAULT` is the
/// built-in DejaVu Sans, always registered.
#[pyclass(module = "cudadraw", name = "FontId", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PyFontId {
    #[pyo3(get)]
    id: u32,
}

#[pymethods]
impl PyFontId {
    #[new]
    fn new(id: u32) -> Self {
        Self { id }
    }

    /// The built-in font (DejaVu Sans).
    #[classattr]
    #[allow(non_snake_case)]
    fn DEFAULT() -> Self {
        Self {
            id: FontId::DEFAULT.0,
        }
    }

    fn __repr__(&self) -> String {
        format!("FontId({})", self.id)
    }
}

/// The ops for one frame, applied in order (Rust `DrawList`). Every method returns the
/// list, so calls chain: `DrawList().outline(r, 4, RED).blur(r2, BlurKind.box(7))`.
#[pyclass(module = "cudadraw", name = "DrawList")]
#[derive(Clone, Default)]
pub(crate) struct PyDrawList {
    pub(crate) inner: cd::DrawList,
    /// The device arrays its device masks and class maps read, kept alive with it.
    holds: Vec<Arc<DeviceArray>>,
}

/// A caller's device array that a list draws from (a mask straight from a model's
/// output): the object, so its memory outlives the list, and the stream its producer
/// works on, which the drawing stream waits for on the GPU.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) struct DeviceArray {
    _obj: Py<PyAny>,
    ptr: u64,
    stream: Option<u64>,
}

/// Draw lists of one call, cloned from their Python objects, and the device arrays
/// they read (held until the draw has finished, whatever happens to the lists).
pub(crate) struct Lists {
    pub(crate) lists: Vec<cd::DrawList>,
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    holds: Vec<Arc<DeviceArray>>,
}

impl Lists {
    /// Whether any list reads a caller's device array.
    #[cfg(feature = "cuda")]
    pub(crate) fn has_device_arrays(&self) -> bool {
        !self.holds.is_empty()
    }

    /// Makes the stream that draws on GPU `gpu` (`on`, or the renderer's own stream)
    /// wait for the producers of the device masks the lists read, each stream once.
    #[cfg(feature = "cuda")]
    pub(crate) fn follow_producers(
        &self,
        cuda: &mut cd::cuda::CudaRenderer,
        on: Option<u64>,
    ) -> cd::Result<()> {
        let mut done: Vec<u64> = Vec::new();
        for h in &self.holds {
            let Some(s) = h.stream else { continue };
            if Some(s) == on || done.contains(&s) {
                continue;
            }
            done.push(s);
            let gpu = gpu_of(h.ptr)?;
            // SAFETY: the array's producer names this stream (its protocol's stream,
            // or PyTorch's current stream on the array's device), a stream of the
            // primary context of the array's GPU; `on` is the frames' stream, checked
            // to be on the same GPU by the caller.
            unsafe {
                cuda.follow_stream(
                    gpu,
                    s as usize as cd::cuda::CuStream,
                    on.map(|o| o as usize as cd::cuda::CuStream),
                )?;
            }
        }
        Ok(())
    }

    /// Refuses device masks on another GPU than the frames they are drawn on.
    #[cfg(feature = "cuda")]
    fn check_gpu(&self, gpu: u32) -> PyResult<()> {
        for h in &self.holds {
            let g = gpu_of(h.ptr).map_err(to_py)?;
            if g != gpu {
                return Err(PyValueError::new_err(format!(
                    "a device mask is on GPU {g}, the frames on GPU {gpu}"
                )));
            }
        }
        Ok(())
    }
}

#[pymethods]
impl PyDrawList {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyDrawList>()
            .is_ok_and(|o| o.borrow().inner == self.inner)
    }

    fn __repr__(&self) -> String {
        format!("DrawList({} ops)", self.inner.len())
    }

    fn clear(&mut self) {
        self.inner.clear();
        self.holds.clear();
    }

    /// An outlined box: `outline(rect, width, colour, align="inside")`.
    #[pyo3(signature = (rect, width, color, align = "inside"))]
    fn outline<'py>(
        mut slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        width: u32,
        color: &Bound<'py, PyAny>,
        align: &str,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let b = Border::new(width, self::color(color)?).align(self::align(align)?);
        slf.inner.outline(self::rect(rect)?, b);
        Ok(slf)
    }

    /// A filled box without outline: `fill(rect, colour)` (alpha-blended).
    fn fill<'py>(
        mut slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        color: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.fill(self::rect(rect)?, self::color(color)?);
        Ok(slf)
    }

    /// A box with optional outline `(width, colour[, align])` and optional fill colour.
    #[pyo3(signature = (rect, border = None, fill = None))]
    fn rect<'py>(
        mut slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        border: Option<&Bound<'py, PyAny>>,
        fill: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let border = border.map(self::border).transpose()?;
        let fill = fill.map(self::color).transpose()?;
        slf.inner.rect(self::rect(rect)?, border, fill);
        Ok(slf)
    }

    /// The same as [`rect`](Self::rect): the Rust op is `BoxOp`.
    #[pyo3(name = "box", signature = (rect, border = None, fill = None))]
    fn box_<'py>(
        slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        border: Option<&Bound<'py, PyAny>>,
        fill: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        Self::rect(slf, rect, border, fill)
    }

    /// Blur or redact a region: `blur(rect, BlurKind.box(7), expand=0.0)`.
    #[pyo3(signature = (rect, kind, expand = 0.0))]
    fn blur<'py>(
        mut slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        kind: &Bound<'py, PyAny>,
        expand: f32,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let kind = kind
            .cast::<PyBlurKind>()
            .map_err(|_| {
                PyTypeError::new_err(
                    "kind is a BlurKind: BlurKind.box(r), .gaussian(s), .pixelate(b), .solid(c)",
                )
            })?
            .get()
            .kind;
        slf.inner.push(BlurOp {
            rect: self::rect(rect)?,
            kind,
            expand,
        });
        Ok(slf)
    }

    /// Blend a registered image into `rect`: `overlay(image_id, rect, opacity=1.0,
    /// filter="bilinear")`.
    #[pyo3(signature = (image, rect, opacity = 1.0, filter = "bilinear"))]
    fn overlay<'py>(
        mut slf: PyRefMut<'py, Self>,
        image: &Bound<'py, PyAny>,
        rect: &Bound<'py, PyAny>,
        opacity: f32,
        filter: &str,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let image = match image.cast::<PyImageId>() {
            Ok(i) => i.get().id,
            Err(_) => image
                .extract::<u32>()
                .map_err(|_| PyTypeError::new_err("image is an ImageId from Renderer.add_image"))?,
        };
        slf.inner.push(OverlayOp {
            image: ImageId(image),
            rect: self::rect(rect)?,
            opacity,
            filter: self::filter(filter)?,
        });
        Ok(slf)
    }

    /// Text at a point: `text(x, y, text, size=16, color=white, font=FontId.DEFAULT,
    /// background=None, padding=2, halo=None, anchor="top")`. `halo` is
    /// `(width, colour)`; `anchor` `"top"` (the top-left of the first line's box) or
    /// `"baseline"`; lines are separated by `"\n"`.
    #[pyo3(signature = (x, y, text, size = 16, color = None, font = None, background = None,
                        padding = 2, halo = None, anchor = "top"))]
    #[allow(clippy::too_many_arguments)]
    fn text<'py>(
        mut slf: PyRefMut<'py, Self>,
        x: f32,
        y: f32,
        text: String,
        size: u32,
        color: Option<&Bound<'py, PyAny>>,
        font: Option<&Bound<'py, PyAny>>,
        background: Option<&Bound<'py, PyAny>>,
        padding: u32,
        halo: Option<&Bound<'py, PyAny>>,
        anchor: &str,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let style = text_style(size, color, font, background, padding, halo)?;
        slf.inner.push(TextOp {
            text,
            x,
            y,
            anchor: self::anchor(anchor)?,
            style,
        });
        Ok(slf)
    }

    /// A label on a box, placed as nvdsosd places labels: `label(rect, text, size=16,
    /// color=white, font=FontId.DEFAULT, background=None, padding=2, halo=None)`.
    #[pyo3(signature = (rect, text, size = 16, color = None, font = None, background = None,
                        padding = 2, halo = None))]
    #[allow(clippy::too_many_arguments)]
    fn label<'py>(
        mut slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        text: String,
        size: u32,
        color: Option<&Bound<'py, PyAny>>,
        font: Option<&Bound<'py, PyAny>>,
        background: Option<&Bound<'py, PyAny>>,
        padding: u32,
        halo: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let style = text_style(size, color, font, background, padding, halo)?;
        slf.inner.push(LabelOp {
            rect: self::rect(rect)?,
            text,
            style,
        });
        Ok(slf)
    }

    /// A line segment: `line(p0, p1, width, colour, cap="flat", aa=False)`; `cap`
    /// `"flat"` or `"round"`.
    #[pyo3(signature = (p0, p1, width, color, cap = "flat", aa = false))]
    #[allow(clippy::too_many_arguments)]
    fn line<'py>(
        mut slf: PyRefMut<'py, Self>,
        p0: &Bound<'py, PyAny>,
        p1: &Bound<'py, PyAny>,
        width: f32,
        color: &Bound<'py, PyAny>,
        cap: &str,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.push(LineOp {
            from: point(p0)?,
            to: point(p1)?,
            width,
            color: self::color(color)?,
            cap: self::cap(cap)?,
            aa,
        });
        Ok(slf)
    }

    /// Connected segments: `polyline(points, width, colour, closed=False, cap="flat",
    /// aa=False)`.
    #[pyo3(signature = (points, width, color, closed = false, cap = "flat", aa = false))]
    #[allow(clippy::too_many_arguments)]
    fn polyline<'py>(
        mut slf: PyRefMut<'py, Self>,
        points: &Bound<'py, PyAny>,
        width: f32,
        color: &Bound<'py, PyAny>,
        closed: bool,
        cap: &str,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.push(PolylineOp {
            points: self::points(points)?,
            closed,
            width,
            color: self::color(color)?,
            cap: self::cap(cap)?,
            aa,
        });
        Ok(slf)
    }

    /// A filled and/or outlined polygon (even-odd): `polygon(points, fill=None,
    /// outline=None, aa=False)`; `outline` is `(width, colour)`.
    #[pyo3(signature = (points, fill = None, outline = None, aa = false))]
    fn polygon<'py>(
        mut slf: PyRefMut<'py, Self>,
        points: &Bound<'py, PyAny>,
        fill: Option<&Bound<'py, PyAny>>,
        outline: Option<&Bound<'py, PyAny>>,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.push(PolygonOp {
            points: self::points(points)?,
            fill: fill.map(self::color).transpose()?,
            outline: outline.map(stroke).transpose()?,
            aa,
        });
        Ok(slf)
    }

    /// An arrow: `arrow(p0, p1, width, colour, head_length=None, head_angle=30,
    /// ends="end", aa=False)`; `head_length` defaults to `4 * width + 6`, `head_angle`
    /// is in degrees, `ends` `"end"`, `"start"` or `"both"`.
    #[pyo3(signature = (p0, p1, width, color, head_length = None, head_angle = 30.0,
                        ends = "end", aa = false))]
    #[allow(clippy::too_many_arguments)]
    fn arrow<'py>(
        mut slf: PyRefMut<'py, Self>,
        p0: &Bound<'py, PyAny>,
        p1: &Bound<'py, PyAny>,
        width: f32,
        color: &Bound<'py, PyAny>,
        head_length: Option<f32>,
        head_angle: f32,
        ends: &str,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.push(ArrowOp {
            from: point(p0)?,
            to: point(p1)?,
            width,
            color: self::color(color)?,
            head_length: head_length.unwrap_or(4.0 * width + 6.0),
            head_angle,
            ends: self::ends(ends)?,
            aa,
        });
        Ok(slf)
    }

    /// A circle (an `EllipseOp` with `rx == ry`): `circle(center, radius, outline=None,
    /// align="inside", fill=None, aa=False)`.
    #[pyo3(signature = (center, radius, outline = None, align = "inside", fill = None,
                        aa = false))]
    #[allow(clippy::too_many_arguments)]
    fn circle<'py>(
        slf: PyRefMut<'py, Self>,
        center: &Bound<'py, PyAny>,
        radius: f32,
        outline: Option<&Bound<'py, PyAny>>,
        align: &str,
        fill: Option<&Bound<'py, PyAny>>,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        Self::ellipse(slf, center, radius, radius, outline, align, fill, aa)
    }

    /// An axis-aligned ellipse: `ellipse(center, rx, ry, outline=None, align="inside",
    /// fill=None, aa=False)`; `outline` is `(width, colour)`.
    #[pyo3(signature = (center, rx, ry, outline = None, align = "inside", fill = None,
                        aa = false))]
    #[allow(clippy::too_many_arguments)]
    fn ellipse<'py>(
        mut slf: PyRefMut<'py, Self>,
        center: &Bound<'py, PyAny>,
        rx: f32,
        ry: f32,
        outline: Option<&Bound<'py, PyAny>>,
        align: &str,
        fill: Option<&Bound<'py, PyAny>>,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.push(EllipseOp {
            center: point(center)?,
            rx,
            ry,
            outline: outline.map(stroke).transpose()?,
            align: self::align(align)?,
            fill: fill.map(self::color).transpose()?,
            aa,
        });
        Ok(slf)
    }

    /// A box turned about its centre: `rotated_box(center, width, height, angle=0,
    /// outline=None, fill=None, aa=False)`; `angle` in degrees.
    #[pyo3(signature = (center, width, height, angle = 0.0, outline = None, fill = None,
                        aa = false))]
    #[allow(clippy::too_many_arguments)]
    fn rotated_box<'py>(
        mut slf: PyRefMut<'py, Self>,
        center: &Bound<'py, PyAny>,
        width: f32,
        height: f32,
        angle: f32,
        outline: Option<&Bound<'py, PyAny>>,
        fill: Option<&Bound<'py, PyAny>>,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.push(RotatedBoxOp {
            center: point(center)?,
            width,
            height,
            angle,
            outline: outline.map(stroke).transpose()?,
            fill: fill.map(self::color).transpose()?,
            aa,
        });
        Ok(slf)
    }

    /// A filled disc (a keypoint): `point(center, radius, colour, aa=False)`.
    #[pyo3(signature = (center, radius, color, aa = false))]
    fn point<'py>(
        mut slf: PyRefMut<'py, Self>,
        center: &Bound<'py, PyAny>,
        radius: f32,
        color: &Bound<'py, PyAny>,
        aa: bool,
    ) -> PyResult<PyRefMut<'py, Self>> {
        slf.inner.push(PointOp {
            center: self::point(center)?,
            radius,
            color: self::color(color)?,
            aa,
        });
        Ok(slf)
    }

    /// An instance mask scaled onto `rect`: `mask(rect, values, threshold=0.5, *,
    /// color, filter="bilinear", contour=None)`. `values`: a 2-D `(height, width)`
    /// array of uint8, float16 or float32: a NumPy array (copied into the op) or a CUDA
    /// array (`__cuda_array_interface__`: a PyTorch CUDA tensor, CuPy; not copied, read
    /// on the GPU when drawn, so device frames only; the list holds the array, and the
    /// drawing waits on the GPU for the stream its producer names, PyTorch's current
    /// stream for a tensor). Drawn in `color` where it reaches `threshold`, its
    /// boundary in `contour` if given.
    #[pyo3(signature = (rect, values, threshold = 0.5, *, color, filter = "bilinear",
                        contour = None))]
    #[allow(clippy::too_many_arguments)]
    fn mask<'py>(
        mut slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        values: &Bound<'py, PyAny>,
        threshold: f32,
        color: &Bound<'py, PyAny>,
        filter: &str,
        contour: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let kinds = [MaskType::U8, MaskType::F16, MaskType::F32];
        let (mask, hold) = match device_values(values, "values", &kinds)? {
            Some((m, h)) => (m, Some(h)),
            None => (host_values(values, "values", &kinds)?, None),
        };
        let op = MaskOp {
            rect: self::rect(rect)?,
            mask,
            threshold,
            color: self::color(color)?,
            filter: self::filter(filter)?,
            contour: contour.map(self::color).transpose()?,
        };
        slf.inner.push(op);
        slf.holds.extend(hold.map(Arc::new));
        Ok(slf)
    }

    /// A class map scaled onto `rect` (nearest): `class_map(rect, ids, palette)`. `ids`:
    /// a 2-D `(height, width)` array of uint8 or int32 class ids, NumPy (copied) or CUDA
    /// (not copied, as for `mask`); each pixel takes `palette[id]` (a list of colours),
    /// ids outside it leave the pixel.
    fn class_map<'py>(
        mut slf: PyRefMut<'py, Self>,
        rect: &Bound<'py, PyAny>,
        ids: &Bound<'py, PyAny>,
        palette: &Bound<'py, PyAny>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let err = || PyTypeError::new_err("palette is a sequence of colours");
        if palette.is_none() || palette.is_instance_of::<PyString>() {
            return Err(err());
        }
        let mut colors = Vec::new();
        for c in palette.try_iter().map_err(|_| err())? {
            colors.push(self::color(&c?)?);
        }
        let kinds = [MaskType::U8, MaskType::I32];
        let (map, hold) = match device_values(ids, "ids", &kinds)? {
            Some((m, h)) => (m, Some(h)),
            None => (host_values(ids, "ids", &kinds)?, None),
        };
        let op = ClassMapOp {
            rect: self::rect(rect)?,
            map,
            palette: colors.into(),
        };
        slf.inner.push(op);
        slf.holds.extend(hold.map(Arc::new));
        Ok(slf)
    }

    /// The ops as tuples, for inspection, named after the Rust ops with the arguments
    /// of their builders: `("box", rect, border, fill)`, `("blur", rect, kind, expand)`,
    /// `("overlay", image, rect, opacity, filter)`, `("text", (x, y), text, anchor,
    /// style)`, `("label", rect, text, style)` (style: a dict of `size`, `color`,
    /// `font`, `background`, `padding`, `halo`), `("line", p0, p1, width, colour, cap,
    /// aa)`, `("polyline", points, width, colour, closed, cap, aa)`, `("polygon",
    /// points, fill, outline, aa)`, `("arrow", p0, p1, width, colour, head_length,
    /// head_angle, ends, aa)`, `("ellipse", center, rx, ry, outline, align, fill, aa)`
    /// (circles too), `("rotated_box", center, width, height, angle, outline, fill,
    /// aa)`, `("point", center, radius, colour, aa)`, `("mask", rect, (dtype, width,
    /// height), threshold, colour, filter, contour)`, `("class_map", rect, (dtype,
    /// width, height), palette)`.
    fn ops<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .inner
            .ops()
            .iter()
            .map(|op| op_tuple(py, op))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

fn rect_tuple(r: Rect) -> (f32, f32, f32, f32) {
    (r.left, r.top, r.width, r.height)
}

fn color_tuple(c: Color) -> (u8, u8, u8, u8) {
    (c.r, c.g, c.b, c.a)
}

fn point_tuple(p: Point) -> (f32, f32) {
    (p.x, p.y)
}

fn stroke_tuple(s: Stroke) -> (f32, (u8, u8, u8, u8)) {
    (s.width, color_tuple(s.color))
}

/// A text style for `ops()`: the keyword arguments of `text` / `label`.
fn style_dict<'py>(py: Python<'py>, s: &TextStyle) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("size", s.size)?;
    d.set_item("color", color_tuple(s.color))?;
    d.set_item("font", PyFontId { id: s.font.0 })?;
    d.set_item("background", s.background.map(color_tuple))?;
    d.set_item("padding", s.padding)?;
    d.set_item("halo", s.halo.map(|h| (h.width, color_tuple(h.color))))?;
    Ok(d)
}

/// One op as a Python tuple (`DrawList.ops()`).
fn op_tuple<'py>(py: Python<'py>, op: &Op) -> PyResult<Bound<'py, PyTuple>> {
    match op {
        Op::Box(BoxOp { rect, border, fill }) => (
            "box",
            rect_tuple(*rect),
            border.map(|b| (b.width, color_tuple(b.color), align_name(b.align))),
            fill.map(color_tuple),
        )
            .into_pyobject(py),
        Op::Blur(BlurOp { rect, kind, expand }) => {
            ("blur", rect_tuple(*rect), kind_tuple(py, *kind)?, *expand).into_pyobject(py)
        }
        Op::Overlay(OverlayOp {
            image,
            rect,
            opacity,
            filter,
        }) => (
            "overlay",
            PyImageId { id: image.0 },
            rect_tuple(*rect),
            *opacity,
            filter_name(*filter),
        )
            .into_pyobject(py),
        Op::Text(TextOp {
            text,
            x,
            y,
            anchor,
            style,
        }) => (
            "text",
            (*x, *y),
            text.as_str(),
            anchor_name(*anchor),
            style_dict(py, style)?,
        )
            .into_pyobject(py),
        Op::Label(LabelOp { rect, text, style }) => (
            "label",
            rect_tuple(*rect),
            text.as_str(),
            style_dict(py, style)?,
        )
            .into_pyobject(py),
        Op::Line(l) => (
            "line",
            point_tuple(l.from),
            point_tuple(l.to),
            l.width,
            color_tuple(l.color),
            cap_name(l.cap),
            l.aa,
        )
            .into_pyobject(py),
        Op::Polyline(l) => (
            "polyline",
            l.points
                .iter()
                .copied()
                .map(point_tuple)
                .collect::<Vec<_>>(),
            l.width,
            color_tuple(l.color),
            l.closed,
            cap_name(l.cap),
            l.aa,
        )
            .into_pyobject(py),
        Op::Polygon(g) => (
            "polygon",
            g.points
                .iter()
                .copied()
                .map(point_tuple)
                .collect::<Vec<_>>(),
            g.fill.map(color_tuple),
            g.outline.map(stroke_tuple),
            g.aa,
        )
            .into_pyobject(py),
        Op::Arrow(a) => (
            "arrow",
            point_tuple(a.from),
            point_tuple(a.to),
            a.width,
            color_tuple(a.color),
            a.head_length,
            a.head_angle,
            ends_name(a.ends),
            a.aa,
        )
            .into_pyobject(py),
        Op::Ellipse(e) => (
            "ellipse",
            point_tuple(e.center),
            e.rx,
            e.ry,
            e.outline.map(stroke_tuple),
            align_name(e.align),
            e.fill.map(color_tuple),
            e.aa,
        )
            .into_pyobject(py),
        Op::RotatedBox(b) => (
            "rotated_box",
            point_tuple(b.center),
            b.width,
            b.height,
            b.angle,
            b.outline.map(stroke_tuple),
            b.fill.map(color_tuple),
            b.aa,
        )
            .into_pyobject(py),
        Op::Point(p) => (
            "point",
            point_tuple(p.center),
            p.radius,
            color_tuple(p.color),
            p.aa,
        )
            .into_pyobject(py),
        Op::Mask(m) => (
            "mask",
            rect_tuple(m.rect),
            source_tuple(py, &m.mask)?,
            m.threshold,
            color_tuple(m.color),
            filter_name(m.filter),
            m.contour.map(color_tuple),
        )
            .into_pyobject(py),
        Op::ClassMap(c) => (
            "class_map",
            rect_tuple(c.rect),
            source_tuple(py, &c.map)?,
            c.palette
                .iter()
                .copied()
                .map(color_tuple)
                .collect::<Vec<_>>(),
        )
            .into_pyobject(py),
        // Ops added to the Rust model before their binding: visible, not hidden.
        other => ("op", format!("{other:?}")).into_pyobject(py),
    }
}

/// The draw lists of a call: one `DrawList`, or a sequence of them (one per frame).
/// Cloned so that drawing runs without the GIL (a list is a flat vector of small
/// structs: a memcpy).
pub(crate) fn lists(v: &Bound<'_, PyAny>) -> PyResult<Lists> {
    let mut out = Lists {
        lists: Vec::new(),
        holds: Vec::new(),
    };
    let mut add = |l: &Bound<'_, PyDrawList>| {
        let l = l.borrow();
        out.lists.push(l.inner.clone());
        out.holds.extend(l.holds.iter().cloned());
    };
    if let Ok(l) = v.cast::<PyDrawList>() {
        add(l);
        return Ok(out);
    }
    let err = || PyTypeError::new_err("lists must be a DrawList or a sequence of DrawList");
    if v.is_none() || v.is_instance_of::<pyo3::types::PyString>() {
        return Err(err());
    }
    for (i, item) in v.try_iter().map_err(|_| err())?.enumerate() {
        let item = item?;
        let l = item.cast::<PyDrawList>().map_err(|_| {
            PyTypeError::new_err(format!(
                "lists[{i}] is {}, not a DrawList",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        add(l);
    }
    Ok(out)
}

/// Owns the overlay images and both backends (Rust `render::Renderer`). Thread-safe:
/// calls on one renderer are serialised; drawing runs with the GIL released.
#[pyclass(module = "cudadraw", name = "Renderer", frozen)]
pub(crate) struct PyRenderer {
    inner: Mutex<cd::render::Renderer>,
    /// Whether the last render was queued on a caller's stream (whose resolution
    /// the Rust renderer's `last_resolved` does not track).
    caller_stream: std::sync::atomic::AtomicBool,
}

impl PyRenderer {
    fn create(skip_invalid: bool) -> Self {
        let mut r = cd::render::Renderer::new();
        if skip_invalid {
            r.set_options(ResolveOptions {
                invalid_ops: InvalidOps::Skip,
                ..Default::default()
            });
        }
        Self {
            inner: Mutex::new(r),
            caller_stream: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The renderer, for a render: what `last_skipped` reports is this render's.
    pub(crate) fn lock_for_render(&self) -> MutexGuard<'_, cd::render::Renderer> {
        let g = self.lock();
        self.caller_stream
            .store(false, std::sync::atomic::Ordering::Relaxed);
        g
    }

    /// The renderer; a panic in an earlier call (caught at the boundary) leaves it
    /// usable: every call starts from its own inputs.
    pub(crate) fn lock(&self) -> MutexGuard<'_, cd::render::Renderer> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs `f` and turns a panic into an exception: no unwinding crosses into Python.
pub(crate) fn no_panic<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(PyRuntimeError::new_err(format!(
            "cudadraw: internal error (panic): {msg}"
        )))
    })
}

/// Reads a host (H, W, 4) uint8 array (any row stride) into a packed RGBA image.
fn image_from_array(obj: &Bound<'_, PyAny>) -> PyResult<Image> {
    let (d, place) = arrays::interface(obj)?;
    if place != Place::Host {
        return Err(PyValueError::new_err(
            "images are registered from host memory (a NumPy array or bytes)",
        ));
    }
    let view = arrays::parse(&d, place, cd::PixelFormat::Rgba, "image", true)?;
    let [f] = view.frames.as_slice() else {
        return Err(PyValueError::new_err("an image is one (H, W, 4) array"));
    };
    f.info.validate(0).map_err(|e| {
        PyValueError::new_err(format!(
            "invalid image: {}",
            e.to_string().replace("invalid frame 0: ", "")
        ))
    })?;
    let (w, h, pitch) = (f.info.width as usize, f.info.height as usize, f.info.pitch);
    let mut data = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        // SAFETY: the array interface promises `h` rows of `pitch` bytes from `ptr`
        // with `w * 4` pixel bytes each (validated above); we hold the array (and so
        // its memory) for the duration of the copy, with the GIL.
        let row =
            unsafe { std::slice::from_raw_parts((f.ptr as usize + y * pitch) as *const u8, w * 4) };
        data.extend_from_slice(row);
    }
    Image::new(f.info.width, f.info.height, data).map_err(to_py)
}

#[pymethods]
impl PyRenderer {
    /// `Renderer(skip_invalid=False)`: with `skip_invalid`, ops that fail validation
    /// are left out (and counted in `last_skipped`) instead of failing the call.
    #[new]
    #[pyo3(signature = (skip_invalid = false))]
    fn new(skip_invalid: bool) -> Self {
        Self::create(skip_invalid)
    }

    /// Registers an overlay image once; draw it by the returned handle.
    /// `add_image(array)` with an (H, W, 4) uint8 RGBA array (straight alpha), or
    /// `add_image(bytes, width, height)`, or `add_image(png_bytes)` for a PNG file's bytes.
    #[pyo3(signature = (pixels, width = None, height = None))]
    fn add_image(
        &self,
        pixels: &Bound<'_, PyAny>,
        width: Option<u32>,
        height: Option<u32>,
    ) -> PyResult<PyImageId> {
        no_panic(|| {
            let image = if let Ok(b) = pixels.cast::<PyBytes>() {
                match (width, height) {
                    (Some(w), Some(h)) => Image::new(w, h, b.as_bytes().to_vec()).map_err(to_py)?,
                    (None, None) => cd::draw::scene::decode_png(b.as_bytes()).map_err(to_py)?,
                    _ => {
                        return Err(PyValueError::new_err(
                            "give both width and height for raw RGBA bytes (or neither for PNG)",
                        ));
                    }
                }
            } else {
                image_from_array(pixels)?
            };
            Ok(PyImageId {
                id: self.lock().add_image(image).0,
            })
        })
    }

    /// Registers a font (face `index` of a TTF/OTF/TTC file): `add_font(path)` with a
    /// path (`str` or `os.PathLike`) or `add_font(font_file_bytes)`. Draw text with it
    /// by the returned `FontId`; `FontId.DEFAULT` (the built-in font) is always there.
    #[pyo3(signature = (font, index = 0))]
    fn add_font(&self, font: &Bound<'_, PyAny>, index: u32) -> PyResult<PyFontId> {
        no_panic(|| {
            let font = if let Ok(b) = font.cast::<PyBytes>() {
                Font::from_bytes(b.as_bytes().to_vec(), index).map_err(to_py)?
            } else {
                let path: std::path::PathBuf = font.extract().map_err(|_| {
                    PyTypeError::new_err("a font is a path (str, os.PathLike) or the file's bytes")
                })?;
                Font::from_path(path, index).map_err(to_py)?
            };
            Ok(PyFontId {
                id: self.lock().add_font(font).0,
            })
        })
    }

    /// The size of `text` at `size` px in `font`, to lay text out yourself:
    /// `(width, height, ascent, descent, lines)` in pixels (Rust `TextMetrics`).
    fn measure_text(
        &self,
        font: &Bound<'_, PyAny>,
        size: u32,
        text: &str,
    ) -> PyResult<(i32, i32, i32, i32, u32)> {
        no_panic(|| {
            let m = self
                .lock()
                .measure_text(font_id(font)?, size, text)
                .map_err(to_py)?;
            Ok((m.width, m.height, m.ascent, m.descent, m.lines))
        })
    }

    /// Removes an image; lists that still name it fail validation.
    fn remove_image(&self, image: &Bound<'_, PyImageId>) -> bool {
        self.lock()
            .images_mut()
            .remove(ImageId(image.get().id))
            .is_some()
    }

    /// Ops left out by the last render (with `skip_invalid=True`).
    #[getter]
    fn last_skipped(&self) -> usize {
        #[cfg_attr(not(feature = "cuda"), allow(unused_mut))]
        let mut r = self.lock();
        #[cfg(feature = "cuda")]
        if self
            .caller_stream
            .load(std::sync::atomic::Ordering::Relaxed)
            && let Ok((cuda, _)) = r.cuda_and_images()
        {
            return cuda.resolved().skipped();
        }
        r.last_resolved().skipped()
    }

    /// Draws `lists[i]` on frame `i`, in place. `frames`: a NumPy (H, W, 4) uint8 array,
    /// a CUDA array (CuPy, PyTorch: `__cuda_array_interface__`) of (H, W, 4) or
    /// (N, H, W, 4), or a sequence of such arrays (all host or all device); rows may
    /// have any stride, the 4 channels of a pixel must be contiguous. `lists`: one
    /// DrawList per frame (a single DrawList for a single frame). `format` names the
    /// byte order. On any error nothing is drawn on any frame.
    #[pyo3(signature = (frames, lists, format = "rgba"))]
    fn render(
        &self,
        py: Python<'_>,
        frames: &Bound<'_, PyAny>,
        lists: &Bound<'_, PyAny>,
        format: &str,
    ) -> PyResult<()> {
        no_panic(|| self.render_inner(py, frames, lists, format))
    }

    /// Draws on a GstBuffer in place (see `cudadraw.draw_buffer`). Returns whether
    /// anything was drawn.
    #[pyo3(signature = (buffer, lists, caps = None))]
    fn draw_buffer(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        lists: &Bound<'_, PyAny>,
        caps: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        no_panic(|| gstbuf::draw_buffer(py, self, buffer, lists, caps))
    }
}

impl PyRenderer {
    fn render_inner(
        &self,
        py: Python<'_>,
        frames: &Bound<'_, PyAny>,
        lists: &Bound<'_, PyAny>,
        format: &str,
    ) -> PyResult<()> {
        let format = pixel_format(format)?;
        let lists = self::lists(lists)?;
        let mut all = Vec::new();
        let mut place = None;
        let mut stream = None;
        // DLPack tensors consumed by this call: released after the draw, with the GIL.
        let mut held = Vec::new();
        let mut add = |obj: &Bound<'_, PyAny>, what: String| -> PyResult<()> {
            let (v, p) = if !obj.hasattr("__cuda_array_interface__")?
                && !obj.hasattr("__array_interface__")?
                && obj.hasattr("__dlpack__")?
            {
                let (v, p, h) = arrays::dlpack::consume(obj, format, &what)?;
                held.push(h);
                (v, p)
            } else {
                let (d, p) = arrays::interface(obj)?;
                (arrays::parse(&d, p, format, &what, false)?, p)
            };
            if place.is_some_and(|q| q != p) {
                return Err(PyValueError::new_err(
                    "frames mix host and device arrays: one call draws on one kind",
                ));
            }
            place = Some(p);
            let st = match (p, v.stream) {
                (Place::Device, None) => torch_stream(obj)?,
                (_, s) => s,
            };
            if let Some(s) = st {
                if stream.is_some_and(|t| t != s) {
                    return Err(PyValueError::new_err(
                        "device arrays of one call must be on one stream",
                    ));
                }
                stream = Some(s);
            }
            all.extend(v.frames);
            Ok(())
        };
        let has_interface = frames.hasattr("__cuda_array_interface__")?
            || frames.hasattr("__array_interface__")?
            || frames.hasattr("__dlpack__")?;
        if has_interface {
            add(frames, "frames".into())?;
        } else if frames.is_none() {
            return Err(PyTypeError::new_err("frames is None"));
        } else {
            let seq = frames.try_iter().map_err(|_| {
                PyTypeError::new_err("frames must be an array or a sequence of arrays")
            })?;
            for (i, f) in seq.enumerate() {
                add(&f?, format!("frames[{i}]"))?;
            }
        }
        for (i, f) in all.iter().enumerate() {
            f.info.validate(i).map_err(to_py)?;
        }
        arrays::check_disjoint(&all)?;
        let result = match place {
            None | Some(Place::Host) => py.detach(|| {
                let mut r = self.lock_for_render();
                let mut hosts = Vec::with_capacity(all.len());
                for f in &all {
                    // SAFETY: the array interface of an array we hold a reference to
                    // (the caller's `frames`, alive for this call) promises writable
                    // memory of this layout; frames were checked disjoint above, so no
                    // two slices alias.
                    hosts.push(
                        unsafe { cd::HostFrame::from_raw(f.ptr as *mut u8, f.info) }
                            .map_err(to_py)?,
                    );
                }
                r.render_host(&mut hosts, &lists.lists).map_err(to_py)
            }),
            Some(Place::Device) => py.detach(|| self.render_device(&all, &lists, stream)),
        };
        // The DLPack producers' deleters run here, with the GIL, after the draw; so do
        // the device masks' holds (the lists' Python objects may be gone by now).
        drop(held);
        drop(lists);
        result
    }

    #[cfg(not(feature = "cuda"))]
    fn render_device(
        &self,
        _frames: &[arrays::ArrayFrame],
        _lists: &Lists,
        _stream: Option<u64>,
    ) -> PyResult<()> {
        Err(CudaError::new_err(
            "no CUDA device available: this cudadraw was built without the `cuda` feature",
        ))
    }

    #[cfg(feature = "cuda")]
    fn render_device(
        &self,
        frames: &[arrays::ArrayFrame],
        all: &Lists,
        stream: Option<u64>,
    ) -> PyResult<()> {
        let lists = &all.lists;
        let mut r = self.lock_for_render();
        let mut dev = Vec::with_capacity(frames.len());
        for (i, f) in frames.iter().enumerate() {
            let gpu = gpu_of(f.ptr).map_err(to_py)?;
            if i == 0 {
                all.check_gpu(gpu)?;
            }
            // SAFETY: the producer's __cuda_array_interface__ promises device memory of
            // this layout, writable (checked not read-only), alive while we hold the
            // array; the GPU is the one whose primary context owns the pointer.
            dev.push(unsafe { cd::DeviceFrame::new(f.ptr, f.info, gpu) });
        }
        match stream {
            // No stream: the producer says no synchronisation is needed.
            None => {
                let (cuda, _) = r.cuda_and_images().map_err(to_py)?;
                all.follow_producers(cuda, None).map_err(to_py)?;
                r.render_device(&dev, lists).map_err(to_py)
            }
            Some(s) => {
                let (cuda, images) = r.cuda_and_images().map_err(to_py)?;
                all.follow_producers(cuda, Some(s)).map_err(to_py)?;
                // The protocol's stream is the producer's (PyTorch's current stream,
                // CuPy's): drawing on it orders us after its work and its later work
                // after ours, without a device-wide wait. 1 and 2 are the legacy and
                // per-thread default streams, the same handles in the driver API.
                let stream = s as usize as cd::cuda::CuStream;
                // SAFETY: a stream handle from the array's producer, in the primary
                // context of the frames' GPU (the runtime API's context, checked by
                // gpu_of), alive while the producer's array is.
                let sub = unsafe { cuda.submit_on_stream(&dev, lists, images, stream) };
                self.caller_stream
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                let w = cuda.wait();
                sub.and(w).map_err(to_py)
            }
        }
    }
}

/// The stream of a PyTorch CUDA tensor: PyTorch exports `__cuda_array_interface__`
/// version 2, which names no stream, so the tensor's stream is taken to be PyTorch's
/// current stream on its device (where the work that produced it was queued). The
/// legacy default stream (handle 0 in PyTorch) is `CU_STREAM_LEGACY` (1) for the driver.
fn torch_stream(obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    let module: String = obj.get_type().getattr("__module__")?.extract()?;
    if module != "torch" && !module.starts_with("torch.") {
        return Ok(None);
    }
    let torch = obj.py().import("torch")?;
    let stream = torch
        .getattr("cuda")?
        .call_method1("current_stream", (obj.getattr("device")?,))?;
    let handle: u64 = stream.getattr("cuda_stream")?.extract()?;
    Ok(Some(if handle == 0 { 1 } else { handle }))
}

/// The GPU whose primary context (the CUDA runtime's, so PyTorch's and CuPy's) owns
/// device pointer `ptr`.
#[cfg(feature = "cuda")]
fn gpu_of(ptr: u64) -> cd::Result<u32> {
    use cd::cuda::context::{pointer_context, primary_context};
    let n = cd::cuda::device_count();
    if n == 0 {
        return Err(cd::Error::NoCudaDevice(
            "no CUDA device on this machine".into(),
        ));
    }
    let owner = pointer_context(ptr)?;
    for gpu in 0..n as u32 {
        if primary_context(gpu)? == owner {
            return Ok(gpu);
        }
    }
    Err(cd::Error::InvalidFrame {
        index: 0,
        reason: format!(
            "device pointer {ptr:#x} belongs to no GPU's primary context (memory of a \
             context the application created itself cannot be drawn from Python)"
        ),
    })
}

/// The module-wide renderer used by the module functions.
fn default_renderer(py: Python<'_>) -> PyResult<&'static Py<PyRenderer>> {
    static DEFAULT: OnceLock<Py<PyRenderer>> = OnceLock::new();
    if let Some(r) = DEFAULT.get() {
        return Ok(r);
    }
    let r = Py::new(py, PyRenderer::create(false))?;
    Ok(DEFAULT.get_or_init(|| r))
}

/// `draw_buffer(buffer, lists, caps=None, renderer=None)`: draws `lists[i]` on frame
/// `i` of a GstBuffer in place. `buffer` is `hash(gst_buffer)` (the address, as pyds
/// takes buffers) or a `Gst.Buffer`; `caps` a `Gst.Caps`, a caps string, or the
/// `Gst.Pad` the buffer crossed (its current caps). Without caps, a buffer of
/// exactly one NvBufSurface descriptor is taken as a DeepStream NVMM batch and a
/// buffer with a `GstVideoMeta` as system memory of that layout. Returns whether
/// anything was drawn (False when every list is empty).
#[pyfunction]
#[pyo3(signature = (buffer, lists, caps = None, renderer = None))]
fn draw_buffer(
    py: Python<'_>,
    buffer: &Bound<'_, PyAny>,
    lists: &Bound<'_, PyAny>,
    caps: Option<&Bound<'_, PyAny>>,
    renderer: Option<&Bound<'_, PyRenderer>>,
) -> PyResult<bool> {
    no_panic(|| match renderer {
        Some(r) => gstbuf::draw_buffer(py, r.get(), buffer, lists, caps),
        None => gstbuf::draw_buffer(py, default_renderer(py)?.get(), buffer, lists, caps),
    })
}

/// `render(frames, lists, format="rgba")` with the module-wide renderer.
#[pyfunction]
#[pyo3(signature = (frames, lists, format = "rgba"))]
fn render(
    py: Python<'_>,
    frames: &Bound<'_, PyAny>,
    lists: &Bound<'_, PyAny>,
    format: &str,
) -> PyResult<()> {
    no_panic(|| {
        default_renderer(py)?
            .get()
            .render_inner(py, frames, lists, format)
    })
}

/// Decodes PNG bytes to `(width, height, rgba_bytes)` (straight alpha, packed).
#[pyfunction]
fn decode_png<'py>(py: Python<'py>, data: &[u8]) -> PyResult<(u32, u32, Bound<'py, PyBytes>)> {
    let img = cd::draw::scene::decode_png(data).map_err(to_py)?;
    Ok((img.width(), img.height(), PyBytes::new(py, img.data())))
}

/// Whether this process can draw on a GPU (built with CUDA, driver and device present).
#[pyfunction]
fn cuda_available() -> bool {
    cd::render::Renderer::cuda_available()
}

#[pymodule]
#[pyo3(name = "cudadraw")]
fn cudadraw_py(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CudaError", m.py().get_type::<CudaError>())?;
    m.add_class::<PyDrawList>()?;
    m.add_class::<PyBlurKind>()?;
    m.add_class::<PyImageId>()?;
    m.add_class::<PyFontId>()?;
    m.add_class::<PyRenderer>()?;
    m.add_function(wrap_pyfunction!(draw_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(render, m)?)?;
    m.add_function(wrap_pyfunction!(decode_png, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_available, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("HAS_CUDA", cfg!(feature = "cuda"))?;
    #[cfg(feature = "synthetic-nvmm")]
    {
        m.add_class::<synthetic::SyntheticNvmm>()?;
        m.add_function(wrap_pyfunction!(synthetic::_synthetic_nvmm, m)?)?;
    }
    Ok(())
}
