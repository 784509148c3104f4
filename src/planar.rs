//! Planar Y'CbCr frames (NV12, I420) and the RGB -> Y'CbCr conversion every backend
//! uses (docs/semantics.md, "NV12 and I420"). Draw colours stay straight RGBA; they are
//! converted with the frame's matrix and range by [`YuvConv`], in integer arithmetic.

use crate::error::{Error, Result};
use crate::frame::{FrameInfo, MAX_DIMENSION, MAX_PITCH};

/// How the chroma planes are stored.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PlanarLayout {
    /// Y plane, then one plane of interleaved (Cb, Cr) pairs at half resolution.
    #[default]
    Nv12,
    /// Y plane, Cb plane, Cr plane, the chroma planes at half resolution.
    I420,
}

impl PlanarLayout {
    /// Number of planes: 2 (NV12) or 3 (I420).
    pub fn planes(self) -> usize {
        match self {
            PlanarLayout::Nv12 => 2,
            PlanarLayout::I420 => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PlanarLayout::Nv12 => "NV12",
            PlanarLayout::I420 => "I420",
        }
    }
}

/// The matrix of the RGB -> Y'CbCr conversion: (Kr, Kb).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum YuvMatrix {
    /// Kr = 0.299, Kb = 0.114.
    #[default]
    Bt601,
    /// Kr = 0.2126, Kb = 0.0722.
    Bt709,
    /// Kr = 0.2627, Kb = 0.0593.
    Bt2020,
}

impl YuvMatrix {
    pub const ALL: [YuvMatrix; 3] = [YuvMatrix::Bt601, YuvMatrix::Bt709, YuvMatrix::Bt2020];

    /// (Kr, Kb).
    pub fn kr_kb(self) -> (f64, f64) {
        match self {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
            YuvMatrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// Quantisation range of the Y'CbCr values.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum YuvRange {
    /// Y' in 16..=235, Cb/Cr in 16..=240 (nominal).
    #[default]
    Limited,
    /// Y', Cb, Cr in 0..=255.
    Full,
}

impl YuvRange {
    pub const ALL: [YuvRange; 2] = [YuvRange::Limited, YuvRange::Full];
}

/// The integer RGB -> Y'CbCr conversion of one (matrix, range).
///
/// Row i of the matrix (Y', Cb, Cr) in Q16: `c = round(65536 k)` for the red and blue
/// coefficients, and the green one is `round(65536 s) - c_r - c_b` with `s` the exact
/// row sum (1 or 219/255 for Y', 0 for Cb and Cr), so white is exactly full-scale luma
/// and every grey has Cb = Cr = 128. Value = clamp((c_r R + c_g G + c_b B + 32768 +
/// (offset << 16)) >> 16, 0, 255), offset 0 or 16 for Y', 128 for Cb and Cr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YuvConv {
    /// Rows Y', Cb, Cr; columns R, G, B.
    pub coef: [[i32; 3]; 3],
    /// Offsets of Y', Cb, Cr.
    pub offset: [i32; 3],
}

impl YuvConv {
    pub fn new(matrix: YuvMatrix, range: YuvRange) -> Self {
        let (kr, kb) = matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (ys, cs, yoff) = match range {
            YuvRange::Full => (1.0, 1.0, 0),
            YuvRange::Limited => (219.0 / 255.0, 224.0 / 255.0, 16),
        };
        let rows = [
            ([kr, kg, kb], ys, ys),
            (
                [-kr / (2.0 * (1.0 - kb)), -kg / (2.0 * (1.0 - kb)), 0.5],
                cs,
                0.0,
            ),
            (
                [0.5, -kg / (2.0 * (1.0 - kr)), -kb / (2.0 * (1.0 - kr))],
                cs,
                0.0,
            ),
        ];
        let q = |v: f64| (v * 65536.0).round() as i32;
        let mut coef = [[0; 3]; 3];
        for (out, (k, scale, sum)) in coef.iter_mut().zip(rows) {
            let (r, b) = (q(k[0] * scale), q(k[2] * scale));
            *out = [r, q(sum) - r - b, b];
        }
        Self {
            coef,
            offset: [yoff, 128, 128],
        }
    }

