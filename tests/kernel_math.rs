//! The kernels' per-pixel arithmetic (kernels/common.cuh: the packed blend, overlay
//! sampling in 1/256 steps, opacity, text coverage and its blend) compiled for the host with the machine's C++
//! compiler and compared with the CPU renderer byte for byte. Catches kernel math
//! mistakes on CI, without a GPU; the GPU suites compare whole frames.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cudadraw::render::Renderer;
use cudadraw::{Color, DrawList, FrameInfo, HostFrame, Image, PixelFormat, Rect};
use rand::{Rng, SeedableRng};

/// The checker binary, compiled once per test process (the tests run in parallel).
fn checker() -> PathBuf {
    static EXE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    EXE.get_or_init(compile).clone()
}

fn compile() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = std::env::temp_dir().join(format!("cudadraw-kernel-math-{}", std::process::id()));
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let out = Command::new(&cxx)
        .args(["-O2", "-std=c++17", "-Wall", "-Werror", "-I"])
        .arg(root.join("kernels"))
        .arg(root.join("tests/kernel_math/check.cpp"))
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cxx}: {e}"));
    assert!(
        out.status.success(),
        "compiling kernels/common.cuh for the host failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn run(exe: &PathBuf, mode: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(exe)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the checker");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "checker {mode} failed");
    out.stdout
}

#[test]
fn blur_means_divide_exactly_by_multiply_and_shift() {
    // kernels/common.cuh `div24`: the box blurs' window means on the GPU.
    let got = run(&checker(), "div24", &[]);
    assert_eq!(String::from_utf8_lossy(&got), "0", "wrong quotients");
}

#[test]
fn tile_positions_divide_exactly_through_floats() {
    // kernels/common.cuh `div_small`: the composite blocks' tile row and column.
    let got = run(&checker(), "div_small", &[]);
    assert_eq!(String::from_utf8_lossy(&got), "0", "wrong quotients");
}

#[test]
fn packed_blend_equals_the_cpu_renderer_for_every_colour_alpha_and_pixel() {
    let exe = checker();
    let got = run(&exe, "blend", &[]);
    assert_eq!(got.len(), 256 * 256 * 256 * 2);
    let mut r = Renderer::new();
    let info = FrameInfo::packed(256, 256, PixelFormat::Rgba);
    for c in 0..256usize {
        // Pixel (x, y) is [x; 4]; row y gets colour c with alpha y.
        let mut px: Vec<u8> = (0..256 * 256).flat_map(|i| [(i % 256) as u8; 4]).collect();
        let mut l = DrawList::with_capacity(256);
        for a in 0..256 {
            let col = Color::rgba(c as u8, c as u8, c as u8, a as u8);
            l.fill(Rect::new(0.0, a as f32, 256.0, 1.0), col);
        }
        r.render_host(&mut [HostFrame::new(&mut px, info).unwrap()], &[l])
            .unwrap();
        for a in 0..256usize {
            for d in 0..256usize {
                let k = ((c * 256 + a) * 256 + d) * 2;
                let cpu = &px[(a * 256 + d) * 4..][..4];
                assert_eq!(
                    [got[k], got[k + 1]],
                    [cpu[0], cpu[3]],
                    "c {c}, a {a}, d {d}: kernel math vs CPU renderer"
                );
            }
        }
    }
}

#[test]
fn overlay_sampling_and_opacity_equal_the_cpu_renderer() {
    let exe = checker();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for case in 0..300 {
        let (iw, ih) = (rng.random_range(1..=17u32), rng.random_range(1..=17u32));
        let (dw, dh) = (rng.random_range(1..=40u32), rng.random_range(1..=40u32));
        let img: Vec<u8> = (0..iw * ih * 4).map(|_| rng.random()).collect();
        let bg: Vec<u8> = (0..dw * dh * 4).map(|_| rng.random()).collect();
        let opacity: f32 = if case % 5 == 0 { 1.0 } else { rng.random() };
        let m = (f64::from(opacity) * 255.0).round() as u32;
        let nearest = case % 2 == 0;

        let mut input = Vec::new();
        for v in [iw, ih] {
            input.extend_from_slice(&v.to_ne_bytes());
        }
        input.extend_from_slice(&img);
        for v in [dw, dh, m, u32::from(nearest)] {
            input.extend_from_slice(&v.to_ne_bytes());
        }
        input.extend_from_slice(&bg);
        let got = run(&exe, "overlay", &input);

        let mut r = Renderer::new();
        let id = r.add_image(Image::new(iw, ih, img.clone()).unwrap());
        let mut want = bg.clone();
        let mut l = DrawList::new();
        l.push(cudadraw::draw::OverlayOp {
            image: id,
            rect: Rect::new(0.0, 0.0, dw as f32, dh as f32),
            opacity,
            filter: if nearest {
                cudadraw::Filter::Nearest
            } else {
                cudadraw::Filter::Bilinear
            },
        });
        let info = FrameInfo::packed(dw, dh, PixelFormat::Rgba);
        r.render_host(&mut [HostFrame::new(&mut want, info).unwrap()], &[l])
            .unwrap();
        assert_eq!(
            got, want,
            "case {case}: {iw}x{ih} image into {dw}x{dh}, m {m}, nearest {nearest}"
        );
    }
}

