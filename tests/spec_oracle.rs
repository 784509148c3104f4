//! The CPU renderer against an independent reading of `docs/semantics.md`.
//!
//! The oracle below is written from the spec alone (not from `src/cpu`, `resolve` or the
//! kernels): slow, per pixel, in i64/f64, one function per rule of the spec. Random
//! scenes (proptest) are drawn by both and the whole buffers, row padding included,
//! must be equal byte for byte.

use cudadraw::draw::{BlurOp, BoxOp, OverlayOp};
use cudadraw::render::Renderer;
use cudadraw::{
    Align, BlurKind, Border, Color, DrawList, Filter, FrameInfo, HostFrame, Image, ImageId, Op,
    PixelFormat, Rect,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------------------
// Scene description (what the generators produce)
// ---------------------------------------------------------------------------------------

/// A frame: size, row padding, format and the seed of its initial bytes (padding included).
#[derive(Debug, Clone, Copy)]
struct FrameSpec {
    width: u32,
    height: u32,
    pad: usize,
    format: PixelFormat,
    seed: u64,
}

impl FrameSpec {
    fn pitch(&self) -> usize {
        self.width as usize * 4 + self.pad
    }

    fn info(&self) -> FrameInfo {
        FrameInfo::new(self.width, self.height, self.pitch(), self.format)
    }

    fn bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.pitch() * self.height as usize];
        ChaCha8Rng::seed_from_u64(self.seed).fill_bytes(&mut v);
        v
    }
}

/// An overlay image: size and the seed of its RGBA bytes.
#[derive(Debug, Clone, Copy)]
struct ImageSpec {
    width: u32,
    height: u32,
    seed: u64,
}

impl ImageSpec {
    fn bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.width as usize * self.height as usize * 4];
        ChaCha8Rng::seed_from_u64(self.seed).fill_bytes(&mut v);
        v
    }
}

// ---------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------

/// "Edges: round(...) (sum in f64, rounding half away from zero)". `f64::round` rounds
/// half away from zero.
fn round_away(v: f64) -> i64 {
    v.round() as i64
}

/// Half-open integer rectangle [x0, x1) x [y0, y1), i64 so that growing never overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reg {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
}

impl Reg {
    fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }

    /// Every side moved outwards by `d` (inwards for negative `d`).
    fn grow(&self, d: i64) -> Reg {
        Reg {
            x0: self.x0 - d,
            y0: self.y0 - d,
            x1: self.x1 + d,
            y1: self.y1 + d,
        }
    }

    fn contains(&self, x: i64, y: i64) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }

    fn clip(&self, w: i64, h: i64) -> Reg {
        Reg {
            x0: self.x0.max(0),
            y0: self.y0.max(0),
            x1: self.x1.min(w),
            y1: self.y1.min(h),
        }
    }
}

/// x0 = round(left), x1 = round(left + width), in f64; same for y.
fn rect_reg(r: Rect) -> Reg {
    let (l, t, w, h) = (
        f64::from(r.left),
        f64::from(r.top),
        f64::from(r.width),
        f64::from(r.height),
    );
    Reg {
        x0: round_away(l),
        y0: round_away(t),
        x1: round_away(l + w),
        y1: round_away(t + h),
    }
}

/// The blur region before clipping: `expand` added to all sides before rounding, in f64.
fn blur_reg(r: Rect, expand: f32) -> Reg {
    let (l, t, w, h, e) = (
        f64::from(r.left),
        f64::from(r.top),
        f64::from(r.width),
        f64::from(r.height),
        f64::from(expand),
    );
    Reg {
        x0: round_away(l - e),
        y0: round_away(t - e),
        x1: round_away(l + w + e),
        y1: round_away(t + h + e),
    }
}

/// out = (c * a + dst * (255 - a) + 127) / 255.
fn blend(c: u8, dst: u8, a: u8) -> u8 {
    let (c, d, a) = (u32::from(c), u32::from(dst), u32::from(a));
    ((c * a + d * (255 - a) + 127) / 255) as u8
}

fn has_alpha(f: PixelFormat) -> bool {
    matches!(f, PixelFormat::Rgba | PixelFormat::Bgra)
}

