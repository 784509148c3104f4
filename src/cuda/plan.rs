//! Host-side planning of one batch for the kernels (pure Rust, testable without a GPU).
//!
//! Each frame's commands are layered into *phases*: a blur goes one phase after the
//! latest earlier command whose region it overlaps. Within a phase the blurs therefore
//! read only pixels as they were at the phase's start, and their regions are disjoint
//! from each other and from every earlier command of the phase, so the blur passes may
//! write their results straight into the frame before the composite pass applies the
//! phase's other commands in list order. Commands are reordered only past commands
//! they do not overlap, so the result equals list order. Phases are aligned across the
//! batch: phase `p` of every frame is done by the same launches.

use crate::cmd::{
    CD_OP_BLUR_BOX, CD_OP_BLUR_GAUSS, CD_OP_CLASSMAP, CD_OP_MASK, CD_OP_OVERLAY, CD_OP_PIXELATE,
    CD_OP_RECT, CD_OP_SHAPE, CD_OP_SOLID, CD_OP_TEXT, CD_TILE_BINNED, CdBlurJob, CdCmd, CdFrame,
    CdPlanar, CdPlaneJob, CdRegion, CdTileItem,
};
use crate::draw::Resolved;
use crate::error::{Error, Result};
use crate::frame::DeviceFrame;
use crate::planar::{DevicePlanarFrame, PlanarLayout, YuvConv};

/// Chroma samples per side of a planar composite block (kernels/planar.cu `PT`).
const PLANAR_PT: u64 = crate::cmd::CD_PLANAR_TILE as u64;
/// Consecutive samples of a row (pass 1) or column (pass 2) per thread of a planar box blur.
const PLANAR_RUN: u64 = crate::cmd::CD_PLANAR_RUN as u64;

/// Composite tile size (kernels/commands.h).
pub const TILE_W: u32 = crate::cmd::CD_TILE_W;
pub const TILE_H: u32 = crate::cmd::CD_TILE_H;
/// Threads per block of every kernel.
pub const THREADS: u32 = crate::cmd::CD_THREADS;
/// Outputs per block of blur pass 1 and pass 2.
const B1: (u32, u32) = (crate::cmd::CD_B1_W, crate::cmd::CD_B1_H);
const B2: (u32, u32) = (crate::cmd::CD_B2_W, crate::cmd::CD_B2_H);

/// Fewest commands of a frame's phase whose tiles are binned (see `Plan::mark_tiles`).
const BIN_MIN: u64 = 16;

/// Largest grid the kernels are launched with (gridDim.x limit).
const MAX_GRID: u64 = i32::MAX as u64;
/// gridDim.y limit (frames with composite work in one phase).
const MAX_GRID_Y: usize = 65535;

/// Launch parameters of one phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Phase {
    /// Composite grid: x = tiles of the largest frame with work, y = `rows.1`.
    pub tiles: u32,
    /// The composite's frames: first item and count in `items` (one per frame with
    /// composite work, `tile` unused), the rows of the full grid (0: no launch).
    pub rows: (u32, u32),
    /// Compacted composite: first item and count in `items` of the tiles with work
    /// (count 0: the full grid runs instead).
    pub compact: (u32, u32),
    /// First blur job and number of jobs (0: no blur launches).
    pub jobs: (u32, u32),
    /// Grid sizes of blur pass 1 and pass 2.
    pub blocks1: u32,
    pub blocks2: u32,
    /// Bytes at the start of scratch to zero before pass 1 (pixelate sums).
    pub zero_bytes: u64,
    /// Whether the composite has an overlay / a text, shape, mask or class map layer /
    /// a shape layer: the kernel is picked by them (`cd_composite_plain` when none).
    /// Planar phases: `cover` is whether anything but boxes and redactions is there
    /// (`cd_planar_composite_boxes` when not), `shapes` whether a shape layer is.
    pub overlay: bool,
    pub cover: bool,
    pub shapes: bool,
}

impl Phase {
    /// Index of the phase's composite kernel in the kernel table (src/cuda/kernels.rs:
    /// plain, cover, overlay, shapes, full; planar: boxes, any, shapes).
    pub fn kernel(&self, planar: bool) -> usize {
        match (planar, self.overlay, self.cover, self.shapes) {
            (true, _, false, _) => 0,
            (true, _, true, false) => 1,
            (true, _, true, true) => 2,
            (false, true, false, false) => 2,
            (false, true, _, _) => 4,
            (false, false, _, true) => 3,
            (false, false, true, false) => 1,
            (false, false, false, false) => 0,
        }
    }
}

