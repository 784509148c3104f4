//! Unit tests of the CPU renderer: hand-computed pixels per op, and the blurs against
//! direct (slow) transcriptions of the semantics.

use super::*;
use crate::color::{Color, PixelFormat};
use crate::draw::{Align, BlurKind, BlurOp, Border, Filter, Image, OverlayOp};
use crate::geom::Rect;

/// A frame buffer with a deterministic pattern, `pad` bytes of 0xEE after each row.
fn buffer(w: u32, h: u32, pad: usize, fmt: PixelFormat) -> (Vec<u8>, FrameInfo) {
    let info = FrameInfo::new(w, h, w as usize * 4 + pad, fmt);
    let mut v = vec![0xEE; info.min_len()];
    for y in 0..h as usize {
        for x in 0..w as usize {
            let o = y * info.pitch + x * 4;
            let k = (x * 7 + y * 13) as u32;
            v[o..o + 4].copy_from_slice(&[
                (k * 3 % 256) as u8,
                (k * 5 % 251) as u8,
                (x * 11 % 256) as u8,
                200 + (y % 50) as u8,
            ]);
        }
    }
    (v, info)
}

fn render(data: &mut [u8], info: FrameInfo, list: &DrawList, images: &ImageStore) -> Result<()> {
    let mut frames = [HostFrame::new(data, info)?];
    CpuRenderer::new().render(&mut frames, &[list], images)
}

fn px(data: &[u8], info: FrameInfo, x: usize, y: usize) -> [u8; 4] {
    let o = y * info.pitch + x * 4;
    [data[o], data[o + 1], data[o + 2], data[o + 3]]
}

#[test]
fn center_alignment_spec_example() {
    let (mut d, info) = buffer(430, 30, 0, PixelFormat::Rgba);
    let orig = d.clone();
    let mut l = DrawList::new();
    l.outline(
        Rect::new(400.0, 5.0, 20.0, 20.0),
        Border::new(8, Color::RED).align(Align::Center),
    );
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    // Middle row of the box: the left stroke is columns 397..=404, the right one
    // mirrored: 415..=422 (edge pixel 419, 3 outside, 5 inside).
    let y = 15;
    for x in 390..430 {
        let stroke = (397..=404).contains(&x) || (415..=422).contains(&x);
        let want = if stroke {
            [255, 0, 0, 255]
        } else {
            px(&orig, info, x, y)
        };
        assert_eq!(px(&d, info, x, y), want, "column {x}");
    }
}

#[test]
fn inside_and_outside_alignment() {
    for (align, inside, outside) in [
        (Align::Inside, [10, 11], [9, 12]),
        (Align::Outside, [8, 9], [7, 10]),
    ] {
        let (mut d, info) = buffer(30, 30, 0, PixelFormat::Rgba);
        let orig = d.clone();
        let mut l = DrawList::new();
        l.outline(
            Rect::new(10.0, 10.0, 10.0, 10.0),
            Border::new(2, Color::BLUE).align(align),
        );
        render(&mut d, info, &l, &ImageStore::new()).unwrap();
        for x in inside {
            assert_eq!(px(&d, info, x, 15), [0, 0, 255, 255], "{align:?} {x}");
        }
        for x in outside {
            assert_eq!(px(&d, info, x, 15), px(&orig, info, x, 15), "{align:?} {x}");
        }
    }
}

#[test]
fn blend_rounding_and_alpha_byte() {
    let info = FrameInfo::packed(2, 1, PixelFormat::Rgba);
    let mut d = vec![100, 100, 100, 100, 100, 100, 100, 100];
    let mut l = DrawList::new();
    l.fill(Rect::new(0.0, 0.0, 1.0, 1.0), Color::rgba(200, 0, 255, 80));
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    // (200*80 + 100*175 + 127)/255 = 131; (0 + 17500 + 127)/255 = 69;
    // (255*80 + 17500 + 127)/255 = 149 (also the alpha byte, blended with c = 255).
    assert_eq!(d, vec![131, 69, 149, 149, 100, 100, 100, 100]);
}

