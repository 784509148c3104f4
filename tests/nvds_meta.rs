//! DeepStream metadata (NvDsBatchMeta) on CPU: the reader against synthetic metadata
//! laid out as the headers say (every layout), hostile metadata, the lookup through
//! a recording double of libnvdsgst_meta, and the `cudadraw` element and the probe on
//! synthetic NVMM batches in host memory (SYSTEM memType: drawn by the CPU renderer)
//! compared exactly with the draw lists they must have drawn and with reference PNGs.

mod common;
mod nvmm_support;
mod pipeline_common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use cudadraw::Op;
use cudadraw::nvds::synthetic::{
    Rgba, SynthBatch, SynthDisplay, SynthFrame, SynthObject, SynthRect, SynthText,
};
use cudadraw::nvds::{self, BatchMeta, Depth, Limits, Lookup, MetaAbi, MetaError, NvdsOptions};
use cudadraw::nvmm::abi::{Abi, mem_type};
use cudadraw::render::Renderer;
use cudadraw::{Align, BlurKind, Border, Color, DrawList, PixelFormat, Rect};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_check as gst_check;
use nvmm_support::HostBatch;

const W: u32 = 96;
const H: u32 = 64;
const RED: Rgba = [1.0, 0.0, 0.0, 1.0];
const GREEN: Rgba = [0.0, 1.0, 0.0, 1.0];
const BLUE: Rgba = [0.0, 0.0, 1.0, 1.0];
const HALF_YELLOW: Rgba = [1.0, 1.0, 0.0, 0.5];

fn walk_only() -> NvdsOptions {
    NvdsOptions {
        lookup: Lookup::GstMeta,
        ..Default::default()
    }
}

fn rect(l: f32, t: f32, w: f32, h: f32, bw: u32, c: Rgba, bg: Option<Rgba>) -> SynthRect {
    SynthRect {
        rect: [l, t, w, h],
        border_width: bw,
        border_color: c,
        bg_color: bg,
    }
}

fn obj(class_id: i32, r: SynthRect, label: &str) -> SynthObject {
    let mut text = SynthText::new(
        label,
        r.rect[0] as u32,
        (r.rect[1] as u32).saturating_sub(8),
    );
    text.bg_color = Some([0.0, 0.0, 0.0, 1.0]);
    text.font_size = 6;
    SynthObject {
        class_id,
        object_id: Some(100 + class_id as u64),
        confidence: 0.9,
        tracker_confidence: 0.5,
        rect: Some(r),
        label: label.as_bytes().to_vec(),
        text: Some(text),
        mask: None,
    }
}

/// Four frames from three sources: objects of classes 0 (person), 2 (car), 3 (face)
/// moving with the frame, one display meta with a rect, a text, a line, a circle.
fn scene(abi: MetaAbi) -> SynthBatch {
    let mut b = SynthBatch::new(abi);
    for i in 0..4u32 {
        let k = i as f32 * 6.0;
        let frame = SynthFrame {
            batch_id: i,
            source_id: [0, 1, 2, 1][i as usize],
            frame_num: 10 + i as i32,
            pad_index: [0, 1, 2, 1][i as usize],
            buf_pts: 1_000_000 * u64::from(i),
            ntp_timestamp: 42 + u64::from(i),
            source_frame_width: 1920,
            source_frame_height: 1080,
            objects: vec![
                obj(0, rect(4.0 + k, 12.0, 24.0, 40.0, 2, RED, None), "person"),
                obj(
                    2,
                    rect(50.0, 30.0 - k, 36.0, 20.0, 3, BLUE, Some(HALF_YELLOW)),
                    "car",
                ),
                obj(3, rect(8.0 + k, 14.0, 12.0, 10.0, 1, GREEN, None), "face"),
            ],
            displays: vec![SynthDisplay {
                rects: vec![rect(
                    60.0,
                    4.0 + k,
                    30.0,
                    10.0,
                    1,
                    GREEN,
                    Some([0.0, 0.0, 1.0, 0.3]),
                )],
                texts: vec![SynthText::new("cam", 2, 2)],
                lines: vec![(0, 60, 90, 60, 2, RED)],
                circles: vec![(70, 40, 5, 1, GREEN)],
                ..Default::default()
            }],
            ..Default::default()
        };
        b.frames.push(frame);
    }
    b
}

