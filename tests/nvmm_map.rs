//! The Jetson CPU map path through the C test double of libnvbufsurface.so (CI, no GPU,
//! no DeepStream): pictures equal the CPU reference, packed and NV12 / I420 (each plane
//! in its own mapping), call sequences are exact, and every error path unmaps.

mod nvmm_support;

use std::sync::Mutex;

use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::{BlurKind, DrawList};
use cudadraw::nvmm::abi::{Abi, color_format, mem_type};
use cudadraw::nvmm::{NvmmBatch, NvmmOptions, RenderPath};
use cudadraw::planar::{PlanarFrame, PlanarInfo};
use cudadraw::render::Renderer;
use cudadraw::{Error, ImageStore};
use cudadraw::{PixelFormat, Rect};
use gstreamer as gst;
use nvmm_support::*;

// The double keeps its call log in globals: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn setup(abi: Abi) -> (std::sync::MutexGuard<'static, ()>, Double, NvmmOptions) {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    gst::init().unwrap();
    let double = Double::open();
    double.reset(abi);
    let opts = NvmmOptions {
        abi: Some(abi),
        force_cpu_map_for_unified: false,
        nvbufsurface_lib: Some(double_lib()),
    };
    (guard, double, opts)
}

fn shapes() -> Vec<(u32, u32, u32, PixelFormat)> {
    vec![
        (64, 48, 256, PixelFormat::Rgba),
        (33, 17, 33 * 4 + 12, PixelFormat::Bgrx),
        (50, 40, 200, PixelFormat::Bgra),
        (1, 1, 4, PixelFormat::Rgbx),
    ]
}

fn happy_sequence(n: i32) -> Vec<Call> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(Call::Map(i));
        v.push(Call::SyncCpu(i));
    }
    for i in 0..n {
        v.push(Call::SyncDev(i));
        v.push(Call::UnMap(i));
    }
    v
}

fn unmap_sequence(mapped: i32) -> Vec<Call> {
    (0..mapped).map(Call::UnMap).collect()
}

#[test]
fn surface_array_pictures_equal_cpu_reference_both_abis() {
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        for mem in [mem_type::SURFACE_ARRAY, mem_type::HANDLE] {
            let (_g, double, opts) = setup(abi);
            let mut batch = HostBatch::new(abi, mem, &shapes());
            let buf = batch.buffer();
            let mut r = Renderer::new();
            let logo = r.add_image(logo());
            let infos = batch.infos();
            let lists = lists_for(&infos, logo);
            let expected = reference(&batch.frames, &infos, &lists, &mut r);
            assert_ne!(expected, batch.frames, "the lists must change the frames");

            let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
            assert_eq!(b.path(), RenderPath::CpuMap);
            assert_eq!(b.frames().len(), 4);
            b.render(&mut r, &lists).unwrap();
            drop(b);

            for (i, (got, want)) in batch.frames.iter().zip(&expected).enumerate() {
                assert!(got == want, "{abi} mem {mem}: frame {i} differs");
            }
            assert_eq!(double.calls(), happy_sequence(4), "{abi}");
            assert_eq!(double.mapped_now(), 0);
        }
    }
}

#[test]
fn unified_memory_forced_through_map_path() {
    let (_g, double, mut opts) = setup(Abi::Ds8);
    opts.force_cpu_map_for_unified = true;
    let mut batch = HostBatch::new(Abi::Ds8, mem_type::CUDA_UNIFIED, &shapes()[..2]);
    let buf = batch.buffer();
    let mut r = Renderer::new();
    let logo = r.add_image(logo());
    let infos = batch.infos();
    let lists = lists_for(&infos, logo);
    let expected = reference(&batch.frames, &infos, &lists, &mut r);
    let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
    assert_eq!(b.path(), RenderPath::CpuMap);
    b.render(&mut r, &lists).unwrap();
    drop(b);
    assert_eq!(batch.frames, expected);
    assert_eq!(double.calls(), happy_sequence(2));

    // Unforced, unified memory goes to the CUDA backend instead.
    opts.force_cpu_map_for_unified = false;
    let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
    assert_eq!(b.path(), RenderPath::Device);
}

#[test]
fn invalid_draw_list_unmaps_and_writes_nothing() {
    let (_g, double, opts) = setup(Abi::Ds4To7);
    let mut batch = HostBatch::new(Abi::Ds4To7, mem_type::SURFACE_ARRAY, &shapes()[..3]);
    let buf = batch.buffer();
    let before = batch.snapshot();
    let mut r = Renderer::new();
    let mut lists = vec![DrawList::new(), DrawList::new(), DrawList::new()];
    lists[0].fill(Rect::new(0.0, 0.0, 10.0, 10.0), cudadraw::Color::RED);
    // Radius 0 is out of range: the whole batch must be refused.
    lists[2].blur(Rect::new(0.0, 0.0, 10.0, 10.0), BlurKind::Box { radius: 0 });
    let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
    let err = b.render(&mut r, &lists).unwrap_err();
    assert!(matches!(err, Error::InvalidOp { frame: 2, .. }), "{err}");
    drop(b);
    assert_eq!(batch.frames, before);
    let mut want = happy_sequence(3)[..6].to_vec();
    want.extend(unmap_sequence(3));
    assert_eq!(double.calls(), want);
    assert_eq!(double.mapped_now(), 0);
}

