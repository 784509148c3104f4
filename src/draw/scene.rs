//! Scene files: draw lists as JSON.
//!
//! ```json
//! {"frames": [[
//!   {"rect": {"left": 10, "top": 10, "width": 100, "height": 50,
//!             "border": {"width": 4, "color": [255, 0, 0, 255], "align": "center"},
//!             "fill": [0, 255, 0, 80]}},
//!   {"blur": {"left": 50, "top": 50, "width": 128, "height": 96,
//!             "kind": {"box": {"radius": 7}}, "expand": 0}},
//!   {"overlay": {"image": "logo.png", "left": 0, "top": 0, "width": 64, "height": 64,
//!                "opacity": 1.0, "filter": "bilinear"}}
//! ]]}
//! ```
//!
//! - `frames`: one list of ops per frame of a batch (at least one).
//! - `rect`: `border` (`width`, `color`, `align`: `inside` (default) | `center` |
//!   `outside`) and `fill` are optional.
//! - `blur`: `kind` is one of `{"box":{"radius":R}}`, `{"gaussian":{"sigma":S}}`,
//!   `{"pixelate":{"block":B}}`, `{"solid":{"color":[r,g,b,a]}}`; `expand` defaults to 0.
//! - `overlay`: `image` is a PNG path relative to the scene file; `opacity` defaults
//!   to 1, `filter` (`nearest` | `bilinear`) to bilinear.
//! - `text`: `{"text": "person 0.97", "x": 10, "y": 20}` plus optional `anchor`
//!   (`top`: (x, y) is the top-left of the first line's box, the default; `baseline`),
//!   and the style fields below.
//! - `label`: `{"left", "top", "width", "height", "text"}` (the box it labels, placed as
//!   nvdsosd places labels) plus the style fields.
//! - Style fields of `text` and `label`: `size` (px, default 16), `color` (default
//!   white), `font` (a TTF/OTF/TTC path relative to the scene file; default the
//!   built-in DejaVu Sans), `font_index` (face in a collection, default 0),
//!   `background` (colour of a box behind the text), `padding` (px, default 2),
//!   `halo` (`{"width": 1..3, "color": [...]}`).
//! - Shapes (points are `[x, y]`; `aa` (anti-aliasing) defaults to false, `width` is
//!   the stroke width in px; colours `[r, g, b, a]`):
//!   `{"line": {"from", "to", "width", "color", "cap": "flat"|"round"}}`,
//!   `{"polyline": {"points": [[x, y], ...], "closed", "width", "color", "cap"}}`,
//!   `{"polygon": {"points", "fill", "outline": {"width", "color"}}}`,
//!   `{"arrow": {"from", "to", "width", "color", "head_length", "head_angle" (degrees),
//!   "ends": "end"|"start"|"both"}}`, `{"circle": {"center", "radius", "outline",
//!   "align", "fill"}}`, `{"ellipse": {"center", "rx", "ry", "outline", "align", "fill"}}`,
//!   `{"rotated_box": {"center", "width", "height", "angle" (degrees), "outline",
//!   "fill"}}`, `{"point": {"center", "radius", "color"}}`.
//! - Masks: `{"mask": {"left", "top", "width", "height", "mask": {"width", "height",
//!   "type": "u8"|"f16"|"f32", "values": [...]}, "threshold" (0..1, default 0.5),
//!   "color", "filter" (default bilinear), "contour" (a colour)}}` and class maps:
//!   `{"classmap": {"left", "top", "width", "height", "map": {"width", "height", "type":
//!   "u8"|"i32", "values": [...]}, "palette": [[r, g, b, a], ...]}}` (f16 values are
//!   written as numbers and rounded to half precision).
//! - Optional top-level frame settings, for tests and tools that create frames:
//!   `width`, `height` (pixels), `format` (`rgba` | `bgra` | `rgbx` | `bgrx` | `nv12` |
//!   `i420`, default `rgba`) and `pitch` (bytes per row of a packed frame, default 4 x
//!   width). Planar frames (`nv12`, `i420`) instead take `matrix` (`bt601` (default) |
//!   `bt709` | `bt2020`), `range` (`limited` (default) | `full`) and `planes`: one
//!   `{"offset", "pitch"}` per plane (Y, then UV for NV12 or U, V for I420; bytes from
//!   the start of the frame's buffer; default: tight planes one after the other), which
//!   needs `width` and `height`.
//!
//! Colours are `[r, g, b, a]`, straight alpha. Unknown fields are errors; every error
//! names the offending field as a path such as `frames[0][2].blur.kind.box.radius`.

use std::path::Path;

use serde::Deserialize;

