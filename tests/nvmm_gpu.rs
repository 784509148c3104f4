//! GPU-host tests of the NVMM path (feature `synthetic-nvmm`): synthetic DeepStream
//! batches of 1, 4 and 16 frames, both ABIs, device / pinned / unified memory, drawn
//! through the GstBuffer path, equal the CPU reference; a pipeline with the synthetic
//! upload/download elements writes PNGs equal to the CPU reference; frames with gpuId 1
//! are drawn on GPU 1 when two GPUs exist; batches never leak device memory.
//!
//! Without a CUDA device every test prints "SKIPPED: no CUDA device" and returns;
//! `CUDADRAW_REQUIRE_GPU=1` turns that into a failure.
#![cfg(feature = "synthetic-nvmm")]

mod common;
mod nvmm_support;

use std::sync::{Arc, Mutex};

use cudadraw::draw::DrawList;
use cudadraw::nvmm::synthetic::{SyntheticConfig, SyntheticPool, download_frame};
use cudadraw::nvmm::{Abi, MemType, NvmmBatch, NvmmOptions, RenderPath};
use cudadraw::render::Renderer;
use cudadraw::{FrameInfo, PixelFormat};
use gstreamer as gst;
use gstreamer::prelude::*;
use nvmm_support::*;

/// Whether the test may run; prints a visible skip line otherwise.
fn gpu(test: &str, need: usize) -> bool {
    let n = cudadraw::cuda::device_count();
    if n >= need {
        return true;
    }
    if common::require_gpu() && need == 1 {
        panic!("{test}: CUDADRAW_REQUIRE_GPU=1 but no CUDA device");
    }
    let why = if need == 1 {
        "no CUDA device".to_string()
    } else {
        format!("{n} CUDA device(s), {need} needed")
    };
    common::skipped(&format!("{why} ({test})"));
    false
}

fn opts(abi: Abi) -> NvmmOptions {
    NvmmOptions {
        abi: Some(abi),
        ..Default::default()
    }
}

