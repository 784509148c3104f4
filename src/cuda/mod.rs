//! The CUDA backend: PTX kernels from `kernels/`, launched through cudarc on frames in
//! CUDA-addressable memory (device, pinned host or managed memory).
//!
//! A call validates and resolves the whole batch on the host ([`crate::draw::resolve_batch`]),
//! plans it (`plan`: phases, blur jobs, composite tiles), uploads everything in one
//! copy from reusable pinned staging, and enqueues a number of launches that depends
//! only on the number of phases (a blur over something drawn earlier in the same list
//! starts a phase), never on the number of boxes or frames. One context per GPU (the
//! device's primary context), chosen by [`DeviceFrame::gpu_id`].

pub mod context;
mod device;
mod kernels;
pub mod memory;
pub(crate) mod plan;
#[doc(hidden)] // the embedded PTX, for the CI check that it assembles
pub mod ptx;
pub mod staging;

use cudarc::driver::sys;

use crate::draw::{DrawList, ImageStore, ResolveOptions, Resolved, resolve_batch_with};
use crate::error::{Error, Result};
use crate::frame::{DeviceFrame, FrameInfo};
use crate::planar::DevicePlanarFrame;
use device::Device;
use plan::Plan;

/// The frames of one call: packed (RGBA family) or NV12 / I420; a call draws one kind.
#[derive(Clone, Copy)]
enum Frames<'a> {
    Packed(&'a [DeviceFrame]),
    Planar(&'a [DevicePlanarFrame]),
}

impl Frames<'_> {
    fn len(&self) -> usize {
        match self {
            Frames::Packed(f) => f.len(),
            Frames::Planar(f) => f.len(),
        }
    }

    fn gpu_id(&self, i: usize) -> u32 {
        match self {
            Frames::Packed(f) => f[i].gpu_id(),
            Frames::Planar(f) => f[i].gpu_id(),
        }
    }

    /// Validates frame `i`; returns what the draw model resolves its ops against.
    fn check(&self, i: usize) -> Result<FrameInfo> {
        match self {
            Frames::Packed(f) => {
                let f = &f[i];
                f.validate(i)?;
                if f.info().pitch > u32::MAX as usize {
                    return Err(Error::InvalidFrame {
                        index: i,
                        reason: "pitch does not fit 32 bits".into(),
                    });
                }
                Ok(f.info())
            }
            Frames::Planar(f) => {
                f[i].validate(i)?;
                Ok(f[i].info().resolve_info())
            }
        }
    }

    /// First byte and length of frame `i`.
    fn span(&self, i: usize) -> (u64, usize) {
        match self {
            Frames::Packed(f) => (f[i].ptr(), f[i].info().min_len()),
            Frames::Planar(f) => (f[i].ptr(), f[i].info().min_len()),
        }
    }
}

/// Raw CUDA stream handle (`CUstream`), for [`CudaRenderer::submit_on_stream`].
pub type CuStream = sys::CUstream;

/// Whether `libcuda` can be loaded. cudarc's dynamic loading panics on first use when
/// the library is missing, so every entry point checks this first.
pub fn driver_present() -> bool {
    static PRESENT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: only tries to dlopen the driver library; no driver call is made.
    *PRESENT.get_or_init(|| unsafe { sys::is_culib_present() })
}

/// Initialises the driver once; the error says why CUDA is unusable.
fn init_driver() -> Result<usize> {
    if !driver_present() {
        return Err(Error::NoCudaDevice(
            "the CUDA driver library (libcuda.so) could not be loaded".into(),
        ));
    }
    cudarc::driver::result::init()
        .map_err(|e| Error::NoCudaDevice(format!("cuInit failed: {e}")))?;
    let n = cudarc::driver::result::device::get_count()
        .map_err(|e| Error::NoCudaDevice(format!("cuDeviceGetCount failed: {e}")))?;
    if n <= 0 {
        return Err(Error::NoCudaDevice("the driver reports no device".into()));
    }
    Ok(n as usize)
}

/// How many times this process loaded the kernel modules into GPU `gpu`'s context: once
/// while any renderer uses the GPU, however many renderers there are (for tests).
#[doc(hidden)]
pub fn kernel_loads(gpu: u32) -> usize {
    let slots = &kernels::LOADS;
    slots[(gpu as usize).min(slots.len() - 1)].load(std::sync::atomic::Ordering::Relaxed)
}

