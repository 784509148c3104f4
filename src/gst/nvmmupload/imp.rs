//! Implementation of `nvmmsynthupload` (gst-plugins-rs layout: settings and streaming
//! state behind mutexes, one debug category).

use std::sync::{LazyLock, Mutex, MutexGuard};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;
use gstreamer_video as gst_video;

use super::{SynthAbi, SynthMemType, template_caps, translated_caps, with_feature};
use crate::gst::probe::CAPS_FEATURE_NVMM;
use crate::nvmm::surface::MAX_BATCH;
use crate::nvmm::synthetic::{SyntheticConfig, SyntheticPool};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "nvmmsynthupload",
        gst::DebugColorFlags::empty(),
        Some("Synthetic NVMM upload: system memory to NvBufSurface batches"),
    )
});

#[derive(Debug, Clone, Copy)]
struct Settings {
    batch_size: u32,
    memory_type: SynthMemType,
    abi: SynthAbi,
    gpu_id: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            batch_size: 1,
            memory_type: SynthMemType::Device,
            abi: SynthAbi::Auto,
            gpu_id: 0,
        }
    }
}

struct State {
    info: gst_video::VideoInfo,
    pool: SyntheticPool,
    pending: Vec<gst::Buffer>,
}

/// The element.
pub struct NvmmSynthUpload {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

use crate::gst::caps::pixel_format;

impl NvmmSynthUpload {
    fn set_caps(&self, caps: &gst::Caps) -> bool {
        let Ok(info) = gst_video::VideoInfo::from_caps(caps) else {
            gst::error!(CAT, imp = self, "cannot parse caps {caps}");
            return false;
        };
        let Some(format) = pixel_format(info.format()) else {
            gst::error!(CAT, imp = self, "unsupported format {:?}", info.format());
            return false;
        };
        let s = *lock(&self.settings);
        let abi = match s.abi.resolve() {
            Ok(abi) => abi,
            Err(e) => {
                gst::element_imp_error!(self, gst::ResourceError::Settings, ("{}", e));
                return false;
            }
        };
        let cfg = SyntheticConfig {
            abi,
            mem_type: s.memory_type.into(),
            batch_size: s.batch_size,
            gpu_id: s.gpu_id,
            width: info.width(),
            height: info.height(),
            format,
            pitch_align: 512,
        };
        let pool = match SyntheticPool::new(cfg) {
            Ok(p) => p,
            Err(e) => {
                // The reason goes in the message itself: "general resource error" with the
                // cause only in the debug text tells a user nothing.
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::Failed,
                    ("cannot allocate synthetic NVMM batches: {}", e)
                );
                return false;
            }
        };
        gst::info!(
            CAT,
            imp = self,
            "batches of {} {}x{} {:?} in {:?} memory, {}",
            cfg.batch_size,
            cfg.width,
            cfg.height,
            format,
            cfg.mem_type,
            cfg.abi
        );
        if let Some(old) = lock(&self.state).take() {
            // Frames of the old format cannot join a batch of the new one: push them.
            let _ = self.push_batch(&old.pool, &old.info, old.pending);
        }
        *lock(&self.state) = Some(State {
            info,
            pool,
            pending: Vec::with_capacity(cfg.batch_size as usize),
        });
        self.srcpad.push_event(gst::event::Caps::new(&with_feature(
            caps,
            Some(CAPS_FEATURE_NVMM),
        )))
    }

