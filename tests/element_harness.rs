//! The `cudadraw` element in a `gst_check::Harness` (no pipeline): buffers carrying ROI
//! metas go in, drawn buffers come out, compared with the same draw list rendered by
//! the library directly and with a reference PNG (CUDADRAW_BLESS=1 rewrites it).

mod common;
mod pipeline_common;

use cudadraw::draw::BlurOp;
use cudadraw::render::Renderer;
use cudadraw::{Align, BlurKind, Border, Color, DrawList, FrameInfo, HostFrame, PixelFormat, Rect};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_check as gst_check;
use gstreamer_video as gst_video;
use pipeline_common::*;

const W: u32 = 64;
const H: u32 = 48;

fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    init();
    let mut h = gst_check::Harness::new("cudadraw");
    {
        let el = h.element().unwrap();
        for (k, v) in props {
            el.set_property_from_str(k, v);
        }
    }
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGBA,width={W},height={H},framerate=30/1"
    ));
    h
}

fn background() -> Vec<u8> {
    (0..W * H * 4).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn rois_are_drawn_as_the_library_draws_them() {
    let mut h = harness(&[
        ("outline-width", "2"),
        ("outline-align", "center"),
        ("class-colors", "person=0xffff0000,car=0xff0000ff"),
        ("blur-types", "face"),
        ("blur-kind", "box"),
        ("blur-strength", "3"),
        ("expand", "1"),
    ]);
    let mut buf = gst::Buffer::from_slice(background());
    {
        let b = buf.get_mut().unwrap();
        gst_video::VideoRegionOfInterestMeta::add(b, "person", (4, 4, 20, 30));
        gst_video::VideoRegionOfInterestMeta::add(b, "face", (30, 6, 16, 12));
        gst_video::VideoRegionOfInterestMeta::add(b, "car", (40, 30, 20, 14));
        gst_video::VideoRegionOfInterestMeta::add(b, "dog", (10, 38, 8, 8));
    }
    let out = h.push_and_pull(buf).expect("a drawn buffer");
    let got = out.map_readable().unwrap().to_vec();

    // What the element documents: blurs first, then boxes in meta order with the
    // class colour (default outline-color for other types).
    let mut list = DrawList::new();
    list.push(BlurOp {
        rect: Rect::new(30.0, 6.0, 16.0, 12.0),
        kind: BlurKind::Box { radius: 3 },
        expand: 1.0,
    });
    let b = |c| Some(Border::new(2, c).align(Align::Center));
    list.rect(Rect::new(4.0, 4.0, 20.0, 30.0), b(Color::RED), None);
    list.rect(Rect::new(40.0, 30.0, 20.0, 14.0), b(Color::BLUE), None);
    list.rect(Rect::new(10.0, 38.0, 8.0, 8.0), b(Color::GREEN), None);
    let mut want = background();
    {
        let info = FrameInfo::packed(W, H, PixelFormat::Rgba);
        let mut frames = [HostFrame::new(&mut want, info).unwrap()];
        Renderer::new().render_host(&mut frames, &[list]).unwrap();
    }
    assert_eq!(
        got, want,
        "the element drew something else than its documented list"
    );
    check_reference(
        "harness_rois",
        &Captured {
            index: 0,
            width: W,
            height: H,
            rgba: got.clone(),
            raw: got,
        },
    );
}

#[test]
fn a_buffer_without_rois_passes_untouched() {
    let mut h = harness(&[]);
    let out = h
        .push_and_pull(gst::Buffer::from_slice(background()))
        .unwrap();
    assert_eq!(out.map_readable().unwrap().as_slice(), &background()[..]);
}

#[test]
fn stats_count_buffers_detections_and_skips() {
    let mut h = harness(&[("blur-types", "face")]);
    let mut buf = gst::Buffer::from_slice(background());
    {
        let b = buf.get_mut().unwrap();
        gst_video::VideoRegionOfInterestMeta::add(b, "face", (2, 2, 8, 8));
        let mut m = gst_video::VideoRegionOfInterestMeta::add(b, "person", (20, 2, 8, 8));
        m.add_param(
            gst::Structure::builder("cudadraw")
                .field("frame", "first")
                .build(),
        );
    }
    h.push_and_pull(buf).unwrap();
    h.push_and_pull(gst::Buffer::from_slice(background()))
        .unwrap();
    let el = h.element().unwrap();
    let st = el.property::<gst::Structure>("stats");
    let get = |f: &str| st.get::<u64>(f).unwrap();
    assert_eq!(get("buffers"), 2, "{st}");
    assert_eq!(get("drawn"), 1, "{st}");
    assert_eq!(get("detections"), 1, "{st}");
    assert_eq!(get("skipped-detections"), 1, "{st}");
    assert_eq!((get("errors"), get("dropped")), (0, 0), "{st}");
    assert_eq!(el.property::<u32>("gpu-id"), 0);
}

#[test]
fn blur_strength_out_of_range_for_its_kind_is_warned_about() {
    init();
    let el = gst::ElementFactory::make("cudadraw").build().unwrap();
    let bin = gst::Bin::new();
    bin.add(&el).unwrap();
    let bus = gst::Bus::new();
    bin.set_bus(Some(&bus));
    el.set_property_from_str("blur-kind", "box");
    el.set_property("blur-strength", 500.0f64);
    let msg = bus.pop().expect("a warning");
    match msg.view() {
        gst::MessageView::Warning(w) => {
            let t = w.error().to_string();
            assert!(t.contains("blur-strength 500") && t.contains("127"), "{t}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_element_with_an_early_warning_is_freed_when_never_started() {
    init();
    let el = gst::ElementFactory::make("cudadraw").build().unwrap();
    // No bus yet: the warning waits for `start`, and must not keep the element alive.
    el.set_property("blur-strength", 1024.0f64);
    el.set_property_from_str("class-colors", "person=0xzz");
    let weak = el.downgrade();
    drop(el);
    assert!(
        weak.upgrade().is_none(),
        "the element outlived its last reference"
    );
}

#[test]
fn rois_are_labelled_with_type_label_and_confidence() {
    const LW: u32 = 160;
    const LH: u32 = 96;
    init();
    let mut h = gst_check::Harness::new("cudadraw");
    {
        let el = h.element().unwrap();
        for (k, v) in [
            ("labels", "true"),
            ("label-format", "{label} {confidence:.2}"),
            ("font-size", "12"),
            ("label-bg-color", "0xc0000000"),
            ("outline-width", "1"),
        ] {
            el.set_property_from_str(k, v);
        }
    }
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGBA,width={LW},height={LH},framerate=30/1"
    ));
    let bg: Vec<u8> = (0..LW * LH * 4).map(|i| (i * 7 % 251) as u8).collect();
    let mut buf = gst::Buffer::from_slice(bg.clone());
    {
        let b = buf.get_mut().unwrap();
        let mut m = gst_video::VideoRegionOfInterestMeta::add(b, "person", (10, 30, 40, 50));
        m.add_param(
            gst::Structure::builder("detection")
                .field("confidence", 0.9666f64)
                .build(),
        );
        let mut m = gst_video::VideoRegionOfInterestMeta::add(b, "vehicle", (80, 2, 70, 40));
        m.add_param(
            gst::Structure::builder("cudadraw")
                .field("label", "bus")
                .field("confidence", 0.5f32)
                .build(),
        );
        // No params: the type alone (the trailing space of the absent confidence is
        // not drawn).
        gst_video::VideoRegionOfInterestMeta::add(b, "dog", (140, 60, 30, 30));
    }
    let out = h.push_and_pull(buf).expect("a drawn buffer");
    let got = out.map_readable().unwrap().to_vec();

    let mut list = DrawList::new();
    let b = Some(Border::new(1, Color::GREEN));
    list.rect(Rect::new(10.0, 30.0, 40.0, 50.0), b, None);
    list.rect(Rect::new(80.0, 2.0, 70.0, 40.0), b, None);
    list.rect(Rect::new(140.0, 60.0, 30.0, 30.0), b, None);
    let style = cudadraw::draw::TextStyle::new(12, Color::WHITE)
        .font(cudadraw::draw::FontId(1))
        .background(Color::rgba(0, 0, 0, 0xc0));
    list.label(Rect::new(10.0, 30.0, 40.0, 50.0), "person 0.97", style);
    list.label(Rect::new(80.0, 2.0, 70.0, 40.0), "bus 0.50", style);
    list.label(Rect::new(140.0, 60.0, 30.0, 30.0), "dog", style);
    let mut want = bg;
    {
        let info = FrameInfo::packed(LW, LH, PixelFormat::Rgba);
        let mut frames = [HostFrame::new(&mut want, info).unwrap()];
        let mut r = Renderer::new();
        r.add_font(cudadraw::draw::Font::builtin());
        r.render_host(&mut frames, &[list]).unwrap();
    }
    assert_eq!(
        got, want,
        "the element's labels differ from the documented list"
    );
    check_reference(
        "harness_labels",
        &Captured {
            index: 0,
            width: LW,
            height: LH,
            rgba: got.clone(),
            raw: got,
        },
    );
}

#[test]
fn a_bad_label_format_is_rejected_and_the_previous_one_stays() {
    init();
    let el = gst::ElementFactory::make("cudadraw").build().unwrap();
    el.set_property("label-format", "{type}!");
    el.set_property("label-format", "{nope}");
    assert_eq!(el.property::<String>("label-format"), "{type}!");
    let bad_font = gst::ElementFactory::make("cudadraw")
        .property("font", "/nonexistent/font.ttf")
        .build();
    assert!(
        bad_font.is_ok(),
        "a missing font is a warning at draw time, not an error"
    );
}
