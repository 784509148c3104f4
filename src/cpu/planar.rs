//! NV12 and I420 frames on the CPU: the very commands the packed renderer executes,
//! applied to a Y plane and Cb/Cr planes at half resolution, as docs/semantics.md
//! ("NV12 and I420") states.
//!
//! Pointwise commands are first evaluated into an effect buffer over the command's
//! footprint snapped outward to whole 2 x 2 blocks: per pixel the RGB colour and the
//! effective alpha the packed rules give it. Luma blends per pixel from it; each chroma
//! sample blends the alpha-weighted mean chroma of its block's pixels with the rounded
//! mean of their alphas. Blurs run per plane. This is the oracle: plain loops, one
//! frame per thread, grow-only scratch.

use rayon::prelude::*;

use super::{Sources, check_cmds, mask, shape};
use crate::cmd::{
    CD_FILTER_NEAREST, CD_GAUSS_SHIFT, CD_OP_BLUR_BOX, CD_OP_BLUR_GAUSS, CD_OP_CLASSMAP,
    CD_OP_MASK, CD_OP_OVERLAY, CD_OP_PIXELATE, CD_OP_RECT, CD_OP_SHAPE, CD_OP_SOLID, CD_OP_TEXT,
    CdCmd,
};
use crate::color::blend;
use crate::draw::{DrawList, GAUSS_SIGMA_RANGE, Image, ImageId, ImageStore, resolve_batch_with};
use crate::error::{Error, Result};
use crate::geom::PixelRect;
use crate::planar::{PlanarFrame, PlanarInfo, PlanarLayout, YuvConv};

use super::pointwise::{bilinear_axis, nearest_axis};

/// Grow-only working memory of one planar frame.
#[derive(Debug, Default)]
pub struct PlanarScratch {
    /// Effect buffer: R, G, B, effective alpha per footprint pixel.
    eff: Vec<[u8; 4]>,
    /// A plane region as it was before a blur.
    before: Vec<u8>,
    /// Intermediate sums of the separable passes.
    tmp: Vec<u32>,
    /// Gaussian weights of the chroma planes.
    weights: Vec<u32>,
    /// Per chroma sample of one chroma row: how many of its block's pixels the runs of
    /// a run-drawn command cover (see `draw_runs`).
    covered: Vec<u8>,
    /// The ranges of those samples the runs of one chroma row touched.
    touched: Vec<(usize, usize)>,
}

fn sized<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::default());
    }
    &mut v[..len]
}

impl super::CpuRenderer {
    /// Validates every list against its NV12 or I420 frame, then draws each list onto
    /// its frame (docs/semantics.md, "NV12 and I420"). On any error nothing is drawn on
    /// any frame. A call draws planar frames only; packed frames go through
    /// [`super::CpuRenderer::render`].
    pub fn render_planar<L: AsRef<DrawList>>(
        &mut self,
        frames: &mut [PlanarFrame<'_>],
        lists: &[L],
        images: &ImageStore,
    ) -> Result<()> {
        // Frames are valid by construction (`PlanarFrame::new` / `from_raw` /
        // `from_planes`, whose planes are apart); drawn in parallel, no two frames may
        // share a byte: every plane of every frame against every other.
        crate::frame::check_disjoint_bytes_of(
            frames.iter().enumerate().flat_map(|(i, f)| {
                (0..3)
                    .map(move |k| f.plane(k))
                    .filter(|p| !p.is_empty())
                    .map(move |p| (p.as_ptr() as u64, p.len(), i))
            }),
            &mut self.spans,
        )?;
        self.infos.clear();
        self.infos
            .extend(frames.iter().map(|f| f.info().resolve_info()));
        resolve_batch_with(
            &self.infos,
            lists,
            images,
            &self.options,
            &mut self.resolved,
        )?;
        let atlas = crate::draw::text::locked_atlas(&self.resolved, images.fonts())?;
        let src = Sources::of(
            &self.resolved,
            images,
            atlas.as_deref().map_or(&[], |c| c.atlas.as_slice()),
        );
        let resolved = &self.resolved;
        for (i, f) in frames.iter().enumerate() {
            let cmds = resolved.frame_cmds(i);
            check_cmds(i, f.info().resolve_info(), cmds, &resolved.weights, &src)?;
            for (op, c) in cmds.iter().enumerate() {
                if c.op == CD_OP_BLUR_GAUSS {
                    let sigma = f32::from_bits(c.reserved);
                    if !sigma.is_finite() || !GAUSS_SIGMA_RANGE.contains(&sigma) {
                        return Err(Error::InvalidOp {
                            frame: i,
                            op,
                            reason: format!("gaussian without a valid sigma ({sigma})"),
                        });
                    }
                }
            }
        }
        if self.planar_scratch.len() < frames.len() {
            self.planar_scratch
                .resize_with(frames.len(), PlanarScratch::default);
        }
        frames
            .par_iter_mut()
            .zip(self.planar_scratch.par_iter_mut())
            .enumerate()
            .for_each(|(i, (frame, scratch))| {
                let info = frame.info();
                draw_frame(
                    frame.planes_mut(),
                    &info,
                    resolved.frame_cmds(i),
                    &resolved.weights,
                    &src,
                    scratch,
                );
            });
        Ok(())
    }
}

/// The planes of one frame: each slice starts at its plane's first sample.
type Planes<'p, 'a> = &'p mut [&'a mut [u8]; 3];

