//! GPU-host pipeline tests: the `cudadraw` element and the probe on upstream CUDA memory
//! (`cudaupload ! cudadraw ! cudadownload`) and on NVMM batches (synthetic elements,
//! feature `synthetic-nvmm`) give the very PNGs of the system-memory tests; on CUDA
//! memory the frames are drawn in place (zero-copy: the pipeline shares cudadraw's CUDA
//! context) or, when the pipeline is given another context, through staging copies with
//! the same pictures; the 100,000-buffer probe soak with host RSS and device memory
//! flat; the probe's time per 1080p buffer with 100 boxes.
//!
//! Without a CUDA device every test prints "SKIPPED: no CUDA device" and returns;
//! `CUDADRAW_REQUIRE_GPU=1` turns that (and a missing cudaupload) into a failure.

mod common;
mod pipeline_common;

use std::sync::{Arc, Mutex};

use cudadraw::gst::probe::{self, DrawStats, ProbeOptions};
use cudadraw::gst::{cudacontext, cudamem};
use cudadraw::{BlurKind, Border, Color, ImageStore, Rect};
use gstreamer as gst;
use gstreamer::prelude::*;
use pipeline_common::*;

/// Upload to CUDA memory. The capsfilter is needed: `cudaupload` (and `cudadownload`)
/// offer system memory first, so without it the stream negotiates system memory,
/// both pass through and every buffer is drawn on the host.
const CUDA_UP: &str = "cudaupload ! video/x-raw(memory:CUDAMemory)";

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: &[u64] = &[0, 9];

use common::skipped;

/// Prints a result line past libtest's output capture (the GPU bundle runs the tests
/// without --nocapture, and these lines are the report).
fn report(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// What one buffer was, as drawn, and which branch drew it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// Caps features of the stream where it was drawn.
    caps: String,
    /// Whether memory 0 is GStreamer CUDA memory, and its allocator's name.
    memory: String,
    /// The branch, from the drawing counters' change over this buffer.
    branch: &'static str,
}

/// (in place, through copies, errors) of a drawing element or probe; errors is 0 where
/// not counted (the element posts them as bus warnings).
type Counts = (u64, u64, u64);

/// Runs of equal [`Seen`]s: (what, how many buffers in a row).
type SeenRuns = Arc<Mutex<Vec<(Seen, u64)>>>;

/// Records, for every buffer passing `pad` (downstream of the drawing: the counters have
/// moved for it by then), what it was and which branch drew it, read from `counts`.
/// Runs of equal buffers are kept as one entry, so a soak does not grow it.
fn observe(pad: &gst::Pad, counts: impl Fn() -> Counts + Send + Sync + 'static) -> SeenRuns {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    let last = Mutex::new((0u64, 0u64, 0u64));
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        let caps = pad
            .current_caps()
            .and_then(|c| c.features(0).map(|f| f.to_string()))
            .unwrap_or_else(|| "no caps".into());
        let memory = if buffer.n_memory() == 0 {
            "no memory".to_string()
        } else {
            let mem = buffer.peek_memory(0);
            let alloc = mem
                .allocator()
                .map(|a| a.name().to_string())
                .unwrap_or_else(|| "no allocator".into());
            let kind = if cudamem::is_cuda_memory(mem) {
                "CUDA memory"
            } else {
                "not CUDA memory"
            };
            format!("{kind} ({alloc}, {} memories)", buffer.n_memory())
        };
        let now = counts();
        let mut last = last.lock().unwrap();
        let branch = if now.0 > last.0 {
            "CUDA, drawn in place"
        } else if now.1 > last.1 {
            "CUDA, drawn through staging copies"
        } else if now.2 > last.2 {
            "error: passed on undrawn (see the bus warnings)"
        } else if caps.contains("memory:CUDAMemory") {
            "CUDA caps, but neither CUDA path counted it (undrawn: see the bus warnings)"
        } else if caps.contains("memory:NVMM") {
            "NVMM"
        } else {
            "system memory: host (CPU renderer), or undrawn"
        };
        *last = now;
        let seen = Seen {
            caps,
            memory,
            branch,
        };
        let mut runs = sink.lock().unwrap();
        match runs.last_mut() {
            Some((s, n)) if *s == seen => *n += 1,
            _ => runs.push((seen, 1)),
        }
        gst::PadProbeReturn::Ok
    });
    out
}

