//! Pointwise commands: box outline/fill, solid redaction, image overlay, text. Each output
//! pixel depends only on itself, so a run of them is drawn band by band in parallel,
//! every band applying the whole run in list order.

use rayon::prelude::*;

use super::Sources;
use super::simd::multiversioned;
use crate::cmd::{
    CD_FILTER_NEAREST, CD_OP_CLASSMAP, CD_OP_MASK, CD_OP_OVERLAY, CD_OP_RECT, CD_OP_SHAPE,
    CD_OP_SOLID, CD_OP_TEXT, CdCmd,
};
use crate::draw::{Image, ImageId};
use crate::frame::FrameInfo;
use crate::geom::PixelRect;

/// Draws a run of checked pointwise commands onto `data` (exactly `info.min_len()` bytes).
pub(super) fn run(data: &mut [u8], info: FrameInfo, cmds: &[CdCmd], src: &Sources<'_>) {
    let pitch = info.pitch;
    let height = info.height as usize;
    // Only the rows some command touches need visiting.
    let y_lo = cmds.iter().map(|c| c.clip.y0).min().unwrap_or(0).max(0) as usize;
    let y_hi = cmds.iter().map(|c| c.clip.y1).max().unwrap_or(0).max(0) as usize;
    let y_hi = y_hi.min(height);
    if y_hi <= y_lo {
        return;
    }
    let rows = &mut data[y_lo * pitch..];
    let band = super::band_rows(y_hi - y_lo, info.width as usize);
    let draw = |b: usize, chunk: &mut [u8]| {
        let top = y_lo + b * band;
        let bottom = (top + band).min(y_hi);
        for c in cmds {
            draw_cmd(chunk, info, top, bottom, c, src);
        }
    };
    if band >= y_hi - y_lo {
        draw(0, rows);
    } else {
        let len = ((y_hi - y_lo - 1) * pitch + info.width as usize * 4).min(rows.len());
        rows[..len]
            .par_chunks_mut(pitch * band)
            .enumerate()
            .for_each(|(b, chunk)| draw(b, chunk));
    }
}

multiversioned! {
/// Applies one command to rows [top, bottom) held in `chunk` (row `top` at offset 0).
fn draw_cmd(
    chunk: &mut [u8],
    info: FrameInfo,
    top: usize,
    bottom: usize,
    c: &CdCmd,
    src: &Sources<'_>,
) {
    let clip = PixelRect::from(c.clip);
    let y0 = (clip.y0 as usize).max(top);
    let y1 = (clip.y1 as usize).min(bottom);
    if y1 <= y0 {
        return;
    }
    let has_alpha = info.format.has_alpha();
    let pitch = info.pitch;
    let (x0, x1) = (clip.x0 as usize, clip.x1 as usize);
    match c.op {
        CD_OP_RECT => {
            let inner = PixelRect::from(c.inner);
            // Columns of the fill span, clamped into the clip: [ix0, ix1).
            let ix0 = (inner.x0.clamp(clip.x0, clip.x1)) as usize;
            let ix1 = (inner.x1.clamp(ix0 as i32, clip.x1)) as usize;
            for y in y0..y1 {
                let row = &mut chunk[(y - top) * pitch..][..x1 * 4];
                let yi = y as i32;
                if !inner.is_empty() && yi >= inner.y0 && yi < inner.y1 && ix1 > ix0 {
                    blend_span(&mut row[x0 * 4..ix0 * 4], c.color, has_alpha);
                    blend_span(&mut row[ix0 * 4..ix1 * 4], c.fill, has_alpha);
                    blend_span(&mut row[ix1 * 4..x1 * 4], c.color, has_alpha);
                } else {
                    blend_span(&mut row[x0 * 4..x1 * 4], c.color, has_alpha);
                }
            }
        }
        CD_OP_SOLID => {
            let all = info.format.written_bytes() == 4;
            for y in y0..y1 {
                fill_span(
                    &mut chunk[(y - top) * pitch..][x0 * 4..x1 * 4],
                    c.color,
                    all,
                );
            }
        }
        CD_OP_OVERLAY => {
            // Checked before drawing: the image exists.
            if let Some(img) = src.images.get(ImageId(c.param)) {
                overlay(chunk, info, top, y0, y1, c, img);
            }
        }
        CD_OP_TEXT => text(chunk, info, top, y0, y1, c, src),
        CD_OP_SHAPE => super::shape::draw(chunk, info, top, y0, y1, c, src),
        CD_OP_MASK | CD_OP_CLASSMAP => super::mask::draw(chunk, info, top, y0, y1, c, src),
        _ => {}
    }
}
}

