//! NV12 and I420 (DeepStream's YUV420) NvBufSurface frames, read from `planeParams`
//! in both ABIs: SYSTEM memory batches drawn exactly as `render_planar` draws the same
//! bytes, with the matrix and range of the colour format; malformed planes, block-linear
//! frames, mixed batches and device memory without a GPU refused by name with nothing
//! written; and caps that disagree with the descriptor refused by the drawer. (The CPU
//! map path's planar frames are tested in nvmm_map.rs, through the libnvbufsurface
//! double.)

mod common;
mod nvmm_support;

use cudadraw::cpu::CpuRenderer;
use cudadraw::gst::drawer::BufferDrawer;
use cudadraw::nvmm::abi::{Abi, FrameParams, color_format, layout, mem_type};
use cudadraw::nvmm::surface::planar_format;
use cudadraw::nvmm::{NvmmBatch, NvmmOptions, RenderPath};
use cudadraw::planar::{PlanarFrame, PlanarLayout, YuvMatrix, YuvRange};
use cudadraw::render::Renderer;
use cudadraw::{DrawList, Error, ImageStore, PixelFormat};
use gstreamer as gst;
use nvmm_support::*;

const ALL_PLANAR: [u32; 10] = [
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

fn opts(abi: Abi) -> NvmmOptions {
    NvmmOptions {
        abi: Some(abi),
        ..Default::default()
    }
}

/// Every NV12 / YUV420 colour format, both ABIs, odd and even sizes, two frames a
/// batch: what render_planar draws on the same bytes with the format's matrix and range.
#[test]
fn system_memory_planar_frames_are_drawn_as_render_planar() {
    gst::init().unwrap();
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        for (k, cf) in ALL_PLANAR.into_iter().enumerate() {
            let sizes = [(37u32, 23u32, cf), (16 + 2 * k as u32, 9, cf)];
            let (mut batch, infos) = planar_batch(abi, mem_type::SYSTEM, &sizes);
            let lists: Vec<DrawList> = infos
                .iter()
                .map(|i| planar_list(i.width, i.height))
                .collect();
            let mut expected = batch.snapshot();
            {
                let mut frames: Vec<PlanarFrame> = expected
                    .iter_mut()
                    .zip(&infos)
                    .map(|(b, i)| PlanarFrame::new(b, *i).unwrap())
                    .collect();
                CpuRenderer::new()
                    .render_planar(&mut frames, &lists, &ImageStore::new())
                    .unwrap();
            }
            assert_ne!(expected, batch.frames);
            let buf = batch.buffer();
            let b = unsafe { NvmmBatch::from_buffer(&buf, &opts(abi)) }.unwrap();
            assert_eq!(b.path(), RenderPath::Host);
            let (l, m, r) = planar_format(cf).unwrap();
            for (f, info) in b.frames().iter().zip(&infos) {
                let p = f.planar.expect("a planar frame");
                assert_eq!(p, *info, "{abi} {cf}");
                assert_eq!((p.layout, p.matrix, p.range), (l, m, r));
            }
            b.render(&mut Renderer::new(), &lists).unwrap();
            drop(b);
            assert!(batch.frames == expected, "{abi} colour format {cf}");
        }
    }
}

/// The colour formats' matrices and ranges, as DeepStream's header names them.
#[test]
fn colour_formats_map_to_matrix_and_range() {
    use PlanarLayout::{I420, Nv12};
    use YuvMatrix::{Bt601, Bt709, Bt2020};
    use YuvRange::{Full, Limited};
    assert_eq!(planar_format(6), Some((Nv12, Bt601, Limited)));
    assert_eq!(planar_format(7), Some((Nv12, Bt601, Full)));
    assert_eq!(planar_format(33), Some((Nv12, Bt709, Limited)));
    assert_eq!(planar_format(34), Some((Nv12, Bt709, Full)));
    assert_eq!(planar_format(36), Some((Nv12, Bt2020, Limited)));
    assert_eq!(planar_format(2), Some((I420, Bt601, Limited)));
    assert_eq!(planar_format(4), Some((I420, Bt601, Full)));
    assert_eq!(planar_format(31), Some((I420, Bt709, Limited)));
    assert_eq!(planar_format(32), Some((I420, Bt709, Full)));
    assert_eq!(planar_format(35), Some((I420, Bt2020, Limited)));
    for other in [0, 1, 3, 5, 8, 9, 19, 24, 29, 30, 37] {
        assert_eq!(planar_format(other), None, "{other}");
    }
}

