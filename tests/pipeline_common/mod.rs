//! Shared helpers of the pipeline tests: running a pipeline to EOS, synthetic ROI
//! detections, capturing frames and comparing them with reference PNGs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

/// Registers the crate's elements (statically) and initialises GStreamer.
pub fn init() {
    cudadraw::gst::register().expect("register cudadraw elements");
    #[cfg(feature = "synthetic-nvmm")]
    cudadraw::gst::register_synthetic().expect("register the synthetic NVMM elements");
}

/// A detection of the synthetic "detector": ROI type and rectangle.
pub type Det = (&'static str, u32, u32, u32, u32);

/// Deterministic moving detections for frame `n` of a `w` x `h` stream: a person
/// walking right, a face bobbing, a car driving left and its plate.
pub fn detections(n: u64, w: u32, h: u32) -> Vec<Det> {
    let n = n as u32;
    let person_x = (10 + n * 7) % w.saturating_sub(60).max(1);
    let face_y = 20 + ((n * 5) % 40);
    let car_x = w.saturating_sub(130 + (n * 9) % w.saturating_sub(130).max(1));
    vec![
        ("person", person_x, h / 3, 56, h / 2),
        ("face", person_x + 14, face_y + h / 3 - 16, 28, 30),
        ("car", car_x, h * 2 / 3 - 10, 120, h / 4),
        ("license-plate", car_x + 40, h * 2 / 3 + h / 4 - 30, 40, 14),
    ]
}

/// Adds [`detections`] as `GstVideoRegionOfInterestMeta`s to every buffer leaving
/// `pad`, numbering frames from 0.
pub fn attach_detector(pad: &gst::Pad, width: u32, height: u32) {
    let counter = Mutex::new(0u64);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(ref mut buffer)) = info.data {
            let mut n = counter.lock().unwrap();
            let buf = buffer.make_mut();
            for (ty, x, y, w, h) in detections(*n, width, height) {
                gst_video::VideoRegionOfInterestMeta::add(buf, ty, (x, y, w, h));
            }
            *n += 1;
        }
        gst::PadProbeReturn::Ok
    });
}

/// A frame captured at a sink, converted to RGBA (x bytes read as 255).
#[derive(Debug, Clone)]
pub struct Captured {
    pub index: u64,
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    /// The bytes exactly as they were in the buffer (plane 0, rows packed).
    pub raw: Vec<u8>,
}

/// The bytes of every buffer reaching the sink pad of element `name`, in order.
pub fn sink_bytes(p: &gst::Pipeline, name: &str) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    by_name(p, name).static_pad("sink").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            if let Some(b) = info.buffer() {
                o.lock().unwrap().push(b.map_readable().unwrap().to_vec());
            }
            gst::PadProbeReturn::Ok
        },
    );
    out
}

/// Captures frames `wanted` (by arrival order) of the buffers reaching `pad`.
pub fn capture(pad: &gst::Pad, wanted: &[u64]) -> Arc<Mutex<Vec<Captured>>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    let wanted = wanted.to_vec();
    let counter = Mutex::new(0u64);
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let mut n = counter.lock().unwrap();
        if wanted.contains(&n)
            && let Some(buffer) = info.buffer()
            && let Some(caps) = pad.current_caps()
        {
            sink.lock().unwrap().push(to_rgba(*n, buffer, &caps));
        }
        *n += 1;
        gst::PadProbeReturn::Ok
    });
    out
}

/// Converts a system-memory RGBA/BGRA/RGBx/BGRx buffer to packed RGBA.
pub fn to_rgba(index: u64, buffer: &gst::BufferRef, caps: &gst::CapsRef) -> Captured {
    let info = gst_video::VideoInfo::from_caps(caps).expect("video caps");
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).expect("map");
    let (w, h) = (info.width() as usize, info.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).expect("plane 0");
    let mut raw = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        raw.extend_from_slice(&data[y * stride..y * stride + w * 4]);
    }
    let fmt = info.format();
    let rgba = raw
        .chunks_exact(4)
        .flat_map(|p| match fmt {
            gst_video::VideoFormat::Rgba => [p[0], p[1], p[2], p[3]],
            gst_video::VideoFormat::Bgra => [p[2], p[1], p[0], p[3]],
            gst_video::VideoFormat::Rgbx => [p[0], p[1], p[2], 255],
            gst_video::VideoFormat::Bgrx => [p[2], p[1], p[0], 255],
            other => panic!("unexpected format {other:?}"),
        })
        .collect();
    Captured {
        index,
        width: w as u32,
        height: h as u32,
        rgba,
        raw,
    }
}

/// What a pipeline run posted on its bus.
#[derive(Debug, Default)]
pub struct RunResult {
    pub error: Option<String>,
    pub warnings: Vec<String>,
}

impl RunResult {
    pub fn warnings_from(&self, name_part: &str) -> Vec<&String> {
        self.warnings
            .iter()
            .filter(|w| w.contains(name_part))
            .collect()
    }
}

/// Plays `pipeline` to EOS or error (60 s at most), collecting warnings.
pub fn run(pipeline: &gst::Pipeline) -> RunResult {
    let bus = pipeline.bus().expect("bus");
    let mut res = RunResult::default();
    if let Err(e) = pipeline.set_state(gst::State::Playing) {
        res.error = Some(format!("set_state: {e}"));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while res.error.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            res.error = Some("timeout".into());
            break;
        }
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64))
        else {
            continue;
        };
        let src = msg
            .src()
            .map(|s| s.path_string().to_string())
            .unwrap_or_default();
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                res.error = Some(format!("{src}: {} ({:?})", e.error(), e.debug()));
            }
            gst::MessageView::Warning(w) => {
                res.warnings
                    .push(format!("{src}: {} ({:?})", w.error(), w.debug()));
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).expect("to NULL");
    res
}

/// Parses a launch line into a pipeline.
pub fn pipeline(launch: &str) -> gst::Pipeline {
    gst::parse::launch(launch)
        .unwrap_or_else(|e| panic!("parse '{launch}': {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

pub fn by_name(p: &gst::Pipeline, name: &str) -> gst::Element {
    p.by_name(name)
        .unwrap_or_else(|| panic!("no element {name}"))
}

/// Crate root (for assets and references).
#[allow(unused_imports)] // each test crate uses a different subset
pub use super::common::{require_gpu, root};

pub fn logo_path() -> PathBuf {
    root().join("assets/logo.png")
}

/// Compares a captured frame with `tests/reference/pipeline/<name>.png` exactly (or
/// writes it when `CUDADRAW_BLESS=1`), through [`super::common::compare_with_reference`]:
/// on mismatch expected / actual / diff PNGs land in `tests/output/pipeline/`.
pub fn check_reference(name: &str, c: &Captured) {
    if let Err(e) = super::common::compare_with_reference(
        &format!("pipeline/{name}"),
        "cpu",
        c.width,
        c.height,
        &c.rgba,
    ) {
        panic!("frame {}: {e}", c.index);
    }
}

/// Writes RGBA pixels as a PNG (panics on failure: test setup).
pub fn write_png(path: &Path, w: u32, h: u32, rgba: &[u8]) {
    super::common::save_png(path, w, h, rgba).unwrap();
}

pub fn read_png(path: &Path) -> Result<(u32, u32, Vec<u8>), String> {
    super::common::load_png(path)
}

/// Resident set size of this process, bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
