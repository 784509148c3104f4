//! The cudadraw demo: a real GStreamer pipeline with moving content, moving synthetic
//! detections attached as `GstVideoRegionOfInterestMeta`s, drawn by the `cudadraw`
//! element (per-class box colours, faces and plates pixelated, the logo overlaid),
//! encoded to `out/demo.webm` with a PNG snapshot `out/demo.png`.
//!
//! ```text
//! cargo run --release --example demo [-- --frames N --width W --height H --out DIR --cpu --nv12]
//! ```
//!
//! `--nv12` draws on NV12 (converted once from the composed picture, as a decoder would
//! deliver it; the element draws it with no converter around it) instead of RGBA.
//!
//! With a CUDA device the frames are drawn in device memory (through `cudaupload` /
//! `cudadownload`, or the synthetic NVMM elements when built with `synthetic-nvmm`);
//! otherwise in system memory by the CPU renderer. Both paths give the same pictures:
//! the closing line prints the snapshot's checksum so runs can be compared.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

struct Args {
    frames: u64,
    width: u32,
    height: u32,
    out: PathBuf,
    cpu: bool,
    /// Draw on NV12 (the format decoders and nvstreammux carry) instead of RGBA.
    nv12: bool,
    snapshot: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        frames: 240,
        width: 1280,
        height: 720,
        out: PathBuf::from("out"),
        cpu: false,
        nv12: false,
        snapshot: 60,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--frames" => {
                a.frames = val("--frames")?
                    .parse()
                    .map_err(|e| format!("--frames: {e}"))?
            }
            "--width" => {
                a.width = val("--width")?
                    .parse()
                    .map_err(|e| format!("--width: {e}"))?
            }
            "--height" => {
                a.height = val("--height")?
                    .parse()
                    .map_err(|e| format!("--height: {e}"))?
            }
            "--snapshot" => {
                a.snapshot = val("--snapshot")?
                    .parse()
                    .map_err(|e| format!("--snapshot: {e}"))?
            }
            "--out" => a.out = PathBuf::from(val("--out")?),
            "--cpu" => a.cpu = true,
            "--nv12" => a.nv12 = true,
            "-h" | "--help" => {
                println!(
                    "usage: demo [--frames N (240)] [--width W (1280)] [--height H (720)] \
                     [--snapshot FRAME (60)] [--out DIR (out)] [--cpu] [--nv12]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other} (try --help)")),
        }
    }
    if a.width < 320 || a.height < 240 || a.frames == 0 {
        return Err("need --width >= 320, --height >= 240, --frames >= 1".into());
    }
    a.snapshot = a.snapshot.min(a.frames - 1);
    Ok(a)
}

