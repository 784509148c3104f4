//! NV12 and I420 in system memory through GStreamer: the `cudadraw` element in a
//! `gst_check::Harness` and a probe on a harnessed `identity`, each compared byte for
//! byte with `CpuRenderer::render_planar` on the same bytes; odd sizes, padded strides
//! from a `GstVideoMeta`, colorimetry, and bad input (too small a buffer: an error
//! counted, nothing written).

mod common;
mod pipeline_common;

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use cudadraw::cpu::CpuRenderer;
use cudadraw::draw::{Font, FontId, TextStyle};
use cudadraw::planar::{PlanarFrame, PlanarInfo, PlanarLayout, Plane, YuvMatrix, YuvRange};
use cudadraw::{Border, Color, DrawList, ImageStore, Rect};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_check as gst_check;
use gstreamer_video as gst_video;
use pipeline_common::init;

fn gst_format(l: PlanarLayout) -> gst_video::VideoFormat {
    match l {
        PlanarLayout::Nv12 => gst_video::VideoFormat::Nv12,
        PlanarLayout::I420 => gst_video::VideoFormat::I420,
    }
}

/// Deterministic bytes of `len` (every byte: planes and padding).
fn bytes(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + seed * 13) % 251) as u8)
        .collect()
}

/// The element with boxes and labels on, fed `caps`.
fn harness(caps: &str) -> gst_check::Harness {
    init();
    let mut h = gst_check::Harness::new("cudadraw");
    {
        let el = h.element().unwrap();
        for (k, v) in [
            ("labels", "true"),
            ("font-size", "10"),
            ("label-bg-color", "0xc0000000"),
            ("outline-width", "2"),
        ] {
            el.set_property_from_str(k, v);
        }
    }
    h.set_src_caps_str(caps);
    h
}

/// What the element draws for one "person" ROI at `r`: the box, then its label.
fn box_and_label(r: (u32, u32, u32, u32)) -> DrawList {
    let rect = Rect::new(r.0 as f32, r.1 as f32, r.2 as f32, r.3 as f32);
    let mut list = DrawList::new();
    list.rect(rect, Some(Border::new(2, Color::GREEN)), None);
    let style = TextStyle::new(10, Color::WHITE)
        .font(FontId(1))
        .background(Color::rgba(0, 0, 0, 0xc0));
    list.label(rect, "person", style);
    list
}

/// `list` drawn on `data` laid out as `info` by the CPU renderer directly.
fn expected(mut data: Vec<u8>, info: PlanarInfo, list: &DrawList) -> Vec<u8> {
    let mut images = ImageStore::new();
    images.add_font(Font::builtin());
    {
        let mut frames = [PlanarFrame::new(&mut data, info).unwrap()];
        CpuRenderer::new()
            .render_planar(&mut frames, &[list], &images)
            .unwrap();
    }
    data
}

fn stats(h: &gst_check::Harness) -> gst::Structure {
    h.element().unwrap().property::<gst::Structure>("stats")
}

/// An NV12 and an I420 buffer (even and odd sizes, caps with and without colorimetry)
/// with a box and a label: the element draws exactly what render_planar draws.
#[test]
fn element_draws_nv12_and_i420_as_render_planar() {
    for (layout, w, h, colorimetry, matrix, range) in [
        (
            PlanarLayout::Nv12,
            64u32,
            48u32,
            "",
            YuvMatrix::Bt601,
            YuvRange::Limited,
        ),
        (
            PlanarLayout::I420,
            64,
            48,
            ",colorimetry=bt709",
            YuvMatrix::Bt709,
            YuvRange::Limited,
        ),
        (
            PlanarLayout::Nv12,
            37,
            23,
            ",colorimetry=1:3:5:1",
            YuvMatrix::Bt709,
            YuvRange::Full,
        ),
        (
            PlanarLayout::I420,
            37,
            23,
            ",colorimetry=bt2020",
            YuvMatrix::Bt2020,
            YuvRange::Limited,
        ),
    ] {
        let caps = format!(
            "video/x-raw,format={},width={w},height={h},framerate=30/1{colorimetry}",
            layout.name()
        );
        let mut hn = harness(&caps);
        // GStreamer's default layout for these caps (its strides are 4-aligned: odd
        // widths have row padding).
        let vi = gst_video::VideoInfo::from_caps(&gst::Caps::from_str(&caps).unwrap()).unwrap();
        let mut info = PlanarInfo::tight(w, h, layout).with_colour(matrix, range);
        for i in 0..layout.planes() {
            info.planes[i] = Some(Plane {
                offset: vi.offset()[i],
                pitch: vi.stride()[i] as usize,
            });
        }
        let bg = bytes(vi.size(), w as usize);
        let roi = (3, 12, w / 2, h / 2);
        let mut buf = gst::Buffer::from_slice(bg.clone());
        gst_video::VideoRegionOfInterestMeta::add(buf.get_mut().unwrap(), "person", roi);
        let out = hn.push_and_pull(buf).expect("a drawn buffer");
        let got = out.map_readable().unwrap().to_vec();
        let want = expected(bg.clone(), info, &box_and_label(roi));
        assert_ne!(want, bg, "{caps}: the list draws something");
        assert_eq!(got, want, "{caps}: the element differs from render_planar");
        let st = stats(&hn);
        assert_eq!(st.get::<u64>("drawn").unwrap(), 1, "{caps}: {st}");
        assert_eq!(st.get::<u64>("errors").unwrap(), 0, "{caps}: {st}");
    }
}

