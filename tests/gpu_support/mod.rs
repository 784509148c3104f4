//! Shared helpers of the GPU test suites: visible skipping, device/pinned/managed frame
//! memory, and seeded random scenes.
#![allow(dead_code)]

use std::ffi::c_void;

use cudadraw::cuda::CudaRenderer;
use cudadraw::draw::{
    Align, Anchor, ArrowEnds, ArrowOp, BlurKind, BlurOp, Border, BoxOp, Cap, DrawList, EllipseOp,
    Filter, Font, FontId, Image, ImageStore, LabelOp, LineOp, OverlayOp, PointOp, PolygonOp,
    PolylineOp, RotatedBoxOp, Stroke, TextOp, TextStyle,
};
use cudadraw::geom::Point;
use cudadraw::{Color, FrameInfo, PixelFormat, Rect};
use cudarc::driver::result as cu;
use cudarc::driver::sys;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The CUDA renderer, or `None` after printing a visible skip line. With
/// `CUDADRAW_REQUIRE_GPU=1` a missing device fails the test instead.
pub fn gpu(test: &str) -> Option<CudaRenderer> {
    match CudaRenderer::new() {
        Ok(mut r) => {
            let ctx = r.context(0).expect("primary context of GPU 0");
            // SAFETY: a retained primary context; tests allocate frames in it.
            unsafe { cu::ctx::set_current(ctx) }.expect("cuCtxSetCurrent");
            Some(r)
        }
        Err(e) => {
            if super::common::require_gpu() {
                panic!("{test}: CUDADRAW_REQUIRE_GPU=1 but no CUDA device: {e}");
            }
            super::common::skipped(&format!("no CUDA device ({test}: {e})"));
            None
        }
    }
}

/// Where a test frame lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Device,
    Pinned,
    Managed,
}

/// Frame memory the kernels can address. Freed on drop.
pub struct Mem {
    pub kind: Kind,
    /// Address the kernels use.
    pub dptr: u64,
    host: *mut u8,
    pub len: usize,
}

impl Mem {
    pub fn new(kind: Kind, len: usize) -> Self {
        let len = len.max(4);
        // SAFETY: plain allocations in the current (primary) context.
        unsafe {
            match kind {
                Kind::Device => {
                    let d = cu::malloc_sync(len).expect("cuMemAlloc");
                    Mem {
                        kind,
                        dptr: d,
                        host: std::ptr::null_mut(),
                        len,
                    }
                }
                Kind::Pinned => {
                    let h = cu::malloc_host(
                        len,
                        sys::CU_MEMHOSTALLOC_DEVICEMAP | sys::CU_MEMHOSTALLOC_PORTABLE,
                    )
                    .expect("cuMemHostAlloc") as *mut u8;
                    let mut d = 0u64;
                    sys::cuMemHostGetDevicePointer_v2(&mut d, h as *mut c_void, 0)
                        .result()
                        .expect("cuMemHostGetDevicePointer");
                    Mem {
                        kind,
                        dptr: d,
                        host: h,
                        len,
                    }
                }
                Kind::Managed => {
                    let d = cu::malloc_managed(len, sys::CUmemAttach_flags::CU_MEM_ATTACH_GLOBAL)
                        .expect("cuMemAllocManaged");
                    Mem {
                        kind,
                        dptr: d,
                        host: d as *mut u8,
                        len,
                    }
                }
            }
        }
    }

    pub fn upload(&self, data: &[u8]) {
        assert!(data.len() <= self.len);
        // SAFETY: sizes checked; no kernel runs on this memory meanwhile.
        unsafe {
            match self.kind {
                Kind::Device => {
                    // A "synchronous" copy from pageable memory may return before its
                    // DMA lands: wait for it before any kernel reads the frame.
                    cu::memcpy_htod_sync(self.dptr, data).expect("HtoD");
                    cu::ctx::synchronize().expect("sync");
                }
                _ => {
                    cu::ctx::synchronize().expect("sync");
                    std::ptr::copy_nonoverlapping(data.as_ptr(), self.host, data.len())
                }
            }
        }
    }