/// One synthetic detection: ROI type and rectangle.
type Det = (&'static str, i64, i64, i64, i64);

/// Where videotestsrc's `pattern=ball motion=wavy` draws its ball at frame `t`
/// (gst-plugins-base videotestsrc.c: radius 20, sinusoids of period 200 frames).
fn ball_center(t: u64, w: u32, h: u32) -> (f64, f64) {
    let r = 20.0;
    let t = t as f64;
    let x = r + (0.5 + 0.5 * (2.0 * std::f64::consts::PI * t / 200.0).sin()) * (w as f64 - 2.0 * r);
    let y = r
        + (0.5 + 0.5 * (2.0 * std::f64::consts::PI * 2f64.sqrt() * t / 200.0).sin())
            * (h as f64 - 2.0 * r);
    (x, y)
}

/// The "detector": deterministic moving objects for frame `n`.
fn detections(n: u64, w: u32, h: u32) -> Vec<Det> {
    let (w, h, t) = (w as i64, h as i64, n as i64);
    let (bx, by) = ball_center(n, w as u32, h as u32);
    let mut d: Vec<Det> = vec![("ball", bx as i64 - 26, by as i64 - 26, 52, 52)];
    // Two people walking across, faces (pixelated) riding on them.
    for (i, speed, y) in [(0i64, 3i64, h / 10), (1, -2, h / 6)] {
        let span = w + 120;
        let x = (((t * speed + i * w / 2) % span) + span) % span - 120;
        let (pw, ph) = (w / 12, h / 3);
        d.push(("person", x, y, pw, ph));
        d.push(("face", x + pw / 4, y + ph / 16, pw / 2, ph / 5));
    }
    // A car and its plate (pixelated).
    let span = w + 240;
    let cx = w - ((t * 4) % span);
    let (cw, ch) = (w / 5, h / 6);
    let cy = h * 7 / 10;
    d.push(("car", cx, cy, cw, ch));
    d.push((
        "license-plate",
        cx + cw * 3 / 8,
        cy + ch / 2,
        cw / 4,
        ch / 4,
    ));
    d
}

/// Adds the detections to each buffer leaving `pad` as ROI metas (clipped to the frame:
/// ROI metas hold unsigned coordinates).
fn attach_detector(pad: &gst::Pad, w: u32, h: u32) {
    let frame = AtomicU64::new(0);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(ref mut buffer)) = info.data {
            let n = frame.fetch_add(1, Ordering::Relaxed);
            let buf = buffer.make_mut();
            for (i, (ty, x, y, dw, dh)) in detections(n, w, h).into_iter().enumerate() {
                let (x0, y0) = (x.clamp(0, w as i64), y.clamp(0, h as i64));
                let (x1, y1) = ((x + dw).clamp(0, w as i64), (y + dh).clamp(0, h as i64));
                if x1 > x0 && y1 > y0 {
                    let mut meta = gst_video::VideoRegionOfInterestMeta::add(
                        buf,
                        ty,
                        (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32),
                    );
                    // A detector's confidence, as the element's labels read it.
                    let confidence = 0.75 + ((n * 7 + i as u64 * 13) % 25) as f64 / 100.0;
                    meta.add_param(
                        gst::Structure::builder("detection")
                            .field("confidence", confidence)
                            .build(),
                    );
                }
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// A soft round 32 x 32 mask (what a segmentation model gives for the ball).
fn ball_mask() -> cudadraw::draw::MaskValues {
    let v: Vec<f32> = (0..32 * 32)
        .map(|i| {
            let (x, y) = ((i % 32) as f32 / 31.0 - 0.5, (i / 32) as f32 / 31.0 - 0.5);
            (1.0 - (x * x + y * y).sqrt() * 2.0).clamp(0.0, 1.0) * 1.6
        })
        .collect();
    cudadraw::draw::MaskValues::F32(v.into())
}

/// The analytics layer, drawn through cudadraw's probe after the element: a zone, a
/// counting line with its counts, the ball's track trail and mask, a clock from the
/// buffer's timestamp (so every run draws the same pictures).
fn attach_analytics(pad: &gst::Pad, w: u32, h: u32) -> Result<(), String> {
    use cudadraw::draw::{MaskOp, MaskSource, Stroke, TextStyle};
    use cudadraw::geom::Point;
    let (fw, fh) = (w as f32, h as f32);
    let zone = vec![
        Point::new(0.05 * fw, 0.66 * fh),
        Point::new(0.30 * fw, 0.60 * fh),
        Point::new(0.42 * fw, 0.95 * fh),
        Point::new(0.08 * fw, 0.97 * fh),
    ];
    let mask = ball_mask();
    let size = (h / 30).clamp(10, 40);
    cudadraw::gst::probe::attach(pad, move |buffer, frames, lists| {
        let n = buffer
            .pts()
            .map_or(0, |t| t.nseconds() * 30 / 1_000_000_000);
        for (_f, list) in frames.iter().zip(lists.iter_mut()) {
            list.polygon(
                zone.clone(),
                Some(cudadraw::Color::rgba(0, 160, 255, 60)),
                Some(Stroke::new(2.0, cudadraw::Color::rgb(0, 160, 255))),
            );
            let y = 0.60 * fh;
            list.line(
                Point::new(0.0, y),
                Point::new(fw, y - 0.03 * fh),
                3.0,
                cudadraw::Color::rgb(255, 220, 0),
            );
            list.arrow(
                Point::new(0.55 * fw, y + 0.06 * fh),
                Point::new(0.55 * fw, y - 0.08 * fh),
                3.0,
                cudadraw::Color::rgb(255, 220, 0),
            );
            let style = TextStyle::new(size, cudadraw::Color::WHITE)
                .background(cudadraw::Color::rgba(0, 0, 0, 150))
                .padding(3);
            list.text(
                0.57 * fw,
                y - 0.09 * fh,
                format!("IN {}  OUT {}", n / 90, n / 140),
                style,
            );
            let trail: Vec<Point> = (n.saturating_sub(40)..=n)
                .map(|t| {
                    let (x, y) = ball_center(t, w, h);
                    Point::new(x as f32, y as f32)
                })
                .collect();
            list.polyline(trail, 3.0, cudadraw::Color::rgba(255, 224, 0, 200));
            let (bx, by) = ball_center(n, w, h);
            list.push(MaskOp {
                rect: cudadraw::Rect::new(bx as f32 - 30.0, by as f32 - 30.0, 60.0, 60.0),
                mask: MaskSource::host(32, 32, mask.clone()),
                threshold: 0.5,
                color: cudadraw::Color::rgba(255, 60, 200, 110),
                filter: cudadraw::Filter::Bilinear,
                contour: Some(cudadraw::Color::rgb(255, 60, 200)),
            });
            let secs = n as f64 / 30.0;
            list.text(
                16.0,
                fh - 16.0 - 1.5 * size as f32,
                format!("cam 1  {:02}:{:05.2}", (secs / 60.0) as u64, secs % 60.0),
                TextStyle::new(size, cudadraw::Color::WHITE).halo(2, cudadraw::Color::BLACK),
            );
        }
    })
    .map(|_| ())
    .ok_or_else(|| "analytics probe: not attached".to_string())
}

/// How frames reach the drawing element.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Path {
    Cpu,
    CudaMemory,
    Nvmm,
}

fn has(factory: &str) -> bool {
    gst::ElementFactory::find(factory).is_some()
}

fn pick_path(force_cpu: bool) -> (Path, &'static str, &'static str) {
    if force_cpu || !cudadraw::render::Renderer::cuda_available() {
        return (Path::Cpu, "", "");
    }
    if has("cudaupload") && has("cudadownload") {
        return (Path::CudaMemory, "cudaupload", "cudadownload");
    }
    for (up, down) in [
        ("nvmmsynthupload", "nvmmsynthdownload"),
        ("nvmmupload", "nvmmdownload"),
    ] {
        if has(up) && has(down) {
            return (Path::Nvmm, up, down);
        }
    }
    (Path::Cpu, "", "")
}

fn launch_line(a: &Args, path: Path, up: &str, down: &str) -> String {
    let (w, h) = (a.width, a.height);
    let logo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/logo.png");
    // Textured bands under the faces and the plates, so that pixelation shows.
    let (zw, zh) = (w * 9 / 10, h / 3);
    let (bw, bh) = (w * 9 / 10, h / 5);
    let caps = format!("video/x-raw,format=RGBA,width={w},height={h},framerate=30/1");
    // The format drawn on: RGBA, or NV12 converted once from the composed picture (as a
    // decoder would hand it over), drawn and encoded with no conversion around cudadraw.
    let (f, to_drawn) = if a.nv12 {
        (
            "NV12",
            "videoconvert ! video/x-raw,format=NV12,colorimetry=bt709 ! ",
        )
    } else {
        ("RGBA", "")
    };
    let (pre, post) = match path {
        Path::Cpu => (String::new(), String::new()),
        Path::CudaMemory => (
            format!("{up} ! video/x-raw(memory:CUDAMemory),format={f} ! "),
            format!("{down} ! "),
        ),
        Path::Nvmm => (
            format!("{up} ! video/x-raw(memory:NVMM),format={f} ! "),
            format!("{down} ! "),
        ),
    };
    format!(
        "compositor name=mix background=black \
             sink_1::xpos={zx} sink_1::ypos={zy} sink_2::xpos={zx} sink_2::ypos={by} \
         ! {caps} ! {to_drawn}{pre}identity name=detector \
         ! cudadraw name=draw outline-width=4 fill-color=0x20ffffff \
             class-colors=person=0xffff4040,car=0xff40a0ff,ball=0xffffe000 \
             labels=true label-format=\"{{label}} {{confidence:.2}}\" font-size={fs} label-bg-color=0xb0000000 \
             blur-types=face,license-plate blur-kind=pixelate blur-strength=10 expand=4 \
             overlay-location=\"{logo}\" overlay-x=-16 overlay-y=16 overlay-width=96 overlay-height=96 overlay-opacity=0.9 \
         ! identity name=analytics ! {post}video/x-raw,format={f} ! tee name=t \
         t. ! queue max-size-buffers=8 ! videoconvert ! video/x-raw,format=I420 \
            ! vp8enc deadline=1 cpu-used=16 threads=2 target-bitrate=3000000 keyframe-max-dist=60 \
            ! webmmux ! filesink location=\"{out}\" \
         t. ! queue max-size-buffers=8 ! fakesink name=snap sync=false \
         videotestsrc num-buffers={n} pattern=smpte75 horizontal-speed=2 ! {caps} ! mix.sink_0 \
         videotestsrc num-buffers={n} pattern=zone-plate kx2=20 ky2=20 kt=1 ! video/x-raw,format=RGBA,width={zw},height={zh},framerate=30/1 ! mix.sink_1 \
         videotestsrc num-buffers={n} pattern=circular ! video/x-raw,format=RGBA,width={bw},height={bh},framerate=30/1 ! mix.sink_2 \
         videotestsrc num-buffers={n} pattern=ball background-color=0x00000000 ! {caps} ! mix.sink_3",
        fs = (h / 30).clamp(10, 40),
        zx = w / 20,
        zy = h / 20,
        by = h * 7 / 10,
        n = a.frames,
        logo = logo.display(),
        out = a.out.join("demo.webm").display(),
    )
}

fn main() {
    if let Err(e) = run() {
        eprintln!("demo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    cudadraw::gst::register().map_err(|e| e.to_string())?;
    #[cfg(feature = "synthetic-nvmm")]
    cudadraw::gst::register_synthetic().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let (path, up, down) = pick_path(args.cpu);
    let where_ = match path {
        Path::Cpu => "CPU renderer, system memory".to_string(),
        Path::CudaMemory => format!("GPU, CUDA memory ({up} / {down})"),
        Path::Nvmm => format!("GPU, NVMM batches ({up} / {down})"),
    };
    println!(
        "cudadraw demo: {} frames of {}x{} {} drawn on the {where_}",
        args.frames,
        args.width,
        args.height,
        if args.nv12 { "NV12" } else { "RGBA" }
    );

    let launch = launch_line(&args, path, up, down);
    let pipeline = gst::parse::launch(&launch)
        .map_err(|e| format!("pipeline: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())?;
    let by_name = |n: &str| pipeline.by_name(n).ok_or(format!("no element {n}"));

    attach_detector(
        &by_name("detector")?
            .static_pad("src")
            .ok_or("detector pad")?,
        args.width,
        args.height,
    );

    attach_analytics(
        &by_name("analytics")?
            .static_pad("src")
            .ok_or("analytics pad")?,
        args.width,
        args.height,
    )?;

    // Draw time per batch: the element draws in place in the streaming thread, so the
    // time from its sink pad to its src pad is the drawing (plus a little overhead).
    let draw = by_name("draw")?;
    let started = Arc::new(Mutex::new(None::<Instant>));
    let times = Arc::new(Mutex::new(Vec::<Duration>::with_capacity(
        args.frames as usize,
    )));
    {
        let s = started.clone();
        draw.static_pad("sink").ok_or("draw sink")?.add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                *s.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                gst::PadProbeReturn::Ok
            },
        );
        let (s, t) = (started.clone(), times.clone());
        draw.static_pad("src").ok_or("draw src")?.add_probe(
            gst::PadProbeType::BUFFER,
            move |_, _| {
                if let Some(t0) = s.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    t.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(t0.elapsed());
                }
                gst::PadProbeReturn::Ok
            },
        );
    }

    // Snapshot and progress, at the sink end of the tee.
    let snapshot = Arc::new(Mutex::new(None::<(u32, u32, Vec<u8>)>));
    let done = Arc::new(AtomicU64::new(0));
    {
        let (snap, done, want) = (snapshot.clone(), done.clone(), args.snapshot);
        by_name("snap")?
            .static_pad("sink")
            .ok_or("snap pad")?
            .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
                let n = done.fetch_add(1, Ordering::Relaxed);
                if n == want
                    && let (Some(buffer), Some(caps)) = (info.buffer(), pad.current_caps())
                {
                    *snap.lock().unwrap_or_else(|p| p.into_inner()) = to_rgba(buffer, &caps);
                }
                gst::PadProbeReturn::Ok
            });
    }

    let t0 = Instant::now();
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| format!("cannot start the pipeline: {e}"))?;
    let bus = pipeline.bus().ok_or("no bus")?;
    let mut result = Ok(());
    let mut warnings = 0;
    let mut shown = u64::MAX;
    loop {
        let msg = bus.timed_pop(gst::ClockTime::from_mseconds(100));
        let now = done.load(Ordering::Relaxed);
        if now != shown {
            progress(now, args.frames, t0.elapsed());
            shown = now;
        }
        let Some(msg) = msg else { continue };
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                result = Err(format!(
                    "{}: {} ({})",
                    msg.src()
                        .map(|s| s.path_string().to_string())
                        .unwrap_or_default(),
                    e.error(),
                    e.debug().unwrap_or_default()
                ));
                break;
            }
            gst::MessageView::Warning(w) => {
                warnings += 1;
                if warnings <= 5 {
                    eprintln!("\nwarning: {}", w.error());
                }
            }
            _ => {}
        }
    }
    let elapsed = t0.elapsed();
    let _ = pipeline.set_state(gst::State::Null);
    progress(done.load(Ordering::Relaxed), args.frames, elapsed);
    println!();
    result?;

    let frames = done.load(Ordering::Relaxed);
    let png_path = args.out.join("demo.png");
    let checksum = match snapshot.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some((w, h, rgba)) => {
            write_png(&png_path, w, h, &rgba)?;
            fnv1a(&rgba)
        }
        None => return Err(format!("snapshot frame {} never arrived", args.snapshot)),
    };
    let mut t = times.lock().unwrap_or_else(|p| p.into_inner()).clone();
    t.sort();
    let median = t.get(t.len() / 2).copied().unwrap_or_default();
    println!(
        "wrote {} and {} (frame {}, checksum {checksum:016x})",
        args.out.join("demo.webm").display(),
        png_path.display(),
        args.snapshot
    );
    println!(
        "done: {frames} frames in {:.1} s ({:.1} fps), median draw time {:.3} ms per batch ({})",
        elapsed.as_secs_f64(),
        frames as f64 / elapsed.as_secs_f64().max(1e-9),
        median.as_secs_f64() * 1e3,
        match path {
            Path::Cpu => "CPU",
            _ => "GPU",
        }
    );
    Ok(())
}

