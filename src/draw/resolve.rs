//! Validation and resolution: user ops -> integer commands ([`CdCmd`]) that every
//! backend executes. All rounding, clipping and range checks happen here, once, on the
//! host, so backends cannot disagree on geometry.

use super::text::{self, Anchor, FontStore, TextCache, TextStyle};
use super::{
    Align, BLUR_RADIUS_RANGE, BORDER_WIDTH_RANGE, BlurKind, BlurOp, BoxOp, DrawList, EXPAND_RANGE,
    GAUSS_SIGMA_RANGE, ImageSizes, Op, OverlayOp, PIXELATE_BLOCK_RANGE,
};
use crate::cmd::{
    CD_FILTER_BILINEAR, CD_FILTER_NEAREST, CD_GAUSS_SHIFT, CD_OP_BLUR_BOX, CD_OP_BLUR_GAUSS,
    CD_OP_OVERLAY, CD_OP_PIXELATE, CD_OP_RECT, CD_OP_SOLID, CD_OP_TEXT, CdCmd, CdGlyph, CdRegion,
};
use crate::color::Color;
use crate::error::{Error, Result};
use crate::frame::FrameInfo;
use crate::geom::{PixelRect, Rect};

/// Bounds on the work one call may ask for, so a hostile or buggy producer of draw
/// lists cannot stall a streaming thread (a million full-frame fills take seconds even
/// on small frames). Exceeding one is [`Error::LimitExceeded`] and nothing is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most ops in one frame's list (default 16384).
    pub max_ops_per_list: usize,
    /// Most ops in one call, all frames together (default 262144).
    pub max_ops_per_batch: usize,
    /// Most glyphs in one call, all text layers of all frames together (default
    /// 1048576: 64 frames of 1000 labels of 16 characters).
    pub max_glyphs_per_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_ops_per_list: 16_384,
            max_ops_per_batch: 262_144,
            max_glyphs_per_batch: 1 << 20,
        }
    }
}

/// What validation does with an op that is out of range (NaN or absurd coordinates,
/// bad radius, unknown image...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidOps {
    /// The call fails and nothing is drawn on any frame: the library default, so a
    /// bug in the caller's lists is never half drawn.
    #[default]
    Reject,
    /// The op is left out, counted and reported ([`Resolved::skipped`]); the other
    /// ops are drawn. For lists built from detections that come from elsewhere (the
    /// element and the probe), where one bad detection must not cancel the others
    /// (a redaction among them above all).
    Skip,
}

/// How [`resolve_batch_with`] validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResolveOptions {
    pub limits: Limits,
    pub invalid_ops: InvalidOps,
}

/// How many skipped-op errors a [`Resolved`] keeps (the count is exact).
pub const KEPT_SKIP_ERRORS: usize = 8;

/// The commands of a whole batch, ready for a backend: validated by construction (the
/// only way to fill one is [`resolve_batch`] / [`resolve_batch_with`]; the default is
/// the empty batch). Reuse one across calls: its vectors keep their capacity, so
/// steady-state resolution allocates nothing.
#[derive(Debug, Default, Clone)]
pub struct Resolved {
    /// Commands of all frames, frame after frame.
    pub(crate) cmds: Vec<CdCmd>,
    /// Per frame: (first command, command count).
    pub(crate) ranges: Vec<(u32, u32)>,
    /// Gaussian weight tables (Q16, each summing to exactly 1 << 16), referenced by
    /// `CdCmd::aux` of `CD_OP_BLUR_GAUSS` commands.
    pub(crate) weights: Vec<u32>,
    /// Glyphs of the text layers (`CD_OP_TEXT`: param = first, aux = count).
    pub(crate) glyphs: Vec<CdGlyph>,
    /// The glyph atlas the glyphs point into: (font store uid, atlas generation), when
    /// there is text.
    pub(crate) atlas: Option<(u64, u64)>,
    /// Shape layers (`CD_OP_SHAPE`: param = index) and their geometry.
    pub(crate) shapes: Vec<crate::cmd::CdShape>,
    pub(crate) edges: Vec<crate::cmd::CdEdge>,
    pub(crate) discs: Vec<crate::cmd::CdDisc>,
    pub(crate) bands: Vec<crate::cmd::CdBand>,
    /// Indices into `edges` / `discs`, by band.
    pub(crate) band_items: Vec<u32>,
    /// Masks and class maps (`CD_OP_MASK` / `CD_OP_CLASSMAP`: param = index), the
    /// host ones' values (u16 fixed point, class ids) and the class maps' palettes.
    pub(crate) masks: Vec<crate::cmd::CdMask>,
    pub(crate) mask_data: Vec<u8>,
    pub(crate) palette: Vec<u32>,
    /// Scratch of the shape resolver (an outline's commands set aside while its fill's
    /// go first); empty between ops.
    pub(crate) side: Vec<CdCmd>,
    /// Ops left out under [`InvalidOps::Skip`] in the last resolution.
    skipped: usize,
    /// The first [`KEPT_SKIP_ERRORS`] of their errors.
    skipped_errors: Vec<String>,
}

