//! Caps: the one list of formats cudadraw draws, the caps it accepts (system memory,
//! `memory:CUDAMemory`, `memory:NVMM`), and parsing negotiated caps into a
//! [`StreamInfo`]. The element's templates, the probe's parsing and the synthetic NVMM
//! elements all read these.

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

use crate::color::PixelFormat;
use crate::error::{Error, Result};
use crate::planar::{PlanarInfo, PlanarLayout, Plane, YuvMatrix, YuvRange};

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

/// The planar formats cudadraw draws (system memory, CUDA memory and NVMM).
pub const PLANAR: [(gst_video::VideoFormat, PlanarLayout); 2] = [
    (gst_video::VideoFormat::Nv12, PlanarLayout::Nv12),
    (gst_video::VideoFormat::I420, PlanarLayout::I420),
];

/// The planar layout cudadraw draws for a GStreamer video format, if any.
pub fn planar_layout(format: gst_video::VideoFormat) -> Option<PlanarLayout> {
    PLANAR.iter().find(|(f, _)| *f == format).map(|(_, l)| *l)
}

/// The Y'CbCr matrix and range of planar video: the caps' colorimetry (BT.601, BT.709,
/// BT.2020 matrices; full or limited range). `VideoInfo` already fills in GStreamer's
/// defaults for caps without colorimetry (BT.709 above 576 rows, BT.601 otherwise,
/// limited range; newer GStreamer releases may pick BT.2020 for UHD, which is then
/// taken as given); a matrix it still reports as unknown (or one cudadraw has no
/// coefficients for: RGB, FCC, SMPTE 240M) takes the same SD/HD rule, and an unknown
/// range is limited.
pub fn yuv_colour(video: &gst_video::VideoInfo) -> (YuvMatrix, YuvRange) {
    let c = video.colorimetry();
    let matrix = match c.matrix() {
        gst_video::VideoColorMatrix::Bt601 => YuvMatrix::Bt601,
        gst_video::VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
        gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::Bt2020,
        _ if video.height() > 576 => YuvMatrix::Bt709,
        _ => YuvMatrix::Bt601,
    };
    let range = match c.range() {
        gst_video::VideoColorRange::Range0_255 => YuvRange::Full,
        _ => YuvRange::Limited,
    };
    (matrix, range)
}

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

/// Raw video caps of the planar formats (NV12, I420) with memory `feature`.
pub fn planar_caps(feature: Option<&str>) -> gst::Caps {
    let c = gst_video::VideoCapsBuilder::new().format_list(PLANAR.iter().map(|(f, _)| *f));
    match feature {
        Some(f) => c.features([f]).build(),
        None => c.build(),
    }
}

/// What the `cudadraw` element accepts: the packed formats, NV12 and I420, in system
/// memory, CUDA memory and NVMM.
pub fn template_caps() -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    if let Some(c) = caps.get_mut() {
        c.append(drawable_caps(None));
        c.append(planar_caps(None));
        c.append(drawable_caps(Some(CAPS_FEATURE_CUDA)));
        c.append(planar_caps(Some(CAPS_FEATURE_CUDA)));
        c.append(drawable_caps(Some(CAPS_FEATURE_NVMM)));
        c.append(planar_caps(Some(CAPS_FEATURE_NVMM)));
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

/// What a stream's frames are drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// A packed 4-byte format.
    Packed(PixelFormat),
    /// NV12 or I420, with the matrix and range of the caps' colorimetry
    /// ([`yuv_colour`]).
    Planar {
        layout: PlanarLayout,
        matrix: YuvMatrix,
        range: YuvRange,
    },
}

impl StreamFormat {
    /// What frames of `video` are drawn as: a packed format, or NV12 / I420 with the
    /// matrix and range of its colorimetry; any other format is
    /// [`Error::UnsupportedFormat`].
    pub fn of_video(video: &gst_video::VideoInfo) -> Result<Self> {
        match (pixel_format(video.format()), planar_layout(video.format())) {
            (Some(p), _) => Ok(StreamFormat::Packed(p)),
            (None, Some(layout)) => {
                let (matrix, range) = yuv_colour(video);
                Ok(StreamFormat::Planar {
                    layout,
                    matrix,
                    range,
                })
            }
            (None, None) => Err(Error::UnsupportedFormat(format!(
                "{} (cudadraw draws on RGBA, BGRA, RGBx, BGRx, NV12 and I420; put videoconvert or nvvideoconvert before it)",
                video.format().to_str()
            ))),
        }
    }