/// Number of CUDA devices; 0 without a driver or device.
pub fn device_count() -> usize {
    init_driver().unwrap_or(0)
}

/// Renders draw lists onto frames in CUDA-addressable memory.
///
/// All work of a call goes on one stream per GPU. [`render`](Self::render) waits (one
/// synchronisation per GPU); [`submit`](Self::submit) + [`wait`](Self::wait) let the
/// host do other work meanwhile; [`submit_on_stream`](Self::submit_on_stream) orders
/// the work after the caller's own on the caller's stream.
#[derive(Debug)]
pub struct CudaRenderer {
    devices: Vec<Option<Device>>,
    resolved: Resolved,
    infos: Vec<FrameInfo>,
    plan: Plan,
    which: Vec<usize>,
    options: ResolveOptions,
    spans: Vec<(u64, u64, usize)>,
}

impl CudaRenderer {
    /// Initialises the driver. Fails with [`Error::NoCudaDevice`] without driver or
    /// device. Contexts and kernels are set up per GPU on first use.
    pub fn new() -> Result<Self> {
        let n = init_driver()?;
        Ok(Self {
            devices: (0..n).map(|_| None).collect(),
            resolved: Resolved::default(),
            infos: Vec::new(),
            plan: Plan::default(),
            which: Vec::new(),
            options: ResolveOptions::default(),
            spans: Vec::new(),
        })
    }

    /// Limits and invalid-op policy of later calls.
    pub fn set_options(&mut self, options: ResolveOptions) {
        self.options = options;
    }

    /// The last call's resolution (e.g. [`Resolved::skipped`]).
    pub fn resolved(&self) -> &Resolved {
        &self.resolved
    }

    /// Number of GPUs this renderer can draw on.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// Creates the context, stream and kernels of GPU `gpu` now rather than on the first
    /// render (the first-call cost: primary context and PTX JIT).
    pub fn warm_up(&mut self, gpu: u32) -> Result<()> {
        self.device(gpu as usize, 0).map(|_| ())
    }

    fn device(&mut self, gpu: usize, frame: usize) -> Result<&mut Device> {
        let n = self.devices.len();
        let slot = self
            .devices
            .get_mut(gpu)
            .ok_or_else(|| Error::InvalidFrame {
                index: frame,
                reason: format!("gpu_id {gpu} but this machine has {n} CUDA device(s)"),
            })?;
        if slot.is_none() {
            *slot = Some(Device::new(gpu)?);
        }
        slot.as_mut()
            .ok_or_else(|| Error::NoCudaDevice(format!("device {gpu} missing")))
    }

    /// Validates the frames and resolves the lists; nothing is drawn on error.
    fn prepare<L: AsRef<DrawList>>(
        &mut self,
        frames: Frames<'_>,
        lists: &[L],
        images: &ImageStore,
    ) -> Result<()> {
        if frames.len() != lists.len() {
            return Err(Error::BatchMismatch {
                frames: frames.len(),
                lists: lists.len(),
            });
        }
        self.infos.clear();
        for i in 0..frames.len() {
            let info = frames.check(i)?;
            let gpu = frames.gpu_id(i);
            if gpu as usize >= self.devices.len() {
                return Err(Error::InvalidFrame {
                    index: i,
                    reason: format!(
                        "gpu_id {gpu} but this machine has {} CUDA device(s)",
                        self.devices.len()
                    ),
                });
            }
            self.infos.push(info);
        }
        // Blocks of one launch draw every frame at once: frames sharing memory would
        // race between blocks.
        crate::frame::check_disjoint_bytes(
            (0..frames.len()).map(|i| frames.span(i)),
            &mut self.spans,
        )?;
        resolve_batch_with(
            &self.infos,
            lists,
            images,
            &self.options,
            &mut self.resolved,
        )
    }

    /// Enqueues the batch on each involved GPU's stream without waiting. Frames must
    /// stay valid until [`wait`](Self::wait) returns. On a validation error nothing is
    /// enqueued; on a CUDA error some GPUs may have work in flight.
    pub fn submit<L: AsRef<DrawList>>(
        &mut self,
        frames: &[DeviceFrame],
        lists: &[L],
        images: &ImageStore,
    ) -> Result<()> {
        self.prepare(Frames::Packed(frames), lists, images)?;
        self.enqueue(Frames::Packed(frames), images, None)
    }

