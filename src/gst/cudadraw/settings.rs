//! The `cudadraw` element's settings: property values as the application set them,
//! their defaults and documentation, parsing, and the ROI policy they select.

use gstreamer::glib;
use gstreamer::prelude::*;

use super::{BlurMode, FailModeProp, OutlineAlign};
use crate::color::Color;
use crate::draw::{Align, BlurKind, FontId};
use crate::gst::roi::{RoiLabels, RoiStyle};

const DEFAULT_OUTLINE_WIDTH: u32 = 3;
const DEFAULT_OUTLINE_COLOR: u32 = 0xff00_ff00;
const DEFAULT_FILL_COLOR: u32 = 0;
const DEFAULT_BLUR_STRENGTH: f64 = 12.0;
const DEFAULT_REDACT_COLOR: u32 = 0xff00_0000;
const DEFAULT_OPACITY: f64 = 1.0;
const DEFAULT_LABEL_FORMAT: &str = "{label} {confidence:.2}";
const DEFAULT_FONT_SIZE: u32 = 16;
const DEFAULT_LABEL_COLOR: u32 = 0xffff_ffff;
const DEFAULT_LABEL_BG_COLOR: u32 = 0xa000_0000;
/// The element registers the `font` property's font under this handle (the built-in
/// font's copy while none is loaded).
pub(super) const ELEMENT_FONT: FontId = FontId(1);
/// Overlay offsets beyond a frame's largest size only push the overlay out of view.
const MAX_OVERLAY_OFFSET: i32 = crate::frame::MAX_DIMENSION as i32;

/// Property values, as set by the application.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) outline_width: u32,
    pub(super) outline_color: u32,
    pub(super) outline_align: OutlineAlign,
    pub(super) fill_color: u32,
    pub(super) class_colors_text: String,
    pub(super) class_colors: Vec<(String, Color)>,
    pub(super) blur_types_text: String,
    pub(super) blur_types: Vec<String>,
    pub(super) blur_kind: BlurMode,
    pub(super) blur_strength: f64,
    pub(super) redact_color: u32,
    pub(super) expand: f64,
    pub(super) overlay_location: Option<String>,
    pub(super) overlay_x: i32,
    pub(super) overlay_y: i32,
    pub(super) overlay_width: u32,
    pub(super) overlay_height: u32,
    pub(super) overlay_opacity: f64,
    pub(super) fail_mode: FailModeProp,
    pub(super) gpu_id: u32,
    pub(super) labels: bool,
    pub(super) label_format: String,
    pub(super) font: Option<String>,
    pub(super) font_size: u32,
    pub(super) label_color: u32,
    pub(super) label_bg_color: u32,
    /// DeepStream metadata (nvdsosd's properties; see the module docs).
    pub(super) nvds: NvdsSettings,
    /// The ROI policy's view of the settings above (kept in step by `apply_property`).
    pub(super) style: RoiStyle,
}