pub use super::png::{decode_png, encode_png};
use super::shape::{
    ArrowEnds, ArrowOp, Cap, EllipseOp, LineOp, PointOp, PolygonOp, PolylineOp, RotatedBoxOp,
    Stroke,
};
use super::text::{Anchor, Font, FontId, Halo, LabelOp, TextOp, TextStyle};
use super::{
    Align, BlurKind, BlurOp, Border, BoxOp, DrawList, Filter, Image, ImageId, ImageStore, Op,
    OverlayOp, Resolved, resolve_batch,
};
use crate::color::{Color, PixelFormat};
use crate::error::{Error, Result};
use crate::frame::FrameInfo;
use crate::geom::Point;
use crate::geom::Rect;
use crate::planar::{PlanarInfo, PlanarLayout, Plane, YuvMatrix, YuvRange};

/// A parsed scene file, before its images are loaded.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// One op list per frame.
    pub frames: Vec<Vec<SceneOp>>,
    /// Frame width for tools that create frames.
    pub width: Option<u32>,
    /// Frame height for tools that create frames.
    pub height: Option<u32>,
    /// Frame format (default RGBA): packed or planar.
    pub format: Option<SceneFormat>,
    /// Frame pitch in bytes of a packed frame (default 4 x width).
    pub pitch: Option<usize>,
    /// Y'CbCr matrix of a planar frame (default BT.601).
    pub matrix: Option<YuvMatrix>,
    /// Y'CbCr range of a planar frame (default limited).
    pub range: Option<YuvRange>,
    /// Plane offsets and pitches of a planar frame (default tight).
    pub planes: Option<Vec<Plane>>,
}

/// A scene's `format`: one of the packed pixel formats or a planar layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SceneFormat {
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
    Nv12,
    I420,
}

impl SceneFormat {
    /// The packed pixel format, if this is one.
    pub fn packed(self) -> Option<PixelFormat> {
        match self {
            SceneFormat::Rgba => Some(PixelFormat::Rgba),
            SceneFormat::Bgra => Some(PixelFormat::Bgra),
            SceneFormat::Rgbx => Some(PixelFormat::Rgbx),
            SceneFormat::Bgrx => Some(PixelFormat::Bgrx),
            SceneFormat::Nv12 | SceneFormat::I420 => None,
        }
    }

    /// The planar layout, if this is one.
    pub fn planar(self) -> Option<PlanarLayout> {
        match self {
            SceneFormat::Nv12 => Some(PlanarLayout::Nv12),
            SceneFormat::I420 => Some(PlanarLayout::I420),
            _ => None,
        }
    }
}

/// The planar frame settings of a scene (`format` `nv12` or `i420`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanarSettings {
    pub layout: PlanarLayout,
    pub matrix: YuvMatrix,
    pub range: YuvRange,
    /// Offsets and pitches per plane; `None`: tight planes.
    pub planes: Option<Vec<Plane>>,
}

/// One op of a scene.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SceneOp {
    Rect(RectSpec),
    Blur(BlurSpec),
    Overlay(OverlaySpec),
    Text(TextSpec),
    Label(LabelSpec),
    Line(LineSpec),
    Polyline(PolylineSpec),
    Polygon(PolygonSpec),
    Arrow(ArrowSpec),
    Circle(CircleSpec),
    Ellipse(EllipseSpec),
    #[serde(rename = "rotated_box")]
    RotatedBox(RotatedBoxSpec),
    Point(PointSpec),
    Mask(MaskSpec),
    Classmap(ClassMapSpec),
}

/// Mask values in a scene: `width`, `height`, `type`, `values` (row-major).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskValuesSpec {
    pub width: u32,
    pub height: u32,
    #[serde(rename = "type")]
    pub dtype: super::mask::MaskType,
    pub values: Vec<f64>,
}