/// Byte index in memory of API channel r (0), g (1), b (2).
fn byte_of(f: PixelFormat, ch: usize) -> usize {
    match f {
        PixelFormat::Rgba | PixelFormat::Rgbx => [0, 1, 2][ch],
        PixelFormat::Bgra | PixelFormat::Bgrx => [2, 1, 0][ch],
        other => unreachable!("not handled here: {other:?}"),
    }
}

/// Bytes of a pixel a backend may write: byte 3 of RGBx/BGRx never.
fn written(f: PixelFormat) -> usize {
    if has_alpha(f) { 4 } else { 3 }
}

struct OImage {
    w: i64,
    h: i64,
    data: Vec<u8>,
}

impl OImage {
    fn px(&self, x: i64, y: i64) -> [u8; 4] {
        assert!(x >= 0 && x < self.w && y >= 0 && y < self.h, "oracle bug");
        let o = ((y * self.w + x) * 4) as usize;
        [
            self.data[o],
            self.data[o + 1],
            self.data[o + 2],
            self.data[o + 3],
        ]
    }
}

struct OFrame {
    w: i64,
    h: i64,
    pitch: usize,
    format: PixelFormat,
    data: Vec<u8>,
    /// The gaussian table builder: [`gauss_q16`], or a wrong variant in a test that
    /// checks a scene tells them apart.
    gauss_table: fn(f32) -> Vec<i64>,
}

impl OFrame {
    fn off(&self, x: i64, y: i64) -> usize {
        assert!(x >= 0 && x < self.w && y >= 0 && y < self.h, "oracle bug");
        y as usize * self.pitch + x as usize * 4
    }

    /// Blends straight RGBA `rgb`/`a` over pixel (x, y): colour bytes in frame order,
    /// the alpha byte of RGBA/BGRA with c = 255, the x byte untouched.
    fn blend_px(&mut self, x: i64, y: i64, rgb: [u8; 3], a: u8) {
        let o = self.off(x, y);
        for (ch, &c) in rgb.iter().enumerate() {
            let b = o + byte_of(self.format, ch);
            self.data[b] = blend(c, self.data[b], a);
        }
        if has_alpha(self.format) {
            self.data[o + 3] = blend(255, self.data[o + 3], a);
        }
    }

    /// The 4 bytes of pixel (x, y) as they are in memory.
    fn get(&self, x: i64, y: i64) -> [u8; 4] {
        let o = self.off(x, y);
        [
            self.data[o],
            self.data[o + 1],
            self.data[o + 2],
            self.data[o + 3],
        ]
    }

    /// Writes computed memory-order bytes, except the x byte.
    fn put(&mut self, x: i64, y: i64, v: [u8; 4]) {
        let o = self.off(x, y);
        let n = written(self.format);
        self.data[o..o + n].copy_from_slice(&v[..n]);
    }

    fn apply(&mut self, op: &Op, images: &[OImage]) {
        match op {
            Op::Box(b) => self.draw_box(b),
            Op::Blur(b) => self.draw_blur(b),
            Op::Overlay(o) => self.draw_overlay(o, images),
            other => unreachable!("not handled here: {other:?}"),
        }
    }

    fn draw_box(&mut self, b: &BoxOp) {
        let r = rect_reg(b.rect);
        if r.is_empty() {
            return;
        }
        let (outer, inner) = match b.border {
            None => (r, r),
            Some(border) => {
                let t = i64::from(border.width);
                match border.align {
                    Align::Inside => (r, r.grow(-t)),
                    Align::Outside => (r.grow(t), r),
                    Align::Center => {
                        let out = i64::from((border.width - 1) / 2); // floor((t-1)/2)
                        let inn = i64::from((border.width - 1).div_ceil(2)) + 1; // ceil((t-1)/2)+1
                        assert!(out + inn == t, "oracle bug");
                        (r.grow(out), r.grow(-inn))
                    }
                    other => unreachable!("not handled here: {other:?}"),
                }
            }
        };
        let c = outer.clip(self.w, self.h);
        for y in c.y0..c.y1 {
            for x in c.x0..c.x1 {
                let color = if inner.contains(x, y) {
                    b.fill
                } else {
                    b.border.map(|bd| bd.color)
                };
                if let Some(col) = color {
                    self.blend_px(x, y, [col.r, col.g, col.b], col.a);
                }
            }
        }
    }