/// Prints the observed buffers, a run of equal ones as one line.
fn report_seen(test: &str, what: &str, seen: &[(Seen, u64)]) {
    let mut i = 0;
    for (s, n) in seen {
        report(&format!(
            "{test}: {what}: buffers {i}-{}: caps {}, {}: {}",
            i + n - 1,
            s.caps,
            s.memory,
            s.branch
        ));
        i += n;
    }
    if seen.is_empty() {
        report(&format!("{test}: {what}: no buffer reached the drawing"));
    }
}

/// Prints what the run posted on the bus (error, warnings).
fn report_bus(test: &str, what: &str, res: &RunResult) {
    if let Some(e) = &res.error {
        report(&format!("{test}: {what}: bus error: {e}"));
    }
    for w in &res.warnings {
        report(&format!("{test}: {what}: bus warning: {w}"));
    }
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

/// Buffers per pipeline run of the reference tests (every one is drawn: the element
/// and probe scenes always hold an overlay).
const BUFFERS: u64 = 10;

/// How the buffers of CUDA memory must have been drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Not CUDA memory: neither counter moves.
    NotCuda,
    /// Every buffer in place, none through copies.
    ZeroCopy,
    /// Every buffer through staging copies.
    Copies,
    /// Every buffer one way or the other (the path is printed, not asserted).
    Either,
}

/// Checks the (in place, copied) counts of one run against `expect`, with a message
/// that says what went wrong and where to look.
fn check_path(
    test: &str,
    what: &str,
    expect: Expect,
    (in_place, copies): (u64, u64),
    seen: &[(Seen, u64)],
) {
    if expect != Expect::NotCuda {
        report(&format!(
            "{test}: {what}: {in_place} buffer(s) of CUDA memory drawn in place, {copies} through copies"
        ));
    }
    let ok = match expect {
        Expect::NotCuda => (in_place, copies) == (0, 0),
        Expect::ZeroCopy => (in_place, copies) == (BUFFERS, 0),
        Expect::Copies => (in_place, copies) == (0, BUFFERS),
        Expect::Either => in_place + copies == BUFFERS,
    };
    let not_cuda = seen
        .iter()
        .filter(|(s, _)| !s.caps.contains("memory:CUDAMemory"))
        .map(|(_, n)| n)
        .sum::<u64>();
    let hint = match expect {
        Expect::ZeroCopy | Expect::Copies | Expect::Either if not_cuda > 0 => {
            "buffers were not CUDA memory where drawn (see the caps printed above): the \
             stream negotiated other memory (cudaupload passes system memory through unless \
             a video/x-raw(memory:CUDAMemory) capsfilter follows it)"
        }
        Expect::ZeroCopy if copies > 0 => {
            "the CUDA memory was not allocated in cudadraw's CUDA context, so context sharing \
             (GST_QUERY_CONTEXT / set_context, type gst.cuda.context) did not take; rerun with \
             GST_DEBUG=cudadraw:6,cudautils:6,cudacontext:6,GST_CONTEXT:6 to see who created \
             which context"
        }
        Expect::Copies if in_place > 0 => {
            "the pipeline was given a foreign CUDA context, yet some memory was in cudadraw's"
        }
        _ => "buffers were left undrawn or drawn by another path",
    };
    assert!(
        ok,
        "{test}: {what}: expected {expect:?} for {BUFFERS} buffers, got {in_place} in place and \
         {copies} through copies: {hint}"
    );
}

