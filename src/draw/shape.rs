//! Shapes: lines, polylines, filled polygons, arrows, ellipses and circles, rotated
//! boxes and points, resolved into fixed-point geometry every backend reads.
//!
//! All geometry is converted here, once, to 1/256 px integers (round half away from
//! zero, in f64 from the f32 inputs). A shape op becomes one or two *layers*
//! (`CdShape`: a fill and an outline); each layer's coverage of a pixel is decided by
//! integer tests at sample points: the pixel centre, or with anti-aliasing 4 x 4
//! samples, coverage `(n * 255 + 8) / 16` of n samples inside (docs/semantics.md,
//! "Shapes"). Strokes are unions of pieces (a quad per segment, a disc per round cap or
//! join, a triangle per arrow head), all oriented the same way so that the non-zero
//! winding rule unites them: a pixel under two pieces of one op is blended once.

use crate::cmd::{
    CD_BAND_H, CD_BAND_MIN_EDGES, CD_FIX_SHIFT, CD_NO_BANDS, CD_NO_SHAPE, CD_OP_SHAPE, CD_SHAPE_AA,
    CD_SHAPE_CONVEX, CD_SHAPE_ELLIPSE, CD_SHAPE_POLY, CdBand, CdCmd, CdDisc, CdEdge, CdShape,
};
use crate::color::Color;
use crate::draw::Align;
use crate::frame::FrameInfo;
use crate::geom::{MAX_COORD, PixelRect, Point};

use super::Resolved;

/// Largest stroke width (lines, outlines), pixels; widths must be > 0.
pub const MAX_STROKE_WIDTH: f32 = 1024.0;
/// Most points of one polyline or polygon.
pub const MAX_POINTS: usize = 16384;
/// Largest arrow head length, pixels.
pub const MAX_HEAD_LENGTH: f32 = 4096.0;

/// How the ends of an open line or polyline look.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Cap {
    /// The stroke ends at the end point.
    #[default]
    Flat,
    /// A disc of the stroke's width on each end point.
    Round,
}

/// Which ends of an arrow carry a head.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ArrowEnds {
    #[default]
    End,
    Start,
    Both,
}

/// An outline: width (pixels, in (0, [`MAX_STROKE_WIDTH`]]) and colour.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stroke {
    pub width: f32,
    pub color: Color,
}

impl Stroke {
    pub fn new(width: f32, color: Color) -> Self {
        Self { width, color }
    }
}

/// A straight line of `width` pixels from `from` to `to` (a tripwire, a counting line).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineOp {
    pub from: Point,
    pub to: Point,
    pub width: f32,
    pub color: Color,
    pub cap: Cap,
    pub aa: bool,
}

/// Connected segments (a track trail); `closed` joins the last point to the first.
/// Joins are round (a disc of the stroke's width on every inner point).
#[derive(Debug, Clone, PartialEq)]
pub struct PolylineOp {
    pub points: Vec<Point>,
    pub closed: bool,
    pub width: f32,
    pub color: Color,
    pub cap: Cap,
    pub aa: bool,
}

/// A polygon (a zone): filled by the non-zero winding rule, optionally outlined (the
/// closed polyline of its points, centred on its edges, round joins).
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonOp {
    pub points: Vec<Point>,
    pub fill: Option<Color>,
    pub outline: Option<Stroke>,
    pub aa: bool,
}

/// A line with a triangular head at its end, start or both: the head's tip on the end
/// point, its length along the line and its half-angle in degrees (0, 90).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArrowOp {
    pub from: Point,
    pub to: Point,
    pub width: f32,
    pub color: Color,
    pub head_length: f32,
    pub head_angle: f32,
    pub ends: ArrowEnds,
    pub aa: bool,
}

/// An axis-aligned ellipse (a circle when `rx == ry`): outline of a stroke's width
/// inside, centred on or outside the radii (like a box's [`Align`]), and/or a fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EllipseOp {
    pub center: Point,
    pub rx: f32,
    pub ry: f32,
    pub outline: Option<Stroke>,
    pub align: Align,
    pub fill: Option<Color>,
    pub aa: bool,
}