    fn draw_blur(&mut self, b: &BlurOp) {
        let reg = blur_reg(b.rect, b.expand).clip(self.w, self.h);
        if reg.is_empty() {
            return;
        }
        // The frame as it was just before this op; windows clamped to the region.
        let src: Vec<Vec<[u8; 4]>> = (reg.y0..reg.y1)
            .map(|y| (reg.x0..reg.x1).map(|x| self.get(x, y)).collect())
            .collect();
        let rw = reg.x1 - reg.x0;
        let rh = reg.y1 - reg.y0;
        let at = |v: &Vec<Vec<[u8; 4]>>, x: i64, y: i64| -> [u8; 4] {
            v[y.clamp(0, rh - 1) as usize][x.clamp(0, rw - 1) as usize]
        };
        // out[ly][lx]: memory-order bytes in region-local coordinates.
        let mut out = vec![vec![[0u8; 4]; rw as usize]; rh as usize];
        match b.kind {
            BlurKind::Box { radius } => {
                let r = i64::from(radius);
                let n = ((2 * r + 1) * (2 * r + 1)) as u64;
                for ly in 0..rh {
                    for lx in 0..rw {
                        out[ly as usize][lx as usize] = std::array::from_fn(|c| {
                            let mut sum = 0u64;
                            for dy in -r..=r {
                                for dx in -r..=r {
                                    sum += u64::from(at(&src, lx + dx, ly + dy)[c]);
                                }
                            }
                            ((sum + n / 2) / n) as u8
                        });
                    }
                }
            }
            BlurKind::Gaussian { sigma } => {
                let q = (self.gauss_table)(sigma);
                let r = (q.len() as i64 - 1) / 2;
                let mut hp = vec![vec![[0u8; 4]; rw as usize]; rh as usize];
                // Horizontal pass, then the vertical pass on its 8-bit output.
                for ly in 0..rh {
                    for lx in 0..rw {
                        hp[ly as usize][lx as usize] = std::array::from_fn(|c| {
                            let mut s = 0i64;
                            for k in -r..=r {
                                s += q[(k + r) as usize] * i64::from(at(&src, lx + k, ly)[c]);
                            }
                            let v = (s + 32768) >> 16;
                            assert!((0..=255).contains(&v), "oracle bug");
                            v as u8
                        });
                    }
                }
                for ly in 0..rh {
                    for lx in 0..rw {
                        out[ly as usize][lx as usize] = std::array::from_fn(|c| {
                            let mut s = 0i64;
                            for k in -r..=r {
                                s += q[(k + r) as usize] * i64::from(at(&hp, lx, ly + k)[c]);
                            }
                            let v = (s + 32768) >> 16;
                            assert!((0..=255).contains(&v), "oracle bug");
                            v as u8
                        });
                    }
                }
            }
            BlurKind::Pixelate { block } => {
                let bs = i64::from(block);
                let mut cy = 0;
                while cy < rh {
                    let cy1 = (cy + bs).min(rh);
                    let mut cx = 0;
                    while cx < rw {
                        let cx1 = (cx + bs).min(rw);
                        let n = ((cy1 - cy) * (cx1 - cx)) as u64;
                        let mut mean = [0u8; 4];
                        for (c, m) in mean.iter_mut().enumerate() {
                            let mut sum = 0u64;
                            for y in cy..cy1 {
                                for x in cx..cx1 {
                                    sum += u64::from(src[y as usize][x as usize][c]);
                                }
                            }
                            *m = ((sum + n / 2) / n) as u8;
                        }
                        for row in out.iter_mut().take(cy1 as usize).skip(cy as usize) {
                            for px in row.iter_mut().take(cx1 as usize).skip(cx as usize) {
                                *px = mean;
                            }
                        }
                        cx = cx1;
                    }
                    cy = cy1;
                }
            }
            BlurKind::Solid { color } => {
                // The colour with alpha 255, i.e. blend with a = 255: replace.
                let mut v = [0u8; 4];
                for (ch, c) in [color.r, color.g, color.b].into_iter().enumerate() {
                    v[byte_of(self.format, ch)] = c;
                }
                v[3] = 255;
                for row in out.iter_mut() {
                    for px in row.iter_mut() {
                        *px = v;
                    }
                }
            }
            other => unreachable!("not handled here: {other:?}"),
        }
        for ly in 0..rh {
            for lx in 0..rw {
                self.put(reg.x0 + lx, reg.y0 + ly, out[ly as usize][lx as usize]);
            }
        }
    }