    /// The packed pixel format, if the stream is packed.
    pub fn packed(self) -> Option<PixelFormat> {
        match self {
            StreamFormat::Packed(p) => Some(p),
            StreamFormat::Planar { .. } => None,
        }
    }

    /// The packed pixel format, or [`Error::UnsupportedFormat`] naming `what` (a path
    /// that draws packed frames only).
    pub fn require_packed(self, what: &str) -> Result<PixelFormat> {
        match self {
            StreamFormat::Packed(p) => Ok(p),
            StreamFormat::Planar { layout, .. } => Err(Error::UnsupportedFormat(format!(
                "{} on {what}: only RGBA, BGRA, RGBx and BGRx are drawn there",
                layout.name()
            ))),
        }
    }
}

/// A stream's negotiated layout: memory kind, video info, format drawn.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// Where the pixels live.
    pub memory: MemoryKind,
    /// The parsed caps (size, format, strides of the default layout).
    pub video: gst_video::VideoInfo,
    /// What the frames are drawn as.
    pub format: StreamFormat,
}

impl StreamInfo {
    /// Parses fixed `video/x-raw` caps. Formats other than RGBA, BGRA, RGBx, BGRx, NV12
    /// and I420 (in any memory) are [`Error::UnsupportedFormat`].
    pub fn from_caps(caps: &gst::CapsRef) -> Result<Self> {
        let memory = match caps.features(0) {
            Some(f) if f.contains(CAPS_FEATURE_NVMM) => MemoryKind::Nvmm,
            Some(f) if f.contains(CAPS_FEATURE_CUDA) => MemoryKind::Cuda,
            _ => MemoryKind::System,
        };
        let video = gst_video::VideoInfo::from_caps(caps)
            .map_err(|e| Error::Gst(format!("caps {caps} are not raw video: {e}")))?;
        let format = StreamFormat::of_video(&video)?;
        Ok(Self {
            memory,
            video,
            format,
        })
    }
}

