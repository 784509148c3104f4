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
//! // SAFETY: the pad's caps are video/x-raw(memory:NVMM): DeepStream made this buffer.
//! let batch = unsafe { NvmmBatch::from_buffer(buffer, &NvmmOptions::default()) }?;
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
pub mod frame;
pub mod map;
pub mod surface;
#[cfg(feature = "synthetic-nvmm")]
pub mod synthetic;

use std::path::PathBuf;

pub use abi::Abi;
pub use frame::{MemType, NvmmFrame};
pub use surface::{NvmmBatch, RenderPath};

/// How NVMM buffers are read and drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvmmOptions {
    /// The descriptor layout to expect; `None` takes it from `CUDADRAW_NVMM_ABI` if
    /// set, else from the descriptor's size (64 bytes: 4.0-7.1, 72: 8.0+). A
    /// descriptor whose size belongs to the other ABI is an error.
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
    /// The ABI of a descriptor of `len` bytes under these options: the one its size
    /// says, confirmed against the one asked for (here or in `CUDADRAW_NVMM_ABI`).
    pub fn abi_for(&self, len: usize) -> crate::Result<Abi> {
        let asked = match self.abi {
            Some(a) => Some((a, "NvmmOptions::abi")),
            None => Abi::from_env()?.map(|a| (a, abi::ABI_ENV)),
        };
        match (Abi::from_descriptor_size(len), asked) {
            (Some(by_size), None) => Ok(by_size),
            (Some(by_size), Some((a, _))) if by_size == a => Ok(a),
            (Some(by_size), Some((a, source))) => Err(a.error(format!(
                "the descriptor is {len} bytes, an NvBufSurface of the {by_size}, but {source} \
                 asks for the {a}"
            ))),
            (None, asked) => {
                let msg = format!(
                    "buffer of {len} bytes is not an NvBufSurface descriptor (exactly {} bytes \
                     for DeepStream 4.0-7.1, {} for 8.0+): is it really memory:NVMM?",
                    Abi::Ds4To7.surface_size(),
                    Abi::Ds8.surface_size()
                );
                Err(match asked {
                    Some((a, _)) => a.error(msg),
                    None => crate::Error::NvBufSurface {
                        abi: "no ABI".into(),
                        reason: msg,
                    },
                })
            }
        }
    }
}
