//! Hostile and malformed NvBufSurface descriptors (CI): each gives a typed error naming
//! the ABI (or the format), and no frame is written.

mod nvmm_support;

use cudadraw::Error;
use cudadraw::draw::DrawList;
use cudadraw::nvmm::abi::{Abi, color_format, layout, mem_type};
use cudadraw::nvmm::{MemType, NvmmBatch, NvmmOptions, RenderPath};
use cudadraw::render::Renderer;
use cudadraw::{Color, PixelFormat, Rect};
use gstreamer as gst;
use nvmm_support::*;

fn opts(abi: Abi) -> NvmmOptions {
    NvmmOptions {
        abi: Some(abi),
        ..Default::default()
    }
}

fn shapes() -> Vec<(u32, u32, u32, PixelFormat)> {
    vec![
        (64, 48, 256, PixelFormat::Rgba),
        (32, 16, 128, PixelFormat::Bgrx),
        (16, 16, 64, PixelFormat::Bgra),
    ]
}

/// Parses a batch mutated by `mutate` and returns the error; checks nothing was written.
fn parse_err(abi: Abi, mem: u32, mutate: impl FnOnce(&mut HostBatch)) -> Error {
    gst::init().unwrap();
    let mut b = HostBatch::new(abi, mem, &shapes());
    mutate(&mut b);
    let buf = b.buffer();
    let before = b.snapshot();
    let err = unsafe { NvmmBatch::from_buffer(&buf, &opts(abi)) }
        .expect_err("hostile descriptor accepted");
    assert_eq!(b.frames, before);
    err
}

fn assert_names_abi(err: &Error, abi: Abi, needle: &str) {
    match err {
        Error::NvBufSurface { abi: a, reason } => {
            assert_eq!(a, &abi.to_string());
            assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
        }
        other => panic!("expected NvBufSurface error, got {other:?}"),
    }
    assert!(err.to_string().contains(&abi.to_string()));
}

#[test]
fn well_formed_batch_exposes_every_field() {
    gst::init().unwrap();
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        let mut b = HostBatch::new(abi, mem_type::CUDA_DEVICE, &shapes());
        b.header.gpu_id = 1;
        b.header.batch_size = 8;
        let buf = b.buffer();
        let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts(abi)) }.unwrap();
        assert_eq!(batch.abi(), abi);
        assert_eq!(batch.mem_type(), MemType::CudaDevice);
        assert_eq!(batch.path(), RenderPath::Device);
        assert_eq!(batch.gpu_id(), 1);
        assert_eq!(batch.header().batch_size, 8);
        let f = batch.frames();
        assert_eq!(f.len(), 3);
        for (i, (fr, s)) in f.iter().zip(shapes()).enumerate() {
            assert_eq!(fr.index, i);
            assert_eq!((fr.width, fr.height, fr.pitch), (s.0, s.1, s.2 as usize));
            assert_eq!(fr.format, s.3);
            assert_eq!(fr.color_format, nv_format(s.3));
            assert_eq!(fr.layout, layout::PITCH);
            assert_eq!(fr.mem_type, MemType::CudaDevice);
            assert_eq!(fr.gpu_id, 1);
            assert_eq!(fr.data_ptr, b.frames[i].as_ptr() as u64);
        }
    }
}

#[test]
fn memory_types_pick_their_path() {
    gst::init().unwrap();
    for (mem, path) in [
        (mem_type::CUDA_DEVICE, RenderPath::Device),
        (mem_type::CUDA_PINNED, RenderPath::Device),
        (mem_type::CUDA_UNIFIED, RenderPath::Device),
        (mem_type::SURFACE_ARRAY, RenderPath::CpuMap),
        (mem_type::HANDLE, RenderPath::CpuMap),
        (mem_type::SYSTEM, RenderPath::Host),
    ] {
        let mut b = HostBatch::new(Abi::Ds4To7, mem, &shapes());
        let buf = b.buffer();
        let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds4To7)) }.unwrap();
        assert_eq!(batch.path(), path, "mem type {mem}");
    }
}