impl MaskValuesSpec {
    fn source(&self) -> super::mask::MaskSource {
        use super::mask::{MaskSource, MaskType, MaskValues};
        let v = &self.values;
        let values = match self.dtype {
            MaskType::U8 => MaskValues::U8(v.iter().map(|&x| x.clamp(0.0, 255.0) as u8).collect()),
            MaskType::F16 => MaskValues::F16(v.iter().map(|&x| half::f16::from_f64(x)).collect()),
            MaskType::F32 => MaskValues::F32(v.iter().map(|&x| x as f32).collect()),
            _ => MaskValues::I32(v.iter().map(|&x| x as i32).collect()),
        };
        MaskSource::host(self.width, self.height, values)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskSpec {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    pub mask: MaskValuesSpec,
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    pub color: Color,
    #[serde(default)]
    pub filter: Filter,
    pub contour: Option<Color>,
}

fn default_threshold() -> f32 {
    0.5
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassMapSpec {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    pub map: MaskValuesSpec,
    pub palette: Vec<Color>,
}

fn p2(v: [f32; 2]) -> Point {
    Point::new(v[0], v[1])
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    pub from: [f32; 2],
    pub to: [f32; 2],
    pub width: f32,
    pub color: Color,
    #[serde(default)]
    pub cap: Cap,
    #[serde(default)]
    pub aa: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolylineSpec {
    pub points: Vec<[f32; 2]>,
    #[serde(default)]
    pub closed: bool,
    pub width: f32,
    pub color: Color,
    #[serde(default)]
    pub cap: Cap,
    #[serde(default)]
    pub aa: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolygonSpec {
    pub points: Vec<[f32; 2]>,
    pub fill: Option<Color>,
    pub outline: Option<Stroke>,
    #[serde(default)]
    pub aa: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrowSpec {
    pub from: [f32; 2],
    pub to: [f32; 2],
    pub width: f32,
    pub color: Color,
    pub head_length: Option<f32>,
    #[serde(default = "default_head_angle")]
    pub head_angle: f32,
    #[serde(default)]
    pub ends: ArrowEnds,
    #[serde(default)]
    pub aa: bool,
}

fn default_head_angle() -> f32 {
    30.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircleSpec {
    pub center: [f32; 2],
    pub radius: f32,
    pub outline: Option<Stroke>,
    #[serde(default)]
    pub align: Align,
    pub fill: Option<Color>,
    #[serde(default)]
    pub aa: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EllipseSpec {
    pub center: [f32; 2],
    pub rx: f32,
    pub ry: f32,
    pub outline: Option<Stroke>,
    #[serde(default)]
    pub align: Align,
    pub fill: Option<Color>,
    #[serde(default)]
    pub aa: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotatedBoxSpec {
    pub center: [f32; 2],
    pub width: f32,
    pub height: f32,
    #[serde(default)]
    pub angle: f32,
    pub outline: Option<Stroke>,
    pub fill: Option<Color>,
    #[serde(default)]
    pub aa: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointSpec {
    pub center: [f32; 2],
    pub radius: f32,
    pub color: Color,
    #[serde(default)]
    pub aa: bool,
}

/// Text at a point: `text`, `x`, `y`, optional `anchor` and style fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    pub text: String,
    pub x: f32,
    pub y: f32,
    #[serde(default)]
    pub anchor: Anchor,
    #[serde(default = "default_size")]
    pub size: u32,
    #[serde(default = "default_color")]
    pub color: Color,
    pub font: Option<String>,
    #[serde(default)]
    pub font_index: u32,
    pub background: Option<Color>,
    #[serde(default = "default_padding")]
    pub padding: u32,
    pub halo: Option<Halo>,
}

/// A label on a box: the box's `left`, `top`, `width`, `height`, `text` and style fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    pub text: String,
    #[serde(default = "default_size")]
    pub size: u32,
    #[serde(default = "default_color")]
    pub color: Color,
    pub font: Option<String>,
    #[serde(default)]
    pub font_index: u32,
    pub background: Option<Color>,
    #[serde(default = "default_padding")]
    pub padding: u32,
    pub halo: Option<Halo>,
}

fn default_size() -> u32 {
    TextStyle::default().size
}

fn default_color() -> Color {
    TextStyle::default().color
}

fn default_padding() -> u32 {
    TextStyle::default().padding
}

/// A box: `left`, `top`, `width`, `height`, optional `border` and `fill`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RectSpec {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    pub border: Option<BorderSpec>,
    pub fill: Option<Color>,
}

/// A box outline: `width`, `color`, optional `align`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BorderSpec {
    pub width: u32,
    pub color: Color,
    #[serde(default)]
    pub align: Align,
}

/// A blur: region, `kind`, optional `expand`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlurSpec {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    pub kind: BlurKindSpec,
    #[serde(default)]
    pub expand: f32,
}

/// The blur kinds as written in scenes.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum BlurKindSpec {
    Box { radius: u32 },
    Gaussian { sigma: f32 },
    Pixelate { block: u32 },
    Solid { color: Color },
}

/// An image overlay: `image` path, destination, optional `opacity` and `filter`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlaySpec {
    pub image: String,
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    #[serde(default = "full_opacity")]
    pub opacity: f32,
    #[serde(default)]
    pub filter: Filter,
}

fn full_opacity() -> f32 {
    1.0
}

impl From<BlurKindSpec> for BlurKind {
    fn from(k: BlurKindSpec) -> Self {
        match k {
            BlurKindSpec::Box { radius } => BlurKind::Box { radius },
            BlurKindSpec::Gaussian { sigma } => BlurKind::Gaussian { sigma },
            BlurKindSpec::Pixelate { block } => BlurKind::Pixelate { block },
            BlurKindSpec::Solid { color } => BlurKind::Solid { color },
        }
    }
}

/// A scene with its images loaded and its ops validated: ready to draw.
#[derive(Debug)]
pub struct LoadedScene {
    /// One draw list per frame, in scene order.
    pub lists: Vec<DrawList>,
    /// Every image the scene uses (each distinct path once).
    pub images: ImageStore,
    /// The scene's `width` setting, if any.
    pub width: Option<u32>,
    /// The scene's `height` setting, if any.
    pub height: Option<u32>,
    /// The scene's `format` setting, if it is a packed format.
    pub format: Option<PixelFormat>,
    /// The scene's `pitch` setting, if any.
    pub pitch: Option<usize>,
    /// The planar settings when `format` is `nv12` or `i420` (then `format` is `None`).
    pub planar: Option<PlanarSettings>,
}

impl LoadedScene {
    /// The frame layout the scene asks for; `width`/`height` fill in sizes the scene
    /// leaves open.
    pub fn frame_info(&self, width: u32, height: u32) -> FrameInfo {
        let w = self.width.unwrap_or(width);
        let h = self.height.unwrap_or(height);
        FrameInfo::new(
            w,
            h,
            self.pitch.unwrap_or(w as usize * 4),
            self.format.unwrap_or_default(),
        )
    }

    /// The planar frame layout of a planar scene (`None` for packed scenes);
    /// `width`/`height` fill in sizes the scene leaves open.
    pub fn planar_info(&self, width: u32, height: u32) -> Option<PlanarInfo> {
        let s = self.planar.as_ref()?;
        let w = self.width.unwrap_or(width);
        let h = self.height.unwrap_or(height);
        let mut info = PlanarInfo::tight(w, h, s.layout).with_colour(s.matrix, s.range);
        if let Some(planes) = &s.planes {
            for (i, p) in info.planes.iter_mut().enumerate() {
                *p = planes.get(i).copied();
            }
        }
        Some(info)
    }
}

impl Scene {
    /// The planar settings, checked against the format: `pitch` is for packed frames,
    /// `matrix`, `range` and `planes` for planar ones.
    fn planar_settings(&self) -> Result<Option<PlanarSettings>> {
        let Some(layout) = self.format.and_then(SceneFormat::planar) else {
            for (name, set) in [
                ("matrix", self.matrix.is_some()),
                ("range", self.range.is_some()),
                ("planes", self.planes.is_some()),
            ] {
                if set {
                    return Err(Error::Scene(format!(
                        "{name}: only planar frames (format nv12 or i420) take a {name}"
                    )));
                }
            }
            return Ok(None);
        };
        if self.pitch.is_some() {
            return Err(Error::Scene(format!(
                "pitch: a {} frame gives a pitch per plane in `planes`",
                layout.name()
            )));
        }
        if let Some(p) = &self.planes {
            if p.len() != layout.planes() {
                return Err(Error::Scene(format!(
                    "planes: {} has {} planes, the scene gives {}",
                    layout.name(),
                    layout.planes(),
                    p.len()
                )));
            }
            if self.width.is_none() || self.height.is_none() {
                return Err(Error::Scene(
                    "planes: explicit planes need the scene's width and height".into(),
                ));
            }
        }
        Ok(Some(PlanarSettings {
            layout,
            matrix: self.matrix.unwrap_or_default(),
            range: self.range.unwrap_or_default(),
            planes: self.planes.clone(),
        }))
    }

    /// Parses scene JSON; errors name the field (`frames[0][1].blur.kind.box.radius: ...`).
    pub fn from_json(text: &str) -> Result<Scene> {
        // Editors on Windows save UTF-8 with a byte-order mark; it is not JSON.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut de = serde_json::Deserializer::from_str(text);
        let scene: Scene = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                Error::Scene(inner.to_string())
            } else {
                Error::Scene(format!("{path}: {inner}"))
            }
        })?;
        // Anything after the object (a second object, a stray bracket) is an error, not
        // silently ignored.
        de.end()
            .map_err(|e| Error::Scene(format!("trailing data after the scene object: {e}")))?;
        Ok(scene)
    }

