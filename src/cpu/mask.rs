//! Masks and class maps (`CD_OP_MASK`, `CD_OP_CLASSMAP`) on the CPU, host masks only
//! (a device mask on a host frame is refused when checked), exactly as
//! docs/semantics.md ("Masks") states and kernels/common.cuh computes.

use super::simd::multiversioned;
use crate::cmd::{
    CD_MASK_BILINEAR, CD_MASK_CONTOUR, CD_MASK_F16, CD_MASK_F32, CD_MASK_I32, CD_MASK_NO_CONTOUR,
    CD_MASK_U8, CD_MASK_U16, CD_OP_CLASSMAP, CdCmd, CdMask,
};
use crate::frame::FrameInfo;
use crate::geom::PixelRect;

use super::Sources;
use super::pointwise::{bilinear_axis, nearest_axis};

/// Value (i, j) as 16-bit fixed point (class maps: the id).
fn q16(m: &CdMask, data: &[u8], i: usize, j: usize) -> i64 {
    let at = m.ptr as usize + j * m.pitch as usize;
    match m.dtype {
        CD_MASK_U16 => i64::from(u16::from_ne_bytes([data[at + 2 * i], data[at + 2 * i + 1]])),
        CD_MASK_U8 => i64::from(data[at + i]) * if m.classes > 0 { 1 } else { 257 },
        CD_MASK_I32 => {
            let b = &data[at + 4 * i..at + 4 * i + 4];
            i64::from(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        }
        // Host masks are converted to U16 when resolved; F16/F32 only come from device
        // memory, which the CPU cannot read (refused by `check`).
        CD_MASK_F16 | CD_MASK_F32 => 0,
        _ => 0,
    }
}

fn value(m: &CdMask, data: &[u8], d: &PixelRect, x: i32, y: i32, bilinear: bool) -> u32 {
    let (dw, dh) = (i64::from(d.width()), i64::from(d.height()));
    let (u, v) = (i64::from(x - d.x0), i64::from(y - d.y0));
    let (w, h) = (i64::from(m.width), i64::from(m.height));
    if !bilinear {
        return q16(m, data, nearest_axis(u, w, dw), nearest_axis(v, h, dh)) as u32;
    }
    let (i0, i1, fx) = bilinear_axis(u, w, dw);
    let (j0, j1, fy) = bilinear_axis(v, h, dh);
    let (fx, fy) = (u64::from(fx), u64::from(fy));
    let tap = |i, j, w: u64| if w == 0 { 0 } else { q16(m, data, i, j) as u64 };
    let v00 = q16(m, data, i0, j0) as u64;
    let v01 = tap(i1, j0, fx);
    let v10 = tap(i0, j1, fy);
    let v11 = tap(i1, j1, fx * fy);
    let top = v00 * (256 - fx) + v01 * fx;
    let bot = v10 * (256 - fx) + v11 * fx;
    ((top * (256 - fy) + bot * fy + 32768) >> 16) as u32
}

fn inside(m: &CdMask, data: &[u8], d: &PixelRect, x: i32, y: i32, t: u32, bl: bool) -> bool {
    d.contains(x, y) && value(m, data, d, x, y, bl) >= t
}

/// Coverage (0 or 255) of pixel (x, y) by a mask layer.
fn coverage(m: &CdMask, data: &[u8], d: &PixelRect, aux: u32, x: i32, y: i32) -> bool {
    let t = aux & 0xffff;
    let bl = aux & CD_MASK_BILINEAR != 0;
    if !inside(m, data, d, x, y, t, bl) {
        return false;
    }
    if aux & (CD_MASK_CONTOUR | CD_MASK_NO_CONTOUR) == 0 {
        return true;
    }
    let edge = !inside(m, data, d, x - 1, y, t, bl)
        || !inside(m, data, d, x + 1, y, t, bl)
        || !inside(m, data, d, x, y - 1, t, bl)
        || !inside(m, data, d, x, y + 1, t, bl);
    edge == (aux & CD_MASK_CONTOUR != 0)
}

multiversioned! {
/// Draws a mask layer or class map on rows [y0, y1) of `chunk` (row `top` at 0).
pub(super) fn draw(
    chunk: &mut [u8],
    info: FrameInfo,
    top: usize,
    y0: usize,
    y1: usize,
    c: &CdCmd,
    src: &Sources<'_>,
) {
    // Checked before drawing: the mask, its data and its palette are in bounds.
    let Some(m) = src.masks.get(c.param as usize) else {
        return;
    };
    let has_alpha = info.format.has_alpha();
    if c.op != CD_OP_CLASSMAP {
        draw_mask_rows(
            chunk,
            info.pitch,
            top,
            (y0 as i32, y1 as i32),
            c,
            m,
            src,
            has_alpha,
        );
        return;
    }
    for y in y0..y1 {
        let row = &mut chunk[(y - top) * info.pitch..];
        for x in c.clip.x0..c.clip.x1 {
            let Some(color) = pixel(c, m, src, x, y as i32) else {
                continue;
            };
            let px = &mut row[x as usize * 4..x as usize * 4 + 4];
            crate::color::blend_pixel(px, color, has_alpha);
        }
    }
}
}

/// Per worker: the sampling of each column of a mask command's clip (and one column
/// either side), and `inside` for three consecutive rows. Grow-only.
#[derive(Default)]
struct MaskScratch {
    cols: Vec<(usize, usize, u64)>,
    rows: [Vec<bool>; 3],
}

thread_local! {
    static MASK_SCRATCH: std::cell::RefCell<MaskScratch> =
        std::cell::RefCell::new(MaskScratch::default());
}

/// A mask layer on rows [y0, y1): [`coverage`]'s result, pixel for pixel, from rows of
/// `inside` computed once each (the column sampling once per command), instead of up
/// to five samples a pixel.
#[allow(clippy::too_many_arguments)]
fn draw_mask_rows(
    chunk: &mut [u8],
    pitch: usize,
    top: usize,
    (y0, y1): (i32, i32),
    c: &CdCmd,
    m: &CdMask,
    src: &Sources<'_>,
    has_alpha: bool,
) {
    if c.color[3] == 0 {
        return;
    }
    let d = PixelRect::from(c.inner);
    let t = c.aux & 0xffff;
    let bl = c.aux & CD_MASK_BILINEAR != 0;
    let outline = c.aux & (CD_MASK_CONTOUR | CD_MASK_NO_CONTOUR) != 0;
    let want_edge = c.aux & CD_MASK_CONTOUR != 0;
    let data = src.mask_data;
    let (dw, dh) = (i64::from(d.width()), i64::from(d.height()));
    let (mw, mh) = (i64::from(m.width), i64::from(m.height));
    // Columns x0 - 1 ..= x1 (index k is column x0 - 1 + k).
    let (x0, x1) = (c.clip.x0, c.clip.x1);
    let n = (x1 - x0 + 2) as usize;
    MASK_SCRATCH.with_borrow_mut(|sc| {
        let MaskScratch { cols, rows } = sc;
        cols.clear();
        cols.extend((0..n).map(|k| {
            let x = x0 - 1 + k as i32;
            let u = i64::from(x - d.x0).clamp(0, dw - 1);
            if bl {
                let (i0, i1, fx) = bilinear_axis(u, mw, dw);
                (i0, i1, u64::from(fx))
            } else {
                let i = nearest_axis(u, mw, dw);
                (i, i, 0)
            }
        }));
        let cols: &[(usize, usize, u64)] = cols;
        let fill = |out: &mut Vec<bool>, y: i32| {
            out.clear();
            out.resize(n, false);
            if y < d.y0 || y >= d.y1 {
                return;
            }
            let v = i64::from(y - d.y0);
            let (j0, j1, fy) = if bl {
                let (j0, j1, fy) = bilinear_axis(v, mh, dh);
                (j0, j1, u64::from(fy))
            } else {
                let j = nearest_axis(v, mh, dh);
                (j, j, 0)
            };
            for (k, (o, &(i0, i1, fx))) in out.iter_mut().zip(cols).enumerate() {
                let x = x0 - 1 + k as i32;
                if x < d.x0 || x >= d.x1 {
                    continue;
                }
                let val = if bl {
                    // `value`'s arithmetic: taps of weight 0 contribute 0 either way.
                    let v00 = q16(m, data, i0, j0) as u64;
                    let v01 = q16(m, data, i1, j0) as u64;
                    let v10 = q16(m, data, i0, j1) as u64;
                    let v11 = q16(m, data, i1, j1) as u64;
                    let top = v00 * (256 - fx) + v01 * fx;
                    let bot = v10 * (256 - fx) + v11 * fx;
                    ((top * (256 - fy) + bot * fy + 32768) >> 16) as u32
                } else {
                    q16(m, data, i0, j0) as u32
                };
                *o = val >= t;
            }
        };
        let [above, here, below] = rows;
        fill(above, y0 - 1);
        fill(here, y0);
        for y in y0..y1 {
            if outline {
                fill(below, y + 1);
            }
            let row = &mut chunk[(y as usize - top) * pitch..];
            for k in 1..n - 1 {
                if !here[k] {
                    continue;
                }
                if outline {
                    let edge = !here[k - 1] || !here[k + 1] || !above[k] || !below[k];
                    if edge != want_edge {
                        continue;
                    }
                }
                let x = (x0 - 1 + k as i32) as usize;
                crate::color::blend_pixel(&mut row[x * 4..x * 4 + 4], c.color, has_alpha);
            }
            std::mem::swap(above, here);
            if outline {
                std::mem::swap(here, below);
            } else if y + 1 < y1 {
                fill(here, y + 1);
            }
        }
    });
}

/// The colour (frame order, byte 3 the blend alpha, never 0) a checked mask or class
/// map command blends onto pixel (x, y), or `None` where it leaves the pixel alone.
/// Shared by the packed and the planar renderers.
#[inline]
pub(super) fn pixel(c: &CdCmd, m: &CdMask, src: &Sources<'_>, x: i32, y: i32) -> Option<[u8; 4]> {
    let d = PixelRect::from(c.inner);
    let color = if c.op == CD_OP_CLASSMAP {
        let (u, v) = (i64::from(x - d.x0), i64::from(y - d.y0));
        let i = nearest_axis(u, i64::from(m.width), i64::from(d.width()));
        let j = nearest_axis(v, i64::from(m.height), i64::from(d.height()));
        let id = q16(m, src.mask_data, i, j);
        if id < 0 || id >= i64::from(m.classes) {
            return None;
        }
        src.palette[(c.aux as usize) + id as usize].to_le_bytes()
    } else {
        if !coverage(m, src.mask_data, &d, c.aux, x, y) {
            return None;
        }
        c.color
    };
    (color[3] != 0).then_some(color)
}

/// Checks a mask command: the mask exists, is a host mask whose rows lie in the
/// batch's mask data, its destination holds the clip, and a class map's palette range.
pub(super) fn check(c: &CdCmd, src: &Sources<'_>) -> Result<(), String> {
    let m = src
        .masks
        .get(c.param as usize)
        .ok_or_else(|| format!("mask {} out of range", c.param))?;
    if m.host == 0 {
        return Err(
            "a device-memory mask cannot be drawn on host frames (use a host mask, or draw \
             on device frames)"
                .into(),
        );
    }
    let elem = match m.dtype {
        CD_MASK_U16 => 2,
        CD_MASK_U8 => 1,
        CD_MASK_I32 => 4,
        other => return Err(format!("host mask of type {other}")),
    };
    if m.width <= 0 || m.height <= 0 || (m.pitch as usize) < m.width as usize * elem {
        return Err(format!("mask {}x{} pitch {}", m.width, m.height, m.pitch));
    }
    let end = m.ptr as usize + (m.height as usize - 1) * m.pitch as usize + m.width as usize * elem;
    if end > src.mask_data.len() || !(m.ptr as usize).is_multiple_of(elem) {
        return Err("mask data out of range".into());
    }
    let d = PixelRect::from(c.inner);
    let clip = PixelRect::from(c.clip);
    if d.is_empty() || clip.intersect(&d) != clip {
        return Err("mask clip outside its destination".into());
    }
    if c.op == CD_OP_CLASSMAP {
        if m.classes == 0 || c.aux as usize + m.classes as usize > src.palette.len() {
            return Err("class map palette out of range".into());
        }
    } else if c.aux >> 16 & !((CD_MASK_BILINEAR | CD_MASK_CONTOUR | CD_MASK_NO_CONTOUR) >> 16) != 0
    {
        return Err(format!("mask flags {:#x}", c.aux));
    }
    Ok(())
}
