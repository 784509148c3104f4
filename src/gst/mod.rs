//! GStreamer integration: a pad-probe API ([`probe::attach`]), upstream GStreamer CUDA
//! memory ([`cudamem`]) and the `cudadraw` element.
//!
//! The crate's cdylib (`libcudadraw.so`) is a GStreamer plugin named `cudadraw`:
//! `GST_PLUGIN_PATH=target/release gst-inspect-1.0 cudadraw`. Rust applications
//! register the same elements in-process with [`register`].

pub mod cudadraw;
pub mod cudamem;
#[cfg(feature = "synthetic-nvmm")]
pub mod nvmmdownload;
#[cfg(feature = "synthetic-nvmm")]
pub mod nvmmupload;
pub mod probe;
mod report;

use gstreamer as gst;
use gstreamer::glib;

use crate::draw::Image;
use crate::error::{Error, Result};

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    cudadraw::register(plugin)?;
    #[cfg(feature = "synthetic-nvmm")]
    {
        nvmmupload::register(plugin)?;
        nvmmdownload::register(plugin)?;
    }
    Ok(())
}

gst::plugin_define!(
    cudadraw,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    env!("CARGO_PKG_VERSION"),
    // GStreamer's list of licences has no SPDX expressions; MIT/X11 is the closest.
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    "https://github.com/cudadraw/cudadraw",
    "2026-11-21"
);

/// Initialises GStreamer (if needed) and registers this crate's elements in-process,
/// for applications that link cudadraw rather than load it as a plugin. Idempotent.
pub fn register() -> Result<()> {
    static ONCE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        gst::init().map_err(|e| e.to_string())?;
        plugin_register_static().map_err(|e| e.to_string())
    })
    .clone()
    .map_err(Error::Gst)
}

/// Reads a PNG file into a straight-alpha RGBA [`Image`] for overlays: the crate's one
/// decoder, [`crate::draw::png::load_png`], with its limits checked before allocating.
pub fn load_png(path: &std::path::Path) -> Result<Image> {
    crate::draw::png::load_png(path)
}