/// Uploads `n` patterned frames into a synthetic batch, draws through
/// NvmmBatch::render, downloads, and compares with the CPU renderer.
fn check_batch(
    abi: Abi,
    mem: MemType,
    batch_size: u32,
    filled: u32,
    gpu_id: u32,
    fmt: PixelFormat,
) {
    gst::init().unwrap();
    let (w, h) = (161u32, 90u32);
    let cfg = SyntheticConfig {
        abi,
        mem_type: mem,
        batch_size,
        gpu_id,
        width: w,
        height: h,
        format: fmt,
        pitch_align: 512,
    };
    let pool = SyntheticPool::new(cfg).unwrap();
    let stride = w as usize * 4;
    let hosts: Vec<Vec<u8>> = (0..filled)
        .map(|i| pattern(stride * h as usize, 100 + i))
        .collect();
    let slices: Vec<&[u8]> = hosts.iter().map(|v| v.as_slice()).collect();
    let buf = pool.upload(&slices, stride).unwrap();

    let mut r = Renderer::new();
    let logo = r.add_image(logo());
    let infos = vec![FrameInfo::packed(w, h, fmt); filled as usize];
    let lists = lists_for(&infos, logo);
    let expected = reference(&hosts, &infos, &lists, &mut r);

    let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts(abi)) }.unwrap();
    assert_eq!(batch.path(), RenderPath::Device);
    assert_eq!(batch.frames().len(), filled as usize);
    assert_eq!(batch.header().batch_size, batch_size);
    assert_eq!(batch.gpu_id(), gpu_id);
    assert!(
        batch
            .frames()
            .iter()
            .all(|f| f.pitch == 1024 && f.gpu_id == gpu_id)
    );
    batch.render(&mut r, &lists).unwrap();
    for (i, f) in batch.frames().iter().enumerate() {
        let mut got = vec![0u8; stride * h as usize];
        download_frame(f, &mut got, stride).unwrap();
        assert!(
            got == expected[i],
            "{abi} {mem} batch {filled}/{batch_size} {fmt}: frame {i} differs from the CPU reference"
        );
    }
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn synthetic_batches_equal_cpu_reference() {
    if !gpu("synthetic_batches_equal_cpu_reference", 1) {
        return;
    }
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        for mem in [
            MemType::CudaDevice,
            MemType::CudaPinned,
            MemType::CudaUnified,
        ] {
            for n in [1, 4, 16] {
                check_batch(abi, mem, n, n, 0, PixelFormat::Rgba);
            }
        }
    }
    // Partly filled batches, dGPU default memory, the other formats.
    check_batch(Abi::Ds8, MemType::Default, 8, 5, 0, PixelFormat::Bgrx);
    check_batch(Abi::Ds4To7, MemType::CudaDevice, 4, 3, 0, PixelFormat::Bgra);
    check_batch(Abi::Ds8, MemType::CudaUnified, 2, 2, 0, PixelFormat::Rgbx);
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_id_1_is_drawn_on_gpu_1() {
    if !gpu("gpu_id_1_is_drawn_on_gpu_1", 2) {
        return;
    }
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        check_batch(abi, MemType::CudaDevice, 4, 4, 1, PixelFormat::Rgba);
    }
    // The frames really live on device 1.
    let cfg = SyntheticConfig {
        gpu_id: 1,
        ..SyntheticConfig::new(64, 64)
    };
    let pool = SyntheticPool::new(cfg).unwrap();
    let buf = pool.acquire(1).unwrap();
    let batch = unsafe { NvmmBatch::from_buffer(&buf, &NvmmOptions::default()) }.unwrap();
    let ptr = batch.frames()[0].data_ptr;
    let mut ordinal: i32 = -1;
    // SAFETY: a live device allocation; the attribute is an int.
    unsafe {
        cudarc::driver::sys::cuPointerGetAttribute(
            (&mut ordinal as *mut i32).cast(),
            cudarc::driver::sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
            ptr,
        )
        .result()
        .unwrap();
    }
    assert_eq!(ordinal, 1);
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn batches_do_not_leak_device_memory() {
    if !gpu("batches_do_not_leak_device_memory", 1) {
        return;
    }
    gst::init().unwrap();
    // The pool leaves the thread's context stack as it found it (it pushes and pops
    // around each driver call): the query pushes GPU 0's primary context itself.
    let ctx = cudadraw::cuda::context::primary_context(0).unwrap();
    let free_now = || {
        use cudarc::driver::sys;
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: a retained primary context, pushed and popped around a plain query.
        unsafe {
            sys::cuCtxPushCurrent_v2(ctx.as_raw() as sys::CUcontext)
                .result()
                .unwrap();
            let r = sys::cuMemGetInfo_v2(&mut free, &mut total).result();
            let mut old = std::ptr::null_mut();
            sys::cuCtxPopCurrent_v2(&mut old).result().unwrap();
            r.unwrap();
        }
        free
    };
    let mut current: cudarc::driver::sys::CUcontext = std::ptr::null_mut();
    let cfg = SyntheticConfig {
        batch_size: 4,
        ..SyntheticConfig::new(1920, 1080)
    };
    let warm = SyntheticPool::new(cfg).unwrap();
    drop(warm.acquire(1).unwrap());
    drop(warm);
    // SAFETY: a plain query of this thread's current context.
    unsafe { cudarc::driver::sys::cuCtxGetCurrent(&mut current) }
        .result()
        .unwrap();
    assert!(
        current.is_null(),
        "the pool left a context current on this thread"
    );
    let before = free_now();
    for _round in 0..3 {
        let pool = SyntheticPool::new(cfg).unwrap();
        // More live buffers than the pool keeps, some outliving the pool.
        let held: Vec<gst::Buffer> = (0..12).map(|_| pool.acquire(4).unwrap()).collect();
        for _ in 0..50 {
            drop(pool.acquire(2).unwrap());
        }
        drop(pool);
        drop(held);
    }
    let after = free_now();
    let batch_bytes = 4 * 1080 * 7680;
    assert!(
        before.abs_diff(after) < batch_bytes,
        "device memory not returned: {before} free before, {after} after"
    );
}

/// Pixels of a PNG made by pngenc (RGBA8).
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Runs `desc ! fakesink` to EOS and returns the buffers that reached the sink (PNG
/// files here). Only core, videotestsrc and png plugins are needed (the GPU bundle's).
fn run_collect(desc: &str, setup: impl FnOnce(&gst::Pipeline)) -> Vec<Vec<u8>> {
    let pipeline = gst::parse::launch(&format!("{desc} ! fakesink name=out sync=false"))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    setup(&pipeline);
    let out = Arc::new(Mutex::new(Vec::new()));
    {
        let out = out.clone();
        let sink = pipeline.by_name("out").unwrap();
        sink.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
                if let Some(b) = probe.buffer()
                    && let Ok(m) = b.map_readable()
                {
                    out.lock().unwrap().push(m.as_slice().to_vec());
                }
                gst::PadProbeReturn::Ok
            });
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(60)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                let _ = pipeline.set_state(gst::State::Null);
                panic!("pipeline error: {} ({:?})", e.error(), e.debug());
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    std::mem::take(&mut *out.lock().unwrap())
}