#[test]
fn system_memory_is_drawn_in_place_like_the_reference() {
    gst::init().unwrap();
    let mut b = HostBatch::new(Abi::Ds8, mem_type::SYSTEM, &shapes());
    let buf = b.buffer();
    let mut r = Renderer::new();
    let logo = r.add_image(logo());
    let infos = b.infos();
    let lists = lists_for(&infos, logo);
    let expected = reference(&b.frames, &infos, &lists, &mut r);
    unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds8)) }
        .unwrap()
        .render(&mut r, &lists)
        .unwrap();
    assert_eq!(b.frames, expected);
}

#[test]
fn descriptor_size_must_be_exact() {
    gst::init().unwrap();
    // Frame-sized buffers mislabelled as NVMM (65 and 4096 bytes were accepted, and a
    // surfaceList of 0x10 read from them crashed): refused before any pointer is read.
    for len in [0usize, 1, 63, 65, 71, 73, 4096, 12288] {
        let mut bytes = vec![0u8; len];
        if len >= 32 {
            bytes[8] = 1; // numFilled
            bytes[4] = 1; // batchSize
            bytes[24] = 0x10; // surfaceList = 0x10
        }
        let buf = gst::Buffer::from_mut_slice(bytes);
        for o in [NvmmOptions::default(), opts(Abi::Ds4To7), opts(Abi::Ds8)] {
            let err = unsafe { NvmmBatch::from_buffer(&buf, &o) }.unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&format!(
                    "buffer of {len} bytes is not an NvBufSurface descriptor"
                )),
                "{msg}"
            );
        }
    }
}

#[test]
fn the_abi_comes_from_the_descriptor_size() {
    gst::init().unwrap();
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        let mut b = HostBatch::new(abi, mem_type::CUDA_DEVICE, &shapes());
        let buf = b.buffer();
        // No version file, no option: the size decides (a DeepStream 8/9 machine
        // without /opt/nvidia/deepstream/deepstream/version used to get the 4.0-7.1
        // layout and misread every frame after the first).
        let batch = unsafe { NvmmBatch::from_buffer(&buf, &NvmmOptions::default()) }.unwrap();
        assert_eq!(batch.abi(), abi);
        assert_eq!(batch.frames().len(), 3);
    }
    // An explicit ABI that the size contradicts is an error naming both.
    let mut b = HostBatch::new(Abi::Ds8, mem_type::CUDA_DEVICE, &shapes());
    let buf = b.buffer();
    let err = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds4To7)) }.unwrap_err();
    assert_names_abi(
        &err,
        Abi::Ds4To7,
        "72 bytes, an NvBufSurface of the DeepStream 8.0+ ABI",
    );
    let mut b = HostBatch::new(Abi::Ds4To7, mem_type::CUDA_DEVICE, &shapes());
    let buf = b.buffer();
    let err = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds8)) }.unwrap_err();
    assert_names_abi(&err, Abi::Ds8, "64 bytes");
}

#[test]
fn num_filled_above_batch_size() {
    let err = parse_err(Abi::Ds8, mem_type::CUDA_DEVICE, |b| b.header.batch_size = 2);
    assert_names_abi(&err, Abi::Ds8, "numFilled 3 > batchSize 2");
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.header.batch_size = u32::MAX;
        b.header.num_filled = u32::MAX;
    });
    assert_names_abi(&err, Abi::Ds4To7, "batchSize");
}

#[test]
fn null_pointers() {
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| b.null_list = true);
    assert_names_abi(&err, Abi::Ds4To7, "null surfaceList");
    for mem in [
        mem_type::CUDA_DEVICE,
        mem_type::CUDA_PINNED,
        mem_type::CUDA_UNIFIED,
        mem_type::DEFAULT,
        mem_type::SYSTEM,
    ] {
        let err = parse_err(Abi::Ds8, mem, |b| b.params[1].data_ptr = 0);
        assert_names_abi(&err, Abi::Ds8, "frame 1: null dataPtr");
    }
}

#[test]
fn small_pitch_and_bad_sizes() {
    let err = parse_err(Abi::Ds8, mem_type::CUDA_DEVICE, |b| {
        b.params[2].pitch = 60;
        b.params[2].plane_params.pitch[0] = 60;
    });
    assert_names_abi(&err, Abi::Ds8, "pitch 60 < 4 x width 16");
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.params[0].width = 0;
        b.params[0].plane_params.width[0] = 0;
    });
    assert_names_abi(&err, Abi::Ds4To7, "frame 0");
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.params[1].data_size = 100
    });
    assert_names_abi(&err, Abi::Ds4To7, "dataSize 100");
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.params[1].data_ptr += 2
    });
    assert_names_abi(&err, Abi::Ds4To7, "multiples of 4");
}

