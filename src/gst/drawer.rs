//! Buffer -> frames -> renderer: [`BufferDrawer`] describes a GstBuffer's frames (system
//! memory, GStreamer CUDA memory, an NVMM batch), lets a closure fill one draw list per
//! frame and draws them through [`Renderer`], with one policy for errors, skipped ops
//! and fail modes shared by the probe ([`super::probe`]) and the `cudadraw` element.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::caps::StreamFormat;
use super::cudamem;
use crate::draw::{DrawList, Image, ImageId, ImageStore};
use crate::error::{Error, Result};
use crate::frame::{FrameInfo, HostFrame};
use crate::nvmm::{NvmmBatch, NvmmOptions};
use crate::planar::PlanarFrame;
use crate::render::Renderer;

pub use super::caps::{CAPS_FEATURE_CUDA, MemoryKind, StreamInfo};

/// What one frame of a buffer is, as the draw closure sees it. More fields will come
/// (the source of a DeepStream frame), hence `non_exhaustive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameMeta {
    /// Position in the batch (0 for single-frame buffers).
    pub index: usize,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// The buffer's presentation time stamp.
    pub pts: Option<gst::ClockTime>,
    /// DeepStream's facts about this frame (source id, frame number, batch id,
    /// timestamps), when the buffer carries an `NvDsBatchMeta` with a frame of this
    /// index; its objects: [`crate::nvds::BatchMeta::from_buffer`].
    pub nvds: Option<crate::nvds::FrameFacts>,
}

/// Timing and outcome counters of a probe or element, shared with the application.
/// Recording is lock-light and allocation-free: the last [`DrawStats::WINDOW`] draw
/// times are kept in a ring allocated once.
#[derive(Debug)]
pub struct DrawStats {
    buffers: AtomicU64,
    drawn: AtomicU64,
    errors: AtomicU64,
    cuda_in_place: AtomicU64,
    cuda_copies: AtomicU64,
    skipped_ops: AtomicU64,
    dropped: AtomicU64,
    ring: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    samples: Vec<u64>,
    next: usize,
    filled: bool,
}

impl Default for DrawStats {
    fn default() -> Self {
        Self {
            buffers: AtomicU64::new(0),
            drawn: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            cuda_in_place: AtomicU64::new(0),
            cuda_copies: AtomicU64::new(0),
            skipped_ops: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            ring: Mutex::new(Ring {
                samples: vec![0; Self::WINDOW],
                next: 0,
                filled: false,
            }),
        }
    }
}

impl DrawStats {
    /// Number of most recent draw times kept for [`DrawStats::median`].
    pub const WINDOW: usize = 4096;

    /// Fresh counters, shareable between the probe and the application.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Buffers seen (drawn, skipped or failed).
    pub fn buffers(&self) -> u64 {
        self.buffers.load(Ordering::Relaxed)
    }

    /// Buffers on which something was drawn.
    pub fn drawn(&self) -> u64 {
        self.drawn.load(Ordering::Relaxed)
    }

    /// Buffers that passed on undrawn because of an error.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Buffers of CUDA memory drawn in place: their memory belonged to cudadraw's
    /// CUDA context (see [`cudamem`]).
    pub fn cuda_in_place(&self) -> u64 {
        self.cuda_in_place.load(Ordering::Relaxed)
    }

    /// Buffers of CUDA memory drawn through a staging copy (two frame copies each)
    /// because their memory belonged to another CUDA context; 0 when the pipeline
    /// shares cudadraw's context (`cudacontext::share_context`).
    pub fn cuda_copies(&self) -> u64 {
        self.cuda_copies.load(Ordering::Relaxed)
    }

    /// Ops left out because they failed validation (the rest of their lists drawn).
    pub fn skipped_ops(&self) -> u64 {
        self.skipped_ops.load(Ordering::Relaxed)
    }