/// `videotestsrc ! <up> ! identity name=det ! cudadraw ! <down> ! fakesink`, frames
/// compared with the system-memory references; `setup` runs on the pipeline before it
/// starts; `expect` says how CUDA memory must have been drawn.
fn element_through(
    test: &str,
    format: &str,
    (up, down): (&str, &str),
    setup: impl FnOnce(&gstreamer::Pipeline),
    expect: Expect,
) {
    init();
    let launch = format!(
        "videotestsrc pattern=smpte75 horizontal-speed=5 num-buffers={BUFFERS} \
         ! video/x-raw,format={format},width={W},height={H},framerate=30/1 ! {up} \
         ! identity name=det ! cudadraw name=draw {} ! {down} ! video/x-raw,format={format} ! fakesink name=sink",
        element_props()
    );
    let p = pipeline(&launch);
    setup(&p);
    attach_detector(&by_name(&p, "det").static_pad("src").unwrap(), W, H);
    let draw = by_name(&p, "draw");
    let seen = {
        let d = draw.clone();
        observe(&draw.static_pad("src").unwrap(), move || {
            (
                d.property::<u64>("cuda-in-place"),
                d.property::<u64>("cuda-copies"),
                0,
            )
        })
    };
    let frames = capture(&by_name(&p, "sink").static_pad("sink").unwrap(), FRAMES);
    let syncs = cudadraw::gst::cudamem::context_synchronizations();
    let res = run(&p);
    let syncs = cudadraw::gst::cudamem::context_synchronizations() - syncs;
    let what = format!("element, {up}, {format}");
    report(&format!(
        "{test}: {what}: {syncs} context-wide synchronisation(s)"
    ));
    if expect == Expect::ZeroCopy {
        // Drawn in place, the renderer's stream is ordered after the upload by an
        // event: no cuCtxSynchronize draining every other user of the context.
        assert_eq!(
            syncs, 0,
            "{test}: {what}: in-place buffers synchronised the context"
        );
    }
    report_seen(test, &what, &seen.lock().unwrap());
    report_bus(test, &what, &res);
    assert!(
        res.error.is_none(),
        "{test}: {up}, {format}: {:?}",
        res.error
    );
    assert!(
        res.warnings_from("draw").is_empty(),
        "{test}: {up}, {format}: {:?}",
        res.warnings
    );
    let frames = frames.lock().unwrap();
    assert_eq!(frames.len(), FRAMES.len(), "{test}: {up}, {format}");
    for c in frames.iter() {
        check_reference(&format!("element_f{}", c.index), c);
    }
    // The counters outlive the run (they are reset when the element starts).
    let counts = (
        draw.property::<u64>("cuda-in-place"),
        draw.property::<u64>("cuda-copies"),
    );
    check_path(test, &what, expect, counts, &seen.lock().unwrap());
}