#[test]
fn text_coverage_and_blend_equal_the_cpu_renderer() {
    use cudadraw::draw::TextStyle;
    let exe = checker();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let (w, h) = (96u32, 48u32);
    let texts = ["person 0.97", "AVAW fi", "Wg\nqy", "مرحبا", "0.5 id 17"];
    let mut drawn = 0;
    for case in 0..40 {
        let mut r = Renderer::new();
        let color = Color::rgba(rng.random(), rng.random(), rng.random(), rng.random());
        let style = TextStyle::new(rng.random_range(6..=40u32), color);
        let text = texts[case % texts.len()];
        let (x, y) = (
            rng.random_range(-10.0..60.0f32),
            rng.random_range(-10.0..30.0f32),
        );
        let mut l = DrawList::new();
        l.text(x, y, text, style);
        let bg: Vec<u8> = (0..w * h * 4).map(|_| rng.random()).collect();
        let mut want = bg.clone();
        let info = FrameInfo::packed(w, h, PixelFormat::Rgba);
        r.render_host(&mut [HostFrame::new(&mut want, info).unwrap()], &[l])
            .unwrap();
        let resolved = r.last_resolved();
        let glyphs = resolved.glyphs();
        let atlas = r.images().fonts().atlas_bytes();
        let cmds = resolved.cmds();
        assert!(cmds.len() <= 1, "one glyph layer");
        let mut input = Vec::new();
        let col = u32::from_le_bytes([color.r, color.g, color.b, color.a]);
        for v in [w, h, col, glyphs.len() as u32] {
            input.extend_from_slice(&v.to_ne_bytes());
        }
        input.extend_from_slice(bytemuck::cast_slice(glyphs));
        input.extend_from_slice(&(atlas.len() as u32).to_ne_bytes());
        input.extend_from_slice(&atlas);
        input.extend_from_slice(&bg);
        let got = run(&exe, "text", &input);
        assert_eq!(
            got, want,
            "case {case}: {text:?} at ({x}, {y}) in {style:?}"
        );
        drawn += usize::from(want != bg);
    }
    assert!(drawn >= 30, "only {drawn} of 40 cases drew anything");
}