impl Settings {
    fn roi_style(&self) -> RoiStyle {
        let blur = match self.blur_kind {
            BlurMode::Box => BlurKind::Box {
                radius: self
                    .blur_strength
                    .round()
                    .clamp(1.0, f64::from(crate::cmd::CD_MAX_BOX_RADIUS))
                    as u32,
            },
            BlurMode::Gaussian => BlurKind::Gaussian {
                sigma: self.blur_strength.clamp(0.1, 32.0) as f32,
            },
            BlurMode::Pixelate => BlurKind::Pixelate {
                block: self
                    .blur_strength
                    .round()
                    .clamp(1.0, f64::from(crate::cmd::CD_MAX_PIXELATE_BLOCK))
                    as u32,
            },
            BlurMode::Solid => BlurKind::Solid {
                color: argb(self.redact_color),
            },
        };
        RoiStyle {
            outline_width: self.outline_width,
            outline_color: argb(self.outline_color),
            outline_align: match self.outline_align {
                OutlineAlign::Inside => Align::Inside,
                OutlineAlign::Center => Align::Center,
                OutlineAlign::Outside => Align::Outside,
            },
            class_colors: self.class_colors.clone(),
            fill: Some(argb(self.fill_color)).filter(|c| c.a > 0),
            blur_types: self.blur_types.clone(),
            blur,
            expand: self.expand as f32,
            labels: self.labels.then(|| {
                let mut l = RoiLabels::new();
                l.format = self.label_format.clone();
                l.style.size = self.font_size;
                l.style.color = argb(self.label_color);
                l.style.background = Some(argb(self.label_bg_color)).filter(|c| c.a > 0);
                l.style.font = ELEMENT_FONT;
                l
            }),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        let mut s = Self {
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
            labels: false,
            label_format: DEFAULT_LABEL_FORMAT.into(),
            font: None,
            font_size: DEFAULT_FONT_SIZE,
            label_color: DEFAULT_LABEL_COLOR,
            label_bg_color: DEFAULT_LABEL_BG_COLOR,
            nvds: NvdsSettings::default(),
            style: RoiStyle::default(),
        };
        s.style = s.roi_style();
        s
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

pub(crate) fn parse_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The property specs of the settings (the element adds its read-only counters).
pub(super) fn properties() -> Vec<glib::ParamSpec> {
    let mut v = base_properties();
    v.extend(nvds_properties());
    v
}

fn base_properties() -> Vec<glib::ParamSpec> {
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
                glib::ParamSpecBoolean::builder("labels")
                    .nick("Labels")
                    .blurb("Label every boxed ROI (text from label-format) above its top-left \
                            corner, inside when it would leave the frame")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("label-format")
                    .nick("Label format")
                    .blurb("Label text: {type} (ROI type), {label} and {confidence} or \
                            {confidence:.N} (from the ROI's 'cudadraw' or 'detection' param; \
                            {label} falls back to the type), {id}")
                    .default_value(Some(DEFAULT_LABEL_FORMAT))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("font")
                    .nick("Font")
                    .blurb("TrueType/OpenType font file of the labels (unset: the built-in \
                            DejaVu Sans)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("font-size")
                    .nick("Font size")
                    .blurb("Label size in pixels per em")
                    .minimum(crate::cmd::CD_MIN_TEXT_SIZE)
                    .maximum(crate::cmd::CD_MAX_TEXT_SIZE)
                    .default_value(DEFAULT_FONT_SIZE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("label-color")
                    .nick("Label colour")
                    .blurb("Label text colour, 0xAARRGGBB")
                    .default_value(DEFAULT_LABEL_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("label-bg-color")
                    .nick("Label background")
                    .blurb("Colour of the box behind each label, 0xAARRGGBB (alpha 0: none)")
                    .default_value(DEFAULT_LABEL_BG_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("gpu-id")
                    .nick("GPU")
                    .blurb("CUDA device whose context the element offers its CUDA neighbours \
                            (NVMM batches and CUDA memory are drawn on the GPU they live on)")
                    .maximum(63)
                    .default_value(0)
                    .build(),
    ]
}

impl Settings {
    /// The value of property `name`, `None` if it is not a setting.
    pub(super) fn value(&self, name: &str) -> Option<glib::Value> {
        Some(match name {
            "outline-width" => self.outline_width.to_value(),
            "outline-color" => self.outline_color.to_value(),
            "outline-align" => self.outline_align.to_value(),
            "fill-color" => self.fill_color.to_value(),
            "class-colors" => self.class_colors_text.to_value(),
            "blur-types" => self.blur_types_text.to_value(),
            "blur-kind" => self.blur_kind.to_value(),
            "blur-strength" => self.blur_strength.to_value(),
            "redact-color" => self.redact_color.to_value(),
            "expand" => self.expand.to_value(),
            "overlay-location" => self.overlay_location.to_value(),
            "overlay-x" => self.overlay_x.to_value(),
            "overlay-y" => self.overlay_y.to_value(),
            "overlay-width" => self.overlay_width.to_value(),
            "overlay-height" => self.overlay_height.to_value(),
            "overlay-opacity" => self.overlay_opacity.to_value(),
            "fail-mode" => self.fail_mode.to_value(),
            "gpu-id" => self.gpu_id.to_value(),
            "labels" => self.labels.to_value(),
            "label-format" => self.label_format.to_value(),
            "font" => self.font.to_value(),
            "font-size" => self.font_size.to_value(),
            "label-color" => self.label_color.to_value(),
            "label-bg-color" => self.label_bg_color.to_value(),
            other => return self.nvds.value(other),
        })
    }

    /// Sets property `name`; returns a warning for the bus when the value was
    /// rejected or had to be adjusted.
    pub(super) fn set(&mut self, name: &str, value: &glib::Value) -> Option<String> {
        let s = self;
        let mut rejected: Option<String> = None;
        match name {
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
                        rejected = Some(format!(
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
                if name == "blur-kind" {
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
                    rejected = Some(format!(
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
            "labels" => s.labels = value.get().unwrap_or(false),
            "label-format" => {
                let text: String = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| DEFAULT_LABEL_FORMAT.into());
                match RoiLabels::check_format(&text) {
                    Ok(()) => s.label_format = text,
                    Err(e) => {
                        rejected = Some(format!(
                            "label-format rejected (the previous value stays): {e}"
                        ));
                    }
                }
            }
            "font" => {
                s.font = value
                    .get()
                    .ok()
                    .flatten()
                    .filter(|p: &String| !p.is_empty())
            }
            "font-size" => s.font_size = value.get().unwrap_or(DEFAULT_FONT_SIZE),
            "label-color" => s.label_color = value.get().unwrap_or(DEFAULT_LABEL_COLOR),
            "label-bg-color" => s.label_bg_color = value.get().unwrap_or(DEFAULT_LABEL_BG_COLOR),
            other => rejected = s.nvds.set(other, value),
        }
        s.style = s.roi_style();
        rejected
    }
}

/// The DeepStream-metadata settings: nvdsosd's property names where they mean the
/// same, plus `nvds-meta` and `blur-class-ids`.
#[derive(Debug, Clone)]
pub(super) struct NvdsSettings {
    pub(super) enabled: bool,
    pub(super) display_text: bool,
    pub(super) display_bbox: bool,
    pub(super) display_mask: bool,
    pub(super) display_clock: bool,
    pub(super) clock_format: String,
    pub(super) clock_font_size: u32,
    pub(super) clock_color: u32,
    pub(super) x_clock_offset: u32,
    pub(super) y_clock_offset: u32,
    pub(super) process_mode: ProcessMode,
    pub(super) blur_class_ids_text: String,
    pub(super) blur_class_ids: Vec<i32>,
}

const DEFAULT_CLOCK_FORMAT: &str = "%H:%M:%S";
const DEFAULT_CLOCK_FONT_SIZE: u32 = 12;
const DEFAULT_CLOCK_COLOR: u32 = 0xffff_ffff;

impl Default for NvdsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            display_text: true,
            display_bbox: true,
            display_mask: true,
            display_clock: false,
            clock_format: DEFAULT_CLOCK_FORMAT.into(),
            clock_font_size: DEFAULT_CLOCK_FONT_SIZE,
            clock_color: DEFAULT_CLOCK_COLOR,
            x_clock_offset: 16,
            y_clock_offset: 16,
            process_mode: ProcessMode::Gpu,
            blur_class_ids_text: String::new(),
            blur_class_ids: Vec::new(),
        }
    }
}

/// nvdsosd's `process-mode`, accepted for drop-in compatibility (cudadraw picks its
/// path from the memory type: CUDA on the GPU, mapped or system memory on the CPU).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstCudaDrawProcessMode")]
pub enum ProcessMode {
    #[enum_value(
        name = "CPU (accepted, ignored: the path follows the memory)",
        nick = "cpu"
    )]
    Cpu = 0,
    #[default]
    #[enum_value(
        name = "GPU (accepted, ignored: the path follows the memory)",
        nick = "gpu"
    )]
    Gpu = 1,
    #[enum_value(
        name = "HW/VIC (accepted, ignored: the path follows the memory)",
        nick = "hw"
    )]
    Hw = 2,
}

/// Parses `0,2` (class ids, decimal, possibly negative).
pub(crate) fn parse_class_ids(text: &str) -> Result<Vec<i32>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i32>()
                .map_err(|e| format!("'{s}' is not a class id: {e}"))
        })
        .collect()
}

