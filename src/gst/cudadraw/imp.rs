//! Implementation of the `cudadraw` element (gst-plugins-rs layout: settings behind a
//! mutex, streaming state behind another, one debug category).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;
use gstreamer_base as gst_base;
use gstreamer_base::subclass::prelude::*;

use super::settings::{self, Settings};
use crate::draw::{Filter, ImageId, OverlayOp};
use crate::geom::Rect;
#[cfg(feature = "cuda")]
use crate::gst::cudacontext::SharedContext;
use crate::gst::cudacontext::{self, OfferedContext};
use crate::gst::cudamem::CudaPath;
use crate::gst::drawer::{BufferDrawer, Verdict};
use crate::gst::report::{self, Reporter};
use crate::gst::roi::RoiDrawer;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "cudadraw",
        gst::DebugColorFlags::empty(),
        Some("cudadraw element: ROI boxes, blurs and overlays"),
    )
});

#[derive(Debug)]
struct Overlay {
    location: String,
    id: ImageId,
    width: u32,
    height: u32,
}

/// Streaming state, created in `start`.
#[derive(Debug)]
struct State {
    drawer: BufferDrawer,
    caps: Option<gst::Caps>,
    roi: RoiDrawer,
    overlay: Option<Overlay>,
    /// Location whose loading failed (warned once, not retried per buffer).
    overlay_failed: Option<String>,
    /// The `font` property's path last loaded as `settings::ELEMENT_FONT` (`None`: the
    /// built-in font's copy), once that handle exists.
    font: Option<Option<String>>,
    reporter: Reporter,
}

impl State {
    fn new() -> Self {
        Self {
            drawer: BufferDrawer::new(),
            caps: None,
            roi: RoiDrawer::new(),
            overlay: None,
            overlay_failed: None,
            font: None,
            reporter: Reporter::default(),
        }
    }
}

/// Counters behind the `stats` property (lock-free: read from any thread).
#[derive(Debug, Default)]
struct Stats {
    buffers: AtomicU64,
    drawn: AtomicU64,
    detections: AtomicU64,
    skipped_detections: AtomicU64,
    skipped_ops: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    draw_ns: AtomicU64,
    /// DeepStream items drawn (boxes, blurs, labels, masks, lines, arrows, circles).
    nvds_items: AtomicU64,
}

