//! Shapes against outside oracles and properties: filled polygons (no anti-aliasing)
//! against a span rasteriser of the even/odd rule written here (the same as non-zero
//! for simple polygons), circles against their definition, reversed polygons, nothing
//! outside an op's bounding box, alpha 0, and bad input as typed errors.

use cudadraw::draw::{
    ArrowEnds, ArrowOp, Cap, EllipseOp, LineOp, PointOp, PolygonOp, PolylineOp, RotatedBoxOp,
    Stroke,
};
use cudadraw::geom::Point;
use cudadraw::render::Renderer;
use cudadraw::{Align, Color, DrawList, FrameInfo, HostFrame, Op, PixelFormat};
use proptest::prelude::*;

const W: u32 = 96;
const H: u32 = 72;

fn render(l: &DrawList, bg: u8) -> cudadraw::Result<Vec<u8>> {
    let mut px = vec![bg; (W * H * 4) as usize];
    let info = FrameInfo::packed(W, H, PixelFormat::Rgba);
    Renderer::new().render_host(&mut [HostFrame::new(&mut px, info)?], &[l])?;
    Ok(px)
}

fn covered(px: &[u8], x: u32, y: u32) -> bool {
    px[((y * W + x) * 4) as usize] == 255
}

/// Pixels whose centre lies inside the polygon by the even/odd rule: per row, the
/// crossings of the centre line with every edge that spans it (upper end in, lower
/// end out), sorted, filling [x0, x1), [x2, x3)... between pairs. Exact rationals.
fn even_odd(points: &[(i64, i64)]) -> Vec<bool> {
    let mut inside = vec![false; (W * H) as usize];
    for y in 0..H as i64 {
        let sy = 256 * y + 128;
        // Crossing x = num / den (den > 0), in 1/256 px.
        let mut xs: Vec<(i128, i128)> = Vec::new();
        for i in 0..points.len() {
            let (a, b) = (points[i], points[(i + 1) % points.len()]);
            let (top, bot) = if a.1 < b.1 { (a, b) } else { (b, a) };
            if top.1 == bot.1 || sy < top.1 || sy >= bot.1 {
                continue;
            }
            let den = i128::from(bot.1 - top.1);
            let num = i128::from(top.0) * den + i128::from(sy - top.1) * i128::from(bot.0 - top.0);
            xs.push((num, den));
        }
        xs.sort_by(|p, q| (p.0 * q.1).cmp(&(q.0 * p.1)));
        for pair in xs.chunks(2) {
            let [(n0, d0), (n1, d1)] = [pair[0], pair[1]];
            for x in 0..W as i64 {
                let sx = i128::from(256 * x + 128);
                // x0 <= sx < x1
                if n0 <= sx * d0 && sx * d1 < n1 {
                    inside[(y * W as i64 + x) as usize] = true;
                }
            }
        }
    }
    inside
}

/// A random simple polygon: vertices around a centre at increasing angles, on the
/// 1/256 px grid (so the f32 inputs are exact).
fn star(seed: u64, n: usize) -> Vec<(i64, i64)> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (cx, cy) = (
        48.0 * 256.0 + (next() % 2000) as f64,
        36.0 * 256.0 + (next() % 2000) as f64,
    );
    (0..n)
        .map(|k| {
            let a =
                std::f64::consts::TAU * (k as f64 + 0.5 * (next() % 100) as f64 / 100.0) / n as f64;
            let r = 256.0 * (6.0 + (next() % 3500) as f64 / 100.0);
            (
                (cx + r * a.cos()).round() as i64,
                (cy + r * a.sin()).round() as i64,
            )
        })
        .collect()
}

fn pts(p: &[(i64, i64)]) -> Vec<Point> {
    p.iter()
        .map(|&(x, y)| Point::new(x as f32 / 256.0, y as f32 / 256.0))
        .collect()
}

#[test]
fn filled_polygons_match_an_even_odd_span_rasteriser() {
    for seed in 0..200u64 {
        let poly = star(seed * 7919 + 1, 3 + (seed as usize % 40));
        let mut l = DrawList::new();
        l.polygon(pts(&poly), Some(Color::WHITE), None);
        let px = render(&l, 0).unwrap();
        let want = even_odd(&poly);
        for y in 0..H {
            for x in 0..W {
                assert_eq!(
                    covered(&px, x, y),
                    want[(y * W + x) as usize],
                    "seed {seed}: pixel ({x}, {y}) of {poly:?}"
                );
            }
        }
    }
}

