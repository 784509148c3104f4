//! The workloads of `../shared/bench/workloads.md` on the CUDA backend (GPU time by CUDA
//! events around each call's GPU work, median of >= 50 calls after warm-up) and the CPU
//! map path (device -> pinned host, CPU renderer, host -> device; wall time), plus the
//! first call's cost. Prints a plain table first, then runs the same workloads under
//! criterion. Without a device it prints "SKIPPED: no CUDA device" and exits 0 (1 with
//! CUDADRAW_REQUIRE_GPU=1).

use std::ffi::c_void;
use std::time::{Duration, Instant};

use criterion::Criterion;
use cudadraw::cpu::CpuRenderer;
use cudadraw::cuda::CudaRenderer;
use cudadraw::draw::{DrawList, ImageStore};
use cudadraw::planar::{DevicePlanarFrame, PlanarInfo, PlanarLayout, YuvMatrix, YuvRange};
use cudadraw::{DeviceFrame, FrameInfo, HostFrame, PixelFormat};
use cudarc::driver::result as cu;
use cudarc::driver::sys;

mod workloads;
use workloads::*;

const SAMPLES: usize = 200;
const WARMUP: usize = 20;

struct Batch {
    ptrs: Vec<u64>,
    frames: Vec<DeviceFrame>,
    copy_dst: u64,
    bytes: usize,
}