    /// (Y', Cb, Cr) of an RGB colour.
    #[inline]
    pub fn convert(&self, rgb: [u8; 3]) -> [u8; 3] {
        let mut out = [0u8; 3];
        for (o, (c, off)) in out.iter_mut().zip(self.coef.iter().zip(self.offset)) {
            let v = c[0] * i32::from(rgb[0]) + c[1] * i32::from(rgb[1]) + c[2] * i32::from(rgb[2]);
            *o = ((v + 32768 + (off << 16)) >> 16).clamp(0, 255) as u8;
        }
        out
    }

    /// An approximate inverse (f64, rounded, clamped) for viewing and for tests: not
    /// part of any drawing rule.
    pub fn to_rgb(matrix: YuvMatrix, range: YuvRange, ycc: [u8; 3]) -> [u8; 3] {
        let (kr, kb) = matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (y, cb, cr) = (f64::from(ycc[0]), f64::from(ycc[1]), f64::from(ycc[2]));
        let (y, cb, cr) = match range {
            YuvRange::Full => (y, cb - 128.0, cr - 128.0),
            YuvRange::Limited => (
                (y - 16.0) * 255.0 / 219.0,
                (cb - 128.0) * 255.0 / 224.0,
                (cr - 128.0) * 255.0 / 224.0,
            ),
        };
        let r = y + 2.0 * (1.0 - kr) * cr;
        let b = y + 2.0 * (1.0 - kb) * cb;
        let g = (y - kr * r - kb * b) / kg;
        let c = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        [c(r), c(g), c(b)]
    }
}

/// Where one plane lies in a frame's buffer: byte offset of its first sample and row
/// pitch in bytes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Plane {
    pub offset: usize,
    pub pitch: usize,
}

/// Layout of one NV12 or I420 frame inside one buffer: size, planes (Y, then UV for
/// NV12 or U, V for I420; `None` = missing), matrix and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanarInfo {
    pub width: u32,
    pub height: u32,
    pub layout: PlanarLayout,
    pub planes: [Option<Plane>; 3],
    pub matrix: YuvMatrix,
    pub range: YuvRange,
}

impl PlanarInfo {
    /// Tightly packed planes one after the other (pitches = row bytes).
    pub fn tight(width: u32, height: u32, layout: PlanarLayout) -> Self {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y = Plane {
            offset: 0,
            pitch: w,
        };
        let planes = match layout {
            PlanarLayout::Nv12 => [
                Some(y),
                Some(Plane {
                    offset: w * h,
                    pitch: 2 * cw,
                }),
                None,
            ],
            PlanarLayout::I420 => [
                Some(y),
                Some(Plane {
                    offset: w * h,
                    pitch: cw,
                }),
                Some(Plane {
                    offset: w * h + cw * ch,
                    pitch: cw,
                }),
            ],
        };
        Self {
            width,
            height,
            layout,
            planes,
            matrix: YuvMatrix::default(),
            range: YuvRange::default(),
        }
    }

    /// The same frame with another matrix and range.
    pub fn with_colour(self, matrix: YuvMatrix, range: YuvRange) -> Self {
        Self {
            matrix,
            range,
            ..self
        }
    }

    /// Chroma plane size: ceil(w / 2) x ceil(h / 2) samples.
    pub fn chroma_size(&self) -> (u32, u32) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    /// Bytes of one row of plane `i` (without padding) and its number of rows.
    pub fn plane_extent(&self, i: usize) -> (usize, usize) {
        let (cw, ch) = self.chroma_size();
        match (i, self.layout) {
            (0, _) => (self.width as usize, self.height as usize),
            (1, PlanarLayout::Nv12) => (2 * cw as usize, ch as usize),
            _ => (cw as usize, ch as usize),
        }
    }

