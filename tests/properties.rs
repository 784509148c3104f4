//! Property tests of the CPU renderer on random frames and random (often invalid)
//! draw lists: nothing outside the ops' reach or in row padding changes, alpha 0
//! changes nothing, x bytes never change, nothing panics, and a call with an invalid
//! op leaves every frame of the batch untouched. Text and labels included; and the
//! glyph atlas only grows: earlier glyphs keep their bytes and draw the same.

use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::{
    Anchor, BlurKind, BlurOp, BoxOp, FontId, LabelOp, OverlayOp, Resolved, TextOp, TextStyle,
    resolve_batch,
};
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
    let size = if valid {
        (6u32..=40).boxed()
    } else {
        prop_oneof![6 => 6u32..=40, 1 => prop_oneof![Just(5u32), Just(257)]].boxed()
    };
    let text = prop::sample::select(vec!["person 0.97", "AV\nWa", "x", "", "Ελλ مرحبا"]);
    let style = (
        size,
        color(),
        prop::option::of(color()),
        0u32..=4,
        prop::option::of((1u32..=3, color())),
    )
        .prop_map(|(size, color, bg, pad, halo)| {
            let mut s = TextStyle::new(size, color).padding(pad);
            s.background = bg;
            if let Some((w, c)) = halo {
                s = s.halo(w, c);
            }
            s
        })
        .boxed();
    let texts = (coord(), coord(), text.clone(), any::<bool>(), style.clone()).prop_map(
        |(x, y, text, base, style)| {
            Op::Text(TextOp {
                text: text.into(),
                x,
                y,
                anchor: if base { Anchor::Baseline } else { Anchor::Top },
                style,
            })
        },
    );
    let labels = (rect(), text, style).prop_map(|(rect, text, style)| {
        Op::Label(LabelOp {
            rect,
            text: text.into(),
            style,
        })
    });
    if valid {
        prop_oneof![boxes, blurs, overlays, texts, labels].boxed()
    } else {
        prop_oneof![10 => boxes, 10 => blurs, 10 => overlays, 5 => texts, 5 => labels, 1 => bad_rect]
            .boxed()
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
/// from the resolver): its rectangle grown by stroke, expansion and a rounding pixel;
/// for text, its measured box grown by padding, halo and one em of ink overhang (a
/// label anywhere from the frame's left edge to its box's right).
fn reach(op: &Op, s: &ImageStore) -> PixelRect {
    let text_box = |style: &TextStyle, text: &str| {
        let m = s
            .measure_text(style.font, style.size, text)
            .expect("measurable text");
        let g = (style.padding + style.size + style.halo.map_or(0, |h| h.width)) as f32;
        (m, g)
    };
    let (r, grow) = match op {
        Op::Box(b) => (b.rect, b.border.map_or(0.0, |b| b.width as f32)),
        Op::Blur(b) => (b.rect, b.expand.ceil()),
        Op::Overlay(o) => (o.rect, 0.0),
        Op::Text(t) => {
            let (m, g) = text_box(&t.style, &t.text);
            let top = match t.anchor {
                Anchor::Top => t.y,
                _ => t.y - m.ascent as f32,
            };
            let r = Rect::new(t.x, top, m.width as f32, m.height as f32);
            (r, g)
        }
        Op::Label(l) => {
            let (m, g) = text_box(&l.style, &l.text);
            let h = (m.height + 2 * l.style.padding as i32) as f32;
            let x0 = 0.0f32.min(l.rect.left);
            let x1 = (l.rect.left + l.rect.width.abs()).max(0.0)
                + (m.width + 2 * l.style.padding as i32) as f32;
            let r = Rect::new(x0, l.rect.top - h, x1 - x0, 2.0 * h + l.rect.height.abs());
            (r, g)
        }
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
        let reaches: Vec<PixelRect> = l.ops().iter().map(|o| reach(o, &s)).collect();
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
        // Text of alpha 0 without a background; a label whose every colour is clear.
        let clear_text = TextStyle::new(14, Color::rgba(255, 255, 255, 0)).halo(2, Color::TRANSPARENT);
        l.text(overlay.left, overlay.top, "person 0.97", clear_text);
        l.label(overlay, "car", clear_text.background(Color::rgba(9, 9, 9, 0)));
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

#[test]
fn the_glyph_atlas_only_grows_and_earlier_glyphs_draw_the_same() {
    let s = ImageStore::new();
    let info = FrameInfo::packed(120, 40, PixelFormat::Rgba);
    let draw = |text: &str| {
        let mut l = DrawList::new();
        l.text(
            3.0,
            4.0,
            text,
            TextStyle::new(18, Color::rgba(250, 240, 10, 200)),
        );
        let mut d = buffer(info, 3);
        render(info, &mut d, &l, &s).expect("text renders");
        d
    };
    let first = draw("abc 0.97");
    let atlas = s.fonts().atlas_bytes();
    assert!(!atlas.is_empty());
    // New glyphs, sizes and a halo: the atlas grows ...
    draw("xyz QRST");
    let mut l = DrawList::new();
    l.text(
        0.0,
        0.0,
        "abc",
        TextStyle::new(31, Color::WHITE).halo(3, Color::BLACK),
    );
    render(info, &mut buffer(info, 0), &l, &s).expect("text renders");
    let grown = s.fonts().atlas_bytes();
    assert!(grown.len() > atlas.len());
    // ... without touching a byte of the earlier masks, which still draw the same.
    assert_eq!(&grown[..atlas.len()], &atlas[..]);
    assert_eq!(draw("abc 0.97"), first);
    assert_eq!(
        s.fonts().atlas_len(),
        grown.len(),
        "known glyphs are not added again"
    );
}

#[test]
fn bad_text_input_is_a_typed_error_and_draws_nothing() {
    let s = ImageStore::new();
    let info = FrameInfo::packed(32, 16, PixelFormat::Rgba);
    let ok = |l: &mut DrawList| {
        l.fill(Rect::new(0.0, 0.0, 8.0, 8.0), Color::RED);
    };
    type AddOp = Box<dyn Fn(&mut DrawList)>;
    let cases: Vec<(&str, AddOp)> = vec![
        (
            "size 5",
            Box::new(|l| {
                l.text(0.0, 0.0, "a", TextStyle::new(5, Color::WHITE));
            }),
        ),
        (
            "size 257",
            Box::new(|l| {
                l.text(0.0, 0.0, "a", TextStyle::new(257, Color::WHITE));
            }),
        ),
        (
            "1,000,000 characters",
            Box::new(|l| {
                l.text(0.0, 0.0, "x".repeat(1_000_000), TextStyle::default());
            }),
        ),
        (
            "unknown font",
            Box::new(|l| {
                l.text(0.0, 0.0, "a", TextStyle::default().font(FontId(7)));
            }),
        ),
        (
            "NaN position",
            Box::new(|l| {
                l.text(f32::NAN, 0.0, "a", TextStyle::default());
            }),
        ),
        (
            "halo 4",
            Box::new(|l| {
                l.text(0.0, 0.0, "a", TextStyle::default().halo(4, Color::BLACK));
            }),
        ),
        (
            "padding 1000",
            Box::new(|l| {
                l.text(0.0, 0.0, "a", TextStyle::default().padding(1000));
            }),
        ),
        (
            "label with an infinite box",
            Box::new(|l| {
                l.label(
                    Rect::new(0.0, 0.0, f32::INFINITY, 4.0),
                    "a",
                    TextStyle::default(),
                );
            }),
        ),
    ];
    for (what, add) in cases {
        let mut l = DrawList::new();
        ok(&mut l);
        add(&mut l);
        let orig = buffer(info, 1);
        let mut d = orig.clone();
        let e = render(info, &mut d, &l, &s).expect_err(what);
        assert!(e.to_string().contains("op 1"), "{what}: {e}");
        assert!(d == orig, "{what}: something was drawn");
    }
}
