//! The `cudadrawsynth` GStreamer plugin (`libgstcudadrawsynth.so`), for tests and
//! demos only: `nvmmsynthupload` and `nvmmsynthdownload` make and read synthetic
//! DeepStream-identical NvBufSurface batches on machines without DeepStream. Kept
//! apart from the `cudadraw` plugin so production pipelines never see them.

use gstreamer as gst;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    cudadraw::gst::nvmmupload::register(plugin)?;
    cudadraw::gst::nvmmdownload::register(plugin)
}

gst::plugin_define!(
    cudadrawsynth,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    "cudadraw",
    "cudadraw",
    "https://github.com/cudadraw/cudadraw",
    env!("BUILD_REL_DATE")
);
