//! Test support for GPU hosts without DeepStream (feature `synthetic-nvmm`, on in the
//! GPU bundle's wheel only): DeepStream-identical NvBufSurface batches in CUDA memory,
//! so that `draw_buffer`'s NVMM path is exercised end to end from Python.

use cd::nvmm::synthetic::{SyntheticConfig, SyntheticPool, download_frame};
use cd::nvmm::{Abi, MemType, NvmmBatch, NvmmOptions};
use gstreamer as gst;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::to_py;

/// A synthetic NVMM batch: `address` is its GstBuffer (what `hash(gst_buffer)` gives a
/// pyds probe), `download()` reads its frames back as packed RGBA bytes.
#[pyclass(module = "cudadraw", name = "_SyntheticNvmm", frozen)]
pub(crate) struct SyntheticNvmm {
    buffer: gst::Buffer,
    abi: Abi,
    width: u32,
    height: u32,
    // The pool owns the allocations' recycling; kept alive with the batch.
    _pool: SyntheticPool,
}

#[pymethods]
impl SyntheticNvmm {
    #[getter]
    fn address(&self) -> usize {
        self.buffer.as_ptr() as usize
    }

    /// The `NvBufSurface*` inside the buffer (what a C plugin gets from mapping it),
    /// valid while this object lives.
    #[getter]
    fn descriptor_address(&self) -> PyResult<usize> {
        let map = self
            .buffer
            .map_readable()
            .map_err(|_| PyValueError::new_err("cannot map the synthetic batch"))?;
        // The descriptor bytes are owned by the buffer's memory (a Vec that never
        // moves), so the address outlives this mapping.
        Ok(map.as_ptr() as usize)
    }

    fn download<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        // SAFETY: a batch made by SyntheticPool: descriptor and frames are live while
        // `self.buffer` is.
        let batch = unsafe {
            NvmmBatch::from_buffer(
                &self.buffer,
                &NvmmOptions {
                    abi: Some(self.abi),
                    ..Default::default()
                },
            )
        }
        .map_err(to_py)?;
        let row = self.width as usize * 4;
        let mut out = Vec::new();
        for f in batch.frames() {
            let mut v = vec![0u8; row * self.height as usize];
            download_frame(f, &mut v, row).map_err(to_py)?;
            out.push(PyBytes::new(py, &v));
        }
        Ok(out)
    }
}

/// `_synthetic_nvmm(width, height, frames, mem="device", abi="ds7")`: uploads packed
/// RGBA `frames` (bytes, 4 * width * height each) into a new synthetic batch.
#[pyfunction]
#[pyo3(signature = (width, height, frames, mem = "device", abi = "ds7"))]
pub(crate) fn _synthetic_nvmm(
    width: u32,
    height: u32,
    frames: Vec<Vec<u8>>,
    mem: &str,
    abi: &str,
) -> PyResult<SyntheticNvmm> {
    gst::init().map_err(|e| PyValueError::new_err(format!("GStreamer: {e}")))?;
    let mut cfg = SyntheticConfig::new(width, height);
    cfg.mem_type = match mem {
        "device" => MemType::CudaDevice,
        "pinned" => MemType::CudaPinned,
        "unified" => MemType::CudaUnified,
        _ => return Err(PyValueError::new_err("mem: device, pinned or unified")),
    };
    cfg.abi = Abi::parse(abi).ok_or_else(|| PyValueError::new_err("abi: ds7 or ds8"))?;
    cfg.batch_size =
        u32::try_from(frames.len().max(1)).map_err(|_| PyValueError::new_err("too many frames"))?;
    let pool = SyntheticPool::new(cfg).map_err(to_py)?;
    let slices: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
    let buffer = pool.upload(&slices, width as usize * 4).map_err(to_py)?;
    Ok(SyntheticNvmm {
        buffer,
        abi: cfg.abi,
        width,
        height,
        _pool: pool,
    })
}
