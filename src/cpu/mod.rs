//! The CPU renderer: the project's oracle, its system-memory path and its Jetson path.
//!
//! It executes the very [`CdCmd`]s the CUDA kernels execute (see [`crate::draw::resolve_batch`]),
//! byte for byte as [`crate::semantics`] specifies. Frames of a batch are drawn in
//! parallel; within a frame, runs of pointwise commands (boxes, solid redaction,
//! overlays) are drawn in parallel row bands, and each blur is a barrier: it reads the
//! frame as the earlier commands left it. Blurs use separable sliding sums, and every
//! scratch buffer lives in the renderer, so steady-state rendering allocates nothing.

mod blur;
mod mask;
pub(crate) mod planar;
mod pointwise;
pub(crate) mod shape;
pub mod simd;

use rayon::prelude::*;

use crate::cmd::{
    CD_FILTER_BILINEAR, CD_FILTER_NEAREST, CD_OP_BLUR_BOX, CD_OP_BLUR_GAUSS, CD_OP_CLASSMAP,
    CD_OP_MASK, CD_OP_OVERLAY, CD_OP_PIXELATE, CD_OP_RECT, CD_OP_SHAPE, CD_OP_SOLID, CD_OP_TEXT,
    CdBand, CdCmd, CdDisc, CdEdge, CdGlyph, CdMask, CdShape,
};
use crate::draw::{DrawList, ImageId, ImageStore, ResolveOptions, Resolved, resolve_batch_with};
use crate::error::{Error, Result};
use crate::frame::{FrameInfo, HostFrame};
use crate::geom::PixelRect;

/// Frames with fewer pixels than this are drawn on the calling thread: splitting them
/// costs more than it saves.
const PARALLEL_MIN_PIXELS: usize = 1 << 15;

/// Reusable per-frame working memory of the blurs. Buffers only grow, so after the
/// first frames of a stream no call allocates.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Horizontal box sums (<= 255 * 255, so u16 is exact), region-sized.
    h16: Vec<u16>,
    /// Horizontal gaussian pass (8-bit by the spec), region-sized.
    h8: Vec<u8>,
    /// Per-band accumulators (column sums, cell sums).
    acc: Vec<u32>,
    /// Per-band edge-replicated copies of a row (gaussian horizontal pass).
    pad: Vec<u8>,
}

impl Scratch {
    /// Empty scratch memory; it grows on first use.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Renders draw lists onto frames in host memory.
///
/// ```
/// use cudadraw::{cpu::CpuRenderer, Color, DrawList, FrameInfo, HostFrame, ImageStore, PixelFormat, Rect};
/// let mut px = vec![0u8; 8 * 8 * 4];
/// let mut frames = [HostFrame::new(&mut px, FrameInfo::packed(8, 8, PixelFormat::Rgba)).unwrap()];
/// let mut list = DrawList::new();
/// list.fill(Rect::new(2.0, 2.0, 4.0, 4.0), Color::RED);
/// CpuRenderer::new().render(&mut frames, &[list], &ImageStore::new()).unwrap();
/// assert_eq!(&px[(2 * 8 + 2) * 4..][..4], &[255, 0, 0, 255]);
/// ```
#[derive(Debug, Default)]
pub struct CpuRenderer {
    resolved: Resolved,
    infos: Vec<FrameInfo>,
    scratch: Vec<Scratch>,
    options: ResolveOptions,
    spans: Vec<(u64, u64, usize)>,
    planar_scratch: Vec<planar::PlanarScratch>,
}

impl CpuRenderer {
    /// A renderer with empty scratch memory (it grows to the largest batch seen).
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits and invalid-op policy of later calls.
    pub fn set_options(&mut self, options: ResolveOptions) {
        self.options = options;
    }

    /// Ops left out by the last call (under [`crate::draw::InvalidOps::Skip`]).
    pub fn resolved(&self) -> &Resolved {
        &self.resolved
    }