fn shapes() -> Vec<(u32, u32, u32, PixelFormat)> {
    vec![(W, H, W * 4 + 64, PixelFormat::Rgba); 4]
}

// ---------------------------------------------------------------- the reader

#[test]
fn every_layout_reads_back_what_was_written() {
    gst::init().unwrap();
    for abi in MetaAbi::ALL {
        let built = scene(abi).build();
        // SAFETY: a synthetic batch meta of layout `abi`, alive while `built` is.
        let meta =
            unsafe { BatchMeta::from_raw(built.batch_ptr(), abi, Depth::Full, &Limits::default()) }
                .unwrap();
        assert!(meta.issues().is_empty(), "{abi}: {:?}", meta.issues());
        assert_eq!(meta.frames().len(), 4);
        let f = meta.frame_for(3).unwrap();
        assert_eq!(
            (
                f.facts.source_id,
                f.facts.frame_num,
                f.facts.buf_pts,
                f.facts.ntp_timestamp
            ),
            (1, 13, 3_000_000, 45)
        );
        assert_eq!(
            (f.facts.source_frame_width, f.facts.source_frame_height),
            (1920, 1080)
        );
        assert_eq!(f.objects.len(), 3);
        let car = &f.objects[1];
        assert_eq!(
            (car.class_id, car.object_id, car.label),
            (2, Some(102), Some("car"))
        );
        assert_eq!(car.rect.left, 50.0);
        assert_eq!(car.rect.top, 30.0 - 18.0);
        assert_eq!(car.rect.border_width, 3);
        assert_eq!(car.rect.border_color, Color::BLUE);
        assert_eq!(car.rect.bg_color, Some(Color::rgba(255, 255, 0, 128)));
        assert_eq!(car.text.unwrap().text, "car");
        let d = &f.displays[0];
        assert_eq!(
            (d.rects.len(), d.texts.len(), d.lines.len(), d.circles.len()),
            (1, 1, 1, 1)
        );
        assert_eq!(d.texts[0].text, "cam");
        assert_eq!(d.circles[0].width, abi.has_circle_width().then_some(1));
    }
}

