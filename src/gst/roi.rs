//! From `GstVideoRegionOfInterestMeta`s to draw lists: the policy of the `cudadraw`
//! element, usable from a probe as well ([`RoiDrawer`] with a [`RoiStyle`]).
//!
//! Detections come from elsewhere (detectors, trackers, C code), so each is validated
//! on its own and one bad detection never cancels the others: coordinates above 2^31
//! are read as the negative values a C sign bug wrote (`x = (guint)-5` is -5); edges
//! far outside the frame are clamped to a margin wider than any outline or expand
//! reaches (a width of `G_MAXUINT` covers the rest of the frame, and a clamped edge
//! draws exactly as the true one); a detection whose `cudadraw` param names no valid
//! frame of the batch is left out and counted. On each frame, blurs (the `blur_types`)
//! come first, then boxes, then labels (when [`RoiStyle::labels`] is set), so boxes
//! and labels over blurred regions stay sharp.
//!
//! A label's text comes from [`RoiLabels::format`]: `{type}` (the ROI type), `{label}`
//! and `{confidence}` / `{confidence:.N}` (from the ROI's `cudadraw` param, else its
//! `detection` param: fields `label` (string) and `confidence` (number); `{label}`
//! falls back to the type, a missing confidence prints nothing), `{id}` (the meta's
//! id); `{{` and `}}` are braces.

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

use crate::color::Color;
use crate::draw::{Align, BlurKind, BlurOp, Border, BoxOp, DrawList, LabelOp, TextStyle};
use crate::geom::Rect;

/// Detection edges are clamped this far outside the frame: farther than any outline
/// (1024) or expand (4096) reaches.
const ROI_MARGIN: i64 = 8192;

/// How detections are drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiStyle {
    /// Outline width in pixels (0: no outline).
    pub outline_width: u32,
    /// Outline colour of types without a class colour.
    pub outline_color: Color,
    pub outline_align: Align,
    /// Outline colour per ROI type.
    pub class_colors: Vec<(String, Color)>,
    /// Fill of boxes (alpha-blended), if any.
    pub fill: Option<Color>,
    /// ROI types blurred or redacted instead of boxed.
    pub blur_types: Vec<String>,
    pub blur: BlurKind,
    /// Pixels added on every side of blurred regions.
    pub expand: f32,
    /// Labels on the boxes (not on blurred regions); `None`: no labels.
    pub labels: Option<RoiLabels>,
}

/// How detections are labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiLabels {
    /// The text of each label (see the module docs); parse it with
    /// [`RoiLabels::check_format`] first.
    pub format: String,
    pub style: TextStyle,
}

impl RoiLabels {
    /// The element's default: `{label} {confidence:.2}` in white, 16 px, on a
    /// translucent black box.
    pub fn new() -> Self {
        Self {
            format: "{label} {confidence:.2}".into(),
            style: TextStyle::new(16, Color::WHITE).background(Color::rgba(0, 0, 0, 160)),
        }
    }

    /// Checks a label format: an error names the first unknown placeholder or
    /// unbalanced brace.
    pub fn check_format(format: &str) -> Result<(), String> {
        format_label(format, "t", None, None, 0, &mut String::new())
    }
}

impl Default for RoiLabels {
    fn default() -> Self {
        Self::new()
    }
}

/// Formats a label into `out` (appended).
fn format_label(
    format: &str,
    ty: &str,
    label: Option<&str>,
    confidence: Option<f64>,
    id: i32,
    out: &mut String,
) -> Result<(), String> {
    use std::fmt::Write;
    let mut rest = format;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err(format!("unmatched '}}' in label format '{format}'"));
        }
        let Some(end) = tail.find('}') else {
            return Err(format!("unclosed '{{' in label format '{format}'"));
        };
        let field = &tail[1..end];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        match (name, spec) {
            ("type", "") => out.push_str(ty),
            ("label", "") => out.push_str(label.unwrap_or(ty)),
            ("id", "") => {
                let _ = write!(out, "{id}");
            }
            ("confidence", spec) => {
                let digits = match spec {
                    "" => 2,
                    s => s
                        .strip_prefix('.')
                        .and_then(|d| d.parse::<usize>().ok())
                        .filter(|d| *d <= 6)
                        .ok_or_else(|| {
                            format!("'{{{field}}}': the precision is written '.N', N <= 6")
                        })?,
                };
                if let Some(c) = confidence.filter(|c| c.is_finite()) {
                    let _ = write!(out, "{c:.digits$}");
                }
            }
            _ => {
                return Err(format!(
                    "unknown placeholder '{{{field}}}' in label format '{format}' (known: \
                     {{type}}, {{label}}, {{confidence}}, {{confidence:.N}}, {{id}})"
                ));
            }
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(())
}