#[test]
fn fill_and_outline_are_exclusive_and_ordered() {
    let (mut d, info) = buffer(10, 10, 0, PixelFormat::Bgra);
    let mut l = DrawList::new();
    l.rect(
        Rect::new(1.0, 1.0, 6.0, 6.0),
        Some(Border::new(1, Color::RED)),
        Some(Color::rgba(0, 0, 255, 255)),
    );
    // Later op wins: half-transparent white over the top-left corner.
    l.fill(Rect::new(0.0, 0.0, 2.0, 2.0), Color::rgba(255, 255, 255, 0));
    l.fill(Rect::new(6.0, 6.0, 1.0, 1.0), Color::GREEN);
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    // BGRA: red is [0, 0, 255, 255], blue [255, 0, 0, 255].
    assert_eq!(px(&d, info, 1, 1), [0, 0, 255, 255]);
    assert_eq!(px(&d, info, 6, 3), [0, 0, 255, 255]);
    assert_eq!(px(&d, info, 2, 2), [255, 0, 0, 255]);
    assert_eq!(px(&d, info, 5, 5), [255, 0, 0, 255]);
    assert_eq!(px(&d, info, 6, 6), [0, 255, 0, 255]);
}

#[test]
fn stroke_wider_than_box_fills_it() {
    let (mut d, info) = buffer(10, 10, 0, PixelFormat::Rgba);
    let orig = d.clone();
    let mut l = DrawList::new();
    l.rect(
        Rect::new(2.0, 2.0, 3.0, 3.0),
        Some(Border::new(5, Color::RED)),
        Some(Color::GREEN),
    );
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    for y in 0..10 {
        for x in 0..10 {
            let inside = (2..5).contains(&x) && (2..5).contains(&y);
            let want = if inside {
                [255, 0, 0, 255]
            } else {
                px(&orig, info, x, y)
            };
            assert_eq!(px(&d, info, x, y), want, "({x}, {y})");
        }
    }
}

#[test]
fn box_blur_hand_computed() {
    let info = FrameInfo::packed(3, 1, PixelFormat::Rgbx);
    let mut d = vec![0, 0, 0, 7, 30, 30, 30, 7, 90, 90, 90, 7];
    let mut l = DrawList::new();
    l.blur(Rect::new(0.0, 0.0, 3.0, 1.0), BlurKind::Box { radius: 1 });
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    // Clamped windows: (0+0+30)*3, (0+30+90)*3, (30+90+90)*3 over n = 9, rounded.
    assert_eq!(d, vec![10, 10, 10, 7, 40, 40, 40, 7, 70, 70, 70, 7]);
}

#[test]
fn pixelate_partial_cells() {
    let info = FrameInfo::packed(5, 1, PixelFormat::Rgba);
    let vals = [10u8, 20, 30, 41, 50];
    let mut d: Vec<u8> = vals.iter().flat_map(|&v| [v, v, v, v]).collect();
    let mut l = DrawList::new();
    l.blur(
        Rect::new(0.0, 0.0, 5.0, 1.0),
        BlurKind::Pixelate { block: 2 },
    );
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    // Cells {10, 20}, {30, 41}, {50}: (30+1)/2 = 15, (71+1)/2 = 36, 50.
    let want: Vec<u8> = [15u8, 15, 36, 36, 50]
        .iter()
        .flat_map(|&v| [v, v, v, v])
        .collect();
    assert_eq!(d, want);
}

#[test]
fn solid_ignores_alpha_and_sets_alpha_byte() {
    let info = FrameInfo::packed(1, 1, PixelFormat::Rgba);
    let mut d = vec![1, 2, 3, 4];
    let mut l = DrawList::new();
    l.blur(
        Rect::new(0.0, 0.0, 1.0, 1.0),
        BlurKind::Solid {
            color: Color::rgba(9, 8, 7, 0),
        },
    );
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    assert_eq!(d, vec![9, 8, 7, 255]);
}

fn ramp_store() -> (ImageStore, ImageId) {
    let mut s = ImageStore::new();
    // 2x1: black, red; both opaque.
    let id = s.add(Image::new(2, 1, vec![0, 0, 0, 255, 255, 0, 0, 255]).unwrap());
    (s, id)
}

#[test]
fn overlay_bilinear_and_nearest() {
    let (images, id) = ramp_store();
    for (filter, want) in [
        (Filter::Bilinear, [0u8, 64, 191, 255]),
        (Filter::Nearest, [0, 0, 255, 255]),
    ] {
        let info = FrameInfo::packed(4, 1, PixelFormat::Rgba);
        let mut d = vec![50; 16];
        let mut l = DrawList::new();
        l.push(OverlayOp {
            image: id,
            rect: Rect::new(0.0, 0.0, 4.0, 1.0),
            opacity: 1.0,
            filter,
        });
        render(&mut d, info, &l, &images).unwrap();
        let red: Vec<u8> = d.chunks(4).map(|p| p[0]).collect();
        assert_eq!(red, want, "{filter:?}");
        assert!(d.chunks(4).all(|p| p[1] == 0 && p[3] == 255));
    }
}