/// Where one component's samples lie: sample (x, y) is byte `offset + y pitch + x step`
/// of plane `plane`.
#[derive(Clone, Copy)]
struct Component {
    plane: usize,
    offset: usize,
    pitch: usize,
    step: usize,
}

impl Component {
    #[inline]
    fn at(&self, x: usize, y: usize) -> usize {
        self.offset + y * self.pitch + x * self.step
    }
}

/// Where the samples of a validated frame lie.
struct Geometry {
    w: usize,
    h: usize,
    y: Component,
    cb: Component,
    cr: Component,
}

impl Geometry {
    fn of(info: &PlanarInfo) -> Self {
        // Plane offsets are not used: each plane's slice starts at its first sample.
        let pitch = |i: usize| info.planes[i].map_or(0, |p| p.pitch);
        let c = |plane, offset, step| Component {
            plane,
            offset,
            pitch: pitch(plane),
            step,
        };
        let (cb, cr) = match info.layout {
            PlanarLayout::Nv12 => (c(1, 0, 2), c(1, 1, 2)),
            PlanarLayout::I420 => (c(1, 0, 1), c(2, 0, 1)),
        };
        Self {
            w: info.width as usize,
            h: info.height as usize,
            y: c(0, 0, 1),
            cb,
            cr,
        }
    }
}

/// Blends sample (x, y) of component `c` towards `value` with `alpha`.
#[inline]
fn blend_at(data: Planes<'_, '_>, c: Component, x: usize, y: usize, value: u8, alpha: u8) {
    let d = &mut data[c.plane][c.at(x, y)];
    *d = blend(value, *d, alpha);
}

/// The whole-block footprint of a luma region: [x0 & !1, min(ceil2(x1), w)) and the
/// chroma samples [x0 / 2, ceil(x1 / 2)), same for y.
fn footprint(r: &PixelRect, g: &Geometry) -> (PixelRect, PixelRect) {
    let luma = PixelRect {
        x0: r.x0 & !1,
        y0: r.y0 & !1,
        x1: ((r.x1 + 1) & !1).min(g.w as i32),
        y1: ((r.y1 + 1) & !1).min(g.h as i32),
    };
    let chroma = PixelRect {
        x0: r.x0 / 2,
        y0: r.y0 / 2,
        x1: (r.x1 + 1) / 2,
        y1: (r.y1 + 1) / 2,
    };
    (luma, chroma)
}

fn draw_frame(
    data: Planes<'_, '_>,
    info: &PlanarInfo,
    cmds: &[CdCmd],
    weights: &[u32],
    src: &Sources<'_>,
    s: &mut PlanarScratch,
) {
    let g = Geometry::of(info);
    let conv = YuvConv::new(info.matrix, info.range);
    for c in cmds {
        let clip = PixelRect::from(c.clip);
        match c.op {
            CD_OP_SOLID => solid(data, &g, &conv, c),
            CD_OP_BLUR_BOX | CD_OP_BLUR_GAUSS | CD_OP_PIXELATE => {
                blur(data, &g, c, weights, s);
            }
            _ if runs_enabled()
                && draw_runs(data, &g, &conv, c, src, &mut s.covered, &mut s.touched) => {}
            _ => {
                let (fp, _) = footprint(&clip, &g);
                let mut parts = [fp; 4];
                let n = around_hole(c, &fp, &mut parts);
                for part in &parts[..n] {
                    let sub = clip.intersect(part);
                    if sub.is_empty() {
                        continue;
                    }
                    let fw = part.width() as usize;
                    let eff = sized(&mut s.eff, fw * part.height() as usize);
                    eff.fill([0; 4]);
                    effects(c, &sub, part, eff, src);
                    composite(data, &g, &conv, part, eff);
                }
            }
        }
    }
}

/// Whether `draw_runs` may take the commands it can: always, but a test turns it off to
/// hold it to the effect buffer's bytes.
#[cfg(test)]
static RUNS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