    /// Byte span [start, end) of plane `i`: its first sample to one past its last.
    pub fn plane_span(&self, i: usize) -> Option<(usize, usize)> {
        let p = self.planes.get(i).copied().flatten()?;
        let (row, rows) = self.plane_extent(i);
        // Saturating: an unvalidated layout (a bogus video meta, say) must not panic or
        // wrap before `validate` gets to refuse it.
        let last = p.pitch.saturating_mul(rows.saturating_sub(1));
        let end = if rows == 0 {
            p.offset
        } else {
            p.offset.saturating_add(last).saturating_add(row)
        };
        Some((p.offset, end))
    }

    /// Bytes the buffer must hold: the end of the furthest plane.
    pub fn min_len(&self) -> usize {
        (0..self.layout.planes())
            .filter_map(|i| self.plane_span(i))
            .map(|s| s.1)
            .max()
            .unwrap_or(0)
    }

    /// Checks size, planes (present, pitch >= row bytes, within limits, pairwise
    /// disjoint spans); `index` names the frame in the error.
    pub fn validate(&self, index: usize) -> Result<()> {
        let bad = |reason: String| Err(Error::InvalidFrame { index, reason });
        let name = self.layout.name();
        if self.width == 0 || self.height == 0 {
            return bad(format!("size {}x{} is empty", self.width, self.height));
        }
        if self.width > MAX_DIMENSION || self.height > MAX_DIMENSION {
            return bad(format!(
                "size {}x{} exceeds the maximum {MAX_DIMENSION}x{MAX_DIMENSION}",
                self.width, self.height
            ));
        }
        let n = self.layout.planes();
        for (i, p) in self.planes.iter().enumerate() {
            match (p, i < n) {
                (None, true) => return bad(format!("{name} plane {i} is missing")),
                (Some(_), false) => return bad(format!("{name} has {n} planes, not {}", i + 1)),
                (Some(p), true) => {
                    let (row, _) = self.plane_extent(i);
                    if p.pitch < row {
                        return bad(format!(
                            "{name} plane {i}: pitch {} < {row} bytes per row",
                            p.pitch
                        ));
                    }
                    if p.pitch > MAX_PITCH || p.offset > isize::MAX as usize / 4 {
                        return bad(format!(
                            "{name} plane {i}: pitch {} or offset {} out of range",
                            p.pitch, p.offset
                        ));
                    }
                }
                (None, false) => {}
            }
        }
        for i in 0..n {
            for j in i + 1..n {
                if let (Some(a), Some(b)) = (self.plane_span(i), self.plane_span(j))
                    && a.0 < b.1
                    && b.0 < a.1
                {
                    return bad(format!("{name} planes {i} and {j} overlap"));
                }
            }
        }
        Ok(())
    }

    /// Byte position of luma sample (x, y). Panics without a Y plane (call on a
    /// validated layout).
    pub fn luma_at(&self, x: usize, y: usize) -> usize {
        let p = self.planes[0].expect("a validated layout has a Y plane");
        p.offset + y * p.pitch + x
    }

    /// Byte positions of the Cb and Cr samples (cx, cy). Panics without the chroma
    /// planes (call on a validated layout).
    pub fn chroma_at(&self, cx: usize, cy: usize) -> (usize, usize) {
        let plane = |i: usize| self.planes[i].expect("a validated layout has its planes");
        match self.layout {
            PlanarLayout::Nv12 => {
                let p = plane(1);
                let at = p.offset + cy * p.pitch + 2 * cx;
                (at, at + 1)
            }
            PlanarLayout::I420 => {
                let (u, v) = (plane(1), plane(2));
                (u.offset + cy * u.pitch + cx, v.offset + cy * v.pitch + cx)
            }
        }
    }

