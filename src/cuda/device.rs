//! One GPU: its primary context, stream, kernels, reusable buffers and image cache.
//! Raw driver calls through cudarc's `result`/`sys` layers: frames are foreign device
//! pointers, and every buffer here is grow-only, so steady-state calls allocate nothing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ffi::{CString, c_void};

use cudarc::driver::result::{self as cu, DriverError};
use cudarc::driver::sys;

use super::commands::{CdBlurJob, CdCmd, CdFrame, CdImage, CdRegion, CdTileItem};
use super::plan::{Plan, THREADS};
use crate::draw::{ImageId, ImageStore};
use crate::error::{Error, Result};

/// Maps a driver error to the crate error, naming what failed.
pub(crate) fn cuda(op: &'static str) -> impl FnOnce(DriverError) -> Error {
    move |source| Error::Cuda { op, source }
}

/// Makes a context current for a scope and restores the caller's afterwards, so
/// cudadraw never disturbs GStreamer's or the application's own context stack.
pub(crate) struct CtxGuard;

impl CtxGuard {
    pub(crate) fn push(ctx: sys::CUcontext) -> Result<Self> {
        // SAFETY: ctx is a retained primary context, valid until the Device drops.
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

/// Device memory that only grows.
#[derive(Debug, Default)]
struct DevBuf {
    ptr: sys::CUdeviceptr,
    cap: usize,
}

impl DevBuf {
    /// Ensures `len` bytes. Growing frees the old buffer, which is only safe once the
    /// stream no longer uses it: callers wait for the previous submission first.
    fn reserve(&mut self, len: usize) -> Result<sys::CUdeviceptr> {
        if len > self.cap {
            let cap = len.next_power_of_two().max(4096);
            if self.ptr != 0 {
                // SAFETY: allocated by malloc_sync below, no work pending on it.
                unsafe { cu::free_sync(self.ptr) }.map_err(cuda("cuMemFree"))?;
                self.ptr = 0;
                self.cap = 0;
            }
            // SAFETY: plain allocation in the current context.
            self.ptr = unsafe { cu::malloc_sync(cap) }.map_err(cuda("cuMemAlloc"))?;
            self.cap = cap;
        }
        Ok(self.ptr)
    }

    fn free(&mut self) {
        if self.ptr != 0 {
            // SAFETY: allocated by malloc_sync; the owner synchronised before dropping.
            let _ = unsafe { cu::free_sync(self.ptr) };
            self.ptr = 0;
            self.cap = 0;
        }
    }
}

/// Pinned host staging memory that only grows.
#[derive(Debug)]
struct PinnedBuf {
    ptr: *mut u8,
    cap: usize,
}

impl Default for PinnedBuf {
    fn default() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            cap: 0,
        }
    }
}

impl PinnedBuf {
    fn reserve(&mut self, len: usize) -> Result<&mut [u8]> {
        if len > self.cap {
            let cap = len.next_power_of_two().max(4096);
            self.free();
            // SAFETY: page-locked allocation; freed in `free`.
            let p = unsafe { cu::malloc_host(cap, 0) }.map_err(cuda("cuMemHostAlloc"))?;
            self.ptr = p as *mut u8;
            self.cap = cap;
        }
        // SAFETY: ptr is valid for cap >= len bytes and only borrowed through &mut self.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, len) })
    }

    fn free(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: allocated by malloc_host; no copy from it is pending.
            let _ = unsafe { cu::free_host(self.ptr as *mut c_void) };
            self.ptr = std::ptr::null_mut();
            self.cap = 0;
        }
    }
}

/// Byte offsets of the sections of one call's upload.
#[derive(Debug, Default, Clone, Copy)]
struct Layout {
    frames: usize,
    cmds: usize,
    weights: usize,
    images: usize,
    boxes: usize,
    items: usize,
    jobs: usize,
    total: usize,
}

fn align16(n: usize) -> usize {
    n.div_ceil(16) * 16
}

/// State of one GPU.
#[derive(Debug)]
pub(crate) struct Device {
    #[allow(dead_code)]
    pub(crate) ordinal: usize,
    cu_dev: sys::CUdevice,
    pub(crate) ctx: sys::CUcontext,
    pub(crate) stream: sys::CUstream,
    module: sys::CUmodule,
    f_composite: sys::CUfunction,
    f_composite_plain: sys::CUfunction,
    f_pass1: sys::CUfunction,
    f_pass2: sys::CUfunction,
    staging: PinnedBuf,
    upload: DevBuf,
    scratch: DevBuf,
    /// Overlay images on this device by (store id, handle): uploaded once.
    images: HashMap<(u64, u32), (DevBuf, i32, i32)>,
    table: Vec<CdImage>,
    /// Recorded after each submission; waited on before staging is reused.
    done: sys::CUevent,
    pending: bool,
    /// Events around the GPU work of a submission (upload + launches), when timing is on.
    timing: Option<(sys::CUevent, sys::CUevent)>,
    timed: bool,
}