/// A rotated (oriented) box: centre, size, angle in degrees (clockwise on screen, y
/// down), outline inside its edges and/or a fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatedBoxOp {
    pub center: Point,
    pub width: f32,
    pub height: f32,
    pub angle: f32,
    pub outline: Option<Stroke>,
    pub fill: Option<Color>,
    pub aa: bool,
}

/// A dot (a keypoint): a disc of `radius` pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointOp {
    pub center: Point,
    pub radius: f32,
    pub color: Color,
    pub aa: bool,
}

/// One point in 1/256 px.
type Fx = (i64, i64);

/// f64 pixels -> 1/256 px, rounded half away from zero, saturated far beyond any
/// frame (so every product of two coordinates fits in i64).
fn fix(v: f64) -> i64 {
    (v * f64::from(1u32 << CD_FIX_SHIFT))
        .round()
        .clamp(-(1i64 << 29) as f64, (1i64 << 29) as f64) as i64
}

fn fixp(p: (f64, f64)) -> Fx {
    (fix(p.0), fix(p.1))
}

fn pt(p: Point) -> (f64, f64) {
    (f64::from(p.x), f64::from(p.y))
}

fn check_point(what: &str, p: &Point) -> Result<(), String> {
    p.check().map_err(|e| format!("{what}: {e}"))
}

fn check_width(what: &str, w: f32) -> Result<(), String> {
    if !(w.is_finite() && w > 0.0 && w <= MAX_STROKE_WIDTH) {
        return Err(format!("{what} {w} outside (0, {MAX_STROKE_WIDTH}]"));
    }
    Ok(())
}

fn check_len(what: &str, v: f32, max: f32) -> Result<(), String> {
    if !(v.is_finite() && (0.0..=max).contains(&v)) {
        return Err(format!("{what} {v} outside [0, {max}]"));
    }
    Ok(())
}

fn check_points(points: &[Point], min: usize) -> Result<(), String> {
    if points.len() < min {
        return Err(format!("{} points (at least {min} needed)", points.len()));
    }
    if points.len() > MAX_POINTS {
        return Err(format!("{} points (limit {MAX_POINTS})", points.len()));
    }
    for (i, p) in points.iter().enumerate() {
        check_point(&format!("point {i}"), p)?;
    }
    Ok(())
}

/// Rows per slice of a sliced layer (see [`Layer::finish`]).
const SLICE_H: i32 = 32;

/// One layer under construction: its geometry is appended to the batch's arrays.
struct Layer {
    shape: CdShape,
    /// Bounding box in 1/256 px (min x, min y, max x, max y).
    bbox: Option<(i64, i64, i64, i64)>,
}

impl Layer {
    fn new(out: &Resolved, kind: u32, aa: bool) -> Self {
        Layer {
            shape: CdShape {
                kind,
                flags: if aa { CD_SHAPE_AA } else { 0 },
                edge_start: out.edges.len() as u32,
                disc_start: out.discs.len() as u32,
                band: CD_NO_BANDS,
                minus: CD_NO_SHAPE,
                ..Default::default()
            },
            bbox: None,
        }
    }

    fn grow(&mut self, x0: i64, y0: i64, x1: i64, y1: i64) {
        self.bbox = Some(match self.bbox {
            None => (x0, y0, x1, y1),
            Some((a, b, c, d)) => (a.min(x0), b.min(y0), c.max(x1), d.max(y1)),
        });
    }

    /// A closed polygon's edges (horizontal ones dropped: they never cross a sample row).
    fn polygon(&mut self, out: &mut Resolved, p: &[Fx]) {
        for (i, &a) in p.iter().enumerate() {
            let b = p[(i + 1) % p.len()];
            self.grow(a.0.min(b.0), a.1.min(b.1), a.0.max(b.0), a.1.max(b.1));
            if a.1 != b.1 {
                out.edges.push(CdEdge {
                    x0: a.0 as i32,
                    y0: a.1 as i32,
                    x1: b.0 as i32,
                    y1: b.1 as i32,
                });
                self.shape.edge_count += 1;
            }
        }
    }

