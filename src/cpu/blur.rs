//! Region blurs: box (separable sliding sums), gaussian (separable Q16 passes) and
//! pixelate (cell means). Each reads the region as it was before the command: the
//! horizontal pass reads the frame into scratch, the vertical pass writes the frame
//! reading only scratch. Windows are clamped to the region.

use rayon::prelude::*;

use super::Scratch;
use super::simd::multiversioned;
use crate::cmd::{CD_GAUSS_SHIFT, CD_OP_BLUR_BOX, CD_OP_BLUR_GAUSS, CD_OP_PIXELATE, CdCmd};
use crate::frame::FrameInfo;

/// The region of a command inside a frame, in pixels.
#[derive(Clone, Copy)]
struct Region {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
}

/// Draws one checked blur command onto `data` (exactly `info.min_len()` bytes).
pub(super) fn run(data: &mut [u8], info: FrameInfo, c: &CdCmd, weights: &[u32], s: &mut Scratch) {
    let reg = Region {
        x0: c.clip.x0 as usize,
        y0: c.clip.y0 as usize,
        w: (c.clip.x1 - c.clip.x0) as usize,
        h: (c.clip.y1 - c.clip.y0) as usize,
    };
    let pitch = info.pitch;
    // Rows y0..y1 of the frame, ending with the last byte of the region.
    let end = (reg.y0 + reg.h - 1) * pitch + (reg.x0 + reg.w) * 4;
    let rows = &mut data[reg.y0 * pitch..end];
    let n = info.format.written_bytes();
    match c.op {
        CD_OP_BLUR_BOX => box_blur(rows, pitch, reg, c.param as usize, n, s),
        CD_OP_BLUR_GAUSS => {
            let r = c.param as usize;
            let wt = &weights[c.aux as usize..][..2 * r + 1];
            gauss(rows, pitch, reg, r, wt, n, s);
        }
        CD_OP_PIXELATE => pixelate(rows, pitch, reg, c.param as usize, n, s),
        _ => {}
    }
}

/// Exact division by a constant `d` (1..=65536) for numerators below 2^24, by
/// multiply and shift (Granlund-Montgomery, round-up variant). The multiplier is below
/// 2^26 (d > 2^(l - 1) puts 2^(24 + l) / d below 2^25, plus one), so it is kept as a
/// u32: a 32 x 32 -> 64-bit product, which vectorises (`pmuludq`), where a u64
/// multiplier made every division a scalar 64-bit multiply.
#[derive(Clone, Copy)]
pub(super) struct Divider {
    m: u32,
    shift: u32,
}

impl Divider {
    pub(super) fn new(d: u32) -> Self {
        let d = d.max(1);
        let l = 32 - (d - 1).leading_zeros(); // ceil(log2 d)
        let shift = 24 + l;
        let m = (1u64 << shift).div_ceil(u64::from(d));
        Self {
            m: u32::try_from(m).unwrap_or(u32::MAX), // always fits, see above
            shift,
        }
    }

    #[inline(always)]
    pub(super) fn div(self, x: u32) -> u32 {
        ((u64::from(x) * u64::from(self.m)) >> self.shift) as u32
    }
}

/// Number of rows per band and the number of bands for `h` rows of `w` pixels.
fn bands(h: usize, w: usize) -> (usize, usize) {
    let band = super::band_rows(h, w);
    (band, h.div_ceil(band))
}

/// Makes `v` exactly `len` long (contents unspecified), growing capacity only.
fn sized<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::default());
    }
    &mut v[..len]
}