impl Stats {
    fn reset(&self) {
        for c in [
            &self.buffers,
            &self.drawn,
            &self.detections,
            &self.skipped_detections,
            &self.skipped_ops,
            &self.errors,
            &self.dropped,
            &self.draw_ns,
            &self.nvds_items,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// The `GstCudaContext` the element offers its CUDA neighbours (GStreamer context
/// sharing, type `gst.cuda.context`). Kept across state changes: queries arrive in any
/// state, NULL included (neighbours look for a context when they start).
#[derive(Debug, Default)]
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
enum CudaContextChoice {
    /// Nothing decided yet: offer cudadraw's own context of GPU 0 when asked.
    #[default]
    Unset,
    /// Offer this `GstCudaContext`: cudadraw's own, or one wrapping the same
    /// `CUcontext` that the application set (handed on so the pipeline shares one).
    Ours(gst::Object),
    /// The application (or a parent bin) set a context of another CUDA context: leave
    /// the choice to it and answer no queries; CUDA memory is drawn through copies.
    Foreign,
    /// Offering ours failed once (no libgstcuda, driver or device): not retried.
    Unavailable,
}

#[derive(Default)]
pub struct CudaDraw {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Set once a refused-caps warning was posted (one is enough per run).
    caps_warned: Mutex<bool>,
    cuda_context: Mutex<CudaContextChoice>,
    /// Property warnings that found no bus; posted in `start`.
    /// Kept as text: a message holds a reference to its source, and the element
    /// holding messages about itself would never be freed if it never starts.
    early_warnings: Mutex<Vec<String>>,
    /// Buffers of CUDA memory drawn in place / through staging copies since `start`
    /// (read-only properties `cuda-in-place`, `cuda-copies`; kept after `stop` so they
    /// can be read once a run is over).
    cuda_in_place: AtomicU64,
    cuda_copies: AtomicU64,
    /// Counters of the read-only `stats` property since `start`.
    stats: Stats,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not turn every later buffer into a panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[glib::object_subclass]
impl ObjectSubclass for CudaDraw {
    const NAME: &'static str = "GstCudaDraw";
    type Type = super::CudaDraw;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for CudaDraw {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut v = super::settings::properties();
            v.extend([
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb(
                        "Since the element started: buffers, drawn, detections, \
                            skipped-detections, skipped-ops, errors, dropped, draw-time-us \
                            (total), nvds-items (DeepStream boxes, blurs, labels, masks, lines, \
                            arrows and circles drawn), cuda-in-place, cuda-copies",
                    )
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("cuda-in-place")
                    .nick("CUDA buffers drawn in place")
                    .blurb(
                        "Buffers of CUDA memory drawn in place since the element started \
                            (their memory was in cudadraw's CUDA context, which it offers to \
                            its neighbours)",
                    )
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("cuda-copies")
                    .nick("CUDA buffers drawn through copies")
                    .blurb(
                        "Buffers of CUDA memory drawn through a staging copy since the element \
                            started (their memory was in another CUDA context)",
                    )
                    .read_only()
                    .build(),
            ]);
            v
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        // A bad value is warned about on the bus, after the settings lock is dropped.
        let rejected = lock(&self.settings).set(pspec.name(), value);
        if let Some(text) = rejected {
            gst::warning!(CAT, imp = self, "{text}");
            let msg =
                report::warning_now(self.obj().upcast_ref(), gst::LibraryError::Settings, &text);
            // Properties set before the element is in a pipeline (gst-launch, builders)
            // have no bus yet: such warnings are posted when the element starts.
            if self.obj().post_message(msg).is_err() {
                lock(&self.early_warnings).push(text);
            }
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "cuda-in-place" => self.cuda_in_place.load(Ordering::Relaxed).to_value(),
            "cuda-copies" => self.cuda_copies.load(Ordering::Relaxed).to_value(),
            "stats" => {
                let st = &self.stats;
                let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
                gst::Structure::builder("cudadraw-stats")
                    .field("buffers", get(&st.buffers))
                    .field("drawn", get(&st.drawn))
                    .field("detections", get(&st.detections))
                    .field("skipped-detections", get(&st.skipped_detections))
                    .field("skipped-ops", get(&st.skipped_ops))
                    .field("errors", get(&st.errors))
                    .field("dropped", get(&st.dropped))
                    .field("draw-time-us", get(&st.draw_ns) / 1000)
                    .field("nvds-items", get(&st.nvds_items))
                    .field("cuda-in-place", get(&self.cuda_in_place))
                    .field("cuda-copies", get(&self.cuda_copies))
                    .build()
                    .to_value()
            }
            name => s
                .value(name)
                // Unreachable for registered properties; a typed empty value is harmless.
                .unwrap_or_else(|| glib::Value::from_type(pspec.value_type())),
        }
    }
}

impl GstObjectImpl for CudaDraw {}

impl ElementImpl for CudaDraw {
    fn set_context(&self, context: &gst::Context) {
        // Context sharing as in GStreamer's CUDA elements: a context set by the
        // application or a bin is adopted when it wraps cudadraw's CUDA context, so
        // the one object is handed on; another CUDA context is left to the pipeline.
        match cudacontext::classify_context(context) {
            OfferedContext::NotCuda => {}
            OfferedContext::Ours { object, gpu } => {
                gst::info!(
                    CAT,
                    imp = self,
                    "using the CUDA context set on GPU {gpu}: ours, drawing in place"
                );
                *lock(&self.cuda_context) = CudaContextChoice::Ours(object);
            }
            OfferedContext::Foreign { gpu } => {
                gst::info!(
                    CAT,
                    imp = self,
                    "a foreign CUDA context (GPU {gpu}) was set: not offering ours; \
                     CUDA memory allocated in it is drawn through copies"
                );
                *lock(&self.cuda_context) = CudaContextChoice::Foreign;
            }
        }
        self.parent_set_context(context);
    }

    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "CUDA region drawer",
                "Filter/Effect/Video",
                "Draws region-of-interest boxes, blurs/redactions and an overlay image in place, \
                 on system memory, CUDA memory or NVMM batches",
                "cudadraw developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = crate::gst::caps::template_caps();
            [gst::PadDirection::Src, gst::PadDirection::Sink]
                .into_iter()
                .filter_map(|dir| {
                    let name = if dir == gst::PadDirection::Src {
                        "src"
                    } else {
                        "sink"
                    };
                    gst::PadTemplate::new(name, dir, gst::PadPresence::Always, &caps).ok()
                })
                .collect()
        });
        TEMPLATES.as_ref()
    }
}

impl CudaDraw {
    fn warn_refused(&self, caps: &gst::CapsRef) {
        {
            let mut warned = lock(&self.caps_warned);
            if *warned {
                return;
            }
            *warned = true;
        }
        let text = format!(
            "cudadraw cannot draw on {}: it draws on RGBA, BGRA, RGBx and BGRx video in system memory, \
             memory:CUDAMemory or memory:NVMM (put videoconvert, cudaconvert or nvvideoconvert before it)",
            crate::gst::caps::describe_formats(caps)
        );
        gst::warning!(CAT, imp = self, "{text}");
        gst::element_imp_warning!(self, gst::CoreError::Negotiation, ("{}", text));
    }