#[inline]
fn runs_enabled() -> bool {
    #[cfg(test)]
    return RUNS.load(std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(test))]
    true
}

/// Shapes without anti-aliasing: their effect is one colour at its own alpha on runs of
/// pixels (coverage 255 or 0), so they skip the effect buffer, whose bytes they give
/// exactly: luma blends run by run; a chroma sample with n of its block's pixels in the
/// frame, k of them covered, blends the colour's own chroma (the alpha-weighted mean of
/// k equal values: (k a v + k a / 2) / (k a) = v) at the rounded mean alpha
/// (k a + n / 2) / n. The work follows the outline instead of the bounding box (a
/// rotated box's effect buffer is mostly empty). Returns false, drawing nothing, for
/// anything else. (Boxes by runs were measured slower than the effect buffer over the
/// bands around their hole: docs/performance.md.)
fn draw_runs(
    data: Planes<'_, '_>,
    g: &Geometry,
    conv: &YuvConv,
    c: &CdCmd,
    src: &Sources<'_>,
    covered: &mut Vec<u8>,
    touched: &mut Vec<(usize, usize)>,
) -> bool {
    if c.op != CD_OP_SHAPE {
        return false;
    }
    let a = c.color[3];
    if a == 0 {
        // Every effective alpha is (0 k + 127) / 255 = 0: nothing changes.
        return true;
    }
    let ycc = conv.convert([c.color[0], c.color[1], c.color[2]]);
    let clip = PixelRect::from(c.clip);
    // Chroma samples of the clip's blocks: [cx0, cx1).
    let (cx0, cx1) = (clip.x0 as usize / 2, (clip.x1 as usize).div_ceil(2));
    let counts = sized(covered, cx1 - cx0);
    counts.fill(0);
    // The chroma row's blocks the runs touched, as ranges (the two luma rows' runs may
    // overlap: a block is blended at its first visit, then its count is 0).
    touched.clear();
    let mut row_cy = usize::MAX;
    let flush =
        |data: Planes<'_, '_>, cy: usize, counts: &mut [u8], t: &mut Vec<(usize, usize)>| {
            let rows = if 2 * cy + 1 < g.h { 2 } else { 1 };
            for &(lo, hi) in t.iter() {
                for (i, count) in counts[lo..hi].iter_mut().enumerate() {
                    let k = u32::from(std::mem::take(count));
                    if k == 0 {
                        continue;
                    }
                    let cx = cx0 + lo + i;
                    let n = rows * if 2 * cx + 1 < g.w { 2 } else { 1 };
                    let alpha = ((k * u32::from(a) + n / 2) / n) as u8;
                    if alpha != 0 {
                        blend_at(data, g.cb, cx, cy, ycc[1], alpha);
                        blend_at(data, g.cr, cx, cy, ycc[2], alpha);
                    }
                }
            }
            t.clear();
        };
    let mut run = |data: Planes<'_, '_>, y: i32, first: i32, last: i32| {
        let (y, first, last) = (y as usize, first as usize, last as usize);
        if y / 2 != row_cy {
            if row_cy != usize::MAX {
                flush(&mut *data, row_cy, counts, touched);
            }
            row_cy = y / 2;
        }
        for x in first..=last {
            blend_at(data, g.y, x, y, ycc[0], a);
            counts[x / 2 - cx0] += 1;
        }
        touched.push((first / 2 - cx0, last / 2 - cx0 + 1));
    };
    let drawn = shape::for_each_run(
        c,
        src,
        clip.y0,
        clip.y1,
        |_, _, _| {},
        |y, first, last| run(&mut *data, y, first, last),
    );
    if !drawn {
        return false;
    }
    if row_cy != usize::MAX {
        flush(data, row_cy, counts, touched);
    }
    true
}

/// The parts of footprint `fp` that command `c` may change, in `parts`; returns how
/// many. A box without fill changes nothing on the 2 x 2 blocks wholly inside its inner
/// rectangle, so for it the footprint less those blocks (cut on block boundaries: each
/// block lies in exactly one part and is blended once) is up to four bands around the
/// hole; for every other command it is the footprint itself.
fn around_hole(c: &CdCmd, fp: &PixelRect, parts: &mut [PixelRect; 4]) -> usize {
    parts[0] = *fp;
    if c.op != CD_OP_RECT || c.fill[3] != 0 {
        return 1;
    }
    let inner = PixelRect::from(c.inner);
    // The hole: whole blocks inside `inner` (even bounds), within the footprint.
    let hole = PixelRect {
        x0: ((inner.x0 + 1) & !1).max(fp.x0),
        y0: ((inner.y0 + 1) & !1).max(fp.y0),
        x1: (inner.x1 & !1).min(fp.x1),
        y1: (inner.y1 & !1).min(fp.y1),
    };
    if hole.x1 <= hole.x0 || hole.y1 <= hole.y0 {
        return 1;
    }
    let band = |x0, y0, x1, y1| PixelRect { x0, y0, x1, y1 };
    let all = [
        band(fp.x0, fp.y0, fp.x1, hole.y0),
        band(fp.x0, hole.y1, fp.x1, fp.y1),
        band(fp.x0, hole.y0, hole.x0, hole.y1),
        band(hole.x1, hole.y0, fp.x1, hole.y1),
    ];
    let mut n = 0;
    for p in all {
        if p.x1 > p.x0 && p.y1 > p.y0 {
            parts[n] = p;
            n += 1;
        }
    }
    n
}