fn box_blur(rows: &mut [u8], pitch: usize, reg: Region, r: usize, n: usize, s: &mut Scratch) {
    let Region { x0, w, h, .. } = reg;
    let rw = w * 4;
    let (band, nb) = bands(h, w);
    // Horizontal sliding sums of each row, all four bytes, over a copy of the row with
    // its edge pixels replicated (no clamping in the loop).
    let hs = sized(&mut s.h16, h * rw);
    let pw = (w + 2 * r + 1) * 4;
    let pad = sized(&mut s.pad, nb * pw);
    {
        let src: &[u8] = rows;
        let pass = |j0: usize, out: &mut [u16], pad: &mut [u8]| {
            for (dj, dst) in out.chunks_exact_mut(rw).enumerate() {
                let row = &src[(j0 + dj) * pitch + x0 * 4..][..rw];
                hsum_row(row, pad, dst, r);
            }
        };
        if nb == 1 {
            pass(0, hs, pad);
        } else {
            hs.par_chunks_mut(band * rw)
                .zip(pad.par_chunks_mut(pw))
                .enumerate()
                .for_each(|(b, (out, pad))| pass(b * band, out, pad));
        }
    }
    // Vertical sliding sums of the horizontal sums, then the rounded mean.
    let hs: &[u16] = hs;
    let acc = sized(&mut s.acc, nb * rw);
    let side = 2 * r + 1;
    let area = (side * side) as u32;
    let div = Divider::new(area);
    let half = area / 2;
    let v = VSums {
        hs,
        h,
        r,
        rw,
        x0,
        pitch,
        n,
        div,
        half,
    };
    let pass = |b: usize, out: &mut [u8], acc: &mut [u32]| {
        let j0 = b * band;
        box_vband(&v, out, acc, j0, (j0 + band).min(h));
    };
    if nb == 1 {
        pass(0, rows, acc);
    } else {
        rows.par_chunks_mut(band * pitch)
            .zip(acc.par_chunks_mut(rw))
            .enumerate()
            .for_each(|(b, (out, acc))| pass(b, out, acc));
    }
}

/// What the vertical pass of a box blur reads: the region's horizontal sums (`h` rows
/// of `rw` u16), the radius, where the region's rows start in the frame, how many bytes
/// of each pixel it writes, and the rounded mean's divider.
struct VSums<'a> {
    hs: &'a [u16],
    h: usize,
    r: usize,
    rw: usize,
    x0: usize,
    pitch: usize,
    n: usize,
    div: Divider,
    half: u32,
}

multiversioned! {
/// Rows [j0, j1) of a box blur's vertical pass, into `out` (row j0 at offset 0): sliding
/// sums of the horizontal sums down each column in `acc` (one u32 per byte), then the
/// rounded mean.
fn box_vband(v: &VSums<'_>, out: &mut [u8], acc: &mut [u32], j0: usize, j1: usize) {
    let VSums { hs, h, r, rw, x0, pitch, n, div, half } = *v;
    acc.fill(0);
    for k in 0..2 * r + 1 {
        let j = (j0 + k).saturating_sub(r).min(h - 1);
        for (a, &sum) in acc.iter_mut().zip(&hs[j * rw..][..rw]) {
            *a += u32::from(sum);
        }
    }
    for j in j0..j1 {
        let dst = &mut out[(j - j0) * pitch + x0 * 4..][..rw];
        if n == 4 {
            // Every byte written: one flat loop the compiler vectorises.
            for (d, &a) in dst.iter_mut().zip(acc.iter()) {
                *d = div.div(a + half) as u8;
            }
        } else {
            for (px, a) in dst.chunks_exact_mut(4).zip(acc.chunks_exact(4)) {
                for i in 0..n {
                    px[i] = div.div(a[i] + half) as u8;
                }
            }
        }
        if j + 1 < j1 {
            let add = &hs[(j + r + 1).min(h - 1) * rw..][..rw];
            let sub = &hs[j.saturating_sub(r) * rw..][..rw];
            for ((a, &p), &m) in acc.iter_mut().zip(add).zip(sub) {
                *a = *a + u32::from(p) - u32::from(m);
            }
        }
    }
}
}

multiversioned! {
/// Sliding sums of the clamped (2r+1) window along one row of RGBA pixels, into `dst`
/// (the row's length): the row is copied into `pad` with r replicated pixels before
/// and r + 1 after, so pixel x's window is `pad[x..=x + 2r]` and the next window
/// drops `pad[x]` and adds `pad[x + 2r + 1]`, with no clamping or branch. u16 lanes
/// are exact: a sum is at most 255 (2r + 1) + 255 <= 65280.
fn hsum_row(row: &[u8], pad: &mut [u8], dst: &mut [u16], r: usize) {
    let rw = row.len();
    let w = rw / 4;
    let pad = &mut pad[..(w + 2 * r + 1) * 4];
    let (first, last) = ([row[0], row[1], row[2], row[3]], {
        let l = &row[rw - 4..];
        [l[0], l[1], l[2], l[3]]
    });
    for k in 0..r {
        pad[k * 4..k * 4 + 4].copy_from_slice(&first);
    }
    pad[r * 4..r * 4 + rw].copy_from_slice(row);
    for k in r + w..w + 2 * r + 1 {
        pad[k * 4..k * 4 + 4].copy_from_slice(&last);
    }
    let mut s = [0u16; 4];
    for px in pad[..(2 * r + 1) * 4].chunks_exact(4) {
        for i in 0..4 {
            s[i] += u16::from(px[i]);
        }
    }
    let (old, new) = (&pad[..rw], &pad[(2 * r + 1) * 4..]);
    for ((d, o), a) in dst
        .chunks_exact_mut(4)
        .zip(old.chunks_exact(4))
        .zip(new.chunks_exact(4))
    {
        d.copy_from_slice(&s);
        for i in 0..4 {
            s[i] = s[i] + u16::from(a[i]) - u16::from(o[i]);
        }
    }
}
}