#[test]
fn circles_cover_exactly_the_pixels_their_definition_names() {
    for k in 0..150i64 {
        // Centre and radius on the 1/256 grid: the f64 definition is exact.
        let (cx, cy) = (256 * 20 + k * 97 % 12000, 256 * 20 + k * 61 % 9000);
        let r = 64 + k * 131 % 7000;
        let mut l = DrawList::new();
        l.push(EllipseOp {
            center: Point::new(cx as f32 / 256.0, cy as f32 / 256.0),
            rx: r as f32 / 256.0,
            ry: r as f32 / 256.0,
            outline: None,
            align: Align::Inside,
            fill: Some(Color::WHITE),
            aa: false,
        });
        let px = render(&l, 0).unwrap();
        for y in 0..H {
            for x in 0..W {
                let dx = (f64::from(x) + 0.5) - cx as f64 / 256.0;
                let dy = (f64::from(y) + 0.5) - cy as f64 / 256.0;
                let rr = r as f64 / 256.0;
                assert_eq!(
                    covered(&px, x, y),
                    dx * dx + dy * dy <= rr * rr,
                    "circle {k}: pixel ({x}, {y})"
                );
            }
        }
    }
}

fn point() -> impl Strategy<Value = Point> {
    (-30.0f32..130.0, -30.0f32..100.0).prop_map(|(x, y)| Point::new(x, y))
}

fn color() -> impl Strategy<Value = Color> {
    (any::<[u8; 3]>(), 1u8..=255).prop_map(|(c, a)| Color::rgba(c[0], c[1], c[2], a))
}

