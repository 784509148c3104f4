//! One GPU: its primary context, stream, kernels, reusable buffers and image cache.
//! Raw driver calls through cudarc's `result`/`sys` layers: frames are foreign device
//! pointers, and every buffer here is grow-only, so steady-state calls allocate nothing.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::Arc;

use cudarc::driver::result::{self as cu, DriverError};
use cudarc::driver::sys;

use super::plan::{Plan, THREADS};
use crate::cmd::{
    CdBand, CdBlurJob, CdCmd, CdDisc, CdEdge, CdFrame, CdGlyph, CdImage, CdMask, CdPlanar,
    CdPlaneJob, CdRegion, CdShape, CdShapeData, CdTileItem,
};
use crate::draw::{ImageId, ImageStore, Resolved};
use crate::error::{Error, Result};

use super::context::{CtxGuard, cuda};
use super::kernels::Kernels;

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
    glyphs: usize,
    shapes: usize,
    edges: usize,
    discs: usize,
    bands: usize,
    band_items: usize,
    masks: usize,
    mask_data: usize,
    palette: usize,
    /// Pixels of the overlay images this submission uploads.
    pixels: usize,
    /// Atlas bytes this submission uploads.
    atlas: usize,
    boxes: usize,
    items: usize,
    bins: usize,
    jobs: usize,
    total: usize,
}

fn align16(n: usize) -> usize {
    n.div_ceil(16) * 16
}

/// An overlay image in device memory.
#[derive(Debug)]
struct CachedImage {
    buf: DevBuf,
    width: i32,
    height: i32,
    /// The [`ImageStore::id`] it came from.
    store: u64,
}