impl Resolved {
    /// Commands of all frames, frame after frame.
    pub fn cmds(&self) -> &[CdCmd] {
        &self.cmds
    }

    /// Per frame: (first command, command count).
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }

    /// The gaussian weight tables the commands refer to.
    pub fn weights(&self) -> &[u32] {
        &self.weights
    }

    /// The glyphs of the text layers.
    pub fn glyphs(&self) -> &[CdGlyph] {
        &self.glyphs
    }

    /// The shape layers.
    pub fn shapes(&self) -> &[crate::cmd::CdShape] {
        &self.shapes
    }

    /// The shape layers' edges, discs, bands and band items (for tests that run the
    /// kernels' arithmetic on them).
    #[doc(hidden)]
    pub fn shape_geometry(
        &self,
    ) -> (
        &[crate::cmd::CdEdge],
        &[crate::cmd::CdDisc],
        &[crate::cmd::CdBand],
        &[u32],
    ) {
        (&self.edges, &self.discs, &self.bands, &self.band_items)
    }

    /// The masks, the host masks' data and the class maps' palettes (for tests).
    #[doc(hidden)]
    pub fn mask_geometry(&self) -> (&[crate::cmd::CdMask], &[u8], &[u32]) {
        (&self.masks, &self.mask_data, &self.palette)
    }

    pub(crate) fn clear(&mut self) {
        self.cmds.clear();
        self.ranges.clear();
        self.weights.clear();
        self.glyphs.clear();
        self.shapes.clear();
        self.edges.clear();
        self.discs.clear();
        self.bands.clear();
        self.band_items.clear();
        self.masks.clear();
        self.mask_data.clear();
        self.palette.clear();
        self.atlas = None;
        self.skipped = 0;
        self.skipped_errors.clear();
    }

    /// Number of ops left out by the last resolution ([`InvalidOps::Skip`]).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Why the first few skipped ops were left out (frame and op named).
    pub fn skipped_errors(&self) -> &[String] {
        &self.skipped_errors
    }

    /// The commands of frame `i`.
    pub fn frame_cmds(&self, i: usize) -> &[CdCmd] {
        let (start, n) = self.ranges[i];
        &self.cmds[start as usize..(start + n) as usize]
    }

    /// The weight table of a gaussian command (2 * radius + 1 entries).
    pub fn gauss_weights(&self, cmd: &CdCmd) -> &[u32] {
        let start = cmd.aux as usize;
        &self.weights[start..start + 2 * cmd.param as usize + 1]
    }
}

/// Validates every list against its frame and resolves the batch into `out` (cleared
/// first), with the default [`ResolveOptions`]. On error `out` is left cleared and
/// nothing should be drawn.
pub fn resolve_batch<L: AsRef<DrawList>>(
    frames: &[FrameInfo],
    lists: &[L],
    images: &dyn ImageSizes,
    out: &mut Resolved,
) -> Result<()> {
    resolve_batch_with(frames, lists, images, &ResolveOptions::default(), out)
}