impl Default for RoiStyle {
    fn default() -> Self {
        Self {
            outline_width: 3,
            outline_color: Color::GREEN,
            outline_align: Align::Inside,
            class_colors: Vec::new(),
            fill: None,
            blur_types: Vec::new(),
            blur: BlurKind::Box { radius: 12 },
            expand: 0.0,
            labels: None,
        }
    }
}

/// A detection, validated.
#[derive(Debug, Clone, Copy)]
struct Detection {
    /// Its label's text in [`RoiDrawer::texts`] (empty without labels).
    text: (u32, u32),
    /// Edges [x0, x1) x [y0, y1), in i64 so that no detection can overflow.
    edges: [i64; 4],
    blur: bool,
    color: Color,
    /// The batch frame it belongs to (param `cudadraw`, field `frame`); `None`: every
    /// frame.
    frame: Option<u32>,
}

/// Collects a buffer's detections and draws them; reuse one across buffers (its
/// vectors keep their capacity).
#[derive(Debug, Default)]
pub struct RoiDrawer {
    items: Vec<Detection>,
    /// The label texts of `items`, back to back.
    texts: String,
    skipped: usize,
    reason: String,
}

impl RoiDrawer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the ROI metas of `buffer` (replacing the previous buffer's).
    pub fn collect(&mut self, buffer: &gst::BufferRef, style: &RoiStyle) {
        self.items.clear();
        self.texts.clear();
        self.skipped = 0;
        self.reason.clear();
        for meta in buffer.iter_meta::<gst_video::VideoRegionOfInterestMeta>() {
            let (x, y, w, h) = meta.rect();
            let ty = meta.roi_type();
            let frame = match meta.param("cudadraw").map(|p| p.value("frame")) {
                None | Some(Err(_)) => None,
                Some(Ok(v)) => match frame_index(v) {
                    Some(f) => Some(f),
                    None => {
                        self.skip(|| {
                            format!(
                                "ROI {} ({ty}): param cudadraw.frame = {} is not a frame index",
                                meta.id(),
                                v.serialize().map(|g| g.to_string()).unwrap_or_default()
                            )
                        });
                        continue;
                    }
                },
            };
            let blur = style.blur_types.iter().any(|b| b == ty);
            let color = style
                .class_colors
                .iter()
                .find(|(n, _)| n == ty)
                .map_or(style.outline_color, |(_, c)| *c);
            // (guint)-5 is what C code writes for -5.
            let (x0, y0) = (i64::from(x as i32), i64::from(y as i32));
            let start = self.texts.len() as u32;
            if let Some(labels) = style.labels.as_ref().filter(|_| !blur) {
                let (label, confidence) = label_params(&meta);
                // The format was checked when it was set; a bad one labels nothing.
                if format_label(
                    &labels.format,
                    ty,
                    label.as_deref(),
                    confidence,
                    meta.id(),
                    &mut self.texts,
                )
                .is_err()
                {
                    self.texts.truncate(start as usize);
                }
                // A trailing space from an absent confidence is not drawn.
                let trimmed = self.texts[start as usize..].trim_end().len();
                self.texts.truncate(start as usize + trimmed);
            }
            self.items.push(Detection {
                text: (start, self.texts.len() as u32),
                edges: [x0, y0, x0 + i64::from(w), y0 + i64::from(h)],
                blur,
                color,
                frame,
            });
        }
    }

    fn skip(&mut self, why: impl FnOnce() -> String) {
        self.skipped += 1;
        if self.reason.is_empty() {
            self.reason = why();
        }
    }

    /// Counts (as skipped) the detections that name a frame a batch of `frames` lacks;
    /// call once per buffer, before [`RoiDrawer::draw`].
    pub fn check_batch(&mut self, frames: usize) {
        let missing: Vec<u32> = self
            .items
            .iter()
            .filter_map(|d| d.frame.filter(|&f| f as usize >= frames))
            .collect();
        for f in missing {
            self.skip(|| format!("an ROI names frame {f} of a {frames}-frame batch"));
        }
    }

    /// Appends frame `frame_index`'s ops (size `(w, h)`) to `list`: blurs, then boxes.
    pub fn draw(
        &self,
        frame_index: usize,
        size: (u32, u32),
        style: &RoiStyle,
        list: &mut DrawList,
    ) {
        let on_frame = |d: &&Detection| d.frame.is_none_or(|f| f as usize == frame_index);
        for d in self.items.iter().filter(on_frame).filter(|d| d.blur) {
            if let Some(rect) = placed(d, size) {
                list.push(BlurOp {
                    rect,
                    kind: style.blur,
                    expand: style.expand,
                });
            }
        }
        for d in self.items.iter().filter(on_frame).filter(|d| !d.blur) {
            let Some(rect) = placed(d, size) else {
                continue;
            };
            let border = (style.outline_width > 0)
                .then(|| Border::new(style.outline_width, d.color).align(style.outline_align));
            let fill = style.fill.filter(|f| f.a > 0);
            if border.is_some() || fill.is_some() {
                list.push(BoxOp { rect, border, fill });
            }
        }
        let Some(labels) = &style.labels else {
            return;
        };
        for d in self.items.iter().filter(on_frame).filter(|d| !d.blur) {
            let text = &self.texts[d.text.0 as usize..d.text.1 as usize];
            let Some(rect) = placed(d, size).filter(|_| !text.is_empty()) else {
                continue;
            };
            list.push(LabelOp {
                rect,
                text: text.to_string(),
                style: labels.style,
            });
        }
    }

    /// Detections of the buffer that will be drawn.
    pub fn detections(&self) -> usize {
        self.items.len()
    }

    /// Detections left out (see the module docs), and why the first one was.
    pub fn skipped(&self) -> (usize, &str) {
        (self.skipped, &self.reason)
    }
}