/// State of one GPU.
#[derive(Debug)]
pub(crate) struct Device {
    #[allow(dead_code)]
    pub(crate) ordinal: usize,
    cu_dev: sys::CUdevice,
    pub(crate) ctx: sys::CUcontext,
    pub(crate) stream: sys::CUstream,
    /// The GPU's kernels, shared with every other renderer on it.
    kernels: Arc<Kernels>,
    staging: PinnedBuf,
    upload: DevBuf,
    scratch: DevBuf,
    /// Overlay images on this device by image uid ([`ImageStore::uid`]): uploaded once,
    /// freed once the store no longer holds them.
    images: HashMap<u64, CachedImage>,
    /// The version of each store last seen ([`ImageStore::version`]), to prune.
    store_versions: Vec<(u64, u64)>,
    table: Vec<CdImage>,
    /// Images the current submission uploads: (image handle, uid, byte offset in the
    /// staging upload).
    uploads: Vec<(u32, u64, usize)>,
    /// The glyph atlas on this device: a copy of the first `atlas_len` bytes of the
    /// atlas of font store `atlas_key.0` at generation `atlas_key.1`. Only bytes added
    /// since are uploaded (the atlas is append-only).
    atlas: DevBuf,
    atlas_key: (u64, u64),
    atlas_len: usize,
    /// Recorded after each submission; waited on before staging is reused.
    done: sys::CUevent,
    /// Recorded on a producer's stream by `follow_stream` (created on first use).
    follow: sys::CUevent,
    /// Work of a submission may still use staging, upload, scratch or image buffers.
    /// Set from the first enqueue on, also when a later step of the submission fails.
    pending: bool,
    /// A failed submission whose work could neither be tracked nor waited for: the
    /// buffers may still be in use by the GPU, so they are never reused or freed.
    poisoned: bool,
    /// Test hook: fail the n-th next kernel launch (0 = the next one).
    fail_launch_after: Option<u32>,
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
        let kernels = match Kernels::of(ordinal) {
            Ok(k) => k,
            Err(e) => {
                // SAFETY: balances the retain above.
                let _ = unsafe { cu::primary_ctx::release(cu_dev) };
                return Err(e);
            }
        };
        let mut dev = Device {
            ordinal,
            cu_dev,
            ctx,
            kernels,
            stream: std::ptr::null_mut(),
            staging: PinnedBuf::default(),
            upload: DevBuf::default(),
            scratch: DevBuf::default(),
            images: HashMap::new(),
            atlas: DevBuf::default(),
            atlas_key: (0, 0),
            atlas_len: 0,
            store_versions: Vec::new(),
            table: Vec::new(),
            uploads: Vec::new(),
            done: std::ptr::null_mut(),
            follow: std::ptr::null_mut(),
            pending: false,
            poisoned: false,
            fail_launch_after: None,
            timing: None,
            timed: false,
        };
        // On error `dev` drops and releases what was acquired so far.
        let _g = CtxGuard::push(ctx)?;
        dev.stream =
            cu::stream::create(cu::stream::StreamKind::Default).map_err(cuda("cuStreamCreate"))?;
        dev.done = cu::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING)
            .map_err(cuda("cuEventCreate"))?;
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

    /// Makes `consumer` (this device's stream when `None`) wait, on the GPU, for what
    /// `producer` holds now (null: the context's legacy default stream).
    ///
    /// # Safety
    /// Both streams must be live streams of this device's context (or the legacy /
    /// per-thread default stream handles).
    pub(crate) unsafe fn follow_stream(
        &mut self,
        producer: sys::CUstream,
        consumer: Option<sys::CUstream>,
    ) -> Result<()> {
        let _g = CtxGuard::push(self.ctx)?;
        if self.follow.is_null() {
            self.follow = cu::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING)
                .map_err(cuda("cuEventCreate"))?;
        }
        // SAFETY: a live event of this context; the streams as the caller vouches. The
        // wait captures the event's state when enqueued, so the event is reusable.
        unsafe {
            cu::event::record(self.follow, producer).map_err(cuda("cuEventRecord"))?;
            cu::stream::wait_event(
                consumer.unwrap_or(self.stream),
                self.follow,
                sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT,
            )
            .map_err(cuda("cuStreamWaitEvent"))
        }
    }

    /// Whether work of an earlier submission may still be running.
    pub(crate) fn in_flight(&self) -> bool {
        self.pending
    }

    /// Test hook: the `after`-th next kernel launch fails (0: the next one).
    pub(crate) fn inject_launch_failure(&mut self, after: u32) {
        self.fail_launch_after = Some(after);
    }

    /// Frees the device copies of images their store no longer holds (replaced or
    /// removed), when the store's version moved. No work may be in flight.
    fn prune_images(&mut self, store: &ImageStore) {
        let (id, version) = (store.id(), store.version());
        match self.store_versions.iter_mut().find(|(s, _)| *s == id) {
            Some((_, v)) if *v == version => return,
            Some((_, v)) => *v = version,
            None => self.store_versions.push((id, version)),
        }
        self.images.retain(|uid, img| {
            let keep = img.store != id || store.contains_uid(*uid);
            if !keep {
                img.buf.free();
            }
            keep
        });
    }

    /// Fills the image table for the plan's overlays; images not on this device yet
    /// get device memory now and are listed in `uploads`, their pixels travelling in
    /// the submission's one staging upload. Returns the bytes of those pixels.
    fn prepare_images(&mut self, plan: &Plan, store: &ImageStore) -> Result<usize> {
        self.prune_images(store);
        self.table.clear();
        self.uploads.clear();
        let mut bytes = 0usize;
        for c in &plan.cmds {
            if c.op != crate::cmd::CD_OP_OVERLAY {
                continue;
            }
            let id = c.param;
            if self.table.len() <= id as usize {
                self.table.resize(id as usize + 1, CdImage::default());
            }
            if self.table[id as usize].ptr != 0 {
                continue;
            }
            let unknown = Error::UnknownImage {
                frame: 0,
                op: 0,
                image: id,
            };
            let (Some(img), Some(uid)) = (store.get(ImageId(id)), store.uid(ImageId(id))) else {
                return Err(unknown);
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = self.images.entry(uid) {
                let mut buf = DevBuf::default();
                buf.reserve(img.data().len())?;
                slot.insert(CachedImage {
                    buf,
                    width: img.width() as i32,
                    height: img.height() as i32,
                    store: store.id(),
                });
                self.uploads.push((id, uid, bytes));
                bytes = align16(bytes + img.data().len());
            }
            let cached = &self.images[&uid];
            self.table[id as usize] = CdImage {
                ptr: cached.buf.ptr,
                width: cached.width,
                height: cached.height,
            };
        }
        Ok(bytes)
    }

    /// The one place kernels are launched. Arguments are arrays of pointers to the
    /// values, in the order of the kernels' signatures (composite.cu, blur.cu), built
    /// right beside each call. cudarc's typed launch builder is not used: it needs its
    /// safe layer's `CudaContext` / `CudaStream`, which make their context current on
    /// the thread (`cuCtxSetCurrent`) and would disturb GStreamer's and the
    /// application's context stack; everything here pushes and pops instead.
    fn launch(
        &mut self,
        f: sys::CUfunction,
        grid: (u32, u32, u32),
        stream: sys::CUstream,
        args: &mut [*mut c_void],
        what: &'static str,
    ) -> Result<()> {
        if let Some(n) = self.fail_launch_after.as_mut() {
            if *n == 0 {
                self.fail_launch_after = None;
                return Err(cuda(what)(DriverError(
                    sys::cudaError_enum::CUDA_ERROR_LAUNCH_FAILED,
                )));
            }
            *n -= 1;
        }
        // SAFETY: the caller passes arguments matching the kernel's signature in
        // kernels/, pointing into buffers that outlive the stream's work.
        unsafe { cu::launch_kernel(f, grid, (THREADS, 1, 1), 0, stream, args) }.map_err(cuda(what))
    }

    /// Enqueues the whole plan on `stream` (this device's stream unless the caller
    /// gave one): one upload (commands, tables and new overlay images, from pinned
    /// staging), then per phase at most four launches. Does not wait. From the first
    /// enqueue on the submission counts as in flight, whatever fails later, so no
    /// later call reuses or frees a buffer the GPU may still read.
    pub(crate) fn submit(
        &mut self,
        plan: &Plan,
        resolved: &Resolved,
        store: &ImageStore,
        stream: Option<sys::CUstream>,
    ) -> Result<()> {
        if self.poisoned {
            return Err(Error::NoCudaDevice(format!(
                "GPU {}: an earlier submission failed and could not be waited for; its \
                 buffers may still be in use (create a new renderer)",
                self.ordinal
            )));
        }
        if (plan.frames.is_empty() && plan.planar.is_empty()) || plan.phases.is_empty() {
            return Ok(());
        }
        self.wait()?;
        let _g = CtxGuard::push(self.ctx)?;
        let stream = stream.unwrap_or(self.stream);
        let mut enqueued = false;
        let result = self.enqueue(plan, resolved, store, stream, &mut enqueued);
        self.settle(stream, enqueued, result)
    }

    /// After a submission: records `done` if anything was enqueued (so the next call
    /// waits for it), or, failing that, waits for the stream now; forgets images whose
    /// upload may not have landed when the submission failed.
    fn settle(&mut self, stream: sys::CUstream, enqueued: bool, result: Result<()>) -> Result<()> {
        if enqueued {
            // SAFETY: done is a live event of this context; stream is of this context.
            match unsafe { cu::event::record(self.done, stream) } {
                Ok(()) => self.pending = true,
                Err(e) => {
                    // SAFETY: as above.
                    if unsafe { cu::stream::synchronize(stream) }.is_err() {
                        self.poisoned = true;
                    }
                    if result.is_ok() {
                        return Err(cuda("cuEventRecord")(e));
                    }
                }
            }
        }
        if result.is_err() {
            // The atlas upload may not have landed: upload everything next time.
            self.atlas_len = 0;
        }
        if result.is_err() && !self.uploads.is_empty() {
            if self.poisoned || self.wait().is_err() {
                self.poisoned = true;
            } else {
                for (_, uid, _) in self.uploads.drain(..) {
                    if let Some(mut img) = self.images.remove(&uid) {
                        img.buf.free();
                    }
                }
            }
        }
        result
    }

    fn enqueue(
        &mut self,
        plan: &Plan,
        resolved: &Resolved,
        store: &ImageStore,
        stream: sys::CUstream,
        enqueued: &mut bool,
    ) -> Result<()> {
        let pixel_bytes = self.prepare_images(plan, store)?;
        let weights = resolved.weights();
        let glyphs = resolved.glyphs();
        // The atlas bytes this device lacks: all of them for another store or after the
        // atlas was cleared or the device copy had to grow, else only the new ones.
        let atlas = crate::draw::text::locked_atlas(resolved, store.fonts())?;
        let atlas_bytes: &[u8] = atlas.as_deref().map_or(&[], |c| c.atlas.as_slice());
        let mut atlas_from = 0usize;
        if let Some(key) = resolved.atlas {
            if key == self.atlas_key && self.atlas_len <= atlas_bytes.len() {
                atlas_from = self.atlas_len;
            }
            if atlas_bytes.len() > self.atlas.cap {
                atlas_from = 0;
            }
            self.atlas_len = 0; // until the upload is enqueued
            self.atlas.reserve(atlas_bytes.len().max(16))?;
            self.atlas_key = key;
        }
        let atlas_new = &atlas_bytes[atlas_from..];

        let mut l = Layout::default();
        let mut at = 0usize;
        let mut section = |bytes: usize| {
            let start = at;
            at = align16(at + bytes);
            start
        };
        // Planar batches: their frame records and per-plane jobs in the same sections,
        // the chroma planes' gaussian weights after the resolved ones.
        let planar = !plan.planar.is_empty();
        let frame_bytes: &[u8] = if planar {
            bytemuck::cast_slice::<CdPlanar, u8>(&plan.planar)
        } else {
            bytemuck::cast_slice::<CdFrame, u8>(&plan.frames)
        };
        let job_bytes: &[u8] = if planar {
            bytemuck::cast_slice::<CdPlaneJob, u8>(&plan.plane_jobs)
        } else {
            bytemuck::cast_slice::<CdBlurJob, u8>(&plan.jobs)
        };
        let chroma_weights = bytemuck::cast_slice::<u32, u8>(&plan.chroma_weights);
        l.frames = section(frame_bytes.len());
        l.cmds = section(size_of_val(plan.cmds.as_slice()));
        l.weights = section(size_of_val(weights) + chroma_weights.len());
        l.images = section(size_of_val(self.table.as_slice()).max(16));
        l.glyphs = section(size_of_val(glyphs));
        l.shapes = section(size_of_val(resolved.shapes.as_slice()));
        l.edges = section(size_of_val(resolved.edges.as_slice()));
        l.discs = section(size_of_val(resolved.discs.as_slice()));
        l.bands = section(size_of_val(resolved.bands.as_slice()));
        l.band_items = section(size_of_val(resolved.band_items.as_slice()));
        l.masks = section(size_of_val(resolved.masks.as_slice()));
        l.mask_data = section(resolved.mask_data.len());
        l.palette = section(size_of_val(resolved.palette.as_slice()));
        l.boxes = section(size_of_val(plan.boxes.as_slice()));
        l.items = section(size_of_val(plan.items.as_slice()));
        l.bins = section(size_of_val(plan.bins.as_slice()));
        l.jobs = section(job_bytes.len());
        l.pixels = section(pixel_bytes);
        l.atlas = section(atlas_new.len());
        l.total = at;

        let staging = self.staging.reserve(l.total)?;
        let put = |dst: &mut [u8], off: usize, src: &[u8]| {
            dst[off..off + src.len()].copy_from_slice(src);
        };
        put(staging, l.frames, frame_bytes);
        put(
            staging,
            l.cmds,
            bytemuck::cast_slice::<CdCmd, u8>(&plan.cmds),
        );
        put(staging, l.weights, bytemuck::cast_slice::<u32, u8>(weights));
        put(staging, l.weights + size_of_val(weights), chroma_weights);
        put(
            staging,
            l.images,
            bytemuck::cast_slice::<CdImage, u8>(&self.table),
        );
        put(
            staging,
            l.glyphs,
            bytemuck::cast_slice::<CdGlyph, u8>(glyphs),
        );
        put(staging, l.atlas, atlas_new);
        put(
            staging,
            l.shapes,
            bytemuck::cast_slice::<CdShape, u8>(&resolved.shapes),
        );
        put(
            staging,
            l.edges,
            bytemuck::cast_slice::<CdEdge, u8>(&resolved.edges),
        );
        put(
            staging,
            l.discs,
            bytemuck::cast_slice::<CdDisc, u8>(&resolved.discs),
        );
        put(
            staging,
            l.bands,
            bytemuck::cast_slice::<CdBand, u8>(&resolved.bands),
        );
        put(
            staging,
            l.band_items,
            bytemuck::cast_slice::<u32, u8>(&resolved.band_items),
        );
        put(
            staging,
            l.masks,
            bytemuck::cast_slice::<CdMask, u8>(&resolved.masks),
        );
        put(staging, l.mask_data, &resolved.mask_data);
        put(
            staging,
            l.palette,
            bytemuck::cast_slice::<u32, u8>(&resolved.palette),
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
        put(staging, l.bins, bytemuck::cast_slice::<u32, u8>(&plan.bins));
        put(staging, l.jobs, job_bytes);
        for &(id, _, off) in &self.uploads {
            if let Some(img) = store.get(ImageId(id)) {
                put(staging, l.pixels + off, img.data());
            }
        }

        let base = self.upload.reserve(l.total)?;
        let scratch = self.scratch.reserve(plan.scratch_bytes.max(16) as usize)?;
        self.timed = false;
        if let Some((t0, _)) = self.timing {
            // SAFETY: event of this context, stream of this context.
            unsafe { cu::event::record(t0, stream) }.map_err(cuda("cuEventRecord"))?;
        }
        *enqueued = true;
        // SAFETY: staging is pinned and not touched again until `done` has fired.
        unsafe {
            sys::cuMemcpyHtoDAsync_v2(base, self.staging.ptr as *const c_void, l.total, stream)
        }
        .result()
        .map_err(cuda("cuMemcpyHtoDAsync (commands)"))?;
        // New overlay images: from the same pinned staging, on the launch stream, so
        // they are ordered before the kernels whatever stream the caller gave (a
        // synchronous copy from pageable memory is not ordered with another stream).
        for &(id, uid, off) in &self.uploads {
            let (Some(img), Some(cached)) = (store.get(ImageId(id)), self.images.get(&uid)) else {
                continue;
            };
            // SAFETY: the device buffer holds the image's bytes; staging as above.
            unsafe {
                sys::cuMemcpyHtoDAsync_v2(
                    cached.buf.ptr,
                    self.staging.ptr.add(l.pixels + off) as *const c_void,
                    img.data().len(),
                    stream,
                )
            }
            .result()
            .map_err(cuda("cuMemcpyHtoDAsync (overlay image)"))?;
        }
        if !atlas_new.is_empty() {
            // SAFETY: the atlas buffer holds atlas_bytes.len() >= atlas_from + the new
            // bytes; staging as above.
            unsafe {
                sys::cuMemcpyHtoDAsync_v2(
                    self.atlas.ptr + atlas_from as u64,
                    self.staging.ptr.add(l.atlas) as *const c_void,
                    atlas_new.len(),
                    stream,
                )
            }
            .result()
            .map_err(cuda("cuMemcpyHtoDAsync (glyph atlas)"))?;
        }
        if resolved.atlas.is_some() {
            self.atlas_len = atlas_bytes.len();
        }
        drop(atlas);

        let mut frames = base + l.frames as u64;
        let mut cmds = base + l.cmds as u64;
        let mut wts = base + l.weights as u64;
        let mut images = base + l.images as u64;
        let mut glyph_arg = base + l.glyphs as u64;
        let mut atlas_arg = self.atlas.ptr;
        let mut geo = CdShapeData {
            shapes: base + l.shapes as u64,
            edges: base + l.edges as u64,
            discs: base + l.discs as u64,
            bands: base + l.bands as u64,
            items: base + l.band_items as u64,
            masks: base + l.masks as u64,
            data: base + l.mask_data as u64,
            palette: base + l.palette as u64,
        };
        let mut scratch_arg = scratch;
        for ph in &plan.phases {
            if ph.jobs.1 > 0 {
                if ph.zero_bytes > 0 {
                    // SAFETY: scratch holds scratch_bytes >= zero_bytes.
                    unsafe { cu::memset_d8_async(scratch, 0, ph.zero_bytes as usize, stream) }
                        .map_err(cuda("cuMemsetD8Async (pixelate sums)"))?;
                }
                let job_size = if planar {
                    size_of::<CdPlaneJob>()
                } else {
                    size_of::<CdBlurJob>()
                };
                let mut jobs = base + (l.jobs + ph.jobs.0 as usize * job_size) as u64;
                let mut njobs = ph.jobs.1;
                let mut args: [*mut c_void; 6] = [
                    (&mut frames) as *mut u64 as *mut c_void,
                    (&mut cmds) as *mut u64 as *mut c_void,
                    (&mut wts) as *mut u64 as *mut c_void,
                    (&mut jobs) as *mut u64 as *mut c_void,
                    (&mut njobs) as *mut u32 as *mut c_void,
                    (&mut scratch_arg) as *mut u64 as *mut c_void,
                ];
                let f = if planar {
                    self.kernels.planar[0]
                } else {
                    self.kernels.pass1
                };
                self.launch(
                    f,
                    (ph.blocks1, 1, 1),
                    stream,
                    &mut args,
                    "launch cd_blur_pass1",
                )?;
                let f = if planar {
                    self.kernels.planar[1]
                } else {
                    self.kernels.pass2
                };
                self.launch(
                    f,
                    (ph.blocks2, 1, 1),
                    stream,
                    &mut args,
                    "launch cd_blur_pass2",
                )?;
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
                let mut bins = base + l.bins as u64;
                let mut args: [*mut c_void; 10] = [
                    (&mut frames) as *mut u64 as *mut c_void,
                    (&mut cmds) as *mut u64 as *mut c_void,
                    (&mut boxes) as *mut u64 as *mut c_void,
                    (&mut images) as *mut u64 as *mut c_void,
                    (&mut glyph_arg) as *mut u64 as *mut c_void,
                    (&mut atlas_arg) as *mut u64 as *mut c_void,
                    // By value: the struct itself (kernels/commands.h's layout).
                    (&mut geo) as *mut CdShapeData as *mut c_void,
                    (&mut rows) as *mut u64 as *mut c_void,
                    (&mut items) as *mut u64 as *mut c_void,
                    (&mut bins) as *mut u64 as *mut c_void,
                ];
                let f = if planar {
                    self.kernels.planar[2 + ph.kernel(true)]
                } else {
                    self.kernels.composite[ph.kernel(false)]
                };
                self.launch(f, grid, stream, &mut args, "launch cd_composite")?;
            }
        }
        if let Some((_, t1)) = self.timing {
            // SAFETY: as above.
            unsafe { cu::event::record(t1, stream) }.map_err(cuda("cuEventRecord"))?;
            self.timed = true;
        }
        Ok(())
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if self.poisoned {
            // The GPU may still use these buffers and kernels: leaking them (and the
            // modules, by a reference never dropped) is the safe choice.
            std::mem::forget(Arc::clone(&self.kernels));
            return;
        }
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
                self.atlas.free();
                for (_, mut img) in self.images.drain() {
                    img.buf.free();
                }
                if !self.done.is_null() {
                    let _ = cu::event::destroy(self.done);
                }
                if !self.follow.is_null() {
                    let _ = cu::event::destroy(self.follow);
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