    /// Writes a w x h RGBA picture (row-major, 4 bytes a pixel) into the planes of
    /// `out`: luma per pixel, each chroma sample from the rounded mean RGB of its
    /// block's pixels inside the frame, with this frame's matrix and range. Bytes
    /// outside the planes are left as they are. For test pictures and tools: not a
    /// drawing rule.
    pub fn write_rgba(&self, rgba: &[u8], out: &mut [u8]) {
        let (w, h) = (self.width as usize, self.height as usize);
        let conv = YuvConv::new(self.matrix, self.range);
        for y in 0..h {
            for x in 0..w {
                let p = &rgba[(y * w + x) * 4..][..3];
                out[self.luma_at(x, y)] = conv.convert([p[0], p[1], p[2]])[0];
            }
        }
        let (cw, ch) = self.chroma_size();
        for cy in 0..ch as usize {
            for cx in 0..cw as usize {
                let (mut sum, mut n) = ([0u32; 3], 0);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (x, y) = (2 * cx + dx, 2 * cy + dy);
                    if x < w && y < h {
                        n += 1;
                        for (c, s) in sum.iter_mut().enumerate() {
                            *s += u32::from(rgba[(y * w + x) * 4 + c]);
                        }
                    }
                }
                let c = conv.convert(sum.map(|s| ((s + n / 2) / n) as u8));
                let (u, v) = self.chroma_at(cx, cy);
                out[u] = c[1];
                out[v] = c[2];
            }
        }
    }

    /// The frame in `data` as a w x h RGBA picture for the eye (each pixel from its
    /// luma and its block's chroma through [`YuvConv::to_rgb`], alpha 255).
    pub fn to_rgba(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * 4);
        for y in 0..self.height as usize {
            for x in 0..self.width as usize {
                let (u, v) = self.chroma_at(x / 2, y / 2);
                let rgb = YuvConv::to_rgb(
                    self.matrix,
                    self.range,
                    [data[self.luma_at(x, y)], data[u], data[v]],
                );
                out.extend([rgb[0], rgb[1], rgb[2], 255]);
            }
        }
        out
    }

    /// The packed layout the draw model resolves ops against: same size, RGB byte
    /// order (so resolved colours are R, G, B, alpha).
    pub(crate) fn resolve_info(&self) -> FrameInfo {
        FrameInfo::packed(self.width, self.height, crate::PixelFormat::Rgba)
    }
}

/// An NV12 or I420 frame in host memory, borrowed mutably for the duration of a render:
/// one slice per plane, each from the plane's first sample to one past its last (the
/// planes may live in one buffer or, as Jetson's mapped surfaces do, apart).
#[derive(Debug)]
pub struct PlanarFrame<'a> {
    info: PlanarInfo,
    planes: [&'a mut [u8]; 3],
}

impl<'a> PlanarFrame<'a> {
    /// Wraps `data` (plane offsets from its start). Fails if the layout is invalid or
    /// the slice too short.
    pub fn new(data: &'a mut [u8], info: PlanarInfo) -> Result<Self> {
        info.validate(0)?;
        if data.len() < info.min_len() {
            return Err(Error::InvalidFrame {
                index: 0,
                reason: format!(
                    "buffer of {} bytes is shorter than the {} the planes need",
                    data.len(),
                    info.min_len()
                ),
            });
        }
        let planes = split_planes(data, &info);
        Ok(Self { info, planes })
    }

    /// Wraps host memory owned by someone else (a mapped GstBuffer), plane offsets from
    /// `ptr`.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `info.min_len()` bytes, and nothing
    /// else may access that memory for `'a`.
    pub unsafe fn from_raw(ptr: *mut u8, info: PlanarInfo) -> Result<Self> {
        if ptr.is_null() {
            return Err(Error::InvalidFrame {
                index: 0,
                reason: "null data pointer".into(),
            });
        }
        info.validate(0)?;
        // SAFETY: the caller guarantees ptr is valid for min_len bytes for 'a.
        let data = unsafe { std::slice::from_raw_parts_mut(ptr, info.min_len()) };
        let planes = split_planes(data, &info);
        Ok(Self { info, planes })
    }

