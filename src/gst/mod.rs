//! GStreamer integration: a pad-probe API ([`probe::attach`]), upstream GStreamer CUDA
//! memory ([`cudamem`]) and the `cudadraw` element.
//!
//! The GStreamer plugin `libgstcudadraw.so` is the crate `plugins/gstcudadraw`
//! (`cargo build --release -p gst-plugin-cudadraw`, then
//! `GST_PLUGIN_PATH=target/release gst-inspect-1.0 cudadraw`); the test-only synthetic
//! NVMM elements are `plugins/gstcudadrawsynth`. Rust applications register the same
//! elements in-process with [`register`] (and `register_synthetic`, feature `synthetic-nvmm`).

pub mod caps;
pub mod cudacontext;
pub mod cudadraw;
pub mod cudamem;
pub mod drawer;
#[cfg(feature = "synthetic-nvmm")]
pub mod nvmmdownload;
#[cfg(feature = "synthetic-nvmm")]
pub mod nvmmupload;
pub mod probe;
mod report;
pub mod roi;

use gstreamer as gst;

use std::sync::LazyLock;

use crate::draw::Image;

/// The debug category of everything cudadraw does in GStreamer.
pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "cudadraw",
        gst::DebugColorFlags::empty(),
        Some("cudadraw: drawing on buffers"),
    )
});
use crate::error::{Error, Result};

/// Initialises GStreamer (if needed) and registers the `cudadraw` element in-process,
/// for applications that link cudadraw rather than load its plugin. Idempotent.
pub fn register() -> Result<()> {
    static ONCE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        gst::init().map_err(|e| e.to_string())?;
        cudadraw::register_static().map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::Gst)
}

/// [`register`], plus the test-only synthetic NVMM elements (`nvmmsynthupload`,
/// `nvmmsynthdownload`). Idempotent.
#[cfg(feature = "synthetic-nvmm")]
pub fn register_synthetic() -> Result<()> {
    register()?;
    static ONCE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        nvmmupload::register_static()
            .and_then(|()| nvmmdownload::register_static())
            .map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::Gst)
}

/// Reads a PNG file into a straight-alpha RGBA [`Image`] for overlays: the crate's one
/// decoder, [`crate::draw::png::load_png`], with its limits checked before allocating.
pub fn load_png(path: &std::path::Path) -> Result<Image> {
    crate::draw::png::load_png(path)
}