    /// Buffers dropped by a fail mode ([`FailMode::Redact`] when even the redactions
    /// could not be drawn, [`FailMode::Drop`]).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn record_verdict(&self, v: &Verdict) {
        self.skipped_ops
            .fetch_add(v.skipped as u64, Ordering::Relaxed);
        if v.drop {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn record(
        &self,
        outcome: &Result<bool>,
        path: Option<cudamem::CudaPath>,
        took: Duration,
    ) {
        self.buffers.fetch_add(1, Ordering::Relaxed);
        match path {
            Some(cudamem::CudaPath::InPlace) => {
                self.cuda_in_place.fetch_add(1, Ordering::Relaxed);
            }
            Some(cudamem::CudaPath::Copied) => {
                self.cuda_copies.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
        match outcome {
            Ok(true) => {
                self.drawn.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(_) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let i = ring.next;
        ring.samples[i] = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        ring.next = (i + 1) % Self::WINDOW;
        ring.filled |= ring.next == 0;
    }

    /// Median time per buffer (draw callback + mapping + render + sync) over the
    /// last [`DrawStats::WINDOW`] buffers, `None` before the first.
    pub fn median(&self) -> Option<Duration> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let n = if ring.filled { Self::WINDOW } else { ring.next };
        if n == 0 {
            return None;
        }
        let mut v = ring.samples[..n].to_vec();
        drop(ring);
        let mid = n / 2;
        let (_, m, _) = v.select_nth_unstable(mid);
        Some(Duration::from_nanos(*m))
    }
}

/// Draws on GStreamer buffers: owns a [`Renderer`] and the per-buffer scratch (draw
/// lists, frame descriptions), reused from buffer to buffer so the steady state does
/// not allocate. Used by [`super::probe::attach`] and by the `cudadraw` element; usable directly.
pub struct BufferDrawer {
    renderer: Renderer,
    lists: Vec<DrawList>,
    metas: Vec<FrameMeta>,
    caps: Option<(gst::Caps, StreamInfo)>,
    nvmm: NvmmOptions,
    nvds_meta: crate::nvds::NvdsOptions,
    /// How the last buffer of CUDA memory was drawn (`None` for other buffers).
    last_cuda_path: Option<cudamem::CudaPath>,
    fail_mode: FailMode,
    last_fallback: Option<bool>,
    last_skipped: usize,
    /// Whether the lists of the current buffer were filled (the fallback needs them).
    filled: bool,
}

impl Default for BufferDrawer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for BufferDrawer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferDrawer")
            .field("caps", &self.caps.as_ref().map(|c| c.0.to_string()))
            .finish_non_exhaustive()
    }
}

impl BufferDrawer {
    /// A drawer with an empty image store. The CUDA backend starts on the first
    /// buffer in device memory, never for system memory.
    pub fn new() -> Self {
        let mut renderer = Renderer::new();
        // Lists built from detections made elsewhere: one bad detection must not
        // cancel the others (a redaction above all).
        renderer.set_options(crate::draw::ResolveOptions {
            invalid_ops: crate::draw::InvalidOps::Skip,
            ..Default::default()
        });
        Self {
            renderer,
            lists: Vec::new(),
            metas: Vec::new(),
            caps: None,
            nvmm: NvmmOptions::default(),
            nvds_meta: crate::nvds::NvdsOptions::default(),
            last_cuda_path: None,
            fail_mode: FailMode::PassThrough,
            last_fallback: None,
            last_skipped: 0,
            filled: false,
        }
    }

    /// A drawer whose overlays come from `images`.
    pub fn with_images(images: ImageStore) -> Self {
        let mut d = Self::new();
        *d.renderer.images_mut() = images;
        d
    }

    /// How NVMM buffers are read (ABI, Jetson map path, library location).
    pub fn set_nvmm_options(&mut self, options: NvmmOptions) {
        self.nvmm = options;
    }

    /// How DeepStream metadata is found and read for [`FrameMeta::nvds`].
    pub fn set_nvds_options(&mut self, options: crate::nvds::NvdsOptions) {
        self.nvds_meta = options;
    }

    /// Registers an overlay image for the draw lists of later buffers.
    pub fn add_image(&mut self, image: Image) -> ImageId {
        self.renderer.add_image(image)
    }

    /// The renderer (images, backends).
    pub fn renderer_mut(&mut self) -> &mut Renderer {
        &mut self.renderer
    }

    /// How the last buffer passed to [`draw`](Self::draw) was drawn if it was CUDA
    /// memory that got drawn: in place, or through a staging copy (see [`cudamem`]).
    pub fn last_cuda_path(&self) -> Option<cudamem::CudaPath> {
        self.last_cuda_path
    }

    /// Parsed caps, cached: streams keep their caps object, so this parses once.
    pub fn stream_info(&mut self, caps: &gst::Caps) -> Result<&StreamInfo> {
        let hit = self
            .caps
            .as_ref()
            .is_some_and(|(c, _)| c.as_ptr() == caps.as_ptr() || c == caps);
        if !hit {
            self.caps = None;
            let info = StreamInfo::from_caps(caps)?;
            self.caps = Some((caps.clone(), info));
        }
        match &self.caps {
            Some((_, info)) => Ok(info),
            None => Err(Error::Gst("no caps".into())),
        }
    }

    /// Describes the buffer's frames, lets `fill` write one draw list per frame, and
    /// draws them in place. Returns `Ok(false)` when every list stayed empty (the
    /// buffer is then not even mapped). `buffer` must be writable. Ops that fail
    /// validation are skipped and counted ([`BufferDrawer::last_skipped`]), the others
    /// drawn. On any other error nothing was drawn, except that under
    /// [`FailMode::Redact`] the redactions of the lists are then drawn alone
    /// ([`BufferDrawer::last_fallback`] says whether that worked).
    pub fn draw<F>(
        &mut self,
        buffer: &mut gst::BufferRef,
        caps: &gst::Caps,
        fill: F,
    ) -> Result<bool>
    where
        F: FnOnce(&[FrameMeta], &gst::BufferRef, &mut [DrawList]),
    {
        self.last_cuda_path = None;
        self.last_fallback = None;
        self.last_skipped = 0;
        self.filled = false;
        let result = self.draw_once(buffer, caps, Some(fill));
        if result.is_err() && self.fail_mode == FailMode::Redact {
            let redactions = self.filled && keep_redactions(&mut self.lists);
            let redacted = redactions
                && self
                    .draw_once(
                        buffer,
                        caps,
                        None::<fn(&[FrameMeta], &gst::BufferRef, &mut [DrawList])>,
                    )
                    .is_ok();
            // Lists without redactions need none: nothing was to be hidden.
            let nothing_to_hide = self.filled && !redactions;
            self.last_fallback = Some(redacted || nothing_to_hide);
        }
        result
    }

    /// How a failed draw of the last buffer was covered under [`FailMode::Redact`]:
    /// `Some(true)` when its redactions were drawn alone (or it had none), `Some(false)`
    /// when even that failed (the buffer must not go on), `None` when nothing failed
    /// or the mode is another.
    pub fn last_fallback(&self) -> Option<bool> {
        self.last_fallback
    }

    /// Ops of the last buffer left out because they failed validation (NaN or absurd
    /// coordinates from a detector, say); the others were drawn.
    pub fn last_skipped(&self) -> usize {
        self.last_skipped
    }

    /// What to do with a buffer that cannot be drawn as asked.
    pub fn set_fail_mode(&mut self, mode: FailMode) {
        self.fail_mode = mode;
    }

    /// The mode in force.
    pub fn fail_mode(&self) -> FailMode {
        self.fail_mode
    }

    /// One attempt: with `fill`, describe the frames and fill the lists first; without,
    /// draw the lists as they are (the redaction fallback).
    fn draw_once<F>(
        &mut self,
        buffer: &mut gst::BufferRef,
        caps: &gst::Caps,
        fill: Option<F>,
    ) -> Result<bool>
    where
        F: FnOnce(&[FrameMeta], &gst::BufferRef, &mut [DrawList]),
    {
        let info = self.stream_info(caps)?.clone_light();
        check_memory(buffer, info.memory)?;
        let drawn = match info.memory {
            MemoryKind::System | MemoryKind::Cuda => {
                if let Some(fill) = fill {
                    self.prepare(1);
                    let nvds = nvds_facts(buffer, &self.nvds_meta);
                    self.metas.push(FrameMeta {
                        index: 0,
                        width: info.video.width(),
                        height: info.video.height(),
                        pts: buffer.pts(),
                        nvds: nvds.iter().find(|f| f.batch_id == 0).copied(),
                    });
                    fill(&self.metas, buffer, &mut self.lists);
                    self.filled = true;
                }
                if self.lists.iter().all(DrawList::is_empty) {
                    return Ok(false);
                }
                if info.memory == MemoryKind::System {
                    self.render_system(buffer, &info)?;
                } else {
                    self.render_cuda(buffer, &info)?;
                }
                true
            }
            MemoryKind::Nvmm => self.draw_nvmm(buffer, &info, fill)?,
        };
        if drawn {
            self.last_skipped = self.renderer.last_resolved().skipped();
        }
        Ok(drawn)
    }

    /// Why the first few ops of the last buffer were skipped.
    pub fn last_skipped_reasons(&self) -> &[String] {
        self.renderer.last_resolved().skipped_errors()
    }

    fn prepare(&mut self, n: usize) {
        self.metas.clear();
        if self.lists.len() < n {
            self.lists.resize_with(n, DrawList::new);
        }
        self.lists.truncate(n);
        for l in &mut self.lists {
            l.clear();
        }
    }

    fn render_system(&mut self, buffer: &mut gst::BufferRef, info: &LightInfo) -> Result<()> {
        let format = match info.format {
            StreamFormat::Packed(p) => p,
            StreamFormat::Planar { .. } => return self.render_system_planar(buffer, info),
        };
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &info.video)
            .map_err(|e| Error::Gst(format!("cannot map the buffer writable: {e}")))?;
        let pitch = usize::try_from(frame.plane_stride()[0])
            .map_err(|_| Error::Gst("negative stride (bottom-up frames are not drawn)".into()))?;
        let fi = FrameInfo::new(info.video.width(), info.video.height(), pitch, format);
        let data = frame
            .plane_data_mut(0)
            .map_err(|e| Error::Gst(format!("cannot access plane 0: {e}")))?;
        let mut hf = HostFrame::new(data, fi)?;
        self.renderer
            .render_host(std::slice::from_mut(&mut hf), &self.lists)
    }

    /// An NV12 or I420 buffer in system memory: plane offsets and strides from its
    /// `GstVideoMeta` (which must agree with the caps' format and size) or else the
    /// caps' default layout, as `gst_video_frame_map` reads them; the buffer mapped
    /// writable once (several memories are merged), the planes checked to lie inside it
    /// and apart ([`PlanarFrame::new`]), then the CPU renderer.
    fn render_system_planar(
        &mut self,
        buffer: &mut gst::BufferRef,
        info: &LightInfo,
    ) -> Result<()> {
        let StreamFormat::Planar {
            layout,
            matrix,
            range,
        } = info.format
        else {
            return Err(Error::Gst("not a planar stream".into()));
        };
        let v = &info.video;
        let pi =
            super::caps::planar_info(buffer, v, layout, matrix, range, (v.offset(), v.stride()))?;
        let mut map = buffer
            .map_writable()
            .map_err(|e| Error::Gst(format!("cannot map the buffer writable: {e}")))?;
        let mut frame = PlanarFrame::new(map.as_mut_slice(), pi)?;
        self.renderer
            .render_planar_host(std::slice::from_mut(&mut frame), &self.lists)
    }

    #[cfg(not(feature = "cuda"))]
    fn render_cuda(&mut self, _buffer: &mut gst::BufferRef, _info: &LightInfo) -> Result<()> {
        Err(crate::render::no_cuda_feature())
    }

    #[cfg(feature = "cuda")]
    fn render_cuda(&mut self, buffer: &mut gst::BufferRef, info: &LightInfo) -> Result<()> {
        let mapped = cudamem::CudaFrameMap::map(buffer, &info.video, info.format)?;
        let path = self.renderer.render_cuda_memory(
            mapped.frame(),
            mapped.owner_context(),
            &self.lists,
        )?;
        drop(mapped);
        if path == cudamem::CudaPath::Copied {
            gst::trace!(
                super::CAT,
                "CUDA memory of another context: drawn through a staging copy"
            );
        }
        self.last_cuda_path = Some(path);
        Ok(())
    }

    fn draw_nvmm<F>(
        &mut self,
        buffer: &mut gst::BufferRef,
        info: &LightInfo,
        fill: Option<F>,
    ) -> Result<bool>
    where
        F: FnOnce(&[FrameMeta], &gst::BufferRef, &mut [DrawList]),
    {
        let pts = buffer.pts();
        let view: &gst::BufferRef = buffer;
        // SAFETY: this buffer comes from a stream whose negotiated caps say memory:NVMM
        // (`StreamInfo::memory`), so an NvBufSurface producer made it; the size check
        // inside refuses bytes that merely claim to be a descriptor.
        // The batch holds the buffer mapped (read-only: the descriptor) until dropped;
        // the pixels it points to are written by the backends.
        let batch = unsafe { NvmmBatch::from_buffer(view, &self.nvmm) }?;
        check_nvmm_format(&batch, info.format, info.video.format().to_str())?;
        if let Some(fill) = fill {
            self.prepare(batch.frames().len());
            let nvds = nvds_facts(view, &self.nvds_meta);
            self.metas.extend(batch.frames().iter().map(|f| {
                FrameMeta {
                    index: f.index,
                    width: f.width,
                    height: f.height,
                    pts,
                    nvds: nvds
                        .iter()
                        .find(|n| n.batch_id as usize == f.index)
                        .copied(),
                }
            }));
            fill(&self.metas, view, &mut self.lists);
            self.filled = true;
        }
        if self.lists.iter().all(DrawList::is_empty) {
            return Ok(false);
        }
        batch.render(&mut self.renderer, &self.lists)?;
        Ok(true)
    }
}

/// What a probe or the element does with a buffer that cannot be drawn as asked (a
/// CUDA failure, memory that does not match the caps, a malformed descriptor...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailMode {
    /// The buffer goes on undrawn, with a warning (the default).
    #[default]
    PassThrough,
    /// For privacy deployments: the lists' redactions (every blur, drawn as an opaque
    /// fill) are drawn alone; if even that fails, the buffer is dropped. Nothing that
    /// had to be hidden leaves visible.
    Redact,
    /// The buffer is dropped.
    Drop,
}

