//! The workloads of `shared/bench/workloads.md` on the CPU renderer, on host frames (the
//! Jetson map path, system memory and the oracle; no GPU needed): W1-W8 on a batch of
//! 8 x 1080p RGBA and again on 8 x 1080p NV12, and the host-side cost of one call for W1's 800 boxes
//! (validation + resolution: what every backend pays before drawing), and many pipelines
//! (N threads, each with its own renderer, drawing W5 at once). Prints a table of
//! medians (wall time, `CUDADRAW_BENCH_SAMPLES` calls, default 15, after 2 warm-up
//! calls), then runs the same workloads under criterion.
//!
//! `cargo bench --bench cpu -- --test` (what CI runs) draws each workload once, checks
//! it changed the frames, and exits: that it runs, not how fast.
//!
//! `cargo bench --bench cpu -- --dump DIR` also writes the workloads (`workloads.json`:
//! every op of every frame) and the medians (`cudadraw.json`) for
//! `scripts/bench-opencv.py`, which runs the same workloads with OpenCV / NumPy on the
//! same frames and cores (`make bench-cpu-compare`).

mod workloads;

use std::time::Instant;

use criterion::Criterion;
use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::{DrawList, ImageStore, Resolved, resolve_batch};
use cudadraw::planar::{PlanarFrame, PlanarInfo, PlanarLayout, YuvMatrix, YuvRange};
use cudadraw::{FrameInfo, HostFrame, PixelFormat};
use workloads::*;

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
    let w4 = w4_lists(16);
    // W7's masks in host memory here (the GPU bench keeps them in device memory).
    let shapes = shape_workloads(|_, v| {
        cudadraw::draw::MaskSource::host(32, 32, cudadraw::draw::MaskValues::F16(v.into()))
    });
    let mut workloads: Vec<(&str, &[DrawList])> = vec![
        ("W1 800 boxes, 4 px", &w1),
        ("W1f + alpha-80 fill", &w1f),
        ("W2 80 box blurs r = 15", &w2),
        ("W3 32 logos 256 x 256", &w3),
        ("W4 800 labels, 16 px", &w4),
    ];
    workloads.extend(shapes.iter().map(|(n, l)| (*n, l.as_slice())));
    let mut cpu = CpuRenderer::new();
    let mut frames = Frames::new();

    if std::env::args().any(|a| a == "--test") {
        let before = frames.data.clone();
        for &(name, lists) in &workloads {
            frames.draw(&mut cpu, lists, &store);
            assert_ne!(frames.data, before, "{name} changed nothing");
            frames = Frames::new();
        }
        let nv12 = PlanarInfo::tight(W, H, PlanarLayout::Nv12);
        for &(name, lists) in &workloads {
            let before: Vec<u8> = (0..nv12.min_len() * BATCH)
                .map(|i| (i * 7 % 251) as u8)
                .collect();
            let mut data = before.clone();
            let mut f: Vec<PlanarFrame> = data
                .chunks_mut(nv12.min_len())
                .map(|d| PlanarFrame::new(d, nv12).expect("NV12 frame"))
                .collect();
            cpu.render_planar(&mut f, lists, &store).expect("render");
            drop(f);
            assert_ne!(data, before, "{name} changed no NV12 frame");
        }
        println!("cpu bench: every workload ran once on RGBA and NV12 (smoke test)");
        return;
    }

    // CUDADRAW_BENCH_ONLY=W6a (etc.: the first word of a workload's name; NV12-W6a on
    // NV12 frames) times that workload alone and stops: for profilers (`perf record`).
    if let Ok(only) = std::env::var("CUDADRAW_BENCH_ONLY") {
        let word = only.trim_start_matches("NV12-");
        let Some(&(name, lists)) = workloads
            .iter()
            .find(|(n, _)| n.split_whitespace().next() == Some(word))
        else {
            eprintln!("CUDADRAW_BENCH_ONLY={only}: no such workload");
            std::process::exit(2);
        };
        let ms = if word == only {
            median_ms(60, || frames.draw(&mut cpu, lists, &store))
        } else {
            let nv12 = PlanarInfo::tight(W, H, PlanarLayout::Nv12)
                .with_colour(YuvMatrix::Bt709, YuvRange::Limited);
            let mut planes: Vec<Vec<u8>> = (0..BATCH)
                .map(|_| (0..nv12.min_len()).map(|i| (i * 7 % 251) as u8).collect())
                .collect();
            median_ms(60, || {
                let mut f: Vec<PlanarFrame> = planes
                    .iter_mut()
                    .map(|d| PlanarFrame::new(d, nv12).expect("NV12 frame"))
                    .collect();
                cpu.render_planar(&mut f, lists, &store).expect("render");
            })
        };
        println!("{only} {name}: {ms:.2} ms (median of 60)");
        return;
    }

    // `-- --pipelines`: only the many-pipelines table.
    if std::env::args().any(|a| a == "--pipelines") {
        pipelines_table(&store);
        return;
    }
    let samples = std::env::var("CUDADRAW_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let threads = rayon::current_num_threads();
    println!(
        "\ncudadraw CPU renderer, {threads} thread(s), {} loops, batch of 8 1920x1080 RGBA host \
         frames, median of {samples}",
        cudadraw::cpu::simd::instruction_set()
    );
    println!("| workload | ms (median) |");
    println!("|---|---|");
    let mut medians = Vec::new();
    for &(name, lists) in &workloads {
        let ms = median_ms(samples, || frames.draw(&mut cpu, lists, &store));
        println!("| {name} | {ms:.2} |");
        medians.push(ms);
    }
    // The same workloads on NV12 host frames (BT.709 limited range), drawn in place.
    let nv12 = PlanarInfo::tight(W, H, PlanarLayout::Nv12)
        .with_colour(YuvMatrix::Bt709, YuvRange::Limited);
    let mut planes: Vec<Vec<u8>> = (0..BATCH)
        .map(|_| (0..nv12.min_len()).map(|i| (i * 7 % 251) as u8).collect())
        .collect();
    println!("\nthe same on 8 x 1080p NV12 host frames (BT.709 limited), median of {samples}");
    println!("| workload | NV12 ms (median) | RGBA ms (above) |");
    println!("|---|---|---|");
    for (&(name, lists), rgba) in workloads.iter().zip(&medians) {
        let ms = median_ms(samples, || {
            let mut f: Vec<PlanarFrame> = planes
                .iter_mut()
                .map(|d| PlanarFrame::new(d, nv12).expect("NV12 frame"))
                .collect();
            cpu.render_planar(&mut f, lists, &store).expect("render");
        });
        println!("| {name} | {ms:.2} | {rgba:.2} |");
    }
    let infos = vec![frames.info; BATCH];
    let mut resolved = Resolved::default();
    let us = 1e3
        * median_ms(samples.max(50), || {
            resolve_batch(&infos, &w1, &store, &mut resolved).expect("resolve")
        });
    println!("| host cost of one call, W1 (validate + resolve 800 boxes) | {us:.1} us |");
    let us4 = 1e3
        * median_ms(samples.max(50), || {
            resolve_batch(&infos, &w4, &store, &mut resolved).expect("resolve")
        });
    println!(
        "| host cost of one call, W4 (validate + resolve 800 labels, shaping cached) | {us4:.1} us |"
    );
    // First use of a text size: W4's labels, already drawn at 16 px, at 23 px
    // (pens converted, glyphs rasterised into the atlas), in a store of their own.
    let w4_new = w4_lists(23);
    let mut first: Vec<f64> = (0..samples.min(7))
        .map(|_| {
            let fresh = ImageStore::new();
            resolve_batch(&infos, &w4, &fresh, &mut resolved).expect("resolve");
            let t = std::time::Instant::now();
            resolve_batch(&infos, &w4_new, &fresh, &mut resolved).expect("resolve");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    first.sort_by(|a, b| a.total_cmp(b));
    let first_ms = first[first.len() / 2];
    println!("| first use of a text size (W4's labels at 23 px after 16 px) | {first_ms:.2} ms |");
    let mut cold: Vec<f64> = (0..samples.min(7))
        .map(|_| {
            let fresh = ImageStore::new();
            let t = std::time::Instant::now();
            resolve_batch(&infos, &w4, &fresh, &mut resolved).expect("resolve");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    cold.sort_by(|a, b| a.total_cmp(b));
    println!(
        "| first use of a label set (W4's 800 strings shaped, glyphs rasterised) | {:.2} ms |",
        cold[cold.len() / 2]
    );

    pipelines_table(&store);

    if let Some(dir) = dump_dir() {
        dump(&dir, &workloads, &medians, us);
        println!("workloads and medians written to {}", dir.display());
        return;
    }

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut g = c.benchmark_group("cpu");
    for &(name, lists) in &workloads {
        let id = name.split_whitespace().next().unwrap_or(name);
        g.bench_function(id, |b| b.iter(|| frames.draw(&mut cpu, lists, &store)));
    }
    g.bench_function("resolve_W1", |b| {
        b.iter(|| resolve_batch(&infos, &w1, &store, &mut resolved).expect("resolve"))
    });
    g.finish();
    c.final_summary();
}

/// Many pipelines: N threads, each with its own renderer and 1080p frame, drawing W5
/// (100 boxes on one frame) at once, and the control of one thread on as many frames.
fn pipelines_table(store: &ImageStore) {
    let w5 = w1_lists(false, 1);
    println!(
        "\nmany pipelines: N threads, each with its own CPU renderer, drawing W5 (one 1080p \
     RGBA host frame, 100 boxes) 40 times"
    );
    println!("| pipelines | calls/s, all together | ms per call per pipeline | vs 1 pipeline |");
    println!("|---|---|---|---|");
    let mut one = 0.0;
    for n in [1usize, 4, 16] {
        let rate = pipelines(n, 40, &w5, store);
        if n == 1 {
            one = rate;
        }
        println!(
            "| {n} | {rate:.0} | {:.2} | {:.2}x |",
            n as f64 * 1e3 / rate,
            rate / one
        );
    }
    // The control: one thread drawing on 16 frames in turn (16 pipelines' memory, no
    // concurrency). Where it matches 16 threads, the threads lose nothing to each other
    // and what 16 pipelines lose against 1 is their frames no longer fitting in caches.
    let rate = in_turn(16, 40, &w5, store);
    println!(
        "| 1 thread, 16 frames in turn (control) | {rate:.0} | {:.2} | {:.2}x |",
        1e3 / rate,
        rate / one
    );
}

/// `n` threads, each with its own CPU renderer and 1080p frame, drawing `lists`
/// `calls` times; aggregate calls per second (wall, from when all are ready).
fn pipelines(n: usize, calls: usize, lists: &[DrawList], store: &ImageStore) -> f64 {
    let info = FrameInfo::new(W, H, PITCH, PixelFormat::Rgba);
    let ready = std::sync::Barrier::new(n + 1);
    let start = std::thread::scope(|s| {
        for _ in 0..n {
            let ready = &ready;
            s.spawn(move || {
                let mut cpu = CpuRenderer::new();
                let mut data = pattern();
                let mut draw = |cpu: &mut CpuRenderer| {
                    let mut f = [HostFrame::new(&mut data, info).expect("host frame")];
                    cpu.render(&mut f, lists, store).expect("render");
                };
                draw(&mut cpu);
                ready.wait();
                for _ in 0..calls {
                    draw(&mut cpu);
                }
            });
        }
        ready.wait();
        Instant::now()
    });
    (n * calls) as f64 / start.elapsed().as_secs_f64()
}

/// One thread and renderer drawing `lists` on `n` frames in turn, `calls` times each;
/// calls per second.
fn in_turn(n: usize, calls: usize, lists: &[DrawList], store: &ImageStore) -> f64 {
    let info = FrameInfo::new(W, H, PITCH, PixelFormat::Rgba);
    let mut cpu = CpuRenderer::new();
    let mut data: Vec<Vec<u8>> = (0..n).map(|_| pattern()).collect();
    let draw = |cpu: &mut CpuRenderer, d: &mut Vec<u8>| {
        let mut f = [HostFrame::new(d, info).expect("host frame")];
        cpu.render(&mut f, lists, store).expect("render");
    };
    for d in &mut data {
        draw(&mut cpu, d);
    }
    let start = Instant::now();
    for _ in 0..calls {
        for d in &mut data {
            draw(&mut cpu, d);
        }
    }
    (n * calls) as f64 / start.elapsed().as_secs_f64()
}

fn dump_dir() -> Option<std::path::PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--dump")?;
    args.get(i + 1).map(std::path::PathBuf::from)
}

/// The workloads as plain JSON (rects as left, top, width, height; colours RGBA) and the
/// medians, for the OpenCV comparison script.
fn dump(
    dir: &std::path::Path,
    workloads: &[(&str, &[DrawList])],
    medians: &[f64],
    resolve_us: f64,
) {
    use cudadraw::Op;
    use cudadraw::draw::BlurKind;
    use serde_json::{Value, json};
    let rect = |r: &cudadraw::Rect| json!([r.left, r.top, r.width, r.height]);
    let col = |c: &cudadraw::Color| json!([c.r, c.g, c.b, c.a]);
    let mut all = serde_json::Map::new();
    for &(name, lists) in workloads {
        let id = name.split_whitespace().next().unwrap_or(name).to_string();
        let frames: Vec<Value> = lists
            .iter()
            .map(|l| {
                Value::Array(
                    l.ops()
                        .iter()
                        .map(|op| match op {
                            Op::Box(b) => json!({
                                "box": rect(&b.rect),
                                "outline": b.border.map(|o| json!({"width": o.width, "color": col(&o.color)})),
                                "fill": b.fill.map(|f| col(&f)),
                            }),
                            Op::Blur(b) => match b.kind {
                                BlurKind::Box { radius } => json!({"blur": rect(&b.rect), "radius": radius}),
                                other => json!({"unsupported": format!("{other:?}")}),
                            },
                            Op::Overlay(o) => json!({"logo": rect(&o.rect), "opacity": o.opacity}),
                            Op::Line(l) => json!({
                                "line": [l.from.x, l.from.y, l.to.x, l.to.y],
                                "width": l.width, "color": col(&l.color), "aa": l.aa,
                            }),
                            Op::Arrow(a) => json!({
                                "arrow": [a.from.x, a.from.y, a.to.x, a.to.y],
                                "width": a.width, "color": col(&a.color), "head": a.head_length,
                            }),
                            Op::Ellipse(e) => json!({
                                "circle": [e.center.x, e.center.y, e.rx],
                                "outline": e.outline.map(|s| json!({"width": s.width, "color": col(&s.color)})),
                                "fill": e.fill.map(|f| col(&f)),
                            }),
                            Op::Polygon(p) => json!({
                                "polygon": p.points.iter().map(|q| [q.x, q.y]).collect::<Vec<_>>(),
                                "outline": p.outline.map(|s| json!({"width": s.width, "color": col(&s.color)})),
                                "fill": p.fill.map(|f| col(&f)),
                            }),
                            Op::RotatedBox(b) => json!({
                                "rotated": [b.center.x, b.center.y, b.width, b.height, b.angle],
                                "outline": b.outline.map(|s| json!({"width": s.width, "color": col(&s.color)})),
                            }),
                            Op::Mask(m) => json!({
                                "mask": rect(&m.rect),
                                "color": col(&m.color),
                                "threshold": m.threshold,
                                "values": match &m.mask {
                                    cudadraw::draw::MaskSource::Host { values: cudadraw::draw::MaskValues::F16(v), .. } =>
                                        v.iter().map(|x| x.to_f32()).collect::<Vec<_>>(),
                                    _ => Vec::new(),
                                },
                            }),
                            Op::Label(t) => json!({
                                "label": rect(&t.rect),
                                "text": t.text,
                                "size": t.style.size,
                                "color": col(&t.style.color),
                                "background": t.style.background.map(|c| col(&c)),
                                "padding": t.style.padding,
                            }),
                            other => json!({"unsupported": format!("{other:?}")}),
                        })
                        .collect(),
                )
            })
            .collect();
        all.insert(id, Value::Array(frames));
    }
    std::fs::create_dir_all(dir).expect("dump dir");
    std::fs::write(dir.join("workloads.json"), Value::Object(all).to_string()).expect("write");
    let ids: Vec<String> = workloads
        .iter()
        .map(|(n, _)| n.split_whitespace().next().unwrap_or(n).to_string())
        .collect();
    let med: serde_json::Map<String, Value> = ids
        .iter()
        .cloned()
        .zip(medians.iter().map(|m| json!(m)))
        .collect();
    let out = json!({
        "threads": rayon::current_num_threads(),
        "frames": {"count": BATCH, "width": W, "height": H, "pitch": PITCH},
        "medians_ms": med,
        "resolve_w1_us": resolve_us,
    });
    std::fs::write(dir.join("cudadraw.json"), out.to_string()).expect("write");
}