/// Fills `eff` (the footprint `fp`, row-major) with each pixel's colour and effective
/// alpha under command `c` (0 outside its clip or where it draws nothing).
fn effects(c: &CdCmd, clip: &PixelRect, fp: &PixelRect, eff: &mut [[u8; 4]], src: &Sources<'_>) {
    let fw = fp.width() as usize;
    let at = |x: i32, y: i32| (y - fp.y0) as usize * fw + (x - fp.x0) as usize;
    let scaled = |color: [u8; 4], k: u32| {
        let a = ((u32::from(color[3]) * k + 127) / 255) as u8;
        [color[0], color[1], color[2], a]
    };
    match c.op {
        CD_OP_RECT => {
            let inner = PixelRect::from(c.inner);
            for y in clip.y0..clip.y1 {
                for x in clip.x0..clip.x1 {
                    eff[at(x, y)] = if inner.contains(x, y) {
                        c.fill
                    } else {
                        c.color
                    };
                }
            }
        }
        CD_OP_OVERLAY => {
            if let Some(img) = src.images.get(ImageId(c.param)) {
                for y in clip.y0..clip.y1 {
                    for x in clip.x0..clip.x1 {
                        eff[at(x, y)] = overlay_sample(c, img, x, y);
                    }
                }
            }
        }
        CD_OP_TEXT => {
            // Coverage is the largest mask byte of the layer's glyphs (kept in byte 3
            // first, then turned into the colour's scaled alpha).
            let glyphs = src
                .glyphs
                .get(c.param as usize..c.param as usize + c.aux as usize)
                .unwrap_or(&[]);
            for gl in glyphs {
                let gx0 = gl.x.max(clip.x0);
                let gx1 = (gl.x + i32::from(gl.w)).min(clip.x1);
                let gy0 = gl.y.max(clip.y0);
                let gy1 = (gl.y + i32::from(gl.h)).min(clip.y1);
                for y in gy0..gy1 {
                    let row = gl.atlas as usize + (y - gl.y) as usize * usize::from(gl.w);
                    for x in gx0..gx1 {
                        let m = src.atlas[row + (x - gl.x) as usize];
                        let e = &mut eff[at(x, y)][3];
                        *e = (*e).max(m);
                    }
                }
            }
            for y in clip.y0..clip.y1 {
                for x in clip.x0..clip.x1 {
                    let e = &mut eff[at(x, y)];
                    *e = scaled(c.color, u32::from(e[3]));
                }
            }
        }
        CD_OP_SHAPE => {
            // The packed renderer's row intervals (the same coverage as
            // `layer_coverage`, pixel for pixel), over the clip's columns.
            let mut sub = *c;
            sub.clip = (*clip).into();
            shape::for_each_covered(
                &sub,
                src,
                clip.y0,
                clip.y1,
                |_, _, _| {},
                |x, y, k| {
                    eff[at(x, y)] = scaled(c.color, k);
                },
            );
        }
        CD_OP_MASK | CD_OP_CLASSMAP => {
            if let Some(m) = src.masks.get(c.param as usize) {
                for y in clip.y0..clip.y1 {
                    for x in clip.x0..clip.x1 {
                        if let Some(color) = mask::pixel(c, m, src, x, y) {
                            eff[at(x, y)] = color;
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The overlay's RGBA sample at destination pixel (x, y), alpha times the opacity
/// multiplier: exactly what the packed renderer blends there.
fn overlay_sample(c: &CdCmd, img: &Image, x: i32, y: i32) -> [u8; 4] {
    let dest = PixelRect::from(c.inner);
    let (dw, dh) = (i64::from(dest.width()), i64::from(dest.height()));
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    let (u, v) = (i64::from(x - dest.x0), i64::from(y - dest.y0));
    let d = img.data();
    let px = |i: usize, j: usize| &d[(j * iw as usize + i) * 4..][..4];
    let s: [u8; 4] = if (c.aux >> 16) == CD_FILTER_NEAREST {
        let p = px(nearest_axis(u, iw, dw), nearest_axis(v, ih, dh));
        [p[0], p[1], p[2], p[3]]
    } else {
        let (i0, i1, fx) = bilinear_axis(u, iw, dw);
        let (j0, j1, fy) = bilinear_axis(v, ih, dh);
        let (p00, p01, p10, p11) = (px(i0, j0), px(i1, j0), px(i0, j1), px(i1, j1));
        let mut s = [0u8; 4];
        for ch in 0..4 {
            let t = u32::from(p00[ch]) * (256 - fx) + u32::from(p01[ch]) * fx;
            let b = u32::from(p10[ch]) * (256 - fx) + u32::from(p11[ch]) * fx;
            s[ch] = ((t * (256 - fy) + b * fy + 32768) >> 16) as u8;
        }
        s
    };
    let m = c.aux & 0xffff;
    [s[0], s[1], s[2], ((u32::from(s[3]) * m + 127) / 255) as u8]
}

/// Blends an effect buffer: luma per pixel, chroma per 2 x 2 block.
fn composite(data: Planes<'_, '_>, g: &Geometry, conv: &YuvConv, fp: &PixelRect, eff: &[[u8; 4]]) {
    let fw = fp.width() as usize;
    let (fx0, fy0) = (fp.x0 as usize, fp.y0 as usize);
    // Single-entry cache: most commands have one colour.
    let mut last = ([0u8; 3], conv.convert([0, 0, 0]));
    let mut ycc = |rgb: [u8; 3]| {
        if last.0 != rgb {
            last = (rgb, conv.convert(rgb));
        }
        last.1
    };
    for (j, row) in eff.chunks_exact(fw).enumerate() {
        for (i, e) in row.iter().enumerate() {
            if e[3] != 0 {
                blend_at(
                    data,
                    g.y,
                    fx0 + i,
                    fy0 + j,
                    ycc([e[0], e[1], e[2]])[0],
                    e[3],
                );
            }
        }
    }
    // fp starts on even coordinates: block (bx, by) of the buffer is chroma sample
    // (fx0 / 2 + bx, fy0 / 2 + by).
    let fh = eff.len() / fw;
    for by in 0..fh.div_ceil(2) {
        for bx in 0..fw.div_ceil(2) {
            let (i0, j0) = (2 * bx, 2 * by);
            let e0 = eff[j0 * fw + i0];
            if e0[3] != 0
                && i0 + 1 < fw
                && j0 + 1 < fh
                && eff[j0 * fw + i0 + 1] == e0
                && eff[(j0 + 1) * fw + i0] == e0
                && eff[(j0 + 1) * fw + i0 + 1] == e0
            {
                // One colour and alpha on the whole block: its weighted mean chroma is
                // that colour's and the mean alpha that alpha, exactly (no divisions).
                let c = ycc([e0[0], e0[1], e0[2]]);
                let (cx, cy) = (fx0 / 2 + bx, fy0 / 2 + by);
                blend_at(data, g.cb, cx, cy, c[1], e0[3]);
                blend_at(data, g.cr, cx, cy, c[2], e0[3]);
                continue;
            }
            let (mut n, mut sa, mut scb, mut scr) = (0u32, 0u32, 0u32, 0u32);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (i, j) = (2 * bx + dx, 2 * by + dy);
                // Pixels past the frame's last column or row do not count.
                if i >= fw || j >= fh {
                    continue;
                }
                n += 1;
                let e = eff[j * fw + i];
                if e[3] == 0 {
                    continue;
                }
                let a = u32::from(e[3]);
                let c = ycc([e[0], e[1], e[2]]);
                sa += a;
                scb += a * u32::from(c[1]);
                scr += a * u32::from(c[2]);
            }
            if sa == 0 {
                continue;
            }
            let alpha = ((sa + n / 2) / n) as u8;
            if alpha == 0 {
                continue;
            }
            let cb = ((scb + sa / 2) / sa) as u8;
            let cr = ((scr + sa / 2) / sa) as u8;
            let (cx, cy) = (fx0 / 2 + bx, fy0 / 2 + by);
            blend_at(data, g.cb, cx, cy, cb, alpha);
            blend_at(data, g.cr, cx, cy, cr, alpha);
        }
    }
}

/// Redaction: luma over the region, chroma over its whole-sample footprint, replaced.
fn solid(data: Planes<'_, '_>, g: &Geometry, conv: &YuvConv, c: &CdCmd) {
    let clip = PixelRect::from(c.clip);
    let ycc = conv.convert([c.color[0], c.color[1], c.color[2]]);
    for y in clip.y0..clip.y1 {
        for x in clip.x0..clip.x1 {
            data[0][g.y.at(x as usize, y as usize)] = ycc[0];
        }
    }
    let (_, cr) = footprint(&clip, g);
    for cy in cr.y0..cr.y1 {
        for cx in cr.x0..cr.x1 {
            let (x, y) = (cx as usize, cy as usize);
            data[g.cb.plane][g.cb.at(x, y)] = ycc[1];
            data[g.cr.plane][g.cr.at(x, y)] = ycc[2];
        }
    }
}

/// The parameters of one plane's blur.
enum Kind<'a> {
    Box(usize),
    Gauss(&'a [u32]),
    /// Cell index of each region column and row.
    Cells(Vec<usize>, Vec<usize>),
}

/// Chroma box radius for luma radius r: ceil(r / 2).
pub(crate) fn chroma_box_radius(r: u32) -> u32 {
    r.div_ceil(2)
}

fn blur(data: Planes<'_, '_>, g: &Geometry, c: &CdCmd, weights: &[u32], s: &mut PlanarScratch) {
    // The chroma table is moved out of the scratch while the planes use the rest.
    let mut chroma_weights = std::mem::take(&mut s.weights);
    let clip = PixelRect::from(c.clip);
    let (_, cr) = footprint(&clip, g);
    let rect = |r: &PixelRect| {
        (
            r.x0 as usize,
            r.y0 as usize,
            r.width() as usize,
            r.height() as usize,
        )
    };
    let (luma_kind, chroma_kind) = match c.op {
        CD_OP_BLUR_BOX => (
            Kind::Box(c.param as usize),
            Kind::Box(chroma_box_radius(c.param) as usize),
        ),
        CD_OP_BLUR_GAUSS => {
            chroma_weights.clear();
            crate::draw::resolve::push_gauss_weights(
                f32::from_bits(c.reserved) * 0.5,
                &mut chroma_weights,
            );
            let luma = &weights[c.aux as usize..][..2 * c.param as usize + 1];
            (Kind::Gauss(luma), Kind::Gauss(&chroma_weights))
        }
        _ => {
            // Luma cells from the region's top-left corner; a chroma sample belongs
            // to the cell of its block's left (top) luma column (row), clamped into
            // the region, so both planes' cells coincide.
            let b = c.param as usize;
            let lx: Vec<usize> = (0..clip.width() as usize).map(|i| i / b).collect();
            let ly: Vec<usize> = (0..clip.height() as usize).map(|j| j / b).collect();
            let map = |c0: i32, c1: i32, l0: i32, l1: i32| -> Vec<usize> {
                (c0..c1)
                    .map(|k| ((2 * k).clamp(l0, l1 - 1) - l0) as usize / b)
                    .collect()
            };
            (
                Kind::Cells(lx, ly),
                Kind::Cells(
                    map(cr.x0, cr.x1, clip.x0, clip.x1),
                    map(cr.y0, cr.y1, clip.y0, clip.y1),
                ),
            )
        }
    };
    blur_plane(data[0], g.y, rect(&clip), &luma_kind, s);
    blur_plane(data[g.cb.plane], g.cb, rect(&cr), &chroma_kind, s);
    blur_plane(data[g.cr.plane], g.cr, rect(&cr), &chroma_kind, s);
    drop(chroma_kind);
    s.weights = chroma_weights;
}

/// Blurs region (x0, y0, w, h) of component `c`'s samples in `data` (its plane),
/// reading the region as it was before (windows clamped to the region).
fn blur_plane(
    data: &mut [u8],
    c: Component,
    (x0, y0, w, h): (usize, usize, usize, usize),
    kind: &Kind<'_>,
    s: &mut PlanarScratch,
) {
    if w == 0 || h == 0 {
        return;
    }
    let at = |x: usize, y: usize| c.at(x0 + x, y0 + y);
    let before = sized(&mut s.before, w * h);
    for y in 0..h {
        for x in 0..w {
            before[y * w + x] = data[at(x, y)];
        }
    }
    let before: &[u8] = before;
    match kind {
        Kind::Box(r) => {
            // Sliding sums: the window of the next sample drops clamp(x - r) and adds
            // clamp(x + r + 1), the same samples as summing each window afresh.
            let tmp = sized(&mut s.tmp, w * h + w);
            let (tmp, col) = tmp.split_at_mut(w * h);
            let r = *r as isize;
            let cl = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
            for (src, dst) in before.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
                let mut sum: u32 = (-r..=r).map(|k| u32::from(src[cl(k, w)])).sum();
                for (x, d) in dst.iter_mut().enumerate() {
                    *d = sum;
                    let x = x as isize;
                    sum = sum + u32::from(src[cl(x + r + 1, w)]) - u32::from(src[cl(x - r, w)]);
                }
            }
            let n = ((2 * r + 1) * (2 * r + 1)) as u32;
            col.fill(0);
            for k in -r..=r {
                for (c, &t) in col.iter_mut().zip(&tmp[cl(k, h) * w..][..w]) {
                    *c += t;
                }
            }
            for y in 0..h {
                for (x, &sum) in col.iter().enumerate() {
                    data[at(x, y)] = ((sum + n / 2) / n) as u8;
                }
                let (add, sub) = (cl(y as isize + r + 1, h), cl(y as isize - r, h));
                for (x, c) in col.iter_mut().enumerate() {
                    *c = *c + tmp[add * w + x] - tmp[sub * w + x];
                }
            }
        }
        Kind::Gauss(wt) => {
            let tmp = sized(&mut s.tmp, w * h);
            let r = (wt.len() / 2) as isize;
            let cl = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
            let round = 1u32 << (CD_GAUSS_SHIFT - 1);
            for y in 0..h {
                for x in 0..w {
                    let sum: u32 = (-r..=r)
                        .zip(wt.iter())
                        .map(|(k, &wk)| wk * u32::from(before[y * w + cl(x as isize + k, w)]))
                        .sum();
                    tmp[y * w + x] = (sum + round) >> CD_GAUSS_SHIFT;
                }
            }
            for y in 0..h {
                for x in 0..w {
                    let sum: u32 = (-r..=r)
                        .zip(wt.iter())
                        .map(|(k, &wk)| wk * tmp[cl(y as isize + k, h) * w + x])
                        .sum();
                    data[at(x, y)] = ((sum + round) >> CD_GAUSS_SHIFT) as u8;
                }
            }
        }
        Kind::Cells(cx, cy) => {
            let ncx = cx.last().map_or(0, |&k| k + 1);
            let ncy = cy.last().map_or(0, |&k| k + 1);
            // (sum, count) per cell, in `tmp` pairs.
            let cells = sized(&mut s.tmp, 2 * ncx * ncy);
            cells.fill(0);
            for y in 0..h {
                for x in 0..w {
                    let k = 2 * (cy[y] * ncx + cx[x]);
                    cells[k] += u32::from(before[y * w + x]);
                    cells[k + 1] += 1;
                }
            }
            for y in 0..h {
                for x in 0..w {
                    let k = 2 * (cy[y] * ncx + cx[x]);
                    let (sum, n) = (cells[k], cells[k + 1]);
                    data[at(x, y)] = ((sum + n / 2) / n) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shapes drawn by runs (`draw_runs`) give the effect buffer's bytes, beside boxes
    /// (outline only, fill of the outline's colour, other fills): lines,
    /// polygons with outlines (minus layers), ellipses, rotated boxes, with and without
    /// anti-aliasing, every alpha, on NV12 and I420 frames of odd and even sizes with
    /// every matrix and range, drawn once with runs and once without.
    #[test]
    fn runs_draw_the_effect_buffers_bytes() {
        use crate::Border;
        use crate::color::Color;
        use crate::draw::{Cap, EllipseOp, LineOp, PolygonOp, RotatedBoxOp, Stroke};
        use crate::geom::{Point, Rect};
        use crate::planar::{YuvMatrix, YuvRange};
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(n.max(1))) as u32
        };
        fn col(rnd: &mut impl FnMut(u32) -> u32) -> Color {
            let a = [0, 255, 1 + rnd(254)][rnd(3) as usize] as u8;
            Color::rgba(rnd(256) as u8, rnd(256) as u8, rnd(256) as u8, a)
        }
        let mut runs = 0usize;
        for case in 0..120 {
            let (w, h) = (8 + rnd(200), 8 + rnd(150));
            let layout = if case % 2 == 0 {
                PlanarLayout::Nv12
            } else {
                PlanarLayout::I420
            };
            let matrix = [YuvMatrix::Bt601, YuvMatrix::Bt709, YuvMatrix::Bt2020][rnd(3) as usize];
            let range = [YuvRange::Limited, YuvRange::Full][rnd(2) as usize];
            let info = PlanarInfo::tight(w, h, layout).with_colour(matrix, range);
            let mut l = DrawList::new();
            for _ in 0..1 + rnd(12) {
                let f = |v: u32| v as f32 + [0.0, 0.5, 0.25][(v % 3) as usize];
                let (x, y) = (f(rnd(w + 20)) - 10.0, f(rnd(h + 20)) - 10.0);
                let (bw, bh) = (f(1 + rnd(w)), f(1 + rnd(h)));
                let aa = rnd(3) == 0;
                let p = |x: f32, y: f32| Point::new(x, y);
                match rnd(6) {
                    0 | 1 => {
                        let c = col(&mut rnd);
                        let fill = match rnd(3) {
                            0 => None,
                            1 => Some(c),
                            _ => Some(col(&mut rnd)),
                        };
                        l.rect(
                            Rect::new(x, y, bw, bh),
                            Some(Border::new(1 + rnd(6), c)),
                            fill,
                        )
                    }
                    2 => l.push(LineOp {
                        from: p(x, y),
                        to: p(x + bw - f(rnd(w)), y + bh),
                        width: f(1 + rnd(8)),
                        color: col(&mut rnd),
                        cap: if rnd(2) == 0 { Cap::Flat } else { Cap::Round },
                        aa,
                    }),
                    3 => l.push(PolygonOp {
                        points: (0..3 + rnd(8)).map(|_| p(f(rnd(w)), f(rnd(h)))).collect(),
                        fill: if rnd(2) == 0 {
                            Some(col(&mut rnd))
                        } else {
                            None
                        },
                        outline: Some(Stroke::new(f(1 + rnd(5)), col(&mut rnd))),
                        aa,
                    }),
                    4 => l.push(EllipseOp {
                        center: p(x, y),
                        rx: f(rnd(60)),
                        ry: f(rnd(60)),
                        outline: Some(Stroke::new(f(1 + rnd(6)), col(&mut rnd))),
                        align: Default::default(),
                        fill: if rnd(2) == 0 {
                            Some(col(&mut rnd))
                        } else {
                            None
                        },
                        aa,
                    }),
                    _ => l.push(RotatedBoxOp {
                        center: p(x, y),
                        width: bw,
                        height: bh,
                        angle: rnd(360) as f32,
                        outline: Some(Stroke::new(f(1 + rnd(5)), col(&mut rnd))),
                        fill: if rnd(2) == 0 {
                            Some(col(&mut rnd))
                        } else {
                            None
                        },
                        aa,
                    }),
                };
            }
            runs += l.len();
            let init: Vec<u8> = (0..info.min_len()).map(|_| rnd(256) as u8).collect();
            let draw = |with_runs: bool| {
                RUNS.store(with_runs, std::sync::atomic::Ordering::Relaxed);
                let mut d = init.clone();
                let mut f = [PlanarFrame::new(&mut d, info).unwrap()];
                crate::cpu::CpuRenderer::new()
                    .render_planar(&mut f, &[&l], &ImageStore::new())
                    .unwrap();
                d
            };
            let (want, got) = (draw(false), draw(true));
            RUNS.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(i) = want.iter().zip(&got).position(|(a, b)| a != b) {
                panic!(
                    "case {case} ({w}x{h} {layout:?}): byte {i} differs: {} vs {}",
                    want[i], got[i]
                );
            }
        }
        assert!(runs > 300);
    }

    /// The box blur's sliding sums equal the definition (each window summed afresh,
    /// indices clamped to the region) on random regions, radii and sample steps.
    #[test]
    fn box_blur_plane_matches_the_window_definition() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut s = PlanarScratch::default();
        for case in 0..300 {
            let (w, h, r, step) = (1 + rnd(40), 1 + rnd(30), 1 + rnd(50), 1 + rnd(2));
            let (x0, y0) = (rnd(5), rnd(5));
            let pitch = (x0 + w) * step + rnd(7);
            let offset = rnd(9);
            let len = offset + (y0 + h) * pitch;
            let data: Vec<u8> = (0..len).map(|_| rnd(256) as u8).collect();
            let mut got = data.clone();
            let c = Component {
                plane: 0,
                offset,
                pitch,
                step,
            };
            blur_plane(&mut got, c, (x0, y0, w, h), &Kind::Box(r), &mut s);
            let at = |x: usize, y: usize| offset + (y0 + y) * pitch + (x0 + x) * step;
            let cl = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
            let ri = r as isize;
            let n = ((2 * r + 1) * (2 * r + 1)) as u32;
            let mut want = data.clone();
            for y in 0..h {
                for x in 0..w {
                    let mut sum = 0u32;
                    for j in -ri..=ri {
                        for i in -ri..=ri {
                            sum +=
                                u32::from(data[at(cl(x as isize + i, w), cl(y as isize + j, h))]);
                        }
                    }
                    want[at(x, y)] = ((sum + n / 2) / n) as u8;
                }
            }
            assert_eq!(got, want, "case {case}: {w}x{h} r {r} step {step}");
        }
    }
}