    /// Wraps planes that lie apart (each plane's `offset` in `info` is ignored: plane
    /// `i` starts at `ptrs[i]`; the pointers of planes the layout lacks are ignored).
    /// Fails on a null pointer, an invalid layout or planes that share a byte.
    ///
    /// # Safety
    /// Each `ptrs[i]` of a plane of the layout must be valid for reads and writes of
    /// the plane's span (`pitch * (rows - 1) + row bytes`, [`PlanarInfo::plane_extent`]),
    /// and nothing else may access that memory for `'a`.
    pub unsafe fn from_planes(ptrs: [*mut u8; 3], info: PlanarInfo) -> Result<Self> {
        let mut rebased = info;
        for p in rebased.planes.iter_mut().flatten() {
            p.offset = 0;
        }
        // Validated with every plane at offset 0: sizes, pitches and limits; the spans
        // "overlap" by construction there, so that check is made on the real addresses.
        let mut check = rebased;
        let mut at = 0usize;
        for (i, p) in check.planes.iter_mut().enumerate() {
            if let Some(p) = p {
                p.offset = at;
                at = at.saturating_add(rebased.plane_span(i).map_or(0, |s| s.1));
            }
        }
        check.validate(0)?;
        let n = info.layout.planes();
        let mut spans = [(0u64, 0u64); 3];
        for i in 0..n {
            if ptrs[i].is_null() {
                return Err(Error::InvalidFrame {
                    index: 0,
                    reason: format!("{} plane {i}: null data pointer", info.layout.name()),
                });
            }
            let len = rebased.plane_span(i).map_or(0, |s| s.1) as u64;
            let start = ptrs[i] as u64;
            spans[i] = (start, start.saturating_add(len));
        }
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = (spans[i], spans[j]);
                if a.0 < b.1 && b.0 < a.1 {
                    return Err(Error::InvalidFrame {
                        index: 0,
                        reason: format!("{} planes {i} and {j} overlap", info.layout.name()),
                    });
                }
            }
        }
        let mut planes: [&'a mut [u8]; 3] = [&mut [], &mut [], &mut []];
        for (i, plane) in planes.iter_mut().enumerate().take(n) {
            let len = (spans[i].1 - spans[i].0) as usize;
            // SAFETY: the caller guarantees ptrs[i] is valid for the plane's span for
            // 'a; the spans were checked to be pairwise disjoint just above.
            *plane = unsafe { std::slice::from_raw_parts_mut(ptrs[i], len) };
        }
        Ok(Self {
            info: rebased,
            planes,
        })
    }

    /// The layout. For a frame made by [`PlanarFrame::from_planes`] every plane's
    /// offset is 0 (each counts from its own slice).
    pub fn info(&self) -> PlanarInfo {
        self.info
    }

    /// Plane `i`'s bytes, from its first sample to one past its last (empty for a
    /// plane the layout lacks).
    pub fn plane(&self, i: usize) -> &[u8] {
        self.planes.get(i).map_or(&[], |p| &p[..])
    }

    /// All three planes, mutably, as [`PlanarFrame::plane`] gives them.
    pub fn planes_mut(&mut self) -> &mut [&'a mut [u8]; 3] {
        &mut self.planes
    }
}

/// Cuts a validated frame's buffer into its planes, each from its first sample to one
/// past its last (validation proved the spans disjoint and within `data`).
fn split_planes<'a>(data: &'a mut [u8], info: &PlanarInfo) -> [&'a mut [u8]; 3] {
    let mut order = [(usize::MAX, usize::MAX, 0usize); 3];
    for (i, o) in order.iter_mut().enumerate().take(info.layout.planes()) {
        if let Some((s, e)) = info.plane_span(i) {
            *o = (s, e, i);
        }
    }
    order.sort_unstable();
    let mut planes: [&'a mut [u8]; 3] = [&mut [], &mut [], &mut []];
    let mut rest = data;
    let mut base = 0;
    for (start, end, i) in order.into_iter().filter(|o| o.0 != usize::MAX) {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - base);
        let (plane, tail) = tail.split_at_mut(end - start);
        planes[i] = plane;
        rest = tail;
        base = end;
    }
    planes
}