/// [`resolve_batch`] with explicit limits and invalid-op policy.
pub fn resolve_batch_with<L: AsRef<DrawList>>(
    frames: &[FrameInfo],
    lists: &[L],
    images: &dyn ImageSizes,
    options: &ResolveOptions,
    out: &mut Resolved,
) -> Result<()> {
    out.clear();
    if frames.len() != lists.len() {
        return Err(Error::BatchMismatch {
            frames: frames.len(),
            lists: lists.len(),
        });
    }
    let limits = options.limits;
    let mut total = 0usize;
    for (i, list) in lists.iter().enumerate() {
        let n = list.as_ref().len();
        if n > limits.max_ops_per_list {
            return Err(Error::LimitExceeded {
                what: format!("frame {i}: {n} ops in one list"),
                limit: limits.max_ops_per_list,
            });
        }
        total += n;
    }
    if total > limits.max_ops_per_batch {
        return Err(Error::LimitExceeded {
            what: format!("{total} ops in one batch"),
            limit: limits.max_ops_per_batch,
        });
    }
    let mut text: Option<std::sync::MutexGuard<'_, TextCache>> = None;
    let mut result = resolve_frames(frames, lists, images, options, &mut text, out);
    if matches!(&result, Err(Error::InvalidOp { reason, .. }) if reason == text::ATLAS_RESET) {
        // The atlas filled up and was cleared mid-batch: masks resolved before that
        // point into the old atlas, so resolve the batch again into the empty one.
        out.clear();
        result = resolve_frames(frames, lists, images, options, &mut text, out);
        if let Err(Error::InvalidOp { reason, .. }) = &mut result
            && reason == text::ATLAS_RESET
        {
            *reason = format!(
                "the batch's glyphs need more than the atlas holds ({} bytes)",
                text::MAX_ATLAS_BYTES
            );
        }
    }
    if let (Some(cache), Some(fonts)) = (&text, images.fonts()) {
        out.atlas = Some((fonts.uid(), cache.generation));
    }
    if result.is_err() {
        out.clear();
    }
    result
}

fn resolve_frames<'a, L: AsRef<DrawList>>(
    frames: &[FrameInfo],
    lists: &[L],
    images: &'a dyn ImageSizes,
    options: &ResolveOptions,
    text: &mut Option<std::sync::MutexGuard<'a, TextCache>>,
    out: &mut Resolved,
) -> Result<()> {
    for (i, (info, list)) in frames.iter().zip(lists).enumerate() {
        info.validate(i)?;
        let start = out.cmds.len() as u32;
        for (j, op) in list.as_ref().ops().iter().enumerate() {
            let mark = Mark::of(out);
            let Err(e) = resolve_op(op, info, images, text, out) else {
                if out.glyphs.len() > options.limits.max_glyphs_per_batch {
                    return Err(Error::LimitExceeded {
                        what: format!("{} glyphs in one batch", out.glyphs.len()),
                        limit: options.limits.max_glyphs_per_batch,
                    });
                }
                continue;
            };
            let e = match e {
                OpError::Invalid(reason) => Error::InvalidOp {
                    frame: i,
                    op: j,
                    reason,
                },
                OpError::UnknownImage(image) => Error::UnknownImage {
                    frame: i,
                    op: j,
                    image,
                },
                OpError::UnknownFont(font) => Error::UnknownFont {
                    frame: i,
                    op: j,
                    font,
                },
                OpError::AtlasReset => {
                    return Err(Error::InvalidOp {
                        frame: i,
                        op: j,
                        reason: text::ATLAS_RESET.into(),
                    });
                }
            };
            if options.invalid_ops == InvalidOps::Reject {
                return Err(e);
            }
            // Nothing of the bad op may remain.
            mark.truncate(out);
            out.skipped += 1;
            if out.skipped_errors.len() < KEPT_SKIP_ERRORS {
                out.skipped_errors.push(e.to_string());
            }
        }
        out.ranges.push((start, out.cmds.len() as u32 - start));
    }
    Ok(())
}

/// The lengths of every array of a resolution, to drop what one op appended.
struct Mark([usize; 11]);

impl Mark {
    fn of(r: &Resolved) -> Self {
        Mark([
            r.cmds.len(),
            r.weights.len(),
            r.glyphs.len(),
            r.shapes.len(),
            r.edges.len(),
            r.discs.len(),
            r.bands.len(),
            r.band_items.len(),
            r.masks.len(),
            r.mask_data.len(),
            r.palette.len(),
        ])
    }

