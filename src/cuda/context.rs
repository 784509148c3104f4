//! CUDA contexts, the one way: primary contexts retained per GPU, a push/pop guard that
//! leaves the caller's (GStreamer's, the application's) context stack as it found it,
//! and the mapping of driver errors to [`Error::Cuda`]. Nothing else in the crate makes
//! a context current.

use cudarc::driver::result::DriverError;
use cudarc::driver::sys;

use crate::error::{Error, Result};

/// Maps a driver error to the crate error, naming what failed.
pub(crate) fn cuda(op: &'static str) -> impl FnOnce(DriverError) -> Error {
    move |source| Error::Cuda { op, source }
}

/// [`cuda`] for a raw `CUresult`.
pub(crate) fn check(op: &'static str, r: sys::CUresult) -> Result<()> {
    r.result().map_err(cuda(op))
}

/// A `CUcontext`, as a plain handle that other layers may hold and compare without
/// touching the driver. Null means "no context" (memory the driver attributes to none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContextHandle(usize);

impl ContextHandle {
    /// No context.
    pub const NONE: ContextHandle = ContextHandle(0);

    pub fn from_raw(ctx: sys::CUcontext) -> Self {
        ContextHandle(ctx as usize)
    }

    /// The raw `CUcontext` (for FFI with libraries that take one, e.g. libgstcuda).
    pub fn as_raw(self) -> *mut std::ffi::c_void {
        self.0 as *mut std::ffi::c_void
    }

    pub(crate) fn raw(self) -> sys::CUcontext {
        self.0 as sys::CUcontext
    }

    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// Makes a context current for a scope and restores the caller's afterwards.
pub(crate) struct CtxGuard;

impl CtxGuard {
    pub(crate) fn push(ctx: sys::CUcontext) -> Result<Self> {
        // SAFETY: ctx is a live context (every caller holds a retain on it).
        unsafe { sys::cuCtxPushCurrent_v2(ctx) }
            .result()
            .map_err(cuda("cuCtxPushCurrent"))?;
        Ok(CtxGuard)
    }
}

impl Drop for CtxGuard {
    fn drop(&mut self) {
        let mut old = std::ptr::null_mut();
        // SAFETY: pops the context pushed in `push`.
        let _ = unsafe { sys::cuCtxPopCurrent_v2(&mut old) };
    }
}

/// The primary context of `gpu` and its `CUdevice`, retained once for the life of the
/// process: contexts handed to GStreamer (pools, bins, the application keep them) and
/// allocations of synthetic batches may outlive every renderer.
pub(crate) fn retained_primary(gpu: u32) -> Result<(sys::CUcontext, sys::CUdevice)> {
    use std::sync::OnceLock;
    static CTX: OnceLock<Vec<OnceLock<(usize, sys::CUdevice)>>> = OnceLock::new();
    let slots = CTX.get_or_init(|| (0..64).map(|_| OnceLock::new()).collect());
    let slot = slots
        .get(gpu as usize)
        .ok_or_else(|| Error::NoCudaDevice(format!("GPU id {gpu} out of range")))?;
    if let Some(&(c, d)) = slot.get() {
        return Ok((c as sys::CUcontext, d));
    }
    let n = super::device_count();
    if n <= gpu as usize {
        return Err(Error::NoCudaDevice(format!(
            "no CUDA device {gpu} (this machine has {n})"
        )));
    }
    // SAFETY: plain driver calls with valid out-pointers; device_count() loaded and
    // initialised the driver.
    unsafe {
        let mut dev: sys::CUdevice = 0;
        check("cuDeviceGet", sys::cuDeviceGet(&mut dev, gpu as i32))?;
        let mut ctx: sys::CUcontext = std::ptr::null_mut();
        check(
            "cuDevicePrimaryCtxRetain",
            sys::cuDevicePrimaryCtxRetain(&mut ctx, dev),
        )?;
        // A racing thread may have won: its retain is kept (the primary context is the
        // same object; one extra retain is harmless).
        let &(c, d) = slot.get_or_init(|| (ctx as usize, dev));
        Ok((c as sys::CUcontext, d))
    }
}

/// The process-lifetime primary context of `gpu` as a handle.
pub fn primary_context(gpu: u32) -> Result<ContextHandle> {
    retained_primary(gpu).map(|(c, _)| ContextHandle::from_raw(c))
}

/// `CUdevice` of `gpu` (its ordinal on every driver seen, but asked, not assumed).
pub(crate) fn device_handle(gpu: u32) -> Result<i32> {
    retained_primary(gpu).map(|(_, d)| d)
}

static CONTEXT_SYNCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Context-wide synchronisations made so far (the foreign-context staging path only):
/// tests check that buffers drawn in place make none.
#[doc(hidden)]
pub fn context_synchronizations() -> u64 {
    CONTEXT_SYNCS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Waits for all work of context `ctx` (nothing if none). Drains every stream of the
/// context: only for the rare copy between contexts, where no stream orders the work.
pub(crate) fn synchronize(ctx: ContextHandle) -> Result<()> {
    if ctx.is_none() {
        return Ok(());
    }
    CONTEXT_SYNCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _g = CtxGuard::push(ctx.raw())?;
    // SAFETY: a context is current (pushed above).
    check("cuCtxSynchronize", unsafe { sys::cuCtxSynchronize() })
}

/// The context owning device pointer `ptr` ([`ContextHandle::NONE`] if the driver
/// names none: such memory is usable from any context).
pub fn pointer_context(ptr: u64) -> Result<ContextHandle> {
    if !super::driver_present() {
        return Err(Error::NoCudaDevice("no libcuda".into()));
    }
    let mut owner: sys::CUcontext = std::ptr::null_mut();
    // SAFETY: valid out-pointer of the attribute's type (CUcontext); the driver is
    // loaded (checked above).
    unsafe {
        check(
            "cuPointerGetAttribute(CONTEXT)",
            sys::cuPointerGetAttribute(
                &mut owner as *mut sys::CUcontext as *mut std::ffi::c_void,
                sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_CONTEXT,
                ptr,
            ),
        )?;
    }
    Ok(ContextHandle::from_raw(owner))
}