#[test]
fn nv21_and_other_formats_are_refused_by_name() {
    for (cf, name) in [
        (color_format::NV21, "NV21"),
        (color_format::GRAY8, "GRAY8"),
        (color_format::RGB, "RGB "),
        (color_format::ARGB, "ARGB"),
        (color_format::INVALID, "INVALID"),
        (999, "999"),
    ] {
        let err = parse_err(Abi::Ds8, mem_type::CUDA_DEVICE, |b| {
            b.params[1].color_format = cf
        });
        match &err {
            Error::UnsupportedFormat(msg) => {
                assert!(msg.contains(name) && msg.contains("frame 1"), "{msg}");
                assert!(msg.contains("DeepStream 8.0+ ABI"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn block_linear_is_refused() {
    let err = parse_err(Abi::Ds4To7, mem_type::SURFACE_ARRAY, |b| {
        b.params[0].layout = layout::BLOCK_LINEAR
    });
    assert!(
        matches!(&err, Error::UnsupportedFormat(m) if m.contains("block-linear")),
        "{err:?}"
    );
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.params[0].layout = 7
    });
    assert_names_abi(&err, Abi::Ds4To7, "unknown layout 7");
}

#[test]
fn unknown_memory_type() {
    let err = parse_err(Abi::Ds8, 8, |_| {});
    assert_names_abi(&err, Abi::Ds8, "unknown memory type 8");
    let err = parse_err(Abi::Ds8, 0xdead, |_| {});
    assert_names_abi(&err, Abi::Ds8, "unknown memory type");
}

#[test]
fn wrong_abi_is_detected_on_the_second_frame() {
    gst::init().unwrap();
    // A DeepStream 7 params array behind a 72-byte (DeepStream 8) descriptor: frame 0
    // reads right, frame 1 is read at the wrong stride and caught.
    let mut b = HostBatch::new(Abi::Ds4To7, mem_type::CUDA_DEVICE, &shapes());
    let buf = b.buffer();
    let mut bytes = buf.map_readable().unwrap().as_slice().to_vec();
    bytes.resize(72, 0);
    let buf = gst::Buffer::from_mut_slice(bytes);
    let err = unsafe { NvmmBatch::from_buffer(&buf, &NvmmOptions::default()) }.unwrap_err();
    assert_names_abi(&err, Abi::Ds8, "another DeepStream ABI");
    assert!(err.to_string().contains("frame 1"), "{err}");
}

#[test]
fn cuda_array_memory_is_named() {
    let err = parse_err(Abi::Ds8, mem_type::CUDA_ARRAY, |_| {});
    match &err {
        Error::UnsupportedFormat(m) => assert!(m.contains("NVBUF_MEM_CUDA_ARRAY"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn plane_params_and_data_size_are_checked() {
    // dataSize 0 used to skip the size check (a 16384-row frame on 12 KiB accepted).
    let err = parse_err(Abi::Ds8, mem_type::CUDA_DEVICE, |b| {
        b.params[1].data_size = 0
    });
    assert_names_abi(&err, Abi::Ds8, "frame 1: dataSize 0 cannot hold plane 0");
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.params[0].plane_params.psize[0] = 100
    });
    assert_names_abi(&err, Abi::Ds4To7, "psize[0] 100");
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.params[2].plane_params.bytes_per_pix[0] = 3
    });
    assert_names_abi(&err, Abi::Ds4To7, "bytesPerPix[0] is 3");
    // An offset past what dataSize holds.
    let err = parse_err(Abi::Ds8, mem_type::CUDA_DEVICE, |b| {
        b.params[0].plane_params.offset[0] = 4096
    });
    assert_names_abi(&err, Abi::Ds8, "at offset 4096");
}

#[test]
fn plane_offset_is_honoured() {
    gst::init().unwrap();
    let shape = [(16u32, 8u32, 64u32, PixelFormat::Rgba)];
    let mut b = HostBatch::new(Abi::Ds8, mem_type::SYSTEM, &shape);
    // The frame starts 4096 bytes into a larger allocation.
    let mut mem = pattern(4096 + 64 * 8, 9);
    std::mem::swap(&mut b.frames[0], &mut mem);
    b.params[0].data_ptr = b.frames[0].as_ptr() as u64;
    b.params[0].plane_params.offset[0] = 4096;
    b.params[0].data_size = 4096 + 64 * 8;
    let buf = b.buffer();
    let before = b.snapshot();
    let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds8)) }.unwrap();
    assert_eq!(batch.frames()[0].data_ptr, b.params[0].data_ptr + 4096);
    let mut l = DrawList::new();
    l.fill(Rect::new(0.0, 0.0, 1.0, 1.0), Color::RED);
    batch.render(&mut Renderer::new(), &[l]).unwrap();
    drop(batch);
    assert_eq!(
        &b.frames[0][..4096],
        &before[0][..4096],
        "bytes before plane 0 kept"
    );
    assert_eq!(&b.frames[0][4096..4100], &[255, 0, 0, 255]);
}

#[test]
fn empty_frames_are_not_blamed_on_the_abi() {
    let err = parse_err(Abi::Ds4To7, mem_type::CUDA_DEVICE, |b| {
        b.params[1].height = 0;
        b.params[1].plane_params.height[0] = 0;
    });
    let msg = err.to_string();
    assert!(msg.contains("frame 1: the frame is 32x0"), "{msg}");
    assert!(!msg.contains("ABI?"), "{msg}");
}

#[test]
fn aliasing_frames_are_refused_and_left_untouched() {
    gst::init().unwrap();
    // Two filled frames with the same dataPtr: drawn in parallel they raced (40 runs,
    // 29 different outputs). Also a frame overlapping the next one by a row.
    for overlap in [0usize, 64 * 7] {
        let shape = [(16u32, 8u32, 64u32, PixelFormat::Rgba); 2];
        let mut b = HostBatch::new(Abi::Ds8, mem_type::SYSTEM, &shape);
        b.frames[0] = pattern(64 * 16, 3);
        b.params[0].data_size = 64 * 16;
        b.params[0].data_ptr = b.frames[0].as_ptr() as u64;
        b.params[1].data_ptr = b.frames[0].as_ptr() as u64 + overlap as u64;
        let buf = b.buffer();
        let before = b.snapshot();
        let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds8)) }.unwrap();
        let mut lists = vec![DrawList::new(), DrawList::new()];
        for l in &mut lists {
            l.blur(
                Rect::new(0.0, 0.0, 16.0, 8.0),
                cudadraw::BlurKind::Box { radius: 2 },
            );
        }
        let err = batch.render(&mut Renderer::new(), &lists).unwrap_err();
        assert!(
            matches!(
                err,
                Error::OverlappingFrames {
                    first: 0,
                    second: 1
                }
            ),
            "{err:?}"
        );
        drop(batch);
        assert_eq!(b.frames, before);
    }
}

