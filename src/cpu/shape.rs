//! Shape layers (`CD_OP_SHAPE`) on the CPU: coverage from integer tests at sample
//! points, exactly as docs/semantics.md ("Shapes") states and kernels/common.cuh
//! computes it.

use super::simd::multiversioned;
#[cfg(test)]
use crate::cmd::CdEdge;
use crate::cmd::{
    CD_BAND_H, CD_NO_BANDS, CD_NO_SHAPE, CD_SHAPE_AA, CD_SHAPE_ELLIPSE, CdCmd, CdDisc, CdShape,
};
use crate::frame::FrameInfo;

use super::Sources;

/// +1 (edge going down), -1 (going up) or 0: whether the edge crosses sample row `sy`
/// (its upper end included, its lower end not) at or left of `sx`.
#[cfg(test)] // the per-sample definition: tests hold the row intervals to it
#[inline]
pub(crate) fn winding(e: &CdEdge, sx: i64, sy: i64) -> i32 {
    let (mut ax, mut ay, mut bx, mut by) = (
        i64::from(e.x0),
        i64::from(e.y0),
        i64::from(e.x1),
        i64::from(e.y1),
    );
    let mut dir = 1;
    if ay > by {
        std::mem::swap(&mut ax, &mut bx);
        std::mem::swap(&mut ay, &mut by);
        dir = -1;
    }
    if sy < ay || sy >= by {
        return 0;
    }
    // The crossing's x, ax + (sy - ay)(bx - ax)/(by - ay), is <= sx.
    if (sy - ay) * (bx - ax) <= (sx - ax) * (by - ay) {
        dir
    } else {
        0
    }
}

#[cfg(test)] // the per-sample definition: tests hold the row intervals to it
#[inline]
fn in_disc(d: &CdDisc, sx: i64, sy: i64) -> bool {
    let (dx, dy, r) = (sx - i64::from(d.cx), sy - i64::from(d.cy), i64::from(d.r));
    dx * dx + dy * dy <= r * r
}

/// Inside the axis-aligned ellipse of radii (rx, ry) at (cx, cy):
/// dx^2 ry^2 + dy^2 rx^2 <= rx^2 ry^2, exactly (128-bit).
#[cfg(test)] // the per-sample definition: tests hold the row intervals to it
#[inline]
fn in_ellipse(cx: i64, cy: i64, rx: i64, ry: i64, sx: i64, sy: i64) -> bool {
    if rx <= 0 || ry <= 0 {
        return false;
    }
    let (dx, dy) = (
        (sx - cx).unsigned_abs() as u128,
        (sy - cy).unsigned_abs() as u128,
    );
    let (rx, ry) = (rx as u128, ry as u128);
    dx * dx * (ry * ry) + dy * dy * (rx * rx) <= rx * rx * (ry * ry)
}

/// Whether sample (sx, sy) (1/256 px) is inside layer `s`.
#[cfg(test)] // the per-sample definition: tests hold the row intervals to it
fn inside(s: &CdShape, src: &Sources<'_>, sx: i64, sy: i64, band: Option<usize>) -> bool {
    if s.kind == CD_SHAPE_ELLIPSE {
        let e = s.e.map(i64::from);
        return in_ellipse(e[0], e[1], e[2], e[3], sx, sy)
            && !in_ellipse(e[0], e[1], e[4], e[5], sx, sy);
    }
    let mut w = 0i32;
    match band {
        Some(b) => {
            let b = &src.bands[b];
            let items = &src.band_items;
            for &i in &items[b.edge_start as usize..(b.edge_start + b.edge_count) as usize] {
                w += winding(&src.edges[i as usize], sx, sy);
            }
            if w != 0 {
                return true;
            }
            items[b.disc_start as usize..(b.disc_start + b.disc_count) as usize]
                .iter()
                .any(|&i| in_disc(&src.discs[i as usize], sx, sy))
        }
        None => {
            let edges = &src.edges[s.edge_start as usize..(s.edge_start + s.edge_count) as usize];
            for e in edges {
                w += winding(e, sx, sy);
            }
            if w != 0 {
                return true;
            }
            src.discs[s.disc_start as usize..(s.disc_start + s.disc_count) as usize]
                .iter()
                .any(|d| in_disc(d, sx, sy))
        }
    }
}

