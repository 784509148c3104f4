//! The draw model: what users ask for, per frame, applied in list order.
//!
//! A [`DrawList`] holds [`Op`]s for one frame. Backends never see these directly:
//! [`resolve_batch`] validates them and turns them into integer commands ([`CdCmd`], shared
//! with the kernels) so that every backend draws from the very same numbers.
//! The exact bytes each op produces are in [`crate::semantics`].
//!
//! [`CdCmd`]: crate::cmd::CdCmd

pub mod mask;
pub mod png;
pub(crate) mod resolve;
pub mod scene;
pub mod shape;
pub mod text;

use crate::cmd::{
    CD_MAX_BORDER_WIDTH, CD_MAX_BOX_RADIUS, CD_MAX_EXPAND, CD_MAX_GAUSS_RADIUS,
    CD_MAX_PIXELATE_BLOCK,
};
use crate::color::Color;
use crate::geom::Rect;

pub use mask::{ClassMapOp, DeviceMask, MaskOp, MaskSource, MaskType, MaskValues};
pub use resolve::{
    InvalidOps, Limits, ResolveOptions, Resolved, resolve_batch, resolve_batch_with,
};
pub use shape::{
    ArrowEnds, ArrowOp, Cap, EllipseOp, LineOp, PointOp, PolygonOp, PolylineOp, RotatedBoxOp,
    Stroke,
};
pub use text::{Anchor, Font, FontId, FontStore, Halo, LabelOp, TextMetrics, TextOp, TextStyle};

/// Accepted outline widths, in pixels.
pub const BORDER_WIDTH_RANGE: std::ops::RangeInclusive<u32> = 1..=CD_MAX_BORDER_WIDTH;
/// Accepted box-blur radii (window = 2r + 1).
pub const BLUR_RADIUS_RANGE: std::ops::RangeInclusive<u32> = 1..=CD_MAX_BOX_RADIUS;
/// Accepted gaussian sigmas; the kernel radius is ceil(3 sigma) <= 96
/// ([`crate::cmd::CD_MAX_GAUSS_RADIUS`]).
pub const GAUSS_SIGMA_RANGE: std::ops::RangeInclusive<f32> =
    0.1..=(CD_MAX_GAUSS_RADIUS as f32 / 3.0);
/// Accepted pixelation cell sizes.
pub const PIXELATE_BLOCK_RANGE: std::ops::RangeInclusive<u32> = 1..=CD_MAX_PIXELATE_BLOCK;
/// Accepted expansion margins, in pixels.
pub const EXPAND_RANGE: std::ops::RangeInclusive<f32> = 0.0..=(CD_MAX_EXPAND as f32);
/// Largest overlay image side.
pub const MAX_IMAGE_DIMENSION: u32 = 8192;

/// Where a box outline's stroke lies relative to the box edge.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Align {
    /// The `width` outermost pixel rings of the box.
    #[default]
    Inside,
    /// Straddling the edge: floor((w-1)/2) pixels outside, the rest inside.
    Center,
    /// The `width` pixel rings just outside the box.
    Outside,
}

/// A box outline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Border {
    /// Stroke width in pixels, in [`BORDER_WIDTH_RANGE`].
    pub width: u32,
    pub color: Color,
    #[serde(default)]
    pub align: Align,
}

impl Border {
    pub fn new(width: u32, color: Color) -> Self {
        Self {
            width,
            color,
            align: Align::Inside,
        }
    }

    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }
}

/// A box: outline, fill, or both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxOp {
    pub rect: Rect,
    pub border: Option<Border>,
    /// Alpha-blended over the box minus its outline.
    pub fill: Option<Color>,
}

/// How a region is blurred or redacted.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BlurKind {
    /// Mean of the (2r+1) x (2r+1) window, r in [`BLUR_RADIUS_RANGE`].
    Box { radius: u32 },
    /// Separable gaussian, sigma in [`GAUSS_SIGMA_RANGE`].
    Gaussian { sigma: f32 },
    /// Cell means, block in [`PIXELATE_BLOCK_RANGE`].
    Pixelate { block: u32 },
    /// Opaque colour (redaction). The colour's alpha is ignored: the region is replaced.
    Solid { color: Color },
}

/// Blur or redaction of a region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlurOp {
    pub rect: Rect,
    pub kind: BlurKind,
    /// Pixels added on every side before rounding, in [`EXPAND_RANGE`].
    pub expand: f32,
}

/// Scaling filter for overlays.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Filter {
    Nearest,
    #[default]
    Bilinear,
}

/// Handle of an overlay image registered with a renderer (`add_image`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub u32);

