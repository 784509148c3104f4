//! The workloads of `shared/bench/workloads.md`, built once for every bench (GPU and
//! CPU): the same seeded boxes, blurs and logos on the same 8 x 1080p RGBA frames.
#![allow(dead_code)] // each bench uses a subset

use cudadraw::draw::{BlurKind, DrawList, Filter, Image, ImageStore, OverlayOp, TextStyle};
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
