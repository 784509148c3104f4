//! The workloads of `shared/bench/workloads.md`, built once for every bench (GPU and
//! CPU): the same seeded boxes, blurs and logos on the same 8 x 1080p RGBA frames.
#![allow(dead_code)] // each bench uses a subset

use cudadraw::draw::{
    ArrowEnds, ArrowOp, BlurKind, DrawList, Filter, Image, ImageStore, LineOp, MaskOp, MaskSource,
    OverlayOp, PolygonOp, RotatedBoxOp, Stroke, TextStyle,
};
use cudadraw::geom::Point;
use cudadraw::{Border, Color, Rect};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const W: u32 = 1920;
pub const H: u32 = 1080;
pub const PITCH: usize = 7680;
pub const BATCH: usize = 8;

/// The deterministic frame content every workload starts from.
pub fn pattern() -> Vec<u8> {
    (0..PITCH * H as usize)
        .map(|i| ((i * 7 + i / PITCH * 13) % 251) as u8)
        .collect()
}

pub fn random_box(r: &mut ChaCha8Rng, lo: f32, hi: f32) -> Rect {
    let w = r.random_range(lo..hi);
    let h = r.random_range(lo..hi);
    Rect::new(
        r.random_range(0.0..W as f32 - w).floor(),
        r.random_range(0.0..H as f32 - h).floor(),
        w.floor(),
        h.floor(),
    )
}

pub fn w1_lists(fill: bool, frames: usize) -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(1);
    (0..frames)
        .map(|_| {
            let mut l = DrawList::with_capacity(100);
            for _ in 0..100 {
                let rect = random_box(&mut r, 20.0, 400.0);
                let border = Border::new(4, Color::rgb(r.random(), r.random(), r.random()));
                let f = fill.then(|| Color::rgba(r.random(), r.random(), r.random(), 80));
                l.rect(rect, Some(border), f);
            }
            l
        })
        .collect()
}

pub fn w2_lists() -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(2);
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..10 {
                l.blur(
                    random_box(&mut r, 64.0, 256.0),
                    BlurKind::Box { radius: 15 },
                );
            }
            l
        })
        .collect()
}

pub fn logo() -> Image {
    let mut d = vec![0u8; 256 * 256 * 4];
    for y in 0..256 {
        for x in 0..256 {
            let i = (y * 256 + x) * 4;
            d[i] = x as u8;
            d[i + 1] = y as u8;
            d[i + 2] = 200;
            d[i + 3] = x as u8; // horizontal alpha ramp
        }
    }
    Image::new(256, 256, d).expect("logo")
}

pub fn w3_lists(store: &mut ImageStore) -> Vec<DrawList> {
    let id = store.add(logo());
    let mut r = ChaCha8Rng::seed_from_u64(3);
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..4 {
                let x = r.random_range(0..W - 256) as f32;
                let y = r.random_range(0..H - 256) as f32;
                l.push(OverlayOp {
                    image: id,
                    rect: Rect::new(x, y, 256.0, 256.0),
                    opacity: 1.0,
                    filter: Filter::Bilinear,
                });
            }
            l
        })
        .collect()
}

/// W4: 100 labels per frame, "person 0.97"-like (11 to 13 characters), 16 px, white on
/// a translucent black background, on random boxes (placed above their top-left corner).
/// `size` other than 16 gives the same labels at another size (first-use cost).
pub fn w4_lists(size: u32) -> Vec<DrawList> {
    const CLASSES: [&str; 5] = ["person", "bicycle", "vehicle", "backpack", "handbag"];
    let mut r = ChaCha8Rng::seed_from_u64(4);
    let style = TextStyle::new(size, Color::WHITE).background(Color::rgba(0, 0, 0, 160));
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::with_capacity(100);
            for _ in 0..100 {
                let rect = random_box(&mut r, 20.0, 400.0);
                let class = CLASSES[r.random_range(0..CLASSES.len())];
                let text = format!("{class} 0.{:02}", r.random_range(10..100));
                l.label(rect, text, style);
            }
            l
        })
        .collect()
}

fn point(r: &mut ChaCha8Rng) -> Point {
    Point::new(r.random_range(0.0..W as f32), r.random_range(0.0..H as f32))
}

fn rgb(r: &mut ChaCha8Rng) -> Color {
    Color::rgb(r.random(), r.random(), r.random())
}

fn hexagon(c: Point, radius: f32) -> Vec<Point> {
    (0..6)
        .map(|k| {
            let a = std::f32::consts::TAU * k as f32 / 6.0;
            Point::new(c.x + radius * a.cos(), c.y + radius * a.sin())
        })
        .collect()
}

/// W6a: 50 lines per frame, 3 px, random endpoints anywhere (`aa`: anti-aliased).
pub fn w6a_lists(aa: bool) -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(61);
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..50 {
                let (from, to, color) = (point(&mut r), point(&mut r), rgb(&mut r));
                l.push(LineOp {
                    from,
                    to,
                    width: 3.0,
                    color,
                    cap: cudadraw::draw::Cap::Flat,
                    aa,
                });
            }
            l
        })
        .collect()
}

/// W6b: 20 circles per frame, radius 10..60, 3 px outline, no fill.
pub fn w6b_lists() -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(62);
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..20 {
                let c = point(&mut r);
                let radius = r.random_range(10.0..60.0);
                let s = Stroke::new(3.0, rgb(&mut r));
                l.circle(c, radius, Some(s), None);
            }
            l
        })
        .collect()
}