/// What a Jetson render of `n` frames did while the double failed `fun` on its
/// `nth` call.
struct FailedRender {
    err: String,
    calls: Vec<Call>,
    mapped_now: i32,
    /// Whether every frame kept its bytes.
    untouched: bool,
}

fn render_with_failure(abi: Abi, n: usize, fun: i32, nth: i32) -> FailedRender {
    let (_g, double, opts) = setup(abi);
    let mut batch = HostBatch::new(abi, mem_type::SURFACE_ARRAY, &shapes()[..n]);
    let buf = batch.buffer();
    let before = batch.snapshot();
    let mut r = Renderer::new();
    let lists = lists_for(&batch.infos(), r.add_image(logo()));
    double.fail(fun, nth);
    let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
    let err = b.render(&mut r, &lists).unwrap_err().to_string();
    drop(b);
    FailedRender {
        err,
        calls: double.calls(),
        mapped_now: double.mapped_now(),
        untouched: batch.frames == before,
    }
}

#[test]
fn map_failure_unmaps_what_was_mapped() {
    let f = render_with_failure(Abi::Ds8, 3, F_MAP, 2);
    assert!(
        f.err.contains("NvBufSurfaceMap") && f.err.contains("DeepStream 8.0+ ABI"),
        "{}",
        f.err
    );
    assert!(f.untouched);
    assert_eq!(
        f.calls,
        vec![
            Call::Map(0),
            Call::SyncCpu(0),
            Call::Map(1),
            Call::SyncCpu(1),
            Call::Map(2),
            Call::UnMap(0),
            Call::UnMap(1),
        ]
    );
    assert_eq!(f.mapped_now, 0);
}

#[test]
fn sync_for_cpu_failure_unmaps() {
    let f = render_with_failure(Abi::Ds4To7, 2, F_SYNC_CPU, 1);
    assert!(f.err.contains("NvBufSurfaceSyncForCpu"), "{}", f.err);
    assert!(f.untouched);
    assert_eq!(
        f.calls,
        vec![
            Call::Map(0),
            Call::SyncCpu(0),
            Call::Map(1),
            Call::SyncCpu(1),
            Call::UnMap(0),
            Call::UnMap(1),
        ]
    );
    assert_eq!(f.mapped_now, 0);
}

#[test]
fn sync_for_device_and_unmap_failures_are_reported_after_unmapping_all() {
    for (fun, name) in [
        (F_SYNC_DEV, "NvBufSurfaceSyncForDevice"),
        (F_UNMAP, "NvBufSurfaceUnMap"),
    ] {
        let f = render_with_failure(Abi::Ds8, 3, fun, 0);
        assert!(
            f.err.contains(name) && f.err.contains("frame 0"),
            "{}",
            f.err
        );
        assert_eq!(f.calls, happy_sequence(3), "{name}");
        assert_eq!(f.mapped_now, 0, "{name}");
    }
}

#[test]
fn batch_mismatch_maps_nothing() {
    let (_g, double, opts) = setup(Abi::Ds4To7);
    let mut batch = HostBatch::new(Abi::Ds4To7, mem_type::SURFACE_ARRAY, &shapes()[..2]);
    let buf = batch.buffer();
    let mut r = Renderer::new();
    let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
    let err = b.render(&mut r, &[DrawList::new()]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BatchMismatch {
                frames: 2,
                lists: 1
            }
        ),
        "{err}"
    );
    assert!(double.calls().is_empty());
}

#[test]
fn missing_library_is_a_typed_error() {
    let (_g, _double, mut opts) = setup(Abi::Ds4To7);
    opts.nvbufsurface_lib = Some("/nonexistent/libnvbufsurface.so".into());
    let mut batch = HostBatch::new(Abi::Ds4To7, mem_type::SURFACE_ARRAY, &shapes()[..1]);
    let buf = batch.buffer();
    let before = batch.snapshot();
    let mut r = Renderer::new();
    let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
    let err = b.render(&mut r, &[DrawList::new()]).unwrap_err();
    assert!(
        matches!(&err, Error::NvBufSurface { reason, .. } if reason.contains("CUDADRAW_NVBUFSURFACE_LIB")),
        "{err}"
    );
    assert_eq!(batch.frames, before);
}