/// A `GstContext` carrying a CUDA context GStreamer creates itself on GPU 0
/// (`gst_cuda_context_new`, `cuCtxCreate`): not cudadraw's, so CUDA memory allocated
/// in it can only be drawn through copies.
fn foreign_cuda_context() -> gstreamer::Context {
    type Obj = *mut gstreamer::ffi::GstObject;
    // SAFETY: libgstcuda's 1.22 API with its C signatures; the library stays loaded
    // for the rest of the process (it is GStreamer's, already loaded by cudaupload).
    unsafe {
        let lib = Box::leak(Box::new(
            libloading::Library::new("libgstcuda-1.0.so.0").expect("libgstcuda-1.0.so.0"),
        ));
        let load: libloading::Symbol<unsafe extern "C" fn() -> i32> = lib
            .get(b"gst_cuda_load_library\0")
            .expect("gst_cuda_load_library");
        let new: libloading::Symbol<unsafe extern "C" fn(u32) -> Obj> = lib
            .get(b"gst_cuda_context_new\0")
            .expect("gst_cuda_context_new");
        let wrap: libloading::Symbol<unsafe extern "C" fn(Obj) -> *mut gstreamer::ffi::GstContext> =
            lib.get(b"gst_context_new_cuda_context\0")
                .expect("gst_context_new_cuda_context");
        assert!(load() != 0, "gst_cuda_load_library failed");
        let ctx = new(0);
        assert!(!ctx.is_null(), "gst_cuda_context_new(0) failed");
        let context = wrap(ctx);
        // The GstContext holds its own reference.
        gstreamer::ffi::gst_object_unref(ctx as *mut _);
        assert!(!context.is_null(), "gst_context_new_cuda_context failed");
        gstreamer::Context::from_glib_full(context)
    }
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_element_cuda_memory_matches_cpu_reference() {
    let t = "gpu_element_cuda_memory_matches_cpu_reference";
    if let Some(_g) = gpu(t)
        && elements(t, &["cudaupload", "cudadownload"])
    {
        let cuda = (CUDA_UP, "cudadownload");
        // The element offers its context to cudaupload and cudadownload: zero-copy.
        element_through(t, "RGBA", cuda, |_| {}, Expect::ZeroCopy);
        element_through(t, "BGRx", cuda, |_| {}, Expect::ZeroCopy);
        // The application imposes a context of GStreamer's own: the element leaves it
        // be, and draws the same pictures through copies.
        let foreign = foreign_cuda_context();
        element_through(t, "RGBA", cuda, |p| p.set_context(&foreign), Expect::Copies);
        // And one of ours set by the application is used as such.
        element_through(
            t,
            "RGBA",
            cuda,
            |p| cudacontext::share_context(p, 0).expect("share_context"),
            Expect::ZeroCopy,
        );
    }
}

/// The bytes of every buffer leaving the element in
/// `videotestsrc ! <format> ! <up> ! identity name=det ! cudadraw ! <down> ! fakesink`,
/// and its (in place, through copies) counters; `setup` runs on the pipeline before it
/// starts.
fn planar_through(
    test: &str,
    format: &str,
    (up, down): (&str, &str),
    setup: impl FnOnce(&gstreamer::Pipeline),
) -> (Vec<Vec<u8>>, (u64, u64)) {
    init();
    let launch = format!(
        "videotestsrc pattern=smpte75 horizontal-speed=5 num-buffers={BUFFERS} \
         ! video/x-raw,format={format},width={W},height={H},framerate=30/1,colorimetry=bt709 \
         ! {up} ! identity name=det ! cudadraw name=draw {} ! {down} \
         ! video/x-raw,format={format} ! fakesink name=sink",
        element_props()
    );
    let p = pipeline(&launch);
    setup(&p);
    attach_detector(&by_name(&p, "det").static_pad("src").unwrap(), W, H);
    let bytes = sink_bytes(&p, "sink");
    let res = run(&p);
    let what = format!("element, {up}, {format}");
    report_bus(test, &what, &res);
    assert!(res.error.is_none(), "{test}: {what}: {:?}", res.error);
    let draw = by_name(&p, "draw");
    assert!(
        res.warnings_from("draw").is_empty(),
        "{test}: {what}: {:?}",
        res.warnings
    );
    let counts = (
        draw.property::<u64>("cuda-in-place"),
        draw.property::<u64>("cuda-copies"),
    );
    let out = bytes.lock().unwrap().clone();
    (out, counts)
}

/// NV12 and I420 in upstream CUDA memory (`cudaupload ! cudadraw ! cudadownload`, no
/// converter): every buffer drawn in place on the GPU, byte for byte what the element
/// draws on the same stream in system memory (the CPU renderer); and through staging
/// copies when the pipeline is given a CUDA context of GStreamer's own.
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_element_planar_cuda_memory_matches_system_memory() {
    let t = "gpu_element_planar_cuda_memory_matches_system_memory";
    if let Some(_g) = gpu(t)
        && elements(t, &["cudaupload", "cudadownload"])
    {
        for format in ["NV12", "I420"] {
            let (want, none) = planar_through(t, format, ("queue", "queue"), |_| {});
            assert_eq!(
                none,
                (0, 0),
                "{t}: {format} in system memory took a CUDA path"
            );
            assert_eq!(want.len() as u64, BUFFERS, "{t}: {format}: buffers");
            let (got, counts) = planar_through(t, format, (CUDA_UP, "cudadownload"), |_| {});
            report(&format!(
                "{t}: {format}: {} buffer(s) of CUDA memory drawn in place, {} through copies",
                counts.0, counts.1
            ));
            assert_eq!(
                counts,
                (BUFFERS, 0),
                "{t}: {format}: not every buffer drawn in place"
            );
            assert_eq!(got.len(), want.len(), "{t}: {format}: buffers");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    g == w,
                    "{t}: {format}: buffer {i} differs from the CPU renderer's"
                );
            }
        }
        // A context of GStreamer's own: the same bytes through staging copies.
        let (want, _) = planar_through(t, "NV12", ("queue", "queue"), |_| {});
        let foreign = foreign_cuda_context();
        let cuda = (CUDA_UP, "cudadownload");
        let (got, counts) = planar_through(t, "NV12", cuda, |p| p.set_context(&foreign));
        assert_eq!(
            counts,
            (0, BUFFERS),
            "{t}: NV12, foreign context: not through copies"
        );
        assert!(
            got == want,
            "{t}: NV12, foreign context: bytes differ from the CPU renderer's"
        );
    }
}