    /// A convex piece of a stroke, turned to the common orientation.
    fn piece(&mut self, out: &mut Resolved, p: &mut [Fx]) {
        if signed_area2(p) < 0 {
            p.reverse();
        }
        self.polygon(out, p);
    }

    fn disc(&mut self, out: &mut Resolved, c: Fx, r: i64) {
        if r <= 0 {
            return;
        }
        self.grow(c.0 - r, c.1 - r, c.0 + r, c.1 + r);
        out.discs.push(CdDisc {
            cx: c.0 as i32,
            cy: c.1 as i32,
            r: r as i32,
            reserved: 0,
        });
        self.shape.disc_count += 1;
    }

    /// A segment's quad of width `t` (nothing for a zero-length segment).
    fn segment(&mut self, out: &mut Resolved, a: (f64, f64), b: (f64, f64), t: f64) {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy);
        if len == 0.0 {
            return;
        }
        let (nx, ny) = (-dy / len * t / 2.0, dx / len * t / 2.0);
        let mut q = [
            fixp((a.0 + nx, a.1 + ny)),
            fixp((b.0 + nx, b.1 + ny)),
            fixp((b.0 - nx, b.1 - ny)),
            fixp((a.0 - nx, a.1 - ny)),
        ];
        self.piece(out, &mut q);
    }

    /// Finishes the layer: clip, bands, command. Nothing if it covers no frame pixel.
    fn finish(mut self, out: &mut Resolved, info: &FrameInfo, color: Color) -> Option<u32> {
        let frame = PixelRect::frame(info.width, info.height);
        let (x0, y0, x1, y1) = self.bbox?;
        let s = 1i64 << CD_FIX_SHIFT;
        let px = |v: i64| v.div_euclid(s).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        let clip = PixelRect::new(
            px(x0),
            px(y0),
            px(x1).saturating_add(1),
            px(y1).saturating_add(1),
        )
        .intersect(&frame);
        let empty = self.shape.kind == CD_SHAPE_POLY
            && self.shape.edge_count == 0
            && self.shape.disc_count == 0;
        if clip.is_empty() || empty || color.a == 0 {
            // Dropped; its geometry too when nothing was appended after it (a fill's
            // may follow an outline's: then it stays, unreferenced).
            let (e_end, d_end) = (
                (self.shape.edge_start + self.shape.edge_count) as usize,
                (self.shape.disc_start + self.shape.disc_count) as usize,
            );
            if out.edges.len() == e_end && out.discs.len() == d_end {
                out.edges.truncate(self.shape.edge_start as usize);
                out.discs.truncate(self.shape.disc_start as usize);
            }
            return None;
        }
        if self.shape.edge_count + self.shape.disc_count > CD_BAND_MIN_EDGES {
            self.bands(out, clip);
        }
        let index = out.shapes.len() as u32;
        out.shapes.push(self.shape);
        let cmd = CdCmd {
            op: CD_OP_SHAPE,
            param: index,
            clip: clip.into(),
            color: color.to_frame_order(info.format),
            ..Default::default()
        };
        // A slanted stroke's box is mostly empty: as commands over slices of rows, each
        // only as wide as the layer there, the backends visit far fewer pixels. The
        // slices partition the pixels the layer can cover, so each is drawn once.
        let sliceable = self.shape.kind == CD_SHAPE_POLY
            && self.shape.band == CD_NO_BANDS
            && clip.height() >= 2 * SLICE_H;
        if sliceable {
            // The slices go straight into the list; taken back when they would save
            // less than half the box.
            let n = out.cmds.len();
            let mut area = 0u64;
            let cmds = &mut out.cmds;
            for (y0, y1, x0, x1) in self.slice_rows(&out.edges, &out.discs, clip) {
                let r = PixelRect::new(x0, y0, x1, y1);
                if !r.is_empty() {
                    area += r.area();
                    cmds.push(CdCmd {
                        clip: r.into(),
                        ..cmd
                    });
                }
            }
            if area * 2 <= clip.area() {
                return Some(index);
            }
            out.cmds.truncate(n);
        }
        out.cmds.push(cmd);
        Some(index)
    }

    /// Per slice of (up to) SLICE_H rows of the clip: (first row, end row, x0, x1), the
    /// columns where the layer's edges and discs can be within those rows, widened by
    /// a pixel each side (so float rounding of the extent cannot lose a covered
    /// pixel), clipped.
    fn slice_rows<'a>(
        &self,
        edges: &'a [CdEdge],
        discs: &'a [CdDisc],
        clip: PixelRect,
    ) -> impl Iterator<Item = (i32, i32, i32, i32)> + 'a {
        let s = f64::from(1u32 << CD_FIX_SHIFT);
        let edges = &edges[self.shape.edge_start as usize..][..self.shape.edge_count as usize];
        let discs = &discs[self.shape.disc_start as usize..][..self.shape.disc_count as usize];
        // Slice edges on even rows: a 2 x 2 block of an NV12 / I420 frame is never
        // split between two commands (its chroma blends once per op).
        let base = clip.y0 & !1;
        (base..clip.y1).step_by(SLICE_H as usize).map(move |b0| {
            let y0 = b0.max(clip.y0);
            let (ya, yb) = (
                f64::from(y0) * s,
                f64::from((b0 + SLICE_H).min(clip.y1)) * s,
            );
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for e in edges {
                let (ax, ay, bx, by) = (
                    f64::from(e.x0),
                    f64::from(e.y0),
                    f64::from(e.x1),
                    f64::from(e.y1),
                );
                if ay.max(by) < ya || ay.min(by) > yb {
                    continue;
                }
                // The edge's x over [ya, yb]: at its ends clamped into the rows.
                let at = |y: f64| ax + (bx - ax) * ((y - ay) / (by - ay));
                for y in [ay.clamp(ya, yb), by.clamp(ya, yb)] {
                    let x = at(y);
                    lo = lo.min(x);
                    hi = hi.max(x);
                }
            }
            for d in discs {
                let (cx, cy, r) = (f64::from(d.cx), f64::from(d.cy), f64::from(d.r));
                if cy + r < ya || cy - r > yb {
                    continue;
                }
                lo = lo.min(cx - r);
                hi = hi.max(cx + r);
            }
            if lo > hi {
                return (y0, (b0 + SLICE_H).min(clip.y1), clip.x0, clip.x0); // nothing here
            }
            let x0 = ((lo / s).floor() - 1.0).max(f64::from(clip.x0)) as i32;
            let x1 = ((hi / s).ceil() + 2.0).min(f64::from(clip.x1)) as i32;
            (y0, (b0 + SLICE_H).min(clip.y1), x0, x1.max(x0))
        })
    }

    /// Bands of CD_BAND_H rows over the clip: each lists the edges whose rows and the
    /// discs whose extent meet the band (edges in their order, so winding sums are
    /// the same however they are visited).
    fn bands(&mut self, out: &mut Resolved, clip: PixelRect) {
        let bh = CD_BAND_H as i64;
        let s = 1i64 << CD_FIX_SHIFT;
        let y0 = i64::from(clip.y0);
        let n = ((i64::from(clip.y1) - y0 + bh - 1) / bh) as usize;
        let range = |lo: i64, hi: i64| -> Option<(usize, usize)> {
            // Bands whose sample rows [top * s, bottom * s) meet [lo, hi].
            let first = ((lo.div_euclid(s) - y0).div_euclid(bh)).max(0);
            let last = ((hi.div_euclid(s) - y0).div_euclid(bh)).min(n as i64 - 1);
            (first <= last).then_some((first as usize, last as usize))
        };
        let band0 = out.bands.len();
        out.bands.resize(band0 + n, CdBand::default());
        let e0 = self.shape.edge_start as usize;
        let d0 = self.shape.disc_start as usize;
        let ne = self.shape.edge_count as usize;
        let nd = self.shape.disc_count as usize;
        // Counting pass, then fill: edges of a band first, then its discs.
        let mut counts = vec![(0u32, 0u32); n];
        for e in &out.edges[e0..e0 + ne] {
            if let Some((a, b)) = range(i64::from(e.y0.min(e.y1)), i64::from(e.y0.max(e.y1))) {
                for c in &mut counts[a..=b] {
                    c.0 += 1;
                }
            }
        }
        for d in &out.discs[d0..d0 + nd] {
            let (cy, r) = (i64::from(d.cy), i64::from(d.r));
            if let Some((a, b)) = range(cy - r, cy + r) {
                for c in &mut counts[a..=b] {
                    c.1 += 1;
                }
            }
        }
        let mut at = out.band_items.len() as u32;
        for (k, c) in counts.iter().enumerate() {
            out.bands[band0 + k] = CdBand {
                edge_start: at,
                edge_count: 0,
                disc_start: at + c.0,
                disc_count: 0,
            };
            at += c.0 + c.1;
        }
        out.band_items.resize(at as usize, 0);
        for (i, e) in out.edges[e0..e0 + ne].iter().enumerate() {
            if let Some((a, b)) = range(i64::from(e.y0.min(e.y1)), i64::from(e.y0.max(e.y1))) {
                for band in &mut out.bands[band0 + a..=band0 + b] {
                    out.band_items[(band.edge_start + band.edge_count) as usize] = (e0 + i) as u32;
                    band.edge_count += 1;
                }
            }
        }
        for (i, d) in out.discs[d0..d0 + nd].iter().enumerate() {
            let (cy, r) = (i64::from(d.cy), i64::from(d.r));
            if let Some((a, b)) = range(cy - r, cy + r) {
                for band in &mut out.bands[band0 + a..=band0 + b] {
                    out.band_items[(band.disc_start + band.disc_count) as usize] = (d0 + i) as u32;
                    band.disc_count += 1;
                }
            }
        }
        self.shape.band = band0 as u32;
        self.shape.band_count = n as u32;
        self.shape.band_y0 = clip.y0;
    }
}

