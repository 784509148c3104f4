//! Soak: many buffers through the probe on system memory, with the process's RSS
//! sampled along the way and required to stay flat after warm-up.
//!
//! CI runs 5,000 buffers; `CUDADRAW_SOAK_BUFFERS=100000` runs the full size. The GPU
//! variant (device memory too) is in `pipeline_gpu.rs`.

mod common;
mod pipeline_common;

use std::sync::{Arc, Mutex};

use cudadraw::gst::probe::{self, DrawStats, ProbeOptions};
use cudadraw::{BlurKind, Border, Color, Rect};
use gstreamer::prelude::*;
use pipeline_common::*;

/// RSS may grow by this much after the first tenth of the run (allocator noise);
/// a leak of 20 bytes per buffer over 100,000 buffers would exceed it.
const RSS_SLACK: u64 = 2 << 20;

/// The tests of this binary run one at a time: the soak measures the whole process's
/// RSS, which another test's 1080p buffers would disturb.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn soak_buffers() -> u64 {
    std::env::var("CUDADRAW_SOAK_BUFFERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

#[test]
fn soak_probe_system_memory_rss_flat() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    init();
    let n = soak_buffers();
    let (w, h) = (320u32, 240u32);
    let p = pipeline(&format!(
        "videotestsrc num-buffers={n} pattern=ball ! video/x-raw,format=RGBA,width={w},height={h},framerate=1000/1 \
         ! identity name=draw ! fakesink sync=false"
    ));
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
        move |_buffer, frames, lists| {
            for (f, list) in frames.iter().zip(lists.iter_mut()) {
                let t = (seen % 200) as f32;
                for i in 0..20 {
                    let x = (i * 15) as f32 + t / 4.0;
                    list.rect(
                        Rect::new(x, (i * 11) as f32, 40.0, 30.0),
                        Some(Border::new(2, Color::rgb(255, 40 * (i % 6) as u8, 0))),
                        Some(Color::rgba(0, 0, 255, 60)),
                    );
                }
                list.blur(
                    Rect::new(100.0, 80.0, 64.0, 48.0),
                    BlurKind::Box { radius: 4 },
                );
                let _ = f;
            }
            if seen.is_multiple_of(step) {
                s.lock().unwrap().push((seen, rss_bytes()));
            }
            seen += 1;
        },
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let res = run(&p);
    let took = t0.elapsed();
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(stats.buffers(), n);
    assert_eq!(stats.drawn(), n);
    assert_eq!(stats.errors(), 0);
    let samples = samples.lock().unwrap().clone();
    println!(
        "soak: {n} buffers of {w}x{h} RGBA through the probe in {:.1} s, median {:?} per buffer",
        took.as_secs_f64(),
        stats.median().unwrap()
    );
    println!("soak: RSS by buffer:");
    for (i, rss) in &samples {
        println!("  {i:>8}  {:>8.2} MiB", *rss as f64 / (1 << 20) as f64);
    }
    let base = samples.get(1).map(|s| s.1).expect("enough samples");
    let max = samples.iter().skip(1).map(|s| s.1).max().unwrap();
    println!(
        "soak: RSS growth after warm-up {:+.3} MiB (limit {} MiB)",
        (max as f64 - base as f64) / (1 << 20) as f64,
        RSS_SLACK >> 20
    );
    assert!(
        max <= base + RSS_SLACK,
        "RSS grew from {base} to {max} bytes over {n} buffers"
    );
}

#[test]
fn probe_time_per_1080p_buffer_with_100_boxes_cpu() {
    // The system-memory figure (CPU renderer); the GPU figure is in pipeline_gpu.rs.
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    init();
    let n = 60;
    let p = pipeline(&format!(
        "videotestsrc num-buffers={n} pattern=black ! video/x-raw,format=RGBA,width=1920,height=1080,framerate=1000/1 \
         ! identity name=draw ! fakesink sync=false"
    ));
    let stats = DrawStats::new();
    let opts = ProbeOptions {
        stats: Some(stats.clone()),
        ..Default::default()
    };
    probe::attach_with(
        &by_name(&p, "draw").static_pad("src").unwrap(),
        opts,
        |_buffer, _, lists| {
            for list in lists.iter_mut() {
                for i in 0..100 {
                    let (x, y) = ((i % 10) as f32 * 190.0, (i / 10) as f32 * 105.0);
                    list.outline(Rect::new(x, y, 150.0, 90.0), Border::new(4, Color::GREEN));
                }
            }
        },
    )
    .unwrap();
    let res = run(&p);
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(stats.drawn(), n);
    println!(
        "probe on system memory (CPU renderer): median {:?} per 1080p buffer with 100 boxes",
        stats.median().unwrap()
    );
}