    /// Answers a `gst.cuda.context` query with the context the element offers
    /// (creating cudadraw's own on first use); false to let the query go on.
    #[cfg(not(feature = "cuda"))]
    fn answer_cuda_context(&self, _query: &mut gst::QueryRef) -> bool {
        false
    }

    /// Answers a `gst.cuda.context` query with the context the element offers
    /// (creating cudadraw's own on first use); false to let the query go on.
    #[cfg(feature = "cuda")]
    fn answer_cuda_context(&self, query: &mut gst::QueryRef) -> bool {
        let offered = {
            let mut choice = lock(&self.cuda_context);
            if matches!(*choice, CudaContextChoice::Unset) {
                let gpu = lock(&self.settings).gpu_id;
                *choice = match SharedContext::for_gpu(gpu) {
                    Ok(c) => {
                        gst::debug!(
                            CAT,
                            imp = self,
                            "offering cudadraw's CUDA context (GPU {gpu})"
                        );
                        CudaContextChoice::Ours(c.object().clone())
                    }
                    Err(e) => {
                        gst::info!(CAT, imp = self, "not offering a CUDA context: {e}");
                        CudaContextChoice::Unavailable
                    }
                };
            }
            match &*choice {
                CudaContextChoice::Ours(object) => object.clone(),
                _ => return false,
            }
        };
        cudacontext::answer_context_query(self.obj().upcast_ref(), query, &offered)
    }

    /// Loads the overlay named by the settings if it changed, replacing the image of
    /// the previous one in the renderer (a change never grows the image store);
    /// errors warn once per location, through `messages` (posted after unlocking).
    fn sync_overlay(
        &self,
        state: &mut State,
        location: Option<&str>,
        messages: &mut Vec<gst::Message>,
    ) {
        let current = state.overlay.as_ref().map(|o| o.location.as_str());
        if current == location {
            return;
        }
        let Some(location) = location else {
            if let Some(old) = state.overlay.take() {
                state.drawer.renderer_mut().images_mut().remove(old.id);
            }
            return;
        };
        if state.overlay_failed.as_deref() == Some(location) {
            return;
        }
        match crate::draw::png::load_png(std::path::Path::new(location)) {
            Ok(image) => {
                let (width, height) = (image.width(), image.height());
                let images = state.drawer.renderer_mut().images_mut();
                let id = match state.overlay.take() {
                    Some(old) => match images.replace(old.id, image) {
                        Ok(()) => old.id,
                        Err(_) => return,
                    },
                    None => images.add(image),
                };
                state.overlay = Some(Overlay {
                    location: location.to_string(),
                    id,
                    width,
                    height,
                });
                state.overlay_failed = None;
            }
            Err(e) => {
                if let Some(old) = state.overlay.take() {
                    state.drawer.renderer_mut().images_mut().remove(old.id);
                }
                state.overlay_failed = Some(location.to_string());
                let text = format!("overlay-location '{location}' not loaded: {e}");
                gst::warning!(CAT, imp = self, "{text}");
                messages.push(report::warning_now(
                    self.obj().upcast_ref(),
                    gst::ResourceError::OpenRead,
                    &text,
                ));
            }
        }
    }

