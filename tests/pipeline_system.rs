//! Pipelines on system memory: the `cudadraw` element and the probe API against
//! reference PNGs, caps refusal, and buffers that must pass through with a warning.

mod common;
mod pipeline_common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cudadraw::gst::probe::{self, DrawStats, FrameMeta, ProbeOptions};
use cudadraw::{BlurKind, Border, Color, DrawList, ImageStore, Rect};
use gstreamer as gst;
use gstreamer::prelude::*;
use pipeline_common::*;

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: &[u64] = &[0, 9];

fn element_launch(format: &str, props: &str) -> String {
    format!(
        "videotestsrc pattern=smpte75 horizontal-speed=5 num-buffers=10 ! video/x-raw,format={format},width={W},height={H},framerate=30/1 \
         ! identity name=det ! cudadraw name=draw {props} ! fakesink name=sink"
    )
}

fn element_props() -> String {
    format!(
        "outline-width=3 class-colors=person=0xffff3030,car=0xff3080ff fill-color=0x30ffffff \
         blur-types=face,license-plate blur-kind=pixelate blur-strength=6 expand=2 \
         overlay-location={} overlay-x=-8 overlay-y=8 overlay-width=48 overlay-height=48 overlay-opacity=0.9",
        logo_path().display()
    )
}

/// Runs the element pipeline and returns the captured frames.
fn run_element(format: &str, props: &str) -> (Vec<Captured>, RunResult) {
    init();
    let p = pipeline(&element_launch(format, props));
    attach_detector(&by_name(&p, "det").static_pad("src").unwrap(), W, H);
    let frames = capture(&by_name(&p, "sink").static_pad("sink").unwrap(), FRAMES);
    let res = run(&p);
    let mut frames = frames.lock().unwrap().clone();
    frames.sort_by_key(|c| c.index);
    (frames, res)
}

#[test]
fn element_rgba_matches_reference() {
    let (frames, res) = run_element("RGBA", &element_props());
    assert!(res.error.is_none(), "{:?}", res.error);
    assert!(
        res.warnings.is_empty(),
        "unexpected warnings {:?}",
        res.warnings
    );
    assert_eq!(frames.len(), FRAMES.len());
    for c in &frames {
        check_reference(&format!("element_f{}", c.index), c);
    }
}

#[test]
fn element_bgrx_equals_rgba_reference() {
    // Same drawing on a BGRx stream: after byte-order conversion, the very same
    // pixels (the source is opaque, so RGBA's blended alpha stays 255).
    let (frames, res) = run_element("BGRx", &element_props());
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(frames.len(), FRAMES.len());
    for c in &frames {
        check_reference(&format!("element_f{}", c.index), c);
    }
}

#[test]
fn element_redaction_and_gaussian_settings() {
    let props = "outline-width=6 outline-align=center outline-color=0xffffff00 \
                 blur-types=face blur-kind=solid redact-color=0xff202020 class-colors=car=0x80ff00ff";
    let (frames, res) = run_element("RGBA", props);
    assert!(res.error.is_none(), "{:?}", res.error);
    for c in &frames {
        check_reference(&format!("element_solid_f{}", c.index), c);
    }
    let props = "outline-width=0 fill-color=0x6000ff00 blur-types=person,car blur-kind=gaussian blur-strength=3";
    let (frames, res) = run_element("BGRA", props);
    assert!(res.error.is_none(), "{:?}", res.error);
    for c in &frames {
        check_reference(&format!("element_gauss_f{}", c.index), c);
    }
}

#[test]
fn element_without_rois_changes_nothing() {
    init();
    let launch = format!(
        "videotestsrc pattern=ball num-buffers=3 ! video/x-raw,format=RGBA,width={W},height={H} \
         ! tee name=t ! queue ! cudadraw outline-width=9 ! fakesink name=a \
         t. ! queue ! fakesink name=b"
    );
    let p = pipeline(&launch);
    let a = capture(&by_name(&p, "a").static_pad("sink").unwrap(), &[0, 1, 2]);
    let b = capture(&by_name(&p, "b").static_pad("sink").unwrap(), &[0, 1, 2]);
    let res = run(&p);
    assert!(res.error.is_none(), "{:?}", res.error);
    let (a, b) = (a.lock().unwrap(), b.lock().unwrap());
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(b.iter()) {
        assert_eq!(x.raw, y.raw);
    }
}

