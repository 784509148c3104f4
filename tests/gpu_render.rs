//! The CUDA backend against the CPU renderer, byte for byte (padding included), on
//! seeded random scenes, batches, memory kinds, and error paths. Without a device every
//! test prints "SKIPPED: no CUDA device" and returns; with CUDADRAW_REQUIRE_GPU=1 it
//! fails instead. CUDADRAW_GPU_SCENES sets the number of random scenes (default 2000;
//! the sanitizer pass uses fewer).

mod common;
mod gpu_support;

use cudadraw::cpu::CpuRenderer;
use cudadraw::cuda::CudaRenderer;
use cudadraw::draw::{BlurKind, DrawList, ImageStore};
use cudadraw::{
    Border, Color, DeviceFrame, Error, FrameInfo, HostFrame, ImageId, PixelFormat, Rect,
};
use gpu_support::{
    Kind, Mem, first_diff, gpu, pattern, random_images, random_info, random_list, rng, upload_all,
};
use rand::Rng;

/// Renders `lists` on frames of `infos` (initial bytes `init`) on the CPU and on the
/// GPU (memory `kind`) and returns a description of the first difference.
fn compare(
    cuda: &mut CudaRenderer,
    cpu: &mut CpuRenderer,
    store: &ImageStore,
    infos: &[FrameInfo],
    init: &[Vec<u8>],
    lists: &[DrawList],
    kind: Kind,
) -> Result<(), String> {
    let mut want: Vec<Vec<u8>> = init.to_vec();
    {
        let mut frames: Vec<HostFrame> = want
            .iter_mut()
            .zip(infos)
            .map(|(b, i)| HostFrame::new(b, *i).expect("host frame"))
            .collect();
        cpu.render(&mut frames, lists, store)
            .map_err(|e| format!("cpu: {e}"))?;
    }
    let mems = upload_all(kind, init);
    let frames: Vec<DeviceFrame> = mems
        .iter()
        .zip(infos)
        .map(|(m, i)| unsafe { DeviceFrame::new(m.dptr, *i, 0) })
        .collect();
    cuda.render(&frames, lists, store)
        .map_err(|e| format!("gpu: {e}"))?;
    for (k, (m, w)) in mems.iter().zip(&want).enumerate() {
        let got = m.download(w.len());
        if let Some(d) = first_diff(w, &got, &infos[k]) {
            return Err(format!("frame {k} ({:?}): {d}", infos[k]));
        }
    }
    Ok(())
}