    pub fn download(&self, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        // SAFETY: as above.
        unsafe {
            match self.kind {
                Kind::Device => cu::memcpy_dtoh_sync(&mut out, self.dptr).expect("DtoH"),
                _ => {
                    cu::ctx::synchronize().expect("sync");
                    std::ptr::copy_nonoverlapping(self.host, out.as_mut_ptr(), n)
                }
            }
        }
        out
    }
}

impl Drop for Mem {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`, freed once.
        unsafe {
            let _ = cu::ctx::synchronize();
            match self.kind {
                Kind::Device | Kind::Managed => {
                    let _ = cu::free_sync(self.dptr);
                }
                Kind::Pinned => {
                    let _ = cu::free_host(self.host as *mut c_void);
                }
            }
        }
    }
}

/// One allocation of `kind` per buffer, holding a copy of it.
pub fn upload_all(kind: Kind, bufs: &[Vec<u8>]) -> Vec<Mem> {
    bufs.iter()
        .map(|b| {
            let m = Mem::new(kind, b.len());
            m.upload(b);
            m
        })
        .collect()
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Deterministic pixel bytes (padding included, so untouched padding is checked too).
pub fn pattern(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    // Smooth areas too, where rounding differences would show.
    let smooth = rng.random_bool(0.5);
    if smooth {
        for (i, b) in v.iter_mut().enumerate() {
            *b = b.wrapping_add((i / 97) as u8) / 2;
        }
    }
    v
}

/// A few random overlay images, and the tests' CJK font as [`FontId`] 1 (random lists
/// with images draw text in both fonts).
pub fn random_images(rng: &mut ChaCha8Rng, store: &mut ImageStore, n: usize) {
    let cjk = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenes/fonts/wqy-microhei-subset.ttf"
    );
    if store.fonts().get(FontId(1)).is_none() {
        store.add_font(Font::from_path(cjk, 0).expect("the tests' CJK font"));
    }
    for _ in 0..n {
        let w = rng.random_range(1..=300u32);
        let h = rng.random_range(1..=300u32);
        let mut data = vec![0u8; (w * h * 4) as usize];
        rng.fill(&mut data[..]);
        store.add(Image::new(w, h, data).expect("image"));
    }
}

fn coord(rng: &mut ChaCha8Rng, extent: u32) -> f32 {
    let e = extent as f32;
    match rng.random_range(0..10) {
        0 => rng.random_range(-2.0 * e..-0.1 * e - 1.0),
        1 => rng.random_range(e..2.0 * e + 2.0),
        2 => rng.random_range(-3.0f32..3.0).round() + 0.5, // exact halves near the edge
        _ => rng.random_range(-0.3 * e..1.2 * e),
    }
}

fn size(rng: &mut ChaCha8Rng, extent: u32) -> f32 {
    let e = extent as f32;
    match rng.random_range(0..12) {
        0 => rng.random_range(-20.0f32..0.0),
        1 => 0.0,
        2 => rng.random_range(e..3.0 * e + 1.0),
        3 => rng.random_range(0.0f32..4.0),
        _ => rng.random_range(0.0..(0.6 * e).max(1.0)),
    }
}

fn color(rng: &mut ChaCha8Rng) -> Color {
    let a = match rng.random_range(0..5) {
        0 => 0,
        1 => 80,
        2 | 3 => 255,
        _ => rng.random(),
    };
    Color::rgba(rng.random(), rng.random(), rng.random(), a)
}

const TEXTS: [&str; 10] = [
    "person 0.97",
    "car 0.81",
    "id 1234",
    "AVAWAY fi fl",
    "two\nlines",
    "Ελληνικά Кириллица",
    "مرحبا بالعالم",
    "监控摄像头 3号",
    "x",
    "12:34:56 cam 7",
];

/// A random text style: sizes 6..=96 (rarely 256), every anchor, backgrounds, halos.
fn text_style(rng: &mut ChaCha8Rng, fonts: u32) -> TextStyle {
    let size = match rng.random_range(0..20) {
        0 => 256,
        1 => 6,
        2..=9 => rng.random_range(10..=20),
        _ => rng.random_range(6..=96),
    };
    let mut s = TextStyle::new(size, color(rng)).font(FontId(rng.random_range(0..fonts)));
    if rng.random_bool(0.4) {
        s = s.background(color(rng)).padding(rng.random_range(0..=6));
    }
    if rng.random_bool(0.3) {
        s = s.halo(rng.random_range(1..=3), color(rng));
    }
    s
}

/// A random shape op: every kind, thin and thick strokes, AA on and off, across edges.
fn random_shape(rng: &mut ChaCha8Rng, w: u32, h: u32) -> cudadraw::Op {
    let p = |rng: &mut ChaCha8Rng| Point::new(coord(rng, w), coord(rng, h));
    let aa = rng.random_bool(0.5);
    let width = match rng.random_range(0..6) {
        0 => rng.random_range(20.0..200.0f32),
        1 => 1.0,
        _ => rng.random_range(0.5..8.0),
    };
    let stroke = Stroke::new(width, color(rng));
    let fill = rng.random_bool(0.6).then(|| color(rng));
    match rng.random_range(0..8) {
        0 => LineOp {
            from: p(rng),
            to: p(rng),
            width,
            color: color(rng),
            cap: if rng.random_bool(0.5) {
                Cap::Round
            } else {
                Cap::Flat
            },
            aa,
        }
        .into(),
        1 => PolylineOp {
            points: (0..rng.random_range(1..40)).map(|_| p(rng)).collect(),
            closed: rng.random_bool(0.3),
            width,
            color: color(rng),
            cap: Cap::Round,
            aa,
        }
        .into(),
        2 => PolygonOp {
            points: {
                let max = if rng.random_bool(0.1) { 300 } else { 12 };
                (0..rng.random_range(3..max)).map(|_| p(rng)).collect()
            },
            fill,
            outline: rng.random_bool(0.5).then_some(stroke),
            aa,
        }
        .into(),
        3 => ArrowOp {
            from: p(rng),
            to: p(rng),
            width,
            color: color(rng),
            head_length: rng.random_range(0.0..60.0),
            head_angle: rng.random_range(5.0..80.0),
            ends: [ArrowEnds::End, ArrowEnds::Start, ArrowEnds::Both][rng.random_range(0..3)],
            aa,
        }
        .into(),
        4 | 5 => EllipseOp {
            center: p(rng),
            rx: size(rng, w).abs(),
            ry: size(rng, h).abs(),
            outline: rng.random_bool(0.7).then_some(stroke),
            align: [Align::Inside, Align::Center, Align::Outside][rng.random_range(0..3)],
            fill,
            aa,
        }
        .into(),
        6 => RotatedBoxOp {
            center: p(rng),
            width: size(rng, w).abs(),
            height: size(rng, h).abs(),
            angle: rng.random_range(-360.0..360.0),
            outline: rng.random_bool(0.6).then_some(stroke),
            fill,
            aa,
        }
        .into(),
        _ => PointOp {
            center: p(rng),
            radius: rng.random_range(0.0..30.0),
            color: color(rng),
            aa,
        }
        .into(),
    }
}

/// A random but valid draw list for a `w` x `h` frame: boxes (every alignment, stroke
/// and fill alpha), blurs of every kind, overlays of `nimages` images, text and labels
/// (both fonts of [`random_images`] when `nimages` > 0, else the built-in one), shapes
/// of every kind.
pub fn random_list(rng: &mut ChaCha8Rng, w: u32, h: u32, n: usize, nimages: usize) -> DrawList {
    let fonts = if nimages > 0 { 2 } else { 1 };
    let mut l = DrawList::with_capacity(n);
    // Blurs are the expensive ops on the CPU oracle: keep their share and size moderate
    // on big frames.
    let blur_share = if n > 500 { 0.02 } else { 0.2 };
    for _ in 0..n {
        let rect = Rect::new(coord(rng, w), coord(rng, h), size(rng, w), size(rng, h));
        let pick: f64 = rng.random();
        if pick < blur_share {
            let kind = match rng.random_range(0..4) {
                0 => BlurKind::Box {
                    radius: if rng.random_bool(0.05) {
                        127
                    } else {
                        rng.random_range(1..=20)
                    },
                },
                1 => BlurKind::Gaussian {
                    sigma: if rng.random_bool(0.05) {
                        32.0
                    } else {
                        rng.random_range(0.1f32..6.0)
                    },
                },
                2 => BlurKind::Pixelate {
                    block: if rng.random_bool(0.05) {
                        1024
                    } else {
                        rng.random_range(1..=40)
                    },
                },
                _ => BlurKind::Solid { color: color(rng) },
            };
            let expand = if rng.random_bool(0.3) {
                rng.random_range(0.0f32..20.0)
            } else {
                0.0
            };
            // Keep blurred areas moderate so the CPU oracle stays quick.
            let rect = Rect::new(
                rect.left,
                rect.top,
                rect.width.min(600.0),
                rect.height.min(600.0),
            );
            l.push(BlurOp { rect, kind, expand });
        } else if (0.75..0.85).contains(&pick) {
            l.push(random_shape(rng, w, h));
        } else if pick >= 0.85 {
            let style = text_style(rng, fonts);
            let text = TEXTS[rng.random_range(0..TEXTS.len())];
            if rng.random_bool(0.5) {
                l.push(LabelOp {
                    rect,
                    text: text.into(),
                    style,
                });
            } else {
                l.push(TextOp {
                    text: text.into(),
                    x: coord(rng, w),
                    y: coord(rng, h),
                    anchor: if rng.random_bool(0.5) {
                        Anchor::Top
                    } else {
                        Anchor::Baseline
                    },
                    style,
                });
            }
        } else if pick < blur_share + 0.1 && nimages > 0 {
            l.push(OverlayOp {
                image: cudadraw::ImageId(rng.random_range(0..nimages as u32)),
                rect,
                opacity: match rng.random_range(0..4) {
                    0 => 1.0,
                    1 => 0.0,
                    _ => rng.random_range(0.0f32..=1.0),
                },
                filter: if rng.random_bool(0.5) {
                    Filter::Nearest
                } else {
                    Filter::Bilinear
                },
            });
        } else {
            let border = rng.random_bool(0.8).then(|| Border {
                width: match rng.random_range(0..10) {
                    0 => rng.random_range(1..=1024),
                    1..=3 => 1,
                    _ => rng.random_range(1..=12),
                },
                color: color(rng),
                align: match rng.random_range(0..3) {
                    0 => Align::Inside,
                    1 => Align::Center,
                    _ => Align::Outside,
                },
            });
            let fill = rng.random_bool(0.4).then(|| color(rng));
            l.push(BoxOp { rect, border, fill });
        }
    }
    l
}

/// A random frame layout: sizes spread log-uniformly over 1..=max, padded pitches.
pub fn random_info(rng: &mut ChaCha8Rng, max_w: u32, max_h: u32) -> FrameInfo {
    let logu = |rng: &mut ChaCha8Rng, max: u32| -> u32 {
        let v = (rng.random_range(0.0f64..(max as f64).ln())).exp();
        (v as u32).clamp(1, max)
    };
    let w = logu(rng, max_w);
    let h = logu(rng, max_h);
    let pad = match rng.random_range(0..3) {
        0 => 0,
        1 => 4 * rng.random_range(1..=16usize),
        _ => 4 * rng.random_range(1..=300usize),
    };
    let format = PixelFormat::ALL[rng.random_range(0..4)];
    FrameInfo::new(w, h, w as usize * 4 + pad, format)
}

/// Index and position of the first differing byte, for a readable failure message.
pub fn first_diff(a: &[u8], b: &[u8], info: &FrameInfo) -> Option<String> {
    let i = a.iter().zip(b).position(|(x, y)| x != y)?;
    let (y, rest) = (i / info.pitch, i % info.pitch);
    Some(format!(
        "byte {i} (x {}, y {y}, channel {}): cpu {} gpu {}; {} bytes differ",
        rest / 4,
        rest % 4,
        a[i],
        b[i],
        a.iter().zip(b).filter(|(x, y)| x != y).count()
    ))
}
