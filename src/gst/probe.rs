//! Drawing from a pad probe: one call attaches a closure that fills draw lists for
//! every buffer crossing a pad; cudadraw maps the buffer, picks the path from its caps
//! and memory (DeepStream NVMM, upstream CUDA memory, system memory), renders with one
//! synchronisation, and lets the buffer go on.
//!
//! ```no_run
//! use cudadraw::gst::probe::{self, FrameMeta};
//! use cudadraw::{Border, Color, DrawList, Rect};
//! # fn f(pad: &gstreamer::Pad) {
//! probe::attach(pad, |_buffer, frames: &[FrameMeta], lists: &mut [DrawList]| {
//!     for (frame, list) in frames.iter().zip(lists) {
//!         let r = Rect::new(10.0, 10.0, frame.width as f32 / 2.0, 40.0);
//!         list.outline(r, Border::new(4, Color::RED));
//!     }
//! });
//! # }
//! ```
//!
//! Errors (bad draw lists, buffers whose memory does not match their caps, CUDA
//! failures, even a panicking closure) never reach GStreamer as a failure: they are
//! logged in the `cudadraw` debug category, posted as a bus warning by the pad's
//! element, and the buffer passes on unchanged.
//!
//! On upstream GStreamer CUDA memory (`cudaupload`, nvcodec decoders) call
//! `cudacontext::share_context` on the pipeline before starting it: its CUDA elements then
//! allocate in cudadraw's CUDA context and frames are drawn in place. Without it,
//! GStreamer 1.22 allocates in a context of its own, which the kernels cannot address,
//! and every frame is copied to cudadraw's context and back (correct, but about three
//! times the time per 1080p buffer). [`DrawStats::cuda_copies`] counts such buffers.
//! Mind the caps: `cudaupload` offers system memory first, so unless a
//! `video/x-raw(memory:CUDAMemory)` capsfilter follows it the stream stays in system
//! memory and is drawn on the host (neither CUDA counter moves).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::draw::{DrawList, ImageStore};
use crate::error::Error;
use crate::nvmm::NvmmOptions;

pub use super::caps::{CAPS_FEATURE_CUDA, CAPS_FEATURE_NVMM, MemoryKind, StreamInfo, pixel_format};
use super::drawer::Verdict;
pub use super::drawer::{BufferDrawer, DrawStats, FailMode, FrameMeta, check_memory};

/// Options of [`attach_with`].
#[derive(Debug, Default)]
pub struct ProbeOptions {
    /// Images the draw lists may overlay (their [`crate::ImageId`]s are valid in the closure).
    pub images: ImageStore,
    /// Counters and draw times, shared with the application.
    pub stats: Option<Arc<DrawStats>>,
    /// How NVMM batches are read.
    pub nvmm: NvmmOptions,
    /// What happens to a buffer that cannot be drawn as asked (default: it passes on
    /// undrawn with a warning; [`FailMode::Redact`] for privacy deployments).
    pub fail_mode: FailMode,
    /// How DeepStream metadata is found for [`FrameMeta::nvds`].
    pub nvds: crate::nvds::NvdsOptions,
}

/// Attaches a drawing closure to `pad`: for every buffer (and every buffer of a
/// buffer list) it receives the buffer (read-only: its metas, timestamps, flags), the
/// frames and one empty [`DrawList`] per frame to fill.
/// Returns the probe id (remove it with `pad.remove_probe`).
///
/// Ops that fail validation (a detection with NaN or absurd coordinates) are left
/// out, counted ([`DrawStats::skipped_ops`]) and warned about; the others are drawn.
pub fn attach<F>(pad: &gst::Pad, f: F) -> Option<gst::PadProbeId>
where
    F: FnMut(&gst::BufferRef, &[FrameMeta], &mut [DrawList]) + Send + 'static,
{
    attach_with(pad, ProbeOptions::default(), f)
}

/// [`attach`] with overlay images, statistics and a fail mode.
pub fn attach_with<F>(pad: &gst::Pad, options: ProbeOptions, f: F) -> Option<gst::PadProbeId>
where
    F: FnMut(&gst::BufferRef, &[FrameMeta], &mut [DrawList]) + Send + 'static,
{
    let mut drawer = BufferDrawer::with_images(options.images);
    drawer.set_nvmm_options(options.nvmm);
    drawer.set_fail_mode(options.fail_mode);
    drawer.set_nvds_options(options.nvds);
    let state = Mutex::new(ProbeState {
        drawer,
        fill: f,
        reporter: super::report::Reporter::default(),
    });
    let stats = options.stats;
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |pad, info| {
            let mut messages = Vec::new();
            let mut ret = gst::PadProbeReturn::Ok;
            {
                let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                match info.data {
                    Some(gst::PadProbeData::Buffer(ref mut buffer)) => {
                        // make_mut copies only metadata when shared; memory is copied
                        // on the writable map only if another buffer still holds it.
                        let keep =
                            state.process(pad, buffer.make_mut(), stats.as_deref(), &mut messages);
                        if !keep {
                            ret = gst::PadProbeReturn::Drop;
                        }
                    }
                    Some(gst::PadProbeData::BufferList(ref mut list)) => {
                        let list = list.make_mut();
                        let mut i = 0;
                        while i < list.len() {
                            let keep = match list.get_mut(i) {
                                Some(buffer) => {
                                    state.process(pad, buffer, stats.as_deref(), &mut messages)
                                }
                                None => true,
                            };
                            if keep {
                                i += 1;
                            } else {
                                list.remove(i..i + 1);
                            }
                        }
                    }
                    _ => {}
                }
            }
            // Posted with no lock held: a bus sync handler may call back into us.
            super::report::post_all(pad.parent_element().as_ref(), messages);
            ret
        },
    )
}

struct ProbeState<F> {
    drawer: BufferDrawer,
    fill: F,
    reporter: super::report::Reporter,
}

impl<F> ProbeState<F>
where
    F: FnMut(&gst::BufferRef, &[FrameMeta], &mut [DrawList]),
{
    /// Draws on one buffer; false if it must be dropped (fail modes).
    fn process(
        &mut self,
        pad: &gst::Pad,
        buffer: &mut gst::BufferRef,
        stats: Option<&DrawStats>,
        messages: &mut Vec<gst::Message>,
    ) -> bool {
        let start = Instant::now();
        let element = pad.parent_element();
        let outcome = match pad.current_caps() {
            None => Err(Error::Gst("pad has no caps yet".into())),
            Some(caps) => {
                let drawer = &mut self.drawer;
                let fill = &mut self.fill;
                catch_unwind(AssertUnwindSafe(|| {
                    drawer.draw(buffer, &caps, |frames, buffer, lists| {
                        fill(buffer, frames, lists)
                    })
                }))
                .unwrap_or_else(|panic| {
                    Err(Error::Gst(format!(
                        "draw callback panicked: {}",
                        super::report::panic_message(panic.as_ref())
                    )))
                })
            }
        };
        let verdict = Verdict::of(&self.drawer, &outcome);
        if let Some(stats) = stats {
            let path = matches!(outcome, Ok(true))
                .then(|| self.drawer.last_cuda_path())
                .flatten();
            stats.record(&outcome, path, start.elapsed());
            stats.record_verdict(&verdict);
        }
        if let Some(text) = verdict.describe(&outcome, &self.drawer) {
            messages.extend(self.reporter.warning(element.as_ref(), text));
        }
        !verdict.drop
    }
}