/// Blend of a registered RGBA image into a destination rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlayOp {
    pub image: ImageId,
    pub rect: Rect,
    /// In [0, 1]; multiplies the image's alpha.
    pub opacity: f32,
    pub filter: Filter,
}

/// One drawing operation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Op {
    Box(BoxOp),
    Blur(BlurOp),
    Overlay(OverlayOp),
    Text(TextOp),
    Label(LabelOp),
    Line(LineOp),
    Polyline(PolylineOp),
    Polygon(PolygonOp),
    Arrow(ArrowOp),
    Ellipse(EllipseOp),
    RotatedBox(RotatedBoxOp),
    Point(PointOp),
    Mask(MaskOp),
    ClassMap(ClassMapOp),
}

impl From<BoxOp> for Op {
    fn from(v: BoxOp) -> Self {
        Op::Box(v)
    }
}
impl From<BlurOp> for Op {
    fn from(v: BlurOp) -> Self {
        Op::Blur(v)
    }
}
impl From<OverlayOp> for Op {
    fn from(v: OverlayOp) -> Self {
        Op::Overlay(v)
    }
}
impl From<TextOp> for Op {
    fn from(v: TextOp) -> Self {
        Op::Text(v)
    }
}
impl From<LabelOp> for Op {
    fn from(v: LabelOp) -> Self {
        Op::Label(v)
    }
}
macro_rules! op_from {
    ($($t:ident => $v:ident),*) => {
        $(impl From<$t> for Op {
            fn from(v: $t) -> Self {
                Op::$v(v)
            }
        })*
    };
}
op_from!(LineOp => Line, PolylineOp => Polyline, PolygonOp => Polygon, ArrowOp => Arrow,
    EllipseOp => Ellipse, RotatedBoxOp => RotatedBox, PointOp => Point, MaskOp => Mask,
    ClassMapOp => ClassMap);

/// The operations for one frame, applied in order. Reuse a list across frames with
/// [`DrawList::clear`] to avoid allocating per frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrawList {
    ops: Vec<Op>,
}

impl DrawList {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            ops: Vec::with_capacity(n),
        }
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn clear(&mut self) {
        self.ops.clear();
    }

    /// Keeps the ops for which `f` returns true (which may also change them).
    pub fn retain_mut(&mut self, f: impl FnMut(&mut Op) -> bool) {
        self.ops.retain_mut(f);
    }

    pub fn push(&mut self, op: impl Into<Op>) -> &mut Self {
        self.ops.push(op.into());
        self
    }

    /// An outlined box.
    pub fn outline(&mut self, rect: Rect, border: Border) -> &mut Self {
        self.push(BoxOp {
            rect,
            border: Some(border),
            fill: None,
        })
    }

    /// A filled box without outline.
    pub fn fill(&mut self, rect: Rect, color: Color) -> &mut Self {
        self.push(BoxOp {
            rect,
            border: None,
            fill: Some(color),
        })
    }

    /// A box with optional outline and fill.
    pub fn rect(&mut self, rect: Rect, border: Option<Border>, fill: Option<Color>) -> &mut Self {
        self.push(BoxOp { rect, border, fill })
    }

    /// Blur or redact a region.
    pub fn blur(&mut self, rect: Rect, kind: BlurKind) -> &mut Self {
        self.push(BlurOp {
            rect,
            kind,
            expand: 0.0,
        })
    }

    /// Blend an image into `rect` (bilinear).
    pub fn overlay(&mut self, image: ImageId, rect: Rect, opacity: f32) -> &mut Self {
        self.push(OverlayOp {
            image,
            rect,
            opacity,
            filter: Filter::Bilinear,
        })
    }

    /// Text with its first line's box's top-left corner at (x, y).
    pub fn text(&mut self, x: f32, y: f32, text: impl Into<String>, style: TextStyle) -> &mut Self {
        self.push(TextOp {
            text: text.into(),
            x,
            y,
            anchor: Anchor::Top,
            style,
        })
    }

    /// A line of `width` px (flat caps, no anti-aliasing; push a [`LineOp`] for more).
    pub fn line(
        &mut self,
        from: crate::geom::Point,
        to: crate::geom::Point,
        width: f32,
        color: Color,
    ) -> &mut Self {
        self.push(LineOp {
            from,
            to,
            width,
            color,
            cap: Cap::Flat,
            aa: false,
        })
    }

    /// An open polyline (a track trail) with round joins.
    pub fn polyline(
        &mut self,
        points: impl Into<Vec<crate::geom::Point>>,
        width: f32,
        color: Color,
    ) -> &mut Self {
        self.push(PolylineOp {
            points: points.into(),
            closed: false,
            width,
            color,
            cap: Cap::Flat,
            aa: false,
        })
    }

    /// A filled polygon (a zone), optionally outlined.
    pub fn polygon(
        &mut self,
        points: impl Into<Vec<crate::geom::Point>>,
        fill: Option<Color>,
        outline: Option<Stroke>,
    ) -> &mut Self {
        self.push(PolygonOp {
            points: points.into(),
            fill,
            outline,
            aa: false,
        })
    }

    /// An arrow from `from` to `to` with a head at `to` (length 4 widths + 6 px, 30
    /// degrees).
    pub fn arrow(
        &mut self,
        from: crate::geom::Point,
        to: crate::geom::Point,
        width: f32,
        color: Color,
    ) -> &mut Self {
        self.push(ArrowOp {
            from,
            to,
            width,
            color,
            head_length: 4.0 * width + 6.0,
            head_angle: 30.0,
            ends: ArrowEnds::End,
            aa: false,
        })
    }

    /// A circle: outline (inside its radius) and/or fill.
    pub fn circle(
        &mut self,
        center: crate::geom::Point,
        radius: f32,
        outline: Option<Stroke>,
        fill: Option<Color>,
    ) -> &mut Self {
        self.push(EllipseOp {
            center,
            rx: radius,
            ry: radius,
            outline,
            align: Align::Inside,
            fill,
            aa: false,
        })
    }

    /// A dot (a keypoint).
    pub fn point(&mut self, center: crate::geom::Point, radius: f32, color: Color) -> &mut Self {
        self.push(PointOp {
            center,
            radius,
            color,
            aa: false,
        })
    }

    /// A label on a box, placed as nvdsosd places them (see [`LabelOp`]).
    pub fn label(&mut self, rect: Rect, text: impl Into<String>, style: TextStyle) -> &mut Self {
        self.push(LabelOp {
            rect,
            text: text.into(),
            style,
        })
    }
}