fn gauss(
    rows: &mut [u8],
    pitch: usize,
    reg: Region,
    r: usize,
    wt: &[u32],
    n: usize,
    s: &mut Scratch,
) {
    let Region { x0, w, h, .. } = reg;
    let rw = w * 4;
    let (band, nb) = bands(h, w);
    let hs = sized(&mut s.h8, h * rw);
    let acc = sized(&mut s.acc, nb * rw);
    let pw = (w + 2 * r) * 4;
    let pad = sized(&mut s.pad, nb * pw);
    // Horizontal pass into 8-bit scratch: each row copied with r replicated pixels on
    // either side, then weighted sums over shifted copies (vectorisable).
    {
        let src: &[u8] = rows;
        let pass = |j0: usize, out: &mut [u8], acc: &mut [u32], pad: &mut [u8]| {
            for (dj, dst) in out.chunks_exact_mut(rw).enumerate() {
                let row = &src[(j0 + dj) * pitch + x0 * 4..][..rw];
                gauss_row(row, pad, acc, dst, wt);
            }
        };
        if nb == 1 {
            pass(0, hs, acc, pad);
        } else {
            hs.par_chunks_mut(band * rw)
                .zip(acc.par_chunks_mut(rw))
                .zip(pad.par_chunks_mut(pw))
                .enumerate()
                .for_each(|(b, ((out, acc), pad))| pass(b * band, out, acc, pad));
        }
    }
    // Vertical pass on the 8-bit rows, into the frame.
    let hs: &[u8] = hs;
    let v = GaussRows {
        hs,
        wt,
        h,
        rw,
        x0,
        pitch,
        n,
    };
    let pass = |b: usize, out: &mut [u8], acc: &mut [u32]| {
        let j0 = b * band;
        gauss_vband(&v, out, acc, j0, (j0 + band).min(h));
    };
    if nb == 1 {
        pass(0, rows, acc);
    } else {
        rows.par_chunks_mut(band * pitch)
            .zip(acc.par_chunks_mut(rw))
            .enumerate()
            .for_each(|(b, (out, acc))| pass(b, out, acc));
    }
}

multiversioned! {
/// One row of a gaussian's horizontal pass: `row` (RGBA, w pixels) copied into `pad`
/// with r replicated pixels on either side, weighted sums over shifted copies in `acc`
/// (vectorisable), the 8-bit results into `dst`.
fn gauss_row(row: &[u8], pad: &mut [u8], acc: &mut [u32], dst: &mut [u8], wt: &[u32]) {
    let (rw, r) = (row.len(), wt.len() / 2);
    let w = rw / 4;
    for k in 0..r {
        pad[k * 4..k * 4 + 4].copy_from_slice(&row[..4]);
        pad[(r + w + k) * 4..(r + w + k) * 4 + 4].copy_from_slice(&row[rw - 4..]);
    }
    pad[r * 4..(r + w) * 4].copy_from_slice(row);
    acc.fill(1u32 << (CD_GAUSS_SHIFT - 1));
    for (k, &wk) in wt.iter().enumerate() {
        for (a, &p) in acc.iter_mut().zip(&pad[k * 4..k * 4 + rw]) {
            *a += wk * u32::from(p);
        }
    }
    for (d, &a) in dst.iter_mut().zip(acc.iter()) {
        *d = (a >> CD_GAUSS_SHIFT) as u8;
    }
}
}

