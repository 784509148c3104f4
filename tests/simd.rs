//! The CPU renderer's two copies of its hot loops (src/cpu/simd.rs: the baseline
//! instruction set and AVX2, picked at run time) draw the same bytes. Every reference
//! scene is drawn with the baseline only and checked against its reference picture (the
//! reference test draws them with the best copy the CPU has), and every benchmark
//! workload plus scaled overlays, gaussians and pixelation on large padded frames of
//! every format are drawn both ways and compared. On a CPU without AVX2 both ways are the
//! baseline: the comparison says so and is skipped.

mod common;
#[path = "../benches/workloads/mod.rs"]
mod workloads;

use cudadraw::cpu::{CpuRenderer, simd};
use cudadraw::draw::{BlurKind, DrawList, Filter, ImageStore, OverlayOp};
use cudadraw::{FrameInfo, HostFrame, PixelFormat, Rect};

/// The instruction set is process-wide: the tests of this binary take turns.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Draws `lists` on copies of `init` (one frame each, layout `info`).
fn draw(info: FrameInfo, init: &[u8], lists: &[DrawList], store: &ImageStore) -> Vec<Vec<u8>> {
    let mut bufs: Vec<Vec<u8>> = lists.iter().map(|_| init.to_vec()).collect();
    let mut frames: Vec<HostFrame> = bufs
        .iter_mut()
        .map(|b| HostFrame::new(b, info).expect("frame"))
        .collect();
    CpuRenderer::new()
        .render(&mut frames, lists, store)
        .expect("render");
    drop(frames);
    bufs
}

/// Draws `lists` with the best copy, then with the baseline only, and compares.
fn both_ways(name: &str, info: FrameInfo, lists: &[DrawList], store: &ImageStore) {
    let init: Vec<u8> = (0..info.min_len()).map(|i| (i * 7 % 251) as u8).collect();
    simd::force_baseline(false);
    let best = draw(info, &init, lists, store);
    simd::force_baseline(true);
    let base = draw(info, &init, lists, store);
    simd::force_baseline(false);
    for (k, (a, b)) in best.iter().zip(&base).enumerate() {
        if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
            panic!(
                "{name}: frame {k} ({info:?}) differs at byte {i} (row {}): {} with {}, {} with the baseline",
                i / info.pitch,
                a[i],
                simd::instruction_set(),
                b[i]
            );
        }
    }
}

#[test]
fn baseline_draws_every_reference_picture() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    simd::force_baseline(true);
    let cases = common::scenes();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            c.render_cpu()
                .and_then(|f| c.check(&f, "cpu-baseline"))
                .err()
        })
        .collect();
    simd::force_baseline(false);
    assert!(
        failures.is_empty(),
        "{} of {} scenes differ with the baseline instruction set:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn both_copies_draw_the_workloads_alike() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    simd::force_baseline(false);
    if simd::instruction_set() == "baseline" {
        common::skipped("this CPU has no AVX2: there is one copy only");
        return;
    }
    // Two frames of each workload keep the test quick in debug builds.
    let info = FrameInfo::new(
        workloads::W,
        workloads::H,
        workloads::PITCH,
        PixelFormat::Rgba,
    );
    let mut store = ImageStore::new();
    let mut sets: Vec<(&str, Vec<DrawList>)> = vec![
        ("W1", workloads::w1_lists(false, 2)),
        ("W1f", workloads::w1_lists(true, 2)),
        ("W2", workloads::w2_lists()),
        ("W3", workloads::w3_lists(&mut store)),
        ("W4", workloads::w4_lists(16)),
    ];
    let shapes = workloads::shape_workloads(|_, v| {
        cudadraw::draw::MaskSource::host(32, 32, cudadraw::draw::MaskValues::F16(v.into()))
    });
    sets.extend(shapes);
    for (name, mut lists) in sets {
        lists.truncate(2);
        both_ways(name, info, &lists, &store);
    }
    // Scaled overlays (both filters), gaussians and pixelation, every format, padded
    // rows, odd widths (vector loops end in tails).
    let logo = store.add(workloads::logo());
    for (k, format) in PixelFormat::ALL.into_iter().enumerate() {
        let (w, h) = (1001 + 2 * k as u32, 601);
        let info = FrameInfo::new(w, h, w as usize * 4 + 12, format);
        let mut l = DrawList::new();
        for i in 0..6 {
            let f = i as f32;
            l.push(OverlayOp {
                image: logo,
                rect: Rect::new(
                    -20.0 + 150.0 * f,
                    10.0 + 40.0 * f,
                    97.0 + 60.0 * f,
                    333.0 - 30.0 * f,
                ),
                opacity: 0.3 + 0.1 * f,
                filter: if i % 2 == 0 {
                    Filter::Bilinear
                } else {
                    Filter::Nearest
                },
            });
        }
        l.blur(
            Rect::new(13.0, 17.0, 301.0, 203.0),
            BlurKind::Gaussian { sigma: 4.5 },
        );
        l.blur(
            Rect::new(500.0, 300.0, 333.0, 211.0),
            BlurKind::Box { radius: 9 },
        );
        l.blur(
            Rect::new(700.0, 50.0, 250.0, 177.0),
            BlurKind::Pixelate { block: 13 },
        );
        both_ways(&format!("mixed {format:?}"), info, &[l], &store);
    }
}