    /// [`submit`](Self::submit) for NV12 / I420 frames (docs/semantics.md "NV12 and
    /// I420"): byte-exact with [`crate::cpu::CpuRenderer::render_planar`]. A call draws
    /// planar frames only (they may mix NV12 and I420, sizes, matrices and GPUs).
    pub fn submit_planar<L: AsRef<DrawList>>(
        &mut self,
        frames: &[DevicePlanarFrame],
        lists: &[L],
        images: &ImageStore,
    ) -> Result<()> {
        self.prepare(Frames::Planar(frames), lists, images)?;
        self.enqueue(Frames::Planar(frames), images, None)
    }

    /// [`render`](Self::render) for NV12 / I420 frames: submits and waits.
    pub fn render_planar<L: AsRef<DrawList>>(
        &mut self,
        frames: &[DevicePlanarFrame],
        lists: &[L],
        images: &ImageStore,
    ) -> Result<()> {
        let r = self.submit_planar(frames, lists, images);
        let w = self.wait();
        r.and(w)
    }

    /// [`submit_on_stream`](Self::submit_on_stream) for NV12 / I420 frames.
    ///
    /// # Safety
    /// As [`submit_on_stream`](Self::submit_on_stream).
    pub unsafe fn submit_planar_on_stream<L: AsRef<DrawList>>(
        &mut self,
        frames: &[DevicePlanarFrame],
        lists: &[L],
        images: &ImageStore,
        stream: CuStream,
    ) -> Result<()> {
        Self::one_gpu(Frames::Planar(frames))?;
        self.prepare(Frames::Planar(frames), lists, images)?;
        self.enqueue(Frames::Planar(frames), images, Some(stream))
    }

    /// A caller stream serves one GPU.
    fn one_gpu(frames: Frames<'_>) -> Result<()> {
        if frames.len() > 0
            && let Some(i) = (0..frames.len()).position(|i| frames.gpu_id(i) != frames.gpu_id(0))
        {
            return Err(Error::InvalidFrame {
                index: i,
                reason: "a caller stream serves one GPU: all frames need the same gpu_id".into(),
            });
        }
        Ok(())
    }

    fn enqueue(
        &mut self,
        frames: Frames<'_>,
        images: &ImageStore,
        stream: Option<sys::CUstream>,
    ) -> Result<()> {
        // Group frames by GPU; the usual single-GPU batch is one group.
        let mut gpus_done = 0u64;
        for start in 0..frames.len() {
            let gpu = frames.gpu_id(start) as usize;
            if gpu < 64 && gpus_done & (1 << gpu) != 0 {
                continue;
            }
            if gpu < 64 {
                gpus_done |= 1 << gpu;
            } else if (0..start).any(|i| frames.gpu_id(i) as usize == gpu) {
                continue;
            }
            self.which.clear();
            self.which
                .extend((start..frames.len()).filter(|&i| frames.gpu_id(i) as usize == gpu));
            let mut plan = std::mem::take(&mut self.plan);
            let built = match frames {
                Frames::Packed(f) => plan.build(f, &self.which, &self.resolved),
                Frames::Planar(f) => plan.build_planar(f, &self.which, &self.resolved),
            };
            let res = built.and_then(|()| {
                let resolved = std::mem::take(&mut self.resolved);
                let r = self
                    .device(gpu, start)
                    .and_then(|d| d.submit(&plan, &resolved, images, stream));
                self.resolved = resolved;
                r
            });
            self.plan = plan;
            res?;
        }
        Ok(())
    }