fn nvds_properties() -> Vec<glib::ParamSpec> {
    let flag = |name: &str, nick: &str, blurb: &str, default: bool| {
        glib::ParamSpecBoolean::builder(name)
            .nick(nick)
            .blurb(blurb)
            .default_value(default)
            .mutable_playing()
            .build()
    };
    vec![
        flag(
            "nvds-meta",
            "DeepStream metadata",
            "Draw the NvDsBatchMeta of the buffer (objects, display metas) as nvdsosd does",
            true,
        ),
        flag(
            "display-bbox",
            "Display boxes",
            "Draw object boxes (nvdsosd's display-bbox)",
            true,
        ),
        flag(
            "display-text",
            "Display text",
            "Draw object labels and display-meta texts (nvdsosd's display-text)",
            true,
        ),
        flag(
            "display-mask",
            "Display masks",
            "Draw instance masks (nvdsosd's display-mask; waits for the mask op: nothing drawn yet)",
            true,
        ),
        flag(
            "display-clock",
            "Display clock",
            "Draw a clock, UTC wall time when the buffer is drawn, on every frame (nvdsosd's \
             display-clock)",
            false,
        ),
        glib::ParamSpecString::builder("clock-format")
            .nick("Clock format")
            .blurb("Clock text: strftime's %Y %m %d %H %M %S %y %e %j %% (display-clock)")
            .default_value(Some(DEFAULT_CLOCK_FORMAT))
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("clock-font-size")
            .nick("Clock font size")
            .blurb("Clock size in points (px = pt * 4 / 3), as nvdsosd's")
            .minimum(5)
            .maximum(192)
            .default_value(DEFAULT_CLOCK_FONT_SIZE)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("clock-color")
            .nick("Clock colour")
            .blurb("Clock text colour, 0xAARRGGBB")
            .default_value(DEFAULT_CLOCK_COLOR)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("x-clock-offset")
            .nick("Clock x")
            .blurb("Left edge of the clock text, pixels")
            .maximum(16384)
            .default_value(16)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("y-clock-offset")
            .nick("Clock y")
            .blurb("Top edge of the clock text, pixels")
            .maximum(16384)
            .default_value(16)
            .mutable_playing()
            .build(),
        glib::ParamSpecEnum::builder_with_default("process-mode", ProcessMode::Gpu)
            .nick("Process mode")
            .blurb(
                "nvdsosd's process-mode, accepted for drop-in compatibility and ignored: \
                    cudadraw draws CUDA memory on the GPU and host memory on the CPU",
            )
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("blur-class-ids")
            .nick("Blurred class ids")
            .blurb(
                "Comma-separated class ids (e.g. '0,2') whose objects are blurred or redacted \
                    (blur-kind, blur-strength, expand) instead of boxed",
            )
            .mutable_playing()
            .build(),
    ]
}

