//! Caps: the one list of formats cudadraw draws, the caps it accepts (system memory,
//! `memory:CUDAMemory`, `memory:NVMM`), and parsing negotiated caps into a
//! [`StreamInfo`]. The element's templates, the probe's parsing and the synthetic NVMM
//! elements all read these.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

use crate::color::PixelFormat;
use crate::error::{Error, Result};

/// Caps feature of DeepStream (and synthetic) NvBufSurface batches.
pub const CAPS_FEATURE_NVMM: &str = "memory:NVMM";
/// Caps feature of upstream GStreamer CUDA memory (`cudaupload`, nvcodec).
pub const CAPS_FEATURE_CUDA: &str = "memory:CUDAMemory";

/// The formats cudadraw draws: GStreamer's name for each, and the pixel format.
pub const DRAWABLE: [(gst_video::VideoFormat, PixelFormat); 4] = [
    (gst_video::VideoFormat::Rgba, PixelFormat::Rgba),
    (gst_video::VideoFormat::Bgra, PixelFormat::Bgra),
    (gst_video::VideoFormat::Rgbx, PixelFormat::Rgbx),
    (gst_video::VideoFormat::Bgrx, PixelFormat::Bgrx),
];

/// The pixel format cudadraw draws for a GStreamer video format, if any.
pub fn pixel_format(format: gst_video::VideoFormat) -> Option<PixelFormat> {
    DRAWABLE.iter().find(|(f, _)| *f == format).map(|(_, p)| *p)
}

/// Raw video caps of the drawable formats with memory `feature` (`None`: system
/// memory), any size and rate.
pub fn drawable_caps(feature: Option<&str>) -> gst::Caps {
    let c = gst_video::VideoCapsBuilder::new().format_list(DRAWABLE.iter().map(|(f, _)| *f));
    match feature {
        Some(f) => c.features([f]).build(),
        None => c.build(),
    }
}

/// What the `cudadraw` element accepts: the drawable formats in system memory, CUDA
/// memory and NVMM.
pub fn template_caps() -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    if let Some(c) = caps.get_mut() {
        for feature in [None, Some(CAPS_FEATURE_CUDA), Some(CAPS_FEATURE_NVMM)] {
            c.append(drawable_caps(feature));
        }
    }
    caps
}

/// The `format` values (and caps features) of `caps`, for messages.
pub fn describe_formats(caps: &gst::CapsRef) -> String {
    let mut out: Vec<String> = Vec::new();
    for (s, f) in caps.iter_with_features() {
        let feature = if f.is_any() || f.size() == 0 {
            String::new()
        } else {
            format!("({f})")
        };
        let formats = match s.value("format") {
            Ok(v) => match v.get::<&str>() {
                Ok(one) => one.to_string(),
                Err(_) => v
                    .serialize()
                    .map(|g| g.to_string())
                    .unwrap_or_else(|_| "?".into()),
            },
            Err(_) => "any format".into(),
        };
        let item = format!("{} {formats}{feature}", s.name());
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out.join("; ")
}

/// Where a stream's pixels live, from its caps features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryKind {
    /// Plain system memory, drawn by the CPU renderer.
    System,
    /// `memory:CUDAMemory`: device memory of GStreamer's CUDA library.
    Cuda,
    /// `memory:NVMM`: an NvBufSurface descriptor in the buffer.
    Nvmm,
}

impl MemoryKind {
    /// The caps feature naming this memory (`memory:SystemMemory` for system memory).
    pub fn caps_feature(self) -> &'static str {
        match self {
            MemoryKind::System => "memory:SystemMemory",
            MemoryKind::Cuda => CAPS_FEATURE_CUDA,
            MemoryKind::Nvmm => CAPS_FEATURE_NVMM,
        }
    }
}

/// A stream's negotiated layout: memory kind, video info, pixel format.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// Where the pixels live.
    pub memory: MemoryKind,
    /// The parsed caps (size, format, strides of the default layout).
    pub video: gst_video::VideoInfo,
    /// The pixel format drawn.
    pub format: PixelFormat,
}

impl StreamInfo {
    /// Parses fixed `video/x-raw` caps. Formats other than RGBA, BGRA, RGBx, BGRx are
    /// [`Error::UnsupportedFormat`].
    pub fn from_caps(caps: &gst::CapsRef) -> Result<Self> {
        let memory = match caps.features(0) {
            Some(f) if f.contains(CAPS_FEATURE_NVMM) => MemoryKind::Nvmm,
            Some(f) if f.contains(CAPS_FEATURE_CUDA) => MemoryKind::Cuda,
            _ => MemoryKind::System,
        };
        let video = gst_video::VideoInfo::from_caps(caps)
            .map_err(|e| Error::Gst(format!("caps {caps} are not raw video: {e}")))?;
        let format = pixel_format(video.format()).ok_or_else(|| {
            Error::UnsupportedFormat(format!(
                "{} (cudadraw draws on RGBA, BGRA, RGBx and BGRx; put videoconvert or nvvideoconvert before it)",
                video.format().to_str()
            ))
        })?;
        Ok(Self {
            memory,
            video,
            format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_list_of_formats_everywhere() {
        gst::init().unwrap();
        let t = template_caps();
        assert_eq!(t.size(), 3);
        for (vf, pf) in DRAWABLE {
            assert_eq!(pixel_format(vf), Some(pf));
            for feature in [None, Some(CAPS_FEATURE_CUDA), Some(CAPS_FEATURE_NVMM)] {
                let c = gst_video::VideoCapsBuilder::new()
                    .format(vf)
                    .width(8)
                    .height(8)
                    .framerate(gst::Fraction::new(30, 1));
                let c = match feature {
                    Some(f) => c.features([f]).build(),
                    None => c.build(),
                };
                assert!(c.can_intersect(&t), "{c}");
                let info = StreamInfo::from_caps(&c).unwrap();
                assert_eq!(info.format, pf);
            }
        }
        assert_eq!(pixel_format(gst_video::VideoFormat::Nv12), None);
        let nv12 = gst_video::VideoCapsBuilder::new()
            .format(gst_video::VideoFormat::Nv12)
            .width(8)
            .height(8)
            .framerate(gst::Fraction::new(30, 1))
            .build();
        assert!(!nv12.can_intersect(&t));
        assert!(matches!(
            StreamInfo::from_caps(&nv12),
            Err(Error::UnsupportedFormat(_))
        ));
        assert!(describe_formats(&nv12).contains("NV12"));
    }
}
