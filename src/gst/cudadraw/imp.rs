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
use gstreamer_video as gst_video;

use super::{BlurMode, FailModeProp, OutlineAlign};
use crate::color::Color;
use crate::draw::{Align, BlurKind, BlurOp, Border, BoxOp, DrawList, Filter, ImageId, OverlayOp};
use crate::geom::Rect;
#[cfg(feature = "cuda")]
use crate::gst::cudamem::SharedContext;
use crate::gst::cudamem::{self, CudaPath, OfferedContext};
use crate::gst::probe::{self, BufferDrawer, CAPS_FEATURE_CUDA, CAPS_FEATURE_NVMM, Verdict};
use crate::gst::report::{self, Reporter};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "cudadraw",
        gst::DebugColorFlags::empty(),
        Some("cudadraw element: ROI boxes, blurs and overlays"),
    )
});

const DEFAULT_OUTLINE_WIDTH: u32 = 3;
const DEFAULT_OUTLINE_COLOR: u32 = 0xff00_ff00;
const DEFAULT_FILL_COLOR: u32 = 0;
const DEFAULT_BLUR_STRENGTH: f64 = 12.0;
const DEFAULT_REDACT_COLOR: u32 = 0xff00_0000;
const DEFAULT_OPACITY: f64 = 1.0;
/// Overlay offsets beyond a frame's largest size only push the overlay out of view.
const MAX_OVERLAY_OFFSET: i32 = crate::frame::MAX_DIMENSION as i32;
/// Detection edges are clamped this far outside the frame: farther than any outline
/// (1024) or expand (4096) reaches, so a clamped edge draws exactly as the true one.
const ROI_MARGIN: i64 = 8192;

/// Property values, as set by the application.
#[derive(Debug, Clone)]
struct Settings {
    outline_width: u32,
    outline_color: u32,
    outline_align: OutlineAlign,
    fill_color: u32,
    class_colors_text: String,
    class_colors: Vec<(String, Color)>,
    blur_types_text: String,
    blur_types: Vec<String>,
    blur_kind: BlurMode,
    blur_strength: f64,
    redact_color: u32,
    expand: f64,
    overlay_location: Option<String>,
    overlay_x: i32,
    overlay_y: i32,
    overlay_width: u32,
    overlay_height: u32,
    overlay_opacity: f64,
    fail_mode: FailModeProp,
    gpu_id: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            outline_width: DEFAULT_OUTLINE_WIDTH,
            outline_color: DEFAULT_OUTLINE_COLOR,
            outline_align: OutlineAlign::Inside,
            fill_color: DEFAULT_FILL_COLOR,
            class_colors_text: String::new(),
            class_colors: Vec::new(),
            blur_types_text: String::new(),
            blur_types: Vec::new(),
            blur_kind: BlurMode::Box,
            blur_strength: DEFAULT_BLUR_STRENGTH,
            redact_color: DEFAULT_REDACT_COLOR,
            expand: 0.0,
            overlay_location: None,
            overlay_x: 0,
            overlay_y: 0,
            overlay_width: 0,
            overlay_height: 0,
            overlay_opacity: DEFAULT_OPACITY,
            fail_mode: FailModeProp::Pass,
            gpu_id: 0,
        }
    }
}

/// `0xAARRGGBB` (the convention of textoverlay and friends) to a straight colour.
pub(crate) fn argb(v: u32) -> Color {
    Color::rgba((v >> 16) as u8, (v >> 8) as u8, v as u8, (v >> 24) as u8)
}

/// Parses `type=0xAARRGGBB,type2=...` (decimal also accepted).
pub(crate) fn parse_class_colors(text: &str) -> Result<Vec<(String, Color)>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, value) = item
            .split_once('=')
            .ok_or_else(|| format!("'{item}' is not type=0xAARRGGBB"))?;
        let value = value.trim();
        let v = match value
            .strip_prefix("0x")
            .or_else(|| value.strip_prefix("0X"))
        {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => value.parse::<u32>(),
        }
        .map_err(|e| format!("colour '{value}' of '{name}': {e}"))?;
        out.push((name.trim().to_string(), argb(v)));
    }
    Ok(out)
}

