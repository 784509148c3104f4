//! Arrays from Python without copies: the NumPy array interface (`__array_interface__`)
//! for host memory and `__cuda_array_interface__` (CuPy, PyTorch, Numba) for device
//! memory. Both describe the same things (address, read-only flag, shape, strides,
//! element type), so one parser serves both; the CUDA one adds a stream.
//!
//! Why not the buffer protocol: it is part of the limited API only from Python 3.11,
//! and the wheel is abi3 for 3.9+. The array interface is a plain dict, readable
//! through the limited API, and NumPy keeps the memory alive (and refuses to resize
//! the array) while we hold a reference to the array object.

use cd::{FrameInfo, PixelFormat};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// One frame of an array: address of pixel (0, 0) and layout.
#[derive(Debug, Clone, Copy)]
pub struct ArrayFrame {
    pub ptr: u64,
    pub info: FrameInfo,
}

/// What a Python array says about its memory.
#[derive(Debug)]
pub struct ArrayView {
    /// One entry per frame: (H, W, 4) gives one, (N, H, W, 4) gives N.
    pub frames: Vec<ArrayFrame>,
    /// `__cuda_array_interface__` only: the stream the producer works on (`None`: the
    /// producer says no synchronisation is needed, or gave no stream).
    pub stream: Option<u64>,
}

/// Where an array's pixels are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Host,
    Device,
}

/// The interface dict of `obj`, and where its memory is. Device arrays win: PyTorch
/// CPU tensors have neither attribute usable here, CUDA tensors only the CUDA one.
pub fn interface<'py>(obj: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyDict>, Place)> {
    // getattr may raise for objects that have the attribute but cannot export it
    // (a PyTorch CPU tensor raises on __cuda_array_interface__): only "absent" falls
    // through to the next interface.
    if let Some(d) = obj.getattr_opt("__cuda_array_interface__")? {
        let d = d
            .cast_into::<PyDict>()
            .map_err(|_| PyTypeError::new_err("__cuda_array_interface__ is not a dict"))?;
        return Ok((d, Place::Device));
    }
    if let Some(d) = obj.getattr_opt("__array_interface__")? {
        let d = d
            .cast_into::<PyDict>()
            .map_err(|_| PyTypeError::new_err("__array_interface__ is not a dict"))?;
        return Ok((d, Place::Host));
    }
    Err(PyTypeError::new_err(format!(
        "expected a NumPy array or a CUDA array (__cuda_array_interface__: CuPy, PyTorch), \
         got {}",
        obj.get_type().name()?
    )))
}

fn item<'py>(d: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(d.get_item(key)?.filter(|v| !v.is_none()))
}

fn bad(msg: impl Into<String>) -> PyErr {
    PyValueError::new_err(msg.into())
}