fn parse_err(abi: Abi, mem: u32, cf: u32, edit: impl FnOnce(&mut HostBatch)) -> Error {
    gst::init().unwrap();
    let (mut batch, _) = planar_batch(abi, mem, &[(20, 10, cf), (21, 11, cf)]);
    edit(&mut batch);
    let before = batch.snapshot();
    let buf = batch.buffer();
    let err = unsafe { NvmmBatch::from_buffer(&buf, &opts(abi)) }.expect_err("refused");
    assert_eq!(batch.frames, before, "nothing written");
    err
}

fn assert_names(err: &Error, abi: Abi, needle: &str) {
    let msg = err.to_string();
    assert!(
        msg.contains(needle) && msg.contains(&abi.to_string()) && msg.contains("frame 1"),
        "{msg}"
    );
}

/// Malformed planes: typed errors naming the ABI, the frame and the problem.
#[test]
fn malformed_planes_are_refused_by_name() {
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        for cf in [color_format::NV12, color_format::YUV420_709] {
            let e = parse_err(abi, mem_type::SYSTEM, cf, |b| {
                b.params[1].plane_params.num_planes = 1
            });
            assert_names(&e, abi, "planes");
            // A UV (or U) pitch smaller than its row.
            let e = parse_err(abi, mem_type::SYSTEM, cf, |b| {
                b.params[1].plane_params.pitch[1] = 3
            });
            assert_names(&e, abi, "pitch 3");
            // Chroma of the wrong size.
            let e = parse_err(abi, mem_type::SYSTEM, cf, |b| {
                b.params[1].plane_params.height[1] = 11
            });
            assert_names(&e, abi, "planeParams plane 1");
            // Planes overlapping.
            let e = parse_err(abi, mem_type::SYSTEM, cf, |b| {
                let o = b.params[1].plane_params.offset[0];
                b.params[1].plane_params.offset[1] = o + 4;
            });
            assert_names(&e, abi, "overlap");
            let e = parse_err(abi, mem_type::SYSTEM, cf, |b| {
                b.params[1].plane_params.psize[1] = 8
            });
            assert_names(&e, abi, "psize[1]");
            let e = parse_err(abi, mem_type::SYSTEM, cf, |b| b.params[1].data_size = 100);
            assert_names(&e, abi, "dataSize");
            let e = parse_err(abi, mem_type::CUDA_DEVICE, cf, |b| b.params[1].data_ptr = 0);
            assert_names(&e, abi, "null dataPtr");
            let e = parse_err(abi, mem_type::SURFACE_ARRAY, cf, |b| {
                b.params[1].layout = layout::BLOCK_LINEAR
            });
            assert!(
                matches!(&e, Error::UnsupportedFormat(m) if m.contains("block-linear")),
                "{e:?}"
            );
        }
    }
}

/// A batch mixing packed and planar frames: refused by name, nothing written.
#[test]
fn mixed_batches_are_refused_by_name() {
    gst::init().unwrap();
    // One packed frame among planar ones.
    let (mut batch, infos) = planar_batch(
        Abi::Ds4To7,
        mem_type::SYSTEM,
        &[(20, 10, color_format::NV12), (21, 11, color_format::NV12)],
    );
    let rgba = pattern(64 * 4, 3);
    batch.frames[1] = rgba;
    batch.params[1] = FrameParams::packed_rgba(
        8,
        8,
        32,
        color_format::RGBA,
        batch.frames[1].as_ptr() as u64,
    );
    let before = batch.snapshot();
    let buf = batch.buffer();
    let b = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds4To7)) }.unwrap();
    let lists = vec![
        planar_list(infos[0].width, infos[0].height),
        planar_list(8, 8),
    ];
    let err = b.render(&mut Renderer::new(), &lists).unwrap_err();
    assert!(err.to_string().contains("one colour format"), "{err}");
    drop(b);
    assert_eq!(batch.frames, before);
}

