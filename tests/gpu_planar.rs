//! NV12 and I420 on the GPU against the CPU renderer, byte for byte over the whole
//! buffer (padding and gaps between planes included): seeded random scenes with every
//! op on random sizes (odd ones included), layouts, matrices, ranges, pitches and
//! plane offsets; 1080p batches of 8; list order across blurs; error paths. Without a
//! device every test prints "SKIPPED: no CUDA device" and returns; with
//! CUDADRAW_REQUIRE_GPU=1 it fails instead. CUDADRAW_GPU_SCENES / 8 random scenes
//! (default 250: the CPU oracle's planar blurs are plain loops).

mod common;
mod gpu_support;
mod nvmm_support;

use cudadraw::cpu::CpuRenderer;
use cudadraw::cuda::CudaRenderer;
use cudadraw::draw::{BlurKind, DrawList, ImageStore};
use cudadraw::planar::{
    DevicePlanarFrame, PlanarFrame, PlanarInfo, PlanarLayout, Plane, YuvMatrix, YuvRange,
};
use cudadraw::{Border, Color, Error, Rect};
use gpu_support::{Kind, Mem, gpu, pattern, random_images, random_list, rng, upload_all};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A random layout: NV12 or I420, any matrix and range, tight or with padded pitches
/// and gaps (odd offsets included: planes are byte-addressed).
fn random_planar(r: &mut ChaCha8Rng, max_w: u32, max_h: u32) -> PlanarInfo {
    let w = (r.random_range(0.0f64..(max_w as f64).ln()).exp() as u32).max(1);
    let h = (r.random_range(0.0f64..(max_h as f64).ln()).exp() as u32).max(1);
    let layout = if r.random_bool(0.5) {
        PlanarLayout::Nv12
    } else {
        PlanarLayout::I420
    };
    let m = [YuvMatrix::Bt601, YuvMatrix::Bt709, YuvMatrix::Bt2020][r.random_range(0..3)];
    let range = if r.random_bool(0.5) {
        YuvRange::Limited
    } else {
        YuvRange::Full
    };
    let mut info = PlanarInfo::tight(w, h, layout).with_colour(m, range);
    if r.random_bool(0.5) {
        let mut at = r.random_range(0..9usize);
        for i in 0..layout.planes() {
            let (row, rows) = info.plane_extent(i);
            let pitch = row + r.random_range(0..70usize);
            info.planes[i] = Some(Plane { offset: at, pitch });
            at += pitch * rows + r.random_range(0..13usize);
        }
    }
    info
}

/// Draws `lists` on frames `infos` (initial bytes `init`) on the CPU and on the GPU
/// (memory `kind`); the first difference, if any.
fn compare(
    cuda: &mut CudaRenderer,
    store: &ImageStore,
    infos: &[PlanarInfo],
    init: &[Vec<u8>],
    lists: &[DrawList],
    kind: Kind,
) -> Result<(), String> {
    let mut want = init.to_vec();
    {
        let mut frames = want
            .iter_mut()
            .zip(infos)
            .map(|(b, i)| PlanarFrame::new(b, *i))
            .collect::<cudadraw::Result<Vec<_>>>()
            .map_err(|e| format!("host frame: {e}"))?;
        CpuRenderer::new()
            .render_planar(&mut frames, lists, store)
            .map_err(|e| format!("cpu: {e}"))?;
    }
    let mems = upload_all(kind, init);
    let frames: Vec<DevicePlanarFrame> = mems
        .iter()
        .zip(infos)
        .map(|(m, i)| unsafe { DevicePlanarFrame::new(m.dptr, *i, 0) })
        .collect();
    cuda.render_planar(&frames, lists, store)
        .map_err(|e| format!("gpu: {e}"))?;
    for (k, (m, w)) in mems.iter().zip(&want).enumerate() {
        let got = m.download(w.len());
        if let Some(i) = (0..w.len()).find(|&i| w[i] != got[i]) {
            return Err(format!(
                "frame {k} ({:?}): byte {i}: cpu {} gpu {} ({})",
                infos[k],
                w[i],
                got[i],
                where_is(&infos[k], i)
            ));
        }
    }
    Ok(())
}