#[test]
fn overlay_opacity_and_clipping_keep_scale() {
    let (images, id) = ramp_store();
    let info = FrameInfo::packed(2, 1, PixelFormat::Bgrx);
    let mut d = vec![100, 100, 100, 9, 100, 100, 100, 9];
    let mut l = DrawList::new();
    // Destination 4 wide starting at -2: the visible pixels are u = 2, 3 (red side).
    l.push(OverlayOp {
        image: id,
        rect: Rect::new(-2.0, 0.0, 4.0, 1.0),
        opacity: 0.5,
        filter: Filter::Nearest,
    });
    render(&mut d, info, &l, &images).unwrap();
    // m = round(127.5) = 128; a' = (255*128 + 127)/255 = 128;
    // red: (255*128 + 100*127 + 127)/255 = 178, others (100*127+127)/255 = 50. BGRx order.
    assert_eq!(d, vec![50, 50, 178, 9, 50, 50, 178, 9]);
}

#[test]
fn x_bytes_and_padding_untouched() {
    let (images, id) = ramp_store();
    for fmt in [PixelFormat::Rgbx, PixelFormat::Bgrx] {
        let (mut d, info) = buffer(40, 30, 12, fmt);
        let orig = d.clone();
        let mut l = DrawList::new();
        let all = Rect::new(-5.0, -5.0, 60.0, 60.0);
        l.rect(
            all,
            Some(Border::new(3, Color::rgba(1, 2, 3, 80))),
            Some(Color::RED),
        );
        l.blur(all, BlurKind::Box { radius: 3 });
        l.blur(all, BlurKind::Gaussian { sigma: 1.5 });
        l.blur(all, BlurKind::Pixelate { block: 7 });
        l.overlay(id, all, 1.0);
        l.blur(
            all,
            BlurKind::Solid {
                color: Color::WHITE,
            },
        );
        render(&mut d, info, &l, &images).unwrap();
        for y in 0..30 {
            let row = &d[y * info.pitch..][..info.pitch.min(d.len() - y * info.pitch)];
            let orow = &orig[y * info.pitch..][..row.len()];
            for x in 0..40 {
                assert_eq!(row[x * 4 + 3], orow[x * 4 + 3], "x byte ({x},{y})");
                assert_eq!(&row[x * 4..x * 4 + 3], &[255, 255, 255]);
            }
            assert_eq!(&row[160..], &orow[160..], "padding of row {y}");
        }
    }
}

#[test]
fn invalid_op_leaves_every_frame_untouched() {
    let (mut a, info) = buffer(8, 8, 0, PixelFormat::Rgba);
    let mut b = a.clone();
    let orig = a.clone();
    let mut ok = DrawList::new();
    ok.fill(Rect::new(0.0, 0.0, 8.0, 8.0), Color::RED);
    let mut bad = DrawList::new();
    bad.fill(Rect::new(0.0, 0.0, 8.0, 8.0), Color::RED);
    bad.push(BlurOp {
        rect: Rect::new(0.0, 0.0, 4.0, 4.0),
        kind: BlurKind::Gaussian { sigma: f32::NAN },
        expand: 0.0,
    });
    let mut frames = [
        HostFrame::new(&mut a, info).unwrap(),
        HostFrame::new(&mut b, info).unwrap(),
    ];
    let e = CpuRenderer::new()
        .render(&mut frames, &[&ok, &bad], &ImageStore::new())
        .unwrap_err();
    assert!(e.to_string().contains("frame 1, op 1"), "{e}");
    assert_eq!(a, orig);
    assert_eq!(b, orig);
}

/// Checks and draws raw commands on one frame (what `render` does after resolving).
fn execute(
    f: &mut HostFrame<'_>,
    cmds: &[CdCmd],
    weights: &[u32],
    images: &ImageStore,
) -> Result<()> {
    execute_text(f, cmds, weights, images, &[], &[])
}