/// A buffer whose planes have padded strides and gaps, described by a GstVideoMeta:
/// drawn at the meta's offsets and strides, padding untouched.
#[test]
fn element_follows_the_video_meta_of_padded_planes() {
    for layout in [PlanarLayout::Nv12, PlanarLayout::I420] {
        let (w, h) = (41u32, 27u32);
        let caps = format!(
            "video/x-raw,format={},width={w},height={h},framerate=30/1",
            layout.name()
        );
        let mut hn = harness(&caps);
        let mut info = PlanarInfo::tight(w, h, layout);
        let mut offsets = [0usize; 4];
        let mut strides = [0i32; 4];
        let mut at = 16;
        for i in 0..layout.planes() {
            let (row, rows) = info.plane_extent(i);
            let pitch = row + 7 + 4 * i;
            info.planes[i] = Some(Plane { offset: at, pitch });
            offsets[i] = at;
            strides[i] = pitch as i32;
            at += pitch * rows + 24;
        }
        let n = layout.planes();
        let bg = bytes(at, 3);
        let roi = (2, 14, 30, 12);
        let mut buf = gst::Buffer::from_slice(bg.clone());
        {
            let b = buf.get_mut().unwrap();
            gst_video::VideoMeta::add_full(
                b,
                gst_video::VideoFrameFlags::empty(),
                gst_format(layout),
                w,
                h,
                &offsets[..n],
                &strides[..n],
            )
            .unwrap();
            gst_video::VideoRegionOfInterestMeta::add(b, "person", roi);
        }
        let out = hn.push_and_pull(buf).expect("a drawn buffer");
        let got = out.map_readable().unwrap().to_vec();
        let want = expected(bg.clone(), info, &box_and_label(roi));
        assert_ne!(want, bg);
        assert_eq!(
            got, want,
            "{layout:?}: the element differs from render_planar"
        );
    }
}

/// A buffer too small for its caps: an error counted, the buffer passes on unchanged.
/// A video meta that disagrees with the caps likewise.
#[test]
fn element_refuses_a_short_buffer_and_writes_nothing() {
    for layout in [PlanarLayout::Nv12, PlanarLayout::I420] {
        let (w, h) = (32u32, 24u32);
        let caps = format!(
            "video/x-raw,format={},width={w},height={h},framerate=30/1",
            layout.name()
        );
        let mut hn = harness(&caps);
        let short = bytes(PlanarInfo::tight(w, h, layout).min_len() - 1, 9);
        let mut buf = gst::Buffer::from_slice(short.clone());
        gst_video::VideoRegionOfInterestMeta::add(buf.get_mut().unwrap(), "person", (1, 1, 8, 8));
        let out = hn.push_and_pull(buf).expect("the buffer passes on");
        assert_eq!(out.map_readable().unwrap().as_slice(), &short[..]);
        let st = stats(&hn);
        assert_eq!(st.get::<u64>("errors").unwrap(), 1, "{layout:?}: {st}");
        assert_eq!(st.get::<u64>("drawn").unwrap(), 0, "{layout:?}: {st}");

        // A meta for another size.
        let full = bytes(PlanarInfo::tight(w, h, layout).min_len(), 2);
        let mut buf = gst::Buffer::from_slice(full.clone());
        {
            let b = buf.get_mut().unwrap();
            let other = PlanarInfo::tight(w / 2, h, layout);
            let n = layout.planes();
            let offsets: Vec<usize> = (0..n).map(|i| other.planes[i].unwrap().offset).collect();
            let strides: Vec<i32> = (0..n)
                .map(|i| other.planes[i].unwrap().pitch as i32)
                .collect();
            gst_video::VideoMeta::add_full(
                b,
                gst_video::VideoFrameFlags::empty(),
                gst_format(layout),
                w / 2,
                h,
                &offsets,
                &strides,
            )
            .unwrap();
            gst_video::VideoRegionOfInterestMeta::add(b, "person", (1, 1, 8, 8));
        }
        let out = hn.push_and_pull(buf).expect("the buffer passes on");
        assert_eq!(out.map_readable().unwrap().as_slice(), &full[..]);
        assert_eq!(stats(&hn).get::<u64>("errors").unwrap(), 2);
    }
}

