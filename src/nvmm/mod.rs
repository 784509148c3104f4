//! DeepStream `NvBufSurface` batches: from a GstBuffer of `video/x-raw(memory:NVMM)` to
//! drawn frames, in either DeepStream ABI and every memory type.
//!
//! - [`abi`]: both binary layouts (DeepStream 4.0-7.1 and 8.0+) and their detection.
//! - [`NvmmBatch`] ([`surface`]): maps a buffer read-only, validates the descriptor and
//!   exposes its frames; [`NvmmBatch::render`] draws on them through
//!   [`crate::render::Renderer`], picking the path from the memory type:
//!   CUDA device / pinned / unified / default memory go to the CUDA backend on the
//!   descriptor's GPU; Jetson's SURFACE_ARRAY / HANDLE go through the CPU map path
//!   ([`map`]: `NvBufSurfaceMap`, CPU renderer, `NvBufSurfaceUnMap`), with
//!   `libnvbufsurface.so` opened at run time; SYSTEM memory is drawn in place.
//! - `synthetic` (feature `synthetic-nvmm`): a producer of DeepStream-identical batches
//!   for machines without DeepStream.
//!
//! ```no_run
//! use cudadraw::nvmm::{NvmmBatch, NvmmOptions};
//! use cudadraw::render::Renderer;
//! use cudadraw::{Border, Color, DrawList, Rect};
//! # fn on_buffer(buffer: &gstreamer::BufferRef, renderer: &mut Renderer) -> cudadraw::Result<()> {
//! // In a pad probe on `video/x-raw(memory:NVMM)` caps (after nvstreammux, say):
//! let batch = NvmmBatch::from_buffer(buffer, &NvmmOptions::default())?;
//! let lists: Vec<DrawList> = batch
//!     .frames()
//!     .iter()
//!     .map(|f| {
//!         let mut l = DrawList::new();
//!         l.outline(Rect::new(10.0, 10.0, f.width as f32 / 2.0, 50.0), Border::new(4, Color::RED));
//!         l
//!     })
//!     .collect();
//! batch.render(renderer, &lists)?; // CUDA backend, or NvBufSurfaceMap on Jetson
//! # Ok(()) }
//! ```

pub mod abi;
pub mod map;
pub mod surface;
#[cfg(feature = "synthetic-nvmm")]
pub mod synthetic;

use std::path::PathBuf;

pub use abi::Abi;
pub use surface::{MemType, NvmmBatch, NvmmFrame, RenderPath};

/// How NVMM buffers are read and drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmmOptions {
    /// The descriptor layout; `None` detects it ([`Abi::detect`]).
    pub abi: Option<Abi>,
    /// Draw CUDA_UNIFIED memory through the CPU map path (`NvBufSurfaceMap`) instead of
    /// the CUDA backend, e.g. on hosts where the GPU is busy.
    pub force_cpu_map_for_unified: bool,
    /// `libnvbufsurface.so` to open for the CPU map path; `None` uses
    /// `CUDADRAW_NVBUFSURFACE_LIB`, then the DeepStream install, then the loader's
    /// search path.
    pub nvbufsurface_lib: Option<PathBuf>,
}

impl NvmmOptions {
    /// The ABI these options select.
    pub fn abi(&self) -> Abi {
        self.abi.unwrap_or_else(Abi::detect)
    }
}
