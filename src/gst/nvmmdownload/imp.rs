//! Implementation of `nvmmsynthdownload` (gst-plugins-rs layout: settings and streaming
//! state behind mutexes, one debug category).

use std::sync::{LazyLock, Mutex, MutexGuard};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;
use gstreamer_video as gst_video;

use crate::gst::nvmmupload::{SynthAbi, template_caps, translated_caps, with_feature};
use crate::gst::probe::CAPS_FEATURE_NVMM;
use crate::nvmm::synthetic::download_frame;
use crate::nvmm::{NvmmBatch, NvmmOptions};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nvmmsynthdownload",
        gst::DebugColorFlags::empty(),
        Some("Synthetic NVMM download: NvBufSurface batches to system memory"),
    )
});

#[derive(Debug, Clone, Copy, Default)]
struct Settings {
    abi: SynthAbi,
}

/// The element.
pub struct NvmmSynthDownload {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    info: Mutex<Option<gst_video::VideoInfo>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl NvmmSynthDownload {
    fn sink_chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let Some(info) = lock(&self.info).clone() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["no caps before data"]);
            return Err(gst::FlowError::NotNegotiated);
        };
        let opts = NvmmOptions {
            abi: lock(&self.settings).abi.explicit(),
            ..Default::default()
        };
        let outs = {
            // SAFETY: the sink caps are memory:NVMM: upstream is an NvBufSurface producer.
            let batch = match unsafe { NvmmBatch::from_buffer(&buffer, &opts) } {
                Ok(b) => b,
                Err(e) => {
                    gst::element_imp_error!(self, gst::StreamError::Format, ("{}", e));
                    return Err(gst::FlowError::Error);
                }
            };
            let n = batch.frames().len();
            let mut outs = Vec::with_capacity(n);
            for f in batch.frames() {
                if f.width != info.width() || f.height != info.height() {
                    gst::element_imp_error!(
                        self,
                        gst::StreamError::Format,
                        [
                            "frame {} is {}x{} but caps say {}x{}",
                            f.index,
                            f.width,
                            f.height,
                            info.width(),
                            info.height()
                        ]
                    );
                    return Err(gst::FlowError::Error);
                }
                let mut out =
                    gst::Buffer::with_size(info.size()).map_err(|_| gst::FlowError::Error)?;
                {
                    let o = out.make_mut();
                    let Ok(mut map) = o.map_writable() else {
                        return Err(gst::FlowError::Error);
                    };
                    if let Err(e) = download_frame(f, map.as_mut_slice(), info.stride()[0] as usize)
                    {
                        gst::element_imp_error!(
                            self,
                            gst::ResourceError::Read,
                            ["download failed: {e}"]
                        );
                        return Err(gst::FlowError::Error);
                    }
                }
                {
                    let o = out.make_mut();
                    let i = f.index as u64;
                    let per = buffer.duration().map(|d| d / n as u64);
                    o.set_pts(
                        buffer
                            .pts()
                            .zip(per)
                            .map(|(p, d)| p + d * i)
                            .or(buffer.pts()),
                    );
                    o.set_duration(per);
                }
                outs.push(out);
            }
            outs
        };
        for out in outs {
            self.srcpad.push(out)?;
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Caps(c) => {
                let caps = c.caps_owned();
                let Ok(info) = gst_video::VideoInfo::from_caps(&caps) else {
                    gst::error!(CAT, imp = self, "cannot parse caps {caps}");
                    return false;
                };
                *lock(&self.info) = Some(info);
                self.srcpad
                    .push_event(gst::event::Caps::new(&with_feature(&caps, None)))
            }
            _ => gst::Pad::event_default(pad, Some(&*self.obj()), event),
        }
    }

    fn sink_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            gst::QueryViewMut::Caps(q) => {
                let caps = translated_caps(
                    &self.srcpad,
                    q.filter(),
                    None,
                    Some(CAPS_FEATURE_NVMM),
                    &pad.pad_template_caps(),
                );
                q.set_result(&caps);
                true
            }
            gst::QueryViewMut::Allocation(_) => false,
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    fn src_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            gst::QueryViewMut::Caps(q) => {
                let caps = translated_caps(
                    &self.sinkpad,
                    q.filter(),
                    Some(CAPS_FEATURE_NVMM),
                    None,
                    &pad.pad_template_caps(),
                );
                q.set_result(&caps);
                true
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for NvmmSynthDownload {
    const NAME: &'static str = "GstNvmmSynthDownload";
    type Type = super::NvmmSynthDownload;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sink_t = klass
            .pad_template("sink")
            .expect("registered in pad_templates");
        let sinkpad = gst::Pad::builder_from_template(&sink_t)
            .chain_function(|_pad, parent, buffer| {
                NvmmSynthDownload::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |imp| imp.sink_chain(buffer),
                )
            })
            .event_function(|pad, parent, event| {
                NvmmSynthDownload::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| imp.sink_event(pad, event),
                )
            })
            .query_function(|pad, parent, query| {
                NvmmSynthDownload::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| imp.sink_query(pad, query),
                )
            })
            .build();
        let src_t = klass
            .pad_template("src")
            .expect("registered in pad_templates");
        let srcpad = gst::Pad::builder_from_template(&src_t)
            .query_function(|pad, parent, query| {
                NvmmSynthDownload::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| imp.src_query(pad, query),
                )
            })
            .build();
        Self {
            sinkpad,
            srcpad,
            settings: Mutex::new(Settings::default()),
            info: Mutex::new(None),
        }
    }
}

impl ObjectImpl for NvmmSynthDownload {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("abi", SynthAbi::Auto)
                    .nick("ABI")
                    .blurb("NvBufSurface layout to read: DeepStream 4.0-7.1 or 8.0+")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        if pspec.name() == "abi" {
            lock(&self.settings).abi = value.get().unwrap_or_default();
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "abi" => lock(&self.settings).abi.to_value(),
            // Unreachable for registered properties; a typed empty value is harmless.
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        // Adding our own pads to ourselves cannot fail.
        let _ = obj.add_pad(&self.sinkpad);
        let _ = obj.add_pad(&self.srcpad);
    }
}

impl GstObjectImpl for NvmmSynthDownload {}

impl ElementImpl for NvmmSynthDownload {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Synthetic NVMM download",
                "Filter/Converter/Video",
                "Copies the frames of NvBufSurface batches in CUDA memory back to system memory, \
                 one buffer per frame",
                "cudadraw developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static T: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::PadTemplate::new(
                "sink",
                gst::PadDirection::Sink,
                gst::PadPresence::Always,
                &template_caps(Some(CAPS_FEATURE_NVMM)),
            );
            let src = gst::PadTemplate::new(
                "src",
                gst::PadDirection::Src,
                gst::PadPresence::Always,
                &template_caps(None),
            );
            sink.into_iter().chain(src).collect()
        });
        T.as_ref()
    }
}