/// The kernels' view of one batch on one device. Reused across calls (grow-only).
#[derive(Debug, Default)]
pub struct Plan {
    pub frames: Vec<CdFrame>,
    pub cmds: Vec<CdCmd>,
    /// Per phase, per frame: the phase's command range `[start, end)` (phase-major).
    pub ranges: Vec<[u32; 2]>,
    /// Composite rows and compacted tiles (see [`Phase`]).
    pub items: Vec<CdTileItem>,
    /// Per-tile command lists of binned tiles (command indices, list order): a
    /// compacted item with `CD_TILE_BINNED` in its tile ranges over these.
    pub bins: Vec<u32>,
    /// Per command: its clip if the composite draws it, an empty box otherwise (blurs,
    /// invisible boxes). The composite scans these 16-byte boxes, not whole commands.
    pub boxes: Vec<CdRegion>,
    pub jobs: Vec<CdBlurJob>,
    pub phases: Vec<Phase>,
    /// NV12 / I420 batches ([`Plan::build_planar`]): the frames (then `frames` is
    /// empty), the blur jobs per plane, and the chroma planes' gaussian weights (after
    /// the resolved weights in the uploaded table).
    pub planar: Vec<CdPlanar>,
    pub plane_jobs: Vec<CdPlaneJob>,
    pub chroma_weights: Vec<u32>,
    /// Scratch bytes the largest phase needs.
    pub scratch_bytes: u64,
    /// Per frame: range into `bounds` of its phase start indices.
    bound_ranges: Vec<(u32, u32)>,
    bounds: Vec<u32>,
    /// Phase layering scratch (reused): phase of each command, per-phase bounding box,
    /// per-phase member regions, sort positions.
    phase_of: Vec<u32>,
    phase_bbox: Vec<CdRegion>,
    members: Vec<Vec<CdRegion>>,
    phase_pos: Vec<u32>,
    /// Per tile of one frame: commands that may change it, then bin offsets; and the
    /// phase's marked tiles (compaction scratch).
    counts: Vec<u32>,
    marked: Vec<CdTileItem>,
}