    fn draw_overlay(&mut self, o: &OverlayOp, images: &[OImage]) {
        let img = &images[o.image.0 as usize];
        let d = rect_reg(o.rect);
        let dw = d.x1 - d.x0;
        let dh = d.y1 - d.y0;
        if dw <= 0 || dh <= 0 {
            return;
        }
        let m = (f64::from(o.opacity) * 255.0).round() as u32; // exact product in f64
        let c = d.clip(self.w, self.h);
        for y in c.y0..c.y1 {
            for x in c.x0..c.x1 {
                let u = x - d.x0;
                let v = y - d.y0;
                let s = match o.filter {
                    Filter::Nearest => {
                        let sx = (((2 * u + 1) * img.w) / (2 * dw)).min(img.w - 1);
                        let sy = (((2 * v + 1) * img.h) / (2 * dh)).min(img.h - 1);
                        img.px(sx, sy)
                    }
                    Filter::Bilinear => {
                        let (sx0, sx1, fx) = bilinear_axis(u, img.w, dw);
                        let (sy0, sy1, fy) = bilinear_axis(v, img.h, dh);
                        let p00 = img.px(sx0, sy0);
                        let p01 = img.px(sx1, sy0);
                        let p10 = img.px(sx0, sy1);
                        let p11 = img.px(sx1, sy1);
                        let mut s = [0u8; 4];
                        for ch in 0..4 {
                            let top = i64::from(p00[ch]) * (256 - fx) + i64::from(p01[ch]) * fx;
                            let bot = i64::from(p10[ch]) * (256 - fx) + i64::from(p11[ch]) * fx;
                            let val = (top * (256 - fy) + bot * fy + 32768) >> 16;
                            assert!((0..=255).contains(&val), "oracle bug");
                            s[ch] = val as u8;
                        }
                        s
                    }
                    other => unreachable!("not handled here: {other:?}"),
                };
                let a = ((u32::from(s[3]) * m + 127) / 255) as u8;
                self.blend_px(x, y, [s[0], s[1], s[2]], a);
            }
        }
    }
}

/// s = ((2u + 1) * n * 256) / (2 d) - 128, clamped to [0, (n - 1) * 256];
/// (s >> 8, min(s0 + 1, n - 1), s & 255).
fn bilinear_axis(u: i64, n: i64, d: i64) -> (i64, i64, i64) {
    let s = (((2 * u + 1) * n * 256) / (2 * d) - 128).clamp(0, (n - 1) * 256);
    let s0 = s >> 8;
    (s0, (s0 + 1).min(n - 1), s & 255)
}

/// The Q16 gaussian table: r = ceil(3 s), w_k = exp(-k^2 / (2 s^2)) normalised in f64,
/// each rounded to the nearest 1/65536, the centre absorbing the difference.
fn gauss_q16(sigma: f32) -> Vec<i64> {
    // 3 * s is exact in f64 (not in f32: f32(2/3) * 3 rounds to 2.0 in f32, but the
    // exact product is 2.0000000596..., whose ceil is 3).
    gauss_q16_radius(sigma, (3.0 * f64::from(sigma)).ceil() as i64)
}

fn gauss_q16_radius(sigma: f32, r: i64) -> Vec<i64> {
    let s = f64::from(sigma);
    let w: Vec<f64> = (-r..=r)
        .map(|k| (-((k * k) as f64) / (2.0 * s * s)).exp())
        .collect();
    let total: f64 = w.iter().sum();
    let mut q: Vec<i64> = w
        .iter()
        .map(|v| (v / total * 65536.0).round() as i64)
        .collect();
    let others: i64 = q
        .iter()
        .enumerate()
        .filter(|&(i, _)| i as i64 != r)
        .map(|(_, v)| v)
        .sum();
    q[r as usize] = 65536 - others;
    assert_eq!(q.iter().sum::<i64>(), 65536);
    q
}

// ---------------------------------------------------------------------------------------
// Running both and comparing
// ---------------------------------------------------------------------------------------

fn oracle(images: &[ImageSpec], frames: &[FrameSpec], lists: &[Vec<Op>]) -> Vec<Vec<u8>> {
    oracle_with(images, frames, lists, gauss_q16)
}