    /// Registers the `font` property's font as `settings::ELEMENT_FONT` when it
    /// changed (the built-in font when it is unset or fails to load: labels still
    /// draw; the failure warns once per path).
    fn sync_font(&self, state: &mut State, path: Option<&str>, messages: &mut Vec<gst::Message>) {
        if state.font.as_ref().map(Option::as_deref) == Some(path) {
            return;
        }
        let font = match path {
            None => crate::draw::Font::builtin(),
            Some(p) => crate::draw::Font::from_path(p, 0).unwrap_or_else(|e| {
                let text = format!("font '{p}' not loaded, labels use the built-in font: {e}");
                gst::warning!(CAT, imp = self, "{text}");
                messages.push(report::warning_now(
                    self.obj().upcast_ref(),
                    gst::ResourceError::OpenRead,
                    &text,
                ));
                crate::draw::Font::builtin()
            }),
        };
        let images = state.drawer.renderer_mut().images_mut();
        if images.fonts().get(settings::ELEMENT_FONT).is_some() {
            if images.replace_font(settings::ELEMENT_FONT, font).is_err() {
                return;
            }
        } else if images.add_font(font) != settings::ELEMENT_FONT {
            return;
        }
        state.font = Some(path.map(str::to_string));
    }

    fn draw_buffer(
        &self,
        buf: &mut gst::BufferRef,
        messages: &mut Vec<gst::Message>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let start = std::time::Instant::now();
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let Some(caps) = state.caps.clone() else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let settings = lock(&self.settings);
        self.sync_overlay(state, settings.overlay_location.as_deref(), messages);
        if settings.labels {
            self.sync_font(state, settings.font.as_deref(), messages);
        }
        state.drawer.set_fail_mode(settings.fail_mode.into());
        state.roi.collect(buf, &settings.style);

        let State {
            drawer,
            roi,
            overlay,
            ..
        } = state;
        let osd = settings.nvds.enabled.then(|| settings.osd_options());
        let mut nvds_report = NvdsReport::default();
        // nvdsosd's clock: one string per buffer, on every frame of the batch.
        let clock = settings.nvds.display_clock.then(|| {
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let text = crate::nvds::osd::format_clock(&settings.nvds.clock_format, unix);
            let style = crate::draw::TextStyle::new(
                crate::nvds::osd::font_px(settings.nvds.clock_font_size),
                super::settings::argb(settings.nvds.clock_color),
            )
            .halo(1, crate::Color::rgba(0, 0, 0, 200));
            (text, style)
        });
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drawer.draw(buf, &caps, |frames, buffer, lists| {
                roi.check_batch(frames.len());
                // DeepStream metadata, read once per buffer (None: the buffer has none).
                let batch = osd.as_ref().and_then(|_| nvds_report.read(buffer));
                if let Some(b) = batch.as_ref() {
                    nvds_report.check_frames(b, frames.len());
                }
                for (f, list) in frames.iter().zip(lists.iter_mut()) {
                    roi.draw(f.index, (f.width, f.height), &settings.style, list);
                    if let (Some(osd), Some(batch)) = (osd.as_ref(), batch.as_ref()) {
                        nvds_report.draw(batch, f.index, osd, list);
                    }
                    if let Some(o) = overlay.as_ref() {
                        list.push(overlay_op(o, (f.width, f.height), &settings));
                    }
                    if let Some((text, style)) = clock.as_ref() {
                        let (x, y) = (settings.nvds.x_clock_offset, settings.nvds.y_clock_offset);
                        list.text(x as f32, y as f32, text.as_str(), *style);
                    }
                }
            })
        }))
        .unwrap_or_else(|panic| {
            Err(crate::Error::Gst(format!(
                "panic while drawing: {}",
                report::panic_message(panic.as_ref())
            )))
        });
        drop(settings);
        if let Ok(true) = outcome {
            match drawer.last_cuda_path() {
                Some(CudaPath::InPlace) => {
                    self.cuda_in_place.fetch_add(1, Ordering::Relaxed);
                }
                Some(CudaPath::Copied) => {
                    let before = self.cuda_copies.fetch_add(1, Ordering::Relaxed);
                    // Once per run: the counter tells the rest.
                    if before == 0 {
                        gst::info!(
                            CAT,
                            imp = self,
                            "CUDA memory of another CUDA context: drawing through staging \
                             copies (the pipeline did not take cudadraw's context)"
                        );
                    }
                }
                None => {}
            }
        }
        let element: gst::Element = self.obj().clone().upcast();
        let verdict = Verdict::of(&state.drawer, &outcome);
        let took = start.elapsed();
        let st = &self.stats;
        st.buffers.fetch_add(1, Ordering::Relaxed);
        st.detections.fetch_add(
            (state.roi.detections() + nvds_report.objects) as u64,
            Ordering::Relaxed,
        );
        st.skipped_detections.fetch_add(
            (state.roi.skipped().0 + nvds_report.issues.count()) as u64,
            Ordering::Relaxed,
        );
        st.nvds_items
            .fetch_add(nvds_report.counts.drawn() as u64, Ordering::Relaxed);
        st.skipped_ops
            .fetch_add(verdict.skipped as u64, Ordering::Relaxed);
        st.draw_ns.fetch_add(
            took.as_nanos().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
        match &outcome {
            Ok(true) => {
                st.drawn.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(_) => {
                st.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        if verdict.drop {
            st.dropped.fetch_add(1, Ordering::Relaxed);
        }
        gst::log!(
            CAT,
            imp = self,
            "buffer {:?}: {} detection(s), {} left out, {} op(s) skipped, {}, {} us",
            buf.pts(),
            state.roi.detections(),
            state.roi.skipped().0,
            verdict.skipped,
            match (&outcome, state.drawer.last_cuda_path()) {
                (Ok(false), _) => "nothing to draw",
                (Ok(true), Some(CudaPath::InPlace)) => "CUDA memory in place",
                (Ok(true), Some(CudaPath::Copied)) => "CUDA memory through a copy",
                (Ok(true), None) => "drawn",
                (Err(_), _) if verdict.drop => "failed, dropped",
                (Err(_), _) if verdict.redacted_only => "failed, redactions only",
                (Err(_), _) => "failed, passed on undrawn",
            },
            took.as_micros()
        );
        if let (n @ 1.., why) = state.roi.skipped() {
            let text = format!("cudadraw: {n} detection(s) left out, the rest drawn: {why}");
            messages.extend(state.reporter.warning(Some(&element), text));
        }
        if let Some(text) = nvds_report.warning() {
            messages.extend(state.reporter.warning(Some(&element), text));
        }
        if let Some(text) = verdict.describe(&outcome, &state.drawer) {
            messages.extend(state.reporter.warning(Some(&element), text));
        }
        if verdict.drop {
            return Ok(gst_base::BASE_TRANSFORM_FLOW_DROPPED);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

/// The overlay op of a frame of size `size` (negative offsets count from the right
/// and bottom edges).
fn overlay_op(o: &Overlay, size: (u32, u32), s: &Settings) -> OverlayOp {
    let w = if s.overlay_width > 0 {
        s.overlay_width
    } else {
        o.width
    } as f32;
    let h = if s.overlay_height > 0 {
        s.overlay_height
    } else {
        o.height
    } as f32;
    let x = if s.overlay_x < 0 {
        size.0 as f32 + s.overlay_x as f32 - w
    } else {
        s.overlay_x as f32
    };
    let y = if s.overlay_y < 0 {
        size.1 as f32 + s.overlay_y as f32 - h
    } else {
        s.overlay_y as f32
    };
    OverlayOp {
        image: o.id,
        rect: Rect::new(x, y, w, h),
        opacity: s.overlay_opacity as f32,
        filter: Filter::Bilinear,
    }
}

impl BaseTransformImpl for CudaDraw {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let early: Vec<gst::Message> = std::mem::take(&mut *lock(&self.early_warnings))
            .iter()
            .map(|t| report::warning_now(self.obj().upcast_ref(), gst::LibraryError::Settings, t))
            .collect();
        report::post_all(Some(self.obj().upcast_ref()), early);
        *lock(&self.state) = Some(State::new());
        *lock(&self.caps_warned) = false;
        self.cuda_in_place.store(0, Ordering::Relaxed);
        self.cuda_copies.store(0, Ordering::Relaxed);
        self.stats.reset();
        gst::debug!(CAT, imp = self, "started");
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        if let Err(e) = crate::gst::caps::StreamInfo::from_caps(incaps) {
            self.warn_refused(incaps);
            return Err(gst::loggable_error!(CAT, "refusing caps {incaps}: {e}"));
        }
        let mut state = lock(&self.state);
        let state = state.get_or_insert_with(State::new);
        state.caps = Some(incaps.clone());
        gst::debug!(CAT, imp = self, "caps {incaps} -> {outcaps}");
        Ok(())
    }

    fn accept_caps(&self, direction: gst::PadDirection, caps: &gst::Caps) -> bool {
        let ok = self.parent_accept_caps(direction, caps);
        if !ok {
            self.warn_refused(caps);
        }
        ok
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        // CUDA neighbours ask for a context (in either direction, in any state) before
        // they allocate: offering ours makes their memory drawable in place.
        if cudacontext::is_cuda_context_query(query) && self.answer_cuda_context(query) {
            return true;
        }
        // A caps query whose filter has nothing drawable is where an upstream fixed to,
        // say, NV12 learns that negotiation failed: say why, clearly, once.
        let filter = match query.view() {
            gst::QueryView::Caps(q) => q.filter_owned(),
            _ => None,
        };
        let res = BaseTransformImplExt::parent_query(self, direction, query);
        if let (Some(filter), gst::QueryView::Caps(q)) = (filter, query.view()) {
            let empty = q.result().is_none_or(|c| c.is_empty());
            if empty && !filter.is_empty() && !filter.is_any() {
                self.warn_refused(&filter);
            }
        }
        res
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut messages = Vec::new();
        let flow = self.draw_buffer(buf, &mut messages);
        // Posted with every lock dropped: a bus sync handler runs on this thread and
        // may set properties (a fallback overlay-location, say).
        report::post_all(Some(self.obj().upcast_ref()), messages);
        flow
    }
}

/// What the DeepStream metadata of one buffer gave: objects drawn, what was skipped,
/// what waits for an op.
#[derive(Debug, Default)]
struct NvdsReport {
    objects: usize,
    issues: crate::nvds::Issues,
    counts: crate::nvds::osd::OsdCounts,
    error: Option<String>,
}

impl NvdsReport {
    fn read<'a>(&mut self, buffer: &'a gst::BufferRef) -> Option<crate::nvds::BatchMeta<'a>> {
        match crate::nvds::BatchMeta::from_buffer(buffer, &crate::nvds::NvdsOptions::default()) {
            Ok(Some(b)) => {
                self.issues = b.issues().clone();
                Some(b)
            }
            Ok(None) => None,
            Err(e) => {
                self.error = Some(e.to_string());
                None
            }
        }
    }

    fn draw(
        &mut self,
        batch: &crate::nvds::BatchMeta<'_>,
        index: usize,
        osd: &crate::nvds::osd::OsdOptions,
        list: &mut crate::DrawList,
    ) {
        if let Some(frame) = batch.frame_for(index) {
            self.objects += frame.objects.len();
            let c = crate::nvds::osd::draw_frame(frame, osd, list);
            let t = &mut self.counts;
            t.boxes += c.boxes;
            t.blurs += c.blurs;
            t.labels += c.labels;
            t.masks += c.masks;
            t.lines += c.lines;
            t.arrows += c.arrows;
            t.circles += c.circles;
            t.over_limit += c.over_limit;
        }
    }

    /// Frame metas naming a frame the batch lacks are left out, and said so.
    fn check_frames(&mut self, batch: &crate::nvds::BatchMeta<'_>, frames: usize) {
        for f in batch.frames() {
            let id = f.facts.batch_id;
            if id as usize >= frames {
                self.issues.push(|| {
                    format!("frame meta with batch_id {id}, but the batch has {frames} frame(s): left out")
                });
            }
        }
    }

    fn warning(&self) -> Option<String> {
        if let Some(e) = &self.error {
            return Some(format!("cudadraw: DeepStream metadata not drawn: {e}"));
        }
        if self.counts.over_limit > 0 {
            return Some(format!(
                "cudadraw: {} DeepStream item(s) left out: a frame's draw list reached the \
                 draw model's limit of ops per frame",
                self.counts.over_limit
            ));
        }
        (!self.issues.is_empty()).then(|| {
            format!(
                "cudadraw: {} DeepStream metadata item(s) skipped, the rest drawn: {}",
                self.issues.count(),
                self.issues.reasons().join("; ")
            )
        })
    }
}
