//! GPU-host pipeline tests: the `cudadraw` element and the probe on upstream CUDA memory
//! (`cudaupload ! cudadraw ! cudadownload`) and on NVMM batches (synthetic elements,
//! feature `synthetic-nvmm`) give the very PNGs of the system-memory tests; the
//! 100,000-buffer probe soak with host RSS and device memory flat; the probe's time
//! per 1080p buffer with 100 boxes.
//!
//! Without a CUDA device every test prints "SKIPPED: no CUDA device" and returns;
//! `CUDADRAW_REQUIRE_GPU=1` turns that (and a missing cudaupload) into a failure.

mod pipeline_common;

use std::sync::{Arc, Mutex};

use cudadraw::gst::probe::{self, DrawStats, ProbeOptions};
use cudadraw::{BlurKind, Border, Color, ImageStore, Rect};
use gstreamer::prelude::*;
use pipeline_common::*;

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: &[u64] = &[0, 9];

/// Prints a skip line past libtest's output capture, so it is always visible.
fn skipped(why: &str) {
    use std::io::Write;
    // One write, so parallel tests do not interleave inside the line.
    let _ = std::io::stderr().write_all(format!("SKIPPED: {why}\n").as_bytes());
}

/// The tests of this binary run one at a time: the soak measures the process's RSS
/// and the device's memory, and the timing test wants the GPU to itself.
static SERIAL: Mutex<()> = Mutex::new(());

/// Whether the test may run (holding the serialising lock while it does); prints a
/// visible skip line otherwise.
fn gpu(test: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    if cudadraw::cuda::device_count() > 0 {
        return Some(guard);
    }
    assert!(
        !require_gpu(),
        "{test}: CUDADRAW_REQUIRE_GPU=1 but no CUDA device"
    );
    skipped(&format!("no CUDA device ({test})"));
    None
}

