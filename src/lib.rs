//! # cudadraw
//!
//! Draw boxes, blurs and image overlays on RGBA video frames where they already live:
//! CUDA memory inside GStreamer and NVIDIA DeepStream pipelines (NvBufSurface), or
//! host memory (system memory, Jetson's mapped NVMM surfaces).
//!
//! Layers, lowest first: [`cmd`] (the integer command format every backend executes,
//! shared with the kernels), [`geom`], [`color`] and [`frame`] (what a frame and a
//! rectangle are); [`draw`] (the draw model, validation, scene files, PNG); the
//! backends [`cpu`] (the oracle) and `cuda` (kernels through cudarc: the only code that
//! talks to the driver; feature `cuda`, on by default); [`render`] (one door to both);
//! the frame sources [`nvmm`] (DeepStream descriptors); and [`gst`] (caps, pad probes,
//! the ROI policy, CUDA memory, the element). The exact bytes every backend writes are
//! specified in [`semantics`].

pub mod cmd;
pub mod color;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod draw;
pub mod error;
pub mod frame;
pub mod geom;
pub mod gst;
pub mod nvds;
pub mod nvmm;
pub mod planar;
pub mod render;

#[doc = include_str!("../docs/semantics.md")]
pub mod semantics {}

pub use color::{Color, PixelFormat};
pub use draw::{Align, BlurKind, Border, DrawList, Filter, Image, ImageId, ImageStore, Op};
pub use error::{Error, Result};
pub use frame::{DeviceFrame, FrameInfo, HostFrame};
pub use geom::{PixelRect, Rect};