/// An NV12 or I420 frame in CUDA-addressable memory: the base address its plane offsets
/// count from, its layout, and the device it belongs to. Drawn by
/// [`CudaRenderer::render_planar`](crate::cuda::CudaRenderer::render_planar).
///
/// The fields are private: safe code cannot forge a frame over arbitrary addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevicePlanarFrame {
    ptr: u64,
    info: PlanarInfo,
    gpu_id: u32,
}

impl DevicePlanarFrame {
    /// Describes a frame whose planes lie at `ptr + offset` (see [`Plane`]).
    ///
    /// # Safety
    /// `ptr` must address at least `info.min_len()` bytes of memory that kernels on
    /// device `gpu_id` may read and write, for as long as the frame is used.
    pub unsafe fn new(ptr: u64, info: PlanarInfo, gpu_id: u32) -> Self {
        Self { ptr, info, gpu_id }
    }

    /// Device address the plane offsets count from.
    pub fn ptr(&self) -> u64 {
        self.ptr
    }

    pub fn info(&self) -> PlanarInfo {
        self.info
    }

    /// CUDA device ordinal the memory belongs to.
    pub fn gpu_id(&self) -> u32 {
        self.gpu_id
    }

    /// Checks the layout (as [`PlanarInfo::validate`]) and the pointer.
    pub fn validate(&self, index: usize) -> Result<()> {
        self.info.validate(index)?;
        if self.ptr == 0 {
            return Err(Error::InvalidFrame {
                index,
                reason: "null device pointer".into(),
            });
        }
        if self.ptr.checked_add(self.info.min_len() as u64).is_none() {
            return Err(Error::InvalidFrame {
                index,
                reason: "planes extend past the end of the address space".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_endpoints() {
        for m in YuvMatrix::ALL {
            let full = YuvConv::new(m, YuvRange::Full);
            let lim = YuvConv::new(m, YuvRange::Limited);
            for v in 0..=255u8 {
                assert_eq!(full.convert([v, v, v]), [v, 128, 128], "{m:?}");
                let y = lim.convert([v, v, v]);
                assert_eq!(&y[1..], &[128, 128]);
            }
            assert_eq!(lim.convert([0, 0, 0])[0], 16);
            assert_eq!(lim.convert([255, 255, 255])[0], 235);
            // Blue and red reach the chroma extremes.
            assert_eq!(lim.convert([0, 0, 255])[1], 240, "{m:?}");
            assert_eq!(lim.convert([255, 0, 0])[2], 240, "{m:?}");
            assert_eq!(full.convert([0, 0, 255])[1], 255);
        }
        // BT.601 limited red: Y' = 16 + 219 * 0.299 = 81.48 -> 81, Cb = 90.
        assert_eq!(
            YuvConv::new(YuvMatrix::Bt601, YuvRange::Limited).convert([255, 0, 0]),
            [81, 90, 240]
        );
        // BT.709 limited green: the usual (173, 42, 26).
        assert_eq!(
            YuvConv::new(YuvMatrix::Bt709, YuvRange::Limited).convert([0, 255, 0]),
            [173, 42, 26]
        );
    }

    #[test]
    fn inverse_is_close() {
        for m in YuvMatrix::ALL {
            for r in YuvRange::ALL {
                let conv = YuvConv::new(m, r);
                for rgb in [[0, 0, 0], [255, 0, 0], [10, 200, 30], [128, 64, 250]] {
                    let back = YuvConv::to_rgb(m, r, conv.convert(rgb));
                    for (a, b) in rgb.iter().zip(back) {
                        assert!(
                            (i32::from(*a) - i32::from(b)).abs() <= 3,
                            "{m:?} {r:?} {rgb:?} {back:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn layouts_validate() {
        for l in [PlanarLayout::Nv12, PlanarLayout::I420] {
            let info = PlanarInfo::tight(5, 3, l);
            assert!(info.validate(0).is_ok());
            assert_eq!(info.chroma_size(), (3, 2));
            assert_eq!(info.min_len(), 15 + 12);
            let mut missing = info;
            missing.planes[1] = None;
            assert!(
                missing
                    .validate(0)
                    .unwrap_err()
                    .to_string()
                    .contains("missing")
            );
            let mut overlap = info;
            overlap.planes[1] = Some(Plane {
                offset: 14,
                pitch: 6,
            });
            assert!(
                overlap
                    .validate(0)
                    .unwrap_err()
                    .to_string()
                    .contains("overlap")
            );
            let mut narrow = info;
            if let Some(p) = narrow.planes[1].as_mut() {
                p.pitch -= 1;
            }
            assert!(
                narrow
                    .validate(0)
                    .unwrap_err()
                    .to_string()
                    .contains("pitch")
            );
        }
        let mut extra = PlanarInfo::tight(4, 4, PlanarLayout::Nv12);
        extra.planes[2] = Some(Plane {
            offset: 100,
            pitch: 2,
        });
        assert!(extra.validate(0).is_err());
        let mut buf = vec![0u8; 26];
        assert!(PlanarFrame::new(&mut buf, PlanarInfo::tight(5, 3, PlanarLayout::Nv12)).is_err());
    }

    /// Planes cut from one buffer start at their first sample, whatever their order in
    /// it (V before U here); planes given apart are refused when null, too narrow or
    /// sharing a byte.
    #[test]
    fn frames_hold_each_plane_from_its_first_sample() {
        let mut info = PlanarInfo::tight(5, 3, PlanarLayout::I420);
        info.planes = [
            Some(Plane {
                offset: 20,
                pitch: 6,
            }),
            Some(Plane {
                offset: 10,
                pitch: 4,
            }),
            Some(Plane {
                offset: 1,
                pitch: 3,
            }),
        ];
        let mut buf: Vec<u8> = (0..64).collect();
        let f = PlanarFrame::new(&mut buf, info).unwrap();
        assert_eq!(f.plane(0), &(20..20 + 6 * 2 + 5).collect::<Vec<u8>>()[..]);
        assert_eq!(f.plane(1), &(10..10 + 4 + 3).collect::<Vec<u8>>()[..]);
        assert_eq!(f.plane(2), &(1..1 + 3 + 3).collect::<Vec<u8>>()[..]);
        assert!(f.plane(3).is_empty());

        let nv12 = PlanarInfo::tight(4, 2, PlanarLayout::Nv12);
        let (mut y, mut uv) = (vec![0u8; 8], vec![0u8; 4]);
        let ptrs = [y.as_mut_ptr(), uv.as_mut_ptr(), std::ptr::null_mut()];
        {
            // SAFETY: y and uv hold the planes' spans and outlive the frame.
            let f = unsafe { PlanarFrame::from_planes(ptrs, nv12) }.unwrap();
            assert_eq!((f.plane(0).len(), f.plane(1).len()), (8, 4));
            assert_eq!(f.info().planes[1].map(|p| p.offset), Some(0));
        }
        let err = |ptrs, info| unsafe { PlanarFrame::from_planes(ptrs, info) }.unwrap_err();
        let null = [y.as_mut_ptr(), std::ptr::null_mut(), std::ptr::null_mut()];
        assert!(err(null, nv12).to_string().contains("null"));
        let shared = [
            y.as_mut_ptr(),
            y.as_mut_ptr().wrapping_add(6),
            std::ptr::null_mut(),
        ];
        assert!(err(shared, nv12).to_string().contains("overlap"));
        let mut narrow = nv12;
        narrow.planes[1] = Some(Plane {
            offset: 0,
            pitch: 3,
        });
        assert!(err(ptrs, narrow).to_string().contains("pitch"));
    }
}