fn overlaps(a: &CdRegion, b: &CdRegion) -> bool {
    a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

fn union(a: &CdRegion, b: &CdRegion) -> CdRegion {
    CdRegion {
        x0: a.x0.min(b.x0),
        y0: a.y0.min(b.y0),
        x1: a.x1.max(b.x1),
        y1: a.y1.max(b.y1),
    }
}

/// Whether a command reads its region (and so runs in the blur passes).
pub fn is_blur(op: u32) -> bool {
    matches!(op, CD_OP_BLUR_BOX | CD_OP_BLUR_GAUSS | CD_OP_PIXELATE)
}

/// Whether the composite pass changes pixels for this command.
fn composite_draws(c: &CdCmd) -> bool {
    let invisible_box = c.op == CD_OP_RECT && c.color[3] == 0 && c.fill[3] == 0;
    !(is_blur(c.op) || invisible_box)
}

/// A frame's size and its composite tiles' side (packed: 64; planar: 32 luma pixels).
#[derive(Debug, Clone, Copy)]
struct TileGrid {
    width: i32,
    height: i32,
    side: i32,
}

impl TileGrid {
    fn packed(f: &CdFrame) -> Self {
        TileGrid {
            width: f.width,
            height: f.height,
            side: TILE_W as i32,
        }
    }

    fn planar(f: &CdPlanar) -> Self {
        TileGrid {
            width: f.width,
            height: f.height,
            side: 2 * PLANAR_PT as i32,
        }
    }

    /// Tiles per row and per column.
    fn dims(&self) -> (usize, usize) {
        let s = self.side as u64;
        (
            div_up(self.width as u64, s) as usize,
            div_up(self.height as u64, s) as usize,
        )
    }
}

/// Calls `g(tile)` for every tile (row-major index) of grid `f` that composite command
/// `c` may change: its clip's tiles, less those inside the inner rectangle of an
/// outline without fill (the kernels' own test, per block).
fn tiles_of(c: &CdCmd, f: &TileGrid, mut g: impl FnMut(usize)) {
    if !composite_draws(c) {
        return;
    }
    let tx = f.dims().0;
    let (tw, th) = (f.side, f.side);
    let hollow = c.op == CD_OP_RECT && c.fill[3] == 0;
    for y in (c.clip.y0 / th)..=((c.clip.y1 - 1) / th) {
        for x in (c.clip.x0 / tw)..=((c.clip.x1 - 1) / tw) {
            if hollow {
                let (x0, y0) = (x * tw, y * th);
                let (x1, y1) = ((x0 + tw).min(f.width), (y0 + th).min(f.height));
                if x0 >= c.inner.x0 && x1 <= c.inner.x1 && y0 >= c.inner.y0 && y1 <= c.inner.y1 {
                    continue;
                }
            }
            g(y as usize * tx + x as usize);
        }
    }
}

/// A region widened to whole 2 x 2 blocks (even corners).
fn snap_blocks(r: &CdRegion) -> CdRegion {
    CdRegion {
        x0: r.x0 & !1,
        y0: r.y0 & !1,
        x1: r.x1.saturating_add(1) & !1,
        y1: r.y1.saturating_add(1) & !1,
    }
}

/// Chroma samples [x0 / 2, ceil(x1 / 2)) (and y) of a luma region.
fn chroma_region(r: &CdRegion) -> CdRegion {
    CdRegion {
        x0: r.x0 / 2,
        y0: r.y0 / 2,
        x1: (r.x1 + 1) / 2,
        y1: (r.y1 + 1) / 2,
    }
}

fn div_up(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

fn too_large(what: &str) -> Error {
    Error::InvalidOp {
        frame: 0,
        op: 0,
        reason: format!("batch too large for one launch ({what}); split it"),
    }
}

impl Plan {
    /// Empties the plan, keeping the capacity.
    fn clear(&mut self) {
        self.frames.clear();
        self.cmds.clear();
        self.ranges.clear();
        self.items.clear();
        self.bins.clear();
        self.boxes.clear();
        self.jobs.clear();
        self.phases.clear();
        self.planar.clear();
        self.plane_jobs.clear();
        self.chroma_weights.clear();
        self.bound_ranges.clear();
        self.bounds.clear();
        self.scratch_bytes = 0;
    }

    /// Command range `[start, end)` of phase `p` of the `fi`-th planned frame, whose
    /// commands end at `end_all` (empty when the frame has fewer phases).
    fn phase_range(&self, fi: usize, p: usize, end_all: u32) -> (u32, u32) {
        let (b0, n) = self.bound_ranges[fi];
        let p = p as u32;
        if p >= n {
            return (end_all, end_all);
        }
        let start = self.bounds[(b0 + p) as usize];
        let end = if p + 1 < n {
            self.bounds[(b0 + p + 1) as usize]
        } else {
            end_all
        };
        (start, end)
    }

    /// Plans the frames `which` (indices into `frames` and `resolved`) of a validated,
    /// resolved batch.
    pub fn build(
        &mut self,
        frames: &[DeviceFrame],
        which: &[usize],
        resolved: &Resolved,
    ) -> Result<()> {
        self.clear();

        // Frames, their commands, and each frame's phase starts.
        let mut nphases = 0usize;
        for &i in which {
            let f = &frames[i];
            let cmds = resolved.frame_cmds(i);
            let offset = self.cmds.len() as u32;
            self.cmds.extend_from_slice(cmds);
            self.frames.push(CdFrame {
                ptr: f.ptr(),
                pitch: f.info().pitch as u32,
                width: f.info().width as i32,
                height: f.info().height as i32,
                format: f.info().format.code(),
                cmd_offset: offset,
                cmd_count: cmds.len() as u32,
            });
            let b0 = self.bounds.len() as u32;
            self.layer_phases(offset, cmds, false);
            let n = self.bounds.len() as u32 - b0;
            self.bound_ranges.push((b0, n));
            nphases = nphases.max(n as usize);
        }

        let nf = self.frames.len();
        self.boxes.extend(self.cmds.iter().map(|c| {
            if composite_draws(c) {
                c.clip
            } else {
                CdRegion::default()
            }
        }));
        for p in 0..nphases {
            let job0 = self.jobs.len() as u32;
            let mut max_tiles = 0u64;
            let rows0 = self.items.len() as u32;
            let mut overlay = false;
            let mut cover = false;
            let mut shapes = false;
            let mut binned = false;
            self.marked.clear();
            for fi in 0..nf {
                let f = self.frames[fi];
                let (start, end) = self.phase_range(fi, p, f.cmd_offset + f.cmd_count);
                self.ranges.push([start, end]);
                let mut composite = false;
                for ci in start..end {
                    let c = &self.cmds[ci as usize];
                    if is_blur(c.op) {
                        self.jobs.push(CdBlurJob {
                            cmd: ci,
                            frame: fi as u32,
                            ..Default::default()
                        });
                    } else {
                        composite = true;
                        overlay |= c.op == CD_OP_OVERLAY;
                        cover |=
                            matches!(c.op, CD_OP_TEXT | CD_OP_SHAPE | CD_OP_MASK | CD_OP_CLASSMAP);
                        shapes |= c.op == CD_OP_SHAPE;
                    }
                }
                if composite {
                    self.items.push(CdTileItem {
                        frame: fi as u32,
                        tile: 0,
                        start,
                        end,
                    });
                    binned |= self.mark_tiles(fi, TileGrid::packed(&f), start, end);
                    let n = div_up(f.width as u64, TILE_W as u64)
                        * div_up(f.height as u64, TILE_H as u64);
                    max_tiles = max_tiles.max(n);
                    if self.items.len() - rows0 as usize > MAX_GRID_Y {
                        return Err(too_large("frames per launch"));
                    }
                }
            }
            // Scratch: pixelate sums first (zeroed before pass 1), then the rest.
            let mut offset = 0u64;
            let mut zero_bytes = 0u64;
            for pass in [true, false] {
                for j in &mut self.jobs[job0 as usize..] {
                    let c = &self.cmds[j.cmd as usize];
                    if (c.op == CD_OP_PIXELATE) != pass {
                        continue;
                    }
                    let (w, h) = (
                        (c.clip.x1 - c.clip.x0) as u64,
                        (c.clip.y1 - c.clip.y0) as u64,
                    );
                    let bytes = match c.op {
                        CD_OP_PIXELATE => {
                            let b = c.param as u64;
                            div_up(w, b) * div_up(h, b) * 16
                        }
                        CD_OP_BLUR_BOX => w * h * 8,
                        _ => w * h * 4,
                    };
                    j.scratch = offset;
                    offset += bytes.div_ceil(16) * 16;
                }
                if pass {
                    zero_bytes = offset;
                }
            }
            self.scratch_bytes = self.scratch_bytes.max(offset);
            // Grid blocks of each job in both passes.
            let (mut blocks1, mut blocks2) = (0u64, 0u64);
            for j in &mut self.jobs[job0 as usize..] {
                let c = &self.cmds[j.cmd as usize];
                let (w, h) = (
                    (c.clip.x1 - c.clip.x0) as u64,
                    (c.clip.y1 - c.clip.y0) as u64,
                );
                let n1 = if c.op == CD_OP_PIXELATE {
                    div_up(h * div_up(w, c.param as u64), THREADS as u64)
                } else {
                    div_up(w, B1.0 as u64) * div_up(h, B1.1 as u64)
                };
                let n2 = div_up(w, B2.0 as u64) * div_up(h, B2.1 as u64);
                j.block1 = blocks1 as u32;
                j.block2 = blocks2 as u32;
                blocks1 += n1;
                blocks2 += n2;
                if blocks1 > MAX_GRID || blocks2 > MAX_GRID {
                    return Err(too_large("blur blocks"));
                }
            }
            let nrows = self.items.len() as u32 - rows0;
            let compact = self.compact_marked(binned, max_tiles, nrows);
            self.phases.push(Phase {
                tiles: max_tiles as u32,
                rows: (rows0, nrows),
                compact,
                jobs: (job0, self.jobs.len() as u32 - job0),
                blocks1: blocks1 as u32,
                blocks2: blocks2 as u32,
                zero_bytes,
                overlay,
                cover,
                shapes,
            });
        }
        Ok(())
    }

    /// Plans NV12 / I420 frames `which` of a validated, resolved batch for
    /// kernels/planar.cu: the same phases as [`Plan::build`] with regions widened to
    /// whole 2 x 2 blocks; per phase one job per plane of each blur (luma over the
    /// region, chroma over its whole-sample footprint, radii and gaussian weights as
    /// src/cpu/planar.rs scales them) and one composite row per frame with other work.
    pub fn build_planar(
        &mut self,
        frames: &[DevicePlanarFrame],
        which: &[usize],
        resolved: &Resolved,
    ) -> Result<()> {
        self.clear();
        let mut nphases = 0usize;
        for &i in which {
            let f = &frames[i];
            let info = f.info();
            let cmds = resolved.frame_cmds(i);
            let offset = self.cmds.len() as u32;
            self.cmds.extend_from_slice(cmds);
            let plane = |k: usize| info.planes[k].unwrap_or_default();
            let (y, uv) = (plane(0), plane(1));
            let (cb, cr, c_step) = match info.layout {
                PlanarLayout::Nv12 => ((uv.offset, uv.pitch), (uv.offset + 1, uv.pitch), 2),
                PlanarLayout::I420 => ((uv.offset, uv.pitch), (plane(2).offset, plane(2).pitch), 1),
            };
            let conv = YuvConv::new(info.matrix, info.range);
            let pitch = |p: usize| {
                u32::try_from(p).map_err(|_| Error::InvalidFrame {
                    index: i,
                    reason: "plane pitch does not fit 32 bits".into(),
                })
            };
            self.planar.push(CdPlanar {
                y: f.ptr() + y.offset as u64,
                cb: f.ptr() + cb.0 as u64,
                cr: f.ptr() + cr.0 as u64,
                y_pitch: pitch(y.pitch)?,
                cb_pitch: pitch(cb.1)?,
                cr_pitch: pitch(cr.1)?,
                c_step,
                width: info.width as i32,
                height: info.height as i32,
                cmd_offset: offset,
                cmd_count: cmds.len() as u32,
                coef: bytemuck::cast(conv.coef),
                offset: conv.offset,
            });
            let b0 = self.bounds.len() as u32;
            self.layer_phases(offset, cmds, true);
            let n = self.bounds.len() as u32 - b0;
            self.bound_ranges.push((b0, n));
            nphases = nphases.max(n as usize);
        }
        let weights0 = resolved.weights().len() as u32;
        for p in 0..nphases {
            let job0 = self.plane_jobs.len() as u32;
            let rows0 = self.items.len() as u32;
            let mut max_tiles = 0u64;
            let mut scratch = 0u64;
            let (mut blocks1, mut blocks2) = (0u64, 0u64);
            let mut cover = false;
            let mut shapes = false;
            let mut binned = false;
            self.marked.clear();
            for fi in 0..self.planar.len() {
                let f = self.planar[fi];
                let (start, end) = self.phase_range(fi, p, f.cmd_offset + f.cmd_count);
                self.ranges.push([start, end]);
                let mut composite = false;
                for ci in start..end {
                    let c = self.cmds[ci as usize];
                    if !is_blur(c.op) {
                        composite |= composite_draws(&c);
                        cover |= !matches!(c.op, CD_OP_RECT | CD_OP_SOLID);
                        shapes |= c.op == CD_OP_SHAPE;
                        continue;
                    }
                    let chroma = chroma_region(&c.clip);
                    // Gaussian chroma planes: sigma / 2, their own table (after the
                    // resolved weights in the uploaded table).
                    let chroma_gauss = if c.op == CD_OP_BLUR_GAUSS {
                        let w0 = self.chroma_weights.len();
                        crate::draw::resolve::push_gauss_weights(
                            f32::from_bits(c.reserved) * 0.5,
                            &mut self.chroma_weights,
                        );
                        let len = (self.chroma_weights.len() - w0) as u32;
                        ((len - 1) / 2, weights0 + w0 as u32)
                    } else {
                        (0, 0)
                    };
                    for plane in 0..3u32 {
                        let region = if plane == 0 { c.clip } else { chroma };
                        let (radius, wofs) = match c.op {
                            CD_OP_BLUR_BOX if plane == 0 => (c.param, 0),
                            CD_OP_BLUR_BOX => (crate::cpu::planar::chroma_box_radius(c.param), 0),
                            CD_OP_BLUR_GAUSS if plane == 0 => (c.param, c.aux),
                            CD_OP_BLUR_GAUSS => chroma_gauss,
                            _ => (0, 0),
                        };
                        let (w, h) = (
                            (region.x1 - region.x0) as u64,
                            (region.y1 - region.y0) as u64,
                        );
                        // Threads of each pass: a cell (pixelate pass 1), a run of
                        // PLANAR_RUN samples of a row / column (box), else a sample.
                        let (n1, n2, bytes) = match c.op {
                            CD_OP_PIXELATE => {
                                let b = u64::from(c.param.max(1));
                                let cells = div_up((c.clip.x1 - c.clip.x0) as u64, b)
                                    * div_up((c.clip.y1 - c.clip.y0) as u64, b);
                                (cells, w * h, cells * 8)
                            }
                            CD_OP_BLUR_BOX => (
                                div_up(w, PLANAR_RUN) * h,
                                w * div_up(h, PLANAR_RUN),
                                w * h * 4,
                            ),
                            _ => (w * h, w * h, w * h * 4),
                        };
                        self.plane_jobs.push(CdPlaneJob {
                            cmd: ci,
                            frame: fi as u32,
                            plane,
                            radius,
                            region,
                            luma: c.clip,
                            weights: wofs,
                            block1: blocks1 as u32,
                            block2: blocks2 as u32,
                            reserved: 0,
                            scratch,
                        });
                        scratch += bytes.div_ceil(16) * 16;
                        blocks1 += div_up(n1, THREADS as u64);
                        blocks2 += div_up(n2, THREADS as u64);
                        if blocks1 > MAX_GRID || blocks2 > MAX_GRID {
                            return Err(too_large("blur blocks"));
                        }
                    }
                }
                if composite {
                    self.items.push(CdTileItem {
                        frame: fi as u32,
                        tile: 0,
                        start,
                        end,
                    });
                    binned |= self.mark_tiles(fi, TileGrid::planar(&f), start, end);
                    let (cw, ch) = ((f.width as u64).div_ceil(2), (f.height as u64).div_ceil(2));
                    max_tiles = max_tiles.max(div_up(cw, PLANAR_PT) * div_up(ch, PLANAR_PT));
                    if self.items.len() - rows0 as usize > MAX_GRID_Y {
                        return Err(too_large("frames per launch"));
                    }
                }
            }
            self.scratch_bytes = self.scratch_bytes.max(scratch);
            let nrows = self.items.len() as u32 - rows0;
            let compact = self.compact_marked(binned, max_tiles, nrows);
            self.phases.push(Phase {
                tiles: max_tiles as u32,
                rows: (rows0, nrows),
                compact,
                jobs: (job0, self.plane_jobs.len() as u32 - job0),
                blocks1: blocks1 as u32,
                blocks2: blocks2 as u32,
                zero_bytes: 0,
                overlay: false,
                cover,
                shapes,
            });
        }
        Ok(())
    }

    /// The phase's compacted grid (first item and count in `items`; (0, 0): the full
    /// grid runs instead): its marked tiles, appended to `items`, when a frame's tiles
    /// are binned (they name their own lists, which only compacted items carry) or when
    /// they save at least a quarter of the full grid's `max_tiles * nrows` blocks.
    fn compact_marked(&mut self, binned: bool, max_tiles: u64, nrows: u32) -> (u32, u32) {
        let n = self.marked.len() as u64;
        if nrows == 0 || !(binned || n * 4 <= max_tiles * nrows as u64 * 3) {
            return (0, 0);
        }
        let c0 = self.items.len() as u32;
        self.items.extend_from_slice(&self.marked);
        (c0, n as u32)
    }

    /// Appends to `marked` every tile of frame `fi` (grid `f`) that a composite command of
    /// `cmds[start..end]` may change (its clip's tiles, less those inside the inner
    /// rectangle of an outline without fill), in tile order. When the tiles' own lists
    /// are at most half as long as the range on average (many small commands: boxes,
    /// a stroke's slices), they are binned: appended to `bins` in list order, each item
    /// ranging over its tile's list (`CD_TILE_BINNED`), so a block stages only the
    /// commands that can reach it (from BIN_MIN commands on: below, one round of loads
    /// stages them all anyway). The lists are bounded by 16 entries per command and
    /// tile of the range, so a few commands over the whole frame stay unbinned.
    /// Returns whether it binned.
    fn mark_tiles(&mut self, fi: usize, f: TileGrid, start: u32, end: u32) -> bool {
        let (tx, ty) = f.dims();
        self.counts.clear();
        self.counts.resize(tx * ty, 0);
        let mut entries = 0u64;
        for c in &self.cmds[start as usize..end as usize] {
            tiles_of(c, &f, |t| {
                self.counts[t] += 1;
                entries += 1;
            });
        }
        let marked = self.counts.iter().filter(|&&n| n > 0).count() as u64;
        let n = u64::from(end - start);
        let bin = n >= BIN_MIN && entries * 2 <= marked * n && entries <= 16 * (n + marked);
        if !bin {
            for (t, _) in self.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                self.marked.push(CdTileItem {
                    frame: fi as u32,
                    tile: t as u32,
                    start,
                    end,
                });
            }
            return false;
        }
        // Counts -> first offsets; the fill (in list order) moves each to its end.
        let mut at = 0u32;
        for k in &mut self.counts {
            let n = *k;
            *k = at;
            at += n;
        }
        let base = self.bins.len();
        self.bins.resize(base + entries as usize, 0);
        for ci in start..end {
            let c = self.cmds[ci as usize];
            tiles_of(&c, &f, |t| {
                self.bins[base + self.counts[t] as usize] = ci;
                self.counts[t] += 1;
            });
        }
        let mut prev = 0u32;
        for (t, &e) in self.counts.iter().enumerate() {
            if e > prev {
                self.marked.push(CdTileItem {
                    frame: fi as u32,
                    tile: t as u32 | CD_TILE_BINNED,
                    start: (base as u32) + prev,
                    end: (base as u32) + e,
                });
            }
            prev = e;
        }
        true
    }

    /// Assigns each of one frame's commands (already appended at `offset`) the
    /// earliest phase its dependencies allow, reorders them by (phase, list index) in
    /// place and appends the phase starts. A blur goes one phase after the latest
    /// earlier command it overlaps; any other command into the latest phase whose
    /// bounding box it overlaps (conservative). Only commands with disjoint regions
    /// change relative order, so the pixels are exactly those of list order, while
    /// independent blurs share a phase however they are interleaved.
    ///
    /// With `snap` (NV12 / I420) every region is first widened to whole 2 x 2 blocks,
    /// since a command changes the chroma samples of every block it touches.
    fn layer_phases(&mut self, offset: u32, cmds: &[CdCmd], snap: bool) {
        if cmds.is_empty() {
            return;
        }
        self.bounds.push(offset);
        if !cmds.iter().any(|c| is_blur(c.op)) {
            return; // one phase, list order
        }
        self.phase_of.clear();
        self.phase_bbox.clear();
        let mut np = 0usize;
        for c in cmds {
            let r = if snap { snap_blocks(&c.clip) } else { c.clip };
            let p = if is_blur(c.op) {
                (0..np)
                    .rev()
                    .find(|&q| {
                        overlaps(&self.phase_bbox[q], &r)
                            && self.members[q].iter().any(|w| overlaps(w, &r))
                    })
                    .map_or(0, |q| q + 1)
            } else {
                (0..np)
                    .rev()
                    .find(|&q| overlaps(&self.phase_bbox[q], &r))
                    .unwrap_or(0)
            };
            if p == np {
                np += 1;
                if self.members.len() < np {
                    self.members.push(Vec::new());
                }
                self.members[p].clear();
                self.phase_bbox.push(r);
            } else {
                self.phase_bbox[p] = union(&self.phase_bbox[p], &r);
            }
            self.members[p].push(r);
            self.phase_of.push(p as u32);
        }
        // Stable counting sort by phase into the frame's slot of `cmds`.
        self.phase_pos.clear();
        self.phase_pos.resize(np + 1, 0);
        for &p in &self.phase_of {
            self.phase_pos[p as usize + 1] += 1;
        }
        for q in 0..np {
            self.phase_pos[q + 1] += self.phase_pos[q];
        }
        for q in 1..np {
            self.bounds.push(offset + self.phase_pos[q]);
        }
        for (c, &p) in cmds.iter().zip(&self.phase_of) {
            let at = &mut self.phase_pos[p as usize];
            self.cmds[(offset + *at) as usize] = *c;
            *at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{Color, PixelFormat};
    use crate::draw::{BlurKind, DrawList, ImageStore, resolve_batch};
    use crate::frame::FrameInfo;
    use crate::geom::Rect;

    #[test]
    fn many_small_commands_are_binned_per_tile_in_list_order() {
        use crate::Border;
        let mut rng = 7u64;
        let mut next = |m: u64| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) % m
        };
        let (w, h) = (1000u32, 600u32);
        let mut a = DrawList::new();
        for i in 0..300 {
            let r = Rect::new(
                next(900) as f32,
                next(500) as f32,
                1.0 + next(150) as f32,
                1.0 + next(150) as f32,
            );
            if i % 3 == 0 {
                a.fill(r, Color::RED);
            } else {
                a.rect(r, Some(Border::new(3, Color::BLUE)), None);
            }
        }
        // A second frame with two commands: below BIN_MIN, its tiles stay unbinned.
        let mut b = DrawList::new();
        b.fill(Rect::new(10.0, 10.0, 100.0, 100.0), Color::RED);
        b.fill(Rect::new(500.0, 300.0, 100.0, 100.0), Color::RED);
        let p = plan(&[a, b], w, h);
        assert_eq!(p.phases.len(), 1);
        let ph = p.phases[0];
        assert!(ph.compact.1 > 0, "binned tiles run as a compacted grid");
        let items = &p.items[ph.compact.0 as usize..][..ph.compact.1 as usize];
        let tx = (w as usize).div_ceil(64);
        let mut seen = [0usize; 2];
        let grid = |fi: usize| TileGrid::packed(&p.frames[fi]);
        for it in items {
            let tile = (it.tile & !CD_TILE_BINNED) as usize;
            let f = p.frames[it.frame as usize];
            let (start, end) = (f.cmd_offset, f.cmd_offset + f.cmd_count);
            // The commands that may change this tile, by the definition, in list order.
            let want: Vec<u32> = (start..end)
                .filter(|&ci| {
                    let mut hit = false;
                    tiles_of(&p.cmds[ci as usize], &grid(it.frame as usize), |t| {
                        hit |= t == tile
                    });
                    hit
                })
                .collect();
            if it.frame == 0 {
                assert_ne!(it.tile & CD_TILE_BINNED, 0, "frame 0 is binned");
                assert_eq!(&p.bins[it.start as usize..it.end as usize], &want[..]);
            } else {
                assert_eq!(it.tile & CD_TILE_BINNED, 0, "frame 1 is not binned");
                assert_eq!((it.start, it.end), (start, end));
                assert!(!want.is_empty());
            }
            seen[it.frame as usize] += 1;
        }
        // Every tile some command may change has its item.
        for (fi, n) in seen.iter().enumerate() {
            let f = p.frames[fi];
            let mut marks = vec![false; tx * (h as usize).div_ceil(64)];
            for c in &p.cmds[f.cmd_offset as usize..(f.cmd_offset + f.cmd_count) as usize] {
                tiles_of(c, &grid(fi), |t| marks[t] = true);
            }
            assert_eq!(*n, marks.iter().filter(|m| **m).count(), "frame {fi}");
        }
    }

    #[test]
    fn planar_tiles_are_binned_on_their_32_pixel_blocks() {
        use crate::planar::{PlanarInfo, PlanarLayout};
        let info = PlanarInfo::tight(1001, 601, PlanarLayout::Nv12);
        let mut l = DrawList::new();
        for i in 0..200u32 {
            let (x, y) = ((i * 37) % 950, (i * 53) % 560);
            l.fill(
                Rect::new(
                    x as f32,
                    y as f32,
                    5.0 + (i % 40) as f32,
                    5.0 + (i % 30) as f32,
                ),
                Color::RED,
            );
        }
        let (p, _) = plan_planar(info, &l);
        let ph = p.phases[0];
        assert!(ph.compact.1 > 0);
        let grid = TileGrid::planar(&p.planar[0]);
        assert_eq!(grid.dims(), (32, 19));
        for it in &p.items[ph.compact.0 as usize..][..ph.compact.1 as usize] {
            assert_ne!(it.tile & CD_TILE_BINNED, 0);
            let tile = (it.tile & !CD_TILE_BINNED) as usize;
            let want: Vec<u32> = (0..p.cmds.len() as u32)
                .filter(|&ci| {
                    let c = &p.cmds[ci as usize];
                    let (tx, ty) = ((tile % 32) as i32 * 32, (tile / 32) as i32 * 32);
                    c.clip.x0 < tx + 32 && tx < c.clip.x1 && c.clip.y0 < ty + 32 && ty < c.clip.y1
                })
                .collect();
            assert_eq!(&p.bins[it.start as usize..it.end as usize], &want[..]);
        }
    }

    /// Resolves and plans one planar frame (device address 0x1000) drawing `l`.
    fn plan_planar(info: crate::planar::PlanarInfo, l: &DrawList) -> (Plan, Resolved) {
        use crate::planar::DevicePlanarFrame;
        let mut r = Resolved::default();
        resolve_batch(
            &[info.resolve_info()],
            std::slice::from_ref(l),
            &ImageStore::new(),
            &mut r,
        )
        .unwrap();
        let frames = [unsafe { DevicePlanarFrame::new(0x1000, info, 0) }];
        let mut p = Plan::default();
        p.build_planar(&frames, &[0], &r).unwrap();
        (p, r)
    }

    fn plan(lists: &[DrawList], w: u32, h: u32) -> Plan {
        let infos: Vec<_> = lists
            .iter()
            .map(|_| FrameInfo::packed(w, h, PixelFormat::Rgba))
            .collect();
        let frames: Vec<_> = infos
            .iter()
            .map(|i| unsafe { DeviceFrame::new(0x1000, *i, 0) })
            .collect();
        let mut r = Resolved::default();
        resolve_batch(&infos, lists, &ImageStore::new(), &mut r).unwrap();
        let mut p = Plan::default();
        let which: Vec<usize> = (0..lists.len()).collect();
        p.build(&frames, &which, &r).unwrap();
        p
    }

    #[test]
    fn blur_over_earlier_box_starts_a_phase() {
        let mut l = DrawList::new();
        l.fill(Rect::new(0.0, 0.0, 10.0, 10.0), Color::RED);
        l.blur(
            Rect::new(50.0, 50.0, 10.0, 10.0),
            BlurKind::Box { radius: 2 },
        );
        l.blur(Rect::new(5.0, 5.0, 10.0, 10.0), BlurKind::Box { radius: 2 });
        l.fill(Rect::new(0.0, 0.0, 100.0, 100.0), Color::RED);
        l.blur(
            Rect::new(80.0, 80.0, 10.0, 10.0),
            BlurKind::Pixelate { block: 3 },
        );
        let p = plan(&[l], 100, 100);
        assert_eq!(p.phases.len(), 3);
        assert_eq!(p.ranges, vec![[0, 2], [2, 4], [4, 5]]);
        assert_eq!(p.phases[0].jobs, (0, 1));
        assert_eq!(p.phases[1].jobs, (1, 1));
        assert_eq!(
            p.phases[2].rows.1, 0,
            "phase of a lone blur has no composite"
        );
        // Pixelate: ceil(10/3)^2 cells of 16 bytes, zeroed.
        assert_eq!(p.phases[2].zero_bytes, 16 * 16);
    }

    #[test]
    fn independent_blurs_share_a_phase_across_list_order() {
        let mut l = DrawList::new();
        l.fill(Rect::new(0.0, 0.0, 10.0, 10.0), Color::RED); // A
        l.blur(Rect::new(0.0, 0.0, 10.0, 10.0), BlurKind::Box { radius: 1 }); // B over A
        l.blur(
            Rect::new(50.0, 50.0, 10.0, 10.0),
            BlurKind::Box { radius: 1 },
        ); // C alone
        l.fill(Rect::new(55.0, 55.0, 10.0, 10.0), Color::RED); // D over C
        let p = plan(&[l], 100, 100);
        assert_eq!(p.phases.len(), 2);
        // Phase 0: A, C, D (list order kept among them); phase 1: B.
        assert_eq!(p.ranges, vec![[0, 3], [3, 4]]);
        assert_eq!(p.cmds[1].clip.x0, 50);
        assert_eq!(p.cmds[2].clip.x0, 55);
        assert_eq!(p.cmds[3].clip.x0, 0);
        assert_eq!(p.phases[0].jobs, (0, 1));
        assert_eq!(p.jobs[0].cmd, 1);
    }

    #[test]
    fn phases_align_across_frames_and_tiles_count() {
        let mut a = DrawList::new();
        a.fill(Rect::new(0.0, 0.0, 10.0, 10.0), Color::RED);
        a.blur(
            Rect::new(0.0, 0.0, 10.0, 10.0),
            BlurKind::Gaussian { sigma: 1.0 },
        );
        let mut b = DrawList::new();
        b.fill(Rect::new(0.0, 0.0, 10.0, 10.0), Color::RED);
        let p = plan(&[a, b, DrawList::new()], 130, 20);
        assert_eq!(p.phases.len(), 2);
        // Phase 0: both frames composite, 3 x 1 tiles each.
        assert_eq!(p.phases[0].tiles, 3);
        assert_eq!(p.phases[0].rows, (0, 2));
        // Phase 1: frame 0's blur only.
        assert_eq!(p.ranges[3..6], [[1, 2], [3, 3], [3, 3]]);
        assert_eq!(p.phases[1].blocks1, 1);
        assert_eq!(p.scratch_bytes, 10 * 10 * 4);
    }

    #[test]
    fn composite_compacts_tiles_with_work() {
        use crate::Border;
        let mut a = DrawList::new();
        a.fill(Rect::new(100.0, 100.0, 10.0, 10.0), Color::RED); // tile (1, 1)
        // Outline only, 4 px: its ring touches tiles x 2..=9, y 2..=8 but not the
        // tiles inside its inner rectangle (x 3..=8, y 3..=7).
        a.rect(
            Rect::new(160.0, 160.0, 480.0, 380.0),
            Some(Border::new(4, Color::RED)),
            None,
        );
        let p = plan(&[a], 1000, 600);
        assert_eq!(p.phases.len(), 1);
        let ph = p.phases[0];
        assert_eq!(ph.rows.1, 1);
        assert_eq!(p.items[ph.rows.0 as usize].end, 2);
        let tiles: Vec<u32> = p.items[ph.compact.0 as usize..][..ph.compact.1 as usize]
            .iter()
            .map(|t| t.tile)
            .collect();
        let mut want = vec![16 + 1];
        for y in 2..=8u32 {
            for x in 2..=9u32 {
                if !((3..=8).contains(&x) && (3..=7).contains(&y)) {
                    want.push(y * 16 + x);
                }
            }
        }
        want.sort();
        assert_eq!(tiles, want);
        // A box over the whole frame: every tile has work, the full grid runs.
        let mut b = DrawList::new();
        b.fill(Rect::new(0.0, 0.0, 1000.0, 600.0), Color::RED);
        let p = plan(&[b], 1000, 600);
        assert_eq!(p.phases[0].compact, (0, 0));
        assert_eq!(p.phases[0].tiles, 160);
        assert!(!p.phases[0].overlay, "no overlay: the plain composite runs");
    }

    #[test]
    fn planar_phases_snap_to_blocks_and_jobs_cover_each_plane() {
        use crate::planar::{PlanarInfo, PlanarLayout};
        let info = PlanarInfo::tight(41, 39, PlanarLayout::Nv12);
        let mut l = DrawList::new();
        // Luma-disjoint but sharing chroma column 5 (pixels 10 and 11): the blur must
        // come after the box.
        l.fill(Rect::new(1.0, 1.0, 10.0, 9.0), Color::RED);
        l.blur(Rect::new(11.0, 3.0, 9.0, 9.0), BlurKind::Box { radius: 3 });
        l.blur(
            Rect::new(21.0, 21.0, 10.0, 10.0),
            BlurKind::Gaussian { sigma: 2.0 },
        );
        let (p, r) = plan_planar(info, &l);
        assert!(p.frames.is_empty());
        assert_eq!(p.planar.len(), 1);
        assert_eq!(p.planar[0].cb + 1, p.planar[0].cr, "NV12: Cr after Cb");
        assert_eq!(p.planar[0].c_step, 2);
        // Phase 0: the box and the gaussian (disjoint from it); phase 1: the box blur.
        assert_eq!(p.phases.len(), 2);
        assert_eq!(p.phases[0].rows.1, 1);
        assert_eq!(p.phases[0].jobs.1, 3);
        assert_eq!(p.phases[1].jobs.1, 3);
        assert_eq!(p.phases[1].rows.1, 0);
        // 41 x 39: 21 x 20 chroma samples, 2 x 2 blocks of 16.
        assert_eq!(p.phases[0].tiles, 4);
        let box_jobs = &p.plane_jobs[3..6];
        assert_eq!(box_jobs[0].region, r.cmds()[1].clip);
        assert_eq!(box_jobs[0].radius, 3);
        assert_eq!(
            (box_jobs[1].region.x0, box_jobs[1].region.x1),
            (5, 10),
            "chroma footprint of luma 11..20"
        );
        assert_eq!(box_jobs[1].radius, 2, "ceil(3 / 2)");
        // The gaussian's chroma planes use their own weights after the resolved ones.
        let g = &p.plane_jobs[0..3];
        assert_eq!(g[0].weights, r.cmds()[2].aux);
        assert!(g[1].weights as usize >= r.weights().len());
        assert_eq!(
            (2 * g[1].radius + 1) as usize,
            p.chroma_weights.len(),
            "one chroma table"
        );
    }
}