// SAFETY: the driver handles are process-wide and usable from any thread; every use
// pushes the context first. The staging pointer is owned and only used via &mut.
unsafe impl Send for Device {}

impl Device {
    /// Retains device `ordinal`'s primary context, creates a stream and loads the PTX.
    pub(crate) fn new(ordinal: usize) -> Result<Self> {
        let cu_dev = cu::device::get(ordinal as i32).map_err(cuda("cuDeviceGet"))?;
        // SAFETY: cu_dev came from cuDeviceGet.
        let ctx =
            unsafe { cu::primary_ctx::retain(cu_dev) }.map_err(cuda("cuDevicePrimaryCtxRetain"))?;
        let mut dev = Device {
            ordinal,
            cu_dev,
            ctx,
            stream: std::ptr::null_mut(),
            module: std::ptr::null_mut(),
            f_composite: std::ptr::null_mut(),
            f_composite_plain: std::ptr::null_mut(),
            f_pass1: std::ptr::null_mut(),
            f_pass2: std::ptr::null_mut(),
            staging: PinnedBuf::default(),
            upload: DevBuf::default(),
            scratch: DevBuf::default(),
            images: HashMap::new(),
            table: Vec::new(),
            done: std::ptr::null_mut(),
            pending: false,
            timing: None,
            timed: false,
        };
        // On error `dev` drops and releases what was acquired so far.
        let _g = CtxGuard::push(ctx)?;
        dev.stream =
            cu::stream::create(cu::stream::StreamKind::Default).map_err(cuda("cuStreamCreate"))?;
        dev.done = cu::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING)
            .map_err(cuda("cuEventCreate"))?;
        // The fatbin carries SASS for common GPUs (no JIT on them) and the PTX for the
        // rest. The driver reads it through 8-byte fields: hand it an aligned copy.
        let fatbin = super::ptx::DRAW_FATBIN;
        let mut image = vec![0u64; fatbin.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut image)[..fatbin.len()].copy_from_slice(fatbin);
        // SAFETY: image is a complete fatbin that outlives the call.
        dev.module = unsafe { cu::module::load_data(image.as_ptr() as *const c_void) }
            .map_err(cuda("cuModuleLoadData (fatbin)"))?;
        let get = |name: &str| -> Result<sys::CUfunction> {
            let cname = CString::new(name)
                .map_err(|_| Error::NoCudaDevice("kernel name contains a NUL byte".into()))?;
            // SAFETY: module was loaded above.
            unsafe { cu::module::get_function(dev.module, cname) }
                .map_err(cuda("cuModuleGetFunction"))
        };
        dev.f_composite = get("cd_composite")?;
        dev.f_composite_plain = get("cd_composite_plain")?;
        dev.f_pass1 = get("cd_blur_pass1")?;
        dev.f_pass2 = get("cd_blur_pass2")?;
        Ok(dev)
    }

    /// Waits for the previous submission, so staging and buffers may be reused.
    pub(crate) fn wait(&mut self) -> Result<()> {
        if self.pending {
            let _g = CtxGuard::push(self.ctx)?;
            // SAFETY: done is a live event of this context.
            unsafe { cu::event::synchronize(self.done) }.map_err(cuda("cuEventSynchronize"))?;
            self.pending = false;
        }
        Ok(())
    }

    /// Turns GPU timing of submissions on or off.
    pub(crate) fn set_timing(&mut self, on: bool) -> Result<()> {
        if on && self.timing.is_none() {
            let _g = CtxGuard::push(self.ctx)?;
            let f = sys::CUevent_flags::CU_EVENT_DEFAULT;
            let a = cu::event::create(f).map_err(cuda("cuEventCreate"))?;
            let b = cu::event::create(f).map_err(cuda("cuEventCreate"))?;
            self.timing = Some((a, b));
        }
        if !on {
            self.destroy_timing();
        }
        Ok(())
    }

    fn destroy_timing(&mut self) {
        if let Some((a, b)) = self.timing.take()
            && let Ok(_g) = CtxGuard::push(self.ctx)
        {
            // SAFETY: events of this context, destroyed once.
            unsafe {
                let _ = cu::event::destroy(a);
                let _ = cu::event::destroy(b);
            }
        }
        self.timed = false;
    }

    /// GPU milliseconds of the last timed submission (waits for it).
    pub(crate) fn last_gpu_ms(&mut self) -> Result<Option<f32>> {
        match self.timing {
            Some((a, b)) if self.timed => {
                let _g = CtxGuard::push(self.ctx)?;
                // SAFETY: both events were recorded on the submission's stream.
                unsafe {
                    cu::event::synchronize(b).map_err(cuda("cuEventSynchronize"))?;
                    cu::event::elapsed(a, b)
                        .map(Some)
                        .map_err(cuda("cuEventElapsedTime"))
                }
            }
            _ => Ok(None),
        }
    }

    /// Uploads (once) every image the plan's overlays use and fills the image table.
    fn prepare_images(&mut self, plan: &Plan, store: &ImageStore) -> Result<()> {
        self.table.clear();
        for c in &plan.cmds {
            if c.op != super::commands::CD_OP_OVERLAY {
                continue;
            }
            let id = c.param;
            if self.table.len() <= id as usize {
                self.table.resize(id as usize + 1, CdImage::default());
            }
            if self.table[id as usize].ptr != 0 {
                continue;
            }
            let key = (store.id(), id);
            let (buf, w, h) = match self.images.entry(key) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => {
                    let img = store.get(ImageId(id)).ok_or(Error::UnknownImage {
                        frame: 0,
                        op: 0,
                        image: id,
                    })?;
                    let mut buf = DevBuf::default();
                    let ptr = buf.reserve(img.data().len())?;
                    // SAFETY: buf holds at least data.len() bytes; synchronous copy.
                    if let Err(e) = unsafe { cu::memcpy_htod_sync(ptr, img.data()) } {
                        buf.free();
                        return Err(cuda("cuMemcpyHtoD (overlay image)")(e));
                    }
                    v.insert((buf, img.width() as i32, img.height() as i32))
                }
            };
            self.table[id as usize] = CdImage {
                ptr: buf.ptr,
                width: *w,
                height: *h,
            };
        }
        Ok(())
    }

    /// Enqueues the whole plan on `stream` (this device's stream unless the caller
    /// gave one): one upload, then per phase at most four launches. Does not wait.
    pub(crate) fn submit(
        &mut self,
        plan: &Plan,
        weights: &[u32],
        store: &ImageStore,
        stream: Option<sys::CUstream>,
    ) -> Result<()> {
        if plan.frames.is_empty() || plan.phases.is_empty() {
            return Ok(());
        }
        self.wait()?;
        let _g = CtxGuard::push(self.ctx)?;
        self.prepare_images(plan, store)?;
        let stream = stream.unwrap_or(self.stream);

        let mut l = Layout::default();
        let mut at = 0usize;
        let mut section = |bytes: usize| {
            let start = at;
            at = align16(at + bytes);
            start
        };
        l.frames = section(size_of_val(plan.frames.as_slice()));
        l.cmds = section(size_of_val(plan.cmds.as_slice()));
        l.weights = section(size_of_val(weights));
        l.images = section(size_of_val(self.table.as_slice()).max(16));
        l.boxes = section(size_of_val(plan.boxes.as_slice()));
        l.items = section(size_of_val(plan.items.as_slice()));
        l.jobs = section(size_of_val(plan.jobs.as_slice()));
        l.total = at;

        let staging = self.staging.reserve(l.total)?;
        let put = |dst: &mut [u8], off: usize, src: &[u8]| {
            dst[off..off + src.len()].copy_from_slice(src);
        };
        put(
            staging,
            l.frames,
            bytemuck::cast_slice::<CdFrame, u8>(&plan.frames),
        );
        put(
            staging,
            l.cmds,
            bytemuck::cast_slice::<CdCmd, u8>(&plan.cmds),
        );
        put(staging, l.weights, bytemuck::cast_slice::<u32, u8>(weights));
        put(
            staging,
            l.images,
            bytemuck::cast_slice::<CdImage, u8>(&self.table),
        );
        put(
            staging,
            l.boxes,
            bytemuck::cast_slice::<CdRegion, u8>(&plan.boxes),
        );
        put(
            staging,
            l.items,
            bytemuck::cast_slice::<CdTileItem, u8>(&plan.items),
        );
        put(
            staging,
            l.jobs,
            bytemuck::cast_slice::<CdBlurJob, u8>(&plan.jobs),
        );

        let base = self.upload.reserve(l.total)?;
        let scratch = self.scratch.reserve(plan.scratch_bytes.max(16) as usize)?;
        self.timed = false;
        if let Some((t0, _)) = self.timing {
            // SAFETY: event of this context, stream of this context.
            unsafe { cu::event::record(t0, stream) }.map_err(cuda("cuEventRecord"))?;
        }
        // SAFETY: staging is pinned and not touched again until `done` has fired.
        unsafe {
            sys::cuMemcpyHtoDAsync_v2(base, self.staging.ptr as *const c_void, l.total, stream)
        }
        .result()
        .map_err(cuda("cuMemcpyHtoDAsync (commands)"))?;

        let mut frames = base + l.frames as u64;
        let mut cmds = base + l.cmds as u64;
        let mut wts = base + l.weights as u64;
        let mut images = base + l.images as u64;
        let mut scratch_arg = scratch;
        for ph in &plan.phases {
            if ph.jobs.1 > 0 {
                if ph.zero_bytes > 0 {
                    // SAFETY: scratch holds scratch_bytes >= zero_bytes.
                    unsafe { cu::memset_d8_async(scratch, 0, ph.zero_bytes as usize, stream) }
                        .map_err(cuda("cuMemsetD8Async (pixelate sums)"))?;
                }
                let mut jobs = base + (l.jobs + ph.jobs.0 as usize * size_of::<CdBlurJob>()) as u64;
                let mut njobs = ph.jobs.1;
                let mut args: [*mut c_void; 6] = [
                    (&mut frames) as *mut u64 as *mut c_void,
                    (&mut cmds) as *mut u64 as *mut c_void,
                    (&mut wts) as *mut u64 as *mut c_void,
                    (&mut jobs) as *mut u64 as *mut c_void,
                    (&mut njobs) as *mut u32 as *mut c_void,
                    (&mut scratch_arg) as *mut u64 as *mut c_void,
                ];
                // SAFETY: argument types match the kernels' signatures in draw.cu;
                // every pointer lies in buffers that outlive the stream's work.
                unsafe {
                    cu::launch_kernel(
                        self.f_pass1,
                        (ph.blocks1, 1, 1),
                        (THREADS, 1, 1),
                        0,
                        stream,
                        &mut args,
                    )
                }
                .map_err(cuda("launch cd_blur_pass1"))?;
                unsafe {
                    cu::launch_kernel(
                        self.f_pass2,
                        (ph.blocks2, 1, 1),
                        (THREADS, 1, 1),
                        0,
                        stream,
                        &mut args,
                    )
                }
                .map_err(cuda("launch cd_blur_pass2"))?;
            }
            if ph.rows.1 > 0 {
                let item = |i: u32| base + (l.items + i as usize * size_of::<CdTileItem>()) as u64;
                let mut boxes = base + l.boxes as u64;
                let mut rows = item(ph.rows.0);
                let (mut items, grid) = if ph.compact.1 > 0 {
                    (item(ph.compact.0), (ph.compact.1, 1, 1))
                } else {
                    (0u64, (ph.tiles, ph.rows.1, 1))
                };
                let mut args: [*mut c_void; 6] = [
                    (&mut frames) as *mut u64 as *mut c_void,
                    (&mut cmds) as *mut u64 as *mut c_void,
                    (&mut boxes) as *mut u64 as *mut c_void,
                    (&mut images) as *mut u64 as *mut c_void,
                    (&mut rows) as *mut u64 as *mut c_void,
                    (&mut items) as *mut u64 as *mut c_void,
                ];
                // SAFETY: as above.
                unsafe {
                    cu::launch_kernel(
                        if ph.overlay {
                            self.f_composite
                        } else {
                            self.f_composite_plain
                        },
                        grid,
                        (THREADS, 1, 1),
                        0,
                        stream,
                        &mut args,
                    )
                }
                .map_err(cuda("launch cd_composite"))?;
            }
        }
        if let Some((_, t1)) = self.timing {
            // SAFETY: as above.
            unsafe { cu::event::record(t1, stream) }.map_err(cuda("cuEventRecord"))?;
            self.timed = true;
        }
        // SAFETY: done is a live event of this context; stream is of this context.
        unsafe { cu::event::record(self.done, stream) }.map_err(cuda("cuEventRecord"))?;
        self.pending = true;
        Ok(())
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.destroy_timing();
        if let Ok(_g) = CtxGuard::push(self.ctx) {
            // SAFETY: handles below were created in this context and are freed once.
            unsafe {
                if self.pending {
                    let _ = cu::event::synchronize(self.done);
                }
                self.staging.free();
                self.upload.free();
                self.scratch.free();
                for (_, (mut b, _, _)) in self.images.drain() {
                    b.free();
                }
                if !self.done.is_null() {
                    let _ = cu::event::destroy(self.done);
                }
                if !self.module.is_null() {
                    let _ = cu::module::unload(self.module);
                }
                if !self.stream.is_null() {
                    let _ = cu::stream::destroy(self.stream);
                }
            }
        }
        // SAFETY: balances the retain in `new`.
        let _ = unsafe { cu::primary_ctx::release(self.cu_dev) };
    }
}