    fn truncate(&self, r: &mut Resolved) {
        let [a, b, c, d, e, f, g, h, i, j, k] = self.0;
        r.cmds.truncate(a);
        r.weights.truncate(b);
        r.glyphs.truncate(c);
        r.shapes.truncate(d);
        r.edges.truncate(e);
        r.discs.truncate(f);
        r.bands.truncate(g);
        r.band_items.truncate(h);
        r.masks.truncate(i);
        r.mask_data.truncate(j);
        r.palette.truncate(k);
    }
}

enum OpError {
    Invalid(String),
    UnknownImage(u32),
    UnknownFont(u32),
    /// The glyph atlas was cleared while resolving (the batch is resolved again).
    AtlasReset,
}

fn check_rect(what: &str, r: &Rect) -> Result<(), OpError> {
    r.check()
        .map_err(|e| OpError::Invalid(format!("{what}: {e}")))
}

fn resolve_op<'a>(
    op: &Op,
    info: &FrameInfo,
    images: &'a dyn ImageSizes,
    text: &mut Option<std::sync::MutexGuard<'a, TextCache>>,
    out: &mut Resolved,
) -> Result<(), OpError> {
    let frame = PixelRect::frame(info.width, info.height);
    match op {
        Op::Box(b) => resolve_box(b, info, frame, out),
        Op::Blur(b) => resolve_blur(b, info, frame, out),
        Op::Overlay(o) => resolve_overlay(o, frame, images, out),
        Op::Text(t) => {
            for (name, v) in [("x", t.x), ("y", t.y)] {
                if !v.is_finite() || v.abs() > crate::geom::MAX_COORD {
                    return Err(OpError::Invalid(format!(
                        "text {name} = {v} is not a finite number within +-{}",
                        crate::geom::MAX_COORD
                    )));
                }
            }
            let place = Place::At {
                x: round_away(t.x),
                y: round_away(t.y),
                anchor: t.anchor,
            };
            resolve_text(&t.text, place, &t.style, info, frame, images, text, out)
        }
        Op::Label(l) => {
            check_rect("label rect", &l.rect)?;
            let place = Place::Label(l.rect.to_pixels());
            resolve_text(&l.text, place, &l.style, info, frame, images, text, out)
        }
        Op::Mask(_) | Op::ClassMap(_) => {
            super::mask::resolve(op, info, out).map_err(OpError::Invalid)
        }
        shape => super::shape::resolve(shape, info, out).map_err(OpError::Invalid),
    }
}

fn round_away(v: f32) -> i32 {
    f64::from(v).round() as i32
}

/// Where a text op goes: a point (with its anchor) or a label's box.
enum Place {
    At { x: i32, y: i32, anchor: Anchor },
    Label(PixelRect),
}

