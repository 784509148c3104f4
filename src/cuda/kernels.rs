//! The kernels of one GPU: the modules of `kernels/*.cu` loaded once into the device's
//! primary context and shared by every renderer of the process on that GPU. A server
//! with dozens of pipelines (each with its own renderer and stream) loads them once;
//! loading is most of a renderer's first-call cost after the context itself.

use std::ffi::{CString, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use cudarc::driver::result as cu;
use cudarc::driver::sys;

use super::context::{CtxGuard, cuda};
use crate::error::{Error, Result};

/// The loaded modules and their kernels. Holds its own retain of the primary context,
/// so the modules outlive every renderer that uses them.
#[derive(Debug)]
pub(crate) struct Kernels {
    cu_dev: sys::CUdevice,
    ctx: sys::CUcontext,
    /// composite.cu, blur.cu, planar.cu.
    modules: [sys::CUmodule; 3],
    /// Composite kernels by phase content ([`Phase::kernel`](super::plan::Phase::kernel)):
    /// [plain, text/masks, overlay, text/masks/shapes, everything].
    pub(crate) composite: [sys::CUfunction; 5],
    pub(crate) pass1: sys::CUfunction,
    pub(crate) pass2: sys::CUfunction,
    /// NV12 / I420: blur passes 1 and 2, then the composites of boxes and redactions
    /// only, of everything but shapes, of everything.
    pub(crate) planar: [sys::CUfunction; 5],
}

// SAFETY: module and function handles are process-wide driver objects, usable from any
// thread (the driver serialises what needs it); nothing here is mutated after loading.
unsafe impl Send for Kernels {}
unsafe impl Sync for Kernels {}

/// The kernels of every GPU in use, by ordinal: weak, so the modules are unloaded (and
/// the context released) when the last renderer on that GPU is gone.
static LOADED: Mutex<Vec<(usize, Weak<Kernels>)>> = Mutex::new(Vec::new());

/// How many times kernels were loaded in this process, per GPU ordinal (the last slot
/// counts every ordinal beyond) ([`super::kernel_loads`]).
pub(crate) static LOADS: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];

impl Kernels {
    /// The kernels of GPU `ordinal`, loaded by the first caller. Renderers created at
    /// once on one GPU wait for a single load (the lock is process-wide: first loads on
    /// different GPUs wait for each other too, once per process and GPU).
    pub(crate) fn of(ordinal: usize) -> Result<Arc<Kernels>> {
        // The list holds no invariant a panic could break: use it even if poisoned.
        let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = loaded
            .iter()
            .find(|(o, _)| *o == ordinal)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(k);
        }
        let k = Arc::new(Kernels::load(ordinal)?);
        LOADS[ordinal.min(LOADS.len() - 1)].fetch_add(1, Ordering::Relaxed);
        loaded.retain(|(o, w)| *o != ordinal && w.strong_count() > 0);
        loaded.push((ordinal, Arc::downgrade(&k)));
        Ok(k)
    }

    fn load(ordinal: usize) -> Result<Kernels> {
        let cu_dev = cu::device::get(ordinal as i32).map_err(cuda("cuDeviceGet"))?;
        // SAFETY: cu_dev came from cuDeviceGet.
        let ctx =
            unsafe { cu::primary_ctx::retain(cu_dev) }.map_err(cuda("cuDevicePrimaryCtxRetain"))?;
        use std::ptr::null_mut;
        let mut k = Kernels {
            cu_dev,
            ctx,
            modules: [null_mut(); 3],
            composite: [null_mut(); 5],
            pass1: null_mut(),
            pass2: null_mut(),
            planar: [null_mut(); 5],
        };
        // On error `k` drops and unloads what was loaded so far.
        let _g = CtxGuard::push(ctx)?;
        // One module per kernel family. Each fatbin carries SASS for common GPUs (no
        // JIT on them) and the PTX for the rest.
        k.modules[0] = load_module(super::ptx::COMPOSITE_FATBIN)?;
        k.modules[1] = load_module(super::ptx::BLUR_FATBIN)?;
        k.modules[2] = load_module(super::ptx::PLANAR_FATBIN)?;
        let get = |module: sys::CUmodule, name: &str| -> Result<sys::CUfunction> {
            let cname = CString::new(name)
                .map_err(|_| Error::NoCudaDevice("kernel name contains a NUL byte".into()))?;
            // SAFETY: the module was loaded above.
            unsafe { cu::module::get_function(module, cname) }.map_err(cuda("cuModuleGetFunction"))
        };
        let [composite, blur, planar] = k.modules;
        k.composite = [
            get(composite, "cd_composite_plain")?,
            get(composite, "cd_composite_cover")?,
            get(composite, "cd_composite_overlay")?,
            get(composite, "cd_composite_shapes")?,
            get(composite, "cd_composite")?,
        ];
        k.pass1 = get(blur, "cd_blur_pass1")?;
        k.pass2 = get(blur, "cd_blur_pass2")?;
        k.planar = [
            get(planar, "cd_planar_blur1")?,
            get(planar, "cd_planar_blur2")?,
            get(planar, "cd_planar_composite_boxes")?,
            get(planar, "cd_planar_composite")?,
            get(planar, "cd_planar_composite_shapes")?,
        ];
        Ok(k)
    }
}

impl Drop for Kernels {
    fn drop(&mut self) {
        // Last user gone: no renderer launches these kernels any more.
        if let Ok(_g) = CtxGuard::push(self.ctx) {
            for m in self.modules {
                if !m.is_null() {
                    // SAFETY: loaded in this context, unloaded once.
                    let _ = unsafe { cu::module::unload(m) };
                }
            }
        }
        // SAFETY: balances the retain in `load`.
        let _ = unsafe { cu::primary_ctx::release(self.cu_dev) };
    }
}

fn load_module(fatbin: &[u8]) -> Result<sys::CUmodule> {
    // The driver wants the image 8-byte aligned; the embedded bytes may not be.
    let mut image = vec![0u64; fatbin.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut image)[..fatbin.len()].copy_from_slice(fatbin);
    // SAFETY: image is a complete fatbin that outlives the call; a context is current.
    unsafe { cu::module::load_data(image.as_ptr() as *const c_void) }
        .map_err(cuda("cuModuleLoadData (fatbin)"))
}