/// Parses an interface dict of an (H, W, 4) or (N, H, W, 4) uint8 array in `format`.
/// `what` names the array in errors ("frame 2", "image").
pub fn parse(
    d: &Bound<'_, PyDict>,
    place: Place,
    format: PixelFormat,
    what: &str,
    allow_readonly: bool,
) -> PyResult<ArrayView> {
    let typestr: String = item(d, "typestr")?
        .ok_or_else(|| bad(format!("{what}: array interface without typestr")))?
        .extract()?;
    // '|u1' (NumPy, CuPy, PyTorch) or '<u1' / '>u1' (byte order is moot for one byte).
    if !matches!(typestr.as_str(), "|u1" | "<u1" | ">u1") {
        return Err(bad(format!(
            "{what}: dtype must be uint8 (typestr '|u1'), got '{typestr}'"
        )));
    }
    let shape: Vec<i64> = item(d, "shape")?
        .ok_or_else(|| bad(format!("{what}: array interface without shape")))?
        .extract()?;
    if !(shape.len() == 3 || shape.len() == 4) || shape.last() != Some(&4) {
        return Err(bad(format!(
            "{what}: shape must be (H, W, 4) or (N, H, W, 4), got {shape:?}"
        )));
    }
    if shape.iter().any(|&s| s < 0) {
        return Err(bad(format!("{what}: negative extent in shape {shape:?}")));
    }
    let data = item(d, "data")?.ok_or_else(|| {
        bad(format!(
            "{what}: the array exports no data pointer (an array over a Python buffer object?)"
        ))
    })?;
    let data = data.cast_into::<PyTuple>().map_err(|_| {
        bad(format!(
            "{what}: 'data' of the array interface is not a tuple"
        ))
    })?;
    let (ptr, readonly): (u64, bool) = data.extract()?;
    if readonly && !allow_readonly {
        return Err(bad(format!(
            "{what}: the array is read-only (make it writable, e.g. numpy's arr.copy())"
        )));
    }
    if let Some(off) = item(d, "offset")? {
        // NumPy's interface may carry an offset into a buffer object; with an integer
        // data pointer it is documented to be absent. Refuse rather than guess.
        let off: i64 = off.extract()?;
        if off != 0 {
            return Err(bad(format!(
                "{what}: array interface offsets are not supported"
            )));
        }
    }
    // Element (byte) strides; None means C-contiguous.
    let strides: Vec<i64> = match item(d, "strides")? {
        Some(s) => s.extract()?,
        None => {
            let mut st = vec![1i64; shape.len()];
            for i in (0..shape.len() - 1).rev() {
                st[i] = st[i + 1].saturating_mul(shape[i + 1]);
            }
            st
        }
    };
    if strides.len() != shape.len() {
        return Err(bad(format!(
            "{what}: strides {strides:?} do not match shape {shape:?}"
        )));
    }
    let k = shape.len();
    let (h, w) = (shape[k - 3], shape[k - 2]);
    let (row, px, ch) = (strides[k - 3], strides[k - 2], strides[k - 1]);
    if ch != 1 || (px != 4 && w > 1) {
        return Err(bad(format!(
            "{what}: the 4 channels of a pixel must be contiguous bytes and pixels 4 bytes \
             apart (strides (.., 4, 1)), got strides {strides:?}"
        )));
    }
    if h > 1 && row <= 0 {
        return Err(bad(format!(
            "{what}: row stride {row} is not positive (flipped arrays are not drawn)"
        )));
    }
    let pitch = if h > 1 {
        row as usize
    } else {
        (w.max(1) * 4) as usize
    };
    if ptr == 0 && h * w > 0 {
        return Err(bad(format!("{what}: null data pointer")));
    }
    let n = if k == 4 { shape[0] } else { 1 };
    let batch = if k == 4 { strides[0] } else { 0 };
    if n > 1 && batch <= 0 {
        return Err(bad(format!("{what}: batch stride {batch} is not positive")));
    }
    let (w, h) = (
        u32::try_from(w).map_err(|_| bad(format!("{what}: width {w} too large")))?,
        u32::try_from(h).map_err(|_| bad(format!("{what}: height {h} too large")))?,
    );
    let info = FrameInfo::new(w, h, pitch, format);
    let mut frames = Vec::with_capacity(n as usize);
    for i in 0..n as u64 {
        let at = ptr
            .checked_add(i * batch as u64)
            .ok_or_else(|| bad(format!("{what}: address overflow")))?;
        frames.push(ArrayFrame { ptr: at, info });
    }
    let stream = if place == Place::Device {
        match item(d, "stream")? {
            Some(s) => {
                let s: u64 = s.extract()?;
                // The protocol forbids 0 (ambiguous between the legacy and per-thread
                // default streams).
                if s == 0 {
                    return Err(bad(format!(
                        "{what}: __cuda_array_interface__ stream 0 is not allowed by the protocol"
                    )));
                }
                Some(s)
            }
            None => None,
        }
    } else {
        None
    };
    Ok(ArrayView { frames, stream })
}