const FRAMES: u32 = 7;

fn lists_of_frame(k: u32, info: FrameInfo, logo: cudadraw::ImageId) -> DrawList {
    // Vary the list per frame number so a batching mistake shows.
    lists_for(&vec![info; k as usize % 3 + 1], logo)
        .pop()
        .unwrap_or_default()
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn pipeline_pngs_equal_cpu_reference() {
    if !gpu("pipeline_pngs_equal_cpu_reference", 1) {
        return;
    }
    gst::init().unwrap();
    cudadraw::gst::register_synthetic().unwrap();
    let (w, h) = (160u32, 120u32);
    let src = format!(
        "videotestsrc num-buffers={FRAMES} pattern=smpte ! video/x-raw,format=RGBA,width={w},height={h},framerate=30/1"
    );
    let plain = run_collect(&format!("{src} ! pngenc"), |_| {});
    assert_eq!(plain.len(), FRAMES as usize);
    let out_dir =
        std::env::temp_dir().join(format!("cudadraw-nvmm-pipeline-{}", std::process::id()));

    let info = FrameInfo::packed(w, h, PixelFormat::Rgba);
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        for (mem, bs) in [("device", 3), ("pinned", 1), ("unified", 4)] {
            let renderer = Arc::new(Mutex::new(Renderer::new()));
            let logo = renderer.lock().unwrap().add_image(logo());
            let errors = Arc::new(Mutex::new(Vec::<String>::new()));
            let seen = Arc::new(Mutex::new(0u32));
            let desc = format!(
                "{src} ! nvmmsynthupload name=up batch-size={bs} memory-type={mem} abi={a} \
                 ! nvmmsynthdownload abi={a} ! pngenc",
                a = abi.as_str()
            );
            let pngs = run_collect(&desc, |p| {
                let pad = p.by_name("up").unwrap().static_pad("src").unwrap();
                let (renderer, errors, seen) = (renderer.clone(), errors.clone(), seen.clone());
                let o = opts(abi);
                pad.add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
                    let Some(buffer) = probe.buffer() else {
                        return gst::PadProbeReturn::Ok;
                    };
                    let r = (|| -> cudadraw::Result<()> {
                        let batch = unsafe { NvmmBatch::from_buffer(buffer, &o) }?;
                        let mut seen = seen.lock().unwrap();
                        let lists: Vec<DrawList> = (0..batch.frames().len() as u32)
                            .map(|i| lists_of_frame(*seen + i, info, logo))
                            .collect();
                        *seen += lists.len() as u32;
                        batch.render(&mut renderer.lock().unwrap(), &lists)
                    })();
                    if let Err(e) = r {
                        errors.lock().unwrap().push(e.to_string());
                    }
                    gst::PadProbeReturn::Ok
                });
            });
            assert!(
                errors.lock().unwrap().is_empty(),
                "{:?}",
                errors.lock().unwrap()
            );
            assert_eq!(*seen.lock().unwrap(), FRAMES);
            assert_eq!(pngs.len(), FRAMES as usize);

            let mut r = renderer.lock().unwrap();
            for k in 0..FRAMES as usize {
                let (_, _, base) = decode_png(&plain[k]);
                let list = lists_of_frame(k as u32, info, logo);
                let expected = reference(&[base], &[info], &[list], &mut r).remove(0);
                let (pw, ph, got) = decode_png(&pngs[k]);
                assert_eq!((pw, ph), (w, h));
                if got != expected {
                    std::fs::create_dir_all(&out_dir).unwrap();
                    let actual = out_dir.join(format!("{}-{mem}-{k:02}-actual.png", abi.as_str()));
                    std::fs::write(&actual, &pngs[k]).unwrap();
                    panic!(
                        "{abi} {mem} batch-size {bs}: PNG {k:02} differs from the CPU reference \
                         (written to {})",
                        actual.display()
                    );
                }
            }
        }
    }
}