    fn push_batch(
        &self,
        pool: &SyntheticPool,
        info: &gst_video::VideoInfo,
        frames: Vec<gst::Buffer>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        if frames.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        let stride = info.stride()[0] as usize;
        let maps: Vec<_> = frames
            .iter()
            .map(|b| b.map_readable())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                gst::error!(CAT, imp = self, "cannot map an input buffer");
                gst::FlowError::Error
            })?;
        let slices: Vec<&[u8]> = maps.iter().map(|m| m.as_slice()).collect();
        let mut out = match pool.upload(&slices, stride) {
            Ok(b) => b,
            Err(e) => {
                gst::element_imp_error!(self, gst::ResourceError::Write, ["upload failed: {e}"]);
                return Err(gst::FlowError::Error);
            }
        };
        drop(slices);
        drop(maps);
        {
            let o = out.make_mut();
            o.set_pts(frames[0].pts());
            o.set_dts(frames[0].dts());
            let total: Option<gst::ClockTime> = frames.iter().map(|b| b.duration()).sum();
            o.set_duration(total);
            o.set_offset(frames[0].offset());
        }
        gst::trace!(CAT, imp = self, "pushing a batch of {}", frames.len());
        self.srcpad.push(out)
    }

    fn sink_chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["no caps before data"]);
            return Err(gst::FlowError::NotNegotiated);
        };
        state.pending.push(buffer);
        if state.pending.len() < state.pool.config().batch_size as usize {
            return Ok(gst::FlowSuccess::Ok);
        }
        let frames = std::mem::take(&mut state.pending);
        let info = state.info.clone();
        // The pool is shared with later buffers; push without holding the state lock
        // would need it cloned, so keep the lock: pushing is serialised anyway.
        let r = self.push_batch(&state.pool, &info, frames);
        state.pending = Vec::with_capacity(state.pool.config().batch_size as usize);
        r
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Caps(c) => self.set_caps(&c.caps_owned()),
            gst::EventView::Eos(_) => {
                let mut guard = lock(&self.state);
                if let Some(state) = guard.as_mut() {
                    let frames = std::mem::take(&mut state.pending);
                    let info = state.info.clone();
                    let _ = self.push_batch(&state.pool, &info, frames);
                }
                drop(guard);
                gst::Pad::event_default(pad, Some(&*self.obj()), event)
            }
            gst::EventView::FlushStop(_) => {
                if let Some(state) = lock(&self.state).as_mut() {
                    state.pending.clear();
                }
                gst::Pad::event_default(pad, Some(&*self.obj()), event)
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
                    Some(CAPS_FEATURE_NVMM),
                    None,
                    &pad.pad_template_caps(),
                );
                q.set_result(&caps);
                true
            }
            // Upstream allocates plain system memory itself.
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
                    None,
                    Some(CAPS_FEATURE_NVMM),
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
impl ObjectSubclass for NvmmSynthUpload {
    const NAME: &'static str = "GstNvmmSynthUpload";
    type Type = super::NvmmSynthUpload;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sink_t = klass
            .pad_template("sink")
            .expect("registered in pad_templates");
        let sinkpad = gst::Pad::builder_from_template(&sink_t)
            .chain_function(|_pad, parent, buffer| {
                NvmmSynthUpload::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |imp| imp.sink_chain(buffer),
                )
            })
            .event_function(|pad, parent, event| {
                NvmmSynthUpload::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| imp.sink_event(pad, event),
                )
            })
            .query_function(|pad, parent, query| {
                NvmmSynthUpload::catch_panic_pad_function(
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
                NvmmSynthUpload::catch_panic_pad_function(
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
            state: Mutex::new(None),
        }
    }
}

impl ObjectImpl for NvmmSynthUpload {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("batch-size")
                    .nick("Batch size")
                    .blurb("Frames per NvBufSurface batch (batchSize)")
                    .minimum(1)
                    .maximum(MAX_BATCH)
                    .default_value(1)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("memory-type", SynthMemType::Device)
                    .nick("Memory type")
                    .blurb("CUDA memory the frames live in")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("abi", SynthAbi::Auto)
                    .nick("ABI")
                    .blurb("NvBufSurface layout: DeepStream 4.0-7.1 or 8.0+")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("gpu-id")
                    .nick("GPU id")
                    .blurb("CUDA device of the frames (gpuId)")
                    .default_value(0)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "batch-size" => s.batch_size = value.get().unwrap_or(1),
            "memory-type" => s.memory_type = value.get().unwrap_or_default(),
            "abi" => s.abi = value.get().unwrap_or_default(),
            "gpu-id" => s.gpu_id = value.get().unwrap_or(0),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "batch-size" => s.batch_size.to_value(),
            "memory-type" => s.memory_type.to_value(),
            "abi" => s.abi.to_value(),
            "gpu-id" => s.gpu_id.to_value(),
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

impl GstObjectImpl for NvmmSynthUpload {}

impl ElementImpl for NvmmSynthUpload {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Synthetic NVMM upload",
                "Filter/Converter/Video",
                "Collects system-memory frames into DeepStream NvBufSurface batches in CUDA \
                 memory (for machines without DeepStream)",
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
                &template_caps(None),
            );
            let src = gst::PadTemplate::new(
                "src",
                gst::PadDirection::Src,
                gst::PadPresence::Always,
                &template_caps(Some(CAPS_FEATURE_NVMM)),
            );
            // Static, well-formed templates: construction cannot fail.
            sink.into_iter().chain(src).collect()
        });
        T.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        let r = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            // Dropping the pool frees every allocation not held by a live buffer;
            // live buffers free theirs when released.
            *lock(&self.state) = None;
        }
        Ok(r)
    }
}
