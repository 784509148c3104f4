//! The element and the probe under hostile input (system memory, CI): each test is the
//! regression test of one finding of the hostile-testing issue.

mod common;
mod pipeline_common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use cudadraw::gst::probe::{self, DrawStats, FailMode, ProbeOptions};
use cudadraw::{BlurKind, Color, Rect};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use pipeline_common::*;

const CAPS: &str = "video/x-raw,format=RGBA,width=32,height=16,framerate=25/1";

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cudadraw-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A tiny PNG: signature, an IHDR claiming `w` x `h` RGBA8 pixels, IDAT, IEND.
fn header_only_png(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (
            *b"IHDR",
            [&w.to_be_bytes()[..], &h.to_be_bytes(), &[8, 6, 0, 0, 0]].concat(),
        ),
        (*b"IDAT", vec![]),
        (*b"IEND", vec![]),
    ] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(&kind);
        out.extend_from_slice(&data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

/// Runs `appsrc ! cudadraw name=draw PROPS ! fakesink` with `buffers` (each given its
/// ROIs by `rois`) on a thread, so that a hang fails the test instead of the run.
/// One ROI: type, (x, y, w, h), optional param structure.
type Roi = (&'static str, (u32, u32, u32, u32), Option<gst::Structure>);

fn push(
    caps: &str,
    props: &str,
    buffers: Vec<(Vec<u8>, Vec<Roi>)>,
    setup: impl FnOnce(&gst::Pipeline) + Send + 'static,
) -> (Vec<Vec<u8>>, RunResult) {
    init();
    let launch = format!(
        "appsrc name=src format=time caps=\"{caps}\" ! cudadraw name=draw {props} ! fakesink name=sink"
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let p = pipeline(&launch);
        setup(&p);
        let out = sink_bytes(&p, "sink");
        let src = by_name(&p, "src");
        p.set_state(gst::State::Playing).unwrap();
        for (i, (data, rois)) in buffers.into_iter().enumerate() {
            let mut b = gst::Buffer::from_slice(data);
            {
                let b = b.get_mut().unwrap();
                b.set_pts(gst::ClockTime::from_mseconds(40 * i as u64));
                for (ty, rect, param) in rois {
                    let mut m = gst_video::VideoRegionOfInterestMeta::add(b, ty, rect);
                    if let Some(p) = param {
                        m.add_param(p);
                    }
                }
            }
            let _ = src.emit_by_name::<gst::FlowReturn>("push-buffer", &[&b]);
        }
        let _ = src.emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
        let res = run(&p);
        let out = out.lock().unwrap().clone();
        let _ = tx.send((out, res));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the pipeline hung (deadlock?)")
}

fn grey() -> Vec<u8> {
    vec![100; 32 * 16 * 4]
}

fn px(frame: &[u8], x: usize, y: usize) -> [u8; 4] {
    frame[(y * 32 + x) * 4..][..4].try_into().unwrap()
}

#[test]
fn huge_png_header_is_refused_without_aborting() {
    let dir = temp_dir("huge-png");
    let huge = dir.join("huge.png");
    std::fs::write(&huge, header_only_png(16384, 1 << 28)).unwrap();
    assert!(std::fs::metadata(&huge).unwrap().len() < 100, "a tiny file");
    let props = format!("overlay-location={}", huge.display());
    let (out, res) = push(CAPS, &props, vec![(grey(), vec![])], |_| {});
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(out, vec![grey()]);
    let w = res.warnings_from("draw");
    assert!(
        w.iter()
            .any(|w| w.contains("16384x268435456") && w.contains("not loaded")),
        "{:?}",
        res.warnings
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sync_handler_setting_a_fallback_overlay_does_not_deadlock() {
    let dir = temp_dir("fallback");
    let missing = dir.join("missing.png");
    let props = format!(
        "overlay-location={} overlay-width=8 overlay-height=8",
        missing.display()
    );
    let logo = logo_path();
    let bufs = (0..3).map(|_| (grey(), vec![])).collect();
    let swapped = Arc::new(AtomicU64::new(0));
    let s = swapped.clone();
    let (out, res) = push(CAPS, &props, bufs, move |p| {
        let draw = by_name(p, "draw");
        p.bus().unwrap().set_sync_handler(move |_, msg| {
            if let gst::MessageView::Warning(w) = msg.view()
                && w.error().to_string().contains("not loaded")
            {
                // A normal reaction: fall back to another image, on the streaming thread.
                draw.set_property("overlay-location", logo.to_str().unwrap());
                s.fetch_add(1, Ordering::SeqCst);
            }
            gst::BusSyncReply::Pass
        });
    });
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(swapped.load(Ordering::SeqCst), 1);
    assert_eq!(out.len(), 3);
    assert_ne!(
        out[2],
        grey(),
        "the fallback overlay is drawn on later buffers"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mislabelled_nvmm_buffer_passes_through_without_a_crash() {
    // 12288 bytes of "frame" whose first bytes say numFilled 1, surfaceList 0x10: was
    // parsed as a descriptor and dereferenced.
    let mut data = vec![0u8; 12288];
    data[4] = 1;
    data[8] = 1;
    data[24] = 0x10;
    let caps = "video/x-raw(memory:NVMM),format=RGBA,width=64,height=48,framerate=25/1";
    let (out, res) = push(
        caps,
        "",
        vec![(data.clone(), vec![("person", (1, 1, 8, 8), None)])],
        |_| {},
    );
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(out, vec![data]);
    let w = res.warnings_from("draw");
    assert!(
        w.iter()
            .any(|w| w.contains("12288 bytes is not an NvBufSurface descriptor")),
        "{:?}",
        res.warnings
    );
}

#[test]
fn one_bad_detection_never_cancels_a_redaction() {
    let props = "blur-types=face blur-kind=solid redact-color=0xff102030 outline-width=1 \
                 outline-color=0xffff0000";
    let rois = vec![
        ("face", (2, 2, 6, 6), None),
        ("person", (10, 2, u32::MAX, 4), None),
        // x = (guint)-5: a C sign bug for -5.
        ("person", ((-5i32) as u32, 8, 10, 6), None),
        ("person", (20, 9, 6, 5), None),
    ];
    let (out, res) = push(CAPS, props, vec![(grey(), rois)], |_| {});
    assert!(res.error.is_none(), "{:?}", res.error);
    let f = &out[0];
    assert_eq!(px(f, 4, 4), [0x10, 0x20, 0x30, 255], "face redacted");
    assert_eq!(px(f, 20, 9), [255, 0, 0, 255], "good box drawn");
    assert_eq!(px(f, 10, 2), [255, 0, 0, 255], "wide box clamped, drawn");
    assert_eq!(
        px(f, 0, 13),
        [255, 0, 0, 255],
        "box at x = -5: bottom edge drawn"
    );
    assert_eq!(
        px(f, 0, 10),
        [100; 4],
        "box at x = -5: its left edge is off-frame"
    );
    assert!(res.warnings_from("draw").is_empty(), "{:?}", res.warnings);
}

#[test]
fn overlay_offsets_out_of_range_are_refused_by_the_property() {
    init();
    let draw = gst::ElementFactory::make("cudadraw").build().unwrap();
    let pspec = draw.find_property("overlay-x").unwrap();
    let p = pspec.downcast_ref::<gst::glib::ParamSpecInt>().unwrap();
    assert!(p.maximum() < 2_000_000 && p.minimum() > -2_000_000);
}

#[test]
fn bad_frame_params_and_class_colours_are_warned_about() {
    init();
    let param = |v: gst::glib::SendValue| {
        let mut s = gst::Structure::new_empty("cudadraw");
        s.set_value("frame", v);
        Some(s)
    };
    let rois = vec![
        ("person", (1, 1, 4, 4), param("zero".to_send_value())),
        ("person", (1, 1, 4, 4), param(99u32.to_send_value())),
        ("person", (8, 8, 4, 4), None),
    ];
    let props = "class-colors=person=notacolour outline-color=0xff00ff00";
    let (out, res) = push(CAPS, props, vec![(grey(), rois)], |_| {});
    assert!(res.error.is_none(), "{:?}", res.error);
    let w = res.warnings_from("draw");
    assert!(
        w.iter()
            .any(|w| w.contains("class-colors 'person=notacolour' rejected")),
        "{:?}",
        res.warnings
    );
    assert!(
        w.iter()
            .any(|w| w.contains("cudadraw.frame = zero") && w.contains("not a frame index")),
        "{:?}",
        res.warnings
    );
    // The frame-99 ROI is warned about (the batch has one frame) and left out; the
    // good one is drawn; "zero" was not applied to every frame.
    assert!(
        w.iter().any(|w| w.contains("2 detection(s) left out")),
        "{:?}",
        res.warnings
    );
    assert_eq!(px(&out[0], 8, 8), [0, 255, 0, 255]);
    assert_eq!(px(&out[0], 1, 1), [100; 4]);
}

#[test]
fn toggling_the_overlay_does_not_grow_memory() {
    let dir = temp_dir("toggle");
    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    for (p, v) in [(&a, 10u8), (&b, 200u8)] {
        let px: Vec<u8> = (0..512 * 512 * 4)
            .map(|i| v.wrapping_add(i as u8))
            .collect();
        write_png(p, 512, 512, &px);
    }
    let n = 300;
    let bufs = (0..n).map(|_| (grey(), vec![])).collect();
    let (a2, b2) = (a.clone(), b.clone());
    let before = Arc::new(AtomicU64::new(0));
    let after = Arc::new(AtomicU64::new(0));
    let (bf, af) = (before.clone(), after.clone());
    let props = format!(
        "overlay-location={} overlay-width=8 overlay-height=8",
        a.display()
    );
    let (out, res) = push(CAPS, &props, bufs, move |p| {
        let draw = by_name(p, "draw");
        let count = AtomicU64::new(0);
        // Before the element: every buffer switches the image.
        draw.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                let i = count.fetch_add(1, Ordering::SeqCst);
                if i == 20 {
                    bf.store(rss_bytes(), Ordering::SeqCst);
                }
                if i == n - 1 {
                    af.store(rss_bytes(), Ordering::SeqCst);
                }
                let next = if i.is_multiple_of(2) { &b2 } else { &a2 };
                draw.set_property("overlay-location", next.to_str().unwrap());
                gst::PadProbeReturn::Ok
            });
    });
    assert!(res.error.is_none(), "{:?}", res.error);
    assert_eq!(out.len(), n as usize);
    assert_ne!(out[1], out[2], "the overlay switches");
    let grown = after.load(Ordering::SeqCst) as i64 - before.load(Ordering::SeqCst) as i64;
    // Each leaked image was 1 MiB: 280 switches leaked 280 MiB before the fix.
    assert!(grown < 64 << 20, "RSS grew by {} MiB", grown >> 20);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fail_mode_drop_and_redact_never_let_an_undrawable_buffer_through() {
    // CUDA caps over system memory cannot be drawn at all: dropped in both modes.
    let caps = "video/x-raw(memory:CUDAMemory),format=RGBA,width=32,height=16,framerate=25/1";
    for mode in ["drop", "redact"] {
        let props = format!("fail-mode={mode} blur-types=face");
        let rois = vec![("face", (1, 1, 4, 4), None)];
        let (out, res) = push(caps, &props, vec![(grey(), rois)], |_| {});
        assert!(res.error.is_none(), "{mode}: {:?}", res.error);
        assert!(out.is_empty(), "{mode}: the buffer went on");
        let w = res.warnings_from("draw");
        assert!(
            w.iter().any(|w| w.contains("buffer dropped")),
            "{mode}: {:?}",
            w
        );
    }
    // The default passes it on, undrawn, with a warning.
    let (out, _) = push(
        caps,
        "blur-types=face",
        vec![(grey(), vec![("face", (1, 1, 4, 4), None)])],
        |_| {},
    );
    assert_eq!(out, vec![grey()]);
}

#[test]
fn probe_redact_mode_draws_the_redactions_when_the_lists_cannot_be() {
    init();
    let launch = format!(
        "appsrc name=src format=time caps=\"{CAPS}\" ! identity name=draw ! fakesink name=sink"
    );
    let p = pipeline(&launch);
    let stats = DrawStats::new();
    let opts = ProbeOptions {
        stats: Some(stats.clone()),
        fail_mode: FailMode::Redact,
        ..Default::default()
    };
    probe::attach_with(
        &by_name(&p, "draw").static_pad("src").unwrap(),
        opts,
        |_buffer, _, lists| {
            // More ops than a list may hold: the call is refused as a whole...
            for _ in 0..20_000 {
                lists[0].fill(Rect::new(20.0, 0.0, 4.0, 4.0), Color::RED);
            }
            // ...but the face must still be hidden.
            lists[0].blur(Rect::new(2.0, 2.0, 6.0, 6.0), BlurKind::Box { radius: 2 });
        },
    )
    .unwrap();
    let out = sink_bytes(&p, "sink");
    let src = by_name(&p, "src");
    p.set_state(gst::State::Playing).unwrap();
    let _ = src.emit_by_name::<gst::FlowReturn>("push-buffer", &[&gst::Buffer::from_slice(grey())]);
    let _ = src.emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
    let res = run(&p);
    assert!(res.error.is_none(), "{:?}", res.error);
    let out = out.lock().unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(px(&out[0], 4, 4), [0, 0, 0, 255], "redacted, opaque");
    assert_eq!(
        px(&out[0], 21, 1),
        [100; 4],
        "the refused boxes are not drawn"
    );
    let w = res.warnings_from("draw");
    assert!(
        w.iter()
            .any(|w| w.contains("only the redactions") && w.contains("exceeds the limit")),
        "{:?}",
        res.warnings
    );
    assert_eq!(stats.dropped(), 0);
}

#[test]
fn caps_refusal_is_explained_before_the_stream_error() {
    init();
    // appsrc's template takes anything, so YUY2 reaches cudadraw at run time, as it
    // does behind decodebin.
    let p = pipeline(
        "appsrc name=src format=time caps=video/x-raw,format=YUY2,width=64,height=48,framerate=25/1 \
         ! cudadraw name=draw ! fakesink",
    );
    let bus = p.bus().unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let src = by_name(&p, "src");
    let _ = src.emit_by_name::<gst::FlowReturn>(
        "push-buffer",
        &[&gst::Buffer::from_slice(vec![0u8; 64 * 48 * 2])],
    );
    let _ = src.emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
    let mut order = Vec::new();
    while let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(10)) {
        let from_draw = msg.src().is_some_and(|s| s.name() == "draw");
        match msg.view() {
            gst::MessageView::Error(e) => {
                order.push((from_draw, "error", e.error().to_string()));
                break;
            }
            gst::MessageView::Warning(w) => {
                order.push((from_draw, "warning", w.error().to_string()))
            }
            gst::MessageView::Eos(_) => break,
            _ => {}
        }
    }
    p.set_state(gst::State::Null).unwrap();
    let ours = order
        .iter()
        .position(|(d, _, t)| *d && t.contains("YUY2") && t.contains("RGBA"))
        .unwrap_or_else(|| panic!("no cudadraw message: {order:?}"));
    let first_error = order.iter().position(|(_, k, _)| *k == "error");
    assert!(
        first_error.is_none_or(|e| ours < e),
        "the explanation came after the error: {order:?}"
    );
}

#[test]
fn probe_closure_reads_the_buffer_metas_it_draws() {
    init();
    let launch = format!(
        "appsrc name=src format=time caps=\"{CAPS}\" ! identity name=draw ! fakesink name=sink"
    );
    let p = pipeline(&launch);
    probe::attach(
        &by_name(&p, "draw").static_pad("src").unwrap(),
        |buffer, _, lists| {
            for m in buffer.iter_meta::<gst_video::VideoRegionOfInterestMeta>() {
                let (x, y, w, h) = m.rect();
                lists[0].fill(
                    Rect::new(x as f32, y as f32, w as f32, h as f32),
                    Color::BLUE,
                );
            }
        },
    )
    .unwrap();
    let out = sink_bytes(&p, "sink");
    let src = by_name(&p, "src");
    p.set_state(gst::State::Playing).unwrap();
    let mut b = gst::Buffer::from_slice(grey());
    gst_video::VideoRegionOfInterestMeta::add(b.get_mut().unwrap(), "car", (3, 4, 2, 2));
    let _ = src.emit_by_name::<gst::FlowReturn>("push-buffer", &[&b]);
    let _ = src.emit_by_name::<gst::FlowReturn>("end-of-stream", &[]);
    let res = run(&p);
    assert!(res.error.is_none(), "{:?}", res.error);
    let out = out.lock().unwrap();
    assert_eq!(px(&out[0], 3, 4), [0, 0, 255, 255]);
    assert_eq!(px(&out[0], 5, 4), [100; 4]);
}