fn oracle_with(
    images: &[ImageSpec],
    frames: &[FrameSpec],
    lists: &[Vec<Op>],
    gauss_table: fn(f32) -> Vec<i64>,
) -> Vec<Vec<u8>> {
    let imgs: Vec<OImage> = images
        .iter()
        .map(|s| OImage {
            w: i64::from(s.width),
            h: i64::from(s.height),
            data: s.bytes(),
        })
        .collect();
    frames
        .iter()
        .zip(lists)
        .map(|(f, ops)| {
            let mut of = OFrame {
                w: i64::from(f.width),
                h: i64::from(f.height),
                pitch: f.pitch(),
                format: f.format,
                data: f.bytes(),
                gauss_table,
            };
            for op in ops {
                of.apply(op, &imgs);
            }
            of.data
        })
        .collect()
}

fn renderer(
    images: &[ImageSpec],
    frames: &[FrameSpec],
    lists: &[Vec<Op>],
) -> Result<Vec<Vec<u8>>, String> {
    let mut r = Renderer::new();
    for (i, s) in images.iter().enumerate() {
        let img = Image::new(s.width, s.height, s.bytes()).map_err(|e| e.to_string())?;
        let id = r.add_image(img);
        assert_eq!(id, ImageId(i as u32), "image handles are assigned in order");
    }
    let mut bufs: Vec<Vec<u8>> = frames.iter().map(FrameSpec::bytes).collect();
    let dls: Vec<DrawList> = lists.iter().map(|l| l.iter().cloned().collect()).collect();
    {
        let mut hfs: Vec<HostFrame<'_>> = bufs
            .iter_mut()
            .zip(frames)
            .map(|(b, f)| HostFrame::new(b, f.info()).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        r.render_host(&mut hfs, &dls)
            .map_err(|e| format!("render_host failed on a valid scene: {e}"))?;
    }
    Ok(bufs)
}

/// Renders with both and compares whole buffers; the error names frame, pixels, bytes
/// and the op list.
fn check(images: &[ImageSpec], frames: &[FrameSpec], lists: &[Vec<Op>]) -> Result<(), String> {
    let scene = || format!("images: {images:?}\nframes: {frames:?}\nop lists: {lists:?}");
    let got = renderer(images, frames, lists).map_err(|e| format!("{e}\n{}", scene()))?;
    let exp = oracle(images, frames, lists);
    for (i, ((f, e), g)) in frames.iter().zip(&exp).zip(&got).enumerate() {
        if e == g {
            continue;
        }
        let pitch = f.pitch();
        let row_bytes = f.width as usize * 4;
        let mut lines = Vec::new();
        let mut bad_px = 0usize;
        let mut last = None;
        for off in 0..e.len() {
            if e[off] == g[off] {
                continue;
            }
            let (y, xb) = (off / pitch, off % pitch);
            if xb >= row_bytes {
                bad_px += 1;
                if lines.len() < 8 {
                    lines.push(format!(
                        "  row {y} padding byte {}: expected {} got {}",
                        xb - row_bytes,
                        e[off],
                        g[off]
                    ));
                }
                continue;
            }
            let x = xb / 4;
            if last == Some((x, y)) {
                continue;
            }
            last = Some((x, y));
            bad_px += 1;
            if lines.len() < 8 {
                let p = y * pitch + x * 4;
                lines.push(format!(
                    "  pixel (x={x}, y={y}): expected {:?} got {:?}",
                    &e[p..p + 4],
                    &g[p..p + 4]
                ));
            }
        }
        return Err(format!(
            "frame {i} ({}x{} {} pitch {}): {bad_px} pixels/padding bytes differ \
             (bytes in memory order)\n{}\nop list of frame {i}: {:?}\n{}",
            f.width,
            f.height,
            f.format.name(),
            pitch,
            lines.join("\n"),
            lists[i],
            scene()
        ));
    }
    Ok(())
}

fn check_or_panic(images: &[ImageSpec], frames: &[FrameSpec], lists: &[Vec<Op>]) {
    if let Err(m) = check(images, frames, lists) {
        panic!("renderer and spec oracle disagree:\n{m}");
    }
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// `v` moved by `d` ulps (the f32 neighbours of exact values).
fn nudge(v: f32, d: i32) -> f32 {
    f32::from_bits((v.to_bits() as i32 + d) as u32)
}

fn coord() -> BoxedStrategy<f32> {
    prop_oneof![
        4 => (-12i32..=52).prop_map(|v| v as f32),
        3 => (-24i32..=104).prop_map(|v| v as f32 * 0.5),
        3 => -12.0f32..52.0,
        2 => (-13i32..=52, -2i32..=2).prop_map(|(k, d)| nudge(k as f32 + 0.5, d)),
        1 => prop_oneof![Just(-1.0e6f32), Just(1.0e6f32), -1.0e6f32..=1.0e6f32],
    ]
    .boxed()
}

fn size() -> BoxedStrategy<f32> {
    prop_oneof![
        4 => (-4i32..=45).prop_map(|v| v as f32),
        3 => (-8i32..=90).prop_map(|v| v as f32 * 0.5),
        3 => -4.0f32..45.0,
        2 => (-4i32..=45, -2i32..=2).prop_map(|(k, d)| nudge(k as f32 + 0.5, d)),
        1 => Just(0.0f32),
        1 => prop_oneof![Just(1.0e6f32), Just(-1.0e6f32), -1.0e6f32..=1.0e6f32],
    ]
    .boxed()
}

fn expand() -> BoxedStrategy<f32> {
    prop_oneof![
        3 => Just(0.0f32),
        3 => (0i32..=4).prop_map(|v| v as f32),
        3 => (0i32..=8).prop_map(|v| v as f32 * 0.5),
        2 => 0.0f32..=4.0,
        1 => (0i32..=3, -2i32..=2).prop_map(|(k, d)| nudge(k as f32 + 0.5, d)),
        1 => 4.0f32..=4096.0,
    ]
    .boxed()
}

fn rect() -> impl Strategy<Value = Rect> {
    (coord(), coord(), size(), size()).prop_map(|(l, t, w, h)| Rect::new(l, t, w, h))
}

fn color() -> impl Strategy<Value = Color> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![Just(0u8), Just(255u8), any::<u8>(), any::<u8>()],
    )
        .prop_map(|(r, g, b, a)| Color::rgba(r, g, b, a))
}