/// Keeps only the redactions of each list, as opaque fills (a blur's own kind may be
/// what failed); true if any list keeps one.
fn keep_redactions(lists: &mut [DrawList]) -> bool {
    let mut any = false;
    for l in lists {
        l.retain_mut(|op| match op {
            crate::draw::Op::Blur(b) => {
                let color = match b.kind {
                    crate::draw::BlurKind::Solid { color } => color,
                    _ => crate::color::Color::BLACK,
                };
                b.kind = crate::draw::BlurKind::Solid { color };
                true
            }
            _ => false,
        });
        any |= !l.is_empty();
    }
    any
}

/// The parts of [`StreamInfo`] needed per buffer (VideoInfo is a cheap copy).
struct LightInfo {
    memory: MemoryKind,
    video: gst_video::VideoInfo,
    format: StreamFormat,
}

impl StreamInfo {
    fn clone_light(&self) -> LightInfo {
        LightInfo {
            memory: self.memory,
            video: self.video.clone(),
            format: self.format,
        }
    }
}

/// Checks that the buffer's memory is what its caps promise: a buffer claiming CUDA
/// memory must hold GStreamer CUDA memory, a system-memory buffer must not, an NVMM
/// buffer must be large enough to hold a descriptor (checked by the NVMM parser).
pub fn check_memory(buffer: &gst::BufferRef, kind: MemoryKind) -> Result<()> {
    if buffer.n_memory() == 0 {
        return Err(Error::Gst("buffer has no memory".into()));
    }
    let is_cuda = (0..buffer.n_memory()).any(|i| cudamem::is_cuda_memory(buffer.peek_memory(i)));
    match kind {
        MemoryKind::Cuda if !is_cuda => Err(Error::Gst(format!(
            "caps say {CAPS_FEATURE_CUDA} but the buffer holds other memory ({}); passed through undrawn",
            memory_type_name(buffer)
        ))),
        MemoryKind::Cuda if buffer.n_memory() != 1 => Err(Error::Gst(format!(
            "CUDA buffer with {} memories (one expected); passed through undrawn",
            buffer.n_memory()
        ))),
        MemoryKind::System | MemoryKind::Nvmm if is_cuda => Err(Error::Gst(format!(
            "caps say {} but the buffer holds CUDA memory; passed through undrawn",
            kind.caps_feature()
        ))),
        _ => Ok(()),
    }
}