/// What a gaussian's vertical pass reads: the horizontal pass's 8-bit rows (`h` rows of
/// `rw` bytes), the weights (2r + 1), where the region's rows start in the frame, and
/// how many bytes of each pixel it writes.
struct GaussRows<'a> {
    hs: &'a [u8],
    wt: &'a [u32],
    h: usize,
    rw: usize,
    x0: usize,
    pitch: usize,
    n: usize,
}

multiversioned! {
/// Rows [j0, j1) of a gaussian's vertical pass, into `out` (row j0 at offset 0).
fn gauss_vband(v: &GaussRows<'_>, out: &mut [u8], acc: &mut [u32], j0: usize, j1: usize) {
    let GaussRows { hs, wt, h, rw, x0, pitch, n } = *v;
    let r = wt.len() / 2;
    for j in j0..j1 {
        acc.fill(1u32 << (CD_GAUSS_SHIFT - 1));
        for (k, &wk) in wt.iter().enumerate() {
            let sj = (j + k).saturating_sub(r).min(h - 1);
            for (a, &p) in acc.iter_mut().zip(&hs[sj * rw..][..rw]) {
                *a += wk * u32::from(p);
            }
        }
        let dst = &mut out[(j - j0) * pitch + x0 * 4..][..rw];
        for (px, a) in dst.chunks_exact_mut(4).zip(acc.chunks_exact(4)) {
            for i in 0..n {
                px[i] = (a[i] >> CD_GAUSS_SHIFT) as u8;
            }
        }
    }
}
}

fn pixelate(rows: &mut [u8], pitch: usize, reg: Region, b: usize, n: usize, s: &mut Scratch) {
    let Region { x0, w, h, .. } = reg;
    let b = b.min(w.max(h)).max(1);
    let cells_x = w.div_ceil(b);
    // Bands are whole cell rows.
    let band = super::band_rows(h, w).div_ceil(b) * b;
    let nb = h.div_ceil(band);
    let acc = sized(&mut s.acc, nb * cells_x * 4);
    let pass = |bi: usize, out: &mut [u8], acc: &mut [u32]| {
        let j0 = bi * band;
        let j1 = (j0 + band).min(h);
        let mut cj = j0;
        while cj < j1 {
            let ch = b.min(h - cj);
            acc.fill(0);
            for j in cj..cj + ch {
                let row = &out[(j - j0) * pitch + x0 * 4..][..w * 4];
                for (cx, cell) in row.chunks(b * 4).enumerate() {
                    let a = &mut acc[cx * 4..cx * 4 + 4];
                    for px in cell.chunks_exact(4) {
                        for i in 0..4 {
                            a[i] += u32::from(px[i]);
                        }
                    }
                }
            }
            // Cell means, rounded: (sum + area/2) / area.
            for cx in 0..cells_x {
                let area = (b.min(w - cx * b) * ch) as u32;
                for a in &mut acc[cx * 4..cx * 4 + 4] {
                    *a = (*a + area / 2) / area;
                }
            }
            for j in cj..cj + ch {
                let row = &mut out[(j - j0) * pitch + x0 * 4..][..w * 4];
                for (cx, cell) in row.chunks_mut(b * 4).enumerate() {
                    let a = &acc[cx * 4..cx * 4 + 4];
                    let mean = [a[0] as u8, a[1] as u8, a[2] as u8, a[3] as u8];
                    super::pointwise::fill_span(cell, mean, n == 4);
                }
            }
            cj += ch;
        }
    };
    if nb == 1 {
        pass(0, rows, acc);
    } else {
        rows.par_chunks_mut(band * pitch)
            .zip(acc.par_chunks_mut(cells_x * 4))
            .enumerate()
            .for_each(|(bi, (out, acc))| pass(bi, out, acc));
    }
}

#[cfg(test)]
mod tests {
    use super::Divider;

    #[test]
    fn divider_is_exact() {
        for r in 1..=crate::cmd::CD_MAX_BOX_RADIUS {
            let d = (2 * r + 1) * (2 * r + 1);
            let div = Divider::new(d);
            let max = 255 * d + d / 2;
            // Every multiple boundary and its neighbours, plus a stride through the range.
            for q in (0..=255u32).chain([max / d]) {
                for x in [q * d, (q * d).saturating_sub(1), q * d + d - 1] {
                    if x <= max {
                        assert_eq!(div.div(x), x / d, "x={x} d={d}");
                    }
                }
            }
            for x in (0..=max).step_by(997) {
                assert_eq!(div.div(x), x / d, "x={x} d={d}");
            }
        }
    }
}