/// The probe draws its own scene: boxes, a box blur and the logo.
fn probe_scene(frames: &[FrameMeta], lists: &mut [DrawList], logo: cudadraw::ImageId) {
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
}

#[test]
fn probe_matches_reference() {
    init();
    let launch = format!(
        "videotestsrc pattern=smpte75 horizontal-speed=3 num-buffers=10 \
         ! video/x-raw,format=RGBA,width={W},height={H},framerate=30/1 ! identity name=draw ! fakesink name=sink"
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
    probe::attach_with(&pad, opts, move |_buffer, frames, lists| {
        probe_scene(frames, lists, logo)
    })
    .expect("probe attached");
    let frames = capture(&by_name(&p, "sink").static_pad("sink").unwrap(), FRAMES);
    let res = run(&p);
    assert!(res.error.is_none(), "{:?}", res.error);
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
    assert_eq!(stats.buffers(), 10);
    assert_eq!(stats.drawn(), 10);
    assert_eq!(stats.errors(), 0);
    assert!(stats.median().is_some());
    let frames = frames.lock().unwrap();
    assert_eq!(frames.len(), FRAMES.len());
    for c in frames.iter() {
        check_reference(&format!("probe_f{}", c.index), c);
    }
}

#[test]
fn probe_sees_frame_meta() {
    init();
    let p = pipeline(
        "videotestsrc num-buffers=3 ! video/x-raw,format=BGRx,width=64,height=48,framerate=10/1 \
         ! identity name=draw ! fakesink",
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    probe::attach(
        &by_name(&p, "draw").static_pad("sink").unwrap(),
        move |_buffer, frames, lists| {
            assert_eq!(frames.len(), lists.len());
            s.lock().unwrap().extend_from_slice(frames);
        },
    );
    let res = run(&p);
    assert!(res.error.is_none(), "{:?}", res.error);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for (i, f) in seen.iter().enumerate() {
        assert_eq!((f.index, f.width, f.height), (0, 64, 48));
        assert_eq!(f.pts, Some(gst::ClockTime::from_mseconds(100 * i as u64)));
    }
}

#[test]
fn caps_yuy2_refused_with_clear_message() {
    init();
    // NV12 and I420 link without a converter...
    for f in ["NV12", "I420"] {
        let launch = format!(
            "videotestsrc ! video/x-raw,format={f},width=64,height=48 ! cudadraw ! fakesink"
        );
        assert!(gst::parse::launch(&launch).is_ok(), "{f} must link");
    }
    // ...gst-launch refuses to even link a caps string cudadraw cannot take...
    let launch = "videotestsrc ! video/x-raw,format=YUY2,width=64,height=48 ! cudadraw ! fakesink";
    let err = gst::parse::launch(launch).expect_err("YUY2 caps must not link");
    assert!(err.to_string().contains("YUY2"), "{err}");
    // ...and linked without that check, negotiation fails with our message on the bus.
    let p = gst::Pipeline::new();
    let src = gst::ElementFactory::make("videotestsrc")
        .property("num-buffers", 2i32)
        .build()
        .unwrap();
    let caps = gst::Caps::builder("video/x-raw")
        .field("format", "YUY2")
        .field("width", 64i32)
        .field("height", 48i32)
        .build();
    let filter = gst::ElementFactory::make("capsfilter")
        .property("caps", caps)
        .build()
        .unwrap();
    let draw = gst::ElementFactory::make("cudadraw")
        .name("draw")
        .build()
        .unwrap();
    let sink = gst::ElementFactory::make("fakesink").build().unwrap();
    p.add_many([&src, &filter, &draw, &sink]).unwrap();
    src.link(&filter).unwrap();
    filter
        .static_pad("src")
        .unwrap()
        .link_full(
            &draw.static_pad("sink").unwrap(),
            gst::PadLinkCheck::empty(),
        )
        .unwrap();
    draw.static_pad("src")
        .unwrap()
        .link_full(
            &sink.static_pad("sink").unwrap(),
            gst::PadLinkCheck::empty(),
        )
        .unwrap();
    let res = run(&p);
    let err = res.error.clone().expect("negotiation must fail");
    assert!(err.to_lowercase().contains("negotiat"), "{err}");
    eprintln!("bus: {err}\n{:#?}", res.warnings);
    let ours = res.warnings_from("draw");
    assert!(
        ours.iter()
            .any(|w| w.contains("YUY2") && w.contains("RGBA")),
        "no clear cudadraw message: {:?}",
        res.warnings
    );
}

/// Pushes `buffers` through `appsrc caps=CAPS ! <middle> ! fakesink` and returns what
/// reached the sink plus the bus messages.
fn push_through(caps: &str, middle: &str, buffers: Vec<gst::Buffer>) -> (Vec<Vec<u8>>, RunResult) {
    init();
    let launch =
        format!("appsrc name=src format=time caps=\"{caps}\" ! {middle} ! fakesink name=sink");
    let p = pipeline(&launch);
    let out = sink_bytes(&p, "sink");
    let src = by_name(&p, "src");
    p.set_state(gst::State::Playing).unwrap();
    for (i, mut b) in buffers.into_iter().enumerate() {
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(40 * i as u64));
            gstreamer_video::VideoRegionOfInterestMeta::add(b, "person", (1, 1, 10, 10));
        }
        let _ = src.emit_by_name::<gst::FlowReturn>("push-buffer", &[&b]);
    }
    let _ = src.emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
    let res = run(&p);
    let out = out.lock().unwrap().clone();
    (out, res)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Pushes `copies` buffers of `data` through `cudadraw` under `caps`, checks the
/// pipeline ran without error and every buffer came out unchanged, and returns the
/// element's warnings.
fn pass_through_warnings(caps: &str, data: &[u8], copies: usize) -> Vec<String> {
    let bufs = (0..copies)
        .map(|_| gst::Buffer::from_slice(data.to_vec()))
        .collect();
    let (out, res) = push_through(caps, "cudadraw name=draw", bufs);
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(out, vec![data.to_vec(); copies]);
    let w = res.warnings_from("draw");
    assert_eq!(w.len(), copies, "{:?}", res.warnings);
    w.into_iter().cloned().collect()
}

#[test]
fn element_cuda_caps_with_system_memory_pass_through_with_warning() {
    init();
    let caps = "video/x-raw(memory:CUDAMemory),format=RGBA,width=32,height=16,framerate=25/1";
    let w = pass_through_warnings(caps, &pattern(32 * 16 * 4), 2);
    assert!(w[0].contains("CUDAMemory"), "{}", w[0]);
}

#[test]
fn element_short_buffer_passes_through_with_warning() {
    init();
    let caps = "video/x-raw,format=RGBA,width=32,height=16,framerate=25/1";
    pass_through_warnings(caps, &pattern(100), 1);
}

#[test]
fn probe_bad_lists_and_panics_pass_through_with_warnings() {
    init();
    let caps = "video/x-raw,format=RGBA,width=32,height=16,framerate=25/1";
    let launch = format!(
        "appsrc name=src format=time caps=\"{caps}\" ! identity name=draw ! fakesink name=sink"
    );
    let p = pipeline(&launch);
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    let stats = DrawStats::new();
    let opts = ProbeOptions {
        stats: Some(stats.clone()),
        ..Default::default()
    };
    probe::attach_with(
        &by_name(&p, "draw").static_pad("src").unwrap(),
        opts,
        move |_buffer, _, lists| match c.fetch_add(1, Ordering::SeqCst) {
            0 => {
                lists[0].outline(
                    Rect::new(f32::NAN, 0.0, 4.0, 4.0),
                    Border::new(1, Color::RED),
                );
            }
            1 => panic!("closure bug"),
            _ => {
                lists[0].fill(Rect::new(0.0, 0.0, 2.0, 1.0), Color::rgb(1, 2, 3));
            }
        },
    )
    .unwrap();
    let out = sink_bytes(&p, "sink");
    let data = pattern(32 * 16 * 4);
    let src = by_name(&p, "src");
    p.set_state(gst::State::Playing).unwrap();
    for _ in 0..3 {
        let _ = src.emit_by_name::<gst::FlowReturn>(
            "push-buffer",
            &[&gst::Buffer::from_slice(data.clone())],
        );
    }
    let _ = src.emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
    let res = run(&p);
    assert!(res.error.is_none(), "{:?}", res.error);
    let out = out.lock().unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[0], data, "invalid list must leave the buffer untouched");
    assert_eq!(
        out[1], data,
        "panicking closure must leave the buffer untouched"
    );
    assert_eq!(&out[2][..8], &[1, 2, 3, 255, 1, 2, 3, 255]);
    assert_eq!(&out[2][8..], &data[8..]);
    let w = res.warnings_from("draw");
    assert_eq!(w.len(), 2, "{:?}", res.warnings);
    assert!(w[0].contains("frame 0, op 0"), "{}", w[0]);
    assert!(
        w[1].contains("panicked") && w[1].contains("closure bug"),
        "{}",
        w[1]
    );
    // The invalid op is left out (and the rest of its list would be drawn): buffer 0
    // counts as drawn with one skipped op; the panic is the one error.
    assert_eq!((stats.buffers(), stats.drawn(), stats.errors()), (3, 2, 1));
    assert_eq!(stats.skipped_ops(), 1);
}