/// The CPU reference of a planar batch: `render_planar` on copies of the frames.
fn planar_reference(batch: &HostBatch, infos: &[PlanarInfo], lists: &[DrawList]) -> Vec<Vec<u8>> {
    let mut expected = batch.snapshot();
    {
        let mut frames: Vec<PlanarFrame> = expected
            .iter_mut()
            .zip(infos)
            .map(|(b, i)| PlanarFrame::new(b, *i).unwrap())
            .collect();
        CpuRenderer::new()
            .render_planar(&mut frames, lists, &ImageStore::new())
            .unwrap();
    }
    expected
}

/// NV12 and I420 on Jetson memory, both ABIs: every frame mapped with all its planes
/// (plane -1), each plane drawn in its own mapping (the double hands out one buffer
/// per plane, apart and in reverse order, and copies them back only on
/// SyncForDevice), the pictures equal to `render_planar` on the same bytes.
#[test]
fn planar_frames_are_drawn_plane_by_plane_where_the_map_puts_them() {
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        for mem in [mem_type::SURFACE_ARRAY, mem_type::HANDLE] {
            let (_g, double, opts) = setup(abi);
            let shapes = [
                (37, 23, color_format::NV12),
                (20, 10, color_format::NV12_709_ER),
                (21, 11, color_format::YUV420),
                (1, 1, color_format::YUV420_2020),
            ];
            let (mut batch, infos) = planar_batch(abi, mem, &shapes);
            let lists: Vec<DrawList> = infos
                .iter()
                .map(|i| planar_list(i.width, i.height))
                .collect();
            let expected = planar_reference(&batch, &infos, &lists);
            assert_ne!(expected, batch.frames, "the lists must change the frames");
            let buf = batch.buffer();
            let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
            assert_eq!(b.path(), RenderPath::CpuMap);
            b.render(&mut Renderer::new(), &lists).unwrap();
            drop(b);
            for (i, (got, want)) in batch.frames.iter().zip(&expected).enumerate() {
                assert!(got == want, "{abi} mem {mem}: frame {i} differs");
            }
            assert_eq!(double.calls_on(-1), happy_sequence(4), "{abi}");
            assert_eq!(double.mapped_now(), 0);
        }
    }
}

/// Planar frames on the map path fail as packed ones do: a failing Map unmaps what
/// was mapped, an invalid list unmaps everything, and neither writes a byte; a failing
/// SyncForDevice is reported after every frame is unmapped.
#[test]
fn planar_failures_unmap_and_write_nothing() {
    let shapes = [
        (16, 8, color_format::NV12),
        (15, 9, color_format::YUV420_709),
        (9, 5, color_format::NV12_2020),
    ];
    let run = |fail: Option<(i32, i32)>, bad_list: bool| {
        let (_g, double, opts) = setup(Abi::Ds8);
        let (mut batch, infos) = planar_batch(Abi::Ds8, mem_type::SURFACE_ARRAY, &shapes);
        let mut lists: Vec<DrawList> = infos
            .iter()
            .map(|i| planar_list(i.width, i.height))
            .collect();
        if bad_list {
            lists[1].blur(Rect::new(0.0, 0.0, 4.0, 4.0), BlurKind::Box { radius: 0 });
        }
        if let Some((fun, nth)) = fail {
            double.fail(fun, nth);
        }
        let before = batch.snapshot();
        let buf = batch.buffer();
        let b = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
        let err = b.render(&mut Renderer::new(), &lists).unwrap_err();
        drop(b);
        (
            err,
            double.calls_on(-1),
            double.mapped_now(),
            batch.frames == before,
        )
    };

    let (err, calls, mapped, untouched) = run(Some((F_MAP, 1)), false);
    assert!(err.to_string().contains("NvBufSurfaceMap"), "{err}");
    assert_eq!(
        calls,
        vec![Call::Map(0), Call::SyncCpu(0), Call::Map(1), Call::UnMap(0)]
    );
    assert!(untouched);
    assert_eq!(mapped, 0);

    let (err, calls, mapped, untouched) = run(None, true);
    assert!(matches!(err, Error::InvalidOp { frame: 1, .. }), "{err}");
    let mut want = happy_sequence(3)[..6].to_vec();
    want.extend(unmap_sequence(3));
    assert_eq!(calls, want);
    assert!(untouched);
    assert_eq!(mapped, 0);

    let (err, calls, mapped, _) = run(Some((F_SYNC_DEV, 0)), false);
    assert!(
        err.to_string().contains("NvBufSurfaceSyncForDevice")
            && err.to_string().contains("frame 0"),
        "{err}"
    );
    assert_eq!(calls, happy_sequence(3));
    assert_eq!(mapped, 0);
}
