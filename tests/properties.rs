//! Property tests of the CPU renderer on random frames and random (often invalid)
//! draw lists: nothing outside the ops' reach or in row padding changes, alpha 0
//! changes nothing, x bytes never change, nothing panics, and a call with an invalid
//! op leaves every frame of the batch untouched.

use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::{BlurKind, BlurOp, BoxOp, OverlayOp, Resolved, resolve_batch};
use cudadraw::{
    Align, Border, Color, DrawList, Filter, FrameInfo, HostFrame, Image, ImageId, ImageStore, Op,
    PixelFormat, PixelRect, Rect,
};
use proptest::prelude::*;

fn format() -> impl Strategy<Value = PixelFormat> {
    prop::sample::select(PixelFormat::ALL.to_vec())
}

/// Frame layouts: small, odd, padded.
fn layout() -> impl Strategy<Value = FrameInfo> {
    (1u32..=48, 1u32..=40, 0usize..=13, format())
        .prop_map(|(w, h, pad, f)| FrameInfo::new(w, h, w as usize * 4 + pad, f))
}

/// Coordinates around a frame, with fractions (including exact halves).
fn coord() -> impl Strategy<Value = f32> {
    prop_oneof![
        (-40i32..90).prop_map(|v| v as f32),
        (-80i32..180).prop_map(|v| v as f32 / 2.0),
        -40.0f32..90.0,
    ]
}

fn rect() -> impl Strategy<Value = Rect> {
    (coord(), coord(), coord(), coord()).prop_map(|(l, t, w, h)| Rect::new(l, t, w, h))
}

fn color() -> impl Strategy<Value = Color> {
    (
        any::<[u8; 3]>(),
        prop_oneof![Just(0u8), Just(80), Just(255), any::<u8>()],
    )
        .prop_map(|(c, a)| Color::rgba(c[0], c[1], c[2], a))
}

fn align() -> impl Strategy<Value = Align> {
    prop::sample::select(vec![Align::Inside, Align::Center, Align::Outside])
}

/// Mostly valid parameters, sometimes out of range.
fn blur_kind(valid: bool) -> BoxedStrategy<BlurKind> {
    let ok = prop_oneof![
        (1u32..=20).prop_map(|radius| BlurKind::Box { radius }),
        (0.1f32..6.0).prop_map(|sigma| BlurKind::Gaussian { sigma }),
        (1u32..=12).prop_map(|block| BlurKind::Pixelate { block }),
        color().prop_map(|color| BlurKind::Solid { color }),
    ];
    if valid {
        return ok.boxed();
    }
    prop_oneof![
        4 => ok,
        1 => prop_oneof![
            Just(BlurKind::Box { radius: 0 }),
            Just(BlurKind::Box { radius: 128 }),
            Just(BlurKind::Gaussian { sigma: f32::NAN }),
            Just(BlurKind::Gaussian { sigma: 0.01 }),
            Just(BlurKind::Gaussian { sigma: 40.0 }),
            Just(BlurKind::Pixelate { block: 0 }),
        ],
    ]
    .boxed()
}

fn op(valid: bool) -> BoxedStrategy<Op> {
    let width = if valid {
        (1u32..=12).boxed()
    } else {
        prop_oneof![4 => 1u32..=12, 1 => prop_oneof![Just(0u32), Just(5000)]].boxed()
    };
    let boxes = (
        rect(),
        prop::option::of((width, color(), align())),
        prop::option::of(color()),
    )
        .prop_map(|(rect, border, fill)| {
            Op::Box(BoxOp {
                rect,
                border: border.map(|(w, c, a)| Border::new(w, c).align(a)),
                fill,
            })
        });
    let expand = if valid {
        (0.0f32..6.0).boxed()
    } else {
        prop_oneof![4 => 0.0f32..6.0, 1 => prop_oneof![Just(-1.0f32), Just(f32::INFINITY)]].boxed()
    };
    let blurs = (rect(), blur_kind(valid), expand)
        .prop_map(|(rect, kind, expand)| Op::Blur(BlurOp { rect, kind, expand }));
    let opacity = if valid {
        (0.0f32..=1.0).boxed()
    } else {
        prop_oneof![4 => 0.0f32..=1.0, 1 => prop_oneof![Just(1.5f32), Just(f32::NAN)]].boxed()
    };
    let image = if valid { 0u32..2 } else { 0u32..3 };
    let overlays = (rect(), opacity, image, any::<bool>()).prop_map(|(rect, opacity, i, n)| {
        Op::Overlay(OverlayOp {
            image: ImageId(i),
            rect,
            opacity,
            filter: if n { Filter::Nearest } else { Filter::Bilinear },
        })
    });
    let bad_rect = (
        rect(),
        prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(2.0e6)],
    )
        .prop_map(|(r, v)| {
            Op::Box(BoxOp {
                rect: Rect { left: v, ..r },
                border: None,
                fill: Some(Color::RED),
            })
        });
    if valid {
        prop_oneof![boxes, blurs, overlays].boxed()
    } else {
        prop_oneof![10 => boxes, 10 => blurs, 10 => overlays, 1 => bad_rect].boxed()
    }
}