/// Coverage 0..=255 of pixel (x, y) by layer `s` (the definition, sample by sample;
/// `draw` computes the same by spans): its centre (255 or 0), or with
/// anti-aliasing (n * 255 + 8) / 16 of the 4 x 4 samples at 1/256 px offsets
/// 32, 96, 160, 224.
#[cfg(test)] // the per-sample definition: tests hold the row intervals to it
pub(crate) fn coverage(s: &CdShape, src: &Sources<'_>, x: i32, y: i32) -> u32 {
    let band = (s.band != CD_NO_BANDS).then(|| {
        let k = ((y - s.band_y0) / CD_BAND_H as i32).clamp(0, s.band_count as i32 - 1);
        s.band as usize + k as usize
    });
    let (px, py) = (i64::from(x) << 8, i64::from(y) << 8);
    if s.flags & CD_SHAPE_AA == 0 {
        return if inside(s, src, px + 128, py + 128, band) {
            255
        } else {
            0
        };
    }
    let mut n = 0u32;
    for j in 0..4 {
        for i in 0..4 {
            n += u32::from(inside(s, src, px + 32 + 64 * i, py + 32 + 64 * j, band));
        }
    }
    (n * 255 + 8) / 16
}

/// A layer's coverage with the coverage of its `minus` layer taken out:
/// (c (255 - m) + 127) / 255 (per pixel: the planar renderer's path; the packed one
/// draws by spans, the same values).
#[cfg(test)] // the per-sample definition: tests hold the row intervals to it
pub(crate) fn layer_coverage(s: &CdShape, src: &Sources<'_>, x: i32, y: i32) -> u32 {
    let c = coverage(s, src, x, y);
    if c == 0 || s.minus == CD_NO_SHAPE {
        return c;
    }
    let m = coverage(&src.shapes[s.minus as usize], src, x, y);
    (c * (255 - m) + 127) / 255
}

/// The sample positions of one sample row: inside-intervals [lo, hi) in 1/256 px (x),
/// sorted and disjoint: exactly the samples the per-sample test calls inside.
fn row_spans(
    s: &CdShape,
    edges: &[RowEdge],
    src: &Sources<'_>,
    y: i32,
    sy: i64,
    out: &mut Vec<(i64, i64)>,
    scratch: &mut Vec<i64>,
) {
    out.clear();
    if s.kind == CD_SHAPE_ELLIPSE {
        let e = s.e.map(i64::from);
        let outer = ellipse_span(e[0], e[1], e[2], e[3], sy);
        let inner = ellipse_span(e[0], e[1], e[4], e[5], sy);
        if let Some((a, b)) = outer {
            match inner {
                Some((c, d)) if c < b && d > a => {
                    if a < c {
                        out.push((a, c));
                    }
                    if d < b {
                        out.push((d, b));
                    }
                }
                _ => out.push((a, b)),
            }
        }
        return;
    }
    // Edges: a threshold t per crossing edge (it counts for every sx >= t), swept in
    // order; the winding is constant between thresholds.
    scratch.clear();
    // (sy - ay)(bx - ax) <= (sx - ax)(by - ay)  <=>  sx >= ax + ceil(num / den). A plain
    // function, inlined into both loops (a closure called from two loops was not). The
    // threshold and the direction go in one i64, 2 t + (1 if down): sorted as integers
    // they sort by t, and 8-byte entries are read back as they were stored (16-byte
    // pairs written as two words and read as one stall the store forwarding).
    #[inline(always)]
    fn threshold(e: &RowEdge, sy: i64) -> Option<i64> {
        if sy < e.ay || sy >= e.by {
            return None;
        }
        let (q, r) = floor_div_rem((sy - e.ay) * e.dx, e.dy, e.inv);
        Some(2 * (e.ax + q + i64::from(r != 0)) + i64::from(e.dir > 0))
    }
    let mut discs: [Option<(usize, usize)>; 1] = [None];
    match band_of(s, y) {
        Some(b) => {
            let b = &src.bands[b];
            for &i in &src.band_items[b.edge_start as usize..(b.edge_start + b.edge_count) as usize]
            {
                scratch.extend(threshold(&edges[(i - s.edge_start) as usize], sy));
            }
            discs[0] = Some((b.disc_start as usize, b.disc_count as usize));
        }
        None => {
            for e in edges {
                scratch.extend(threshold(e, sy));
            }
        }
    }
    sort_few(scratch);
    let mut w = 0i32;
    let mut start = 0i64;
    let mut k = 0;
    while k < scratch.len() {
        let t = scratch[k] >> 1;
        let before = w;
        while k < scratch.len() && scratch[k] >> 1 == t {
            w += if scratch[k] & 1 == 1 { 1 } else { -1 };
            k += 1;
        }
        if before == 0 && w != 0 {
            start = t;
        } else if before != 0 && w == 0 {
            out.push((start, t));
        }
    }
    // Discs: |sx - cx| <= isqrt(r^2 - dy^2).
    let mut disc = |d: &CdDisc| {
        let (dy, r) = (sy - i64::from(d.cy), i64::from(d.r));
        let q = r * r - dy * dy;
        if q >= 0 {
            let h = isqrt(q as u128) as i64;
            out.push((i64::from(d.cx) - h, i64::from(d.cx) + h + 1));
        }
    };
    match discs[0] {
        Some((start, n)) => {
            for &i in &src.band_items[start..start + n] {
                disc(&src.discs[i as usize]);
            }
        }
        None => {
            for d in &src.discs[s.disc_start as usize..(s.disc_start + s.disc_count) as usize] {
                disc(d);
            }
        }
    }
    // Sorted, merged (touching intervals join: [a, b) + [b, c) = [a, c)).
    if out.len() < 2 {
        return;
    }
    sort_few(out);
    let mut n = 0;
    for i in 0..out.len() {
        if n > 0 && out[i].0 <= out[n - 1].1 {
            out[n - 1].1 = out[n - 1].1.max(out[i].1);
        } else {
            out[n] = out[i];
            n += 1;
        }
    }
    out.truncate(n);
}