impl Batch {
    fn new(n: usize) -> Batch {
        let bytes = PITCH * H as usize;
        let info = FrameInfo::new(W, H, PITCH, PixelFormat::Rgba);
        let mut pattern = vec![0u8; bytes];
        for (i, b) in pattern.iter_mut().enumerate() {
            *b = ((i * 7 + i / PITCH * 13) % 251) as u8;
        }
        let mut ptrs = Vec::new();
        let mut frames = Vec::new();
        for _ in 0..n {
            // SAFETY: allocation and upload in the current (primary) context.
            let p = unsafe { cu::malloc_sync(bytes) }.expect("cuMemAlloc");
            unsafe { cu::memcpy_htod_sync(p, &pattern) }.expect("HtoD");
            ptrs.push(p);
            frames.push(unsafe { DeviceFrame::new(p, info, 0) });
        }
        let copy_dst = unsafe { cu::malloc_sync(bytes * n) }.expect("cuMemAlloc");
        Batch {
            ptrs,
            frames,
            copy_dst,
            bytes,
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median GPU microseconds of `render` over SAMPLES calls after WARMUP.
fn gpu_us(cuda: &mut CudaRenderer, b: &Batch, lists: &[DrawList], store: &ImageStore) -> f64 {
    let mut v = Vec::with_capacity(SAMPLES);
    for i in 0..WARMUP + SAMPLES {
        cuda.render(&b.frames[..lists.len()], lists, store)
            .expect("render");
        let ms = cuda.last_gpu_time_ms(0).expect("timing").unwrap_or(0.0);
        if i >= WARMUP {
            v.push(ms as f64 * 1e3);
        }
    }
    median(&mut v)
}

/// GPU microseconds (median) of `lists` on NV12 frames.
fn planar_us(
    cuda: &mut CudaRenderer,
    frames: &[DevicePlanarFrame],
    lists: &[DrawList],
    store: &ImageStore,
) -> f64 {
    let mut v = Vec::with_capacity(SAMPLES);
    for i in 0..WARMUP + SAMPLES {
        cuda.render_planar(&frames[..lists.len()], lists, store)
            .expect("render_planar");
        let ms = cuda.last_gpu_time_ms(0).expect("timing").unwrap_or(0.0);
        if i >= WARMUP {
            v.push(ms as f64 * 1e3);
        }
    }
    median(&mut v)
}

/// 8 NV12 1080p frames in device memory (BT.709 limited), over the RGBA batch's
/// buffers (an NV12 frame needs 1.5 bytes per pixel, an RGBA one 4).
fn nv12_frames(b: &Batch) -> Vec<DevicePlanarFrame> {
    let info = PlanarInfo::tight(W, H, PlanarLayout::Nv12)
        .with_colour(YuvMatrix::Bt709, YuvRange::Limited);
    assert!(info.min_len() <= b.bytes);
    b.ptrs
        .iter()
        // SAFETY: each buffer holds PITCH * H >= min_len bytes of device memory.
        .map(|&p| unsafe { DevicePlanarFrame::new(p, info, 0) })
        .collect()
}

struct Events(sys::CUevent, sys::CUevent, sys::CUstream);

impl Events {
    fn new(stream: sys::CUstream) -> Self {
        let f = sys::CUevent_flags::CU_EVENT_DEFAULT;
        Events(
            cu::event::create(f).unwrap(),
            cu::event::create(f).unwrap(),
            stream,
        )
    }
    /// GPU microseconds of whatever `f` enqueues on the stream.
    fn time(&self, f: impl FnOnce()) -> f64 {
        unsafe {
            cu::event::record(self.0, self.2).unwrap();
            f();
            cu::event::record(self.1, self.2).unwrap();
            cu::event::synchronize(self.1).unwrap();
            cu::event::elapsed(self.0, self.1).unwrap() as f64 * 1e3
        }
    }
}

/// W0: device-to-device copy of the whole batch.
fn w0_us(b: &Batch, ev: &Events) -> f64 {
    let mut v = Vec::new();
    for i in 0..WARMUP + SAMPLES {
        let t = ev.time(|| {
            for (k, p) in b.ptrs.iter().enumerate() {
                unsafe {
                    cu::memcpy_dtod_async(b.copy_dst + (k * b.bytes) as u64, *p, b.bytes, ev.2)
                        .unwrap()
                };
            }
        });
        if i >= WARMUP {
            v.push(t);
        }
    }
    median(&mut v)
}

/// The CPU map path: whole batch to pinned host memory, CPU renderer, back. Wall ms.
struct CpuMap {
    host: *mut u8,
    cpu: CpuRenderer,
}

impl CpuMap {
    fn new(b: &Batch) -> Self {
        let host =
            unsafe { cu::malloc_host(b.bytes * b.ptrs.len(), 0) }.expect("pinned") as *mut u8;
        CpuMap {
            host,
            cpu: CpuRenderer::new(),
        }
    }
    fn once(&mut self, b: &Batch, lists: &[DrawList], store: &ImageStore) {
        let n = lists.len();
        let info = b.frames[0].info();
        unsafe {
            for k in 0..n {
                let dst = std::slice::from_raw_parts_mut(self.host.add(k * b.bytes), b.bytes);
                cu::memcpy_dtoh_sync(dst, b.ptrs[k]).unwrap();
            }
            let mut frames: Vec<HostFrame> = (0..n)
                .map(|k| {
                    let s = std::slice::from_raw_parts_mut(self.host.add(k * b.bytes), b.bytes);
                    HostFrame::new(s, info).unwrap()
                })
                .collect();
            self.cpu.render(&mut frames, lists, store).unwrap();
            for k in 0..n {
                let src = std::slice::from_raw_parts(self.host.add(k * b.bytes), b.bytes);
                cu::memcpy_htod_sync(b.ptrs[k], src).unwrap();
            }
        }
    }
    fn ms(&mut self, b: &Batch, lists: &[DrawList], store: &ImageStore) -> f64 {
        self.once(b, lists, store);
        let mut v: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                self.once(b, lists, store);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median(&mut v)
    }
}

/// Many pipelines on one GPU: `n` threads, each with its own renderer (its own stream)
/// and 1080p RGBA frame, drawing `lists` `calls` times (each call waits for its GPU
/// work, as a pad probe does). Aggregate calls per second (wall, from when every thread
/// has warmed up until the last one is done).
fn pipelines(n: usize, calls: usize, lists: &[DrawList], store: &ImageStore) -> f64 {
    let info = FrameInfo::new(W, H, PITCH, PixelFormat::Rgba);
    let bytes = PITCH * H as usize;
    // SAFETY: plain allocations in the current (primary) context, freed below.
    let bufs: Vec<u64> = (0..n)
        .map(|_| unsafe { cu::malloc_sync(bytes) }.expect("cuMemAlloc"))
        .collect();
    let ready = std::sync::Barrier::new(n + 1);
    let start = std::thread::scope(|s| {
        for &p in &bufs {
            let ready = &ready;
            s.spawn(move || {
                let mut cuda = CudaRenderer::new().expect("renderer");
                // SAFETY: p holds PITCH * H bytes of device memory until the scope ends.
                let frame = [unsafe { DeviceFrame::new(p, info, 0) }];
                cuda.render(&frame, lists, store).expect("render");
                ready.wait();
                for _ in 0..calls {
                    cuda.render(&frame, lists, store).expect("render");
                }
            });
        }
        ready.wait();
        Instant::now()
    });
    let secs = start.elapsed().as_secs_f64();
    for p in bufs {
        // SAFETY: allocated above; every renderer has waited for its work.
        unsafe { cu::free_sync(p) }.expect("cuMemFree");
    }
    (n * calls) as f64 / secs
}

fn gpu_name() -> String {
    cu::device::get(0)
        .and_then(cu::device::get_name)
        .unwrap_or_else(|_| "unknown GPU".into())
}

fn main() {
    // First call: driver init, primary context, stream, PTX JIT.
    let t0 = Instant::now();
    let mut cuda = match CudaRenderer::new().and_then(|mut c| c.warm_up(0).map(|()| c)) {
        Ok(c) => c,
        Err(e) => {
            println!("SKIPPED: no CUDA device (benches: {e})");
            if std::env::var("CUDADRAW_REQUIRE_GPU").as_deref() == Ok("1") {
                std::process::exit(1);
            }
            return;
        }
    };
    let first_ms = t0.elapsed().as_secs_f64() * 1e3;
    let ctx = cuda.context(0).expect("context");
    unsafe { cu::ctx::set_current(ctx) }.expect("cuCtxSetCurrent");
    let stream = cuda.stream(0).expect("stream");
    cuda.set_gpu_timing(0, true).expect("timing");

    let b = Batch::new(BATCH);
    let mut store = ImageStore::new();
    let w1 = w1_lists(false, BATCH);
    let w1f = w1_lists(true, BATCH);
    let w2 = w2_lists();
    let w3 = w3_lists(&mut store);
    let w4 = w4_lists(16);
    // W7's masks live in device memory, as a model's output would (never copied back).
    let mut mask_mem = Vec::new();
    let shapes = shape_workloads(|_, v| {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_bits().to_ne_bytes()).collect();
        let p = unsafe { cu::malloc_sync(bytes.len()) }.expect("cuMemAlloc");
        unsafe { cu::memcpy_htod_sync(p, &bytes) }.expect("upload mask");
        mask_mem.push(p);
        // SAFETY: 32 rows of 64 bytes, freed only when the bench ends.
        let d = unsafe {
            cudadraw::draw::DeviceMask::new(p, 64, 32, 32, cudadraw::draw::MaskType::F16)
        };
        cudadraw::draw::MaskSource::Device(d)
    });
    let w5 = w1_lists(false, 1);
    let ev = Events::new(stream);

    // First render (includes the first command upload and buffer allocation).
    let t1 = Instant::now();
    cuda.render(&b.frames, &w1, &store).expect("render");
    let first_render_ms = t1.elapsed().as_secs_f64() * 1e3;

    // CUDADRAW_BENCH_ONLY=W2 (etc.; NV12-W2 on NV12 frames) times one workload and
    // stops: for profilers.
    if let Ok(only) = std::env::var("CUDADRAW_BENCH_ONLY") {
        let lists = match only.trim_start_matches("NV12-") {
            "W1" => &w1,
            "W1f" => &w1f,
            "W2" => &w2,
            "W4" => &w4,
            other => shapes
                .iter()
                .find(|(n, _)| n.split_whitespace().next() == Some(other))
                .map_or(&w3, |(_, l)| l),
        };
        let us = if only.starts_with("NV12-") {
            planar_us(&mut cuda, &nv12_frames(&b), lists, &store)
        } else {
            gpu_us(&mut cuda, &b, lists, &store)
        };
        println!("{only}: {us:.1} us");
        return;
    }
    // Keep the GPU busy for a while first so its clocks have ramped up.
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(500) {
        cuda.render(&b.frames, &w1f, &store).expect("render");
    }
    let w0 = w0_us(&b, &ev);
    let g1 = gpu_us(&mut cuda, &b, &w1, &store);
    let g1f = gpu_us(&mut cuda, &b, &w1f, &store);
    let g2 = gpu_us(&mut cuda, &b, &w2, &store);
    let g3 = gpu_us(&mut cuda, &b, &w3, &store);
    let g4 = gpu_us(&mut cuda, &b, &w4, &store);
    let shape_us: Vec<(&str, f64)> = shapes
        .iter()
        .map(|(name, lists)| (*name, gpu_us(&mut cuda, &b, lists, &store)))
        .collect();
    // The same workloads on NV12 (the RGBA buffers reused as NV12 frames).
    let nv12 = nv12_frames(&b);
    let nv12_us: Vec<(&str, f64)> = [
        ("W1 800 boxes", &w1),
        ("W1f 800 boxes + fill", &w1f),
        ("W2 80 box blurs r=15", &w2),
        ("W3 32 overlays 256x256", &w3),
        ("W4 800 labels 16 px", &w4),
    ]
    .into_iter()
    .chain(shapes.iter().map(|(n, l)| (*n, l)))
    .map(|(name, lists)| (name, planar_us(&mut cuda, &nv12, lists, &store)))
    .collect();
    // The memory traffic of one NV12 <-> RGBA conversion of the batch (it reads 1.5 and
    // writes 4 bytes per pixel, or the reverse): a device copy of 2.75 bytes per pixel.
    let conv_bytes = (W * H) as usize * 11 / 4;
    let mut v = Vec::new();
    for i in 0..WARMUP + SAMPLES {
        let t = ev.time(|| {
            for (k, p) in b.ptrs.iter().enumerate() {
                unsafe {
                    cu::memcpy_dtod_async(
                        b.copy_dst + (k * conv_bytes) as u64,
                        *p,
                        conv_bytes,
                        ev.2,
                    )
                    .unwrap()
                };
            }
        });
        if i >= WARMUP {
            v.push(t);
        }
    }
    let conv_us = median(&mut v);
    let rgba_us: Vec<f64> = [g1, g1f, g2, g3, g4]
        .into_iter()
        .chain(shape_us.iter().map(|(_, us)| *us))
        .collect();
    // First use of a new text size: shaping, rasterising and uploading the glyphs of
    // W4's label set, with the drawing (wall time of the one call).
    let t = Instant::now();
    cuda.render(&b.frames, &w4_lists(23), &store)
        .expect("render");
    let first_size_ms = t.elapsed().as_secs_f64() * 1e3;
    // W4 wall time of one whole call in steady state (shaping cache warm).
    let mut v: Vec<f64> = (0..WARMUP + SAMPLES)
        .map(|_| {
            let t = Instant::now();
            cuda.render(&b.frames, &w4, &store).expect("render");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let g4_wall = median(&mut v[WARMUP..]);
    // W5: wall time of one whole host call, list building included.
    cuda.set_gpu_timing(0, false).expect("timing");
    let mut v: Vec<f64> = (0..WARMUP + SAMPLES)
        .map(|_| {
            let t = Instant::now();
            let mut l = DrawList::with_capacity(100);
            for op in w5[0].ops() {
                l.push(op.clone());
            }
            cuda.render(&b.frames[..1], &[&l], &store).expect("render");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let g5 = median(&mut v[WARMUP..]);
    cuda.set_gpu_timing(0, true).expect("timing");

    // Many pipelines on one GPU (W5 per call, each pipeline its own renderer).
    let pipes: Vec<(usize, f64)> = [1usize, 4, 16]
        .into_iter()
        .map(|n| (n, pipelines(n, 1000, &w5, &store)))
        .collect();

    let mut map = CpuMap::new(&b);
    let c1 = map.ms(&b, &w1, &store);
    let c2 = map.ms(&b, &w2, &store);
    let c3 = map.ms(&b, &w3, &store);
    let c4 = map.ms(&b, &w4, &store);

    println!(
        "\ncudadraw benchmarks on {} (batch of 8 1920x1080 RGBA frames)",
        gpu_name()
    );
    println!(
        "first call (context + PTX load): {first_ms:.1} ms; first render: {first_render_ms:.2} ms"
    );
    println!("| workload | GPU us (median) | CPU-map ms (median) | speedup |");
    println!("|---|---|---|---|");
    println!("| W0 copy (D2D, 132 MB moved) | {w0:.1} | - | - |");
    println!(
        "| W1 800 boxes | {g1:.1} | {c1:.2} | {:.0}x |",
        c1 * 1e3 / g1
    );
    println!("| W1f 800 boxes + fill | {g1f:.1} | - | - |");
    println!(
        "| W2 80 box blurs r=15 | {g2:.1} | {c2:.2} | {:.0}x |",
        c2 * 1e3 / g2
    );
    println!(
        "| W3 32 overlays 256x256 | {g3:.1} | {c3:.2} | {:.0}x |",
        c3 * 1e3 / g3
    );
    println!(
        "| W4 800 labels 16 px | {g4:.1} | {c4:.2} | {:.0}x |",
        c4 * 1e3 / g4
    );
    println!("| W4 wall time of one call | {g4_wall:.1} | - | - |");
    println!(
        "| first use of a new text size (W4 labels at 23 px, wall) | {:.0} | - | - |",
        first_size_ms * 1e3
    );
    for (name, us) in &shape_us {
        println!("| {name} | {us:.1} | - | - |");
    }
    println!("| W5 1 frame, 100 boxes (wall) | {g5:.1} | - | - |");
    for (name, us) in &nv12_us {
        println!("| NV12 {name} | {us:.1} | - | - |");
    }
    println!();
    println!(
        "NV12 drawn in place vs the round trip users run today (NV12 -> RGBA, draw, RGBA -> \
         NV12): its floor is the RGBA figure plus two conversions' memory traffic \
         ({conv_us:.1} us each: a device copy of 2.75 bytes per pixel of the batch)"
    );
    println!("| workload | NV12 in place us | round-trip floor us | floor / in place |");
    println!("|---|---|---|---|");
    for ((name, us), rgba) in nv12_us.iter().zip(&rgba_us) {
        let floor = rgba + 2.0 * conv_us;
        println!("| {name} | {us:.1} | {floor:.1} | {:.2}x |", floor / us);
    }
    println!();
    println!(
        "many pipelines on one GPU: N threads, each with its own renderer and stream, \
         drawing W5 (one 1080p RGBA frame, 100 boxes) 1000 times, waiting for each call"
    );
    println!("| pipelines | calls/s, all together | us per call per pipeline | vs 1 pipeline |");
    println!("|---|---|---|---|");
    for &(n, rate) in &pipes {
        println!(
            "| {n} | {rate:.0} | {:.1} | {:.2}x |",
            n as f64 * 1e6 / rate,
            rate / pipes[0].1
        );
    }
    println!();

    // The same workloads under criterion (GPU time via events through iter_custom).
    let mut c = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut group = c.benchmark_group("cuda");
    for (name, lists) in [
        ("W1", &w1),
        ("W1f", &w1f),
        ("W2", &w2),
        ("W3", &w3),
        ("W4", &w4),
    ] {
        group.bench_function(name, |bch| {
            bch.iter_custom(|iters| {
                let mut total = 0.0f64;
                for _ in 0..iters {
                    cuda.render(&b.frames, lists, &store).expect("render");
                    total += cuda.last_gpu_time_ms(0).expect("timing").unwrap_or(0.0) as f64;
                }
                Duration::from_secs_f64(total / 1e3)
            })
        });
    }
    group.bench_function("W0", |bch| {
        bch.iter_custom(|iters| {
            let us: f64 = (0..iters)
                .map(|_| {
                    ev.time(|| {
                        for (k, p) in b.ptrs.iter().enumerate() {
                            let dst = b.copy_dst + (k * b.bytes) as u64;
                            unsafe { cu::memcpy_dtod_async(dst, *p, b.bytes, ev.2).unwrap() };
                        }
                    })
                })
                .sum();
            Duration::from_secs_f64(us / 1e6)
        })
    });
    group.bench_function("W5_wall", |bch| {
        bch.iter(|| cuda.render(&b.frames[..1], &w5, &store).expect("render"))
    });
    group.finish();
    let mut cpu_group = c.benchmark_group("cpu_map");
    cpu_group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    for (name, lists) in [("W1", &w1), ("W2", &w2), ("W3", &w3)] {
        cpu_group.bench_function(name, |bch| bch.iter(|| map.once(&b, lists, &store)));
    }
    cpu_group.finish();
    c.final_summary();

    unsafe {
        let _ = cu::free_host(map.host as *mut c_void);
        for p in &b.ptrs {
            let _ = cu::free_sync(*p);
        }
        let _ = cu::free_sync(b.copy_dst);
    }
}
