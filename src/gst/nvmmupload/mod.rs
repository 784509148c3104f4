//! `nvmmsynthupload` (feature `synthetic-nvmm`): system-memory RGBA/BGRA/RGBx/BGRx
//! frames to `video/x-raw(memory:NVMM)` batches laid out exactly like DeepStream's
//! (see [`crate::nvmm::synthetic`]), so DeepStream code paths run on any CUDA machine.
//!
//! It collects `batch-size` consecutive frames into one `NvBufSurface` batch (a partial
//! batch is pushed at EOS) in CUDA `memory-type` memory on GPU `gpu-id`, in the `abi`
//! layout. `nvmmsynthdownload` turns batches back into single frames.
//!
//! ```text
//! gst-launch-1.0 videotestsrc num-buffers=8 ! video/x-raw,format=RGBA \
//!     ! nvmmsynthupload batch-size=4 memory-type=unified abi=ds8 \
//!     ! cudadraw ! nvmmsynthdownload abi=ds8 ! pngenc ! multifilesink location=f%02d.png
//! ```
//!
//! Properties:
//! - `batch-size` (uint, 1-4096, default 1): frames per batch (`batchSize`).
//! - `memory-type` (`device` | `pinned` | `unified`, default `device`): where frames live.
//! - `abi` (`auto` | `ds4to7` | `ds8`, default `auto` = [`crate::nvmm::Abi::detect`]).
//! - `gpu-id` (uint, default 0): CUDA device of the frames (`gpuId`).

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

use crate::nvmm::{Abi, MemType};

mod imp;

glib::wrapper! {
    /// The `nvmmsynthupload` element.
    pub struct NvmmSynthUpload(ObjectSubclass<imp::NvmmSynthUpload>)
        @extends gst::Element, gst::Object;
}

/// Memory of synthetic batches (property `memory-type`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstNvmmSynthMemType")]
pub enum SynthMemType {
    #[default]
    #[enum_value(name = "CUDA device memory (NVBUF_MEM_CUDA_DEVICE)", nick = "device")]
    Device = 2,
    #[enum_value(
        name = "CUDA pinned host memory (NVBUF_MEM_CUDA_PINNED)",
        nick = "pinned"
    )]
    Pinned = 1,
    #[enum_value(
        name = "CUDA managed memory (NVBUF_MEM_CUDA_UNIFIED)",
        nick = "unified"
    )]
    Unified = 3,
}

impl From<SynthMemType> for MemType {
    fn from(m: SynthMemType) -> Self {
        match m {
            SynthMemType::Device => MemType::CudaDevice,
            SynthMemType::Pinned => MemType::CudaPinned,
            SynthMemType::Unified => MemType::CudaUnified,
        }
    }
}

/// NvBufSurface layout (property `abi` of both synthetic elements).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstNvmmSynthAbi")]
pub enum SynthAbi {
    #[default]
    #[enum_value(
        name = "Detected (CUDADRAW_NVMM_ABI, DeepStream version file)",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "DeepStream 4.0-7.1", nick = "ds4to7")]
    Ds4To7 = 1,
    #[enum_value(name = "DeepStream 8.0+", nick = "ds8")]
    Ds8 = 2,
}

impl SynthAbi {
    /// The ABI named, `None` for `Auto` (consumers read it off the descriptor).
    pub fn explicit(self) -> Option<Abi> {
        match self {
            SynthAbi::Auto => None,
            SynthAbi::Ds4To7 => Some(Abi::Ds4To7),
            SynthAbi::Ds8 => Some(Abi::Ds8),
        }
    }

    /// The ABI selected (`Auto` detects).
    pub fn resolve(self) -> crate::Result<Abi> {
        match self {
            SynthAbi::Auto => Abi::detect(),
            SynthAbi::Ds4To7 => Ok(Abi::Ds4To7),
            SynthAbi::Ds8 => Ok(Abi::Ds8),
        }
    }
}

/// `caps` with every structure's features replaced by `feature` (`None`: system memory).
pub(crate) fn with_feature(caps: &gst::CapsRef, feature: Option<&str>) -> gst::Caps {
    if caps.is_any() {
        return caps.to_owned();
    }
    let mut out = gst::Caps::new_empty();
    {
        let Some(out_mut) = out.get_mut() else {
            return out;
        };
        for s in caps.iter() {
            out_mut
                .append_structure_full(s.to_owned(), feature.map(|f| gst::CapsFeatures::new([f])));
        }
    }
    out
}

/// Caps a pad can accept: what the other side's peer accepts, with memory features
/// swapped (`peer_feature` there, `own_feature` here), within `template`.
pub(crate) fn translated_caps(
    other: &gst::Pad,
    filter: Option<&gst::CapsRef>,
    peer_feature: Option<&str>,
    own_feature: Option<&str>,
    template: &gst::Caps,
) -> gst::Caps {
    let peer_filter = filter.map(|f| with_feature(f, peer_feature));
    let peer = other.peer_query_caps(peer_filter.as_ref());
    let mut caps = if peer.is_any() {
        template.clone()
    } else {
        with_feature(&peer, own_feature).intersect(template)
    };
    if let Some(f) = filter {
        caps = f
            .to_owned()
            .intersect_with_mode(&caps, gst::CapsIntersectMode::First);
    }
    caps
}

/// Raw video caps of the drawable formats, with `feature` (`None`: system memory).
pub(crate) fn template_caps(feature: Option<&str>) -> gst::Caps {
    crate::gst::caps::drawable_caps(feature)
}

/// Registers `nvmmsynthupload` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "nvmmsynthupload",
        gst::Rank::NONE,
        NvmmSynthUpload::static_type(),
    )
}

/// Registers `nvmmsynthupload` in-process, without a plugin (see [`crate::gst::register`]).
pub(crate) fn register_static() -> Result<(), glib::BoolError> {
    gst::Element::register(
        None,
        "nvmmsynthupload",
        gst::Rank::NONE,
        NvmmSynthUpload::static_type(),
    )
}