    fn check_frames(&mut self, frames: &[HostFrame<'_>]) -> Result<()> {
        crate::frame::check_disjoint(
            frames.iter().map(|f| (f.data().as_ptr() as u64, f.info())),
            &mut self.spans,
        )
    }

    /// Validates every list against its frame, then draws each list onto its frame.
    /// On any error nothing is drawn on any frame.
    pub fn render<L: AsRef<DrawList>>(
        &mut self,
        frames: &mut [HostFrame<'_>],
        lists: &[L],
        images: &ImageStore,
    ) -> Result<()> {
        self.infos.clear();
        self.infos.extend(frames.iter().map(|f| f.info()));
        self.check_frames(frames)?;
        resolve_batch_with(
            &self.infos,
            lists,
            images,
            &self.options,
            &mut self.resolved,
        )?;
        let atlas = crate::draw::text::locked_atlas(&self.resolved, images.fonts())?;
        let src = Sources::of(
            &self.resolved,
            images,
            atlas.as_deref().map_or(&[], |c| c.atlas.as_slice()),
        );
        check_batch(frames, &self.resolved, &src)?;
        draw_batch(frames, &self.resolved, &src, &mut self.scratch);
        Ok(())
    }

    /// Draws commands resolved elsewhere (`resolved` must come from [`crate::draw::resolve_batch`]
    /// over these frames' layouts); checked before anything is drawn.
    pub fn render_resolved_from(
        &mut self,
        frames: &mut [HostFrame<'_>],
        resolved: &Resolved,
        images: &ImageStore,
    ) -> Result<()> {
        if resolved.ranges.len() != frames.len() {
            return Err(Error::BatchMismatch {
                frames: frames.len(),
                lists: resolved.ranges.len(),
            });
        }
        self.check_frames(frames)?;
        let atlas = crate::draw::text::locked_atlas(resolved, images.fonts())?;
        let src = Sources::of(
            resolved,
            images,
            atlas.as_deref().map_or(&[], |c| c.atlas.as_slice()),
        );
        check_batch(frames, resolved, &src)?;
        draw_batch(frames, resolved, &src, &mut self.scratch);
        Ok(())
    }
}

/// What commands refer to besides the frame: images, the batch's glyphs, the atlas,
/// the shape layers and their geometry.
pub(crate) struct Sources<'a> {
    pub images: &'a ImageStore,
    pub glyphs: &'a [CdGlyph],
    pub atlas: &'a [u8],
    pub shapes: &'a [CdShape],
    pub edges: &'a [CdEdge],
    pub discs: &'a [CdDisc],
    pub bands: &'a [CdBand],
    pub band_items: &'a [u32],
    pub masks: &'a [CdMask],
    pub mask_data: &'a [u8],
    pub palette: &'a [u32],
}

impl<'a> Sources<'a> {
    pub(crate) fn of(r: &'a Resolved, images: &'a ImageStore, atlas: &'a [u8]) -> Self {
        Sources {
            images,
            glyphs: &r.glyphs,
            atlas,
            shapes: &r.shapes,
            edges: &r.edges,
            discs: &r.discs,
            bands: &r.bands,
            band_items: &r.band_items,
            masks: &r.masks,
            mask_data: &r.mask_data,
            palette: &r.palette,
        }
    }
}

fn check_batch(frames: &[HostFrame<'_>], resolved: &Resolved, src: &Sources<'_>) -> Result<()> {
    for (i, f) in frames.iter().enumerate() {
        let (start, n) = resolved.ranges[i];
        let cmds = resolved
            .cmds
            .get(start as usize..start as usize + n as usize)
            .ok_or_else(|| Error::InvalidOp {
                frame: i,
                op: 0,
                reason: "command range outside the command array".into(),
            })?;
        check_cmds(i, f.info(), cmds, &resolved.weights, src)?;
    }
    Ok(())
}

fn draw_batch(
    frames: &mut [HostFrame<'_>],
    resolved: &Resolved,
    src: &Sources<'_>,
    scratch: &mut Vec<Scratch>,
) {
    if scratch.len() < frames.len() {
        scratch.resize_with(frames.len(), Scratch::default);
    }
    frames
        .par_iter_mut()
        .zip(scratch.par_iter_mut())
        .enumerate()
        .for_each(|(i, (frame, scratch))| {
            let info = frame.info();
            let cmds = resolved.frame_cmds(i);
            draw_frame(
                frame.data_mut(),
                info,
                cmds,
                &resolved.weights,
                src,
                scratch,
            );
        });
}

/// Rejects commands that would read or write outside the frame, the weight table or
/// the image store, so drawing itself cannot fail or go out of bounds.
fn check_cmds(
    frame: usize,
    info: FrameInfo,
    cmds: &[CdCmd],
    weights: &[u32],
    src: &Sources<'_>,
) -> Result<()> {
    let whole = PixelRect::frame(info.width, info.height);
    for (op, c) in cmds.iter().enumerate() {
        let bad = |reason: String| Err(Error::InvalidOp { frame, op, reason });
        let clip = PixelRect::from(c.clip);
        if clip.is_empty() || clip.intersect(&whole) != clip {
            return bad(format!(
                "command region {clip:?} is empty or outside the frame"
            ));
        }
        match c.op {
            CD_OP_RECT | CD_OP_SOLID => {}
            CD_OP_BLUR_BOX => {
                if !crate::draw::BLUR_RADIUS_RANGE.contains(&c.param) {
                    return bad(format!("box radius {}", c.param));
                }
            }
            CD_OP_PIXELATE => {
                if c.param == 0 {
                    return bad("pixelate block 0".into());
                }
            }
            CD_OP_BLUR_GAUSS => {
                let end = c.aux as usize + 2 * c.param as usize + 1;
                if c.param > crate::cmd::CD_MAX_GAUSS_RADIUS || end > weights.len() {
                    return bad(format!("gaussian table [{}, {end}) out of range", c.aux));
                }
                // Tables summing to exactly 1 << 16 keep every weighted sum in u32.
                let sum: u64 = weights[c.aux as usize..end]
                    .iter()
                    .map(|&w| u64::from(w))
                    .sum();
                if sum != 1 << crate::cmd::CD_GAUSS_SHIFT {
                    return bad(format!("gaussian weights sum to {sum}, not 65536"));
                }
            }
            CD_OP_OVERLAY => {
                if src.images.get(ImageId(c.param)).is_none() {
                    return Err(Error::UnknownImage {
                        frame,
                        op,
                        image: c.param,
                    });
                }
                let dest = PixelRect::from(c.inner);
                if dest.is_empty() || clip.intersect(&dest) != clip {
                    return bad("overlay clip outside its destination".into());
                }
                let filter = c.aux >> 16;
                if (c.aux & 0xffff) > 255
                    || (filter != CD_FILTER_NEAREST && filter != CD_FILTER_BILINEAR)
                {
                    return bad(format!("overlay aux {:#x}", c.aux));
                }
            }
            CD_OP_TEXT => {
                let glyphs = src
                    .glyphs
                    .get(c.param as usize..c.param as usize + c.aux as usize);
                let Some(glyphs) = glyphs else {
                    return bad(format!("glyphs [{}, +{}) out of range", c.param, c.aux));
                };
                for g in glyphs {
                    let end = g.atlas as usize + usize::from(g.w) * usize::from(g.h);
                    if end > src.atlas.len() {
                        return bad(format!("glyph mask [{}, {end}) outside the atlas", g.atlas));
                    }
                }
            }
            CD_OP_SHAPE => {
                if let Err(reason) = shape::check(c, src) {
                    return bad(reason);
                }
            }
            CD_OP_MASK | CD_OP_CLASSMAP => {
                if let Err(reason) = mask::check(c, src) {
                    return bad(reason);
                }
            }
            other => return bad(format!("unknown command code {other}")),
        }
    }
    Ok(())
}

fn is_blur(op: u32) -> bool {
    matches!(op, CD_OP_BLUR_BOX | CD_OP_BLUR_GAUSS | CD_OP_PIXELATE)
}

/// Draws checked commands: maximal runs of pointwise commands as one parallel pass in
/// row bands, each blur on its own (it must see everything before it).
fn draw_frame(
    data: &mut [u8],
    info: FrameInfo,
    cmds: &[CdCmd],
    weights: &[u32],
    src: &Sources<'_>,
    scratch: &mut Scratch,
) {
    let data = &mut data[..info.min_len()];
    let mut rest = cmds;
    while !rest.is_empty() {
        if is_blur(rest[0].op) {
            blur::run(data, info, &rest[0], weights, scratch);
            rest = &rest[1..];
        } else {
            let n = rest
                .iter()
                .position(|c| is_blur(c.op))
                .unwrap_or(rest.len());
            pointwise::run(data, info, &rest[..n], src);
            rest = &rest[n..];
        }
    }
}

/// Rows per band for parallel passes over `rows` rows of `width` pixels: a few bands
/// per worker, or everything in one band for small work.
fn band_rows(rows: usize, width: usize) -> usize {
    if rows * width < PARALLEL_MIN_PIXELS {
        return rows.max(1);
    }
    let bands = rayon::current_num_threads() * 4;
    rows.div_ceil(bands).max(8)
}

#[cfg(test)]
mod tests;