fn border() -> impl Strategy<Value = Border> {
    (
        prop_oneof![8 => 1u32..=20, 1 => 21u32..=1024],
        color(),
        prop_oneof![
            Just(Align::Inside),
            Just(Align::Center),
            Just(Align::Outside)
        ],
    )
        .prop_map(|(w, c, a)| Border::new(w, c).align(a))
}

fn sigma() -> impl Strategy<Value = f32> {
    prop_oneof![
        5 => 0.1f32..=3.0,
        // Where r = ceil(3 s) is decided by the last bit of s.
        1 => (1u32..=9, -2i32..=2).prop_map(|(k, d)| nudge(k as f32 / 3.0, d)),
        1 => Just(0.1f32),
        1 => Just(3.0f32),
    ]
}

fn opacity() -> impl Strategy<Value = f32> {
    prop_oneof![
        1 => Just(0.0f32),
        2 => Just(1.0f32),
        4 => 0.0f32..=1.0,
        // Where round(opacity * 255) is a near tie.
        2 => (0u32..255, -2i32..=2)
            .prop_map(|(k, d)| nudge(((f64::from(k) + 0.5) / 255.0) as f32, d)),
    ]
}

fn blur_kind() -> impl Strategy<Value = BlurKind> {
    prop_oneof![
        (1u32..=6).prop_map(|radius| BlurKind::Box { radius }),
        sigma().prop_map(|sigma| BlurKind::Gaussian { sigma }),
        (1u32..=9).prop_map(|block| BlurKind::Pixelate { block }),
        color().prop_map(|color| BlurKind::Solid { color }),
    ]
}

const N_IMAGES: u32 = 3;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            rect(),
            proptest::option::of(border()),
            proptest::option::of(color())
        )
            .prop_map(|(rect, border, fill)| Op::Box(BoxOp { rect, border, fill })),
        (rect(), blur_kind(), expand()).prop_map(|(rect, kind, expand)| Op::Blur(BlurOp {
            rect,
            kind,
            expand
        })),
        (
            0..N_IMAGES,
            rect(),
            opacity(),
            prop_oneof![Just(Filter::Nearest), Just(Filter::Bilinear)]
        )
            .prop_map(|(i, rect, opacity, filter)| Op::Overlay(OverlayOp {
                image: ImageId(i),
                rect,
                opacity,
                filter
            })),
    ]
}