thread_local! {
    /// One row of a text layer's coverage (grow-only, per worker thread).
    static COVERAGE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

multiversioned! {
/// A text layer on rows [y0, y1): per row, the coverage of its clip's columns is the
/// largest mask byte of the glyphs there; colour blends with (a * coverage + 127) / 255.
fn text(
    chunk: &mut [u8],
    info: FrameInfo,
    top: usize,
    y0: usize,
    y1: usize,
    c: &CdCmd,
    src: &Sources<'_>,
) {
    // Checked before drawing: the glyph range and every mask are in bounds.
    let Some(glyphs) = src
        .glyphs
        .get(c.param as usize..c.param as usize + c.aux as usize)
    else {
        return;
    };
    let (x0, x1) = (c.clip.x0, c.clip.x1);
    let has_alpha = info.format.has_alpha();
    let a = u32::from(c.color[3]);
    COVERAGE.with_borrow_mut(|cov| {
        cov.clear();
        cov.resize((x1 - x0) as usize, 0);
        for y in y0..y1 {
            let yi = y as i32;
            let mut any = false;
            for g in glyphs {
                if yi < g.y || yi >= g.y + i32::from(g.h) {
                    continue;
                }
                let (gx0, gx1) = (g.x.max(x0), (g.x + i32::from(g.w)).min(x1));
                if gx1 <= gx0 {
                    continue;
                }
                let w = usize::from(g.w);
                let row = g.atlas as usize + (yi - g.y) as usize * w;
                let mask = &src.atlas[row + (gx0 - g.x) as usize..row + (gx1 - g.x) as usize];
                let out = &mut cov[(gx0 - x0) as usize..(gx1 - x0) as usize];
                for (o, &m) in out.iter_mut().zip(mask) {
                    *o = (*o).max(m);
                }
                any = true;
            }
            if !any {
                continue;
            }
            let row = &mut chunk[(y - top) * info.pitch..][x0 as usize * 4..x1 as usize * 4];
            for (px, k) in row.chunks_exact_mut(4).zip(cov.iter_mut()) {
                if *k != 0 {
                    let alpha = ((a * u32::from(*k) + 127) / 255) as u8;
                    crate::color::blend_pixel(
                        px,
                        [c.color[0], c.color[1], c.color[2], alpha],
                        has_alpha,
                    );
                    *k = 0;
                }
            }
        }
    });
}
}

/// Writes `color` to every pixel of `span`: all four bytes, or (`all` false) the first
/// three, leaving the x byte alone. Constant-size copies, so no call per pixel.
#[inline(always)]
pub(super) fn fill_span(span: &mut [u8], color: [u8; 4], all: bool) {
    if all {
        for px in span.chunks_exact_mut(4) {
            px.copy_from_slice(&color);
        }
    } else {
        for px in span.chunks_exact_mut(4) {
            px[..3].copy_from_slice(&color[..3]);
        }
    }
}

/// Blends `color` (frame order, byte 3 = alpha) over every pixel of `span`.
#[inline(always)]
pub(super) fn blend_span(span: &mut [u8], color: [u8; 4], has_alpha: bool) {
    let a = color[3];
    if a == 0 || span.is_empty() {
        return;
    }
    if a == 255 {
        fill_span(span, [color[0], color[1], color[2], 255], has_alpha);
        return;
    }
    // out = (c a + d (255 - a) + 127) / 255, the constant part once per span. Every
    // sum is <= 255 * 255 + 127 = 65152, where x / 255 == (x + 1 + (x >> 8)) >> 8
    // exactly; u16 lanes let the compiler vectorise the loop.
    let k = [
        u16::from(color[0]) * a as u16 + 127,
        u16::from(color[1]) * a as u16 + 127,
        u16::from(color[2]) * a as u16 + 127,
        255 * a as u16 + 127,
    ];
    let ia = 255 - a as u16;
    let div255 = |x: u16| ((x + 1 + (x >> 8)) >> 8) as u8;
    if has_alpha {
        for px in span.chunks_exact_mut(4) {
            for i in 0..4 {
                px[i] = div255(k[i] + u16::from(px[i]) * ia);
            }
        }
    } else {
        for px in span.chunks_exact_mut(4) {
            for i in 0..3 {
                px[i] = div255(k[i] + u16::from(px[i]) * ia);
            }
        }
    }
}

/// Source coordinate of destination offset `u` for nearest sampling:
/// min(((2u + 1) * n) / (2 d), n - 1).
#[inline]
pub(super) fn nearest_axis(u: i64, n: i64, d: i64) -> usize {
    nearest(u, n, d)
}

/// Bilinear source position (see [`bilinear`]), for the masks.
#[inline]
pub(super) fn bilinear_axis(u: i64, n: i64, d: i64) -> (usize, usize, u32) {
    bilinear(u, n, d)
}

#[inline]
fn nearest(u: i64, n: i64, d: i64) -> usize {
    (((2 * u + 1) * n) / (2 * d)).min(n - 1) as usize
}

/// Bilinear source position in 1/256 steps: (first index, second index, fraction).
#[inline]
fn bilinear(u: i64, n: i64, d: i64) -> (usize, usize, u32) {
    let s = (((2 * u + 1) * n * 256) / (2 * d) - 128).clamp(0, (n - 1) * 256);
    let i0 = (s >> 8) as usize;
    (i0, (i0 + 1).min(n as usize - 1), (s & 255) as u32)
}

/// floor(((2u + 1) * k) / (2 d)) for u = u0, u0 + 1, ...: the sampling formulas'
/// quotient, stepped exactly with a remainder instead of a division per pixel.
struct Stepper {
    q: i64,
    r: i64,
    dq: i64,
    dr: i64,
    d2: i64,
}

impl Stepper {
    fn new(u0: i64, k: i64, d: i64) -> Self {
        let d2 = 2 * d;
        let n = (2 * u0 + 1) * k;
        Self {
            q: n / d2,
            r: n % d2,
            dq: (2 * k) / d2,
            dr: (2 * k) % d2,
            d2,
        }
    }

    #[inline(always)]
    fn next(&mut self) {
        self.q += self.dq;
        self.r += self.dr;
        if self.r >= self.d2 {
            self.q += 1;
            self.r -= self.d2;
        }
    }
}

multiversioned! {
/// Overlay of `img` into the destination `c.inner`, rows [y0, y1) of the chunk.
fn overlay(
    chunk: &mut [u8],
    info: FrameInfo,
    top: usize,
    y0: usize,
    y1: usize,
    c: &CdCmd,
    img: &Image,
) {
    let dest = PixelRect::from(c.inner);
    let (dw, dh) = (i64::from(dest.width()), i64::from(dest.height()));
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    let m = c.aux & 0xffff;
    let nearest_filter = (c.aux >> 16) == CD_FILTER_NEAREST;
    let has_alpha = info.format.has_alpha();
    let swap = info.format.swaps_red_blue();
    let src = img.data();
    let stride = iw as usize * 4;
    let (x0, x1) = (c.clip.x0 as usize, c.clip.x1 as usize);
    if dw == iw && dh == ih {
        // Unscaled: both filters sample pixel (u, v) itself (nearest: ((2u + 1) n) /
        // (2n) = u; bilinear: fractions 0, so (p 65536 + 32768) >> 16 = p), so each
        // row blends an image row straight, in a loop the compiler vectorises.
        // The clip lies inside the destination (checked), so both are >= 0.
        let u0 = (x0 as i64 - i64::from(dest.x0)) as usize;
        for y in y0..y1 {
            let v = (y as i64 - i64::from(dest.y0)) as usize;
            let row = &mut chunk[(y - top) * info.pitch..][x0 * 4..x1 * 4];
            let srow = &src[v * stride + u0 * 4..][..(x1 - x0) * 4];
            blend_row(row, srow, m, swap, has_alpha);
        }
        return;
    }
    for y in y0..y1 {
        let row = &mut chunk[(y - top) * info.pitch..][..x1 * 4];
        let v = y as i64 - i64::from(dest.y0);
        let u0 = x0 as i64 - i64::from(dest.x0);
        if nearest_filter {
            let srow = &src[nearest(v, ih, dh) * stride..][..stride];
            let mut step = Stepper::new(u0, iw, dw);
            for x in x0..x1 {
                let sx = (step.q.min(iw - 1)) as usize;
                step.next();
                let p = &srow[sx * 4..sx * 4 + 4];
                put(
                    &mut row[x * 4..x * 4 + 4],
                    [p[0], p[1], p[2], p[3]],
                    m,
                    swap,
                    has_alpha,
                );
            }
        } else {
            let (sy0, sy1, fy) = bilinear(v, ih, dh);
            let r0 = &src[sy0 * stride..][..stride];
            let r1 = &src[sy1 * stride..][..stride];
            let mut step = Stepper::new(u0, iw * 256, dw);
            for x in x0..x1 {
                let s = (step.q - 128).clamp(0, (iw - 1) * 256);
                step.next();
                let sx0 = (s >> 8) as usize;
                let (sx1, fx) = ((sx0 + 1).min(iw as usize - 1), (s & 255) as u32);
                let (p00, p01) = (&r0[sx0 * 4..][..4], &r0[sx1 * 4..][..4]);
                let (p10, p11) = (&r1[sx0 * 4..][..4], &r1[sx1 * 4..][..4]);
                let mut s = [0u8; 4];
                for ch in 0..4 {
                    let t = u32::from(p00[ch]) * (256 - fx) + u32::from(p01[ch]) * fx;
                    let b = u32::from(p10[ch]) * (256 - fx) + u32::from(p11[ch]) * fx;
                    s[ch] = ((t * (256 - fy) + b * fy + 32768) >> 16) as u8;
                }
                put(&mut row[x * 4..x * 4 + 4], s, m, swap, has_alpha);
            }
        }
    }
}
}

/// Blends a row of RGBA samples onto a row of pixels, each with alpha
/// a' = (a m + 127) / 255: what [`put`] does pixel by pixel, with the division by 255
/// done as in [`blend_span`] (exact for every sum below 65536).
#[inline(always)]
fn blend_row(row: &mut [u8], srow: &[u8], m: u32, swap: bool, has_alpha: bool) {
    let div255 = |x: u32| (x + 1 + (x >> 8)) >> 8;
    let (ri, bi) = if swap { (2, 0) } else { (0, 2) };
    for (px, s) in row.chunks_exact_mut(4).zip(srow.chunks_exact(4)) {
        let a = div255(u32::from(s[3]) * m + 127);
        let ia = 255 - a;
        let mix = |c: u8, d: u8| div255(u32::from(c) * a + u32::from(d) * ia + 127) as u8;
        let (r, g, b) = (mix(s[ri], px[0]), mix(s[1], px[1]), mix(s[bi], px[2]));
        px[0] = r;
        px[1] = g;
        px[2] = b;
        if has_alpha {
            px[3] = div255(255 * a + u32::from(px[3]) * ia + 127) as u8;
        }
    }
}

/// Blends one RGBA sample with alpha a' = (a m + 127) / 255 onto a pixel.
#[inline]
fn put(px: &mut [u8], s: [u8; 4], m: u32, swap: bool, has_alpha: bool) {
    let a = ((u32::from(s[3]) * m + 127) / 255) as u8;
    let color = if swap {
        [s[2], s[1], s[0], a]
    } else {
        [s[0], s[1], s[2], a]
    };
    crate::color::blend_pixel(px, color, has_alpha);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_blend_matches_the_blend_rule() {
        for a in 0..=255u8 {
            for c in [0u8, 1, 77, 254, 255] {
                let mut span: Vec<u8> = (0..=255u8).flat_map(|d| [d, d, d, d]).collect();
                blend_span(&mut span, [c, c, c, a], true);
                for (d, px) in span.chunks_exact(4).enumerate() {
                    let want = crate::color::blend(c, d as u8, a);
                    assert_eq!(&px[..3], &[want; 3], "c={c} a={a} d={d}");
                    assert_eq!(px[3], crate::color::blend(255, d as u8, a));
                }
            }
        }
    }

    /// The unscaled overlay's row blend equals `put` pixel by pixel: every sample
    /// alpha and opacity, both channel orders, with and without an alpha byte.
    #[test]
    fn row_blend_matches_put() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        for m in [0u32, 1, 80, 128, 254, 255] {
            for (swap, has_alpha) in [(false, true), (true, true), (false, false), (true, false)] {
                let srow: Vec<u8> = (0..256 * 4)
                    .map(|i| if i % 4 == 3 { (i / 4) as u8 } else { rnd() })
                    .collect();
                let dst: Vec<u8> = (0..256 * 4).map(|_| rnd()).collect();
                let mut got = dst.clone();
                blend_row(&mut got, &srow, m, swap, has_alpha);
                let mut want = dst.clone();
                for (px, s) in want.chunks_exact_mut(4).zip(srow.chunks_exact(4)) {
                    put(px, [s[0], s[1], s[2], s[3]], m, swap, has_alpha);
                }
                assert_eq!(got, want, "m={m} swap={swap} alpha={has_alpha}");
            }
        }
    }

    #[test]
    fn stepper_matches_the_division() {
        for (u0, k, d) in [
            (0, 2, 4),
            (3, 7 * 256, 5),
            (0, 8192 * 256, 1),
            (17, 3, 1000),
            (5, 256, 3),
        ] {
            let mut s = Stepper::new(u0, k, d);
            for u in u0..u0 + 3000 {
                assert_eq!(s.q, ((2 * u + 1) * k) / (2 * d), "u={u} k={k} d={d}");
                s.next();
            }
        }
    }

    #[test]
    fn sampling_formulas() {
        // 2x upscale of a 2-pixel image: centres at 0.25, 0.75, 1.25, 1.75 source px.
        let b: Vec<_> = (0..4).map(|u| bilinear(u, 2, 4)).collect();
        assert_eq!(b, vec![(0, 1, 0), (0, 1, 64), (0, 1, 192), (1, 1, 0)]);
        let n: Vec<_> = (0..4).map(|u| nearest(u, 2, 4)).collect();
        assert_eq!(n, vec![0, 0, 1, 1]);
        // Downscale 4 -> 2 picks pixels 1 and 3 for nearest ((2u+1)*4/4).
        assert_eq!((nearest(0, 4, 2), nearest(1, 4, 2)), (1, 3));
        // ... and bilinear centres at 0.5 and 2.5 source px.
        assert_eq!(bilinear(0, 4, 2), (0, 1, 128));
        assert_eq!(bilinear(1, 4, 2), (2, 3, 128));
    }
}
