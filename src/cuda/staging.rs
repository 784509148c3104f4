//! Frames in another CUDA context than the renderer's (GStreamer CUDA memory allocated
//! in a context of GStreamer's own): kernels cannot address them, so such a frame is
//! copied into a device buffer of the renderer's context (kept between buffers), drawn
//! there and copied back. Correct, but two frame copies and whole-context waits per
//! buffer: sharing the renderer's context with the pipeline avoids it.
//!
//! Only the rows of each plane are copied, by 2D copies into planes of a pitch of
//! their own (so the staging buffer holds no padding, and the frame's padding is never
//! written back). compute-sanitizer's initcheck still reports the frame's unwritten
//! padding as read "by cudaMemcpy source": it counts a pitched copy's whole bounding
//! range, whatever the pitches (docs/gpu-run.md, 2026-12-03); row-by-row copies would
//! silence it at a thousand driver calls a frame.

use cudarc::driver::sys;

use super::context::{self, ContextHandle, CtxGuard, check};
use crate::error::Result;

/// The bytes of one plane of a frame: `rows` rows of `row` bytes, `pitch` apart, the
/// first at `offset` from the frame's address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PlaneRows {
    pub offset: usize,
    pub row: usize,
    pub rows: usize,
    pub pitch: usize,
}

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

    /// Copies the `planes` of the frame at `ptr` (memory of context `owner`, `len`
    /// bytes from its first to one past its last) into the staging buffer of `ours`,
    /// each plane's rows packed at a pitch of their own (4-byte aligned), runs `draw`
    /// on the copy's address and staged planes, and copies the planes back;
    /// everything is complete on return.
    pub(crate) fn draw<R>(
        &mut self,
        ptr: u64,
        len: usize,
        planes: &[PlaneRows],
        owner: ContextHandle,
        ours: ContextHandle,
        draw: impl FnOnce(u64, &[PlaneRows]) -> Result<R>,
    ) -> Result<R> {
        let outside = |p: &PlaneRows| {
            p.row > p.pitch
                || p.rows
                    .checked_sub(1)
                    .and_then(|r| r.checked_mul(p.pitch))
                    .and_then(|b| b.checked_add(p.offset.checked_add(p.row)?))
                    .is_none_or(|end| end > len)
        };
        if planes.len() > 3 || planes.iter().any(outside) {
            return Err(crate::Error::InvalidFrame {
                index: 0,
                reason: "a plane's rows lie outside the frame's bytes".into(),
            });
        }
        // The staged layout: planes one after the other, rows 4-byte aligned (the
        // kernels' word access), no padding to carry.
        let mut staged_planes = [PlaneRows::default(); 3];
        let mut staged_len = 0usize;
        for (s, p) in staged_planes.iter_mut().zip(planes) {
            let pitch = p.row.next_multiple_of(4);
            *s = PlaneRows {
                offset: staged_len,
                pitch,
                ..*p
            };
            // Bounded by `len` (checked above): rows * pitch <= len + 3 * rows.
            staged_len += pitch * p.rows;
        }
        let staged_planes = &staged_planes[..planes.len()];
        // Whoever wrote the frame may have left work in flight in its context, and no
        // stream orders work across contexts: wait for it, then for ours.
        context::synchronize(owner)?;
        context::synchronize(ours)?;
        self.ensure(ours, staged_len.max(1))?;
        let staged = self.ptr;
        {
            let _g = CtxGuard::push(ours.raw())?;
            for (p, s) in planes.iter().zip(staged_planes) {
                // SAFETY: the frame holds the plane's rows (checked above against
                // `len`) and the staging buffer the staged plane (sized above).
                unsafe {
                    copy_rows(
                        (staged, ours, s),
                        (ptr, owner, p),
                        "cuMemcpy3DPeer (to staging)",
                    )
                }?;
            }
        }
        // A peer copy may return before it is done, and the renderer's stream need
        // not wait for it: the staged frame must be complete first.
        context::synchronize(ours)?;
        let r = draw(staged, staged_planes)?;
        {
            let _g = CtxGuard::push(ours.raw())?;
            for (p, s) in planes.iter().zip(staged_planes) {
                // SAFETY: as above, in the other direction; the render waited for its
                // work.
                unsafe {
                    copy_rows(
                        (ptr, owner, p),
                        (staged, ours, s),
                        "cuMemcpy3DPeer (from staging)",
                    )
                }?;
            }
        }
        // The frame must be complete when it is unmapped and handed downstream.
        context::synchronize(owner)?;
        context::synchronize(ours)?;
        Ok(r)
    }
}

/// Copies one plane's rows from `src` to `dst` (device address, context, where the
/// plane lies there: same row bytes and rows) with one 2D peer copy; `what` names it
/// in errors.
///
/// # Safety
/// Both addresses must hold their plane's rows in device memory of their contexts.
unsafe fn copy_rows(
    (dst, dst_ctx, d): (u64, ContextHandle, &PlaneRows),
    (src, src_ctx, s): (u64, ContextHandle, &PlaneRows),
    what: &'static str,
) -> Result<()> {
    if s.rows == 0 || s.row == 0 {
        return Ok(());
    }
    let copy = sys::CUDA_MEMCPY3D_PEER {
        srcXInBytes: 0,
        srcY: 0,
        srcZ: 0,
        srcLOD: 0,
        srcMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_DEVICE,
        srcHost: std::ptr::null(),
        srcDevice: src + s.offset as u64,
        srcArray: std::ptr::null_mut(),
        srcContext: src_ctx.raw(),
        srcPitch: s.pitch,
        srcHeight: s.rows,
        dstXInBytes: 0,
        dstY: 0,
        dstZ: 0,
        dstLOD: 0,
        dstMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_DEVICE,
        dstHost: std::ptr::null_mut(),
        dstDevice: dst + d.offset as u64,
        dstArray: std::ptr::null_mut(),
        dstContext: dst_ctx.raw(),
        dstPitch: d.pitch,
        dstHeight: d.rows,
        WidthInBytes: s.row,
        Height: s.rows,
        Depth: 1,
    };
    // SAFETY: a fully initialised descriptor over memory the caller vouches for.
    check(what, unsafe { sys::cuMemcpy3DPeer(&copy) })
}

impl Drop for ForeignStaging {
    fn drop(&mut self) {
        self.release();
    }
}