fn memory_type_name(buffer: &gst::BufferRef) -> String {
    buffer
        .peek_memory(0)
        .allocator()
        .map(|a| {
            // SAFETY: every GstAllocator has a valid (possibly null) mem_type string.
            unsafe {
                let p = (*a.as_ptr()).mem_type;
                if p.is_null() {
                    "unknown".to_string()
                } else {
                    std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
                }
            }
        })
        .unwrap_or_else(|| "no allocator".into())
}

/// What became of one buffer, shared by the probe and the element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verdict {
    /// Ops left out by validation.
    pub(crate) skipped: usize,
    /// The buffer must not go on (fail modes).
    pub(crate) drop: bool,
    /// Only its redactions were drawn (fail mode `Redact`).
    pub(crate) redacted_only: bool,
}

impl Verdict {
    pub(crate) fn of(drawer: &BufferDrawer, outcome: &Result<bool>) -> Self {
        let skipped = if outcome.is_ok() {
            drawer.last_skipped()
        } else {
            0
        };
        let (drop, redacted_only) = match (outcome, drawer.fail_mode()) {
            (Ok(_), _) | (Err(_), FailMode::PassThrough) => (false, false),
            (Err(_), FailMode::Drop) => (true, false),
            (Err(_), FailMode::Redact) => match drawer.last_fallback() {
                Some(true) => (false, true),
                _ => (true, false),
            },
        };
        Self {
            skipped,
            drop,
            redacted_only,
        }
    }

