//! deepstream-test1 in Rust: source -> nvstreammux -> nvinfer -> (probe | cudadraw)
//! -> sink, with cudadraw reading the detections from DeepStream's NvDsBatchMeta.
//!
//! On a DeepStream install (the sample stream and nvinfer config of deepstream-test1):
//!
//! ```sh
//! cargo run --release --example deepstream_test1 -- deepstream \
//!     /opt/nvidia/deepstream/deepstream/samples/streams/sample_720p.h264 \
//!     /opt/nvidia/deepstream/deepstream/sources/apps/sample_apps/deepstream-test1/dstest1_pgie_config.txt
//! ```
//!
//! Without DeepStream (here, CI): the same shape on stand-ins: `videotestsrc` for the
//! decoder and nvstreammux, a pad probe that attaches synthetic NvDsBatchMeta
//! (`cudadraw::nvds::synthetic`, laid out as DeepStream's) for nvinfer; frames of
//! system memory, drawn by the CPU renderer; the last frame is written as a PNG:
//!
//! ```sh
//! cargo run --example deepstream_test1 -- synthetic out.png
//! ```
//!
//! Both modes end with the probe mode's per-class counts, as deepstream-test1 prints
//! them, read from the metadata by a probe on cudadraw's sink pad.

use std::sync::{Arc, Mutex};

use cudadraw::nvds::synthetic::{SynthBatch, SynthFrame, SynthObject, SynthRect, SynthText};
use cudadraw::nvds::{BatchMeta, MetaAbi};
use gstreamer as gst;
use gstreamer::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("deepstream") if args.len() == 3 => deepstream(&args[1], &args[2]),
        Some("synthetic") => synthetic(args.get(1).map(String::as_str).unwrap_or("out.png")),
        _ => Err(
            "usage: deepstream_test1 deepstream <file.h264> <pgie-config> | synthetic [out.png]"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("deepstream_test1: {e}");
        std::process::exit(1);
    }
}

/// The real pipeline of deepstream-test1, with cudadraw where nvdsosd was.
fn deepstream(file: &str, config: &str) -> Result<(), String> {
    cudadraw::gst::register().map_err(|e| e.to_string())?;
    let launch = format!(
        "filesrc location={file} ! h264parse ! nvv4l2decoder ! m.sink_0 \
         nvstreammux name=m batch-size=1 width=1920 height=1080 ! nvinfer config-file-path={config} \
         ! nvvideoconvert ! video/x-raw(memory:NVMM),format=RGBA \
         ! cudadraw name=osd display-text=true blur-class-ids=2 ! nvvideoconvert ! fakesink"
    );
    run(&launch)
}

/// The same shape on stand-ins, in system memory.
fn synthetic(out: &str) -> Result<(), String> {
    cudadraw::gst::register().map_err(|e| e.to_string())?;
    let launch = "videotestsrc num-buffers=30 pattern=ball ! video/x-raw,format=RGBA,width=640,height=360 \
                  ! identity name=nvinfer ! cudadraw name=osd blur-class-ids=2 blur-kind=pixelate \
                  ! pngenc snapshot=false ! multifilesink name=sink max-files=1";
    let pipeline = pipeline(launch)?;
    let sink = pipeline.by_name("sink").ok_or("no sink")?;
    sink.set_property("location", out);
    let infer = pipeline.by_name("nvinfer").ok_or("no nvinfer stand-in")?;
    let pad = infer.static_pad("src").ok_or("no src pad")?;
    let frame_num = Mutex::new(0i32);
    // The stand-in for nvinfer: detections as NvDsBatchMeta on every buffer.
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(ref mut buffer)) = info.data {
            let mut n = frame_num.lock().unwrap_or_else(|p| p.into_inner());
            let meta = detections(*n);
            if let Err(e) = meta.attach(buffer.make_mut()) {
                eprintln!("cannot attach synthetic metadata: {e}");
            }
            *n += 1;
        }
        gst::PadProbeReturn::Ok
    });
    count_objects(&pipeline)?;
    wait(&pipeline)
}

/// A person (class 0, red box) walking right and a car (class 2, blurred).
fn detections(n: i32) -> SynthBatch {
    let x = (20 + n * 12) as f32 % 500.0;
    let mut label = SynthText::new("person", x as u32, 90);
    label.bg_color = Some([0.0, 0.0, 0.0, 0.8]);
    let mut b = SynthBatch::new(MetaAbi::Ds8);
    b.frames.push(SynthFrame {
        frame_num: n,
        objects: vec![
            SynthObject {
                class_id: 0,
                rect: Some(SynthRect {
                    rect: [x, 110.0, 80.0, 200.0],
                    border_width: 4,
                    border_color: [1.0, 0.0, 0.0, 1.0],
                    bg_color: None,
                }),
                label: b"person".to_vec(),
                text: Some(label),
                ..Default::default()
            },
            SynthObject {
                class_id: 2,
                rect: Some(SynthRect {
                    rect: [400.0, 200.0, 180.0, 100.0],
                    border_width: 3,
                    border_color: [0.0, 0.0, 1.0, 1.0],
                    bg_color: None,
                }),
                label: b"car".to_vec(),
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    b
}

/// deepstream-test1's probe: counts per class, read from the metadata.
fn count_objects(pipeline: &gst::Pipeline) -> Result<(), String> {
    let osd = pipeline.by_name("osd").ok_or("no osd")?;
    let pad = osd.static_pad("sink").ok_or("no sink pad")?;
    let last = Arc::new(Mutex::new(String::new()));
    let l2 = last.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer()
            && let Ok(Some(batch)) = BatchMeta::from_buffer(buffer, &Default::default())
        {
            for f in batch.frames() {
                let person = f.objects.iter().filter(|o| o.class_id == 0).count();
                let vehicle = f.objects.iter().filter(|o| o.class_id == 2).count();
                *l2.lock().unwrap_or_else(|p| p.into_inner()) = format!(
                    "Frame Number = {} Number of objects = {} Vehicle Count = {vehicle} Person Count = {person}",
                    f.facts.frame_num,
                    f.objects.len()
                );
            }
        }
        gst::PadProbeReturn::Ok
    });
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let s = last.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if !s.is_empty() {
                println!("{s}");
            }
        }
    });
    Ok(())
}

fn pipeline(launch: &str) -> Result<gst::Pipeline, String> {
    gst::parse::launch(launch)
        .map_err(|e| format!("{launch}: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())
}

fn run(launch: &str) -> Result<(), String> {
    let p = pipeline(launch)?;
    count_objects(&p)?;
    wait(&p)
}

fn wait(p: &gst::Pipeline) -> Result<(), String> {
    p.set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let bus = p.bus().ok_or("no bus")?;
    let mut result = Ok(());
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                result = Err(format!("{} ({:?})", e.error(), e.debug()));
                break;
            }
            gst::MessageView::Warning(w) => eprintln!("warning: {}", w.error()),
            _ => {}
        }
    }
    p.set_state(gst::State::Null).map_err(|e| e.to_string())?;
    if result.is_ok() {
        println!(
            "cudadraw stats: {}",
            p.by_name("osd")
                .map(|o| o.property::<gst::Structure>("stats").to_string())
                .unwrap_or_default()
        );
    }
    result
}