/// A text op -> background box, halo layer, glyph layer (each only if visible).
#[allow(clippy::too_many_arguments)]
fn resolve_text<'a>(
    s: &str,
    place: Place,
    style: &TextStyle,
    info: &FrameInfo,
    frame: PixelRect,
    images: &'a dyn ImageSizes,
    text: &mut Option<std::sync::MutexGuard<'a, TextCache>>,
    out: &mut Resolved,
) -> Result<(), OpError> {
    text::check_text(style.size, s).map_err(OpError::Invalid)?;
    if style.padding > text::MAX_PADDING {
        return Err(OpError::Invalid(format!(
            "text padding {} above {}",
            style.padding,
            text::MAX_PADDING
        )));
    }
    if let Some(h) = style.halo
        && !text::HALO_RANGE.contains(&h.width)
    {
        return Err(OpError::Invalid(format!(
            "halo width {} outside {:?}",
            h.width,
            text::HALO_RANGE
        )));
    }
    let fonts: &FontStore = images.fonts().ok_or(OpError::UnknownFont(style.font.0))?;
    let font = fonts
        .get(style.font)
        .ok_or(OpError::UnknownFont(style.font.0))?;
    let cache = text.get_or_insert_with(|| fonts.lock());
    let atlas_err = |e: String| {
        if e == text::ATLAS_RESET {
            OpError::AtlasReset
        } else {
            OpError::Invalid(format!("text: {e}"))
        }
    };
    let mut shaped = cache
        .shape(style.font.0, font, style.size, s)
        .map_err(atlas_err)?;
    if let Some(h) = style.halo
        && h.color.a > 0
    {
        shaped = cache
            .halo(style.font.0, font, style.size, s, &shaped, h.width)
            .map_err(atlas_err)?;
    }
    let m = shaped.metrics;
    let pad = style.padding as i32;
    // The text's origin: left end of the first line's box, and its top.
    let (ox, top) = match place {
        Place::At { x, y, anchor } => match anchor {
            Anchor::Top => (x, y),
            Anchor::Baseline => (x, y.saturating_sub(m.ascent)),
        },
        Place::Label(r) => {
            let (bw, bh) = (m.width + 2 * pad, m.height + 2 * pad);
            let by = if r.y0 - bh < 0 { r.y0 } else { r.y0 - bh };
            let bx = r.x0.min(info.width as i32 - bw).max(0);
            (bx + pad, by + pad)
        }
    };
    if let Some(bg) = style.background
        && bg.a > 0
    {
        let r = PixelRect::new(
            ox - pad,
            top - pad,
            ox + m.width + pad,
            top + m.height + pad,
        );
        let clip = r.intersect(&frame);
        if !r.is_empty() && !clip.is_empty() {
            out.cmds.push(CdCmd {
                inner: r.into(),
                color: Color::TRANSPARENT.to_frame_order(info.format),
                fill: bg.to_frame_order(info.format),
                ..cmd(CD_OP_RECT, clip)
            });
        }
    }
    let baseline = top + m.ascent;
    let layers = [
        style.halo.and_then(|h| {
            let masks = shaped.halos.iter().find(|(w, _)| *w == h.width)?;
            Some((h.color, &masks.1))
        }),
        Some((style.color, &shaped.fill)),
    ];
    for (color, masks) in layers.into_iter().flatten() {
        if color.a == 0 {
            continue;
        }
        let first = out.glyphs.len();
        let mut bbox: Option<PixelRect> = None;
        for (g, &(px, py)) in masks.iter().zip(&shaped.pens) {
            if g.w == 0 || g.h == 0 {
                continue;
            }
            let x = ox.saturating_add(px).saturating_add(g.left);
            let y = baseline.saturating_add(py).saturating_add(g.top);
            let r = PixelRect::new(x, y, x + i32::from(g.w), y + i32::from(g.h));
            let vis = r.intersect(&frame);
            if vis.is_empty() {
                continue;
            }
            bbox = Some(match bbox {
                None => vis,
                Some(b) => PixelRect::new(
                    b.x0.min(vis.x0),
                    b.y0.min(vis.y0),
                    b.x1.max(vis.x1),
                    b.y1.max(vis.y1),
                ),
            });
            out.glyphs.push(CdGlyph {
                x,
                y,
                w: g.w,
                h: g.h,
                atlas: g.off,
            });
        }
        if let Some(clip) = bbox {
            out.cmds.push(CdCmd {
                param: first as u32,
                aux: (out.glyphs.len() - first) as u32,
                color: color.to_frame_order(info.format),
                ..cmd(CD_OP_TEXT, clip)
            });
        }
    }
    Ok(())
}

fn cmd(op: u32, clip: PixelRect) -> CdCmd {
    CdCmd {
        op,
        clip: clip.into(),
        ..Default::default()
    }
}

fn resolve_box(
    b: &BoxOp,
    info: &FrameInfo,
    frame: PixelRect,
    out: &mut Resolved,
) -> Result<(), OpError> {
    check_rect("rect", &b.rect)?;
    let r = b.rect.to_pixels();
    let (outer, inner, stroke) = match b.border {
        Some(border) => {
            if !BORDER_WIDTH_RANGE.contains(&border.width) {
                return Err(OpError::Invalid(format!(
                    "border width {} outside {BORDER_WIDTH_RANGE:?}",
                    border.width
                )));
            }
            let t = border.width as i32;
            let (outer, inner) = match border.align {
                Align::Inside => (r, r.grow(-t)),
                Align::Outside => (r.grow(t), r),
                // floor((t-1)/2) outside the edge, ceil((t-1)/2) + 1 inside it.
                Align::Center => (r.grow((t - 1) / 2), r.grow(-(t / 2 + 1))),
            };
            (outer, inner, border.color)
        }
        None => (r, r, Color::TRANSPARENT),
    };
    let fill = b.fill.unwrap_or(Color::TRANSPARENT);
    let clip = outer.intersect(&frame);
    if r.is_empty() || clip.is_empty() || (stroke.a == 0 && fill.a == 0) {
        return Ok(());
    }
    // An inverted inner rectangle (stroke wider than the box) becomes the canonical
    // empty one, so "inside inner" is a plain containment test everywhere.
    let inner = if inner.is_empty() {
        PixelRect::EMPTY
    } else {
        inner
    };
    out.cmds.push(CdCmd {
        inner: inner.into(),
        color: stroke.to_frame_order(info.format),
        fill: fill.to_frame_order(info.format),
        ..cmd(CD_OP_RECT, clip)
    });
    Ok(())
}