fn list(valid: bool) -> impl Strategy<Value = DrawList> {
    prop::collection::vec(op(valid), 0..8).prop_map(|ops| ops.into_iter().collect())
}

/// Two overlay images with random pixels (ids 0 and 1).
fn store(seed: u64) -> ImageStore {
    let mut s = ImageStore::new();
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    };
    for (w, h) in [(3u32, 2u32), (5, 7)] {
        let data = (0..w * h * 4).map(|_| next()).collect();
        s.add(Image::new(w, h, data).expect("valid image"));
    }
    s
}

fn buffer(info: FrameInfo, seed: u8) -> Vec<u8> {
    (0..info.min_len())
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
        .collect()
}

fn render(info: FrameInfo, data: &mut [u8], l: &DrawList, s: &ImageStore) -> cudadraw::Result<()> {
    let mut frames = [HostFrame::new(data, info).expect("valid frame")];
    CpuRenderer::new().render(&mut frames, &[l], s)
}

/// An upper bound of the pixels an op may touch, computed from the op itself (not
/// from the resolver): its rectangle grown by stroke, expansion and a rounding pixel.
fn reach(op: &Op) -> PixelRect {
    let (r, grow) = match op {
        Op::Box(b) => (b.rect, b.border.map_or(0.0, |b| b.width as f32)),
        Op::Blur(b) => (b.rect, b.expand.ceil()),
        Op::Overlay(o) => (o.rect, 0.0),
        other => unreachable!("not handled here: {other:?}"),
    };
    let lo = |a: f32| (a - grow).floor() as i32 - 1;
    let hi = |a: f32| (a + grow).ceil() as i32 + 1;
    PixelRect::new(
        lo(r.left),
        lo(r.top),
        hi(r.left + r.width),
        hi(r.top + r.height),
    )
}

fn pixel_changed(info: FrameInfo, a: &[u8], b: &[u8], x: usize, y: usize) -> bool {
    let o = y * info.pitch + x * 4;
    a[o..o + 4] != b[o..o + 4]
}