/// Which plane sample (or padding) byte `i` of a frame is.
fn where_is(info: &PlanarInfo, i: usize) -> String {
    for p in 0..info.layout.planes() {
        let Some(pl) = info.planes[p] else { continue };
        let (row, rows) = info.plane_extent(p);
        if i >= pl.offset && (i - pl.offset) / pl.pitch < rows {
            let (y, x) = ((i - pl.offset) / pl.pitch, (i - pl.offset) % pl.pitch);
            if x < row {
                return format!("plane {p}, byte column {x}, row {y}");
            }
        }
    }
    "padding".into()
}

fn scene_count() -> usize {
    std::env::var("CUDADRAW_GPU_SCENES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(250, |n| (n / 8).max(1))
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn random_planar_scenes_match_cpu() {
    let Some(mut cuda) = gpu("random_planar_scenes_match_cpu") else {
        return;
    };
    let mut store = ImageStore::new();
    random_images(&mut rng(7), &mut store, 6);
    let n = scene_count();
    let (mut prims, mut failures) = (0usize, Vec::new());
    for seed in 0..n as u64 {
        let mut r = rng(50_000 + seed);
        let frames = r.random_range(1..=3usize);
        let (mut infos, mut init, mut lists) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..frames {
            let info = if seed % 25 == 0 {
                PlanarInfo::tight(1920, 1080, PlanarLayout::Nv12)
            } else {
                random_planar(&mut r, 2000, 1200)
            };
            // The CPU oracle's work bounded as in gpu_render.
            let area = info.width as f64 * info.height as f64;
            let max_n = ((5.0e7 / (area * 0.2)).clamp(1.0, 1000.0)) as usize;
            let count = (r.random_range(0.0f64..(max_n as f64 + 1.0).ln())).exp() as usize;
            let list = random_list(
                &mut r,
                info.width,
                info.height,
                count.min(max_n),
                store.len(),
            );
            prims += list.len();
            let extra = r.random_range(0..9usize);
            init.push(pattern(&mut r, info.min_len() + extra));
            infos.push(info);
            lists.push(list);
        }
        if let Err(e) = compare(&mut cuda, &store, &infos, &init, &lists, Kind::Device) {
            failures.push(format!("seed {}: {e}", 50_000 + seed));
            if failures.len() >= 10 {
                break;
            }
        }
    }
    println!(
        "{n} random planar scenes, {prims} primitives, {} failures",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "GPU differs from CPU on NV12 / I420:\n{}",
        failures.join("\n")
    );
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn batches_and_memory_kinds_match_cpu() {
    let Some(mut cuda) = gpu("batches_and_memory_kinds_match_cpu") else {
        return;
    };
    let mut store = ImageStore::new();
    random_images(&mut rng(8), &mut store, 4);
    for (frames, kind, layout) in [
        (8, Kind::Device, PlanarLayout::Nv12),
        (8, Kind::Device, PlanarLayout::I420),
        (3, Kind::Pinned, PlanarLayout::Nv12),
        (3, Kind::Managed, PlanarLayout::I420),
    ] {
        let mut r = rng(frames as u64 * 31 + kind as u64);
        let info = PlanarInfo::tight(1920, 1080, layout);
        let lists: Vec<DrawList> = (0..frames)
            .map(|_| random_list(&mut r, 1920, 1080, 60, store.len()))
            .collect();
        let init: Vec<Vec<u8>> = (0..frames)
            .map(|_| pattern(&mut r, info.min_len()))
            .collect();
        let infos = vec![info; frames];
        compare(&mut cuda, &store, &infos, &init, &lists, kind)
            .unwrap_or_else(|e| panic!("{frames} x {layout:?} in {kind:?} memory: {e}"));
    }
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn list_order_across_blurs_and_block_edges_matches_cpu() {
    let Some(mut cuda) = gpu("list_order_across_blurs_and_block_edges_matches_cpu") else {
        return;
    };
    let store = ImageStore::new();
    // Odd edges: a box ending at x = 11 and a blur starting there share the chroma
    // samples of column 5, so the blur must see the box (phases on whole blocks).
    let mut l = DrawList::new();
    l.fill(Rect::new(1.0, 1.0, 10.0, 9.0), Color::RED);
    l.blur(Rect::new(11.0, 3.0, 9.0, 9.0), BlurKind::Box { radius: 3 });
    l.rect(
        Rect::new(13.0, 13.0, 21.0, 17.0),
        Some(Border::new(3, Color::rgba(0, 200, 0, 140))),
        Some(Color::rgba(0, 0, 255, 90)),
    );
    l.blur(
        Rect::new(12.0, 12.0, 25.0, 19.0),
        BlurKind::Gaussian { sigma: 2.5 },
    );
    l.blur(
        Rect::new(3.0, 21.0, 17.0, 15.0),
        BlurKind::Pixelate { block: 5 },
    );
    l.blur(
        Rect::new(30.0, 1.0, 9.0, 9.0),
        BlurKind::Solid {
            color: Color::rgb(250, 250, 0),
        },
    );
    l.fill(
        Rect::new(5.0, 5.0, 30.0, 30.0),
        Color::rgba(255, 255, 255, 60),
    );
    l.blur(
        Rect::new(0.0, 0.0, 41.0, 39.0),
        BlurKind::Pixelate { block: 4 },
    );
    for layout in [PlanarLayout::Nv12, PlanarLayout::I420] {
        for (w, h) in [(41, 39), (40, 38), (1, 1), (2, 3)] {
            let info = PlanarInfo::tight(w, h, layout);
            let init = vec![pattern(&mut rng(w as u64), info.min_len())];
            compare(
                &mut cuda,
                &store,
                &[info],
                &init,
                std::slice::from_ref(&l),
                Kind::Device,
            )
            .unwrap_or_else(|e| panic!("{w}x{h} {layout:?}: {e}"));
        }
    }
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn bad_input_is_a_typed_error_and_draws_nothing() {
    let Some(mut cuda) = gpu("planar bad_input_is_a_typed_error_and_draws_nothing") else {
        return;
    };
    let store = ImageStore::new();
    let info = PlanarInfo::tight(64, 32, PlanarLayout::Nv12);
    let init = pattern(&mut rng(3), 2 * info.min_len());
    let m = Mem::new(Kind::Device, init.len());
    m.upload(&init);
    let mut l = DrawList::new();
    l.fill(Rect::new(0.0, 0.0, 64.0, 32.0), Color::RED);
    let two = [l.clone(), l.clone()];
    // Null pointer; overlapping frames; a UV pitch below the width; lists != frames.
    let null = unsafe { DevicePlanarFrame::new(0, info, 0) };
    let a = unsafe { DevicePlanarFrame::new(m.dptr, info, 0) };
    let b = unsafe { DevicePlanarFrame::new(m.dptr + 100, info, 0) };
    let mut narrow = info;
    narrow.planes[1] = Some(Plane {
        offset: 64 * 32,
        pitch: 30,
    });
    let narrow = unsafe { DevicePlanarFrame::new(m.dptr, narrow, 0) };
    let cases: [(&str, Vec<DevicePlanarFrame>, &[DrawList]); 4] = [
        ("null", vec![null], &two[..1]),
        ("overlap", vec![a, b], &two),
        ("narrow UV pitch", vec![narrow], &two[..1]),
        ("lists", vec![a], &two),
    ];
    for (what, frames, lists) in cases {
        let e = cuda.render_planar(&frames, lists, &store).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidFrame { .. }
                    | Error::OverlappingFrames { .. }
                    | Error::BatchMismatch { .. }
            ),
            "{what}: {e}"
        );
        assert_eq!(m.download(init.len()), init, "{what}: frame written");
    }
}

/// NvBufSurface NV12 / YUV420 batches in device, pinned and unified memory (both ABIs,
/// every colour format, padded planes) drawn through `NvmmBatch::render`: what the CPU
/// renderer draws on the same bytes.
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn nvmm_planar_surfaces_match_cpu() {
    use cudadraw::nvmm::abi::{Abi, color_format, mem_type};
    use cudadraw::nvmm::{NvmmBatch, NvmmOptions, RenderPath};
    use cudadraw::render::Renderer;
    use nvmm_support::{planar_batch, planar_list};
    let Some(_cuda) = gpu("nvmm_planar_surfaces_match_cpu") else {
        return;
    };
    gstreamer::init().unwrap();
    let formats = [
        color_format::NV12,
        color_format::NV12_ER,
        color_format::NV12_709,
        color_format::NV12_709_ER,
        color_format::NV12_2020,
        color_format::YUV420,
        color_format::YUV420_ER,
        color_format::YUV420_709,
        color_format::YUV420_709_ER,
        color_format::YUV420_2020,
    ];
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        for (kind, mem) in [
            (Kind::Device, mem_type::CUDA_DEVICE),
            (Kind::Pinned, mem_type::CUDA_PINNED),
            (Kind::Managed, mem_type::CUDA_UNIFIED),
        ] {
            for pair in formats.chunks(2) {
                let (mut batch, infos) =
                    planar_batch(abi, mem, &[(37, 23, pair[0]), (64, 30, pair[1])]);
                let lists: Vec<DrawList> = infos
                    .iter()
                    .map(|i| planar_list(i.width, i.height))
                    .collect();
                let mut want = batch.frames.clone();
                {
                    let mut frames = want
                        .iter_mut()
                        .zip(&infos)
                        .map(|(b, i)| PlanarFrame::new(b, *i).unwrap())
                        .collect::<Vec<_>>();
                    CpuRenderer::new()
                        .render_planar(&mut frames, &lists, &ImageStore::new())
                        .unwrap();
                }
                let mems = upload_all(kind, &batch.frames);
                for (p, m) in batch.params.iter_mut().zip(&mems) {
                    p.data_ptr = m.dptr;
                }
                let buf = batch.buffer();
                let opts = NvmmOptions {
                    abi: Some(abi),
                    ..Default::default()
                };
                let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
                assert_eq!(b.path(), RenderPath::Device, "{abi} {mem}");
                b.render(&mut Renderer::new(), &lists)
                    .unwrap_or_else(|e| panic!("{abi} {mem} {pair:?}: {e}"));
                for (k, (m, w)) in mems.iter().zip(&want).enumerate() {
                    assert!(
                        &m.download(w.len()) == w,
                        "{abi} mem {mem} colour formats {pair:?}: frame {k} differs from the CPU"
                    );
                }
            }
        }
    }
}

/// Every planar reference scene (tests/scenes/planar) on device memory: what the CPU
/// renderer draws, which tests/planar.rs holds to the committed planes.
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn planar_reference_scenes_match_cpu() {
    let Some(mut cuda) = gpu("planar_reference_scenes_match_cpu") else {
        return;
    };
    let paths = common::planar_scene_paths();
    assert!(!paths.is_empty());
    for path in paths {
        let scene = cudadraw::draw::scene::Scene::load(&path).expect("planar scene");
        let info = scene
            .planar_info(common::DEFAULT_WIDTH, common::DEFAULT_HEIGHT)
            .expect("a planar scene");
        let init: Vec<Vec<u8>> = (0..scene.lists.len())
            .map(|f| {
                let packed = cudadraw::FrameInfo::packed(
                    info.width,
                    info.height,
                    cudadraw::PixelFormat::Rgba,
                );
                let mut v = vec![0x5a; info.min_len() + 5];
                info.write_rgba(&common::background(packed, f), &mut v);
                v
            })
            .collect();
        let infos = vec![info; init.len()];
        compare(
            &mut cuda,
            &scene.images,
            &infos,
            &init,
            &scene.lists,
            Kind::Device,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