fn resolve_blur(
    b: &BlurOp,
    info: &FrameInfo,
    frame: PixelRect,
    out: &mut Resolved,
) -> Result<(), OpError> {
    check_rect("blur rect", &b.rect)?;
    if !b.expand.is_finite() || !EXPAND_RANGE.contains(&b.expand) {
        return Err(OpError::Invalid(format!(
            "expand {} outside {EXPAND_RANGE:?}",
            b.expand
        )));
    }
    let (op, param, color, aux) = match b.kind {
        BlurKind::Box { radius } => {
            if !BLUR_RADIUS_RANGE.contains(&radius) {
                return Err(OpError::Invalid(format!(
                    "box radius {radius} outside {BLUR_RADIUS_RANGE:?}"
                )));
            }
            (CD_OP_BLUR_BOX, radius, [0; 4], 0)
        }
        BlurKind::Gaussian { sigma } => {
            if !sigma.is_finite() || !GAUSS_SIGMA_RANGE.contains(&sigma) {
                return Err(OpError::Invalid(format!(
                    "gaussian sigma {sigma} outside {GAUSS_SIGMA_RANGE:?}"
                )));
            }
            let radius = gauss_radius(sigma);
            let aux = out.weights.len() as u32;
            push_gauss_weights(sigma, &mut out.weights);
            (CD_OP_BLUR_GAUSS, radius, [0; 4], aux)
        }
        BlurKind::Pixelate { block } => {
            if !PIXELATE_BLOCK_RANGE.contains(&block) {
                return Err(OpError::Invalid(format!(
                    "pixelate block {block} outside {PIXELATE_BLOCK_RANGE:?}"
                )));
            }
            (CD_OP_PIXELATE, block, [0; 4], 0)
        }
        BlurKind::Solid { color } => (
            CD_OP_SOLID,
            0,
            Color { a: 255, ..color }.to_frame_order(info.format),
            0,
        ),
    };
    // Grown in f64 before rounding, and clipped (never dropped) when the grown
    // rectangle passes the coordinate limit: see `Rect::to_pixels_grown`.
    let clip = b
        .rect
        .to_pixels_grown(f64::from(b.expand))
        .intersect(&frame);
    if clip.is_empty() {
        // Drop any weights pushed for a command that will not exist.
        if op == CD_OP_BLUR_GAUSS {
            out.weights.truncate(aux as usize);
        }
        return Ok(());
    }
    out.cmds.push(CdCmd {
        param,
        color,
        aux,
        // Planar frames derive their chroma gaussian from sigma (docs/semantics.md,
        // "NV12 and I420"); packed backends ignore the field.
        reserved: match b.kind {
            BlurKind::Gaussian { sigma } => sigma.to_bits(),
            _ => 0,
        },
        ..cmd(op, clip)
    });
    Ok(())
}