fn execute_text(
    f: &mut HostFrame<'_>,
    cmds: &[CdCmd],
    weights: &[u32],
    images: &ImageStore,
    glyphs: &[crate::cmd::CdGlyph],
    atlas: &[u8],
) -> Result<()> {
    let src = Sources {
        images,
        glyphs,
        atlas,
        shapes: &[],
        edges: &[],
        discs: &[],
        bands: &[],
        band_items: &[],
        masks: &[],
        mask_data: &[],
        palette: &[],
    };
    let info = f.info();
    check_cmds(0, info, cmds, weights, &src)?;
    draw_frame(f.data_mut(), info, cmds, weights, &src, &mut Scratch::new());
    Ok(())
}

#[test]
fn execute_rejects_commands_outside_the_frame() {
    let (mut d, info) = buffer(8, 8, 0, PixelFormat::Rgba);
    let orig = d.clone();
    let good = CdCmd {
        op: CD_OP_SOLID,
        clip: PixelRect::new(0, 0, 8, 8).into(),
        color: [1, 2, 3, 255],
        ..Default::default()
    };
    let bad = CdCmd {
        clip: PixelRect::new(4, 4, 9, 8).into(),
        ..good
    };
    {
        let mut f = HostFrame::new(&mut d, info).unwrap();
        assert!(execute(&mut f, &[good, bad], &[], &ImageStore::new()).is_err());
        let unknown = CdCmd { op: 99, ..good };
        assert!(execute(&mut f, &[unknown], &[], &ImageStore::new()).is_err());
        let gauss = CdCmd {
            op: CD_OP_BLUR_GAUSS,
            param: 2,
            ..good
        };
        assert!(execute(&mut f, &[gauss], &[0, 0, 65536, 0], &ImageStore::new()).is_err());
        let gauss = CdCmd { param: 1, ..gauss };
        let heavy = [u32::MAX, 0, 0];
        assert!(execute(&mut f, &[gauss], &heavy, &ImageStore::new()).is_err());
        let text = CdCmd {
            op: crate::cmd::CD_OP_TEXT,
            param: 0,
            aux: 1,
            ..good
        };
        let glyph = crate::cmd::CdGlyph {
            x: 0,
            y: 0,
            w: 4,
            h: 4,
            atlas: 1,
        };
        let im = ImageStore::new();
        assert!(execute_text(&mut f, &[text], &[], &im, &[glyph], &[255; 16]).is_err());
        assert!(execute_text(&mut f, &[text], &[], &im, &[], &[255; 17]).is_err());
        let two = CdCmd { aux: 2, ..text };
        assert!(execute_text(&mut f, &[two], &[], &im, &[glyph], &[255; 17]).is_err());
    }
    assert_eq!(d, orig);
    let mut f = HostFrame::new(&mut d, info).unwrap();
    execute(&mut f, &[good], &[], &ImageStore::new()).unwrap();
    assert_eq!(&d[..4], &[1, 2, 3, 255]);
}

// ---- blurs against direct transcriptions of the semantics ----

fn clampi(v: i64, lo: i64, hi: i64) -> usize {
    v.clamp(lo, hi) as usize
}

/// Box blur straight from the definition: the clamped (2r+1)^2 window, summed.
fn naive_box(src: &[u8], info: FrameInfo, reg: PixelRect, r: i64) -> Vec<u8> {
    let mut out = src.to_vec();
    let n = ((2 * r + 1) * (2 * r + 1)) as u32;
    for y in reg.y0..reg.y1 {
        for x in reg.x0..reg.x1 {
            for c in 0..info.format.written_bytes() {
                let mut s = 0u32;
                for dy in -r..=r {
                    for dx in -r..=r {
                        let sx = clampi(i64::from(x) + dx, reg.x0.into(), (reg.x1 - 1).into());
                        let sy = clampi(i64::from(y) + dy, reg.y0.into(), (reg.y1 - 1).into());
                        s += u32::from(src[sy * info.pitch + sx * 4 + c]);
                    }
                }
                out[y as usize * info.pitch + x as usize * 4 + c] = ((s + n / 2) / n) as u8;
            }
        }
    }
    out
}