#[test]
fn element_nvmm_caps_with_bad_descriptor_pass_through_with_warning() {
    // A buffer too short to hold an NvBufSurface descriptor.
    init();
    let caps = "video/x-raw(memory:NVMM),format=RGBA,width=32,height=16,framerate=25/1";
    let w = pass_through_warnings(caps, &pattern(16), 1);
    assert!(w[0].contains("NvBufSurface"), "{}", w[0]);
}

/// GStreamer CUDA context sharing: the element answers `gst.cuda.context` queries
/// (in any state, NULL included) exactly when it can offer its own context, which
/// needs libgstcuda, the CUDA driver and a device; other context types are not its to
/// answer. Without a device nothing fails: neighbours then make their own context and
/// CUDA memory is drawn through copies.
#[cfg(feature = "cuda")]
#[test]
fn cuda_context_query_answered_only_when_a_context_can_be_offered() {
    use cudadraw::gst::cudacontext::{self, OfferedContext, SharedContext};
    init();
    let available = SharedContext::for_gpu(0);
    let draw = gst::ElementFactory::make("cudadraw").build().unwrap();
    let src = draw.static_pad("src").unwrap();
    let mut q = gst::query::Context::new(cudacontext::CUDA_CONTEXT_TYPE);
    let answered = src.query(&mut q);
    assert_eq!(
        answered,
        available.is_ok(),
        "query answered: {answered}, own context: {:?}",
        available.as_ref().err()
    );
    if let Ok(ours) = &available {
        let context = q.context_owned().expect("answered query holds a context");
        assert_eq!(context.context_type(), cudacontext::CUDA_CONTEXT_TYPE);
        match cudacontext::classify_context(&context) {
            OfferedContext::Ours { object, gpu } => {
                assert_eq!(&object, ours.object());
                assert_eq!(gpu, 0);
            }
            other => panic!("the element offered {other:?}, not its own context"),
        }
    }
    let mut gl = gst::query::Context::new("gst.gl.GLDisplay");
    assert!(!src.query(&mut gl), "answered a GL context query");

    // Contexts of other types, or without a GstCudaContext, are not CUDA contexts.
    let other = gst::Context::new("gst.gl.GLDisplay", true);
    assert!(matches!(
        cudacontext::classify_context(&other),
        OfferedContext::NotCuda
    ));
    let empty = gst::Context::new(cudacontext::CUDA_CONTEXT_TYPE, true);
    assert!(matches!(
        cudacontext::classify_context(&empty),
        OfferedContext::NotCuda
    ));
    draw.set_context(&empty);

    // The probe helper fails cleanly where no context can be made.
    let p = gst::Pipeline::new();
    assert_eq!(cudacontext::share_context(&p, 0).is_ok(), available.is_ok());
    assert!(
        cudacontext::share_context(&p, 63).is_err(),
        "GPU 63 exists?"
    );

    // Nothing was drawn: the path counters read 0.
    assert_eq!(draw.property::<u64>("cuda-in-place"), 0);
    assert_eq!(draw.property::<u64>("cuda-copies"), 0);
}