fn padding_unchanged(info: FrameInfo, a: &[u8], b: &[u8]) -> bool {
    (0..info.height as usize).all(|y| {
        let s = y * info.pitch + info.width as usize * 4;
        let e = ((y + 1) * info.pitch).min(a.len());
        s >= e || a[s..e] == b[s..e]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn nothing_outside_the_ops_reach_or_in_padding_changes(
        info in layout(), l in list(true), seed in any::<u64>()
    ) {
        let s = store(seed);
        let orig = buffer(info, seed as u8);
        let mut d = orig.clone();
        render(info, &mut d, &l, &s).expect("valid list renders");
        prop_assert!(padding_unchanged(info, &orig, &d));
        // The resolver's regions (what the renderer was asked to write) ...
        let mut res = Resolved::default();
        resolve_batch(&[info], &[&l], &s, &mut res).expect("valid list resolves");
        let clips: Vec<PixelRect> = res.cmds().iter().map(|c| c.clip.into()).collect();
        // ... and an independent bound from the ops themselves.
        let reaches: Vec<PixelRect> = l.ops().iter().map(reach).collect();
        for y in 0..info.height as usize {
            for x in 0..info.width as usize {
                if !pixel_changed(info, &orig, &d, x, y) {
                    continue;
                }
                let (xi, yi) = (x as i32, y as i32);
                prop_assert!(clips.iter().any(|c| c.contains(xi, yi)), "({x},{y}) outside every command region");
                prop_assert!(reaches.iter().any(|c| c.contains(xi, yi)), "({x},{y}) outside every op's reach");
            }
        }
    }

    #[test]
    fn alpha_zero_changes_nothing(
        info in layout(),
        rects in prop::collection::vec((rect(), 1u32..=12, align(), any::<[u8; 3]>(), any::<[u8; 3]>()), 0..8),
        overlay in rect(), seed in any::<u64>()
    ) {
        let mut s = store(seed);
        // A fully transparent image, drawn at full opacity; and an opaque one at opacity 0.
        let clear = s.add(Image::new(4, 3, [77, 88, 99, 0].repeat(12)).expect("image"));
        let mut l = DrawList::new();
        for (r, w, a, c, f) in rects {
            l.rect(
                r,
                Some(Border::new(w, Color::rgba(c[0], c[1], c[2], 0)).align(a)),
                Some(Color::rgba(f[0], f[1], f[2], 0)),
            );
        }
        l.overlay(clear, overlay, 1.0);
        l.overlay(ImageId(0), overlay, 0.0);
        let orig = buffer(info, seed as u8);
        let mut d = orig.clone();
        render(info, &mut d, &l, &s).expect("valid list renders");
        prop_assert!(d == orig);
    }

    #[test]
    fn x_bytes_never_change(
        w in 1u32..=48, h in 1u32..=40, pad in 0usize..=9, bgr in any::<bool>(),
        l in list(true), seed in any::<u64>()
    ) {
        let f = if bgr { PixelFormat::Bgrx } else { PixelFormat::Rgbx };
        let info = FrameInfo::new(w, h, w as usize * 4 + pad, f);
        let s = store(seed);
        let orig = buffer(info, seed as u8);
        let mut d = orig.clone();
        render(info, &mut d, &l, &s).expect("valid list renders");
        for y in 0..h as usize {
            for x in 0..w as usize {
                let o = y * info.pitch + x * 4 + 3;
                prop_assert_eq!(d[o], orig[o], "x byte of ({}, {})", x, y);
            }
        }
    }

    #[test]
    fn random_lists_never_panic_and_errors_leave_frames_untouched(
        info in layout(), a in list(false), b in list(false), seed in any::<u64>()
    ) {
        let s = store(seed);
        let orig_a = buffer(info, seed as u8);
        let orig_b = buffer(info, !(seed as u8));
        let (mut da, mut db) = (orig_a.clone(), orig_b.clone());
        let result = {
            let mut frames = [
                HostFrame::new(&mut da, info).expect("frame"),
                HostFrame::new(&mut db, info).expect("frame"),
            ];
            CpuRenderer::new().render(&mut frames, &[&a, &b], &s)
        };
        let mut res = Resolved::default();
        let valid = resolve_batch(&[info, info], &[&a, &b], &s, &mut res).is_ok();
        prop_assert_eq!(result.is_ok(), valid);
        if result.is_err() {
            prop_assert!(da == orig_a && db == orig_b, "an invalid batch drew something");
        } else {
            prop_assert!(padding_unchanged(info, &orig_a, &da));
            prop_assert!(padding_unchanged(info, &orig_b, &db));
        }
    }
}

#[test]
fn renderer_is_reusable_across_layouts() {
    // One renderer, many frame shapes: scratch reuse must not leak state between calls.
    let s = store(7);
    let mut r = CpuRenderer::new();
    let mut l = DrawList::new();
    l.blur(
        Rect::new(-3.0, -3.0, 500.0, 500.0),
        BlurKind::Box { radius: 3 },
    );
    l.blur(
        Rect::new(-3.0, -3.0, 500.0, 500.0),
        BlurKind::Gaussian { sigma: 1.3 },
    );
    l.blur(
        Rect::new(-3.0, -3.0, 500.0, 500.0),
        BlurKind::Pixelate { block: 5 },
    );
    for (w, h) in [(300u32, 200u32), (7, 5), (257, 190), (1, 1), (300, 200)] {
        let info = FrameInfo::packed(w, h, PixelFormat::Rgba);
        let mut a = buffer(info, 3);
        let mut b = a.clone();
        {
            let mut frames = [HostFrame::new(&mut a, info).expect("frame")];
            r.render(&mut frames, &[&l], &s).expect("render");
        }
        render(info, &mut b, &l, &s).expect("render");
        assert!(a == b, "{w}x{h}: reused renderer differs from a fresh one");
    }
}