/// W6c: 5 closed hexagons per frame, radius 50..150, 2 px outline + alpha-80 fill.
pub fn w6c_lists() -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(63);
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..5 {
                let (c, radius) = (point(&mut r), r.random_range(50.0..150.0));
                let fill = Color {
                    a: 80,
                    ..rgb(&mut r)
                };
                l.push(PolygonOp {
                    points: hexagon(c, radius),
                    fill: Some(fill),
                    outline: Some(Stroke::new(2.0, rgb(&mut r))),
                    aa: false,
                });
            }
            l
        })
        .collect()
}

/// W6d: 10 arrows per frame, 3 px, 12 px head.
pub fn w6d_lists() -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(64);
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..10 {
                let (from, to, color) = (point(&mut r), point(&mut r), rgb(&mut r));
                l.push(ArrowOp {
                    from,
                    to,
                    width: 3.0,
                    color,
                    head_length: 12.0,
                    head_angle: 30.0,
                    ends: ArrowEnds::End,
                    aa: false,
                });
            }
            l
        })
        .collect()
}

/// W6e: 20 rotated boxes per frame, sizes as W1's, random angle, 3 px outline.
pub fn w6e_lists() -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(65);
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..20 {
                let b = random_box(&mut r, 20.0, 400.0);
                l.push(RotatedBoxOp {
                    center: Point::new(b.left + b.width / 2.0, b.top + b.height / 2.0),
                    width: b.width,
                    height: b.height,
                    angle: r.random_range(0.0..360.0),
                    outline: Some(Stroke::new(3.0, rgb(&mut r))),
                    fill: None,
                    aa: false,
                });
            }
            l
        })
        .collect()
}

/// A 32 x 32 probability mask (a soft blob, varied by `k`), as f16.
pub fn blob_f16(k: u32) -> Vec<half::f16> {
    let (cx, cy) = (0.5 + 0.1 * ((k % 5) as f32 - 2.0) / 2.0, 0.5);
    (0..32 * 32)
        .map(|i| {
            let (x, y) = ((i % 32) as f32 / 32.0 - cx, (i / 32) as f32 / 32.0 - cy);
            half::f16::from_f32((1.0 - (x * x + y * y).sqrt() * 2.2).clamp(0.0, 1.0))
        })
        .collect()
}

/// W7: 20 instance masks per frame, 32 x 32 f16 (`source` places mask `k`'s values: in
/// device memory for the GPU bench, host memory for the CPU one), into 64..256 px boxes,
/// threshold 0.5, alpha-128 colour, 2 px box outline.
pub fn w7_lists(mut source: impl FnMut(u32, Vec<half::f16>) -> MaskSource) -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(7);
    let mut k = 0;
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..20 {
                let b = random_box(&mut r, 64.0, 256.0);
                let color = rgb(&mut r);
                l.push(MaskOp {
                    rect: b,
                    mask: source(k, blob_f16(k)),
                    threshold: 0.5,
                    color: Color { a: 128, ..color },
                    filter: Filter::Bilinear,
                    contour: None,
                });
                l.outline(b, Border::new(2, color));
                k += 1;
            }
            l
        })
        .collect()
}

/// W8: a busy analytics frame: 50 boxes (3 px) with 50 labels, 2 zone hexagons (radius
/// 120, alpha-60 fill), 10 lines.
pub fn w8_lists() -> Vec<DrawList> {
    let mut r = ChaCha8Rng::seed_from_u64(8);
    let style = TextStyle::new(16, Color::WHITE).background(Color::rgba(0, 0, 0, 160));
    (0..BATCH)
        .map(|_| {
            let mut l = DrawList::new();
            for _ in 0..2 {
                let c = Point::new(r.random_range(150.0..1770.0), r.random_range(150.0..930.0));
                let fill = Color {
                    a: 60,
                    ..rgb(&mut r)
                };
                l.polygon(
                    hexagon(c, 120.0),
                    Some(fill),
                    Some(Stroke::new(2.0, rgb(&mut r))),
                );
            }
            for _ in 0..10 {
                let (a, b, c) = (point(&mut r), point(&mut r), rgb(&mut r));
                l.line(a, b, 3.0, c);
            }
            for i in 0..50 {
                let b = random_box(&mut r, 20.0, 400.0);
                l.outline(b, Border::new(3, rgb(&mut r)));
                l.label(b, format!("person 0.{:02}", 50 + i), style);
            }
            l
        })
        .collect()
}

/// W6a-W8, the shape, mask and mixed workloads, named once for both benches: `mask`
/// places W7's masks (device memory for the GPU bench, host memory for the CPU one).
pub fn shape_workloads(
    mask: impl FnMut(u32, Vec<half::f16>) -> MaskSource,
) -> Vec<(&'static str, Vec<DrawList>)> {
    vec![
        ("W6a 400 lines, 3 px", w6a_lists(false)),
        ("W6a-AA 400 lines, 3 px, anti-aliased", w6a_lists(true)),
        ("W6b 160 circles, 3 px", w6b_lists()),
        ("W6c 40 hexagons, outline + fill", w6c_lists()),
        ("W6d 80 arrows", w6d_lists()),
        ("W6e 160 rotated boxes", w6e_lists()),
        ("W7 160 masks 32 x 32 f16", w7_lists(mask)),
        ("W8 busy analytics frames", w8_lists()),
    ]
}