impl AsRef<DrawList> for DrawList {
    fn as_ref(&self) -> &DrawList {
        self
    }
}

impl FromIterator<Op> for DrawList {
    fn from_iter<T: IntoIterator<Item = Op>>(iter: T) -> Self {
        Self {
            ops: iter.into_iter().collect(),
        }
    }
}

/// A straight-alpha RGBA image, tightly packed (row = 4 * width bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Image {
    /// Fails unless 1 <= width, height <= [`MAX_IMAGE_DIMENSION`] and
    /// `data.len() == 4 * width * height`.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> crate::Result<Self> {
        if width == 0 || height == 0 || width > MAX_IMAGE_DIMENSION || height > MAX_IMAGE_DIMENSION
        {
            return Err(crate::Error::InvalidImage(format!(
                "size {width}x{height} outside 1..={MAX_IMAGE_DIMENSION}"
            )));
        }
        let need = width as usize * height as usize * 4;
        if data.len() != need {
            return Err(crate::Error::InvalidImage(format!(
                "{} bytes of data for {width}x{height} RGBA (need {need})",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }
}

/// What validation needs to know of registered images.
pub trait ImageSizes {
    /// (width, height) of a registered image, `None` if the handle is unknown.
    fn image_size(&self, id: ImageId) -> Option<(u32, u32)>;

    /// The fonts text ops use; `None`: text ops are errors.
    fn fonts(&self) -> Option<&FontStore> {
        None
    }
}

/// The registry of what draw lists refer to by handle: overlay images and fonts (with
/// their glyph atlas, [`FontStore`]). Add an image or font once, draw it by handle from
/// any backend. Images can be replaced and removed (an element whose `overlay-location`
/// changes replaces its image rather than adding one per change). Every stored image
/// has a process-unique id ([`ImageStore::uid`]) that changes when it is replaced, so
/// backends cache by it: the CUDA backend uploads each image once per device and
/// frees a device copy once its image is replaced or removed ([`ImageStore::version`]
/// tells it when to look). A removed handle may be handed out again by a later
/// [`ImageStore::add`].
#[derive(Debug)]
pub struct ImageStore {
    id: u64,
    slots: Vec<Option<(std::sync::Arc<Image>, u64)>>,
    free: Vec<u32>,
    live: usize,
    version: u64,
    fonts: FontStore,
}

static NEXT_STORE_OR_IMAGE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(crate) fn next_uid() -> u64 {
    NEXT_STORE_OR_IMAGE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Default for ImageStore {
    fn default() -> Self {
        Self {
            id: next_uid(),
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            version: 0,
            fonts: FontStore::default(),
        }
    }
}

impl ImageStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Process-unique identity of this store (part of backend cache keys).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Changes whenever an image is replaced or removed (not on `add`): backends
    /// holding copies of images prune them when it moves.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Registers an image and returns its handle.
    pub fn add(&mut self, image: Image) -> ImageId {
        let entry = Some((std::sync::Arc::new(image), next_uid()));
        self.live += 1;
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = entry;
                ImageId(slot)
            }
            None => {
                self.slots.push(entry);
                ImageId(self.slots.len() as u32 - 1)
            }
        }
    }

    /// Replaces the image behind `id` (later draws use the new one); fails if `id` is
    /// not registered.
    pub fn replace(&mut self, id: ImageId, image: Image) -> crate::Result<()> {
        match self.slots.get_mut(id.0 as usize) {
            Some(Some(slot)) => {
                *slot = (std::sync::Arc::new(image), next_uid());
                self.version += 1;
                Ok(())
            }
            _ => Err(crate::Error::InvalidImage(format!(
                "cannot replace image {}: no such handle",
                id.0
            ))),
        }
    }

    /// Removes an image; returns it, or `None` if `id` was not registered. Lists that
    /// still name `id` fail validation ([`crate::Error::UnknownImage`]).
    pub fn remove(&mut self, id: ImageId) -> Option<std::sync::Arc<Image>> {
        let (image, _) = self.slots.get_mut(id.0 as usize)?.take()?;
        self.free.push(id.0);
        self.live -= 1;
        self.version += 1;
        Some(image)
    }

    pub fn get(&self, id: ImageId) -> Option<&std::sync::Arc<Image>> {
        self.slots.get(id.0 as usize)?.as_ref().map(|(i, _)| i)
    }

    /// The process-unique id of the image now behind `id`.
    pub fn uid(&self, id: ImageId) -> Option<u64> {
        self.slots.get(id.0 as usize)?.as_ref().map(|(_, u)| *u)
    }

    /// Whether an image of this uid is still stored.
    pub fn contains_uid(&self, uid: u64) -> bool {
        self.slots.iter().flatten().any(|(_, u)| *u == uid)
    }

    /// Number of registered images.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Registers a font; [`FontId::DEFAULT`] (the built-in DejaVu Sans) always is.
    pub fn add_font(&mut self, font: Font) -> FontId {
        self.fonts.add(font)
    }

    /// Replaces the font behind `id` (the glyph atlas starts over, since its masks
    /// were of the old font); fails if `id` is not registered or is the built-in one.
    pub fn replace_font(&mut self, id: FontId, font: Font) -> crate::Result<()> {
        self.fonts.replace(id, font)
    }

    /// The fonts and their glyph atlas.
    pub fn fonts(&self) -> &FontStore {
        &self.fonts
    }

    /// Size of `text` at `size` px in `font` (see [`FontStore::measure`]).
    pub fn measure_text(&self, font: FontId, size: u32, text: &str) -> crate::Result<TextMetrics> {
        self.fonts.measure(font, size, text)
    }
}