fn resolve_overlay(
    o: &OverlayOp,
    frame: PixelRect,
    images: &dyn ImageSizes,
    out: &mut Resolved,
) -> Result<(), OpError> {
    check_rect("overlay rect", &o.rect)?;
    if !o.opacity.is_finite() || !(0.0..=1.0).contains(&o.opacity) {
        return Err(OpError::Invalid(format!(
            "opacity {} outside [0, 1]",
            o.opacity
        )));
    }
    if images.image_size(o.image).is_none() {
        return Err(OpError::UnknownImage(o.image.0));
    }
    let dest = o.rect.to_pixels();
    let clip = dest.intersect(&frame);
    let mult = opacity_multiplier(o.opacity);
    if dest.is_empty() || clip.is_empty() || mult == 0 {
        return Ok(());
    }
    let filter = match o.filter {
        super::Filter::Nearest => CD_FILTER_NEAREST,
        super::Filter::Bilinear => CD_FILTER_BILINEAR,
    };
    out.cmds.push(CdCmd {
        param: o.image.0,
        inner: CdRegion::from(dest),
        aux: mult | (filter << 16),
        ..cmd(CD_OP_OVERLAY, clip)
    });
    Ok(())
}

/// round(o * 255), half away from zero, for o in [0, 1].
pub(crate) fn opacity_multiplier(opacity: f32) -> u32 {
    (f64::from(opacity) * 255.0).round() as u32
}

/// Gaussian kernel radius: ceil(3 sigma).
pub(crate) fn gauss_radius(sigma: f32) -> u32 {
    (3.0 * f64::from(sigma)).ceil() as u32
}