/// Gaussian straight from the definition: 8-bit horizontal pass, then vertical.
fn naive_gauss(src: &[u8], info: FrameInfo, reg: PixelRect, w: &[u32]) -> Vec<u8> {
    let r = (w.len() / 2) as i64;
    let (rw, rh) = (reg.width() as usize, reg.height() as usize);
    let mut h = vec![0u8; rw * rh * 4];
    for y in 0..rh {
        for x in 0..rw {
            for c in 0..4 {
                let mut s = 32768u32;
                for k in -r..=r {
                    let sx = reg.x0 as usize + clampi(x as i64 + k, 0, rw as i64 - 1);
                    let sy = reg.y0 as usize + y;
                    s += w[(k + r) as usize] * u32::from(src[sy * info.pitch + sx * 4 + c]);
                }
                h[(y * rw + x) * 4 + c] = (s >> 16) as u8;
            }
        }
    }
    let mut out = src.to_vec();
    for y in 0..rh {
        for x in 0..rw {
            for c in 0..info.format.written_bytes() {
                let mut s = 32768u32;
                for k in -r..=r {
                    let sy = clampi(y as i64 + k, 0, rh as i64 - 1);
                    s += w[(k + r) as usize] * u32::from(h[(sy * rw + x) * 4 + c]);
                }
                let (fx, fy) = (reg.x0 as usize + x, reg.y0 as usize + y);
                out[fy * info.pitch + fx * 4 + c] = (s >> 16) as u8;
            }
        }
    }
    out
}

/// Pixelate straight from the definition: every pixel's cell, summed.
fn naive_pixelate(src: &[u8], info: FrameInfo, reg: PixelRect, b: i32) -> Vec<u8> {
    let mut out = src.to_vec();
    for y in reg.y0..reg.y1 {
        for x in reg.x0..reg.x1 {
            let cx0 = reg.x0 + (x - reg.x0) / b * b;
            let cy0 = reg.y0 + (y - reg.y0) / b * b;
            let cx1 = (cx0 + b).min(reg.x1);
            let cy1 = (cy0 + b).min(reg.y1);
            let n = ((cx1 - cx0) * (cy1 - cy0)) as u32;
            for c in 0..info.format.written_bytes() {
                let mut s = 0u32;
                for sy in cy0..cy1 {
                    for sx in cx0..cx1 {
                        s += u32::from(src[sy as usize * info.pitch + sx as usize * 4 + c]);
                    }
                }
                out[y as usize * info.pitch + x as usize * 4 + c] = ((s + n / 2) / n) as u8;
            }
        }
    }
    out
}

#[test]
fn blurs_match_the_definition() {
    // Small and large regions (the large ones take the parallel banded paths), odd
    // sizes, partial clipping, padded pitch, an x format.
    let cases = [
        (13, 9, 0, PixelFormat::Rgba, Rect::new(2.0, 1.0, 9.0, 7.0)),
        (
            200,
            190,
            8,
            PixelFormat::Bgrx,
            Rect::new(-10.0, 3.0, 260.0, 180.0),
        ),
        (1, 1, 4, PixelFormat::Rgba, Rect::new(0.0, 0.0, 1.0, 1.0)),
        (
            181,
            183,
            0,
            PixelFormat::Rgbx,
            Rect::new(0.0, 0.0, 181.0, 183.0),
        ),
    ];
    for (w, h, pad, fmt, rect) in cases {
        let (src, info) = buffer(w, h, pad, fmt);
        let reg = rect.to_pixels().intersect(&PixelRect::frame(w, h));
        let kinds = [
            BlurKind::Box { radius: 1 },
            BlurKind::Box { radius: 4 },
            BlurKind::Box { radius: 127 },
            BlurKind::Gaussian { sigma: 0.7 },
            BlurKind::Gaussian { sigma: 4.0 },
            BlurKind::Pixelate { block: 1 },
            BlurKind::Pixelate { block: 6 },
            BlurKind::Pixelate { block: 1024 },
        ];
        for kind in kinds {
            // The slow references cost O(window) per pixel: big windows on small frames only.
            if matches!(
                kind,
                BlurKind::Box { radius: 127 } | BlurKind::Pixelate { block: 1024 }
            ) && w > 20
            {
                continue;
            }
            let mut d = src.clone();
            let mut l = DrawList::new();
            l.blur(rect, kind);
            render(&mut d, info, &l, &ImageStore::new()).unwrap();
            let want = match kind {
                BlurKind::Box { radius } => naive_box(&src, info, reg, radius.into()),
                BlurKind::Gaussian { sigma } => {
                    let mut wt = Vec::new();
                    crate::draw::resolve::push_gauss_weights(sigma, &mut wt);
                    naive_gauss(&src, info, reg, &wt)
                }
                BlurKind::Pixelate { block } => naive_pixelate(&src, info, reg, block as i32),
                BlurKind::Solid { .. } => unreachable!(),
            };
            assert!(
                d == want,
                "{kind:?} on {w}x{h} {fmt} differs from the definition"
            );
        }
    }
}