    /// The warning to give, if any.
    pub(crate) fn describe(&self, outcome: &Result<bool>, drawer: &BufferDrawer) -> Option<String> {
        match outcome {
            Err(e) if self.drop => Some(format!("cudadraw: buffer dropped (fail mode): {e}")),
            Err(e) if self.redacted_only => Some(format!(
                "cudadraw: only the redactions of the buffer were drawn (fail mode): {e}"
            )),
            Err(e) => Some(format!("cudadraw: buffer passed on undrawn: {e}")),
            Ok(_) if self.skipped > 0 => Some(format!(
                "cudadraw: {} invalid op(s) left out, the rest drawn: {}",
                self.skipped,
                drawer.last_skipped_reasons().join("; ")
            )),
            Ok(_) => None,
        }
    }
}

/// The frame facts of the buffer's DeepStream metadata (empty when it has none, or
/// when it cannot be read: the draw goes on, the reason is logged).
fn nvds_facts(
    buffer: &gst::BufferRef,
    options: &crate::nvds::NvdsOptions,
) -> Vec<crate::nvds::FrameFacts> {
    match crate::nvds::BatchMeta::from_buffer_with(buffer, options, crate::nvds::Depth::Frames) {
        Ok(Some(b)) => b.frames().iter().map(|f| f.facts).collect(),
        Ok(None) => Vec::new(),
        Err(e) => {
            gst::debug!(super::CAT, "DeepStream metadata not read: {e}");
            Vec::new()
        }
    }
}

/// The caps (`format`, named `caps_format`) and an NvBufSurface's descriptor must agree
/// on packed vs NV12 vs I420 (the descriptor's colour format gives the matrix and range).
pub fn check_nvmm_format(
    batch: &NvmmBatch<'_>,
    format: StreamFormat,
    caps_format: &str,
) -> Result<()> {
    for f in batch.frames() {
        let agree = match (format, f.planar) {
            (StreamFormat::Packed(_), None) => true,
            (StreamFormat::Planar { layout, .. }, Some(p)) => p.layout == layout,
            _ => false,
        };
        if !agree {
            return Err(Error::UnsupportedFormat(format!(
                "the caps say {caps_format} but frame {} of the NvBufSurface is {}: passed through undrawn",
                f.index,
                crate::nvmm::abi::color_format_name(f.color_format)
            )));
        }
    }
    Ok(())
}