fn format() -> impl Strategy<Value = PixelFormat> {
    proptest::sample::select(PixelFormat::ALL.to_vec())
}

fn frame_spec() -> impl Strategy<Value = FrameSpec> {
    (1u32..=40, 1u32..=40, 0usize..=12, format(), any::<u64>()).prop_map(
        |(width, height, pad, format, seed)| FrameSpec {
            width,
            height,
            pad,
            format,
            seed,
        },
    )
}

fn images() -> impl Strategy<Value = Vec<ImageSpec>> {
    proptest::collection::vec(
        (1u32..=12, 1u32..=12, any::<u64>()).prop_map(|(width, height, seed)| ImageSpec {
            width,
            height,
            seed,
        }),
        N_IMAGES as usize,
    )
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // No regression files next to the sources: scenes are printed on failure.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(5000))]

    #[test]
    fn single_frame_matches_spec(
        imgs in images(),
        frame in frame_spec(),
        ops in proptest::collection::vec(op(), 1..=8),
    ) {
        check(&imgs, &[frame], &[ops]).map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn batches_match_spec(
        imgs in images(),
        batch in proptest::collection::vec(
            (frame_spec(), proptest::collection::vec(op(), 1..=8)),
            1..=3,
        ),
    ) {
        let (frames, lists): (Vec<FrameSpec>, Vec<Vec<Op>>) = batch.into_iter().unzip();
        check(&imgs, &frames, &lists).map_err(TestCaseError::fail)?;
    }
}

// ---------------------------------------------------------------------------------------
// Deterministic cases from the spec
// ---------------------------------------------------------------------------------------

const NO_IMAGES: [ImageSpec; 0] = [];

fn frame(width: u32, height: u32, pad: usize, format: PixelFormat, seed: u64) -> FrameSpec {
    FrameSpec {
        width,
        height,
        pad,
        format,
        seed,
    }
}

fn px(f: &FrameSpec, data: &[u8], x: usize, y: usize) -> [u8; 4] {
    let o = y * f.pitch() + x * 4;
    [data[o], data[o + 1], data[o + 2], data[o + 3]]
}

#[test]
fn center_example_covers_397_to_404() {
    let f = frame(512, 48, 4, PixelFormat::Rgba, 7);
    let ops = vec![Op::Box(BoxOp {
        rect: Rect::new(400.0, 8.0, 100.0, 30.0),
        border: Some(Border::new(8, Color::RED).align(Align::Center)),
        fill: None,
    })];
    check_or_panic(&NO_IMAGES, &[f], std::slice::from_ref(&ops));
    let before = f.bytes();
    let got = renderer(&NO_IMAGES, &[f], &[ops]).unwrap().remove(0);
    let y = 20;
    for x in 397..=404 {
        assert_eq!(px(&f, &got, x, y), [255, 0, 0, 255], "column {x}");
    }
    for x in [396, 405] {
        assert_eq!(px(&f, &got, x, y), px(&f, &before, x, y), "column {x}");
    }
}

#[test]
fn expand_edge_case_covers_only_row_zero() {
    let rect = Rect::new(0.0, 0.49999997, 10.0, 0.0);
    // The oracle's own reading: rows [-1, 1).
    let r = blur_reg(rect, 1.0);
    assert_eq!((r.y0, r.y1), (-1, 1));
    let f = frame(10, 6, 3, PixelFormat::Bgrx, 11);
    let col = Color::rgba(10, 20, 30, 40);
    let ops = vec![Op::Blur(BlurOp {
        rect,
        kind: BlurKind::Solid { color: col },
        expand: 1.0,
    })];
    check_or_panic(&NO_IMAGES, &[f], std::slice::from_ref(&ops));
    let before = f.bytes();
    let got = renderer(&NO_IMAGES, &[f], &[ops]).unwrap().remove(0);
    for y in 0..6 {
        for x in 0..10 {
            let b = px(&f, &before, x, y);
            let want = if y == 0 { [30, 20, 10, b[3]] } else { b };
            assert_eq!(px(&f, &got, x, y), want, "pixel ({x}, {y})");
        }
    }

    // The same on the x axis, and on every format.
    for (i, format) in PixelFormat::ALL.into_iter().enumerate() {
        let f = frame(6, 10, i, format, 12 + i as u64);
        let ops = vec![Op::Blur(BlurOp {
            rect: Rect::new(0.49999997, 0.0, 0.0, 10.0),
            kind: BlurKind::Box { radius: 2 },
            expand: 1.0,
        })];
        check_or_panic(&NO_IMAGES, &[f], &[ops]);
    }
}

#[test]
fn huge_expanded_blur_is_clipped_not_dropped() {
    let col = Color::rgba(1, 2, 3, 0);
    for (rect, expand) in [
        (Rect::new(0.0, 0.0, 1.0e6, 1.0e6), 8.0),
        (Rect::new(-1.0e6, -1.0e6, 1.0e6, 1.0e6), 4096.0),
        // x1 = round(0 + 20.5) = 21 covers the 16 x 12 frame; x0 is beyond -1e6.
        (Rect::new(-1.0e6, -1.0e6, 1.0e6, 1.0e6), 20.5),
    ] {
        for (i, format) in PixelFormat::ALL.into_iter().enumerate() {
            let f = frame(16, 12, 2 * i, format, 99 + i as u64);
            let ops = vec![Op::Blur(BlurOp {
                rect,
                kind: BlurKind::Solid { color: col },
                expand,
            })];
            check_or_panic(&NO_IMAGES, &[f], std::slice::from_ref(&ops));
            let before = f.bytes();
            let got = renderer(&NO_IMAGES, &[f], &[ops]).unwrap().remove(0);
            let rgb = match format {
                PixelFormat::Rgba | PixelFormat::Rgbx => [1, 2, 3],
                PixelFormat::Bgra | PixelFormat::Bgrx => [3, 2, 1],
                other => unreachable!("not handled here: {other:?}"),
            };
            for y in 0..12 {
                for x in 0..16 {
                    let a = if has_alpha(format) {
                        255
                    } else {
                        px(&f, &before, x, y)[3]
                    };
                    assert_eq!(
                        px(&f, &got, x, y),
                        [rgb[0], rgb[1], rgb[2], a],
                        "{rect:?} expand {expand} {format}: pixel ({x}, {y})"
                    );
                }
            }
        }
    }
}

#[test]
fn gaussian_table_is_q16() {
    for s in [0.1f32, 0.5, 1.0, 1.0 / 3.0, 2.2, 3.0, 32.0] {
        let q = gauss_q16(s);
        assert_eq!(q.len() as f64, 2.0 * (3.0 * f64::from(s)).ceil() + 1.0);
        assert_eq!(q.iter().sum::<i64>(), 65536);
        assert!(q.iter().all(|&w| w >= 0));
        let n = q.len();
        assert!((0..n).all(|i| q[i] == q[n - 1 - i]), "symmetric");
    }
}

#[test]
fn gaussian_radius_is_ceil_of_exact_3_sigma() {
    // f32(2/3) = 0.666666686...: 3 s = 2.0000000596 exactly, so r = 3 and the outer
    // taps get weight 2/65536 each; 3 s computed in f32 would round to 2.0 (r = 2).
    let sigma = 2.0f32 / 3.0;
    let q = gauss_q16(sigma);
    assert_eq!(q.len(), 7);
    assert_eq!((q[0], q[6]), (2, 2));
    fn f32_radius(s: f32) -> Vec<i64> {
        gauss_q16_radius(s, (3.0 * s).ceil() as i64)
    }
    assert_eq!(f32_radius(sigma).len(), 5);
    let mut checked_distinct = 0;
    for (i, format) in PixelFormat::ALL.into_iter().enumerate() {
        let f = frame(40, 40, i, format, 2024 + i as u64);
        let ops = vec![Op::Blur(BlurOp {
            rect: Rect::new(0.0, 0.0, 40.0, 40.0),
            kind: BlurKind::Gaussian { sigma },
            expand: 0.0,
        })];
        let lists = [ops];
        let exact = oracle(&NO_IMAGES, &[f], &lists);
        let rounded = oracle_with(&NO_IMAGES, &[f], &lists, f32_radius);
        if exact != rounded {
            checked_distinct += 1;
        }
        check_or_panic(&NO_IMAGES, &[f], &lists);
    }
    assert!(
        checked_distinct > 0,
        "the scene does not tell r = 2 from r = 3"
    );
}