/// Refuses frames that share bytes before any `&mut` slice exists over them: two
/// mutable slices over the same memory would be undefined behaviour whatever the
/// renderer checks later.
pub fn check_disjoint(frames: &[ArrayFrame]) -> PyResult<()> {
    let mut spans: Vec<(u64, u64, usize)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (f.ptr, f.ptr.saturating_add(f.info.min_len() as u64), i))
        .collect();
    spans.sort_unstable();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            let (a, b) = (w[0].2.min(w[1].2), w[0].2.max(w[1].2));
            return Err(bad(format!(
                "frames {a} and {b} of the batch overlap in memory"
            )));
        }
    }
    Ok(())
}

/// DLPack (`__dlpack__`, legacy unversioned capsules), for producers that export no
/// array interface (JAX, TensorFlow...). The consumed tensor is held until the draw is
/// over, then released through its deleter, as the protocol asks of consumers.
pub mod dlpack {
    use std::ffi::{CStr, c_void};

    use cd::{FrameInfo, PixelFormat};
    use pyo3::exceptions::{PyTypeError, PyValueError};
    use pyo3::prelude::*;

    use super::{ArrayFrame, ArrayView, Place};

    #[repr(C)]
    struct DLDevice {
        device_type: i32,
        device_id: i32,
    }

    #[repr(C)]
    struct DLDataType {
        code: u8,
        bits: u8,
        lanes: u16,
    }

    #[repr(C)]
    struct DLTensor {
        data: *mut c_void,
        device: DLDevice,
        ndim: i32,
        dtype: DLDataType,
        shape: *mut i64,
        strides: *mut i64,
        byte_offset: u64,
    }

    #[repr(C)]
    struct DLManagedTensor {
        dl_tensor: DLTensor,
        manager_ctx: *mut c_void,
        deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
    }

    const KDL_CPU: i32 = 1;
    const KDL_CUDA: i32 = 2;
    const KDL_CUDA_HOST: i32 = 3;
    const KDL_CUDA_MANAGED: i32 = 13;
    const KDL_UINT: u8 = 1;
    const NAME: &CStr = c"dltensor";
    const USED: &CStr = c"used_dltensor";

    /// A consumed DLPack tensor: its deleter runs on drop (with the GIL: producers'
    /// deleters release Python objects).
    pub struct Held {
        managed: *mut DLManagedTensor,
        _capsule: Py<PyAny>,
    }

    impl Drop for Held {
        fn drop(&mut self) {
            // SAFETY: `managed` came from a live "dltensor" capsule that we renamed
            // "used_dltensor" (so its destructor no longer frees it): we own it and
            // release it once, here.
            unsafe {
                if let Some(d) = (*self.managed).deleter {
                    d(self.managed);
                }
            }
        }
    }

    fn bad(msg: String) -> PyErr {
        PyValueError::new_err(msg)
    }