impl NvdsSettings {
    fn value(&self, name: &str) -> Option<glib::Value> {
        Some(match name {
            "nvds-meta" => self.enabled.to_value(),
            "display-bbox" => self.display_bbox.to_value(),
            "display-text" => self.display_text.to_value(),
            "display-mask" => self.display_mask.to_value(),
            "display-clock" => self.display_clock.to_value(),
            "clock-format" => self.clock_format.to_value(),
            "clock-font-size" => self.clock_font_size.to_value(),
            "clock-color" => self.clock_color.to_value(),
            "x-clock-offset" => self.x_clock_offset.to_value(),
            "y-clock-offset" => self.y_clock_offset.to_value(),
            "process-mode" => self.process_mode.to_value(),
            "blur-class-ids" => self.blur_class_ids_text.to_value(),
            _ => return None,
        })
    }

    fn set(&mut self, name: &str, value: &glib::Value) -> Option<String> {
        match name {
            "nvds-meta" => self.enabled = value.get().unwrap_or(true),
            "display-bbox" => self.display_bbox = value.get().unwrap_or(true),
            "display-text" => self.display_text = value.get().unwrap_or(true),
            "display-mask" => self.display_mask = value.get().unwrap_or(true),
            "display-clock" => self.display_clock = value.get().unwrap_or(false),
            "clock-format" => {
                self.clock_format = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| DEFAULT_CLOCK_FORMAT.into())
            }
            "clock-font-size" => {
                self.clock_font_size = value.get().unwrap_or(DEFAULT_CLOCK_FONT_SIZE)
            }
            "clock-color" => self.clock_color = value.get().unwrap_or(DEFAULT_CLOCK_COLOR),
            "x-clock-offset" => self.x_clock_offset = value.get().unwrap_or(16),
            "y-clock-offset" => self.y_clock_offset = value.get().unwrap_or(16),
            "process-mode" => self.process_mode = value.get().unwrap_or_default(),
            "blur-class-ids" => {
                let text: String = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                match parse_class_ids(&text) {
                    Ok(ids) => {
                        self.blur_class_ids = ids;
                        self.blur_class_ids_text = text;
                    }
                    Err(e) => {
                        return Some(format!(
                            "blur-class-ids '{text}' rejected (the previous value stays): {e}"
                        ));
                    }
                }
            }
            _ => {}
        }
        None
    }
}

impl Settings {
    /// What to draw of the DeepStream metadata.
    pub(super) fn osd_options(&self) -> crate::nvds::osd::OsdOptions {
        crate::nvds::osd::OsdOptions {
            display_bbox: self.nvds.display_bbox,
            display_text: self.nvds.display_text,
            display_mask: self.nvds.display_mask,
            display_meta: true,
            blur_class_ids: self.nvds.blur_class_ids.clone(),
            blur: self.style.blur,
            expand: self.style.expand,
            align: self.style.outline_align,
            ..Default::default()
        }
    }
}