/// NV12 and I420 negotiate with the element in system and CUDA memory, with no
/// converter.
#[test]
fn nv12_and_i420_negotiate_in_system_and_cuda_memory() {
    init();
    let el = gst::ElementFactory::make("cudadraw").build().unwrap();
    let sink = el.static_pad("sink").unwrap();
    for f in ["NV12", "I420"] {
        let sys = gst::Caps::from_str(&format!(
            "video/x-raw,format={f},width=16,height=16,framerate=30/1"
        ))
        .unwrap();
        assert!(sink.query_accept_caps(&sys), "{f} system memory");
        let cuda = gst::Caps::from_str(&format!(
            "video/x-raw(memory:CUDAMemory),format={f},width=16,height=16,framerate=30/1"
        ))
        .unwrap();
        assert!(sink.query_accept_caps(&cuda), "{f} CUDA memory");
    }
}

/// The probe on NV12 and I420 system memory: what render_planar draws, padding
/// (the 4-aligned strides of an odd width) untouched; a short buffer is an error, its
/// bytes unchanged.
#[test]
fn probe_draws_planar_system_memory() {
    for layout in [PlanarLayout::Nv12, PlanarLayout::I420] {
        init();
        let (w, h) = (35u32, 21u32);
        let caps = format!(
            "video/x-raw,format={},width={w},height={h},framerate=30/1,colorimetry=bt709",
            layout.name()
        );
        let mut hn = gst_check::Harness::new("identity");
        hn.set_src_caps_str(&caps);
        let pad = hn.element().unwrap().static_pad("src").unwrap();
        let stats = cudadraw::gst::probe::DrawStats::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        cudadraw::gst::probe::attach_with(
            &pad,
            cudadraw::gst::probe::ProbeOptions {
                stats: Some(stats.clone()),
                ..Default::default()
            },
            move |_b, frames, lists| {
                seen2
                    .lock()
                    .unwrap()
                    .push((frames[0].width, frames[0].height));
                lists[0].fill(Rect::new(-2.0, 3.0, 20.0, 9.0), Color::rgba(255, 0, 0, 180));
                lists[0].circle(
                    cudadraw::geom::Point { x: 28.0, y: 15.0 },
                    6.0,
                    None,
                    Some(Color::BLUE),
                );
            },
        )
        .expect("probe attached");
        let vi = gst_video::VideoInfo::from_caps(&gst::Caps::from_str(&caps).unwrap()).unwrap();
        let mut info =
            PlanarInfo::tight(w, h, layout).with_colour(YuvMatrix::Bt709, YuvRange::Limited);
        for i in 0..layout.planes() {
            info.planes[i] = Some(Plane {
                offset: vi.offset()[i],
                pitch: vi.stride()[i] as usize,
            });
        }
        let bg = bytes(vi.size(), 5);
        let out = hn
            .push_and_pull(gst::Buffer::from_slice(bg.clone()))
            .expect("a buffer");
        let got = out.map_readable().unwrap().to_vec();
        let mut list = DrawList::new();
        list.fill(Rect::new(-2.0, 3.0, 20.0, 9.0), Color::rgba(255, 0, 0, 180));
        list.circle(
            cudadraw::geom::Point { x: 28.0, y: 15.0 },
            6.0,
            None,
            Some(Color::BLUE),
        );
        let want = expected(bg.clone(), info, &list);
        assert_ne!(want, bg);
        assert_eq!(
            got, want,
            "{layout:?}: the probe differs from render_planar"
        );
        assert_eq!(seen.lock().unwrap().as_slice(), &[(w, h)]);
        assert_eq!((stats.drawn(), stats.errors()), (1, 0));

        let short = bytes(vi.size() / 2, 1);
        let out = hn
            .push_and_pull(gst::Buffer::from_slice(short.clone()))
            .expect("the buffer passes on");
        assert_eq!(out.map_readable().unwrap().as_slice(), &short[..]);
        assert_eq!((stats.drawn(), stats.errors()), (1, 1));
    }
}
