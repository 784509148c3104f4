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

/// Reads a PNG file (any colour type, 8 or 16 bits) into a straight-alpha RGBA
/// [`Image`] for overlays.
pub fn load_png(path: &std::path::Path) -> Result<Image> {
    let io = |source| Error::Io {
        context: format!("reading {}", path.display()),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let bad = |e: &dyn std::fmt::Display| Error::InvalidImage(format!("{}: {e}", path.display()));
    let mut reader = decoder.read_info().map_err(|e| bad(&e))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad(&"image too large"))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
    buf.truncate(info.buffer_size());
    let px = (info.width * info.height) as usize;
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => return Err(bad(&"palette not expanded")),
    };
    if rgba.len() != px * 4 {
        return Err(bad(&"unexpected decoded size"));
    }
    Image::new(info.width, info.height, rgba)
}