    /// Consumes `obj.__dlpack__()`: its frames, where they are, and the hold that keeps
    /// them alive. On CUDA the producer is asked to make the data ready on the legacy
    /// default stream (1), where the drawing is then queued.
    pub fn consume(
        obj: &Bound<'_, PyAny>,
        format: PixelFormat,
        what: &str,
    ) -> PyResult<(ArrayView, Place, Held)> {
        let (dev_type, _dev_id): (i32, i32) = obj.call_method0("__dlpack_device__")?.extract()?;
        let place = match dev_type {
            KDL_CPU => Place::Host,
            KDL_CUDA | KDL_CUDA_HOST | KDL_CUDA_MANAGED => Place::Device,
            t => {
                return Err(bad(format!(
                    "{what}: DLPack device type {t} is not drawable"
                )));
            }
        };
        let capsule = if place == Place::Device {
            let kw = pyo3::types::PyDict::new(obj.py());
            kw.set_item("stream", 1)?;
            obj.call_method("__dlpack__", (), Some(&kw))?
        } else {
            obj.call_method0("__dlpack__")?
        };
        // SAFETY: a valid object pointer; IsValid only inspects it.
        if unsafe { pyo3::ffi::PyCapsule_IsValid(capsule.as_ptr(), NAME.as_ptr()) } != 1 {
            return Err(PyTypeError::new_err(format!(
                "{what}: __dlpack__ did not return an unused 'dltensor' capsule"
            )));
        }
        // SAFETY: checked above to be a "dltensor" capsule, whose pointer is a
        // DLManagedTensor by the protocol.
        let managed = unsafe { pyo3::ffi::PyCapsule_GetPointer(capsule.as_ptr(), NAME.as_ptr()) }
            as *mut DLManagedTensor;
        if managed.is_null() {
            return Err(PyTypeError::new_err(format!(
                "{what}: empty DLPack capsule"
            )));
        }
        // Ours from here on (renamed so the capsule's destructor leaves it alone).
        // SAFETY: a valid capsule; the new name is a static string.
        unsafe { pyo3::ffi::PyCapsule_SetName(capsule.as_ptr(), USED.as_ptr()) };
        let held = Held {
            managed,
            _capsule: capsule.unbind(),
        };
        // SAFETY: the producer keeps the DLTensor and its shape/strides arrays alive
        // until its deleter runs (when `held` drops).
        let t = unsafe { &(*managed).dl_tensor };
        if t.dtype.code != KDL_UINT || t.dtype.bits != 8 || t.dtype.lanes != 1 {
            return Err(bad(format!(
                "{what}: dtype must be uint8, got DLPack code {} bits {} lanes {}",
                t.dtype.code, t.dtype.bits, t.dtype.lanes
            )));
        }
        if !(t.ndim == 3 || t.ndim == 4) || t.shape.is_null() {
            return Err(bad(format!(
                "{what}: shape must be (H, W, 4) or (N, H, W, 4), got {} dims",
                t.ndim
            )));
        }
        let k = t.ndim as usize;
        // SAFETY: `ndim` extents (and strides when not null), per the protocol.
        let shape = unsafe { std::slice::from_raw_parts(t.shape, k) }.to_vec();
        let strides: Vec<i64> = if t.strides.is_null() {
            let mut st = vec![1i64; k];
            for i in (0..k - 1).rev() {
                st[i] = st[i + 1].saturating_mul(shape[i + 1]);
            }
            st
        } else {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts(t.strides, k) }.to_vec()
        };
        if shape[k - 1] != 4 || shape.iter().any(|&s| s < 0) {
            return Err(bad(format!(
                "{what}: shape must be (H, W, 4) or (N, H, W, 4), got {shape:?}"
            )));
        }
        let (h, w) = (shape[k - 3], shape[k - 2]);
        let (row, px, ch) = (strides[k - 3], strides[k - 2], strides[k - 1]);
        if ch != 1 || (px != 4 && w > 1) {
            return Err(bad(format!(
                "{what}: the 4 channels of a pixel must be contiguous bytes and pixels 4 bytes \
                 apart (strides (.., 4, 1)), got strides {strides:?}"
            )));
        }
        if h > 1 && row <= 0 {
            return Err(bad(format!("{what}: row stride {row} is not positive")));
        }
        let pitch = if h > 1 {
            row as usize
        } else {
            (w.max(1) * 4) as usize
        };
        let ptr = (t.data as u64)
            .checked_add(t.byte_offset)
            .ok_or_else(|| bad(format!("{what}: address overflow")))?;
        if ptr == 0 && h * w > 0 {
            return Err(bad(format!("{what}: null data pointer")));
        }
        let n = if k == 4 { shape[0] } else { 1 };
        let batch = if k == 4 { strides[0] } else { 0 };
        if n > 1 && batch <= 0 {
            return Err(bad(format!("{what}: batch stride {batch} is not positive")));
        }
        let w = u32::try_from(w).map_err(|_| bad(format!("{what}: width too large")))?;
        let h = u32::try_from(h).map_err(|_| bad(format!("{what}: height too large")))?;
        let info = FrameInfo::new(w, h, pitch, format);
        let mut frames = Vec::with_capacity(n as usize);
        for i in 0..n as u64 {
            let at = ptr
                .checked_add(i * batch as u64)
                .ok_or_else(|| bad(format!("{what}: address overflow")))?;
            frames.push(ArrayFrame { ptr: at, info });
        }
        let stream = (place == Place::Device).then_some(1);
        Ok((ArrayView { frames, stream }, place, held))
    }
}