/// Whether the elements exist; a visible skip otherwise (a failure on a GPU host
/// that must run everything).
fn elements(test: &str, names: &[&str]) -> bool {
    // Factories can only be looked up once GStreamer is initialised.
    init();
    let missing: Vec<_> = names
        .iter()
        .filter(|n| gstreamer::ElementFactory::find(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !require_gpu(),
        "{test}: CUDADRAW_REQUIRE_GPU=1 but elements {missing:?} are missing"
    );
    skipped(&format!("elements {missing:?} not available ({test})"));
    false
}

/// The same element properties as `pipeline_system.rs` (same references).
fn element_props() -> String {
    format!(
        "outline-width=3 class-colors=person=0xffff3030,car=0xff3080ff fill-color=0x30ffffff \
         blur-types=face,license-plate blur-kind=pixelate blur-strength=6 expand=2 \
         overlay-location={} overlay-x=-8 overlay-y=8 overlay-width=48 overlay-height=48 overlay-opacity=0.9",
        logo_path().display()
    )
}

/// `videotestsrc ! <up> ! identity name=det ! cudadraw ! <down> ! fakesink`, frames
/// compared with the system-memory references.
fn element_through(test: &str, format: &str, up: &str, down: &str) {
    init();
    let launch = format!(
        "videotestsrc pattern=smpte75 horizontal-speed=5 num-buffers=10 \
         ! video/x-raw,format={format},width={W},height={H},framerate=30/1 ! {up} \
         ! identity name=det ! cudadraw name=draw {} ! {down} ! video/x-raw,format={format} ! fakesink name=sink",
        element_props()
    );
    let p = pipeline(&launch);
    attach_detector(&by_name(&p, "det").static_pad("src").unwrap(), W, H);
    let frames = capture(&by_name(&p, "sink").static_pad("sink").unwrap(), FRAMES);
    let res = run(&p);
    assert!(res.error.is_none(), "{test}: {:?}", res.error);
    assert!(
        res.warnings_from("draw").is_empty(),
        "{test}: {:?}",
        res.warnings
    );
    let frames = frames.lock().unwrap();
    assert_eq!(frames.len(), FRAMES.len(), "{test}");
    for c in frames.iter() {
        check_reference(&format!("element_f{}", c.index), c);
    }
}

#[test]
fn gpu_element_cuda_memory_matches_cpu_reference() {
    let t = "gpu_element_cuda_memory_matches_cpu_reference";
    if let Some(_g) = gpu(t)
        && elements(t, &["cudaupload", "cudadownload"])
    {
        element_through(t, "RGBA", "cudaupload", "cudadownload");
        element_through(t, "BGRx", "cudaupload", "cudadownload");
    }
}

#[cfg(feature = "synthetic-nvmm")]
#[test]
fn gpu_element_nvmm_matches_cpu_reference() {
    let t = "gpu_element_nvmm_matches_cpu_reference";
    if let Some(_g) = gpu(t) {
        for mem in ["device", "pinned", "unified"] {
            for abi in ["ds4to7", "ds8"] {
                let up = format!("nvmmsynthupload memory-type={mem} abi={abi}");
                let down = format!("nvmmsynthdownload abi={abi}");
                element_through(t, "RGBA", &up, &down);
            }
        }
        element_through(t, "BGRx", "nvmmsynthupload", "nvmmsynthdownload");
    }
}

/// The probe scene of `pipeline_system.rs::probe_matches_reference`, on `up`/`down`.
fn probe_through(test: &str, up: &str, down: &str) {
    init();
    let launch = format!(
        "videotestsrc pattern=smpte75 horizontal-speed=3 num-buffers=10 \
         ! video/x-raw,format=RGBA,width={W},height={H},framerate=30/1 ! {up} ! identity name=draw \
         ! {down} ! video/x-raw,format=RGBA ! fakesink name=sink"
    );
    let p = pipeline(&launch);
    let mut images = ImageStore::new();
    let logo = images.add(cudadraw::gst::load_png(&logo_path()).unwrap());
    let stats = DrawStats::new();
    let opts = ProbeOptions {
        images,
        stats: Some(stats.clone()),
        ..Default::default()
    };
    let pad = by_name(&p, "draw").static_pad("src").unwrap();
    probe::attach_with(&pad, opts, move |frames, lists| {
        for (f, list) in frames.iter().zip(lists.iter_mut()) {
            let t = f.pts.map(|p| p.mseconds()).unwrap_or(0) as f32 / 33.0;
            list.blur(
                Rect::new(20.0 + t * 4.0, 30.0, 80.0, 60.0),
                BlurKind::Box { radius: 5 },
            );
            for i in 0..5 {
                let x = 10.0 + i as f32 * 60.0;
                let c = Color::rgb(50 * i as u8, 255 - 40 * i as u8, 120);
                list.outline(Rect::new(x, 120.0 + t, 50.0, 70.0), Border::new(2 + i, c));
            }
            list.fill(
                Rect::new(200.0, 20.0 + t, 90.0, 40.0),
                Color::rgba(255, 0, 0, 80),
            );
            list.overlay(
                logo,
                Rect::new(f.width as f32 - 70.0, 170.0, 64.0, 64.0),
                0.8,
            );
        }
    })
    .unwrap();
    let frames = capture(&by_name(&p, "sink").static_pad("sink").unwrap(), FRAMES);
    let res = run(&p);
    assert!(res.error.is_none(), "{test}: {:?}", res.error);
    assert!(res.warnings.is_empty(), "{test}: {:?}", res.warnings);
    assert_eq!((stats.drawn(), stats.errors()), (10, 0), "{test}");
    for c in frames.lock().unwrap().iter() {
        check_reference(&format!("probe_f{}", c.index), c);
    }
}

#[test]
fn gpu_probe_cuda_memory_matches_cpu_reference() {
    let t = "gpu_probe_cuda_memory_matches_cpu_reference";
    if let Some(_g) = gpu(t)
        && elements(t, &["cudaupload", "cudadownload"])
    {
        probe_through(t, "cudaupload", "cudadownload");
    }
}

#[cfg(feature = "synthetic-nvmm")]
#[test]
fn gpu_probe_nvmm_matches_cpu_reference() {
    let t = "gpu_probe_nvmm_matches_cpu_reference";
    if let Some(_g) = gpu(t) {
        probe_through(t, "nvmmsynthupload", "nvmmsynthdownload");
        probe_through(
            t,
            "nvmmsynthupload memory-type=unified abi=ds8",
            "nvmmsynthdownload abi=ds8",
        );
    }
}

/// Device memory in use on GPU 0 (total - free), bytes.
fn device_used(ctx: &cudarc::driver::CudaContext) -> u64 {
    if ctx.bind_to_thread().is_err() {
        return 0;
    }
    cudarc::driver::result::mem_get_info()
        .map(|(free, total)| (total - free) as u64)
        .unwrap_or(0)
}

/// Runs `n` buffers of `w` x `h` through `up ! identity(probe) ! fakesink` with
/// `boxes` outlined boxes per frame; returns the stats and (buffer, rss, device) samples.
fn probe_run(
    up: &str,
    n: u64,
    (w, h): (u32, u32),
    boxes: u32,
    sample: bool,
) -> (Arc<DrawStats>, Vec<(u64, u64, u64)>, std::time::Duration) {
    init();
    let p = pipeline(&format!(
        "videotestsrc num-buffers={n} pattern=black ! video/x-raw,format=RGBA,width={w},height={h},framerate=1000/1 \
         ! {up} ! identity name=draw ! fakesink sync=false"
    ));
    let ctx = cudarc::driver::CudaContext::new(0).expect("CUDA context");
    let stats = DrawStats::new();
    let samples = Arc::new(Mutex::new(Vec::with_capacity(16)));
    let s = samples.clone();
    let step = (n / 10).max(1);
    let mut seen = 0u64;
    let opts = ProbeOptions {
        stats: Some(stats.clone()),
        ..Default::default()
    };
    probe::attach_with(
        &by_name(&p, "draw").static_pad("src").unwrap(),
        opts,
        move |_, lists| {
            for list in lists.iter_mut() {
                for i in 0..boxes {
                    let x = (i % 10) as f32 * (w as f32 / 10.0) + (seen % 7) as f32;
                    let y = (i / 10) as f32 * (h as f32 / 10.0);
                    list.outline(
                        Rect::new(x, y, w as f32 / 12.0, h as f32 / 12.0),
                        Border::new(4, Color::GREEN),
                    );
                }
            }
            if sample && seen.is_multiple_of(step) {
                s.lock()
                    .unwrap()
                    .push((seen, rss_bytes(), device_used(&ctx)));
            }
            seen += 1;
        },
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let res = run(&p);
    let took = t0.elapsed();
    assert!(res.error.is_none(), "{:?}", res.error);
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
    let samples = samples.lock().unwrap().clone();
    (stats, samples, took)
}

#[cfg(feature = "synthetic-nvmm")]
#[test]
fn gpu_soak_probe_nvmm_host_and_device_memory_flat() {
    let t = "gpu_soak_probe_nvmm_host_and_device_memory_flat";
    let Some(_g) = gpu(t) else {
        return;
    };
    let n: u64 = std::env::var("CUDADRAW_SOAK_BUFFERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (stats, samples, took) = probe_run("nvmmsynthupload", n, (320, 240), 20, true);
    assert_eq!((stats.buffers(), stats.drawn(), stats.errors()), (n, n, 0));
    println!(
        "gpu soak: {n} NVMM buffers (320x240, 20 boxes) through the probe in {:.1} s, median {:?} per buffer",
        took.as_secs_f64(),
        stats.median().unwrap()
    );
    println!("gpu soak: buffer, host RSS, device memory used:");
    for (i, rss, dev) in &samples {
        println!(
            "  {i:>8}  {:>8.2} MiB  {:>9.2} MiB",
            *rss as f64 / (1 << 20) as f64,
            *dev as f64 / (1 << 20) as f64
        );
    }
    let (_, rss0, dev0) = samples[1];
    let rss_max = samples.iter().skip(1).map(|s| s.1).max().unwrap();
    let dev_max = samples.iter().skip(1).map(|s| s.2).max().unwrap();
    println!(
        "gpu soak: growth after warm-up: RSS {:+.3} MiB, device {:+.3} MiB",
        (rss_max as f64 - rss0 as f64) / (1 << 20) as f64,
        (dev_max as f64 - dev0 as f64) / (1 << 20) as f64
    );
    assert!(
        rss_max <= rss0 + (2 << 20),
        "host RSS grew {rss0} -> {rss_max}"
    );
    assert!(
        dev_max <= dev0 + (2 << 20),
        "device memory grew {dev0} -> {dev_max}"
    );
}

#[cfg(feature = "synthetic-nvmm")]
#[test]
fn gpu_probe_time_per_1080p_buffer_with_100_boxes() {
    let t = "gpu_probe_time_per_1080p_buffer_with_100_boxes";
    let Some(_g) = gpu(t) else {
        return;
    };
    let (stats, _, _) = probe_run("nvmmsynthupload", 300, (1920, 1080), 100, false);
    let median = stats.median().unwrap();
    println!(
        "probe time per 1080p NVMM buffer with 100 boxes (map + callback + render + sync): median {:.1} us (target < 50 us: {})",
        median.as_secs_f64() * 1e6,
        if median.as_micros() < 50 {
            "met"
        } else {
            "MISSED"
        }
    );
    if elements(t, &["cudaupload"]) {
        let (stats, _, _) = probe_run("cudaupload", 300, (1920, 1080), 100, false);
        println!(
            "probe time per 1080p CUDAMemory buffer with 100 boxes: median {:.1} us",
            stats.median().unwrap().as_secs_f64() * 1e6
        );
    }
    // A sanity bound only; the figure itself is the report.
    assert!(median.as_millis() < 5, "probe takes {median:?} per buffer");
}