/// Twice the signed area (y down: positive = clockwise on screen).
fn signed_area2(p: &[Fx]) -> i128 {
    (0..p.len())
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % p.len()]);
            i128::from(a.0) * i128::from(b.1) - i128::from(b.0) * i128::from(a.1)
        })
        .sum()
}

/// A stroke along `points` (closed: back to the first), width `t`: a quad per
/// segment, a disc on every join (and on open ends with round caps).
fn stroke_path(
    layer: &mut Layer,
    out: &mut Resolved,
    points: &[Point],
    closed: bool,
    t: f64,
    cap: Cap,
) {
    let n = points.len();
    let segs = if closed { n } else { n - 1 };
    for i in 0..segs {
        layer.segment(out, pt(points[i]), pt(points[(i + 1) % n]), t);
    }
    let r = fix(t / 2.0);
    for (i, p) in points.iter().enumerate() {
        let end = !closed && (i == 0 || i == n - 1);
        if !end || cap == Cap::Round {
            layer.disc(out, fixp(pt(*p)), r);
        }
    }
}

/// Resolves a shape op into layers and commands. Errors name what is out of range;
/// on error the caller drops whatever was pushed.
pub(crate) fn resolve(op: &super::Op, info: &FrameInfo, out: &mut Resolved) -> Result<(), String> {
    use super::Op;
    match op {
        Op::Line(l) => {
            check_point("from", &l.from)?;
            check_point("to", &l.to)?;
            check_width("line width", l.width)?;
            let mut layer = Layer::new(out, CD_SHAPE_POLY, l.aa);
            let t = f64::from(l.width);
            layer.segment(out, pt(l.from), pt(l.to), t);
            if l.cap == Cap::Round {
                let r = fix(t / 2.0);
                layer.disc(out, fixp(pt(l.from)), r);
                layer.disc(out, fixp(pt(l.to)), r);
            } else {
                layer.shape.flags |= CD_SHAPE_CONVEX;
            }
            layer.finish(out, info, l.color);
        }
        Op::Polyline(p) => {
            check_points(&p.points, 1)?;
            check_width("polyline width", p.width)?;
            let mut layer = Layer::new(out, CD_SHAPE_POLY, p.aa);
            stroke_path(
                &mut layer,
                out,
                &p.points,
                p.closed,
                f64::from(p.width),
                p.cap,
            );
            layer.finish(out, info, p.color);
        }
        Op::Polygon(p) => {
            check_points(&p.points, 3)?;
            if let Some(s) = p.outline {
                check_width("polygon outline width", s.width)?;
            }
            // The outline first (the fill's coverage excludes it), then the fill, then
            // the commands in draw order: fill, outline.
            let stroke = p.outline.map(|s| {
                let mut layer = Layer::new(out, CD_SHAPE_POLY, p.aa);
                stroke_path(
                    &mut layer,
                    out,
                    &p.points,
                    true,
                    f64::from(s.width),
                    Cap::Round,
                );
                (layer, s.color)
            });
            let fill = p.fill.filter(|c| c.a > 0).map(|c| {
                let mut layer = Layer::new(out, CD_SHAPE_POLY, p.aa);
                let v: Vec<Fx> = p.points.iter().map(|q| fixp(pt(*q))).collect();
                layer.polygon(out, &v);
                (layer, c)
            });
            finish_pair(out, info, fill, stroke);
        }
        Op::Arrow(a) => {
            check_point("from", &a.from)?;
            check_point("to", &a.to)?;
            check_width("arrow width", a.width)?;
            check_len("head length", a.head_length, MAX_HEAD_LENGTH)?;
            if !(a.head_angle.is_finite() && a.head_angle > 0.0 && a.head_angle < 90.0) {
                return Err(format!(
                    "head angle {} outside (0, 90) degrees",
                    a.head_angle
                ));
            }
            let mut layer = Layer::new(out, CD_SHAPE_POLY, a.aa);
            let (p, q) = (pt(a.from), pt(a.to));
            layer.segment(out, p, q, f64::from(a.width));
            let len = (q.0 - p.0).hypot(q.1 - p.1);
            if len > 0.0 {
                let (l, half) = (
                    f64::from(a.head_length),
                    f64::from(a.head_angle).to_radians(),
                );
                let w = l * half.tan();
                let mut head = |tip: (f64, f64), dir: (f64, f64)| {
                    let base = (tip.0 - dir.0 * l, tip.1 - dir.1 * l);
                    let (nx, ny) = (-dir.1 * w, dir.0 * w);
                    let mut t = [
                        fixp(tip),
                        fixp((base.0 + nx, base.1 + ny)),
                        fixp((base.0 - nx, base.1 - ny)),
                    ];
                    layer.piece(out, &mut t);
                };
                let d = ((q.0 - p.0) / len, (q.1 - p.1) / len);
                if matches!(a.ends, ArrowEnds::End | ArrowEnds::Both) {
                    head(q, d);
                }
                if matches!(a.ends, ArrowEnds::Start | ArrowEnds::Both) {
                    head(p, (-d.0, -d.1));
                }
            }
            layer.finish(out, info, a.color);
        }
        Op::Ellipse(e) => {
            check_point("center", &e.center)?;
            check_len("rx", e.rx, MAX_COORD)?;
            check_len("ry", e.ry, MAX_COORD)?;
            if let Some(s) = e.outline {
                check_width("outline width", s.width)?;
            }
            let (cx, cy) = fixp(pt(e.center));
            let (rx, ry) = (f64::from(e.rx), f64::from(e.ry));
            let ellipse = |out: &Resolved, ax: f64, ay: f64, ix: f64, iy: f64| {
                let mut layer = Layer::new(out, CD_SHAPE_ELLIPSE, e.aa);
                let (ax, ay) = (fix(ax.max(0.0)), fix(ay.max(0.0)));
                let (ix, iy) = (fix(ix.max(0.0)), fix(iy.max(0.0)));
                layer.shape.e = [
                    cx as i32, cy as i32, ax as i32, ay as i32, ix as i32, iy as i32,
                ];
                if ax > 0 && ay > 0 {
                    layer.grow(cx - ax, cy - ay, cx + ax, cy + ay);
                }
                layer
            };
            let (mut fx, mut fy) = (rx, ry);
            let stroke = e.outline.map(|s| {
                let t = f64::from(s.width);
                let (o, i) = match e.align {
                    Align::Inside => (0.0, t),
                    Align::Center => (t / 2.0, t / 2.0),
                    Align::Outside => (t, 0.0),
                };
                (fx, fy) = (rx - i, ry - i);
                (ellipse(out, rx + o, ry + o, rx - i, ry - i), s.color)
            });
            let fill = e
                .fill
                .filter(|c| c.a > 0)
                .map(|c| (ellipse(out, fx, fy, 0.0, 0.0), c));
            finish_pair(out, info, fill, stroke);
        }
        Op::RotatedBox(b) => {
            check_point("center", &b.center)?;
            check_len("width", b.width, MAX_COORD)?;
            check_len("height", b.height, MAX_COORD)?;
            if !(b.angle.is_finite() && b.angle.abs() <= 1.0e6) {
                return Err(format!(
                    "angle {} is not a finite number of degrees",
                    b.angle
                ));
            }
            if let Some(s) = b.outline {
                check_width("outline width", s.width)?;
            }
            let (c, a) = (pt(b.center), f64::from(b.angle).to_radians());
            let (sin, cos) = a.sin_cos();
            let corners = |w: f64, h: f64| -> [Fx; 4] {
                let (hw, hh) = (w / 2.0, h / 2.0);
                let at = |u: f64, v: f64| fixp((c.0 + u * cos - v * sin, c.1 + u * sin + v * cos));
                [at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh)]
            };
            let (w, h) = (f64::from(b.width), f64::from(b.height));
            let (mut iw, mut ih) = (w, h);
            let stroke = b.outline.map(|s| {
                let t = f64::from(s.width);
                (iw, ih) = ((w - 2.0 * t).max(0.0), (h - 2.0 * t).max(0.0));
                let mut layer = Layer::new(out, CD_SHAPE_POLY, b.aa);
                let mut outer = corners(w, h);
                layer.piece(out, &mut outer);
                if iw > 0.0 && ih > 0.0 {
                    // The inner rectangle the other way round: winding 0 inside it.
                    let mut inner = corners(iw, ih);
                    if signed_area2(&inner) > 0 {
                        inner.reverse();
                    }
                    layer.polygon(out, &inner);
                }
                (layer, s.color)
            });
            let fill = b
                .fill
                .filter(|c| c.a > 0 && iw > 0.0 && ih > 0.0)
                .map(|col| {
                    let mut layer = Layer::new(out, CD_SHAPE_POLY, b.aa);
                    layer.piece(out, &mut corners(iw, ih));
                    layer.shape.flags |= CD_SHAPE_CONVEX;
                    (layer, col)
                });
            finish_pair(out, info, fill, stroke);
        }
        Op::Point(p) => {
            check_point("center", &p.center)?;
            check_len("radius", p.radius, MAX_STROKE_WIDTH)?;
            let mut layer = Layer::new(out, CD_SHAPE_POLY, p.aa);
            layer.disc(out, fixp(pt(p.center)), fix(f64::from(p.radius)));
            layer.finish(out, info, p.color);
        }
        _ => return Err("not a shape op".into()),
    }
    Ok(())
}

/// Finishes a fill and an outline layer of one op: the outline's shape is pushed
/// first (so the fill can name it as `minus`), the commands go fill, outline.
fn finish_pair(
    out: &mut Resolved,
    info: &FrameInfo,
    fill: Option<(Layer, Color)>,
    stroke: Option<(Layer, Color)>,
) {
    // The stroke's command must follow the fill's: finish the stroke into a side
    // slot, then the fill, then put the stroke's command after it.
    // The stroke's commands (one, or its slices) move to a side buffer meanwhile.
    let n = out.cmds.len();
    let stroke_index = stroke.and_then(|(layer, color)| layer.finish(out, info, color));
    let before = out.side.len();
    out.side.extend(out.cmds.drain(n..));
    if let Some((mut layer, color)) = fill {
        if let Some(index) = stroke_index {
            layer.shape.minus = index;
        }
        layer.finish(out, info, color);
    }
    let side = std::mem::take(&mut out.side);
    out.cmds.extend_from_slice(&side[before..]);
    out.side = side;
    out.side.truncate(before);
}