#[cfg(feature = "synthetic-nvmm")]
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_element_nvmm_matches_cpu_reference() {
    let t = "gpu_element_nvmm_matches_cpu_reference";
    if let Some(_g) = gpu(t) {
        for mem in ["device", "pinned", "unified"] {
            for abi in ["ds4to7", "ds8"] {
                let up = format!("nvmmsynthupload memory-type={mem} abi={abi}");
                let down = format!("nvmmsynthdownload abi={abi}");
                element_through(t, "RGBA", (&up, &down), |_| {}, Expect::NotCuda);
            }
        }
        element_through(
            t,
            "BGRx",
            ("nvmmsynthupload", "nvmmsynthdownload"),
            |_| {},
            Expect::NotCuda,
        );
    }
}

/// The probe scene of `pipeline_system.rs::probe_matches_reference`, on `up`/`down`;
/// with `share`, the pipeline is given cudadraw's CUDA context first.
fn probe_through(test: &str, up: &str, down: &str, share: bool, expect: Expect) {
    init();
    let launch = format!(
        "videotestsrc pattern=smpte75 horizontal-speed=3 num-buffers={BUFFERS} \
         ! video/x-raw,format=RGBA,width={W},height={H},framerate=30/1 ! {up} ! identity name=draw \
         ! {down} ! video/x-raw,format=RGBA ! fakesink name=sink"
    );
    let p = pipeline(&launch);
    if share {
        cudacontext::share_context(&p, 0)
            .unwrap_or_else(|e| panic!("{test}: share_context failed on a GPU host: {e}"));
    }
    let mut images = ImageStore::new();
    let logo = images.add(cudadraw::gst::load_png(&logo_path()).unwrap());
    let stats = DrawStats::new();
    let opts = ProbeOptions {
        images,
        stats: Some(stats.clone()),
        ..Default::default()
    };
    let pad = by_name(&p, "draw").static_pad("src").unwrap();
    probe::attach_with(&pad, opts, move |_buffer, frames, lists| {
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
    let seen = {
        let s = stats.clone();
        observe(&pad.peer().unwrap(), move || {
            (s.cuda_in_place(), s.cuda_copies(), s.errors())
        })
    };
    let frames = capture(&by_name(&p, "sink").static_pad("sink").unwrap(), FRAMES);
    let res = run(&p);
    let what = format!("probe, {up}, share_context: {share}");
    report_seen(test, &what, &seen.lock().unwrap());
    report_bus(test, &what, &res);
    assert!(res.error.is_none(), "{test}: {:?}", res.error);
    assert!(res.warnings.is_empty(), "{test}: {:?}", res.warnings);
    assert_eq!(
        (stats.drawn(), stats.errors()),
        (BUFFERS, 0),
        "{test}: {up}"
    );
    for c in frames.lock().unwrap().iter() {
        check_reference(&format!("probe_f{}", c.index), c);
    }
    check_path(
        test,
        &what,
        expect,
        (stats.cuda_in_place(), stats.cuda_copies()),
        &seen.lock().unwrap(),
    );
}

#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_probe_cuda_memory_matches_cpu_reference() {
    let t = "gpu_probe_cuda_memory_matches_cpu_reference";
    if let Some(_g) = gpu(t)
        && elements(t, &["cudaupload", "cudadownload"])
    {
        // Shared context: zero-copy.
        probe_through(t, CUDA_UP, "cudadownload", true, Expect::ZeroCopy);
        // Without it GStreamer 1.22 allocates in a context of its own: copies, same
        // pictures (newer GStreamer may choose differently, hence Either).
        probe_through(t, CUDA_UP, "cudadownload", false, Expect::Either);
    }
}

#[cfg(feature = "synthetic-nvmm")]
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_probe_nvmm_matches_cpu_reference() {
    let t = "gpu_probe_nvmm_matches_cpu_reference";
    if let Some(_g) = gpu(t) {
        probe_through(
            t,
            "nvmmsynthupload",
            "nvmmsynthdownload",
            false,
            Expect::NotCuda,
        );
        probe_through(
            t,
            "nvmmsynthupload memory-type=unified abi=ds8",
            "nvmmsynthdownload abi=ds8",
            false,
            Expect::NotCuda,
        );
    }
}

/// Device memory in use on GPU 0 (total - free), bytes.
#[cfg(feature = "synthetic-nvmm")]
fn device_used(ctx: &cudarc::driver::CudaContext) -> u64 {
    if ctx.bind_to_thread().is_err() {
        return 0;
    }
    cudarc::driver::result::mem_get_info()
        .map(|(free, total)| (total - free) as u64)
        .unwrap_or(0)
}

/// Runs `n` buffers of `w` x `h` through `up ! identity(probe) ! fakesink` with
/// `boxes` outlined boxes per frame (with `share`, the pipeline is given cudadraw's
/// CUDA context first); returns the stats and (buffer, rss, device) samples. The
/// buffers seen, the branches taken and the bus messages are printed, under `test`.
#[cfg(feature = "synthetic-nvmm")]
fn probe_run(
    test: &str,
    up: &str,
    n: u64,
    (w, h): (u32, u32),
    boxes: u32,
    sample: bool,
    share: bool,
) -> (Arc<DrawStats>, Vec<(u64, u64, u64)>, std::time::Duration) {
    init();
    let p = pipeline(&format!(
        "videotestsrc num-buffers={n} pattern=black ! video/x-raw,format=RGBA,width={w},height={h},framerate=1000/1 \
         ! {up} ! identity name=draw ! fakesink sync=false"
    ));
    if share {
        cudacontext::share_context(&p, 0)
            .unwrap_or_else(|e| panic!("share_context failed on a GPU host: {e}"));
    }
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
    let pad = by_name(&p, "draw").static_pad("src").unwrap();
    probe::attach_with(&pad, opts, move |_buffer, _, lists| {
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
    })
    .unwrap();
    let seen = {
        let s = stats.clone();
        observe(&pad.peer().unwrap(), move || {
            (s.cuda_in_place(), s.cuda_copies(), s.errors())
        })
    };
    let t0 = std::time::Instant::now();
    let res = run(&p);
    let took = t0.elapsed();
    let what = format!("probe run, {up}, {w}x{h}, share_context: {share}");
    report_seen(test, &what, &seen.lock().unwrap());
    report_bus(test, &what, &res);
    assert!(res.error.is_none(), "{test}: {:?}", res.error);
    assert!(res.warnings.is_empty(), "{test}: {:?}", res.warnings);
    let samples = samples.lock().unwrap().clone();
    (stats, samples, took)
}

#[cfg(feature = "synthetic-nvmm")]
#[test]
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_soak_probe_nvmm_host_and_device_memory_flat() {
    let t = "gpu_soak_probe_nvmm_host_and_device_memory_flat";
    let Some(_g) = gpu(t) else {
        return;
    };
    let n: u64 = std::env::var("CUDADRAW_SOAK_BUFFERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (stats, samples, took) = probe_run(t, "nvmmsynthupload", n, (320, 240), 20, true, false);
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
#[ignore = "needs a CUDA device: run with --include-ignored on a GPU host (bundle/run.sh)"]
fn gpu_probe_time_per_1080p_buffer_with_100_boxes() {
    let t = "gpu_probe_time_per_1080p_buffer_with_100_boxes";
    let Some(_g) = gpu(t) else {
        return;
    };
    let (stats, _, _) = probe_run(t, "nvmmsynthupload", 300, (1920, 1080), 100, false, false);
    let median = stats.median().unwrap();
    report(&format!(
        "probe time per 1080p NVMM buffer with 100 boxes (map + callback + render + sync): median {:.1} us (target < 50 us: {})",
        median.as_secs_f64() * 1e6,
        if median.as_micros() < 50 {
            "met"
        } else {
            "MISSED"
        }
    ));
    if elements(t, &["cudaupload"]) {
        // Zero-copy (the pipeline shares cudadraw's context), then the copy path
        // GStreamer's own context forces, for comparison.
        for share in [true, false] {
            let (stats, _, _) = probe_run(t, CUDA_UP, 300, (1920, 1080), 100, false, share);
            let (in_place, copies) = (stats.cuda_in_place(), stats.cuda_copies());
            report(&format!(
                "probe time per 1080p CUDAMemory buffer with 100 boxes, {}: median {:.1} us \
                 ({in_place} buffers in place, {copies} through copies)",
                if share {
                    "context shared (share_context)"
                } else {
                    "GStreamer's own context"
                },
                stats.median().unwrap().as_secs_f64() * 1e6
            ));
            if share {
                assert_eq!(
                    (in_place, copies),
                    (300, 0),
                    "{t}: with share_context every CUDAMemory buffer must be drawn in place"
                );
            }
        }
    }
    // A sanity bound only; the figure itself is the report.
    assert!(median.as_millis() < 5, "probe takes {median:?} per buffer");
}