    /// Reads, parses, loads the images of (relative to the file) and validates a scene.
    pub fn load(path: impl AsRef<Path>) -> Result<LoadedScene> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            context: format!("reading scene {}", path.display()),
            source,
        })?;
        let in_file = |e| match e {
            Error::Scene(m) => Error::Scene(format!("{}: {m}", path.display())),
            e => e,
        };
        let scene = Scene::from_json(&text).map_err(in_file)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        scene
            .into_loaded_with(
                |name| super::png::load_png(&dir.join(name)),
                |name, index| Font::from_path(dir.join(name), index),
            )
            .map_err(in_file)
    }

    /// Loads images through `load` (called once per distinct path, as written in the
    /// scene), builds the draw lists and validates them (see [`LoadedScene`]).
    /// Fonts are read with [`Font::from_path`] as the paths are written (relative to
    /// the working directory; [`Scene::load`] reads them relative to the scene file).
    pub fn into_loaded(self, load: impl FnMut(&str) -> Result<Image>) -> Result<LoadedScene> {
        self.into_loaded_with(load, |path, index| Font::from_path(path, index))
    }

    /// [`Scene::into_loaded`] with a font loader too (called once per distinct
    /// (path, face index)).
    pub fn into_loaded_with(
        self,
        mut load: impl FnMut(&str) -> Result<Image>,
        mut load_font: impl FnMut(&str, u32) -> Result<Font>,
    ) -> Result<LoadedScene> {
        if self.frames.is_empty() {
            return Err(Error::Scene(
                "frames: empty, need at least one frame list".into(),
            ));
        }
        let mut images = ImageStore::new();
        let mut paths: Vec<(String, ImageId)> = Vec::new();
        let mut font_paths: Vec<(String, u32, FontId)> = Vec::new();
        let mut font = |i: usize,
                        j: usize,
                        kind: &str,
                        path: &Option<String>,
                        index: u32,
                        images: &mut ImageStore|
         -> Result<FontId> {
            let Some(path) = path else {
                return Ok(FontId::DEFAULT);
            };
            if let Some((_, _, id)) = font_paths.iter().find(|(p, x, _)| p == path && *x == index) {
                return Ok(*id);
            }
            let f = load_font(path, index).map_err(|e| {
                Error::Scene(format!("frames[{i}][{j}].{kind}.font \"{path}\": {e}"))
            })?;
            let id = images.add_font(f);
            font_paths.push((path.clone(), index, id));
            Ok(id)
        };
        let mut lists = Vec::with_capacity(self.frames.len());
        for (i, ops) in self.frames.iter().enumerate() {
            let mut list = DrawList::with_capacity(ops.len());
            for (j, op) in ops.iter().enumerate() {
                let op: Op = match op {
                    SceneOp::Rect(r) => BoxOp {
                        rect: Rect::new(r.left, r.top, r.width, r.height),
                        border: r.border.map(|b| Border {
                            width: b.width,
                            color: b.color,
                            align: b.align,
                        }),
                        fill: r.fill,
                    }
                    .into(),
                    SceneOp::Blur(b) => BlurOp {
                        rect: Rect::new(b.left, b.top, b.width, b.height),
                        kind: b.kind.into(),
                        expand: b.expand,
                    }
                    .into(),
                    SceneOp::Overlay(o) => {
                        let id = match paths.iter().find(|(p, _)| *p == o.image) {
                            Some((_, id)) => *id,
                            None => {
                                let img = load(&o.image).map_err(|e| {
                                    Error::Scene(format!(
                                        "frames[{i}][{j}].overlay.image \"{}\": {e}",
                                        o.image
                                    ))
                                })?;
                                let id = images.add(img);
                                paths.push((o.image.clone(), id));
                                id
                            }
                        };
                        OverlayOp {
                            image: id,
                            rect: Rect::new(o.left, o.top, o.width, o.height),
                            opacity: o.opacity,
                            filter: o.filter,
                        }
                        .into()
                    }
                    SceneOp::Text(t) => TextOp {
                        text: t.text.clone(),
                        x: t.x,
                        y: t.y,
                        anchor: t.anchor,
                        style: TextStyle {
                            font: font(i, j, "text", &t.font, t.font_index, &mut images)?,
                            size: t.size,
                            color: t.color,
                            background: t.background,
                            padding: t.padding,
                            halo: t.halo,
                        },
                    }
                    .into(),
                    SceneOp::Label(l) => LabelOp {
                        rect: Rect::new(l.left, l.top, l.width, l.height),
                        text: l.text.clone(),
                        style: TextStyle {
                            font: font(i, j, "label", &l.font, l.font_index, &mut images)?,
                            size: l.size,
                            color: l.color,
                            background: l.background,
                            padding: l.padding,
                            halo: l.halo,
                        },
                    }
                    .into(),
                    SceneOp::Line(l) => LineOp {
                        from: p2(l.from),
                        to: p2(l.to),
                        width: l.width,
                        color: l.color,
                        cap: l.cap,
                        aa: l.aa,
                    }
                    .into(),
                    SceneOp::Polyline(l) => PolylineOp {
                        points: l.points.iter().copied().map(p2).collect(),
                        closed: l.closed,
                        width: l.width,
                        color: l.color,
                        cap: l.cap,
                        aa: l.aa,
                    }
                    .into(),
                    SceneOp::Polygon(g) => PolygonOp {
                        points: g.points.iter().copied().map(p2).collect(),
                        fill: g.fill,
                        outline: g.outline,
                        aa: g.aa,
                    }
                    .into(),
                    SceneOp::Arrow(a) => ArrowOp {
                        from: p2(a.from),
                        to: p2(a.to),
                        width: a.width,
                        color: a.color,
                        head_length: a.head_length.unwrap_or(4.0 * a.width + 6.0),
                        head_angle: a.head_angle,
                        ends: a.ends,
                        aa: a.aa,
                    }
                    .into(),
                    SceneOp::Circle(c) => EllipseOp {
                        center: p2(c.center),
                        rx: c.radius,
                        ry: c.radius,
                        outline: c.outline,
                        align: c.align,
                        fill: c.fill,
                        aa: c.aa,
                    }
                    .into(),
                    SceneOp::Ellipse(e) => EllipseOp {
                        center: p2(e.center),
                        rx: e.rx,
                        ry: e.ry,
                        outline: e.outline,
                        align: e.align,
                        fill: e.fill,
                        aa: e.aa,
                    }
                    .into(),
                    SceneOp::RotatedBox(b) => RotatedBoxOp {
                        center: p2(b.center),
                        width: b.width,
                        height: b.height,
                        angle: b.angle,
                        outline: b.outline,
                        fill: b.fill,
                        aa: b.aa,
                    }
                    .into(),
                    SceneOp::Mask(m) => super::mask::MaskOp {
                        rect: Rect::new(m.left, m.top, m.width, m.height),
                        mask: m.mask.source(),
                        threshold: m.threshold,
                        color: m.color,
                        filter: m.filter,
                        contour: m.contour,
                    }
                    .into(),
                    SceneOp::Classmap(c) => super::mask::ClassMapOp {
                        rect: Rect::new(c.left, c.top, c.width, c.height),
                        map: c.map.source(),
                        palette: c.palette.clone().into(),
                    }
                    .into(),
                    SceneOp::Point(p) => PointOp {
                        center: p2(p.center),
                        radius: p.radius,
                        color: p.color,
                        aa: p.aa,
                    }
                    .into(),
                };
                list.push(op);
            }
            lists.push(list);
        }
        let planar = self.planar_settings()?;
        let loaded = LoadedScene {
            lists,
            images,
            width: self.width,
            height: self.height,
            format: self.format.and_then(SceneFormat::packed),
            pitch: self.pitch,
            planar,
        };
        validate(&loaded)?;
        Ok(loaded)
    }
}

