//! Shape layers (`CD_OP_SHAPE`) on the CPU: coverage from integer tests at sample
//! points, exactly as docs/semantics.md ("Shapes") states and kernels/common.cuh
//! computes it.

use crate::cmd::{
    CD_BAND_H, CD_NO_BANDS, CD_NO_SHAPE, CD_SHAPE_AA, CD_SHAPE_ELLIPSE, CdCmd, CdDisc, CdEdge,
    CdShape,
};
use crate::frame::FrameInfo;

use super::Sources;

/// +1 (edge going down), -1 (going up) or 0: whether the edge crosses sample row `sy`
/// (its upper end included, its lower end not) at or left of `sx`.
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

#[inline]
fn in_disc(d: &CdDisc, sx: i64, sy: i64) -> bool {
    let (dx, dy, r) = (sx - i64::from(d.cx), sy - i64::from(d.cy), i64::from(d.r));
    dx * dx + dy * dy <= r * r
}

/// Inside the axis-aligned ellipse of radii (rx, ry) at (cx, cy):
/// dx^2 ry^2 + dy^2 rx^2 <= rx^2 ry^2, exactly (128-bit).
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

/// Coverage 0..=255 of pixel (x, y) by layer `s`: its centre (255 or 0), or with
/// anti-aliasing (n * 255 + 8) / 16 of the 4 x 4 samples at 1/256 px offsets
/// 32, 96, 160, 224.
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
/// (c (255 - m) + 127) / 255.
pub(crate) fn layer_coverage(s: &CdShape, src: &Sources<'_>, x: i32, y: i32) -> u32 {
    let c = coverage(s, src, x, y);
    if c == 0 || s.minus == CD_NO_SHAPE {
        return c;
    }
    let m = coverage(&src.shapes[s.minus as usize], src, x, y);
    (c * (255 - m) + 127) / 255
}

/// Draws a shape layer on rows [y0, y1) of `chunk` (row `top` at offset 0).
pub(super) fn draw(
    chunk: &mut [u8],
    info: FrameInfo,
    top: usize,
    y0: usize,
    y1: usize,
    c: &CdCmd,
    src: &Sources<'_>,
) {
    // Checked before drawing: the layer and its geometry are in bounds.
    let Some(s) = src.shapes.get(c.param as usize) else {
        return;
    };
    let has_alpha = info.format.has_alpha();
    let a = u32::from(c.color[3]);
    for y in y0..y1 {
        let row = &mut chunk[(y - top) * info.pitch..];
        for x in c.clip.x0..c.clip.x1 {
            let k = layer_coverage(s, src, x, y as i32);
            if k == 0 {
                continue;
            }
            let alpha = ((a * k + 127) / 255) as u8;
            let px = &mut row[x as usize * 4..x as usize * 4 + 4];
            crate::color::blend_pixel(px, [c.color[0], c.color[1], c.color[2], alpha], has_alpha);
        }
    }
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
            if items(b.edge_start, b.edge_count)
                .iter()
                .any(|&i| i as usize >= src.edges.len())
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