#[test]
fn shape_coverage_equals_the_cpu_renderer() {
    use cudadraw::draw::{
        ArrowEnds, ArrowOp, Cap, EllipseOp, LineOp, PointOp, PolygonOp, PolylineOp, RotatedBoxOp,
        Stroke,
    };
    use cudadraw::geom::Point;
    let exe = checker();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let (w, h) = (64u32, 48u32);
    let mut drawn = 0;
    for case in 0..160 {
        let mut r = Renderer::new();
        // The last 40 cases reach far outside the frame (thresholds clamped, long edges).
        let far = if case >= 120 { 3000.0 } else { 16.0 };
        let pnt = |rng: &mut rand_chacha::ChaCha8Rng| {
            Point::new(
                rng.random_range(-far..64.0 + far),
                rng.random_range(-far..48.0 + far),
            )
        };
        let color = Color::rgba(
            rng.random(),
            rng.random(),
            rng.random(),
            rng.random_range(1..=255),
        );
        let aa = case % 2 == 1;
        let stroke = Stroke::new(
            rng.random_range(0.5..9.0f32),
            Color::rgba(255, 255, 255, 200),
        );
        let mut l = DrawList::new();
        match case % 8 {
            0 => l.push(LineOp {
                from: pnt(&mut rng),
                to: pnt(&mut rng),
                width: rng.random_range(0.5..12.0),
                color,
                cap: if rng.random_bool(0.5) {
                    Cap::Round
                } else {
                    Cap::Flat
                },
                aa,
            }),
            1 => l.push(PolylineOp {
                points: (0..rng.random_range(1..12))
                    .map(|_| pnt(&mut rng))
                    .collect(),
                closed: rng.random_bool(0.3),
                width: rng.random_range(0.5..8.0),
                color,
                cap: Cap::Round,
                aa,
            }),
            2 => l.push(PolygonOp {
                points: (0..rng.random_range(3..30))
                    .map(|_| pnt(&mut rng))
                    .collect(),
                fill: Some(color),
                outline: rng.random_bool(0.5).then_some(stroke),
                aa,
            }),
            3 => l.push(ArrowOp {
                from: pnt(&mut rng),
                to: pnt(&mut rng),
                width: rng.random_range(1.0..6.0),
                color,
                head_length: rng.random_range(2.0..20.0),
                head_angle: rng.random_range(10.0..60.0),
                ends: ArrowEnds::Both,
                aa,
            }),
            4 | 5 => l.push(EllipseOp {
                center: pnt(&mut rng),
                rx: rng.random_range(0.0..40.0),
                ry: rng.random_range(0.0..40.0),
                outline: rng.random_bool(0.7).then_some(stroke),
                align: cudadraw::Align::Center,
                fill: rng.random_bool(0.7).then_some(color),
                aa,
            }),
            6 => l.push(RotatedBoxOp {
                center: pnt(&mut rng),
                width: rng.random_range(0.0..50.0),
                height: rng.random_range(0.0..50.0),
                angle: rng.random_range(-180.0..180.0),
                outline: rng.random_bool(0.6).then_some(stroke),
                fill: Some(color),
                aa,
            }),
            _ => l.push(PointOp {
                center: pnt(&mut rng),
                radius: rng.random_range(0.0..10.0),
                color,
                aa,
            }),
        };
        let bg: Vec<u8> = (0..w * h * 4).map(|_| rng.random()).collect();
        let mut want = bg.clone();
        let info = FrameInfo::packed(w, h, PixelFormat::Rgba);
        r.render_host(
            &mut [HostFrame::new(&mut want, info).unwrap()],
            &[l.clone()],
        )
        .unwrap();
        let res = r.last_resolved();
        let (edges, discs, bands, items) = res.shape_geometry();
        let mut input = Vec::new();
        for v in [w, h] {
            input.extend_from_slice(&v.to_ne_bytes());
        }
        let mut array = |bytes: &[u8], n: usize| {
            input.extend_from_slice(&(n as u32).to_ne_bytes());
            input.extend_from_slice(bytes);
        };
        array(bytemuck::cast_slice(res.cmds()), res.cmds().len());
        array(bytemuck::cast_slice(res.shapes()), res.shapes().len());
        array(bytemuck::cast_slice(edges), edges.len());
        array(bytemuck::cast_slice(discs), discs.len());
        array(bytemuck::cast_slice(bands), bands.len());
        array(bytemuck::cast_slice(items), items.len());
        input.extend_from_slice(&bg);
        for mode in ["shapes", "shape_rows"] {
            let got = run(&exe, mode, &input);
            assert_eq!(got, want, "{mode}, case {case}: {l:?}");
        }
        drawn += usize::from(want != bg);
    }
    assert!(drawn >= 80, "only {drawn} of 160 cases drew anything");
}

#[test]
fn half_and_float_masks_quantise_like_the_host() {
    let exe = checker();
    let got = run(&exe, "half", &[]);
    assert_eq!(got.len(), 65536 * 2);
    for h in 0..=u16::MAX {
        let want = cudadraw::draw::mask::q16_f32(half::f16::from_bits(h).to_f32());
        let k = h as usize * 2;
        assert_eq!(
            u16::from_ne_bytes([got[k], got[k + 1]]),
            want,
            "half bits {h:#06x}"
        );
    }
}