#[test]
fn blur_reads_the_state_after_earlier_ops() {
    // A fill then a blur over it: the blur must see the fill (a flat region stays flat).
    let (mut d, info) = buffer(300, 200, 0, PixelFormat::Rgba);
    let mut l = DrawList::new();
    l.fill(Rect::new(0.0, 0.0, 300.0, 200.0), Color::rgb(10, 20, 30));
    l.blur(
        Rect::new(0.0, 0.0, 300.0, 200.0),
        BlurKind::Gaussian { sigma: 3.0 },
    );
    l.blur(
        Rect::new(0.0, 0.0, 300.0, 200.0),
        BlurKind::Box { radius: 5 },
    );
    render(&mut d, info, &l, &ImageStore::new()).unwrap();
    assert!(d.chunks(4).all(|p| p == [10, 20, 30, 255]));
}

#[test]
fn batch_of_frames_renders_each_its_own_list() {
    let (mut a, info) = buffer(64, 64, 4, PixelFormat::Rgba);
    let (mut b, _) = buffer(64, 64, 4, PixelFormat::Rgba);
    let mut la = DrawList::new();
    la.fill(Rect::new(0.0, 0.0, 1.0, 1.0), Color::RED);
    let mut lb = DrawList::new();
    lb.fill(Rect::new(0.0, 0.0, 1.0, 1.0), Color::BLUE);
    let mut r = CpuRenderer::new();
    for _ in 0..2 {
        let mut frames = [
            HostFrame::new(&mut a, info).unwrap(),
            HostFrame::new(&mut b, info).unwrap(),
        ];
        r.render(&mut frames, &[&la, &lb], &ImageStore::new())
            .unwrap();
    }
    assert_eq!(&a[..4], &[255, 0, 0, 255]);
    assert_eq!(&b[..4], &[0, 0, 255, 255]);
}

/// The packed renderer's row-wise masks equal `mask::pixel`, the per-pixel definition
/// the planar renderer uses, on random masks: sizes, thresholds, both filters, contour
/// on and off, destinations hanging over every edge of the frame.
#[test]
fn mask_rows_equal_the_per_pixel_definition() {
    use crate::draw::{MaskOp, MaskSource, MaskValues};
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % u64::from(n)) as u32
    };
    let info = FrameInfo::packed(61, 47, PixelFormat::Bgra);
    let store = ImageStore::new();
    for case in 0..200 {
        let (mw, mh) = (1 + rnd(12), 1 + rnd(12));
        let values: Vec<u8> = (0..mw * mh).map(|_| rnd(256) as u8).collect();
        let mut list = DrawList::new();
        for _ in 0..3 {
            list.push(MaskOp {
                rect: Rect::new(
                    rnd(90) as f32 - 20.0,
                    rnd(70) as f32 - 15.0,
                    1.0 + rnd(60) as f32,
                    1.0 + rnd(50) as f32,
                ),
                mask: MaskSource::host(mw, mh, MaskValues::U8(values.clone().into())),
                threshold: rnd(101) as f32 / 100.0,
                color: Color::rgba(rnd(256) as u8, 40, 200, 1 + rnd(255) as u8),
                filter: if rnd(2) == 0 {
                    Filter::Nearest
                } else {
                    Filter::Bilinear
                },
                contour: (rnd(2) == 0).then(|| Color::rgba(250, 250, 0, 180)),
            });
        }
        let mut resolved = Resolved::default();
        crate::draw::resolve_batch(&[info], &[list], &store, &mut resolved).unwrap();
        let src = Sources::of(&resolved, &store, &[]);
        let cmds = resolved.frame_cmds(0);
        let base: Vec<u8> = (0..info.min_len()).map(|_| rnd(256) as u8).collect();
        let mut got = base.clone();
        super::pointwise::run(&mut got, info, cmds, &src);
        let mut want = base;
        for c in cmds {
            let m = &src.masks[c.param as usize];
            for y in c.clip.y0..c.clip.y1 {
                for x in c.clip.x0..c.clip.x1 {
                    if let Some(color) = super::mask::pixel(c, m, &src, x, y) {
                        let at = y as usize * info.pitch + x as usize * 4;
                        crate::color::blend_pixel(&mut want[at..at + 4], color, true);
                    }
                }
            }
        }
        assert!(got == want, "case {case}");
    }
}