fn shape() -> impl Strategy<Value = Op> {
    let stroke = (0.5f32..12.0, color())
        .prop_map(|(w, c)| Stroke::new(w, c))
        .boxed();
    prop_oneof![
        (
            point(),
            point(),
            0.5f32..20.0,
            color(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(from, to, width, color, round, aa)| Op::Line(LineOp {
                from,
                to,
                width,
                color,
                cap: if round { Cap::Round } else { Cap::Flat },
                aa
            })),
        (
            prop::collection::vec(point(), 1..12),
            any::<bool>(),
            0.5f32..10.0,
            color(),
            any::<bool>()
        )
            .prop_map(
                |(points, closed, width, color, aa)| Op::Polyline(PolylineOp {
                    points,
                    closed,
                    width,
                    color,
                    cap: Cap::Round,
                    aa
                })
            ),
        (
            prop::collection::vec(point(), 3..20),
            color(),
            prop::option::of(stroke.clone()),
            any::<bool>()
        )
            .prop_map(|(points, c, outline, aa)| Op::Polygon(PolygonOp {
                points,
                fill: Some(c),
                outline,
                aa
            })),
        (
            point(),
            point(),
            0.5f32..8.0,
            color(),
            0.0f32..30.0,
            5.0f32..80.0,
            any::<bool>()
        )
            .prop_map(|(from, to, width, color, head_length, head_angle, aa)| {
                Op::Arrow(ArrowOp {
                    from,
                    to,
                    width,
                    color,
                    head_length,
                    head_angle,
                    ends: ArrowEnds::Both,
                    aa,
                })
            }),
        (
            point(),
            0.0f32..60.0,
            0.0f32..60.0,
            prop::option::of(stroke.clone()),
            prop::option::of(color()),
            any::<bool>()
        )
            .prop_map(
                |(center, rx, ry, outline, fill, aa)| Op::Ellipse(EllipseOp {
                    center,
                    rx,
                    ry,
                    outline,
                    align: Align::Outside,
                    fill,
                    aa
                })
            ),
        (
            point(),
            0.0f32..80.0,
            0.0f32..80.0,
            -400.0f32..400.0,
            prop::option::of(stroke),
            prop::option::of(color()),
            any::<bool>()
        )
            .prop_map(|(center, width, height, angle, outline, fill, aa)| {
                Op::RotatedBox(RotatedBoxOp {
                    center,
                    width,
                    height,
                    angle,
                    outline,
                    fill,
                    aa,
                })
            }),
        (point(), 0.0f32..30.0, color(), any::<bool>()).prop_map(|(center, radius, color, aa)| {
            Op::Point(PointOp {
                center,
                radius,
                color,
                aa,
            })
        }),
    ]
}

/// Everything an op may reach: its points grown by its stroke, radii and head.
fn reach(op: &Op) -> (f32, f32, f32, f32) {
    let grow = |ps: &[Point], g: f32| {
        let (mut a, mut b, mut c, mut d) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in ps {
            a = a.min(p.x);
            b = b.min(p.y);
            c = c.max(p.x);
            d = d.max(p.y);
        }
        (a - g - 1.0, b - g - 1.0, c + g + 1.0, d + g + 1.0)
    };
    match op {
        Op::Line(l) => grow(&[l.from, l.to], l.width),
        Op::Polyline(p) => grow(&p.points, p.width),
        Op::Polygon(p) => grow(&p.points, p.outline.map_or(0.0, |s| s.width)),
        Op::Arrow(a) => grow(&[a.from, a.to], a.width + a.head_length * 6.0),
        Op::Ellipse(e) => {
            let t = e.outline.map_or(0.0, |s| s.width);
            grow(&[e.center], e.rx.max(e.ry) + t)
        }
        Op::RotatedBox(b) => grow(&[b.center], b.width.hypot(b.height) / 2.0),
        Op::Point(p) => grow(&[p.center], p.radius),
        _ => unreachable!(),
    }
}

fn reversed(op: &Op) -> Op {
    match op {
        Op::Polygon(p) => Op::Polygon(PolygonOp {
            points: p.points.iter().rev().copied().collect(),
            ..p.clone()
        }),
        Op::Polyline(p) => Op::Polyline(PolylineOp {
            points: p.points.iter().rev().copied().collect(),
            ..p.clone()
        }),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn nothing_outside_an_ops_reach_changes(op in shape()) {
        let mut l = DrawList::new();
        l.push(op.clone());
        let px = render(&l, 7).expect("valid shape");
        let (x0, y0, x1, y1) = reach(&op);
        for y in 0..H {
            for x in 0..W {
                let changed = px[((y * W + x) * 4) as usize..][..4] != [7; 4];
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                prop_assert!(!changed || (fx >= x0 && fx <= x1 && fy >= y0 && fy <= y1),
                    "({x}, {y}) changed outside {:?}", (x0, y0, x1, y1));
            }
        }
    }

    #[test]
    fn a_reversed_polygon_or_polyline_draws_the_same(op in shape()) {
        let (mut a, mut b) = (DrawList::new(), DrawList::new());
        a.push(op.clone());
        b.push(reversed(&op));
        prop_assert_eq!(render(&a, 9).expect("valid"), render(&b, 9).expect("valid"));
    }

    #[test]
    fn alpha_zero_changes_nothing(op in shape()) {
        let clear = |c: Color| Color { a: 0, ..c };
        let op = match op {
            Op::Line(l) => Op::Line(LineOp { color: clear(l.color), ..l }),
            Op::Polyline(p) => Op::Polyline(PolylineOp { color: clear(p.color), ..p }),
            Op::Polygon(p) => Op::Polygon(PolygonOp {
                fill: p.fill.map(clear),
                outline: p.outline.map(|s| Stroke::new(s.width, clear(s.color))),
                ..p
            }),
            Op::Arrow(a) => Op::Arrow(ArrowOp { color: clear(a.color), ..a }),
            Op::Ellipse(e) => Op::Ellipse(EllipseOp {
                fill: e.fill.map(clear),
                outline: e.outline.map(|s| Stroke::new(s.width, clear(s.color))),
                ..e
            }),
            Op::RotatedBox(b) => Op::RotatedBox(RotatedBoxOp {
                fill: b.fill.map(clear),
                outline: b.outline.map(|s| Stroke::new(s.width, clear(s.color))),
                ..b
            }),
            Op::Point(p) => Op::Point(PointOp { color: clear(p.color), ..p }),
            other => other,
        };
        let mut l = DrawList::new();
        l.push(op);
        prop_assert!(render(&l, 5).expect("valid").iter().all(|&b| b == 5));
    }
}

#[test]
fn bad_shapes_are_typed_errors_and_draw_nothing() {
    let p = Point::new;
    let nan = Point::new(f32::NAN, 1.0);
    let cases: Vec<(&str, Op)> = vec![
        (
            "NaN point",
            Op::Line(LineOp {
                from: nan,
                to: p(1.0, 1.0),
                width: 1.0,
                color: Color::RED,
                cap: Cap::Flat,
                aa: false,
            }),
        ),
        (
            "infinite point",
            Op::Point(PointOp {
                center: p(f32::INFINITY, 0.0),
                radius: 2.0,
                color: Color::RED,
                aa: false,
            }),
        ),
        (
            "zero width",
            Op::Line(LineOp {
                from: p(0.0, 0.0),
                to: p(1.0, 1.0),
                width: 0.0,
                color: Color::RED,
                cap: Cap::Flat,
                aa: false,
            }),
        ),
        (
            "width 2000",
            Op::Polyline(PolylineOp {
                points: vec![p(0.0, 0.0), p(5.0, 5.0)],
                closed: false,
                width: 2000.0,
                color: Color::RED,
                cap: Cap::Flat,
                aa: false,
            }),
        ),
        (
            "polygon of 2 points",
            Op::Polygon(PolygonOp {
                points: vec![p(0.0, 0.0), p(5.0, 5.0)],
                fill: Some(Color::RED),
                outline: None,
                aa: false,
            }),
        ),
        (
            "polygon of 0 points",
            Op::Polygon(PolygonOp {
                points: vec![],
                fill: Some(Color::RED),
                outline: None,
                aa: false,
            }),
        ),
        (
            "polyline of 0 points",
            Op::Polyline(PolylineOp {
                points: vec![],
                closed: false,
                width: 1.0,
                color: Color::RED,
                cap: Cap::Flat,
                aa: false,
            }),
        ),
        (
            "20000 vertices",
            Op::Polygon(PolygonOp {
                points: vec![p(1.0, 1.0); 20_000],
                fill: Some(Color::RED),
                outline: None,
                aa: false,
            }),
        ),
        (
            "negative radius",
            Op::Ellipse(EllipseOp {
                center: p(5.0, 5.0),
                rx: -1.0,
                ry: 2.0,
                outline: None,
                align: Align::Inside,
                fill: Some(Color::RED),
                aa: false,
            }),
        ),
        (
            "head angle 90",
            Op::Arrow(ArrowOp {
                from: p(0.0, 0.0),
                to: p(9.0, 9.0),
                width: 1.0,
                color: Color::RED,
                head_length: 4.0,
                head_angle: 90.0,
                ends: ArrowEnds::End,
                aa: false,
            }),
        ),
        (
            "NaN angle",
            Op::RotatedBox(RotatedBoxOp {
                center: p(5.0, 5.0),
                width: 3.0,
                height: 3.0,
                angle: f32::NAN,
                outline: None,
                fill: Some(Color::RED),
                aa: false,
            }),
        ),
    ];
    for (what, op) in cases {
        let mut l = DrawList::new();
        l.fill(cudadraw::Rect::new(0.0, 0.0, 8.0, 8.0), Color::GREEN);
        l.push(op);
        let e = render(&l, 3).expect_err(what);
        assert!(e.to_string().contains("op 1"), "{what}: {e}");
    }
}

#[test]
fn bad_masks_are_typed_errors_and_draw_nothing() {
    use cudadraw::draw::{ClassMapOp, DeviceMask, MaskOp, MaskSource, MaskType, MaskValues};
    let r = cudadraw::Rect::new(2.0, 2.0, 20.0, 20.0);
    let mask = |mask: MaskSource, threshold: f32| {
        Op::Mask(MaskOp {
            rect: r,
            mask,
            threshold,
            color: Color::WHITE,
            filter: cudadraw::Filter::Bilinear,
            contour: None,
        })
    };
    let f32s = |n: usize| MaskValues::F32(vec![0.7; n].into());
    // SAFETY: never dereferenced: the CPU refuses device masks before drawing.
    let dev = unsafe { DeviceMask::new(0x1000, 64, 16, 16, MaskType::F32) };
    let cases: Vec<(&str, Op)> = vec![
        (
            "device mask on host frames",
            mask(MaskSource::Device(dev), 0.5),
        ),
        (
            "too few values",
            mask(MaskSource::host(4, 4, f32s(15)), 0.5),
        ),
        ("0 x 4 mask", mask(MaskSource::host(0, 4, f32s(0)), 0.5)),
        (
            "mask side 9000",
            mask(MaskSource::host(9000, 1, f32s(9000)), 0.5),
        ),
        (
            "NaN threshold",
            mask(MaskSource::host(1, 1, f32s(1)), f32::NAN),
        ),
        ("threshold 2", mask(MaskSource::host(1, 1, f32s(1)), 2.0)),
        (
            "i32 instance mask",
            mask(MaskSource::host(1, 1, MaskValues::I32(vec![1].into())), 0.5),
        ),
        (
            "f32 class map",
            Op::ClassMap(ClassMapOp {
                rect: r,
                map: MaskSource::host(1, 1, f32s(1)),
                palette: vec![Color::RED].into(),
            }),
        ),
        (
            "empty palette",
            Op::ClassMap(ClassMapOp {
                rect: r,
                map: MaskSource::host(1, 1, MaskValues::U8(vec![0].into())),
                palette: Vec::new().into(),
            }),
        ),
        (
            "null device class map",
            Op::ClassMap(ClassMapOp {
                rect: r,
                // SAFETY: refused (null) before any use.
                map: MaskSource::Device(unsafe { DeviceMask::new(0, 4, 4, 4, MaskType::U8) }),
                palette: vec![Color::RED].into(),
            }),
        ),
    ];
    for (what, op) in cases {
        let mut l = DrawList::new();
        l.fill(cudadraw::Rect::new(0.0, 0.0, 8.0, 8.0), Color::GREEN);
        l.push(op);
        let e = render(&l, 3).expect_err(what);
        assert!(
            e.to_string().contains("op 1") || what.contains("device"),
            "{what}: {e}"
        );
        let mut px = vec![3u8; (W * H * 4) as usize];
        let info = FrameInfo::packed(W, H, PixelFormat::Rgba);
        let _ = Renderer::new().render_host(&mut [HostFrame::new(&mut px, info).unwrap()], &[&l]);
        assert!(px.iter().all(|&b| b == 3), "{what}: drawn anyway");
    }
}