/// (num.div_euclid(den), num.rem_euclid(den)) for den > 0, `inv` = 1.0 / den (as f64),
/// without a 64-bit integer division (tens of cycles on many x86 cores) or a libm
/// `floor` call: this runs for every edge of every sample row. For |num| < 2^52 the
/// product num * inv is within one of num / den (two roundings of 2^-53 each, relative),
/// its truncation within two of the floor, and the integer steps below make it exact
/// (they loop until the remainder is in [0, den), so the result never depends on that
/// bound, only the step count does). Larger numerators take the integer division.
#[inline]
fn floor_div_rem(num: i64, den: i64, inv: f64) -> (i64, i64) {
    if !(-(1i64 << 52)..(1i64 << 52)).contains(&num) || den >= 1 << 52 {
        return (num.div_euclid(den), num.rem_euclid(den));
    }
    let mut q = (num as f64 * inv) as i64;
    let mut r = num - q * den;
    while r < 0 {
        q -= 1;
        r += den;
    }
    while r >= den {
        q += 1;
        r -= den;
    }
    (q, r)
}

/// Sorts a row's crossings or spans. Most rows of most shapes have two crossings and
/// one span: two take a compare (the library sort is an out-of-line call even then).
#[inline]
fn sort_few<T: Copy + Ord>(v: &mut [T]) {
    match v.len() {
        0 | 1 => {}
        2 => {
            if v[1] < v[0] {
                v.swap(0, 1);
            }
        }
        _ => v.sort_unstable(),
    }
}

/// A shape's edge as the row sweep tests it, worked out once per draw instead of once
/// per sample row: upper end first, its winding direction, and 1 / height.
#[derive(Clone, Copy, Debug, Default)]
struct RowEdge {
    ax: i64,
    ay: i64,
    by: i64,
    dx: i64,
    dy: i64,
    inv: f64,
    dir: i32,
}

/// The edges of layer `s` (all of them, in order: band items index them from
/// `s.edge_start`) as [`RowEdge`]s.
fn row_edges(s: &CdShape, src: &Sources<'_>, out: &mut Vec<RowEdge>) {
    out.clear();
    if s.kind == CD_SHAPE_ELLIPSE {
        return;
    }
    let edges = &src.edges[s.edge_start as usize..(s.edge_start + s.edge_count) as usize];
    out.extend(edges.iter().map(|e| {
        let (mut ax, mut ay, mut bx, mut by) = (
            i64::from(e.x0),
            i64::from(e.y0),
            i64::from(e.x1),
            i64::from(e.y1),
        );
        let mut dir = 1;
        if ay > by {
            std::mem::swap(&mut ax, &mut bx);
            std::mem::swap(&mut ay, &mut by);
            dir = -1;
        }
        RowEdge {
            ax,
            ay,
            by,
            dx: bx - ax,
            dy: by - ay,
            inv: 1.0 / (by - ay).max(1) as f64,
            dir,
        }
    }));
}

/// The band of row y, as `coverage` picks it.
fn band_of(s: &CdShape, y: i32) -> Option<usize> {
    (s.band != CD_NO_BANDS).then(|| {
        let k = ((y - s.band_y0) / CD_BAND_H as i32).clamp(0, s.band_count as i32 - 1);
        s.band as usize + k as usize
    })
}

