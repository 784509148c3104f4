//! `nvmmsynthdownload` (feature `synthetic-nvmm`): `video/x-raw(memory:NVMM)` batches in
//! CUDA memory (device, pinned, unified) back to one system-memory buffer per filled
//! frame, in batch order. Timestamps: frame `i` of a batch of `n` gets
//! `pts + i * duration / n`.
//!
//! Properties:
//! - `abi` (`auto` | `ds4to7` | `ds8`, default `auto`): the NvBufSurface layout to read
//!   (must match the producer's, as for every DeepStream element).

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

mod imp;

glib::wrapper! {
    /// The `nvmmsynthdownload` element.
    pub struct NvmmSynthDownload(ObjectSubclass<imp::NvmmSynthDownload>)
        @extends gst::Element, gst::Object;
}

/// Registers `nvmmsynthdownload` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "nvmmsynthdownload",
        gst::Rank::NONE,
        NvmmSynthDownload::static_type(),
    )
}

/// Registers `nvmmsynthdownload` in-process, without a plugin (see [`crate::gst::register`]).
pub(crate) fn register_static() -> Result<(), glib::BoolError> {
    gst::Element::register(
        None,
        "nvmmsynthdownload",
        gst::Rank::NONE,
        NvmmSynthDownload::static_type(),
    )
}