#[test]
fn masks_and_class_maps_equal_the_cpu_renderer() {
    use cudadraw::draw::{ClassMapOp, MaskOp, MaskSource, MaskValues};
    use std::sync::Arc;
    let exe = checker();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let (w, h) = (64u32, 48u32);
    let mut drawn = 0;
    for case in 0..120 {
        let (mw, mh) = (rng.random_range(1..=24u32), rng.random_range(1..=24u32));
        let n = (mw * mh) as usize;
        let rect = cudadraw::Rect::new(
            rng.random_range(-20.0..50.0),
            rng.random_range(-20.0..40.0),
            rng.random_range(1.0..70.0),
            rng.random_range(1.0..60.0),
        );
        let mut l = DrawList::new();
        if case % 4 == 3 {
            let ids: Arc<[i32]> = (0..n).map(|_| rng.random_range(-1..6)).collect();
            let palette: Vec<Color> = (0..4)
                .map(|_| Color::rgba(rng.random(), rng.random(), rng.random(), rng.random()))
                .collect();
            l.push(ClassMapOp {
                rect,
                map: MaskSource::host(mw, mh, MaskValues::I32(ids)),
                palette: palette.into(),
            });
        } else {
            let values = match case % 3 {
                0 => MaskValues::U8((0..n).map(|_| rng.random()).collect()),
                1 => MaskValues::F16(
                    (0..n)
                        .map(|_| half::f16::from_f32(rng.random_range(-0.2..1.2)))
                        .collect(),
                ),
                _ => MaskValues::F32((0..n).map(|_| rng.random_range(-0.2..1.2)).collect()),
            };
            l.push(MaskOp {
                rect,
                mask: MaskSource::host(mw, mh, values),
                threshold: [0.0, 0.5, 1.0, 0.25][case % 4],
                color: Color::rgba(rng.random(), rng.random(), rng.random(), rng.random()),
                filter: if case % 2 == 0 {
                    cudadraw::Filter::Bilinear
                } else {
                    cudadraw::Filter::Nearest
                },
                contour: (case % 5 < 2).then(|| Color::rgba(255, 255, 0, 200)),
            });
        }
        let bg: Vec<u8> = (0..w * h * 4).map(|_| rng.random()).collect();
        let mut want = bg.clone();
        let info = FrameInfo::packed(w, h, PixelFormat::Rgba);
        let mut r = Renderer::new();
        r.render_host(
            &mut [HostFrame::new(&mut want, info).unwrap()],
            &[l.clone()],
        )
        .unwrap();
        let res = r.last_resolved();
        let (masks, data, palette) = res.mask_geometry();
        let mut input = Vec::new();
        for v in [w, h] {
            input.extend_from_slice(&v.to_ne_bytes());
        }
        let mut array = |bytes: &[u8], n: usize| {
            input.extend_from_slice(&(n as u32).to_ne_bytes());
            input.extend_from_slice(bytes);
        };
        array(bytemuck::cast_slice(res.cmds()), res.cmds().len());
        array(bytemuck::cast_slice(masks), masks.len());
        array(data, data.len());
        array(bytemuck::cast_slice(palette), palette.len());
        input.extend_from_slice(&bg);
        let got = run(&exe, "masks", &input);
        assert_eq!(got, want, "case {case}: {l:?}");
        drawn += usize::from(want != bg);
    }
    assert!(drawn >= 60, "only {drawn} of 120 cases drew anything");
}