impl ImageSizes for ImageStore {
    fn image_size(&self, id: ImageId) -> Option<(u32, u32)> {
        self.get(id).map(|i| (i.width(), i.height()))
    }

    fn fonts(&self) -> Option<&FontStore> {
        Some(&self.fonts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(v: u8) -> Image {
        Image::new(1, 1, vec![v; 4]).unwrap()
    }

    #[test]
    fn images_are_replaced_and_removed() {
        let mut s = ImageStore::new();
        let a = s.add(img(1));
        let b = s.add(img(2));
        let (ua, v0) = (s.uid(a).unwrap(), s.version());
        s.replace(a, img(3)).unwrap();
        assert_eq!(s.get(a).unwrap().data()[0], 3);
        assert_ne!(s.uid(a), Some(ua));
        assert!(!s.contains_uid(ua));
        assert!(s.version() > v0);
        assert_eq!(s.len(), 2);
        assert_eq!(s.remove(b).unwrap().data()[0], 2);
        assert!(s.get(b).is_none() && s.remove(b).is_none());
        assert!(s.replace(b, img(4)).is_err());
        assert_eq!(s.len(), 1);
        // Toggling never grows the store.
        for i in 0..1000 {
            s.replace(a, img(i as u8)).unwrap();
        }
        assert_eq!((s.len(), s.slots.len()), (1, 2));
        assert_eq!(s.add(img(5)), b, "a freed slot is reused");
    }
}
