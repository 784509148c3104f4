//! The workloads of `shared/bench/workloads.md` on the CPU renderer, on host frames (the
//! Jetson map path, system memory and the oracle; no GPU needed): W1, W1f, W2, W3 on a
//! batch of 8 x 1080p RGBA, and the host-side cost of one call for W1's 800 boxes
//! (validation + resolution: what every backend pays before drawing). Prints a table of
//! medians (wall time, `CUDADRAW_BENCH_SAMPLES` calls, default 15, after 2 warm-up
//! calls), then runs the same workloads under criterion.
//!
//! `cargo bench --bench cpu -- --test` (what CI runs) draws each workload once, checks
//! it changed the frames, and exits: that it runs, not how fast.

mod workloads;

use std::time::Instant;

use criterion::Criterion;
use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::{DrawList, ImageStore, Resolved, resolve_batch};
use cudadraw::{FrameInfo, HostFrame, PixelFormat};
use workloads::{BATCH, H, PITCH, W, pattern, w1_lists, w2_lists, w3_lists};

struct Frames {
    data: Vec<Vec<u8>>,
    info: FrameInfo,
}

impl Frames {
    fn new() -> Self {
        let p = pattern();
        Self {
            data: (0..BATCH).map(|_| p.clone()).collect(),
            info: FrameInfo::new(W, H, PITCH, PixelFormat::Rgba),
        }
    }

    fn draw(&mut self, cpu: &mut CpuRenderer, lists: &[DrawList], store: &ImageStore) {
        let info = self.info;
        let mut frames: Vec<HostFrame> = self
            .data
            .iter_mut()
            .map(|d| HostFrame::new(d, info).expect("host frame"))
            .collect();
        cpu.render(&mut frames, lists, store).expect("render");
    }
}

fn median_ms(samples: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..2 {
        f();
    }
    let mut v: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut store = ImageStore::new();
    let w1 = w1_lists(false, BATCH);
    let w1f = w1_lists(true, BATCH);
    let w2 = w2_lists();
    let w3 = w3_lists(&mut store);
    let workloads: [(&str, &[DrawList]); 4] = [
        ("W1 800 boxes, 4 px", &w1),
        ("W1f + alpha-80 fill", &w1f),
        ("W2 80 box blurs r = 15", &w2),
        ("W3 32 logos 256 x 256", &w3),
    ];
    let mut cpu = CpuRenderer::new();
    let mut frames = Frames::new();

    if std::env::args().any(|a| a == "--test") {
        let before = frames.data.clone();
        for (name, lists) in workloads {
            frames.draw(&mut cpu, lists, &store);
            assert_ne!(frames.data, before, "{name} changed nothing");
            frames = Frames::new();
        }
        println!("cpu bench: every workload ran once (smoke test)");
        return;
    }

    let samples = std::env::var("CUDADRAW_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let threads = rayon::current_num_threads();
    println!(
        "\ncudadraw CPU renderer, {threads} thread(s), batch of 8 1920x1080 RGBA host frames, \
         median of {samples}"
    );
    println!("| workload | ms (median) |");
    println!("|---|---|");
    for (name, lists) in workloads {
        let ms = median_ms(samples, || frames.draw(&mut cpu, lists, &store));
        println!("| {name} | {ms:.2} |");
    }
    let infos = vec![frames.info; BATCH];
    let mut resolved = Resolved::default();
    let us = 1e3
        * median_ms(samples.max(50), || {
            resolve_batch(&infos, &w1, &store, &mut resolved).expect("resolve")
        });
    println!("| host cost of one call, W1 (validate + resolve 800 boxes) | {us:.1} us |");

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut g = c.benchmark_group("cpu");
    for (name, lists) in workloads {
        let id = name.split_whitespace().next().unwrap_or(name);
        g.bench_function(id, |b| b.iter(|| frames.draw(&mut cpu, lists, &store)));
    }
    g.bench_function("resolve_W1", |b| {
        b.iter(|| resolve_batch(&infos, &w1, &store, &mut resolved).expect("resolve"))
    });
    g.finish();
    c.final_summary();
}