/// floor(sqrt(v)), exactly.
fn isqrt(v: u128) -> u128 {
    if v < 2 {
        return v;
    }
    let mut x = (v as f64).sqrt() as u128;
    while x * x > v {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= v {
        x += 1;
    }
    x
}

/// The sx of an ellipse's row sy with dx^2 ry^2 + dy^2 rx^2 <= rx^2 ry^2, as [lo, hi).
fn ellipse_span(cx: i64, cy: i64, rx: i64, ry: i64, sy: i64) -> Option<(i64, i64)> {
    if rx <= 0 || ry <= 0 {
        return None;
    }
    let dy = (sy - cy).unsigned_abs() as u128;
    let (rx, ry) = (rx as u128, ry as u128);
    let q = (rx * rx * (ry * ry)).checked_sub(dy * dy * (rx * rx))?;
    // dx^2 <= q / ry^2  <=>  dx^2 <= floor(q / ry^2) for integer dx.
    let h = isqrt(q / (ry * ry)) as i64;
    Some((cx - h, cx + h + 1))
}

/// Rows ahead that the row loops ask the cache for.
const AHEAD: usize = 8;

/// Per worker: sample-row spans, edge thresholds, per-pixel sample counts (layer,
/// minus layer). Grow-only.
#[derive(Default)]
struct RowScratch {
    /// The layer's and its minus layer's edges, prepared once per draw.
    edges: Vec<RowEdge>,
    minus_edges: Vec<RowEdge>,
    spans: Vec<(i64, i64)>,
    /// The minus layer's spans (the packed renderer's span path).
    minus_spans: Vec<(i64, i64)>,
    thresholds: Vec<i64>,
    counts: Vec<u8>,
    minus: Vec<u8>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<RowScratch> = std::cell::RefCell::new(RowScratch::default());
}

/// The pixels x of [x0, x1) whose sample column `c` (offset in 1/256 px) lies in the
/// sample interval [lo, hi), as [first, last] (empty when first > last).
#[inline]
fn sample_pixels((lo, hi): (i64, i64), c: i64, (x0, x1): (i64, i64)) -> (i64, i64) {
    let first = (lo - c).div_euclid(256) + i64::from((lo - c).rem_euclid(256) != 0);
    let last = (hi - c - 1).div_euclid(256);
    (first.max(x0), last.min(x1 - 1))
}

/// Adds, for every pixel of [x0, x1), how many of the sample columns `cols` (offsets in
/// 1/256 px within a pixel) fall in `spans`.
/// Returns the range of `counts` it touched (so only that is read and cleared).
fn count_samples(
    spans: &[(i64, i64)],
    x0: i32,
    x1: i32,
    cols: &[i64],
    counts: &mut [u8],
    touched: &mut (usize, usize),
) {
    for &(lo, hi) in spans {
        for &c in cols {
            let (a, b) = sample_pixels((lo, hi), c, (i64::from(x0), i64::from(x1)));
            if a > b {
                continue;
            }
            let (a, b) = ((a - i64::from(x0)) as usize, (b - i64::from(x0)) as usize);
            for n in &mut counts[a..=b] {
                *n += 1;
            }
            *touched = (touched.0.min(a), touched.1.max(b + 1));
        }
    }
}

/// A layer's sample counts per pixel of row y in [x0, x1) (0 or 1 without
/// anti-aliasing, 0..=16 with), added to `counts` (all zero before; the caller zeroes
/// the returned range after use), and the range of pixels touched (empty: (n, 0)).
fn row_counts(
    s: &CdShape,
    edges: &[RowEdge],
    src: &Sources<'_>,
    (y, x0, x1): (i32, i32, i32),
    spans: &mut Vec<(i64, i64)>,
    scratch: &mut Vec<i64>,
    counts: &mut [u8],
) -> (usize, usize) {
    let mut touched = (counts.len(), 0);
    let py = i64::from(y) << 8;
    if s.flags & CD_SHAPE_AA == 0 {
        row_spans(s, edges, src, y, py + 128, spans, scratch);
        count_samples(spans, x0, x1, &[128], counts, &mut touched);
    } else {
        for j in 0..4 {
            row_spans(s, edges, src, y, py + 32 + 64 * j, spans, scratch);
            count_samples(spans, x0, x1, &[32, 96, 160, 224], counts, &mut touched);
        }
    }
    touched
}

multiversioned! {
/// Draws a shape layer on rows [y0, y1) of `chunk` (row `top` at offset 0): per row,
/// the exact inside-intervals of each sample row (edge crossings with the same
/// integer test as `coverage`, disc and ellipse extents by integer square roots), so
/// the work follows the shape's outline, not its bounding box.
pub(super) fn draw(
    chunk: &mut [u8],
    info: FrameInfo,
    top: usize,
    y0: usize,
    y1: usize,
    c: &CdCmd,
    src: &Sources<'_>,
) {
    let has_alpha = info.format.has_alpha();
    // For the row hints only (see `AHEAD`); never read or written through.
    let (base, len, pitch) = (chunk.as_ptr(), chunk.len(), info.pitch);
    let ahead = |y: i32, lo: i32, hi: i32| {
        let at = (y as usize + AHEAD - top) * pitch;
        super::simd::prefetch_ptr(base, len, at + lo as usize * 4);
        super::simd::prefetch_ptr(base, len, at + hi as usize * 4);
    };
    // Without anti-aliasing the colour blends as it is over whole runs of pixels.
    if for_each_run(c, src, y0 as i32, y1 as i32, ahead, |y, first, last| {
        let row = &mut chunk[(y as usize - top) * pitch..];
        let span = &mut row[first as usize * 4..(last as usize + 1) * 4];
        super::pointwise::blend_span(span, c.color, has_alpha);
    }) {
        return;
    }
    let a = u32::from(c.color[3]);
    for_each_covered(c, src, y0 as i32, y1 as i32, ahead, |x, y, k| {
        let alpha = ((a * k + 127) / 255) as u8;
        let at = (y as usize - top) * info.pitch + x as usize * 4;
        crate::color::blend_pixel(
            &mut chunk[at..at + 4],
            [c.color[0], c.color[1], c.color[2], alpha],
            has_alpha,
        );
    });
}
}

/// Calls `run(y, first, last)` for every run of pixels [first, last] of rows [y0, y1)
/// that shape command `c` covers, in row order (a row's runs sorted and disjoint), when
/// its layer and its `minus` layer draw without anti-aliasing; returns false, calling
/// nothing, otherwise. Without anti-aliasing a pixel's coverage is 255 or 0, and a minus
/// layer (also without) takes out exactly the pixels it covers ((255 (255 - 255) + 127) /
/// 255 = 0): the colour applies as it is, (a 255 + 127) / 255 = a, on whole runs, each
/// pixel once. Before a row's runs, `ahead(y, first, last)` hears their extent (a
/// prefetch hint; it must not draw).
pub(super) fn for_each_run(
    c: &CdCmd,
    src: &Sources<'_>,
    y0: i32,
    y1: i32,
    mut ahead: impl FnMut(i32, i32, i32),
    mut run: impl FnMut(i32, i32, i32),
) -> bool {
    let minus_of = |s: &CdShape| {
        (s.minus != CD_NO_SHAPE)
            .then(|| src.shapes.get(s.minus as usize))
            .flatten()
    };
    let Some(s) = src.shapes.get(c.param as usize) else {
        return false;
    };
    let minus = minus_of(s);
    if s.flags & CD_SHAPE_AA != 0 || minus.is_some_and(|m| m.flags & CD_SHAPE_AA != 0) {
        return false;
    }
    let (x0, x1) = (i64::from(c.clip.x0), i64::from(c.clip.x1));
    // Pixels x with lo <= 256 x + 128 < hi, inside the clip, as [first, last].
    let pixels = move |iv: (i64, i64)| sample_pixels(iv, 128, (x0, x1));
    SCRATCH.with_borrow_mut(|sc| {
        let RowScratch {
            edges,
            minus_edges,
            spans,
            thresholds,
            minus_spans,
            ..
        } = sc;
        row_edges(s, src, edges);
        if let Some(m) = minus {
            row_edges(m, src, minus_edges);
        }
        for y in y0..y1 {
            let sy = (i64::from(y) << 8) + 128;
            row_spans(s, edges, src, y, sy, spans, thresholds);
            if let (Some(&a), Some(&b)) = (spans.first(), spans.last()) {
                let ((first, _), (_, last)) = (pixels(a), pixels(b));
                if first <= last {
                    ahead(y, first as i32, last as i32);
                }
            } else {
                continue;
            }
            minus_spans.clear();
            if let Some(m) = minus {
                row_spans(m, minus_edges, src, y, sy, minus_spans, thresholds);
            }
            let mut cut = minus_spans.iter().map(|&iv| pixels(iv)).peekable();
            for &iv in spans.iter() {
                let (mut first, last) = pixels(iv);
                // Take out the minus layer's pixel runs (sorted, disjoint) in turn.
                while first <= last {
                    while cut.peek().is_some_and(|&(_, l)| l < first) {
                        cut.next();
                    }
                    let end = match cut.peek() {
                        Some(&(f, _)) if f <= last => f - 1,
                        _ => last,
                    };
                    if first <= end {
                        run(y, first as i32, end as i32);
                    }
                    match cut.peek() {
                        Some(&(f, l)) if f <= last => first = l + 1,
                        _ => break,
                    }
                }
            }
        }
    });
    true
}

/// Calls `f(x, y, k)` for every pixel of rows [y0, y1) of shape command `c`'s clip with
/// non-zero coverage k (1..=255, `layer_coverage`'s value, its `minus` layer applied),
/// row by row from the row's inside-intervals. Before a row's pixels, `ahead(y, x_lo,
/// x_hi)` hears which columns of row y they span (a prefetch hint; it must not draw).
pub(super) fn for_each_covered(
    c: &CdCmd,
    src: &Sources<'_>,
    y0: i32,
    y1: i32,
    mut ahead: impl FnMut(i32, i32, i32),
    mut f: impl FnMut(i32, i32, u32),
) {
    // Checked before drawing: the layer and its geometry are in bounds.
    let Some(s) = src.shapes.get(c.param as usize) else {
        return;
    };
    let minus = (s.minus != CD_NO_SHAPE)
        .then(|| src.shapes.get(s.minus as usize))
        .flatten();
    let (x0, x1) = (c.clip.x0, c.clip.x1);
    let cov = |s: &CdShape, n: u8| -> u32 {
        if s.flags & CD_SHAPE_AA == 0 {
            u32::from(n) * 255
        } else {
            (u32::from(n) * 255 + 8) / 16
        }
    };
    SCRATCH.with_borrow_mut(|sc| {
        let RowScratch {
            edges,
            minus_edges,
            spans,
            thresholds: scratch,
            counts,
            minus: mcounts,
            ..
        } = sc;
        row_edges(s, src, edges);
        if let Some(m) = minus {
            row_edges(m, src, minus_edges);
        }
        let w = (x1 - x0) as usize;
        // All zero between rows: each row clears what it touched.
        counts.clear();
        counts.resize(w, 0);
        mcounts.clear();
        mcounts.resize(w, 0);
        for y in y0..y1 {
            let (lo, hi) = row_counts(s, edges, src, (y, x0, x1), spans, scratch, counts);
            if lo >= hi {
                continue;
            }
            ahead(y, x0 + lo as i32, x0 + hi as i32 - 1);
            let mut mr = (w, 0);
            if let Some(m) = minus {
                mr = row_counts(m, minus_edges, src, (y, x0, x1), spans, scratch, mcounts);
            }
            for i in lo..hi {
                let n = counts[i];
                if n == 0 {
                    continue;
                }
                let mut k = cov(s, n);
                if let Some(m) = minus {
                    k = (k * (255 - cov(m, mcounts[i])) + 127) / 255;
                }
                if k != 0 {
                    f(x0 + i as i32, y, k);
                }
            }
            counts[lo..hi].fill(0);
            if mr.0 < mr.1 {
                mcounts[mr.0..mr.1].fill(0);
            }
        }
    });
}

/// Checks a shape command's references: the layer, its edge, disc and band ranges,
/// every band item, and its `minus` layer (which must not name itself).
pub(super) fn check(c: &CdCmd, src: &Sources<'_>) -> Result<(), String> {
    let s = src
        .shapes
        .get(c.param as usize)
        .ok_or_else(|| format!("shape {} out of range", c.param))?;
    check_layer(s, src)?;
    if s.minus != CD_NO_SHAPE {
        if s.minus == c.param {
            return Err("a shape layer minus itself".into());
        }
        let m = src
            .shapes
            .get(s.minus as usize)
            .ok_or_else(|| format!("minus shape {} out of range", s.minus))?;
        if m.minus != CD_NO_SHAPE {
            return Err("a minus layer with a minus layer of its own".into());
        }
        check_layer(m, src)?;
    }
    Ok(())
}

fn check_layer(s: &CdShape, src: &Sources<'_>) -> Result<(), String> {
    let range = |start: u32, n: u32, len: usize, what: &str| {
        if (start as usize).saturating_add(n as usize) > len {
            Err(format!("{what} [{start}, +{n}) out of range"))
        } else {
            Ok(())
        }
    };
    range(s.edge_start, s.edge_count, src.edges.len(), "edges")?;
    range(s.disc_start, s.disc_count, src.discs.len(), "discs")?;
    if s.band != CD_NO_BANDS {
        if s.band_count == 0 {
            return Err("banded shape without bands".into());
        }
        range(s.band, s.band_count, src.bands.len(), "bands")?;
        for b in &src.bands[s.band as usize..(s.band + s.band_count) as usize] {
            range(
                b.edge_start,
                b.edge_count,
                src.band_items.len(),
                "band edges",
            )?;
            range(
                b.disc_start,
                b.disc_count,
                src.band_items.len(),
                "band discs",
            )?;
            let items = |start: u32, n: u32| &src.band_items[start as usize..(start + n) as usize];
            // A band's edges are its layer's own (resolve makes them so; the row sweep
            // indexes the layer's prepared edges by them).
            let own = u64::from(s.edge_start)..u64::from(s.edge_start) + u64::from(s.edge_count);
            if items(b.edge_start, b.edge_count)
                .iter()
                .any(|&i| !own.contains(&u64::from(i)))
                || items(b.disc_start, b.disc_count)
                    .iter()
                    .any(|&i| i as usize >= src.discs.len())
            {
                return Err("band item out of range".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{Color, PixelFormat};
    use crate::draw::{DrawList, ImageStore, Resolved, resolve_batch};

    /// A band may only list its own layer's edges (the row sweep indexes the layer's
    /// prepared edges by them): another layer's edge is a typed error, not a panic.
    #[test]
    fn band_items_outside_their_layer_are_refused() {
        let info = FrameInfo::packed(200, 200, PixelFormat::Rgba);
        let mut l = DrawList::new();
        let ring = |cx: f32, n: usize| -> Vec<Point> {
            (0..n)
                .map(|i| {
                    let a = i as f32 * std::f32::consts::TAU / n as f32;
                    Point::new(cx + 40.0 * a.cos(), 100.0 + 80.0 * a.sin())
                })
                .collect()
        };
        for cx in [50.0, 150.0] {
            l.push(crate::draw::PolygonOp {
                points: ring(cx, 40),
                fill: Some(Color::WHITE),
                outline: None,
                aa: false,
            });
        }
        let mut r = Resolved::default();
        let images = ImageStore::new();
        resolve_batch(&[info], &[&l], &images, &mut r).unwrap();
        let cmds: Vec<CdCmd> = r.cmds().to_vec();
        assert_eq!(cmds.len(), 2);
        let (first, second) = (r.shapes[0], r.shapes[1]);
        assert_ne!(first.band, CD_NO_BANDS, "40 edges: banded");
        for c in &cmds {
            check(c, &Sources::of(&r, &images, &[])).unwrap();
        }
        // Point one of the first layer's band items at the second layer's first edge.
        let b = r.bands[first.band as usize];
        assert!(b.edge_count > 0);
        r.band_items[b.edge_start as usize] = second.edge_start;
        let e = check(&cmds[0], &Sources::of(&r, &images, &[])).unwrap_err();
        assert!(e.contains("band item"), "{e}");
    }

    #[test]
    fn floor_div_rem_is_euclid() {
        let mut seed = 0x853c_49e6_748f_ea9bu64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut cases: Vec<(i64, i64)> = Vec::new();
        for den in [
            1i64,
            2,
            3,
            255,
            256,
            257,
            1 << 22,
            (1 << 22) + 1,
            (1 << 40) - 1,
        ] {
            for q in [-3i64, -1, 0, 1, 2, 1 << 20, -(1 << 20)] {
                for d in [-1i64, 0, 1] {
                    cases.push((q * den + d, den));
                }
            }
        }
        for _ in 0..200_000 {
            let den = (rnd() % (1 << 23)) as i64 + 1;
            let num = (rnd() % (1 << 46)) as i64 - (1 << 45);
            cases.push((num, den));
        }
        // The fast path's ends: the largest numerators it takes, small denominators.
        for den in [1i64, 2, 3, 7, 255, 65537] {
            for num in [(1i64 << 52) - 1, (1 << 52) - 2, -(1 << 52), -(1 << 52) + 1] {
                cases.push((num, den));
            }
        }
        cases.push((1 << 53, 3));
        cases.push((-(1 << 53) - 7, 5));
        for (num, den) in cases {
            assert_eq!(
                floor_div_rem(num, den, 1.0 / den as f64),
                (num.div_euclid(den), num.rem_euclid(den)),
                "{num} / {den}"
            );
        }
    }
    use crate::geom::Point;

    /// The span rasteriser equals the per-sample definition on every pixel.
    #[test]
    fn spans_equal_the_sample_definition() {
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut rnd = move |n: u32| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % u64::from(n)) as f32
        };
        let info = FrameInfo::packed(80, 60, PixelFormat::Rgba);
        for case in 0..300 {
            let mut l = DrawList::new();
            let p = |r: &mut dyn FnMut(u32) -> f32| {
                Point::new(r(1200) / 10.0 - 20.0, r(1000) / 10.0 - 20.0)
            };
            let aa = case % 2 == 0;
            match case % 5 {
                0 => {
                    let (a, b) = (p(&mut rnd), p(&mut rnd));
                    l.push(crate::draw::LineOp {
                        from: a,
                        to: b,
                        width: rnd(80) / 8.0 + 0.3,
                        color: Color::WHITE,
                        cap: crate::draw::Cap::Round,
                        aa,
                    });
                }
                1 => {
                    let pts: Vec<Point> = (0..3 + rnd(30) as usize).map(|_| p(&mut rnd)).collect();
                    l.push(crate::draw::PolygonOp {
                        points: pts,
                        fill: Some(Color::WHITE),
                        outline: Some(crate::draw::Stroke::new(rnd(40) / 8.0 + 0.5, Color::RED)),
                        aa,
                    });
                }
                2 => {
                    let c = p(&mut rnd);
                    l.push(crate::draw::EllipseOp {
                        center: c,
                        rx: rnd(400) / 10.0,
                        ry: rnd(400) / 10.0,
                        outline: Some(crate::draw::Stroke::new(rnd(60) / 10.0 + 0.5, Color::RED)),
                        align: crate::draw::Align::Center,
                        fill: Some(Color::WHITE),
                        aa,
                    });
                }
                3 => {
                    let pts: Vec<Point> = (0..1 + rnd(12) as usize).map(|_| p(&mut rnd)).collect();
                    l.push(crate::draw::PolylineOp {
                        points: pts,
                        closed: case % 3 == 0,
                        width: rnd(60) / 8.0 + 0.3,
                        color: Color::WHITE,
                        cap: crate::draw::Cap::Round,
                        aa,
                    });
                }
                _ => {
                    let c = p(&mut rnd);
                    l.push(crate::draw::RotatedBoxOp {
                        center: c,
                        width: rnd(500) / 10.0,
                        height: rnd(500) / 10.0,
                        angle: rnd(3600) / 10.0,
                        outline: Some(crate::draw::Stroke::new(2.5, Color::RED)),
                        fill: Some(Color::WHITE),
                        aa,
                    });
                }
            }
            let mut r = Resolved::default();
            let images = ImageStore::new();
            resolve_batch(&[info], &[&l], &images, &mut r).unwrap();
            let src = Sources::of(&r, &images, &[]);
            for c in r.cmds() {
                let sh = &r.shapes[c.param as usize];
                let (mut spans, mut scratch, mut edges) = (Vec::new(), Vec::new(), Vec::new());
                row_edges(sh, &src, &mut edges);
                let w = (c.clip.x1 - c.clip.x0) as usize;
                let mut counts = vec![0u8; w];
                for y in c.clip.y0..c.clip.y1 {
                    counts.fill(0);
                    row_counts(
                        sh,
                        &edges,
                        &src,
                        (y, c.clip.x0, c.clip.x1),
                        &mut spans,
                        &mut scratch,
                        &mut counts,
                    );
                    for (i, &n) in counts.iter().enumerate() {
                        let x = c.clip.x0 + i as i32;
                        let k = if sh.flags & CD_SHAPE_AA == 0 {
                            u32::from(n) * 255
                        } else {
                            (u32::from(n) * 255 + 8) / 16
                        };
                        assert_eq!(
                            k,
                            coverage(sh, &src, x, y),
                            "case {case}: ({x}, {y}) of {l:?}"
                        );
                    }
                }
                // The layer's coverage as drawn (its `minus` layer applied), pixel for
                // pixel: what the packed and the planar renderers blend.
                let h = (c.clip.y1 - c.clip.y0) as usize;
                let mut got = vec![0u32; w * h];
                for_each_covered(
                    c,
                    &src,
                    c.clip.y0,
                    c.clip.y1,
                    |_, _, _| {},
                    |x, y, k| {
                        got[(y - c.clip.y0) as usize * w + (x - c.clip.x0) as usize] = k;
                    },
                );
                for y in c.clip.y0..c.clip.y1 {
                    for x in c.clip.x0..c.clip.x1 {
                        let k = got[(y - c.clip.y0) as usize * w + (x - c.clip.x0) as usize];
                        assert_eq!(
                            k,
                            layer_coverage(sh, &src, x, y),
                            "case {case}: layer ({x}, {y}) of {l:?}"
                        );
                    }
                }
                // The packed renderer's `draw` (span by span where it can) blends
                // exactly that coverage.
                let base: Vec<u8> = (0..info.min_len()).map(|i| (i * 37 % 251) as u8).collect();
                let mut drawn = base.clone();
                let (y0, y1) = (c.clip.y0 as usize, c.clip.y1 as usize);
                draw(&mut drawn, info, 0, y0, y1, c, &src);
                let mut want = base;
                for_each_covered(
                    c,
                    &src,
                    c.clip.y0,
                    c.clip.y1,
                    |_, _, _| {},
                    |x, y, k| {
                        let alpha = ((u32::from(c.color[3]) * k + 127) / 255) as u8;
                        let at = y as usize * info.pitch + x as usize * 4;
                        crate::color::blend_pixel(
                            &mut want[at..at + 4],
                            [c.color[0], c.color[1], c.color[2], alpha],
                            true,
                        );
                    },
                );
                assert!(drawn == want, "case {case}: drawn pixels of {l:?}");
            }
        }
    }
}
