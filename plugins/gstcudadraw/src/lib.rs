//! The `cudadraw` GStreamer plugin (`libgstcudadraw.so`): the `cudadraw` element of the
//! cudadraw crate, loadable by `gst-launch-1.0` / `gst-inspect-1.0` through
//! `GST_PLUGIN_PATH`. Rust applications can instead link cudadraw and call
//! `cudadraw::gst::register()`.

use gstreamer as gst;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    cudadraw::gst::cudadraw::register(plugin)
}

gst::plugin_define!(
    cudadraw,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    // GStreamer's list of licences has no SPDX expressions; MIT/X11 is the closest.
    "MIT/X11",
    "cudadraw",
    "cudadraw",
    "https://github.com/cudadraw/cudadraw",
    env!("BUILD_REL_DATE")
);