/// Range checks of every op (they do not depend on the frame size) and of the frame
/// settings, reported with the op's path in the scene.
fn validate(s: &LoadedScene) -> Result<()> {
    let explicit = s.width.is_some()
        || s.height.is_some()
        || s.planar.as_ref().is_some_and(|p| p.planes.is_some());
    if let Some(p) = s.planar_info(1, 1)
        && explicit
    {
        p.validate(0)
            .map_err(|e| Error::Scene(format!("frame settings (width/height/planes): {e}")))?;
    }
    let info = s.frame_info(1, 1);
    if s.planar.is_none() && (s.width.is_some() || s.height.is_some() || s.pitch.is_some()) {
        info.validate(0)
            .map_err(|e| Error::Scene(format!("frame settings (width/height/pitch): {e}")))?;
    }
    // Validation needs a valid frame; a nominal one if the scene's is partial.
    let info = if info.validate(0).is_ok() {
        info
    } else {
        FrameInfo::packed(1, 1, info.format)
    };
    let infos = vec![info; s.lists.len()];
    let mut out = Resolved::default();
    resolve_batch(&infos, &s.lists, &s.images, &mut out).map_err(|e| match e {
        Error::InvalidOp { frame, op, reason } => {
            Error::Scene(format!("frames[{frame}][{op}]: {reason}"))
        }
        Error::UnknownImage { frame, op, image } => {
            Error::Scene(format!("frames[{frame}][{op}]: unknown image {image}"))
        }
        Error::UnknownFont { frame, op, font } => {
            Error::Scene(format!("frames[{frame}][{op}]: unknown font {font}"))
        }
        e => Error::Scene(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"frames": [[ {"rect": {"left":10,"top":10,"width":100,"height":50,"border":{"width":4,"color":[255,0,0,255],"align":"center"},"fill":[0,255,0,80]}}, {"blur": {"left":50,"top":50,"width":128,"height":96,"kind":{"box":{"radius":7}},"expand":0}}, {"overlay": {"image":"logo.png","left":0,"top":0,"width":64,"height":64,"opacity":1.0,"filter":"bilinear"}} ]]}"#;

    fn logo(_: &str) -> Result<Image> {
        Image::new(2, 2, vec![255; 16])
    }

    fn err(json: &str) -> String {
        match Scene::from_json(json).and_then(|s| s.into_loaded(logo)) {
            Ok(_) => panic!("accepted: {json}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_the_documented_example() {
        let s = Scene::from_json(EXAMPLE)
            .unwrap()
            .into_loaded(logo)
            .unwrap();
        assert_eq!(s.lists.len(), 1);
        let ops = s.lists[0].ops();
        assert_eq!(ops.len(), 3);
        match ops[0] {
            Op::Box(b) => {
                assert_eq!(b.rect, Rect::new(10.0, 10.0, 100.0, 50.0));
                assert_eq!(b.border.map(|b| b.align), Some(Align::Center));
                assert_eq!(b.fill, Some(Color::rgba(0, 255, 0, 80)));
            }
            _ => panic!("{:?}", ops[0]),
        }
        assert!(matches!(ops[1], Op::Blur(b) if b.kind == BlurKind::Box { radius: 7 }));
        assert!(matches!(ops[2], Op::Overlay(o) if o.filter == Filter::Bilinear));
        assert_eq!(s.images.len(), 1);
    }

    #[test]
    fn optional_fields_default() {
        let s = Scene::from_json(
            r#"{"frames":[[{"rect":{"left":0,"top":0,"width":1,"height":1}},
            {"blur":{"left":0,"top":0,"width":1,"height":1,"kind":{"solid":{"color":[1,2,3,4]}}}},
            {"overlay":{"image":"a.png","left":0,"top":0,"width":1,"height":1}},
            {"overlay":{"image":"a.png","left":0,"top":0,"width":1,"height":1}}]],
            "width": 7, "height": 5, "format": "bgrx", "pitch": 32}"#,
        )
        .unwrap()
        .into_loaded(logo)
        .unwrap();
        assert_eq!(s.images.len(), 1, "same path loads once");
        assert_eq!(
            s.frame_info(1, 1),
            FrameInfo::new(7, 5, 32, PixelFormat::Bgrx)
        );
        match s.lists[0].ops()[2] {
            Op::Overlay(o) => assert_eq!((o.opacity, o.filter), (1.0, Filter::Bilinear)),
            _ => panic!(),
        }
    }

    #[test]
    fn errors_name_the_field() {
        let e = err(
            r#"{"frames":[[{"blur":{"left":0,"top":0,"width":1,"height":1,"kind":{"box":{"radius":-3}}}}]]}"#,
        );
        assert!(e.contains("frames[0][0].blur.kind.box.radius"), "{e}");
        let e = err(
            r#"{"frames":[[{"rect":{"left":0,"top":0,"width":1,"height":1,"colour":[1,2,3,4]}}]]}"#,
        );
        assert!(
            e.contains("frames[0][0].rect") && e.contains("unknown field `colour`"),
            "{e}"
        );
        let e = err(
            r#"{"frames":[[{"blur":{"left":0,"top":0,"width":1,"height":1,"kind":{"box":{"radius":3,"x":1}}}}]]}"#,
        );
        assert!(e.contains("unknown field `x`"), "{e}");
        let e = err(r#"{"frames":[[{"rect":{"left":NaN,"top":0,"width":1,"height":1}}]]}"#);
        assert!(e.contains("frames[0][0].rect.left"), "{e}");
        let e = err(r#"{"frames":[[{"rect":{"left":1e39,"top":0,"width":1,"height":1}}]]}"#);
        assert!(e.contains("frames[0][0]") && e.contains("left"), "{e}");
        let e = err(
            r#"{"frames":[[{"blur":{"left":0,"top":0,"width":1,"height":1,"kind":{"box":{"radius":0}}}}]]}"#,
        );
        assert!(e.contains("frames[0][0]") && e.contains("radius 0"), "{e}");
        let e = err(
            r#"{"frames":[[{"rect":{"left":0,"top":0,"width":1,"height":1,"fill":[256,0,0,0]}}]]}"#,
        );
        assert!(e.contains("frames[0][0].rect.fill"), "{e}");
        let e = err(
            r#"{"frames":[[{"overlay":{"image":"a.png","left":0,"top":0,"width":1,"height":1,"opacity":1.5}}]]}"#,
        );
        assert!(e.contains("frames[0][0]") && e.contains("opacity"), "{e}");
        let e = err(r#"{"frames":[], "extra": 1}"#);
        assert!(e.contains("unknown field `extra`"), "{e}");
        let e = err(r#"{"frames":[]}"#);
        assert!(e.contains("frames: empty"), "{e}");
        let e = err(r#"{"frames":[[]], "width": 4, "pitch": 8}"#);
        assert!(e.contains("pitch"), "{e}");
        let e = err(r#"{"frames":[[{"ellipse":{}}]]}"#);
        assert!(e.contains("frames[0][0]") && e.contains("ellipse"), "{e}");
    }

    #[test]
    fn planar_settings() {
        let s = Scene::from_json(r#"{"frames":[[]], "format": "nv12", "width": 5, "height": 3}"#)
            .unwrap()
            .into_loaded(logo)
            .unwrap();
        assert_eq!(s.format, None);
        assert_eq!(
            s.planar_info(1, 1),
            Some(PlanarInfo::tight(5, 3, PlanarLayout::Nv12))
        );
        let s = Scene::from_json(
            r#"{"frames":[[]], "format": "i420", "width": 5, "height": 3, "matrix": "bt2020",
            "range": "full", "planes": [{"offset": 40, "pitch": 8}, {"offset": 0, "pitch": 3},
            {"offset": 20, "pitch": 4}]}"#,
        )
        .unwrap()
        .into_loaded(logo)
        .unwrap();
        let info = s.planar_info(1, 1).unwrap();
        assert_eq!(
            (info.matrix, info.range),
            (YuvMatrix::Bt2020, YuvRange::Full)
        );
        assert_eq!(
            info.planes[0],
            Some(Plane {
                offset: 40,
                pitch: 8
            })
        );
        assert!(info.validate(0).is_ok());
        // Packed scenes have no planar info.
        let s = Scene::from_json(r#"{"frames":[[]]}"#)
            .unwrap()
            .into_loaded(logo)
            .unwrap();
        assert_eq!(s.planar_info(4, 4), None);
        for (json, needle) in [
            (r#"{"frames":[[]], "format": "nv12", "pitch": 8}"#, "pitch"),
            (r#"{"frames":[[]], "matrix": "bt709"}"#, "matrix"),
            (
                r#"{"frames":[[]], "format": "bgra", "range": "full"}"#,
                "range",
            ),
            (
                r#"{"frames":[[]], "format": "nv12", "matrix": "bt999"}"#,
                "matrix",
            ),
            (
                r#"{"frames":[[]], "format": "nv12", "width": 4, "height": 4, "planes": [{"offset": 0, "pitch": 4}]}"#,
                "2 planes",
            ),
            (
                r#"{"frames":[[]], "format": "nv12", "planes": [{"offset": 0, "pitch": 4}, {"offset": 16, "pitch": 4}]}"#,
                "width and height",
            ),
            (
                r#"{"frames":[[]], "format": "nv12", "width": 4, "height": 4, "planes": [{"offset": 0, "pitch": 4}, {"offset": 8, "pitch": 4}]}"#,
                "overlap",
            ),
            (
                r#"{"frames":[[]], "format": "nv12", "width": 4, "height": 4, "planes": [{"offset": 0, "pitch": 4}, {"offset": 16, "pitch": 3}]}"#,
                "pitch 3",
            ),
            (
                r#"{"frames":[[]], "format": "nv12", "width": 4, "height": 4, "planes": [{"offset": 0, "pitch": 4, "x": 1}, {"offset": 16, "pitch": 4}]}"#,
                "unknown field `x`",
            ),
        ] {
            let e = err(json);
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn image_errors_name_the_op() {
        let r = Scene::from_json(
            r#"{"frames":[[{"overlay":{"image":"missing.png","left":0,"top":0,"width":1,"height":1}}]]}"#,
        )
        .unwrap()
        .into_loaded(|_| Err(Error::InvalidImage("nope".into())));
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("frames[0][0].overlay.image") && e.contains("missing.png"),
            "{e}"
        );
    }

    #[test]
    fn trailing_data_is_an_error_and_a_bom_is_not() {
        let ok = r#"{"frames":[[]]}"#;
        assert!(Scene::from_json(ok).is_ok());
        for bad in [
            r#"{"frames":[[]]} {"frames":[[]]}"#,
            r#"{"frames":[[]]}]"#,
            r#"{"frames":[[]]} x"#,
        ] {
            let e = Scene::from_json(bad).unwrap_err().to_string();
            assert!(e.contains("trailing data"), "{bad}: {e}");
        }
        assert!(Scene::from_json(&format!("{ok}\n  ")).is_ok());
        assert_eq!(
            Scene::from_json(&format!("\u{feff}{ok}")).unwrap(),
            Scene::from_json(ok).unwrap()
        );
    }

    #[test]
    fn png_round_trip() {
        let px: Vec<u8> = (0..3 * 2 * 4).map(|i| (i * 10) as u8).collect();
        let png = encode_png(3, 2, &px).unwrap();
        let img = decode_png(&png).unwrap();
        assert_eq!((img.width(), img.height()), (3, 2));
        assert_eq!(img.data(), &px[..]);
        assert!(decode_png(b"not a png").is_err());
    }
}