fn progress(done: u64, total: u64, elapsed: Duration) {
    let width = 40;
    let filled = (done.min(total) * width / total.max(1)) as usize;
    let fps = done as f64 / elapsed.as_secs_f64().max(1e-9);
    eprint!(
        "\r[{}{}] {done:>5}/{total} frames {fps:6.1} fps",
        "#".repeat(filled),
        ".".repeat(width as usize - filled)
    );
    let _ = std::io::stderr().flush();
}

/// The snapshot as RGBA: the frame itself, or an NV12 frame converted with its own
/// matrix and range (cudadraw's conversion, the same on both runs).
fn to_rgba(buffer: &gst::BufferRef, caps: &gst::CapsRef) -> Option<(u32, u32, Vec<u8>)> {
    let info = gst_video::VideoInfo::from_caps(caps).ok()?;
    if let Ok(cudadraw::gst::caps::StreamFormat::Planar {
        layout,
        matrix,
        range,
    }) = cudadraw::gst::caps::StreamFormat::of_video(&info)
    {
        let pi = cudadraw::gst::caps::planar_info(
            buffer,
            &info,
            layout,
            matrix,
            range,
            (info.offset(), info.stride()),
        )
        .ok()?;
        let map = buffer.map_readable().ok()?;
        if map.len() < pi.min_len() {
            return None;
        }
        return Some((info.width(), info.height(), pi.to_rgba(&map)));
    }
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).ok()?;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).ok()?;
    let mut out = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        out.extend_from_slice(data.get(y * stride..y * stride + w * 4)?);
    }
    Some((w as u32, h as u32, out))
}

fn write_png(path: &std::path::Path, w: u32, h: u32, rgba: &[u8]) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header().map_err(|e| err(&e))?;
    wr.write_image_data(rgba).map_err(|e| err(&e))
}

/// FNV-1a, to compare snapshots of CPU and GPU runs at a glance.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