fn nvmm_caps(format: &str, w: u32, h: u32) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .features(["memory:NVMM"])
        .field("format", format)
        .field("width", w as i32)
        .field("height", h as i32)
        .field("framerate", gst::Fraction::new(30, 1))
        .build()
}

/// Through the drawer (the probe's and the element's path): NV12 caps on an NV12
/// SYSTEM surface draw; caps and descriptor that disagree (NV12 caps on RGBA frames,
/// RGBA caps on NV12 frames, I420 caps on NV12 frames) are a typed error, nothing
/// written.
#[test]
fn drawer_checks_caps_against_the_surface() {
    gst::init().unwrap();
    let (w, h) = (37u32, 23u32);
    let draw = |caps: &gst::Caps, batch: &mut HostBatch| {
        let mut buf = batch.buffer();
        let mut d = BufferDrawer::new();
        d.draw(buf.get_mut().unwrap(), caps, |frames, _, lists| {
            for (f, l) in frames.iter().zip(lists.iter_mut()) {
                *l = planar_list(f.width, f.height);
            }
        })
    };
    let (mut batch, infos) =
        planar_batch(Abi::Ds8, mem_type::SYSTEM, &[(w, h, color_format::NV12_ER)]);
    let mut expected = batch.snapshot();
    {
        let mut frames = [PlanarFrame::new(&mut expected[0], infos[0]).unwrap()];
        CpuRenderer::new()
            .render_planar(&mut frames, &[planar_list(w, h)], &ImageStore::new())
            .unwrap();
    }
    assert!(draw(&nvmm_caps("NV12", w, h), &mut batch).unwrap());
    assert!(
        batch.frames == expected,
        "the drawer differs from render_planar"
    );

    for caps in [nvmm_caps("RGBA", w, h), nvmm_caps("I420", w, h)] {
        let (mut batch, _) =
            planar_batch(Abi::Ds8, mem_type::SYSTEM, &[(w, h, color_format::NV12)]);
        let before = batch.snapshot();
        let err = draw(&caps, &mut batch).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedFormat(m) if m.contains("the caps say") && m.contains("NV12")),
            "{caps}: {err:?}"
        );
        assert_eq!(batch.frames, before);
    }
    let mut rgba = HostBatch::new(
        Abi::Ds8,
        mem_type::SYSTEM,
        &[(w, h, w * 4, PixelFormat::Rgba)],
    );
    let before = rgba.snapshot();
    let err = draw(&nvmm_caps("NV12", w, h), &mut rgba).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedFormat(m) if m.contains("the caps say NV12") && m.contains("RGBA")),
        "{err:?}"
    );
    assert_eq!(rgba.frames, before);
}

/// Device memory goes to the CUDA backend (tests/gpu_planar.rs draws real device
/// surfaces): without a CUDA device that is a typed error and nothing is written.
#[test]
fn device_memory_planar_frames_need_a_cuda_device() {
    if cudadraw::render::Renderer::cuda_available() {
        // These frames are host allocations: a GPU would be handed host pointers.
        common::skipped(
            "a CUDA device is present: these host frames are not device memory (gpu_planar draws device surfaces)",
        );
        return;
    }
    gst::init().unwrap();
    for mem in [mem_type::CUDA_DEVICE, mem_type::CUDA_PINNED] {
        let (mut batch, infos) = planar_batch(Abi::Ds8, mem, &[(20, 10, color_format::NV12_709)]);
        let before = batch.snapshot();
        let buf = batch.buffer();
        let b = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds8)) }.unwrap();
        assert_eq!(b.path(), RenderPath::Device);
        let lists = vec![planar_list(infos[0].width, infos[0].height)];
        let err = b.render(&mut Renderer::new(), &lists).unwrap_err();
        assert!(matches!(err, Error::NoCudaDevice(_)), "{mem}: {err:?}");
        drop(b);
        assert_eq!(batch.frames, before);
    }
}
