//! The synthetic NVMM elements and pool without a GPU (CI): registration, documented
//! properties, caps translation, configuration errors, and a clear error (not a crash)
//! when no CUDA device exists. With a device, a short pipeline runs instead.
#![cfg(feature = "synthetic-nvmm")]

use cudadraw::Error;
use cudadraw::nvmm::synthetic::{SyntheticConfig, SyntheticPool};
use cudadraw::nvmm::{Abi, MemType};
use gstreamer as gst;
use gstreamer::prelude::*;

fn init() {
    gst::init().unwrap();
    cudadraw::gst::register_synthetic().unwrap();
}

#[test]
fn elements_are_registered_with_documented_properties() {
    init();
    let up = gst::ElementFactory::make("nvmmsynthupload")
        .build()
        .unwrap();
    assert_eq!(up.property::<u32>("batch-size"), 1);
    assert_eq!(up.property::<u32>("gpu-id"), 0);
    assert_eq!(
        up.property_value("memory-type")
            .get::<cudadraw::gst::nvmmupload::SynthMemType>()
            .unwrap(),
        cudadraw::gst::nvmmupload::SynthMemType::Device
    );
    up.set_property_from_str("memory-type", "unified");
    up.set_property_from_str("abi", "ds8");
    up.set_property("batch-size", 16u32);
    assert_eq!(up.property::<u32>("batch-size"), 16);
    assert_eq!(
        up.property_value("abi")
            .get::<cudadraw::gst::nvmmupload::SynthAbi>()
            .unwrap(),
        cudadraw::gst::nvmmupload::SynthAbi::Ds8
    );
    let down = gst::ElementFactory::make("nvmmsynthdownload")
        .build()
        .unwrap();
    down.set_property_from_str("abi", "ds4to7");
    let src = up.static_pad("src").unwrap();
    let caps = src.pad_template_caps();
    assert!(caps.features(0).unwrap().contains("memory:NVMM"), "{caps}");
    let sink = down.static_pad("sink").unwrap();
    assert!(
        sink.pad_template_caps()
            .features(0)
            .unwrap()
            .contains("memory:NVMM")
    );
}

#[test]
fn caps_queries_swap_the_memory_feature() {
    init();
    let pipeline = gst::parse::launch(
        "nvmmsynthupload name=up ! nvmmsynthdownload name=down ! \
         capsfilter caps=video/x-raw,format=BGRx,width=64 ! fakesink",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let up = pipeline.by_name("up").unwrap();
    // Upstream of the upload element sees system-memory caps constrained by what is
    // downstream of the download element.
    let caps = up.static_pad("sink").unwrap().query_caps(None);
    assert!(!caps.is_empty(), "{caps}");
    for (s, f) in caps.iter_with_features() {
        assert!(!f.contains("memory:NVMM"), "{caps}");
        assert_eq!(s.get::<&str>("format").unwrap(), "BGRx");
        assert_eq!(s.get::<i32>("width").unwrap(), 64);
    }
    let down = pipeline.by_name("down").unwrap();
    let caps = down.static_pad("sink").unwrap().query_caps(None);
    assert!(
        caps.iter_with_features()
            .all(|(_, f)| f.contains("memory:NVMM")),
        "{caps}"
    );
}

#[test]
fn pool_configuration_errors_are_typed() {
    let base = SyntheticConfig::new(64, 48);
    let bad = [
        SyntheticConfig {
            batch_size: 0,
            ..base
        },
        SyntheticConfig {
            batch_size: 100_000,
            ..base
        },
        SyntheticConfig {
            mem_type: MemType::SurfaceArray,
            ..base
        },
        SyntheticConfig {
            mem_type: MemType::System,
            ..base
        },
        SyntheticConfig {
            pitch_align: 300,
            ..base
        },
        SyntheticConfig {
            abi: Abi::Ds8,
            width: 0,
            ..base
        },
    ];
    for cfg in bad {
        match SyntheticPool::new(cfg) {
            Err(Error::NvBufSurface { .. } | Error::InvalidFrame { .. }) => {}
            other => panic!("{cfg:?}: {other:?}"),
        }
    }
    assert_eq!(SyntheticConfig { width: 161, ..base }.pitch(), 1024);
    assert_eq!(SyntheticConfig { width: 128, ..base }.pitch(), 512);
}

#[test]
fn pipeline_without_gpu_fails_cleanly_or_runs_with_one() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=5 ! video/x-raw,format=RGBA,width=64,height=48 \
         ! nvmmsynthupload batch-size=2 ! nvmmsynthdownload ! fakesink name=sink",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    {
        let count = count.clone();
        let sink = pipeline.by_name("sink").unwrap();
        sink.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                gst::PadProbeReturn::Ok
            });
    }
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().unwrap();
    let mut error = None;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                // The message itself must say why: not "general resource error" with the
                // reason only in the debug text.
                error = Some(e.error().to_string());
                break;
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    if cudadraw::cuda::device_count() == 0 {
        let error = error.expect("upload without a CUDA device must post an error");
        assert!(error.contains("no CUDA device"), "{error}");
        println!("no CUDA device: the pipeline failed cleanly: {error}");
    } else {
        assert!(error.is_none(), "{error:?}");
        // 5 frames in batches of 2 (the last partial) come back as 5 frames.
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 5);
    }
}