fn scene_count() -> usize {
    std::env::var("CUDADRAW_GPU_SCENES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn random_scenes_match_cpu() {
    let Some(mut cuda) = gpu("random_scenes_match_cpu") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let mut store = ImageStore::new();
    random_images(&mut rng(7), &mut store, 6);
    let n = scene_count();
    let t0 = std::time::Instant::now();
    let (mut prims, mut pixels, mut failures) = (0usize, 0u64, Vec::new());
    for seed in 0..n as u64 {
        let mut r = rng(1000 + seed);
        // Every 16th scene is a full-size frame; the rest spread log-uniformly.
        let info = if seed % 16 == 0 {
            let f = PixelFormat::ALL[r.random_range(0..4)];
            let (w, h) = if seed % 32 == 0 {
                (4096, 2160)
            } else {
                (1920, 1080)
            };
            FrameInfo::new(w, h, w as usize * 4 + 4 * r.random_range(0..3usize), f)
        } else {
            random_info(&mut r, 4096, 2160)
        };
        // Bound the CPU oracle's work: up to 5000 primitives on small frames.
        let area = info.width as f64 * info.height as f64;
        let max_n = ((4.0e8 / (area * 0.2)).clamp(1.0, 5000.0)) as usize;
        let count = (r.random_range(0.0f64..(max_n as f64 + 1.0).ln())).exp() as usize;
        let list = random_list(
            &mut r,
            info.width,
            info.height,
            count.min(max_n),
            store.len(),
        );
        prims += list.len();
        pixels += area as u64;
        let extra = r.random_range(0..8usize) * 4;
        let init = vec![pattern(&mut r, info.min_len() + extra)];
        if let Err(e) = compare(
            &mut cuda,
            &mut cpu,
            &store,
            &[info],
            &init,
            &[list],
            Kind::Device,
        ) {
            failures.push(format!("seed {}: {e}", 1000 + seed));
            if failures.len() >= 10 {
                break;
            }
        }
    }
    println!(
        "{n} random scenes, {prims} primitives, {:.1} Mpixel, {:.1} s, {} failures",
        pixels as f64 / 1e6,
        t0.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "GPU differs from CPU:\n{}",
        failures.join("\n")
    );
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn thousands_of_labels_in_two_fonts_match_cpu() {
    let Some(mut cuda) = gpu("thousands_of_labels_in_two_fonts_match_cpu") else {
        return;
    };
    use cudadraw::draw::{FontId, TextStyle};
    let mut cpu = CpuRenderer::new();
    let mut store = ImageStore::new();
    random_images(&mut rng(9), &mut store, 1);
    let mut r = rng(77);
    let info = FrameInfo::packed(1920, 1080, PixelFormat::Bgrx);
    let lists: Vec<DrawList> = (0..8)
        .map(|_| {
            let mut l = DrawList::new();
            for k in 0..1500 {
                let rect = Rect::new(
                    r.random_range(-50.0..1900.0),
                    r.random_range(-30.0..1080.0),
                    r.random_range(10.0..300.0),
                    r.random_range(10.0..300.0),
                );
                l.outline(rect, cudadraw::Border::new(2, Color::GREEN));
                let style = TextStyle::new(r.random_range(8..=40), Color::WHITE)
                    .font(FontId(k % 2))
                    .background(Color::rgba(0, 0, 0, 160));
                let text = if k % 2 == 0 {
                    format!("person 0.{:02}", k % 100)
                } else {
                    format!("车辆 {}号", k % 10)
                };
                l.label(rect, text, style);
            }
            l
        })
        .collect();
    let init: Vec<Vec<u8>> = (0..8).map(|_| pattern(&mut r, info.min_len())).collect();
    compare(
        &mut cuda,
        &mut cpu,
        &store,
        &[info; 8],
        &init,
        &lists,
        Kind::Device,
    )
    .unwrap();
}

/// A list of boxes and redactions whose alphas are 0 or 255 only, dense enough that
/// they cover each other in every way: outlines over fills, invisible outlines over
/// visible fills, redactions over both, clipped at every edge.
fn opaque_list(r: &mut impl Rng, w: u32, h: u32, n: usize) -> DrawList {
    let colours = [
        Color::rgb(250, 10, 20),
        Color::rgba(0, 0, 0, 0),
        Color::rgb(10, 200, 30),
        Color::rgb(1, 2, 255),
    ];
    let mut l = DrawList::new();
    for _ in 0..n {
        let rect = Rect::new(
            r.random_range(-40.0..w as f32 + 10.0),
            r.random_range(-40.0..h as f32 + 10.0),
            r.random_range(1.0..(w as f32 / 2.0).max(2.0)),
            r.random_range(1.0..(h as f32 / 2.0).max(2.0)),
        );
        let c = colours[r.random_range(0..4)];
        match r.random_range(0..4) {
            0 => l.blur(rect, BlurKind::Solid { color: c }),
            1 => l.fill(rect, c),
            2 => l.rect(rect, Some(Border::new(r.random_range(1..8), c)), None),
            _ => l.rect(
                rect,
                Some(Border::new(r.random_range(1..12), c)),
                Some(colours[r.random_range(0..4)]),
            ),
        };
    }
    l
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn opaque_box_phases_match_cpu() {
    // Opaque boxes and redactions over each other in every way: the composite's paths
    // that skip pixel reads (formats with alpha) or keep the x byte (RGBx/BGRx) meet
    // dense overlap; 1 in 8 batches has a translucent box, 1 in 8 more than 257 commands
    // per frame (more than one staging round of the composite).
    let Some(mut cuda) = gpu("opaque_box_phases_match_cpu") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let store = ImageStore::new();
    for round in 0..(scene_count() / 8).max(8) as u64 {
        let mut r = rng(7000 + round);
        let n = [1usize, 2, 8][r.random_range(0..3)];
        let infos: Vec<FrameInfo> = (0..n)
            .map(|_| {
                if round % 16 == 0 {
                    FrameInfo::new(
                        1920,
                        1080,
                        1920 * 4 + 64,
                        PixelFormat::ALL[round as usize / 16 % 4],
                    )
                } else {
                    random_info(&mut r, 1200, 800)
                }
            })
            .collect();
        let lists: Vec<DrawList> = infos
            .iter()
            .map(|i| {
                let count = match round % 8 {
                    0 => r.random_range(258..400),
                    _ => r.random_range(1..257),
                };
                let mut l = opaque_list(&mut r, i.width, i.height, count);
                if round % 8 == 1 {
                    l.fill(Rect::new(5.0, 5.0, 50.0, 40.0), Color::rgba(9, 8, 7, 100));
                }
                l
            })
            .collect();
        let init: Vec<Vec<u8>> = infos.iter().map(|i| pattern(&mut r, i.min_len())).collect();
        compare(
            &mut cuda,
            &mut cpu,
            &store,
            &infos,
            &init,
            &lists,
            Kind::Device,
        )
        .unwrap_or_else(|e| panic!("round {round} ({n} frames): {e}"));
    }
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn batches_of_1_8_64_match_cpu() {
    let Some(mut cuda) = gpu("batches_of_1_8_64_match_cpu") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let mut store = ImageStore::new();
    random_images(&mut rng(8), &mut store, 3);
    for (round, n) in [1usize, 8, 64, 8, 64].into_iter().enumerate() {
        let mut r = rng(50 + round as u64);
        let infos: Vec<FrameInfo> = (0..n).map(|_| random_info(&mut r, 800, 600)).collect();
        let lists: Vec<DrawList> = infos
            .iter()
            .map(|i| {
                let c = r.random_range(0..300);
                random_list(&mut r, i.width, i.height, c, store.len())
            })
            .collect();
        let init: Vec<Vec<u8>> = infos.iter().map(|i| pattern(&mut r, i.min_len())).collect();
        compare(
            &mut cuda,
            &mut cpu,
            &store,
            &infos,
            &init,
            &lists,
            Kind::Device,
        )
        .unwrap_or_else(|e| panic!("batch of {n} (round {round}): {e}"));
    }
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn pinned_and_managed_frames_match_cpu() {
    let Some(mut cuda) = gpu("pinned_and_managed_frames_match_cpu") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let mut store = ImageStore::new();
    random_images(&mut rng(9), &mut store, 2);
    for (k, kind) in [Kind::Pinned, Kind::Managed, Kind::Device]
        .into_iter()
        .enumerate()
    {
        let mut r = rng(90 + k as u64);
        let infos: Vec<FrameInfo> = (0..4).map(|_| random_info(&mut r, 1280, 720)).collect();
        let lists: Vec<DrawList> = infos
            .iter()
            .map(|i| random_list(&mut r, i.width, i.height, 200, store.len()))
            .collect();
        let init: Vec<Vec<u8>> = infos.iter().map(|i| pattern(&mut r, i.min_len())).collect();
        compare(&mut cuda, &mut cpu, &store, &infos, &init, &lists, kind)
            .unwrap_or_else(|e| panic!("{kind:?} memory: {e}"));
    }
}

/// Many pipelines on one GPU: renderers on several threads at once (one store of
/// images and fonts), each on its own stream, draw what the CPU renderer draws, and the
/// kernels are loaded into the GPU's context once, not per renderer.
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn renderers_on_many_threads_share_the_kernels_and_match_cpu() {
    let test = "renderers_on_many_threads_share_the_kernels_and_match_cpu";
    let Some(mut first) = gpu(test) else {
        return;
    };
    first.warm_up(0).expect("warm up");
    let loads = cudadraw::cuda::kernel_loads(0);
    assert!(loads >= 1, "a warmed-up renderer loaded no kernels");
    let mut store = ImageStore::new();
    random_images(&mut rng(12), &mut store, 2);
    let store = &store;
    std::thread::scope(|s| {
        for t in 0..6u64 {
            s.spawn(move || {
                let mut cuda = gpu(test).expect("renderer on a thread");
                let mut cpu = CpuRenderer::new();
                let mut r = rng(600 + t);
                for round in 0..5 {
                    let infos: Vec<FrameInfo> =
                        (0..2).map(|_| random_info(&mut r, 640, 480)).collect();
                    let lists: Vec<DrawList> = infos
                        .iter()
                        .map(|i| random_list(&mut r, i.width, i.height, 80, store.len()))
                        .collect();
                    let init: Vec<Vec<u8>> =
                        infos.iter().map(|i| pattern(&mut r, i.min_len())).collect();
                    compare(
                        &mut cuda,
                        &mut cpu,
                        store,
                        &infos,
                        &init,
                        &lists,
                        Kind::Device,
                    )
                    .unwrap_or_else(|e| panic!("thread {t}, round {round}: {e}"));
                }
            });
        }
    });
    assert_eq!(
        cudadraw::cuda::kernel_loads(0),
        loads,
        "renderers created while another held the GPU's kernels loaded them again"
    );
    drop(first);
}

/// A blur over boxes drawn earlier in the same list reads them (phases), and a box
/// drawn after a blur lands on top of the blurred pixels.
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn list_order_across_blurs_matches_cpu() {
    let Some(mut cuda) = gpu("list_order_across_blurs_matches_cpu") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let store = ImageStore::new();
    let info = FrameInfo::packed(320, 240, PixelFormat::Bgrx);
    let mut l = DrawList::new();
    for i in 0..6 {
        let x = 20.0 + 40.0 * i as f32;
        l.rect(
            Rect::new(x, 30.0, 60.0, 60.0),
            Some(Border::new(3, Color::rgba(255, 40 * i, 0, 200))),
            Some(Color::rgba(0, 0, 255, 80)),
        );
        l.blur(
            Rect::new(x + 10.0, 40.0, 50.0, 70.0),
            BlurKind::Box { radius: 5 },
        );
        l.blur(
            Rect::new(x, 100.0, 30.0, 30.0),
            BlurKind::Gaussian { sigma: 2.5 },
        );
        l.blur(
            Rect::new(x, 140.0, 45.0, 45.0),
            BlurKind::Pixelate { block: 7 },
        );
    }
    l.fill(
        Rect::new(0.0, 0.0, 320.0, 240.0),
        Color::rgba(10, 200, 10, 30),
    );
    l.blur(
        Rect::new(0.0, 0.0, 320.0, 240.0),
        BlurKind::Box { radius: 1 },
    );
    let init = vec![pattern(&mut rng(3), info.min_len())];
    compare(
        &mut cuda,
        &mut cpu,
        &store,
        &[info],
        &init,
        &[l],
        Kind::Device,
    )
    .unwrap();
}

/// Stacks of overlapping blurs, one phase each (two dependent launches per phase, each
/// reading what the last wrote): every kind and radius (both of pass 2's box paths), a
/// box between some of them, frames of a batch with different numbers of phases, and
/// W2's batch itself.
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn stacked_blur_phases_match_cpu() {
    let Some(mut cuda) = gpu("stacked_blur_phases_match_cpu") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let store = ImageStore::new();
    let mut failures = Vec::new();
    for seed in 0..40u64 {
        let mut r = rng(5000 + seed);
        let nframes = if seed == 0 {
            8
        } else {
            r.random_range(1..=6usize)
        };
        let mut infos = Vec::new();
        let mut init = Vec::new();
        let mut lists = Vec::new();
        for _ in 0..nframes {
            let info = if seed == 0 {
                FrameInfo::packed(1920, 1080, PixelFormat::Rgba)
            } else {
                let f = PixelFormat::ALL[r.random_range(0..4)];
                let (w, h) = (r.random_range(40..1400u32), r.random_range(40..900u32));
                FrameInfo::new(w, h, w as usize * 4 + 4 * r.random_range(0..5usize), f)
            };
            let (w, h) = (info.width as f32, info.height as f32);
            let mut l = DrawList::new();
            // W2's shape on the first scene: 10 box blurs r = 15, 64..256 px, anywhere.
            let n = if seed == 0 {
                10
            } else {
                r.random_range(0..12usize)
            };
            let (cx, cy) = (r.random_range(0.0..w), r.random_range(0.0..h));
            for _ in 0..n {
                let (bw, bh) = if seed == 0 {
                    (r.random_range(64.0..256.0), r.random_range(64.0..256.0))
                } else {
                    (
                        r.random_range(1.0..w.min(300.0)),
                        r.random_range(1.0..h.min(300.0)),
                    )
                };
                let (x, y) = if seed == 0 {
                    (r.random_range(0.0..w - bw), r.random_range(0.0..h - bh))
                } else {
                    // Around one point, so most of them overlap (one phase each).
                    (
                        cx + r.random_range(-60.0..60.0) - bw / 2.0,
                        cy + r.random_range(-60.0..60.0) - bh / 2.0,
                    )
                };
                let rect = Rect::new(x, y, bw, bh);
                let kind = match if seed == 0 { 0 } else { r.random_range(0..8) } {
                    0..=3 => BlurKind::Box {
                        radius: match r.random_range(0..6) {
                            _ if seed == 0 => 15,
                            0 => 127,
                            1 => r.random_range(25..=60),
                            _ => r.random_range(1..=24),
                        },
                    },
                    4 | 5 => BlurKind::Gaussian {
                        sigma: r.random_range(0.3f32..12.0),
                    },
                    6 => BlurKind::Pixelate {
                        block: r.random_range(1..=30),
                    },
                    _ => BlurKind::Solid {
                        color: Color::rgba(9, 99, 199, r.random_range(0..=255)),
                    },
                };
                l.blur(rect, kind);
                if seed != 0 && r.random_bool(0.08) {
                    l.fill(rect, Color::rgba(250, 20, 20, 120));
                }
            }
            infos.push(info);
            init.push(pattern(&mut r, info.min_len()));
            lists.push(l);
        }
        if let Err(e) = compare(
            &mut cuda,
            &mut cpu,
            &store,
            &infos,
            &init,
            &lists,
            Kind::Device,
        ) {
            failures.push(format!("seed {}: {e}", 5000 + seed));
        }
    }
    assert!(
        failures.is_empty(),
        "GPU differs from CPU:\n{}",
        failures.join("\n")
    );
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn submit_wait_and_caller_stream() {
    let Some(mut cuda) = gpu("submit_wait_and_caller_stream") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let store = ImageStore::new();
    let info = FrameInfo::packed(257, 131, PixelFormat::Rgba);
    let mut r = rng(11);
    let list = random_list(&mut r, info.width, info.height, 400, 0);
    let init = pattern(&mut r, info.min_len());
    let mut want = init.clone();
    cpu.render(
        &mut [HostFrame::new(&mut want, info).unwrap()],
        &[&list],
        &store,
    )
    .unwrap();

    let m = Mem::new(Kind::Device, init.len());
    m.upload(&init);
    let frames = [unsafe { DeviceFrame::new(m.dptr, info, 0) }];
    cuda.submit(&frames, &[&list], &store).unwrap();
    cuda.wait().unwrap();
    assert_eq!(first_diff(&want, &m.download(init.len()), &info), None);

    m.upload(&init);
    let stream = cudarc::driver::result::stream::create(
        cudarc::driver::result::stream::StreamKind::NonBlocking,
    )
    .unwrap();
    unsafe { cuda.submit_on_stream(&frames, &[&list], &store, stream) }.unwrap();
    unsafe { cudarc::driver::result::stream::synchronize(stream) }.unwrap();
    assert_eq!(first_diff(&want, &m.download(init.len()), &info), None);
    unsafe { cudarc::driver::result::stream::destroy(stream) }.unwrap();
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn bad_input_is_a_typed_error_and_draws_nothing() {
    let Some(mut cuda) = gpu("bad_input_is_a_typed_error_and_draws_nothing") else {
        return;
    };
    let store = ImageStore::new();
    let info = FrameInfo::packed(64, 48, PixelFormat::Rgba);
    let init = pattern(&mut rng(12), info.min_len());
    let mems: Vec<Mem> = (0..3)
        .map(|_| {
            let m = Mem::new(Kind::Device, init.len());
            m.upload(&init);
            m
        })
        .collect();
    let good: Vec<DeviceFrame> = mems
        .iter()
        .map(|m| unsafe { DeviceFrame::new(m.dptr, info, 0) })
        .collect();
    let mut ok = DrawList::new();
    ok.fill(Rect::new(0.0, 0.0, 64.0, 48.0), Color::RED);
    let mut nan = DrawList::new();
    nan.fill(Rect::new(f32::NAN, 0.0, 4.0, 4.0), Color::RED);
    let mut unknown = DrawList::new();
    unknown.overlay(ImageId(3), Rect::new(0.0, 0.0, 4.0, 4.0), 1.0);
    let mut radius = DrawList::new();
    radius.blur(Rect::new(0.0, 0.0, 4.0, 4.0), BlurKind::Box { radius: 0 });

    let untouched = |what: &str| {
        for m in &mems {
            assert_eq!(m.download(init.len()), init, "{what}: a frame was written");
        }
    };
    let e = cuda.render(&good, &[&ok, &nan, &ok], &store).unwrap_err();
    assert!(matches!(e, Error::InvalidOp { frame: 1, .. }), "{e}");
    untouched("NaN in frame 1");
    let e = cuda
        .render(&good, &[&ok, &ok, &unknown], &store)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnknownImage {
                frame: 2,
                image: 3,
                ..
            }
        ),
        "{e}"
    );
    untouched("unknown image");
    let e = cuda
        .render(&good, &[&radius, &ok, &ok], &store)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidOp { frame: 0, .. }), "{e}");
    untouched("radius 0");
    let e = cuda.render(&good, &[&ok, &ok], &store).unwrap_err();
    assert!(matches!(e, Error::BatchMismatch { .. }), "{e}");
    untouched("batch mismatch");

    let mut bad = good.clone();
    bad[1] = unsafe { DeviceFrame::new(0, info, 0) };
    let e = cuda.render(&bad, &[&ok, &ok, &ok], &store).unwrap_err();
    assert!(matches!(e, Error::InvalidFrame { index: 1, .. }), "{e}");
    untouched("null pointer");
    bad[1] = unsafe {
        DeviceFrame::new(
            mems[1].dptr,
            FrameInfo::new(64, 48, 200, PixelFormat::Rgba),
            0,
        )
    };
    let e = cuda.render(&bad, &[&ok, &ok, &ok], &store).unwrap_err();
    assert!(matches!(e, Error::InvalidFrame { index: 1, .. }), "{e}");
    untouched("pitch < 4 x width");
    bad[1] = unsafe { DeviceFrame::new(mems[1].dptr + 2, info, 0) };
    let e = cuda.render(&bad, &[&ok, &ok, &ok], &store).unwrap_err();
    assert!(matches!(e, Error::InvalidFrame { index: 1, .. }), "{e}");
    untouched("misaligned pointer");
    bad[1] = unsafe { DeviceFrame::new(mems[1].dptr, info, 999) };
    let e = cuda.render(&bad, &[&ok, &ok, &ok], &store).unwrap_err();
    assert!(matches!(e, Error::InvalidFrame { index: 1, .. }), "{e}");
    untouched("gpu_id out of range");

    // And the renderer still works afterwards.
    cuda.render(&good, &[&ok, &ok, &ok], &store).unwrap();
    assert_ne!(mems[0].download(init.len()), init);
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn first_call_cost_is_under_a_second() {
    if gpu("first_call_cost_is_under_a_second").is_none() {
        return;
    }
    // A fresh renderer: driver already initialised by gpu(); this times what a new
    // renderer pays (primary context retain, stream, PTX JIT load).
    let t = std::time::Instant::now();
    let mut cuda = CudaRenderer::new().unwrap();
    cuda.warm_up(0).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!("first call (context + PTX load): {:.1} ms", s * 1e3);
    assert!(s < 1.0, "first call took {s:.3} s");
}

/// Runs everywhere: without a driver the backend reports a typed error, no panic.
#[test]
fn no_device_is_a_typed_error() {
    if cudadraw::cuda::device_count() > 0 {
        println!("device present: nothing to check here");
        return;
    }
    match CudaRenderer::new() {
        Err(Error::NoCudaDevice(msg)) => assert!(!msg.is_empty()),
        other => panic!("expected NoCudaDevice, got {other:?}"),
    }
    let mut r = cudadraw::render::Renderer::new();
    let e = r.render_device(&[], &[] as &[DrawList]).unwrap_err();
    assert!(matches!(e, Error::NoCudaDevice(_)), "{e}");
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn overlapping_device_frames_are_refused() {
    let Some(mut cuda) = gpu("overlapping_device_frames_are_refused") else {
        return;
    };
    let store = ImageStore::new();
    let info = FrameInfo::packed(64, 48, PixelFormat::Rgba);
    let init = pattern(&mut rng(21), info.min_len() * 2);
    let m = Mem::new(Kind::Device, init.len());
    m.upload(&init);
    let mut l = DrawList::new();
    l.blur(Rect::new(0.0, 0.0, 64.0, 48.0), BlurKind::Box { radius: 3 });
    // The same pointer twice, then frames one row apart: blocks of one launch would
    // race on the shared bytes.
    for second in [m.dptr, m.dptr + 256] {
        let frames = unsafe {
            [
                DeviceFrame::new(m.dptr, info, 0),
                DeviceFrame::new(second, info, 0),
            ]
        };
        let e = cuda.render(&frames, &[&l, &l], &store).unwrap_err();
        assert!(
            matches!(
                e,
                Error::OverlappingFrames {
                    first: 0,
                    second: 1
                }
            ),
            "{e}"
        );
        assert_eq!(m.download(init.len()), init, "a frame was written");
    }
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn a_failed_launch_keeps_its_buffers_in_flight_and_forgets_its_images() {
    let Some(mut cuda) = gpu("a_failed_launch_keeps_its_buffers_in_flight_and_forgets_its_images")
    else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let mut r = rng(33);
    let mut store = ImageStore::new();
    random_images(&mut r, &mut store, 3);
    let infos: Vec<FrameInfo> = (0..8)
        .map(|_| FrameInfo::packed(640, 360, PixelFormat::Rgba))
        .collect();
    let init: Vec<Vec<u8>> = infos.iter().map(|i| pattern(&mut r, i.min_len())).collect();
    let mut lists: Vec<DrawList> = infos
        .iter()
        .map(|i| random_list(&mut r, i.width, i.height, 40, 3))
        .collect();
    for l in &mut lists {
        // A blur after boxes: several phases, several launches; and an overlay, so the
        // failing submission uploads an image.
        l.blur(
            Rect::new(10.0, 10.0, 200.0, 100.0),
            BlurKind::Gaussian { sigma: 3.0 },
        );
        l.overlay(ImageId(0), Rect::new(5.0, 5.0, 100.0, 60.0), 0.7);
    }
    let mems: Vec<Mem> = init
        .iter()
        .map(|b| {
            let m = Mem::new(Kind::Device, b.len());
            m.upload(b);
            m
        })
        .collect();
    let frames: Vec<DeviceFrame> = mems
        .iter()
        .zip(&infos)
        .map(|(m, i)| unsafe { DeviceFrame::new(m.dptr, *i, 0) })
        .collect();
    // Without overlays: the upload and the first launch were enqueued when the second
    // launch fails, and the submission is tracked as in flight (the next call waits).
    let plain: Vec<DrawList> = lists
        .iter()
        .map(|l| {
            let mut l = l.clone();
            l.retain_mut(|op| !matches!(op, cudadraw::Op::Overlay(_)));
            l
        })
        .collect();
    cuda.inject_launch_failure(0, 1).unwrap();
    let e = cuda.submit(&frames, &plain, &store).unwrap_err();
    assert!(e.to_string().contains("launch"), "{e}");
    assert!(
        cuda.in_flight(0),
        "a failed submission must count as in flight"
    );
    cuda.wait().unwrap();
    assert!(!cuda.in_flight(0));
    // With an overlay whose upload the failing call enqueued: the call waits for its
    // work before it forgets the image (it would free memory the GPU may still read
    // otherwise), so nothing is left in flight.
    cuda.inject_launch_failure(0, 1).unwrap();
    let e = cuda.submit(&frames, &lists, &store).unwrap_err();
    assert!(e.to_string().contains("launch"), "{e}");
    assert!(!cuda.in_flight(0));
    // The next call re-uploads the image (its upload of the failed call may not have
    // landed) and draws exactly what the CPU draws.
    for m in mems.iter().zip(&init) {
        m.0.upload(m.1);
    }
    compare(
        &mut cuda,
        &mut cpu,
        &store,
        &infos,
        &init,
        &lists,
        Kind::Device,
    )
    .unwrap();
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn replaced_images_are_drawn_from_their_new_pixels() {
    let Some(mut cuda) = gpu("replaced_images_are_drawn_from_their_new_pixels") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let mut r = rng(44);
    let mut store = ImageStore::new();
    random_images(&mut r, &mut store, 1);
    let info = FrameInfo::packed(96, 64, PixelFormat::Bgra);
    let init = vec![pattern(&mut r, info.min_len())];
    let mut l = DrawList::new();
    l.overlay(ImageId(0), Rect::new(3.0, 2.0, 80.0, 50.0), 1.0);
    let lists = vec![l];
    compare(
        &mut cuda,
        &mut cpu,
        &store,
        &[info],
        &init,
        &lists,
        Kind::Device,
    )
    .unwrap();
    for _ in 0..3 {
        let px: Vec<u8> = pattern(&mut r, 17 * 9 * 4);
        store
            .replace(ImageId(0), cudadraw::draw::Image::new(17, 9, px).unwrap())
            .unwrap();
        compare(
            &mut cuda,
            &mut cpu,
            &store,
            &[info],
            &init,
            &lists,
            Kind::Device,
        )
        .unwrap();
    }
    store.remove(ImageId(0));
    let e = cuda
        .render(
            &[unsafe { DeviceFrame::new(1 << 20, info, 0) }],
            &lists,
            &store,
        )
        .unwrap_err();
    assert!(matches!(e, Error::UnknownImage { .. }), "{e}");
}

/// Instance masks (u8, f16, f32) and class maps straight from device memory, padded
/// pitches, drawn byte-exact with the CPU renderer drawing the same values from host
/// memory; a null pointer or a short pitch is an error and draws nothing.
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn device_resident_masks_match_host_masks_on_the_cpu() {
    use cudadraw::draw::{ClassMapOp, DeviceMask, MaskOp, MaskSource, MaskType, MaskValues};
    use std::sync::Arc;
    let Some(mut cuda) = gpu("device_resident_masks_match_host_masks_on_the_cpu") else {
        return;
    };
    let mut cpu = CpuRenderer::new();
    let store = ImageStore::new();
    let mut r = rng(31);
    let info = FrameInfo::packed(640, 360, PixelFormat::Rgba);
    let mut keep = Vec::new(); // device buffers live until the render is done
    let (mut host_list, mut dev_list) = (DrawList::new(), DrawList::new());
    for k in 0..60 {
        let (mw, mh) = (r.random_range(1..=48u32), r.random_range(1..=48u32));
        let n = (mw * mh) as usize;
        let rect = Rect::new(
            r.random_range(-40.0..600.0),
            r.random_range(-40.0..340.0),
            r.random_range(8.0..256.0),
            r.random_range(8.0..256.0),
        );
        let (dtype, values, bytes): (MaskType, MaskValues, Vec<u8>) = match k % 4 {
            0 => {
                let v: Vec<u8> = (0..n).map(|_| r.random()).collect();
                (MaskType::U8, MaskValues::U8(v.clone().into()), v)
            }
            1 => {
                let v: Vec<half::f16> = (0..n)
                    .map(|_| half::f16::from_f32(r.random_range(-0.1..1.1)))
                    .collect();
                let b = v.iter().flat_map(|x| x.to_bits().to_ne_bytes()).collect();
                (MaskType::F16, MaskValues::F16(v.into()), b)
            }
            2 => {
                let v: Vec<f32> = (0..n).map(|_| r.random_range(-0.1..1.1)).collect();
                let b = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
                (MaskType::F32, MaskValues::F32(v.into()), b)
            }
            _ => {
                let v: Vec<i32> = (0..n).map(|_| r.random_range(-1..5)).collect();
                let b = v.iter().flat_map(|x| x.to_ne_bytes()).collect();
                (MaskType::I32, MaskValues::I32(v.into()), b)
            }
        };
        // Rows padded by 12 elements in device memory.
        let e = dtype.size();
        let pitch = (mw as usize + 12) * e;
        let mut padded = vec![0xeeu8; pitch * mh as usize];
        for y in 0..mh as usize {
            padded[y * pitch..y * pitch + mw as usize * e]
                .copy_from_slice(&bytes[y * mw as usize * e..(y + 1) * mw as usize * e]);
        }
        let mem = Mem::new(Kind::Device, padded.len());
        mem.upload(&padded);
        // SAFETY: the buffer holds mh rows of `pitch` bytes and lives in `keep` until
        // after the render below.
        let dev = unsafe { DeviceMask::new(mem.dptr, pitch, mw, mh, dtype) };
        keep.push(mem);
        let color = Color::rgba(r.random(), r.random(), r.random(), r.random());
        if dtype == MaskType::I32 {
            let palette: Arc<[Color]> = ClassMapOp::background_transparent(&[
                Color::BLACK,
                Color::rgba(255, 0, 0, 120),
                Color::rgba(0, 255, 0, 200),
                Color::rgba(0, 0, 255, 255),
            ]);
            for (list, map) in [
                (&mut host_list, MaskSource::host(mw, mh, values)),
                (&mut dev_list, MaskSource::Device(dev)),
            ] {
                list.push(ClassMapOp {
                    rect,
                    map,
                    palette: palette.clone(),
                });
            }
        } else {
            for (list, mask) in [
                (&mut host_list, MaskSource::host(mw, mh, values.clone())),
                (&mut dev_list, MaskSource::Device(dev)),
            ] {
                list.push(MaskOp {
                    rect,
                    mask,
                    threshold: [0.0, 0.5, 1.0][k % 3],
                    color,
                    filter: if k % 2 == 0 {
                        cudadraw::Filter::Bilinear
                    } else {
                        cudadraw::Filter::Nearest
                    },
                    contour: (k % 5 == 0).then_some(Color::WHITE),
                });
            }
        }
    }
    let init = pattern(&mut r, info.min_len());
    let mut want = init.clone();
    cpu.render(
        &mut [HostFrame::new(&mut want, info).unwrap()],
        &[&host_list],
        &store,
    )
    .unwrap();
    let mem = Mem::new(Kind::Device, init.len());
    mem.upload(&init);
    let frame = unsafe { DeviceFrame::new(mem.dptr, info, 0) };
    cuda.render(&[frame], &[&dev_list], &store).unwrap();
    let got = mem.download(init.len());
    assert_ne!(want, init, "the masks drew nothing");
    if let Some(d) = first_diff(&want, &got, &info) {
        panic!("device masks differ from host masks on the CPU: {d}");
    }
    // Bad device masks: errors, nothing drawn.
    let bad = [
        unsafe { DeviceMask::new(0, 64, 16, 16, MaskType::F32) },
        unsafe { DeviceMask::new(keep[0].dptr, 8, 16, 16, MaskType::F32) },
        unsafe { DeviceMask::new(keep[0].dptr + 1, 64, 16, 16, MaskType::F16) },
    ];
    for d in bad {
        let mut l = DrawList::new();
        l.fill(Rect::new(0.0, 0.0, 10.0, 10.0), Color::RED);
        l.push(MaskOp {
            rect: Rect::new(0.0, 0.0, 50.0, 50.0),
            mask: MaskSource::Device(d),
            threshold: 0.5,
            color: Color::WHITE,
            filter: cudadraw::Filter::Nearest,
            contour: None,
        });
        mem.upload(&init);
        assert!(cuda.render(&[frame], &[&l], &store).is_err(), "{d:?}");
        assert_eq!(mem.download(init.len()), init, "{d:?}: drawn anyway");
    }
    // A device mask on host frames: a typed error.
    let mut host = init.clone();
    assert!(
        cpu.render(
            &mut [HostFrame::new(&mut host, info).unwrap()],
            &[&dev_list],
            &store
        )
        .is_err()
    );
    drop(keep);
}