#[test]
fn render_errors_leave_frames_untouched() {
    gst::init().unwrap();
    let mut b = HostBatch::new(Abi::Ds8, mem_type::SYSTEM, &shapes());
    let buf = b.buffer();
    let before = b.snapshot();
    let mut r = Renderer::new();
    let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds8)) }.unwrap();
    let mut lists = vec![DrawList::new(), DrawList::new(), DrawList::new()];
    lists[0].fill(Rect::new(0.0, 0.0, 8.0, 8.0), Color::RED);
    lists[2].fill(Rect::new(f32::NAN, 0.0, 8.0, 8.0), Color::RED);
    assert!(batch.render(&mut r, &lists).is_err());
    assert!(batch.render(&mut r, &lists[..2]).is_err());
    drop(batch);
    assert_eq!(b.frames, before);
}

#[test]
fn empty_batch_is_fine() {
    gst::init().unwrap();
    let mut b = HostBatch::new(Abi::Ds4To7, mem_type::CUDA_DEVICE, &[]);
    b.header.batch_size = 4;
    let buf = b.buffer();
    let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts(Abi::Ds4To7)) }.unwrap();
    assert!(batch.frames().is_empty());
    let mut r = Renderer::new();
    batch.render(&mut r, &[] as &[DrawList]).unwrap();
}