/// Appends the Q16 weights of a gaussian of `sigma`: exp(-k^2 / (2 sigma^2)) for
/// k = -r..=r, normalised, each rounded to the nearest 1/65536, and the centre weight
/// corrected so the table sums to exactly 65536 (a flat region stays flat).
pub(crate) fn push_gauss_weights(sigma: f32, weights: &mut Vec<u32>) {
    let r = gauss_radius(sigma) as i64;
    let s = f64::from(sigma);
    let start = weights.len();
    let total: f64 = (-r..=r)
        .map(|k| (-((k * k) as f64) / (2.0 * s * s)).exp())
        .sum();
    let one = 1u32 << CD_GAUSS_SHIFT;
    for k in -r..=r {
        let w = (-((k * k) as f64) / (2.0 * s * s)).exp() / total;
        weights.push((w * f64::from(one)).round() as u32);
    }
    let sum: u32 = weights[start..].iter().sum();
    let centre = start + r as usize;
    weights[centre] = weights[centre] + one - sum;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::PixelFormat;
    use crate::draw::{Border, ImageId};

    struct NoImages;
    impl ImageSizes for NoImages {
        fn image_size(&self, _: ImageId) -> Option<(u32, u32)> {
            None
        }
    }

    fn one(list: &DrawList) -> Result<Resolved> {
        let mut out = Resolved::default();
        resolve_batch(
            &[FrameInfo::packed(1000, 800, PixelFormat::Rgba)],
            &[list],
            &NoImages,
            &mut out,
        )?;
        Ok(out)
    }

    #[test]
    fn center_alignment_matches_spec_example() {
        let mut l = DrawList::new();
        l.outline(
            Rect::new(400.0, 100.0, 100.0, 100.0),
            Border::new(8, Color::RED).align(Align::Center),
        );
        let r = one(&l).unwrap();
        let c = r.cmds[0];
        // Columns 397..=404 are stroke on the left edge.
        assert_eq!(c.clip.x0, 397);
        assert_eq!(c.inner.x0, 405);
        assert_eq!(c.clip.x1 - c.inner.x1, 8);
    }

    #[test]
    fn gauss_weights_sum_exactly() {
        for s in [0.1f32, 0.5, 1.0, 2.7, 10.0, 32.0] {
            let mut w = Vec::new();
            push_gauss_weights(s, &mut w);
            assert_eq!(w.len() as u32, 2 * gauss_radius(s) + 1);
            assert_eq!(w.iter().sum::<u32>(), 65536);
        }
    }

    #[test]
    fn errors_name_frame_and_op() {
        let mut l = DrawList::new();
        l.fill(Rect::new(0.0, 0.0, 1.0, 1.0), Color::RED);
        l.blur(Rect::new(0.0, 0.0, 10.0, 10.0), BlurKind::Box { radius: 0 });
        let e = one(&l).unwrap_err().to_string();
        assert!(e.contains("op 1") && e.contains("radius 0"), "{e}");
        let mut l = DrawList::new();
        l.overlay(ImageId(7), Rect::new(0.0, 0.0, 1.0, 1.0), 1.0);
        assert!(matches!(one(&l), Err(Error::UnknownImage { image: 7, .. })));
        let mut l = DrawList::new();
        l.fill(Rect::new(f32::NAN, 0.0, 1.0, 1.0), Color::RED);
        assert!(one(&l).unwrap_err().to_string().contains("left is NaN"));
    }

    #[test]
    fn limits_refuse_before_anything_is_resolved() {
        let mut l = DrawList::new();
        for _ in 0..5 {
            l.fill(Rect::new(0.0, 0.0, 1.0, 1.0), Color::RED);
        }
        let infos = [FrameInfo::packed(8, 8, PixelFormat::Rgba); 2];
        let mut out = Resolved::default();
        let tight = |list, batch| ResolveOptions {
            limits: Limits {
                max_ops_per_list: list,
                max_ops_per_batch: batch,
                ..Default::default()
            },
            ..Default::default()
        };
        let e =
            resolve_batch_with(&infos, &[&l, &l], &NoImages, &tight(4, 100), &mut out).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { limit: 4, .. }), "{e}");
        assert!(e.to_string().contains("frame 0: 5 ops"), "{e}");
        let e =
            resolve_batch_with(&infos, &[&l, &l], &NoImages, &tight(5, 9), &mut out).unwrap_err();
        assert!(e.to_string().contains("10 ops in one batch"), "{e}");
        resolve_batch_with(&infos, &[&l, &l], &NoImages, &tight(5, 10), &mut out).unwrap();
        assert_eq!(out.cmds.len(), 10);
        // The defaults are generous for real scenes and finite.
        let big: DrawList = (0..16_385)
            .map(|_| {
                Op::from(BoxOp {
                    rect: Rect::new(0.0, 0.0, 1.0, 1.0),
                    border: None,
                    fill: Some(Color::RED),
                })
            })
            .collect();
        assert!(matches!(
            resolve_batch(&infos[..1], &[&big], &NoImages, &mut out),
            Err(Error::LimitExceeded { limit: 16_384, .. })
        ));
    }

    #[test]
    fn skip_policy_drops_only_the_bad_ops() {
        let mut l = DrawList::new();
        l.blur(
            Rect::new(0.0, 0.0, 4.0, 4.0),
            BlurKind::Gaussian { sigma: 1.0 },
        );
        l.fill(Rect::new(4_294_967_291.0, 0.0, 2.0, 2.0), Color::RED);
        l.blur(
            Rect::new(0.0, 0.0, 4.0, 4.0),
            BlurKind::Gaussian { sigma: 99.0 },
        );
        l.overlay(ImageId(3), Rect::new(0.0, 0.0, 1.0, 1.0), 1.0);
        l.blur(
            Rect::new(2.0, 2.0, 4.0, 4.0),
            BlurKind::Solid {
                color: Color::BLACK,
            },
        );
        let infos = [FrameInfo::packed(8, 8, PixelFormat::Rgba)];
        let mut out = Resolved::default();
        assert!(resolve_batch(&infos, &[&l], &NoImages, &mut out).is_err());
        let skip = ResolveOptions {
            invalid_ops: InvalidOps::Skip,
            ..Default::default()
        };
        resolve_batch_with(&infos, &[&l], &NoImages, &skip, &mut out).unwrap();
        assert_eq!(out.skipped(), 3);
        assert_eq!(out.cmds.len(), 2);
        assert_eq!(out.cmds[0].op, CD_OP_BLUR_GAUSS);
        assert_eq!(out.cmds[1].op, CD_OP_SOLID);
        assert_eq!(out.weights.len(), 7, "only the kept gaussian's table");
        assert!(out.skipped_errors()[0].contains("op 1"));
        assert!(out.skipped_errors()[2].contains("op 3: unknown image handle 3"));
    }

    #[test]
    fn empty_and_offscreen_ops_are_dropped() {
        let mut l = DrawList::new();
        l.fill(Rect::new(10.0, 10.0, -5.0, 5.0), Color::RED);
        l.fill(Rect::new(2000.0, 10.0, 5.0, 5.0), Color::RED);
        l.fill(Rect::new(10.0, 10.0, 5.0, 5.0), Color::TRANSPARENT);
        assert!(one(&l).unwrap().cmds.is_empty());
    }
}