#[test]
fn the_layout_comes_from_the_pools_and_contradictions_are_errors() {
    gst::init().unwrap();
    for abi in MetaAbi::ALL {
        let mut buf = gst::Buffer::new();
        scene(abi).attach(buf.get_mut().unwrap()).unwrap();
        let meta = BatchMeta::from_buffer(&buf, &walk_only()).unwrap().unwrap();
        assert_eq!(meta.abi(), abi);
        let other = if abi == MetaAbi::Ds9 {
            MetaAbi::Ds8
        } else {
            MetaAbi::Ds9
        };
        let err = BatchMeta::from_buffer(
            &buf,
            &NvdsOptions {
                abi: Some(other),
                ..walk_only()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, MetaError::Layout(ref m) if m.contains("asks for")),
            "{err}"
        );
    }
    // Without pools (and no version anywhere) the layout cannot be told: an error
    // that says what to set, never a guess.
    let mut s = scene(MetaAbi::Ds9);
    s.pools = false;
    let mut buf = gst::Buffer::new();
    s.attach(buf.get_mut().unwrap()).unwrap();
    if std::env::var_os(nvds::ABI_ENV).is_none() && std::env::var_os("DEEPSTREAM_DIR").is_none() {
        let err = BatchMeta::from_buffer(&buf, &walk_only()).unwrap_err();
        assert!(err.to_string().contains(nvds::ABI_ENV), "{err}");
    }
    let ok = BatchMeta::from_buffer(
        &buf,
        &NvdsOptions {
            abi: Some(MetaAbi::Ds9),
            ..walk_only()
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(ok.frames().len(), 4);
}

#[test]
fn buffers_without_meta_and_copies_with_meta() {
    gst::init().unwrap();
    let plain = gst::Buffer::new();
    assert!(
        BatchMeta::from_buffer(&plain, &walk_only())
            .unwrap()
            .is_none()
    );
    let mut buf = gst::Buffer::new();
    scene(MetaAbi::Ds8).attach(buf.get_mut().unwrap()).unwrap();
    // A copy shares the metadata (the GstMeta transform); dropping the original
    // leaves the copy's metadata valid.
    let copy = buf.copy();
    drop(buf);
    let meta = BatchMeta::from_buffer(&copy, &walk_only())
        .unwrap()
        .unwrap();
    assert_eq!(meta.frame_for(2).unwrap().objects[0].label, Some("person"));
    // Exactly one NvDsMeta of the API DeepStream names, with its tag.
    let api = nvds::synthetic::api_type().unwrap();
    assert_eq!(api.name(), "NvDsMetaAPI");
    assert!(gst::meta::meta_api_type_has_tag_by_quark(
        api,
        gst::glib::Quark::from_str("nvdsmeta")
    ));
    assert_eq!(nvds::lookup::walk_gst_metas(&copy).1, 1);
}

fn hostile_frame() -> SynthFrame {
    let bad = |bytes: &[u8], unterminated| SynthText {
        bytes: bytes.to_vec(),
        unterminated,
        font_size: 10,
        ..SynthText::new("", 1, 1)
    };
    let mut nan = obj(0, rect(f32::NAN, 1.0, 5.0, 5.0, 1, RED, None), "nan");
    nan.label = b"nan".to_vec();
    let mut neg = obj(0, rect(1.0, 1.0, -5.0, 5.0, 1, RED, None), "neg");
    neg.label = b"neg".to_vec();
    let mut far = obj(1, rect(1.0e9, -1.0e9, 1.0e9, 3.0e9, 2, RED, None), "far");
    far.label = vec![0xff, 0xfe, b'x']; // not UTF-8: the label is left out
    let mut long = obj(1, rect(2.0, 2.0, 10.0, 10.0, 1, GREEN, None), "");
    long.label = vec![b'L'; 200]; // 128 bytes without NUL
    long.text = Some(bad(b"", true)); // unterminated display_text
    let mut badmask = obj(1, rect(3.0, 3.0, 10.0, 10.0, 1, GREEN, None), "mask");
    badmask.mask = Some((100, 100, 0.5, vec![1.0; 10])); // size says 40 bytes
    let mut utf = obj(1, rect(4.0, 4.0, 10.0, 10.0, 1, GREEN, None), "utf");
    utf.text = Some(bad(&[0xc3, 0x28], false)); // invalid UTF-8 display_text
    SynthFrame {
        batch_id: 0,
        null_object_entry: true,
        objects: vec![nan, neg, far, long, badmask, utf],
        displays: vec![SynthDisplay {
            rects: vec![rect(1.0, 1.0, 4.0, 4.0, 1, RED, None)],
            texts: vec![bad(&[0x80], false)],
            num_rects: Some(1000),
            num_labels: Some(1),
            num_circles: Some(u32::MAX),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn hostile_metadata_is_skipped_with_reasons() {
    let mut b = SynthBatch::new(MetaAbi::Ds8);
    b.frames.push(hostile_frame());
    let built = b.build();
    // SAFETY: a synthetic batch meta of this layout, alive while `built` is.
    let meta = unsafe {
        BatchMeta::from_raw(
            built.batch_ptr(),
            MetaAbi::Ds8,
            Depth::Full,
            &Limits::default(),
        )
    }
    .unwrap();
    let f = &meta.frames()[0];
    // nan and neg skipped; far, long, badmask, utf kept with their bad parts left out.
    let labels: Vec<_> = f.objects.iter().map(|o| o.label).collect();
    assert_eq!(
        labels,
        [None, None, Some("mask"), Some("utf")],
        "{:?}",
        meta.issues()
    );
    assert_eq!(
        f.objects[0].rect.left, 1.0e9,
        "far-away rects are kept (the renderer clips)"
    );
    assert!(f.objects[1].text.is_none() && f.objects[3].text.is_none());
    assert!(f.objects[2].mask.is_none());
    let d = &f.displays[0];
    assert_eq!(
        d.rects.len(),
        16,
        "num_rects = 1000 reads the 16 the array has"
    );
    assert_eq!(d.circles.len(), 16);
    assert!(d.texts.is_empty());
    let why = meta.issues().reasons().join("\n");
    for needle in [
        "entry 0 is null",
        "not finite",
        "negative size",
        "not UTF-8",
        "no NUL",
    ] {
        assert!(why.contains(needle), "no '{needle}' in:\n{why}");
    }
    // KEEP reasons are kept, all are counted: 2 skipped objects, 5 parts left out,
    // null entry, two counts past the array, one display text.
    assert_eq!(meta.issues().count(), 11, "{why}");
}

#[test]
fn null_batch_cycles_and_huge_lists_are_bounded() {
    // SAFETY: a null pointer is refused before anything is read.
    let e = unsafe {
        BatchMeta::from_raw(
            std::ptr::null(),
            MetaAbi::Ds9,
            Depth::Full,
            &Limits::default(),
        )
    };
    assert_eq!(e.unwrap_err(), MetaError::Null("NvDsBatchMeta"));

    let mut b = SynthBatch::new(MetaAbi::Ds9);
    b.frames.push(SynthFrame {
        objects: vec![obj(0, rect(1.0, 1.0, 4.0, 4.0, 1, RED, None), "a"); 3],
        object_cycle: true,
        ..Default::default()
    });
    let built = b.build();
    let start = std::time::Instant::now();
    // SAFETY: as above.
    let meta = unsafe {
        BatchMeta::from_raw(
            built.batch_ptr(),
            MetaAbi::Ds9,
            Depth::Full,
            &Limits::default(),
        )
    }
    .unwrap();
    assert_eq!(
        meta.frames()[0].objects.len(),
        Limits::default().max_objects_per_frame
    );
    assert!(
        meta.issues().reasons()[0].contains("or a cycle"),
        "{:?}",
        meta.issues()
    );
    assert!(
        start.elapsed().as_secs() < 20,
        "a cycle took {:?}",
        start.elapsed()
    );

    // 10,000 objects on one frame are all read.
    let mut b = SynthBatch::new(MetaAbi::Ds6To7);
    let f = SynthFrame {
        objects: many_objects(),
        ..Default::default()
    };
    b.frames.push(f);
    let built = b.build();
    // SAFETY: as above.
    let meta = unsafe {
        BatchMeta::from_raw(
            built.batch_ptr(),
            MetaAbi::Ds6To7,
            Depth::Full,
            &Limits::default(),
        )
    }
    .unwrap();
    assert_eq!(meta.frames()[0].objects.len(), 10_000);
    assert!(meta.issues().is_empty());
}

// ---------------------------------------------- lookup through libnvdsgst_meta

fn double_lib() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        if let Some(p) = std::env::var_os("CUDADRAW_TEST_NVDS_DOUBLE") {
            return PathBuf::from(p);
        }
        let src = common::root().join("tests/double/nvdsgst_meta_double.c");
        let dir = std::env::temp_dir().join(format!("cudadraw-nvds-double-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("libnvdsgst_meta_double.so");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = std::process::Command::new(&cc)
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cc} (or set CUDADRAW_TEST_NVDS_DOUBLE): {e}"));
        assert!(st.success(), "building the libnvdsgst_meta double failed");
        out
    })
    .clone()
}

#[test]
fn the_library_path_calls_deepstreams_function_and_version() {
    gst::init().unwrap();
    let path = double_lib();
    // SAFETY: the double's exports have these C signatures.
    let lib = unsafe { libloading::Library::new(&path) }.unwrap();
    let (set, calls, last, set_version) = unsafe {
        (
            *lib.get::<unsafe extern "C" fn(*mut std::ffi::c_void)>(b"cdm_set\0")
                .unwrap(),
            *lib.get::<unsafe extern "C" fn() -> i32>(b"cdm_calls\0")
                .unwrap(),
            *lib.get::<unsafe extern "C" fn() -> *mut std::ffi::c_void>(b"cdm_last_buffer\0")
                .unwrap(),
            *lib.get::<unsafe extern "C" fn(u32, u32)>(b"cdm_set_version\0")
                .unwrap(),
        )
    };
    // No pools: the layout must come from the library's nvds_version (9.1: Ds9).
    let mut s = scene(MetaAbi::Ds9);
    s.pools = false;
    let built = s.build();
    unsafe {
        set(built.batch_ptr().cast());
        set_version(9, 1);
    }
    let buf = gst::Buffer::new(); // no GstMeta at all: only the library can answer
    let opts = NvdsOptions {
        lookup: Lookup::Library,
        library: Some(path.clone()),
        ..Default::default()
    };
    let meta = BatchMeta::from_buffer(&buf, &opts).unwrap().unwrap();
    assert_eq!(meta.abi(), MetaAbi::Ds9);
    assert_eq!(meta.frames().len(), 4);
    assert_eq!(unsafe { calls() }, 1);
    assert_eq!(unsafe { last() }, buf.as_ptr() as *mut std::ffi::c_void);
    // The library says "no meta": none, even though a walk would find one.
    let mut with_meta = gst::Buffer::new();
    scene(MetaAbi::Ds8)
        .attach(with_meta.get_mut().unwrap())
        .unwrap();
    unsafe { set(std::ptr::null_mut()) };
    assert!(BatchMeta::from_buffer(&with_meta, &opts).unwrap().is_none());
    // A missing library is an error when asked for, a fallback to the walk in Auto.
    let missing = PathBuf::from("/nonexistent/libnvdsgst_meta.so");
    let err = BatchMeta::from_buffer(
        &with_meta,
        &NvdsOptions {
            lookup: Lookup::Library,
            library: Some(missing.clone()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, MetaError::Library(ref m) if m.contains("nonexistent")),
        "{err}"
    );
    let auto = BatchMeta::from_buffer(
        &with_meta,
        &NvdsOptions {
            library: Some(missing),
            ..Default::default()
        },
    )
    .unwrap()
    .unwrap();
    assert_eq!(auto.abi(), MetaAbi::Ds8);
}

// ---------------------------------------------------- the element and the probe

fn nvmm_caps() -> String {
    format!("video/x-raw(memory:NVMM),format=RGBA,width={W},height={H},framerate=25/1")
}

fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    pipeline_common::init();
    let mut h = gst_check::Harness::new("cudadraw");
    {
        let el = h.element().unwrap();
        for (k, v) in props {
            el.set_property_from_str(k, v);
        }
    }
    h.set_src_caps_str(&nvmm_caps());
    h
}

/// Pushes a 4-frame host NVMM batch carrying `meta` through `h`; the drawn frames.
fn run_batch(h: &mut gst_check::Harness, meta: &SynthBatch) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut b = HostBatch::new(Abi::Ds8, mem_type::SYSTEM, &shapes());
    let before = b.snapshot();
    let mut buf = b.buffer();
    meta.attach(buf.get_mut().unwrap()).unwrap();
    h.push_and_pull(buf).expect("the buffer passes on");
    (before, b.snapshot())
}

/// What the element documents for these options: per frame, blurs of the blurred
/// classes, then boxes and label backgrounds of the others, then display metas.
fn expected(
    before: &[Vec<u8>],
    meta: &SynthBatch,
    opts: &nvds::osd::OsdOptions,
) -> (Vec<Vec<u8>>, Vec<DrawList>) {
    let built = meta.build();
    // SAFETY: a synthetic batch meta of its layout, alive while `built` is.
    let batch = unsafe {
        BatchMeta::from_raw(built.batch_ptr(), meta.abi, Depth::Full, &Limits::default())
    }
    .unwrap();
    let lists: Vec<DrawList> = (0..4)
        .map(|i| {
            let mut l = DrawList::new();
            if let Some(f) = batch.frame_for(i) {
                nvds::osd::draw_frame(f, opts, &mut l);
            }
            l
        })
        .collect();
    let b = HostBatch::new(Abi::Ds8, mem_type::SYSTEM, &shapes());
    let mut r = Renderer::new();
    let out = nvmm_support::reference(before, &b.infos(), &lists, &mut r);
    (out, lists)
}

fn packed(frame: &[u8]) -> Vec<u8> {
    let pitch = (W * 4 + 64) as usize;
    (0..H as usize)
        .flat_map(|y| frame[y * pitch..y * pitch + W as usize * 4].to_vec())
        .collect()
}

fn check_pictures(name: &str, frames: &[Vec<u8>]) {
    for (i, f) in frames.iter().enumerate() {
        pipeline_common::check_reference(
            &format!("{name}_{i}"),
            &pipeline_common::Captured {
                index: i as u64,
                width: W,
                height: H,
                rgba: packed(f),
                raw: packed(f),
            },
        );
    }
}

#[test]
fn element_draws_every_frame_of_the_batch_as_nvdsosd() {
    for abi in MetaAbi::ALL {
        let mut h = harness(&[]);
        let meta = scene(abi);
        let (before, got) = run_batch(&mut h, &meta);
        let (want, lists) = expected(&before, &meta, &nvds::osd::OsdOptions::default());
        for i in 0..4 {
            assert_ne!(got[i], before[i], "{abi}: frame {i} not drawn");
            assert_eq!(
                got[i], want[i],
                "{abi}: frame {i} differs from its documented list"
            );
        }
        // The documented list, spelled out for frame 1 (no blur classes): the three
        // objects' boxes and labels (6 pt = 8 px, white on black, 1 px padding), then
        // the display rect and the display text (12 pt = 16 px, no background).
        let k = 6.0;
        let mut l = DrawList::new();
        let label = cudadraw::draw::TextStyle::new(8, Color::WHITE)
            .padding(1)
            .background(Color::BLACK);
        l.rect(
            Rect::new(4.0 + k, 12.0, 24.0, 40.0),
            Some(Border::new(2, Color::RED)),
            None,
        );
        l.text(4.0 + k, 4.0, "person", label);
        l.rect(
            Rect::new(50.0, 30.0 - k, 36.0, 20.0),
            Some(Border::new(3, Color::BLUE).align(Align::Inside)),
            Some(Color::rgba(255, 255, 0, 128)),
        );
        l.text(50.0, 16.0, "car", label);
        l.rect(
            Rect::new(8.0 + k, 14.0, 12.0, 10.0),
            Some(Border::new(1, Color::GREEN)),
            None,
        );
        l.text(8.0 + k, 6.0, "face", label);
        l.rect(
            Rect::new(60.0, 4.0 + k, 30.0, 10.0),
            Some(Border::new(1, Color::GREEN)),
            Some(Color::rgba(0, 0, 255, 77)),
        );
        l.line(
            cudadraw::geom::Point::new(0.0, 60.0),
            cudadraw::geom::Point::new(90.0, 60.0),
            2.0,
            Color::RED,
        );
        l.circle(
            cudadraw::geom::Point::new(70.0, 40.0),
            5.0,
            Some(cudadraw::draw::Stroke::new(1.0, Color::GREEN)),
            None,
        );
        l.text(
            2.0,
            2.0,
            "cam",
            cudadraw::draw::TextStyle::new(16, Color::WHITE).padding(1),
        );
        assert_eq!(lists[1], l, "{abi}");
        let st = h.element().unwrap().property::<gst::Structure>("stats");
        assert_eq!(st.get::<u64>("detections").unwrap(), 12, "{st}");
        // Every item drawn is one op of the documented lists.
        let ops: usize = lists.iter().map(|l| l.len()).sum();
        assert_eq!(st.get::<u64>("nvds-items").unwrap(), ops as u64, "{st}");
        if abi == MetaAbi::Ds9 {
            check_pictures("nvds_element", &got);
        }
    }
}

#[test]
fn display_bbox_false_and_blur_class_ids_are_honoured() {
    let meta = scene(MetaAbi::Ds9);
    let mut h = harness(&[("display-bbox", "false"), ("display-text", "false")]);
    let (before, got) = run_batch(&mut h, &meta);
    let opts = nvds::osd::OsdOptions {
        display_bbox: false,
        display_text: false,
        ..Default::default()
    };
    let (want, lists) = expected(&before, &meta, &opts);
    assert_eq!(got, want);
    // Only the display meta's rect, line and circle are left on each frame.
    assert!(
        lists
            .iter()
            .all(|l| l.len() == 3 && matches!(l.ops(), [Op::Box(_), Op::Line(_), Op::Ellipse(_)])),
        "{lists:?}"
    );

    let mut h = harness(&[
        ("blur-class-ids", "2,3"),
        ("blur-kind", "pixelate"),
        ("blur-strength", "4"),
    ]);
    let (before, got) = run_batch(&mut h, &meta);
    let opts = nvds::osd::OsdOptions {
        blur_class_ids: vec![2, 3],
        blur: BlurKind::Pixelate { block: 4 },
        ..Default::default()
    };
    let (want, lists) = expected(&before, &meta, &opts);
    assert_eq!(got, want);
    let blurs = lists[0]
        .ops()
        .iter()
        .filter(|o| matches!(o, cudadraw::Op::Blur(_)))
        .count();
    assert_eq!(blurs, 2, "the car and the face are blurred, not boxed");
    check_pictures("nvds_blur_classes", &got);

    let mut h = harness(&[("nvds-meta", "false")]);
    let (before, got) = run_batch(&mut h, &meta);
    assert_eq!(got, before, "nvds-meta=false draws nothing of the metadata");
}

#[test]
fn element_properties_are_nvdsosds() {
    pipeline_common::init();
    let el = gst::ElementFactory::make("cudadraw").build().unwrap();
    for p in ["display-text", "display-bbox", "display-mask", "nvds-meta"] {
        assert!(el.property::<bool>(p), "{p}");
    }
    assert!(!el.property::<bool>("display-clock"));
    el.set_property_from_str("process-mode", "0");
    el.set_property_from_str("process-mode", "hw");
    el.set_property("clock-format", "%T");
    assert_eq!(el.property::<String>("clock-format"), "%T");
    el.set_property("blur-class-ids", "0, 2");
    assert_eq!(el.property::<String>("blur-class-ids"), "0, 2");
    el.set_property("blur-class-ids", "car"); // rejected: the previous value stays
    assert_eq!(el.property::<String>("blur-class-ids"), "0, 2");
}

#[test]
fn hostile_metadata_through_the_element_passes_the_buffer_on() {
    let mut h = harness(&[]);
    let mut meta = SynthBatch::new(MetaAbi::Ds8);
    meta.frames.push(hostile_frame());
    let mut f = hostile_frame();
    f.batch_id = 7; // names no frame of the batch
    meta.frames.push(f);
    let mut big = SynthFrame {
        batch_id: 1,
        ..Default::default()
    };
    big.objects = many_objects();
    meta.frames.push(big);
    let (before, got) = run_batch(&mut h, &meta);
    assert_ne!(got[1], before[1], "the 10,000 objects were drawn");
    let st = h.element().unwrap().property::<gst::Structure>("stats");
    assert_eq!(st.get::<u64>("errors").unwrap(), 0, "{st}");
    assert!(st.get::<u64>("skipped-detections").unwrap() >= 12, "{st}");
    // 10,000 boxes and 10,000 label backgrounds: the list stops at the draw model's
    // limit per frame (the rest counted), instead of the whole batch failing.
    assert_eq!(st.get::<u64>("drawn").unwrap(), 1, "{st}");
}

#[test]
fn probe_sees_deepstream_facts_and_objects_and_draws_like_the_element() {
    pipeline_common::init();
    let meta = scene(MetaAbi::Ds8);
    let mut h = gst_check::Harness::new("identity");
    h.set_src_caps_str(&nvmm_caps());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let pad = h.element().unwrap().static_pad("src").unwrap();
    cudadraw::gst::probe::attach(&pad, move |buffer, frames, lists| {
        let Ok(Some(batch)) = BatchMeta::from_buffer(buffer, &Default::default()) else {
            return;
        };
        for (f, list) in frames.iter().zip(lists) {
            let Some(m) = batch.frame_for(f.index) else {
                continue;
            };
            let classes: Vec<i32> = m.objects.iter().map(|o| o.class_id).collect();
            s2.lock().unwrap().push((f.nvds, classes));
            nvds::osd::draw_frame(m, &nvds::osd::OsdOptions::default(), list);
        }
    });
    let (before, got) = run_batch(&mut h, &meta);
    let (want, _) = expected(&before, &meta, &nvds::osd::OsdOptions::default());
    assert_eq!(
        got, want,
        "the probe's one-call helper draws what the element draws"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    for (i, (facts, classes)) in seen.iter().enumerate() {
        let facts = facts.expect("FrameMeta::nvds is set");
        assert_eq!(facts.batch_id as usize, i);
        assert_eq!(facts.source_id, [0, 1, 2, 1][i]);
        assert_eq!(facts.frame_num, 10 + i as i32);
        assert_eq!(classes, &[0, 2, 3]);
    }
    check_pictures("nvds_probe", &got);
}

fn many_objects() -> Vec<SynthObject> {
    (0..10_000)
        .map(|i| {
            let r = rect(
                (i % 90) as f32,
                (i / 90 % 60) as f32,
                4.0,
                4.0,
                1,
                RED,
                None,
            );
            obj(i % 5, r, "o")
        })
        .collect()
}