fn parse_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// An ROI turned into what to draw, collected before the buffer is mapped.
#[derive(Debug, Clone, Copy)]
struct Item {
    /// Edges [x0, x1) x [y0, y1), in i64 so that no detection can overflow.
    edges: [i64; 4],
    blur: bool,
    color: Color,
    /// Frame of an NVMM batch the ROI belongs to (param `cudadraw`, field `frame`);
    /// `None`: every frame.
    frame: Option<u32>,
}

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
    items: Vec<Item>,
    overlay: Option<Overlay>,
    /// Location whose loading failed (warned once, not retried per buffer).
    overlay_failed: Option<String>,
    reporter: Reporter,
    /// Detections of the current buffer left out, and why (the first one).
    bad_items: usize,
    bad_reason: String,
}

impl State {
    fn new() -> Self {
        Self {
            drawer: BufferDrawer::new(),
            caps: None,
            items: Vec::with_capacity(64),
            overlay: None,
            overlay_failed: None,
            reporter: Reporter::default(),
            bad_items: 0,
            bad_reason: String::new(),
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
    early_warnings: Mutex<Vec<gst::Message>>,
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
            vec![
                glib::ParamSpecUInt::builder("outline-width")
                    .nick("Outline width")
                    .blurb("Box outline width in pixels (0: no outline)")
                    .maximum(1024)
                    .default_value(DEFAULT_OUTLINE_WIDTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("outline-color")
                    .nick("Outline colour")
                    .blurb("Box outline colour, 0xAARRGGBB")
                    .default_value(DEFAULT_OUTLINE_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("outline-align", OutlineAlign::Inside)
                    .nick("Outline alignment")
                    .blurb("Where the outline lies relative to the ROI edge")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("fill-color")
                    .nick("Fill colour")
                    .blurb("Box fill, 0xAARRGGBB, alpha-blended (alpha 0: no fill)")
                    .default_value(DEFAULT_FILL_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("class-colors")
                    .nick("Per-type colours")
                    .blurb("Outline colour per ROI type: 'person=0xffff0000,car=0xff0000ff'")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("blur-types")
                    .nick("Blurred ROI types")
                    .blurb("Comma-separated ROI types blurred or redacted instead of boxed, e.g. 'face,license-plate'")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("blur-kind", BlurMode::Box)
                    .nick("Blur kind")
                    .blurb("How blur-types ROIs are hidden")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("blur-strength")
                    .nick("Blur strength")
                    .blurb("Box radius (1-127), gaussian sigma (0.1-32) or pixelate cell (1-1024)")
                    .minimum(0.1)
                    .maximum(1024.0)
                    .default_value(DEFAULT_BLUR_STRENGTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("redact-color")
                    .nick("Redaction colour")
                    .blurb("Colour of blur-kind=solid, 0xAARRGGBB (alpha ignored)")
                    .default_value(DEFAULT_REDACT_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("expand")
                    .nick("Expand")
                    .blurb("Pixels added on every side of blurred regions")
                    .minimum(0.0)
                    .maximum(4096.0)
                    .default_value(0.0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("overlay-location")
                    .nick("Overlay image")
                    .blurb("PNG file blended over every frame (unset: no overlay)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt::builder("overlay-x")
                    .nick("Overlay x")
                    .blurb("Left edge of the overlay; negative: distance of its right edge from the frame's right edge")
                    .minimum(-MAX_OVERLAY_OFFSET)
                    .maximum(MAX_OVERLAY_OFFSET)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt::builder("overlay-y")
                    .nick("Overlay y")
                    .blurb("Top edge of the overlay; negative: distance of its bottom edge from the frame's bottom")
                    .minimum(-MAX_OVERLAY_OFFSET)
                    .maximum(MAX_OVERLAY_OFFSET)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("overlay-width")
                    .nick("Overlay width")
                    .blurb("Drawn width (0: the image's own)")
                    .maximum(16384)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("overlay-height")
                    .nick("Overlay height")
                    .blurb("Drawn height (0: the image's own)")
                    .maximum(16384)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("overlay-opacity")
                    .nick("Overlay opacity")
                    .blurb("Multiplies the overlay's alpha")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_OPACITY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("fail-mode", FailModeProp::Pass)
                    .nick("Fail mode")
                    .blurb("What happens to a buffer that cannot be drawn as asked: pass it on \
                            undrawn (warning), redact (privacy: draw only the blur-types \
                            regions, as opaque fills; drop the buffer if even that fails), or \
                            drop it")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("gpu-id")
                    .nick("GPU")
                    .blurb("CUDA device whose context the element offers its CUDA neighbours \
                            (NVMM batches and CUDA memory are drawn on the GPU they live on)")
                    .maximum(63)
                    .default_value(0)
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Since the element started: buffers, drawn, detections, \
                            skipped-detections, skipped-ops, errors, dropped, draw-time-us \
                            (total), cuda-in-place, cuda-copies")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("cuda-in-place")
                    .nick("CUDA buffers drawn in place")
                    .blurb("Buffers of CUDA memory drawn in place since the element started \
                            (their memory was in cudadraw's CUDA context, which it offers to \
                            its neighbours)")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("cuda-copies")
                    .nick("CUDA buffers drawn through copies")
                    .blurb("Buffers of CUDA memory drawn through a staging copy since the element \
                            started (their memory was in another CUDA context)")
                    .read_only()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        // A bad value is warned about on the bus, after the settings lock is dropped.
        let mut rejected: Option<String> = None;
        self.apply_property(value, pspec, &mut rejected);
        if let Some(text) = rejected {
            gst::warning!(CAT, imp = self, "{text}");
            let msg =
                report::warning_now(self.obj().upcast_ref(), gst::LibraryError::Settings, &text);
            // Properties set before the element is in a pipeline (gst-launch, builders)
            // have no bus yet: such warnings are posted when the element starts.
            if self.obj().post_message(msg.clone()).is_err() {
                lock(&self.early_warnings).push(msg);
            }
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "outline-width" => s.outline_width.to_value(),
            "outline-color" => s.outline_color.to_value(),
            "outline-align" => s.outline_align.to_value(),
            "fill-color" => s.fill_color.to_value(),
            "class-colors" => s.class_colors_text.to_value(),
            "blur-types" => s.blur_types_text.to_value(),
            "blur-kind" => s.blur_kind.to_value(),
            "blur-strength" => s.blur_strength.to_value(),
            "redact-color" => s.redact_color.to_value(),
            "expand" => s.expand.to_value(),
            "overlay-location" => s.overlay_location.to_value(),
            "overlay-x" => s.overlay_x.to_value(),
            "overlay-y" => s.overlay_y.to_value(),
            "overlay-width" => s.overlay_width.to_value(),
            "overlay-height" => s.overlay_height.to_value(),
            "overlay-opacity" => s.overlay_opacity.to_value(),
            "fail-mode" => s.fail_mode.to_value(),
            "cuda-in-place" => self.cuda_in_place.load(Ordering::Relaxed).to_value(),
            "cuda-copies" => self.cuda_copies.load(Ordering::Relaxed).to_value(),
            "gpu-id" => s.gpu_id.to_value(),
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
                    .field("cuda-in-place", get(&self.cuda_in_place))
                    .field("cuda-copies", get(&self.cuda_copies))
                    .build()
                    .to_value()
            }
            // Unreachable for registered properties; a typed empty value is harmless.
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl CudaDraw {
    fn apply_property(
        &self,
        value: &glib::Value,
        pspec: &glib::ParamSpec,
        rejected: &mut Option<String>,
    ) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "outline-width" => s.outline_width = value.get().unwrap_or(DEFAULT_OUTLINE_WIDTH),
            "outline-color" => s.outline_color = value.get().unwrap_or(DEFAULT_OUTLINE_COLOR),
            "outline-align" => s.outline_align = value.get().unwrap_or_default(),
            "fill-color" => s.fill_color = value.get().unwrap_or(DEFAULT_FILL_COLOR),
            "class-colors" => {
                let text: String = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                match parse_class_colors(&text) {
                    Ok(v) => {
                        s.class_colors = v;
                        s.class_colors_text = text;
                    }
                    Err(e) => {
                        *rejected = Some(format!(
                            "class-colors '{text}' rejected (the previous value stays): {e}"
                        ));
                    }
                }
            }
            "blur-types" => {
                let text: String = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                s.blur_types = parse_list(&text);
                s.blur_types_text = text;
            }
            "blur-kind" | "blur-strength" => {
                if pspec.name() == "blur-kind" {
                    s.blur_kind = value.get().unwrap_or_default();
                } else {
                    s.blur_strength = value.get().unwrap_or(DEFAULT_BLUR_STRENGTH);
                }
                // blur-strength means a radius, a sigma or a cell size: say so when the
                // value must be clamped for the kind in force, instead of silently.
                let (what, lo, hi) = match s.blur_kind {
                    BlurMode::Box => ("box radius", 1.0, f64::from(crate::cmd::CD_MAX_BOX_RADIUS)),
                    BlurMode::Gaussian => ("gaussian sigma", 0.1, 32.0),
                    BlurMode::Pixelate => (
                        "pixelate cell",
                        1.0,
                        f64::from(crate::cmd::CD_MAX_PIXELATE_BLOCK),
                    ),
                    BlurMode::Solid => ("", 0.0, f64::MAX),
                };
                let v = s.blur_strength;
                if v < lo || v > hi {
                    *rejected = Some(format!(
                        "blur-strength {v} is outside the {what} range {lo}..={hi} of \
                         blur-kind {:?}: {} is used",
                        s.blur_kind,
                        v.clamp(lo, hi)
                    ));
                }
            }
            "redact-color" => s.redact_color = value.get().unwrap_or(DEFAULT_REDACT_COLOR),
            "expand" => s.expand = value.get().unwrap_or(0.0),
            "overlay-location" => s.overlay_location = value.get().ok().flatten(),
            "overlay-x" => s.overlay_x = value.get().unwrap_or(0),
            "overlay-y" => s.overlay_y = value.get().unwrap_or(0),
            "overlay-width" => s.overlay_width = value.get().unwrap_or(0),
            "overlay-height" => s.overlay_height = value.get().unwrap_or(0),
            "overlay-opacity" => s.overlay_opacity = value.get().unwrap_or(DEFAULT_OPACITY),
            "fail-mode" => s.fail_mode = value.get().unwrap_or_default(),
            "gpu-id" => s.gpu_id = value.get().unwrap_or(0),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }
}

impl GstObjectImpl for CudaDraw {}

impl ElementImpl for CudaDraw {
    fn set_context(&self, context: &gst::Context) {
        // Context sharing as in GStreamer's CUDA elements: a context set by the
        // application or a bin is adopted when it wraps cudadraw's CUDA context, so
        // the one object is handed on; another CUDA context is left to the pipeline.
        match cudamem::classify_context(context) {
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
            let caps = template_caps();
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

/// RGBA, BGRA, RGBx, BGRx in system memory, CUDA memory and NVMM.
pub(crate) fn template_caps() -> gst::Caps {
    let formats = [
        gst_video::VideoFormat::Rgba,
        gst_video::VideoFormat::Bgra,
        gst_video::VideoFormat::Rgbx,
        gst_video::VideoFormat::Bgrx,
    ];
    let mut caps = gst::Caps::new_empty();
    {
        let caps = caps.get_mut().expect("new caps are writable");
        for feature in [None, Some(CAPS_FEATURE_CUDA), Some(CAPS_FEATURE_NVMM)] {
            let c = gst_video::VideoCapsBuilder::new();
            let c = match feature {
                Some(f) => c.features([f]).format_list(formats).build(),
                None => c.format_list(formats).build(),
            };
            caps.append(c);
        }
    }
    caps
}

/// The `format` values (and caps features) of `caps`, for messages.
fn describe_formats(caps: &gst::CapsRef) -> String {
    let mut out: Vec<String> = Vec::new();
    for (s, f) in caps.iter_with_features() {
        let feature = if f.is_any() || f.size() == 0 {
            String::new()
        } else {
            format!("({f})")
        };
        let formats = match s.value("format") {
            Ok(v) => match v.get::<&str>() {
                Ok(one) => one.to_string(),
                Err(_) => v
                    .serialize()
                    .map(|g| g.to_string())
                    .unwrap_or_else(|_| "?".into()),
            },
            Err(_) => "any format".into(),
        };
        let item = format!("{} {formats}{feature}", s.name());
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out.join("; ")
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
            describe_formats(caps)
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
        cudamem::answer_context_query(self.obj().upcast_ref(), query, &offered)
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

    /// Turns the buffer's ROI metas into items, validating each on its own.
    fn collect_items(&self, state: &mut State, buf: &gst::BufferRef, s: &Settings) {
        state.items.clear();
        state.bad_items = 0;
        state.bad_reason.clear();
        for meta in buf.iter_meta::<gst_video::VideoRegionOfInterestMeta>() {
            let (x, y, w, h) = meta.rect();
            let ty = meta.roi_type();
            let frame = match meta.param("cudadraw").map(|p| p.value("frame")) {
                None | Some(Err(_)) => None,
                Some(Ok(v)) => match frame_index(v) {
                    Some(f) => Some(f),
                    None => {
                        state.bad_items += 1;
                        if state.bad_reason.is_empty() {
                            state.bad_reason = format!(
                                "ROI {} ({ty}): param cudadraw.frame = {} is not a frame index",
                                meta.id(),
                                v.serialize().map(|g| g.to_string()).unwrap_or_default()
                            );
                        }
                        continue;
                    }
                },
            };
            let blur = s.blur_types.iter().any(|b| b == ty);
            let color = s
                .class_colors
                .iter()
                .find(|(n, _)| n == ty)
                .map(|(_, c)| *c)
                .unwrap_or_else(|| argb(s.outline_color));
            // (guint)-5 is what C code writes for -5.
            let (x0, y0) = (i64::from(x as i32), i64::from(y as i32));
            state.items.push(Item {
                edges: [x0, y0, x0 + i64::from(w), y0 + i64::from(h)],
                blur,
                color,
                frame,
            });
        }
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
        state.drawer.set_fail_mode(settings.fail_mode.into());
        self.collect_items(state, buf, &settings);

        let State {
            drawer,
            items,
            overlay,
            bad_items,
            bad_reason,
            ..
        } = state;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drawer.draw(buf, &caps, |frames, _buffer, lists| {
                for it in items.iter() {
                    if let Some(f) = it.frame
                        && f as usize >= frames.len()
                    {
                        *bad_items += 1;
                        if bad_reason.is_empty() {
                            *bad_reason =
                                format!("an ROI names frame {f} of a {}-frame batch", frames.len());
                        }
                    }
                }
                for (f, list) in frames.iter().zip(lists.iter_mut()) {
                    build_list(
                        list,
                        f.index,
                        (f.width, f.height),
                        items,
                        &settings,
                        overlay.as_ref(),
                    );
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
        st.detections
            .fetch_add(state.items.len() as u64, Ordering::Relaxed);
        st.skipped_detections
            .fetch_add(state.bad_items as u64, Ordering::Relaxed);
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
            state.items.len(),
            state.bad_items,
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
        if state.bad_items > 0 {
            let text = format!(
                "cudadraw: {} detection(s) left out, the rest drawn: {}",
                state.bad_items, state.bad_reason
            );
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

/// A `cudadraw.frame` param value as a frame index (uint, or a non-negative int).
fn frame_index(v: &glib::SendValue) -> Option<u32> {
    v.get::<u32>()
        .ok()
        .or_else(|| v.get::<i32>().ok().and_then(|i| u32::try_from(i).ok()))
        .or_else(|| v.get::<u64>().ok().and_then(|i| u32::try_from(i).ok()))
        .or_else(|| v.get::<i64>().ok().and_then(|i| u32::try_from(i).ok()))
}

/// An item's edges clamped to the frame plus [`ROI_MARGIN`], as a rectangle; `None` if
/// it covers nothing of the frame.
fn placed(it: &Item, (w, h): (u32, u32)) -> Option<Rect> {
    let [x0, y0, x1, y1] = it.edges;
    let (w, h) = (i64::from(w), i64::from(h));
    let cx = |v: i64| v.clamp(-ROI_MARGIN, w + ROI_MARGIN);
    let cy = |v: i64| v.clamp(-ROI_MARGIN, h + ROI_MARGIN);
    let (x0, x1, y0, y1) = (cx(x0), cx(x1), cy(y0), cy(y1));
    (x1 > x0 && y1 > y0)
        .then(|| Rect::new(x0 as f32, y0 as f32, (x1 - x0) as f32, (y1 - y0) as f32))
}

/// Builds one frame's list from the collected ROIs (blurs first, so that boxes drawn
/// over blurred regions stay sharp), then the overlay.
fn build_list(
    list: &mut DrawList,
    frame_index: usize,
    size: (u32, u32),
    items: &[Item],
    s: &Settings,
    overlay: Option<&Overlay>,
) {
    let kind = match s.blur_kind {
        BlurMode::Box => BlurKind::Box {
            radius: s
                .blur_strength
                .round()
                .clamp(1.0, f64::from(crate::cmd::CD_MAX_BOX_RADIUS)) as u32,
        },
        BlurMode::Gaussian => BlurKind::Gaussian {
            sigma: s.blur_strength.clamp(0.1, 32.0) as f32,
        },
        BlurMode::Pixelate => BlurKind::Pixelate {
            block: s
                .blur_strength
                .round()
                .clamp(1.0, f64::from(crate::cmd::CD_MAX_PIXELATE_BLOCK)) as u32,
        },
        BlurMode::Solid => BlurKind::Solid {
            color: argb(s.redact_color),
        },
    };
    let on_frame = |it: &&Item| it.frame.is_none_or(|f| f as usize == frame_index);
    for it in items.iter().filter(on_frame).filter(|it| it.blur) {
        let Some(rect) = placed(it, size) else {
            continue;
        };
        list.push(BlurOp {
            rect,
            kind,
            expand: s.expand as f32,
        });
    }
    let align = match s.outline_align {
        OutlineAlign::Inside => Align::Inside,
        OutlineAlign::Center => Align::Center,
        OutlineAlign::Outside => Align::Outside,
    };
    let fill = argb(s.fill_color);
    for it in items.iter().filter(on_frame).filter(|it| !it.blur) {
        let Some(rect) = placed(it, size) else {
            continue;
        };
        let border =
            (s.outline_width > 0).then(|| Border::new(s.outline_width, it.color).align(align));
        let fill = (fill.a > 0).then_some(fill);
        if border.is_some() || fill.is_some() {
            list.push(BoxOp { rect, border, fill });
        }
    }
    if let Some(o) = overlay {
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
        list.push(OverlayOp {
            image: o.id,
            rect: Rect::new(x, y, w, h),
            opacity: s.overlay_opacity as f32,
            filter: Filter::Bilinear,
        });
    }
}

impl BaseTransformImpl for CudaDraw {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let early = std::mem::take(&mut *lock(&self.early_warnings));
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
        if let Err(e) = probe::StreamInfo::from_caps(incaps) {
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
        if cudamem::is_cuda_context_query(query) && self.answer_cuda_context(query) {
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
