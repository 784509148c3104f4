//! The `cudadraw` element: draws every `GstVideoRegionOfInterestMeta` of a buffer in
//! place (boxes, or blur/redaction for chosen ROI types) plus an optional overlay
//! image, on system memory, GStreamer CUDA memory or DeepStream NVMM batches.
//!
//! Properties (see `gst-inspect-1.0 cudadraw`): `outline-width`, `outline-color`
//! (0xAARRGGBB), `outline-align` (inside/center/outside), `fill-color`, `class-colors`
//! (`person=0xffff0000,car=0xff0000ff`), `blur-types` (ROI types blurred or redacted
//! instead of boxed), `blur-kind` (box/gaussian/pixelate/solid), `blur-strength`,
//! `redact-color`, `expand`, and `overlay-location` / `-x` / `-y` / `-width` / `-height`
//! / `-opacity`. Blurs are drawn first, then boxes, then the overlay.
//!
//! In an NVMM batch of several frames an ROI is drawn on every frame, unless it carries
//! a param structure `cudadraw` with a `frame` (uint) field naming its frame.
//!
//! Detections are validated one by one: one bad detection never cancels the others.
//! Coordinates above 2^31 are read as the negative values a C sign bug wrote
//! (`x = (guint)-5` is -5), edges far outside the frame are clamped (a width of
//! `G_MAXUINT` covers the rest of the frame), and a detection that cannot be placed (a
//! `frame` param that is not a frame index, or names a frame the batch lacks) is left
//! out with a warning. `fail-mode` (`pass` | `redact` | `drop`) decides what happens
//! to a buffer that cannot be drawn at all; `redact` is fail-closed for privacy.
//!
//! On GStreamer CUDA memory the element takes part in GStreamer's CUDA context sharing
//! (context type `gst.cuda.context`): it answers its neighbours' context queries with a
//! `GstCudaContext` wrapping the CUDA context its kernels run in, so `cudaupload`,
//! `cudadownload` and the nvcodec elements allocate there and frames are drawn in place.
//! If the application sets another CUDA context on the pipeline, the element leaves it
//! be and draws such memory through a staging copy. The read-only properties
//! `cuda-in-place` and `cuda-copies` count the buffers drawn each way.
//!
//! Caps other than RGBA/BGRA/RGBx/BGRx are refused at negotiation with a warning that
//! says what to insert; a buffer whose memory does not match its caps (or that cannot be
//! drawn for any other reason) passes through unchanged with a warning.
//!
//! ```text
//! gst-launch-1.0 videotestsrc ! video/x-raw,format=RGBA ! <detector> \
//!     ! cudadraw outline-width=4 blur-types=face,license-plate blur-kind=pixelate \
//!     ! videoconvert ! autovideosink
//! ```

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

mod imp;
mod settings;

glib::wrapper! {
    /// The `cudadraw` element (see the module docs for its properties).
    pub struct CudaDraw(ObjectSubclass<imp::CudaDraw>)
        @extends gstreamer_base::BaseTransform, gst::Element, gst::Object;
}

/// Where an outline lies relative to its box (property `outline-align`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstCudaDrawAlign")]
pub enum OutlineAlign {
    #[default]
    #[enum_value(name = "Inside the box", nick = "inside")]
    Inside = 0,
    #[enum_value(name = "Centred on the box edge", nick = "center")]
    Center = 1,
    #[enum_value(name = "Outside the box", nick = "outside")]
    Outside = 2,
}

/// How ROIs of a `blur-types` type are hidden (property `blur-kind`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstCudaDrawBlurKind")]
pub enum BlurMode {
    #[default]
    #[enum_value(name = "Box blur (radius = strength)", nick = "box")]
    Box = 0,
    #[enum_value(name = "Gaussian blur (sigma = strength)", nick = "gaussian")]
    Gaussian = 1,
    #[enum_value(name = "Pixelate (cell size = strength)", nick = "pixelate")]
    Pixelate = 2,
    #[enum_value(name = "Solid redaction (redact-color)", nick = "solid")]
    Solid = 3,
}

/// What happens to a buffer that cannot be drawn as asked (property `fail-mode`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstCudaDrawFailMode")]
pub enum FailModeProp {
    #[default]
    #[enum_value(name = "Pass the buffer on undrawn, with a warning", nick = "pass")]
    Pass = 0,
    #[enum_value(
        name = "Draw only the blur-types regions, opaque; drop the buffer if that fails",
        nick = "redact"
    )]
    Redact = 1,
    #[enum_value(name = "Drop the buffer", nick = "drop")]
    Drop = 2,
}

impl From<FailModeProp> for crate::gst::probe::FailMode {
    fn from(m: FailModeProp) -> Self {
        match m {
            FailModeProp::Pass => Self::PassThrough,
            FailModeProp::Redact => Self::Redact,
            FailModeProp::Drop => Self::Drop,
        }
    }
}

/// Registers `cudadraw` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "cudadraw",
        gst::Rank::NONE,
        CudaDraw::static_type(),
    )
}

/// Registers `cudadraw` in-process, without a plugin (see [`crate::gst::register`]).
pub(crate) fn register_static() -> Result<(), glib::BoolError> {
    gst::Element::register(None, "cudadraw", gst::Rank::NONE, CudaDraw::static_type())
}
