//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in cudadraw. Validation errors are raised before any
/// pixel is written: a call that returns one of them leaves every frame untouched.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame descriptor is unusable (null pointer, bad pitch, zero or absurd size...).
    #[error("invalid frame {index}: {reason}")]
    InvalidFrame { index: usize, reason: String },

    /// A draw operation is out of its documented range.
    #[error("frame {frame}, op {op}: {reason}")]
    InvalidOp {
        frame: usize,
        op: usize,
        reason: String,
    },

    /// An overlay refers to an image handle this renderer does not know.
    #[error("frame {frame}, op {op}: unknown image handle {image}")]
    UnknownImage { frame: usize, op: usize, image: u32 },

    /// A text op names a font handle this store does not know.
    #[error("frame {frame}, op {op}: unknown font handle {font}")]
    UnknownFont { frame: usize, op: usize, font: u32 },

    /// A font file is unusable (not a font, truncated, too large), or text cannot be
    /// measured with it.
    #[error("invalid font: {0}")]
    InvalidFont(String),

    /// An overlay image is malformed (size, data length).
    #[error("invalid image: {0}")]
    InvalidImage(String),

    /// A call asks for more work than the configured [`crate::draw::Limits`] allow.
    #[error("{what} exceeds the limit of {limit} (see cudadraw::draw::Limits)")]
    LimitExceeded { what: String, limit: usize },

    /// Two frames of a batch share memory: drawing them in parallel would race.
    #[error("frames {first} and {second} of the batch overlap in memory")]
    OverlappingFrames { first: usize, second: usize },

    /// The number of draw lists does not match the number of frames.
    #[error("batch has {frames} frames but {lists} draw lists")]
    BatchMismatch { frames: usize, lists: usize },

    /// A scene file could not be read or parsed.
    #[error("scene: {0}")]
    Scene(String),

    /// No CUDA driver or device is available on this machine.
    #[error("no CUDA device available: {0}")]
    NoCudaDevice(String),

    /// A CUDA driver call failed; `op` names what cudadraw was doing.
    #[cfg(feature = "cuda")]
    #[error("CUDA error during {op}: {source}")]
    Cuda {
        op: &'static str,
        #[source]
        source: cudarc::driver::DriverError,
    },

    /// A pixel format cudadraw cannot draw on (e.g. NV12).
    #[error("unsupported pixel format: {0}")]
    UnsupportedFormat(String),

    /// An NvBufSurface descriptor is malformed or cannot be handled.
    #[error("NvBufSurface ({abi}): {reason}")]
    NvBufSurface { abi: String, reason: String },

    /// A GStreamer buffer, memory or caps problem.
    #[error("GStreamer: {0}")]
    Gst(String),

    /// I/O (scene files, images).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