/// The label and confidence an ROI meta carries: param `cudadraw`, else `detection`.
fn label_params(meta: &gst_video::VideoRegionOfInterestMeta) -> (Option<String>, Option<f64>) {
    for name in ["cudadraw", "detection"] {
        let Some(p) = meta.param(name) else {
            continue;
        };
        let label = p.get::<String>("label").ok();
        let confidence = p
            .get::<f64>("confidence")
            .ok()
            .or_else(|| p.get::<f32>("confidence").ok().map(f64::from));
        if label.is_some() || confidence.is_some() {
            return (label, confidence);
        }
    }
    (None, None)
}

/// A `cudadraw.frame` param value as a frame index (uint, or a non-negative int).
fn frame_index(v: &glib::SendValue) -> Option<u32> {
    v.get::<u32>()
        .ok()
        .or_else(|| v.get::<i32>().ok().and_then(|i| u32::try_from(i).ok()))
        .or_else(|| v.get::<u64>().ok().and_then(|i| u32::try_from(i).ok()))
        .or_else(|| v.get::<i64>().ok().and_then(|i| u32::try_from(i).ok()))
}

/// A detection's edges clamped to the frame plus [`ROI_MARGIN`], as a rectangle; `None`
/// if it is empty.
fn placed(d: &Detection, (w, h): (u32, u32)) -> Option<Rect> {
    let [x0, y0, x1, y1] = d.edges;
    let (w, h) = (i64::from(w), i64::from(h));
    let cx = |v: i64| v.clamp(-ROI_MARGIN, w + ROI_MARGIN);
    let cy = |v: i64| v.clamp(-ROI_MARGIN, h + ROI_MARGIN);
    let (x0, x1, y0, y1) = (cx(x0), cx(x1), cy(y0), cy(y1));
    (x1 > x0 && y1 > y0)
        .then(|| Rect::new(x0 as f32, y0 as f32, (x1 - x0) as f32, (y1 - y0) as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(format: &str, label: Option<&str>, confidence: Option<f64>) -> Result<String, String> {
        let mut s = String::new();
        format_label(format, "person", label, confidence, 7, &mut s).map(|()| s)
    }

    #[test]
    fn label_formats() {
        assert_eq!(
            fmt("{type} {confidence:.2}", None, Some(0.9666)).unwrap(),
            "person 0.97"
        );
        assert_eq!(
            fmt("{label} {confidence}", Some("car"), Some(0.5)).unwrap(),
            "car 0.50"
        );
        assert_eq!(fmt("{label}", None, None).unwrap(), "person");
        assert_eq!(fmt("#{id} {{x}}", None, None).unwrap(), "#7 {x}");
        assert_eq!(fmt("{confidence:.0}%", None, Some(0.4)).unwrap(), "0%");
        assert_eq!(fmt("{type} {confidence}", None, None).unwrap(), "person ");
        for bad in [
            "{nope}",
            "{type",
            "type}",
            "{confidence:3}",
            "{confidence:.9}",
        ] {
            assert!(fmt(bad, None, None).is_err(), "{bad}");
        }
    }
}
