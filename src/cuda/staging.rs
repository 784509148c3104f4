//! Frames in another CUDA context than the renderer's (GStreamer CUDA memory allocated
//! in a context of GStreamer's own): kernels cannot address them, so such a frame is
//! copied into a device buffer of the renderer's context (kept between buffers), drawn
//! there and copied back. Correct, but two frame copies and whole-context waits per
//! buffer: sharing the renderer's context with the pipeline avoids it.

use cudarc::driver::sys;

use super::context::{self, ContextHandle, CtxGuard, check};
use crate::error::Result;

/// A device buffer in the renderer's context. Grows to the largest frame seen.
#[derive(Debug, Default)]
pub struct ForeignStaging {
    ptr: u64,
    len: usize,
    /// The context the buffer was allocated in.
    ctx: Option<ContextHandle>,
}

impl ForeignStaging {
    fn ensure(&mut self, ctx: ContextHandle, len: usize) -> Result<()> {
        if self.ptr != 0 && self.ctx == Some(ctx) && self.len >= len {
            return Ok(());
        }
        self.release();
        let _g = CtxGuard::push(ctx.raw())?;
        let mut p: sys::CUdeviceptr = 0;
        // SAFETY: a plain allocation in the pushed context.
        check("cuMemAlloc (staging)", unsafe {
            sys::cuMemAlloc_v2(&mut p, len)
        })?;
        self.ptr = p;
        self.len = len;
        self.ctx = Some(ctx);
        Ok(())
    }

    fn release(&mut self) {
        if self.ptr == 0 {
            return;
        }
        if let Some(ctx) = self.ctx
            && let Ok(_g) = CtxGuard::push(ctx.raw())
        {
            // SAFETY: allocated in this context, unused now (every draw waited).
            let _ = unsafe { sys::cuMemFree_v2(self.ptr) };
        }
        self.ptr = 0;
        self.len = 0;
        self.ctx = None;
    }

    /// Copies the `len` bytes at `ptr` (memory of context `owner`) into the staging
    /// buffer of `ours`, runs `draw` on the copy's address and copies it back;
    /// everything is complete on return.
    pub(crate) fn draw<R>(
        &mut self,
        ptr: u64,
        len: usize,
        owner: ContextHandle,
        ours: ContextHandle,
        draw: impl FnOnce(u64) -> Result<R>,
    ) -> Result<R> {
        // Whoever wrote the frame may have left work in flight in its context, and no
        // stream orders work across contexts: wait for it, then for ours.
        context::synchronize(owner)?;
        context::synchronize(ours)?;
        self.ensure(ours, len)?;
        let staged = self.ptr;
        {
            let _g = CtxGuard::push(ours.raw())?;
            // SAFETY: both ranges hold `len` bytes in their contexts.
            check("cuMemcpyPeer (to staging)", unsafe {
                sys::cuMemcpyPeer(staged, ours.raw(), ptr, owner.raw(), len)
            })?;
        }
        // A peer copy may return before it is done, and the renderer's stream need
        // not wait for it: the staged frame must be complete first.
        context::synchronize(ours)?;
        let r = draw(staged)?;
        {
            let _g = CtxGuard::push(ours.raw())?;
            // SAFETY: as above, in the other direction; the render waited for its work.
            check("cuMemcpyPeer (from staging)", unsafe {
                sys::cuMemcpyPeer(ptr, owner.raw(), staged, ours.raw(), len)
            })?;
        }
        // The frame must be complete when it is unmapped and handed downstream.
        context::synchronize(owner)?;
        context::synchronize(ours)?;
        Ok(r)
    }
}

impl Drop for ForeignStaging {
    fn drop(&mut self) {
        self.release();
    }
}