    /// Waits for everything submitted on every GPU.
    pub fn wait(&mut self) -> Result<()> {
        let mut first = Ok(());
        for d in self.devices.iter_mut().flatten() {
            let r = d.wait();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// Renders the batch and waits for it: one synchronisation per GPU involved.
    pub fn render<L: AsRef<DrawList>>(
        &mut self,
        frames: &[DeviceFrame],
        lists: &[L],
        images: &ImageStore,
    ) -> Result<()> {
        let r = self.submit(frames, lists, images);
        let w = self.wait();
        r.and(w)
    }

    /// Enqueues the batch on the caller's `stream`, after the work already there, and
    /// returns without waiting; synchronise the stream (or call [`wait`](Self::wait))
    /// before using the frames on the host.
    ///
    /// # Safety
    /// `stream` must be a live stream of the primary context of the frames' GPU (all
    /// frames on one GPU), e.g. one created by the runtime API on that device.
    pub unsafe fn submit_on_stream<L: AsRef<DrawList>>(
        &mut self,
        frames: &[DeviceFrame],
        lists: &[L],
        images: &ImageStore,
        stream: CuStream,
    ) -> Result<()> {
        Self::one_gpu(Frames::Packed(frames))?;
        self.prepare(Frames::Packed(frames), lists, images)?;
        self.enqueue(Frames::Packed(frames), images, Some(stream))
    }

    /// This renderer's own stream on GPU `gpu` (created on first use), for callers that
    /// want to order their work after cudadraw's.
    pub fn stream(&mut self, gpu: u32) -> Result<CuStream> {
        self.device(gpu as usize, 0).map(|d| d.stream)
    }

    /// Turns on (or off) CUDA-event timing of the GPU work of each submission on GPU
    /// `gpu` (command upload and kernels), read with [`last_gpu_time_ms`](Self::last_gpu_time_ms).
    pub fn set_gpu_timing(&mut self, gpu: u32, on: bool) -> Result<()> {
        self.device(gpu as usize, 0)?.set_timing(on)
    }

    /// GPU time in milliseconds of the last submission on GPU `gpu`, if timing is on
    /// and it did any work. Waits for that submission.
    pub fn last_gpu_time_ms(&mut self, gpu: u32) -> Result<Option<f32>> {
        self.device(gpu as usize, 0)?.last_gpu_ms()
    }

    /// Orders this renderer's stream on GPU `gpu` after the work already queued on the
    /// legacy default stream of its context (where GStreamer 1.22's CUDA elements copy),
    /// with an event: the GPU waits, the host does not, and no other stream is drained.
    pub fn follow_legacy_stream(&mut self, gpu: u32) -> Result<()> {
        // SAFETY: null is the legacy default stream of the device's own context.
        unsafe {
            self.device(gpu as usize, 0)?
                .follow_stream(std::ptr::null_mut(), None)
        }
    }

    /// Orders the next work on GPU `gpu` (on `consumer`, or this renderer's own stream
    /// when `None`) after the work queued now on `producer`, with an event: the GPU
    /// waits, the host does not. For inputs another stream produces, such as a device
    /// mask a model wrote on its own stream.
    ///
    /// # Safety
    /// `producer` and `consumer` must be live streams of the primary context of GPU
    /// `gpu` (e.g. created by the runtime API on that device), or the legacy (1) and
    /// per-thread (2) default stream handles.
    pub unsafe fn follow_stream(
        &mut self,
        gpu: u32,
        producer: CuStream,
        consumer: Option<CuStream>,
    ) -> Result<()> {
        // SAFETY: forwarded.
        unsafe {
            self.device(gpu as usize, 0)?
                .follow_stream(producer, consumer)
        }
    }

    /// Test hook: the `after`-th next kernel launch on GPU `gpu` fails (0: the next),
    /// as a real launch failure would, after the submission's upload was enqueued.
    #[doc(hidden)]
    pub fn inject_launch_failure(&mut self, gpu: u32, after: u32) -> Result<()> {
        self.device(gpu as usize, 0)?.inject_launch_failure(after);
        Ok(())
    }

    /// Whether GPU `gpu` may still run work of an earlier submission (false after a
    /// [`wait`](Self::wait)).
    #[doc(hidden)]
    pub fn in_flight(&self, gpu: u32) -> bool {
        self.devices
            .get(gpu as usize)
            .and_then(Option::as_ref)
            .is_some_and(Device::in_flight)
    }

    /// The primary context of GPU `gpu` (retained by this renderer), for callers that
    /// allocate frames on it.
    pub fn context(&mut self, gpu: u32) -> Result<sys::CUcontext> {
        self.device(gpu as usize, 0).map(|d| d.ctx)
    }
}

// SAFETY: see `Device`: driver handles are thread-agnostic and every use pushes the
// right context; nothing here is shared without &mut.
unsafe impl Send for CudaRenderer {}