/// The planes of an NV12 / I420 buffer of `video`: offsets and strides from its
/// `GstVideoMeta` (which must agree with the caps' format and size), else from
/// `fallback` (offsets, strides: the caps' default layout for system memory, the
/// memory's own for CUDA memory), as `gst_video_frame_map` reads them.
pub fn planar_info(
    buffer: &gst::BufferRef,
    video: &gst_video::VideoInfo,
    layout: PlanarLayout,
    matrix: YuvMatrix,
    range: YuvRange,
    fallback: (&[usize], &[i32]),
) -> Result<PlanarInfo> {
    let v = video;
    // Fixed arrays: no allocation per buffer.
    let (mut offsets, mut strides) = ([0usize; 4], [0i32; 4]);
    let planes = match buffer.meta::<gst_video::VideoMeta>() {
        Some(m) => {
            if m.format() != v.format() || m.width() != v.width() || m.height() != v.height() {
                return Err(Error::Gst(format!(
                    "the buffer's video meta ({} {}x{}) disagrees with the caps ({} {}x{})",
                    m.format().to_str(),
                    m.width(),
                    m.height(),
                    v.format().to_str(),
                    v.width(),
                    v.height()
                )));
            }
            let n = (m.n_planes() as usize).min(4);
            offsets[..n].copy_from_slice(&m.offset()[..n]);
            strides[..n].copy_from_slice(&m.stride()[..n]);
            n
        }
        None => {
            let n = fallback.0.len().min(fallback.1.len()).min(4);
            offsets[..n].copy_from_slice(&fallback.0[..n]);
            strides[..n].copy_from_slice(&fallback.1[..n]);
            n
        }
    };
    let mut pi = PlanarInfo::tight(v.width(), v.height(), layout).with_colour(matrix, range);
    for (i, p) in pi.planes.iter_mut().enumerate().take(layout.planes()) {
        if i >= planes {
            return Err(Error::Gst(format!(
                "{} buffer without plane {i} in its layout",
                layout.name()
            )));
        }
        let pitch = usize::try_from(strides[i])
            .map_err(|_| Error::Gst("negative stride (bottom-up frames are not drawn)".into()))?;
        *p = Some(Plane {
            offset: offsets[i],
            pitch,
        });
    }
    Ok(pi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_list_of_formats_everywhere() {
        gst::init().unwrap();
        let t = template_caps();
        assert_eq!(t.size(), 6);
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
                assert_eq!(info.format, StreamFormat::Packed(pf));
            }
        }
        assert_eq!(pixel_format(gst_video::VideoFormat::Nv12), None);
        let planar = |f, feature: Option<&str>| {
            let c = gst_video::VideoCapsBuilder::new()
                .format(f)
                .width(8)
                .height(8)
                .framerate(gst::Fraction::new(30, 1));
            match feature {
                Some(x) => c.features([x]).build(),
                None => c.build(),
            }
        };
        for (vf, layout) in PLANAR {
            let sys = planar(vf, None);
            assert!(sys.can_intersect(&t), "{sys}");
            assert_eq!(
                StreamInfo::from_caps(&sys).unwrap().format,
                StreamFormat::Planar {
                    layout,
                    matrix: YuvMatrix::Bt601,
                    range: YuvRange::Limited
                }
            );
            let nvmm = planar(vf, Some(CAPS_FEATURE_NVMM));
            assert!(nvmm.can_intersect(&t), "{nvmm}");
            assert!(matches!(
                StreamInfo::from_caps(&nvmm).unwrap().format,
                StreamFormat::Planar { .. }
            ));
            let cuda = planar(vf, Some(CAPS_FEATURE_CUDA));
            assert!(cuda.can_intersect(&t), "{cuda}");
            let info = StreamInfo::from_caps(&cuda).unwrap();
            assert_eq!(info.memory, MemoryKind::Cuda);
            assert!(matches!(info.format, StreamFormat::Planar { .. }));
        }
        let yuy2 = planar(gst_video::VideoFormat::Yuy2, None);
        assert!(!yuy2.can_intersect(&t));
        assert!(matches!(
            StreamInfo::from_caps(&yuy2),
            Err(Error::UnsupportedFormat(_))
        ));
        assert!(describe_formats(&yuy2).contains("YUY2"));
    }

    #[test]
    fn colorimetry_gives_matrix_and_range() {
        use gst_video::{VideoColorMatrix as M, VideoColorRange as R};
        gst::init().unwrap();
        let info = |h: u32, c: Option<(R, M)>| {
            let b = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, 64, h);
            let b = match c {
                Some((r, m)) => b.colorimetry(&gst_video::VideoColorimetry::new(
                    r,
                    m,
                    gst_video::VideoTransferFunction::Bt709,
                    gst_video::VideoColorPrimaries::Bt709,
                )),
                None => b,
            };
            let caps = b.build().unwrap().to_caps().unwrap();
            yuv_colour(&gst_video::VideoInfo::from_caps(&caps).unwrap())
        };
        // No colorimetry in the caps: GStreamer's defaults by height.
        assert_eq!(info(480, None), (YuvMatrix::Bt601, YuvRange::Limited));
        assert_eq!(info(720, None), (YuvMatrix::Bt709, YuvRange::Limited));
        assert_eq!(
            info(480, Some((R::Range0_255, M::Bt709))),
            (YuvMatrix::Bt709, YuvRange::Full)
        );
        assert_eq!(
            info(1080, Some((R::Range16_235, M::Bt601))),
            (YuvMatrix::Bt601, YuvRange::Limited)
        );
        assert_eq!(
            info(480, Some((R::Range0_255, M::Bt2020))),
            (YuvMatrix::Bt2020, YuvRange::Full)
        );
        // Matrices without coefficients here: the height rule.
        assert_eq!(
            info(1080, Some((R::Unknown, M::Unknown))),
            (YuvMatrix::Bt709, YuvRange::Limited)
        );
        assert_eq!(
            info(240, Some((R::Range0_255, M::Fcc))),
            (YuvMatrix::Bt601, YuvRange::Full)
        );
    }
}