#[test]
fn planar_blocks_equal_the_cpu_renderer() {
    use cudadraw::cmd::CdPlanar;
    use cudadraw::cpu::CpuRenderer;
    use cudadraw::draw::{
        BlurKind, Cap, EllipseOp, ImageStore, LineOp, PolygonOp, Stroke, TextStyle,
    };
    use cudadraw::geom::Point;
    use cudadraw::planar::{
        PlanarFrame, PlanarInfo, PlanarLayout, Plane, YuvConv, YuvMatrix, YuvRange,
    };
    let exe = checker();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    let mut drawn = 0;
    let cases = 60;
    for case in 0..cases {
        let (w, h) = (rng.random_range(1..80u32), rng.random_range(1..60u32));
        let layout = if case % 2 == 0 {
            PlanarLayout::Nv12
        } else {
            PlanarLayout::I420
        };
        let matrix = [YuvMatrix::Bt601, YuvMatrix::Bt709, YuvMatrix::Bt2020][case % 3];
        let range = if case % 4 < 2 {
            YuvRange::Limited
        } else {
            YuvRange::Full
        };
        let mut info = PlanarInfo::tight(w, h, layout).with_colour(matrix, range);
        if case % 3 == 1 {
            // Padded pitches, gaps, odd offsets.
            let mut at = 5;
            for i in 0..layout.planes() {
                let (row, rows) = info.plane_extent(i);
                let pitch = row + 1 + 2 * i;
                info.planes[i] = Some(Plane { offset: at, pitch });
                at += pitch * rows + 3;
            }
        }
        let col = |rng: &mut rand_chacha::ChaCha8Rng| {
            Color::rgba(rng.random(), rng.random(), rng.random(), rng.random())
        };
        let pnt = |rng: &mut rand_chacha::ChaCha8Rng| {
            Point::new(
                rng.random_range(-10.0..90.0f32),
                rng.random_range(-10.0..70.0f32),
            )
        };
        let mut l = DrawList::new();
        for _ in 0..rng.random_range(1..6) {
            let r = Rect::new(
                rng.random_range(-10.0..70.0),
                rng.random_range(-10.0..50.0),
                rng.random_range(0.0..40.0),
                rng.random_range(0.0..40.0),
            );
            match rng.random_range(0..7) {
                0 => {
                    l.fill(r, col(&mut rng));
                }
                1 => {
                    let b = cudadraw::Border::new(rng.random_range(1..6), col(&mut rng));
                    let fill = rng.random_bool(0.5).then(|| col(&mut rng));
                    l.rect(r, Some(b), fill);
                }
                2 => {
                    let color = col(&mut rng);
                    l.blur(r, BlurKind::Solid { color });
                }
                3 => {
                    l.push(LineOp {
                        from: pnt(&mut rng),
                        to: pnt(&mut rng),
                        width: rng.random_range(0.5..8.0),
                        color: col(&mut rng),
                        cap: Cap::Round,
                        aa: rng.random_bool(0.5),
                    });
                }
                4 => {
                    l.push(PolygonOp {
                        points: (0..rng.random_range(3..9)).map(|_| pnt(&mut rng)).collect(),
                        fill: Some(col(&mut rng)),
                        outline: rng
                            .random_bool(0.5)
                            .then(|| Stroke::new(2.0, col(&mut rng))),
                        aa: rng.random_bool(0.5),
                    });
                }
                5 => {
                    l.push(EllipseOp {
                        center: pnt(&mut rng),
                        rx: rng.random_range(0.0..30.0),
                        ry: rng.random_range(0.0..30.0),
                        outline: Some(Stroke::new(2.0, col(&mut rng))),
                        align: cudadraw::Align::Center,
                        fill: rng.random_bool(0.5).then(|| col(&mut rng)),
                        aa: true,
                    });
                }
                _ => {
                    let style = TextStyle::new(rng.random_range(6..=24u32), col(&mut rng));
                    l.text(r.left, r.top, "Wg 0.97", style);
                }
            }
        }
        let bg: Vec<u8> = (0..info.min_len() + 3).map(|_| rng.random()).collect();
        let mut want = bg.clone();
        let store = ImageStore::new();
        let mut cpu = CpuRenderer::new();
        cpu.render_planar(
            &mut [PlanarFrame::new(&mut want, info).unwrap()],
            std::slice::from_ref(&l),
            &store,
        )
        .unwrap();
        let res = cpu.resolved();
        let (edges, discs, bands, items) = res.shape_geometry();
        let atlas = store.fonts().atlas_bytes();
        let plane = |k: usize| info.planes[k].unwrap();
        let (cb, cr, step) = match layout {
            PlanarLayout::Nv12 => (
                (plane(1).offset, plane(1).pitch),
                (plane(1).offset + 1, plane(1).pitch),
                2,
            ),
            PlanarLayout::I420 => (
                (plane(1).offset, plane(1).pitch),
                (plane(2).offset, plane(2).pitch),
                1,
            ),
        };
        let conv = YuvConv::new(matrix, range);
        let f = CdPlanar {
            y: plane(0).offset as u64,
            cb: cb.0 as u64,
            cr: cr.0 as u64,
            y_pitch: plane(0).pitch as u32,
            cb_pitch: cb.1 as u32,
            cr_pitch: cr.1 as u32,
            c_step: step,
            width: w as i32,
            height: h as i32,
            cmd_offset: 0,
            cmd_count: res.cmds().len() as u32,
            coef: bytemuck::cast(conv.coef),
            offset: conv.offset,
        };
        let mut input = Vec::new();
        input.extend_from_slice(bytemuck::bytes_of(&f));
        let mut array = |bytes: &[u8], n: usize| {
            input.extend_from_slice(&(n as u32).to_ne_bytes());
            input.extend_from_slice(bytes);
        };
        array(bytemuck::cast_slice(res.cmds()), res.cmds().len());
        array(bytemuck::cast_slice(res.shapes()), res.shapes().len());
        array(bytemuck::cast_slice(edges), edges.len());
        array(bytemuck::cast_slice(discs), discs.len());
        array(bytemuck::cast_slice(bands), bands.len());
        array(bytemuck::cast_slice(items), items.len());
        array(bytemuck::cast_slice(res.glyphs()), res.glyphs().len());
        array(&atlas, atlas.len());
        array(&bg, bg.len());
        let got = run(&exe, "planar", &input);
        assert_eq!(got, want, "case {case}: {info:?} {l:?}");
        drawn += usize::from(want != bg);
    }
    assert!(
        drawn >= cases / 2,
        "only {drawn} of {cases} cases drew anything"
    );
}
