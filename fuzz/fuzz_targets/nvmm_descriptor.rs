//! Bytes -> `NvBufSurface` descriptor + params -> validation (`nvmm::surface::parse`),
//! then `NvmmBatch::from_buffer` on a GstBuffer holding the descriptor and a CPU
//! render of a box and a blur per frame, in SYSTEM memory.
//!
//! The descriptor, its params and the pixels they point at all live in one owned,
//! 8-byte-aligned allocation built from the input:
//!
//! ```text
//! [ descriptor: surface_size ][ params: n x params_size ][ pixel area: PIXEL_LEN ]
//! ```
//!
//! The harness overwrites only the pointer fields (and the fields that say how many
//! pointers there are), so that every pointer the library may follow is a real one into
//! that allocation: `surfaceList` is the address of the params array, `numFilled` is at
//! most the number of params present, and each `dataPtr` is either null or points
//! into the pixel area at an input-chosen offset where the frame's memory fits (see
//! [`Policy`]). Everything else (sizes, pitches, offsets, formats, layouts, `dataSize`,
//! `batchSize`, ...) is the input's.
//!
//! Input: byte 0 = flags (bit 0: ABI; bits 1-2: `NvmmOptions::abi`; bit 3: keep the
//! input's memType and only parse; bits 4-5: [`Policy`]; bit 6: numFilled = number of
//! params present; bit 7: one list too many at render), then `surface_size` descriptor
//! bytes, then up to [`MAX_PARAMS`] chunks of (u32 LE pixel offset, `params_size`
//! param bytes), then the draw parameters (read as far as they go, zeros after).
//!
//! Checks, beyond "no panic, no out-of-bounds access" (AddressSanitizer):
//! - every frame parse accepts has `dataSize >= planeParams.offset[0] + extent` and lies
//!   wholly inside the pixel area (checked before anything is drawn);
//! - `from_buffer` accepts exactly what `parse` accepted (same frames), and refuses a
//!   descriptor of the other ABI's size when `NvmmOptions::abi` names the other ABI;
//! - a failed render changes nothing; a successful one never writes the descriptor, the
//!   params, row padding, bytes outside the frames, or the x byte of RGBx/BGRx pixels.
#![no_main]

use std::sync::OnceLock;

use cudadraw::nvmm::{MemType, surface};
use cudadraw::nvmm::{Abi, NvmmBatch, NvmmFrame, NvmmOptions};
use cudadraw::render::Renderer;
use cudadraw::{BlurKind, Border, Color, DrawList, Rect};
use gstreamer as gst;
use libfuzzer_sys::fuzz_target;

/// Most params (frames) one input describes.
const MAX_PARAMS: usize = 8;
/// Size of the pixel area all `dataPtr`s point into (a multiple of 8).
const PIXEL_LEN: usize = 16 * 1024;

// Byte offsets in the descriptor (both ABIs) and in the params (both ABIs), per
// src/nvmm/abi.rs.
const D_NUM_FILLED: usize = 8;
const D_MEM_TYPE: usize = 16;
const D_SURFACE_LIST: usize = 24;
const P_WIDTH: usize = 0;
const P_HEIGHT: usize = 4;
const P_PITCH: usize = 8;
const P_DATA_SIZE: usize = 32;
const P_DATA_PTR: usize = 40;
/// `planeParams` (48) + `offset[0]` (52).
const P_OFFSET0: usize = 100;
const MEM_SYSTEM: u32 = 6;

/// How a param's `dataPtr` is chosen from its input offset `off` in the pixel area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Non-null only if `off + max(dataSize, offset[0] + extent)` fits; else null.
    Strict,
    /// As `Strict`, after lowering `dataSize` to the room left at `off` when it
    /// claims more.
    StrictClamped,
    /// `dataSize` is the allocation: non-null if `off + dataSize` fits, whatever the
    /// frame's size and pitch claim (a frame larger than its `dataSize` must be
    /// refused by validation: the check after parse catches one that is not, before it
    /// is drawn).
    Allocation,
    /// As `Allocation`, after lowering `dataSize` to the room left at `off`: never null.
    AllocationClamped,
}

fn rd32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn wr32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn wr64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Bytes of a frame of `width` x `height` at `pitch`: `pitch * (height - 1) + 4 * width`,
/// saturating, 0 for no rows.
fn extent(width: u32, height: u32, pitch: u32) -> u64 {
    if height == 0 {
        return 0;
    }
    u64::from(pitch)
        .saturating_mul(u64::from(height) - 1)
        .saturating_add(4 * u64::from(width))
}

/// Reads the draw parameters; zeros once the input is used up.
struct Cursor<'a>(&'a [u8]);
impl Cursor<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// Mostly small integers around the frame, sometimes any f32 (NaN, infinities,
    /// huge values).
    fn coord(&mut self, raw: bool) -> f32 {
        if raw {
            f32::from_bits(self.u32())
        } else {
            f32::from(i16::from_le_bytes([self.u8(), self.u8()])) / 4.0
        }
    }
    fn rect(&mut self) -> Rect {
        let raw = self.u8() & 0x80 != 0;
        Rect::new(
            self.coord(raw),
            self.coord(raw),
            self.coord(raw),
            self.coord(raw),
        )
    }
    fn color(&mut self) -> Color {
        Color::rgba(self.u8(), self.u8(), self.u8(), self.u8())
    }
}

fn lists_for(frames: usize, c: &mut Cursor) -> Vec<DrawList> {
    (0..frames)
        .map(|_| {
            let mut l = DrawList::new();
            let (rect, width, color) = (c.rect(), c.u8(), c.color());
            let fill = (c.u8() & 1 == 1).then(|| Color::rgba(10, 200, 30, 128));
            l.rect(rect, Some(Border::new(u32::from(width), color)), fill);
            let (rect, sel, arg) = (c.rect(), c.u8(), c.u8());
            let kind = match sel % 8 {
                // Mostly the solid redaction (cheap), sometimes the other kinds.
                0..=4 => BlurKind::Solid { color: c.color() },
                5 => BlurKind::Box {
                    radius: u32::from(arg % 9),
                },
                6 => BlurKind::Pixelate {
                    block: u32::from(arg),
                },
                _ => BlurKind::Gaussian {
                    sigma: f32::from(arg) / 16.0,
                },
            };
            l.blur(rect, kind);
            l
        })
        .collect()
}

/// Initialises GStreamer once; returns whether `CUDADRAW_FUZZ_TRACE` is set (then each
/// input's outcome is printed, for replaying seeds and crashes).
fn init() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| {
        gst::init().expect("GStreamer initialises");
        std::env::var_os("CUDADRAW_FUZZ_TRACE").is_some()
    })
}

fuzz_target!(|data: &[u8]| {
    let trace = init();
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let abi = if flags & 1 == 0 {
        Abi::Ds4To7
    } else {
        Abi::Ds8
    };
    let other = if abi == Abi::Ds8 {
        Abi::Ds4To7
    } else {
        Abi::Ds8
    };
    let opts = NvmmOptions {
        abi: match (flags >> 1) & 3 {
            0 | 1 => None,
            2 => Some(abi),
            _ => Some(other),
        },
        ..NvmmOptions::default()
    };
    let parse_only = flags & 8 != 0;
    let policy = [
        Policy::Strict,
        Policy::StrictClamped,
        Policy::Allocation,
        Policy::AllocationClamped,
    ][usize::from((flags >> 4) & 3)];
    let fill_all = flags & 64 != 0;
    let extra_list = flags & 128 != 0;

    let (ss, ps) = (abi.surface_size(), abi.params_size());
    let (desc_in, rest) = rest.split_at(rest.len().min(ss));
    let chunks: Vec<&[u8]> = rest.chunks_exact(4 + ps).take(MAX_PARAMS).collect();
    let n = chunks.len();
    let mut draw = Cursor(&rest[n * (4 + ps)..]);

    // One owned allocation, 8-byte aligned (u64 words): descriptor, params, pixels.
    let (params_at, pixels_at) = (ss, ss + n * ps);
    let total = pixels_at + PIXEL_LEN;
    debug_assert!(total.is_multiple_of(8));
    let mut mem = vec![0u64; total / 8];
    // From here on the allocation is only reached through `base` (and the addresses
    // derived from it that the library follows): no reference to `mem` is held while
    // the library reads or writes it.
    let base: *mut u8 = mem.as_mut_ptr().cast();
    let params_addr = base.wrapping_add(params_at).expose_provenance() as u64;
    let pixels_addr = base.wrapping_add(pixels_at).expose_provenance() as u64;

    // The values the harness wrote, for the checks after parse.
    let mut data_ptrs = [0u64; MAX_PARAMS];
    let mut data_sizes = [0u32; MAX_PARAMS];
    let num_filled;
    let mem_type;
    {
        // SAFETY: `base` addresses `total` initialised bytes owned by `mem`; this
        // slice is the only access to them while it lives.
        let all = unsafe { std::slice::from_raw_parts_mut(base, total) };
        all[..desc_in.len()].copy_from_slice(desc_in);
        for (i, chunk) in chunks.iter().enumerate() {
            let off = (rd32(chunk, 0) as usize) % (PIXEL_LEN + 1);
            let room = (PIXEL_LEN - off) as u64;
            let p = &mut all[params_at + i * ps..params_at + (i + 1) * ps];
            p.copy_from_slice(&chunk[4..]);
            let mut ds = rd32(p, P_DATA_SIZE);
            if matches!(policy, Policy::StrictClamped | Policy::AllocationClamped)
                && u64::from(ds) > room
            {
                ds = room as u32;
                wr32(p, P_DATA_SIZE, ds);
            }
            let frame_end = u64::from(rd32(p, P_OFFSET0)).saturating_add(extent(
                rd32(p, P_WIDTH),
                rd32(p, P_HEIGHT),
                rd32(p, P_PITCH),
            ));
            let fits = match policy {
                Policy::Strict | Policy::StrictClamped => u64::from(ds).max(frame_end) <= room,
                Policy::Allocation | Policy::AllocationClamped => u64::from(ds) <= room,
            };
            let ptr = if fits { pixels_addr + off as u64 } else { 0 };
            wr64(p, P_DATA_PTR, ptr);
            data_ptrs[i] = ptr;
            data_sizes[i] = ds;
        }
        // The pointer fields of the descriptor: surfaceList -> the params array above,
        // numFilled <= params present, memType SYSTEM unless parse-only.
        let d = &mut all[..ss];
        wr64(d, D_SURFACE_LIST, params_addr);
        num_filled = if fill_all {
            n as u32
        } else {
            rd32(d, D_NUM_FILLED).min(n as u32)
        };
        wr32(d, D_NUM_FILLED, num_filled);
        if !parse_only {
            wr32(d, D_MEM_TYPE, MEM_SYSTEM);
        }
        mem_type = rd32(d, D_MEM_TYPE);
        // Pixels: a pattern, so that writes show.
        for (i, b) in all[pixels_at..].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31) ^ (i >> 8) as u8 ^ 0x5a;
        }
    }
    let snapshot = |base: *mut u8| -> Vec<u8> {
        // SAFETY: as above; a transient shared view, copied out.
        unsafe { std::slice::from_raw_parts(base, total) }.to_vec()
    };
    let before = snapshot(base);
    let desc: Vec<u8> = before[..ss].to_vec();

    let mut frames: Vec<NvmmFrame> = Vec::new();
    // SAFETY: parse's contract is that a non-null surfaceList points to numFilled
    // params of `abi`'s layout. surfaceList is `params_addr`, the start of the
    // n * params_size bytes at `params_at` in `mem` (alive and unwritten until the
    // end of this function), and numFilled was set to at most n. parse does not
    // dereference dataPtr.
    let parsed = unsafe { surface::parse(&desc, abi, &mut frames) };
    if trace {
        eprintln!(
            "parse ({abi}, {policy:?}, {n} params): {:?}",
            parsed.as_ref().map(|(h, m)| (h.num_filled, *m))
        );
    }
    let Ok((header, mtype)) = parsed else {
        assert!(frames.is_empty(), "a failed parse left frames: {frames:?}");
        return;
    };

    // What validation must have guaranteed, checked independently before anything
    // dereferences a dataPtr.
    assert_eq!(header.num_filled, num_filled);
    assert_eq!(header.surface_list, params_addr);
    assert_eq!(mtype.raw(), mem_type);
    assert_eq!(frames.len(), num_filled as usize);
    for (i, f) in frames.iter().enumerate() {
        let p = &before[params_at + i * ps..params_at + (i + 1) * ps];
        assert_eq!(f.index, i);
        assert_eq!(
            (f.width, f.height, f.pitch),
            (
                rd32(p, P_WIDTH),
                rd32(p, P_HEIGHT),
                rd32(p, P_PITCH) as usize
            )
        );
        let need = f.info().min_len() as u64;
        let offset0 = u64::from(rd32(p, P_OFFSET0));
        assert_eq!(need, extent(f.width, f.height, f.pitch as u32));
        assert!(
            u64::from(data_sizes[i]) >= offset0 + need,
            "frame {i}: accepted with dataSize {} < offset {offset0} + extent {need}",
            data_sizes[i]
        );
        if matches!(mtype, MemType::SurfaceArray | MemType::Handle) {
            continue;
        }
        assert_ne!(data_ptrs[i], 0, "frame {i}: null dataPtr accepted");
        assert_eq!(f.data_ptr, data_ptrs[i] + offset0);
        assert!(
            f.data_ptr >= pixels_addr && f.data_ptr + need <= pixels_addr + PIXEL_LEN as u64,
            "frame {i} ({}x{} pitch {}, {need} bytes at pixel offset {}) accepted outside the \
             {PIXEL_LEN}-byte pixel area",
            f.width,
            f.height,
            f.pitch,
            f.data_ptr as i128 - pixels_addr as i128
        );
    }
    if parse_only || mtype != MemType::System {
        // Other memory types would draw through CUDA or NvBufSurfaceMap on pointers
        // that are host addresses: parse only.
        return;
    }

    // The same descriptor in a GstBuffer, exactly `surface_size` bytes.
    let buffer = gst::Buffer::from_mut_slice(desc.clone());
    let expected_abi = opts.abi_for(ss);
    // SAFETY: from_buffer's contract: the buffer holds an NvBufSurface whose
    // surfaceList points to numFilled readable params of its ABI (the params array in
    // `mem`, as for parse above; the ABI from_buffer reads them with is the one its
    // size says, `abi`, or it fails before reading), and whose dataPtrs point to
    // frames of the described size that stay alive while the batch is used: every
    // frame parse accepted was checked above to lie inside the pixel area of `mem`,
    // which outlives `batch`.
    let batch = unsafe { NvmmBatch::from_buffer(buffer.as_ref(), &opts) };
    let batch = match (batch, expected_abi) {
        (Ok(b), Ok(a)) => {
            assert_eq!(a, abi);
            assert_eq!(b.abi(), abi);
            assert_eq!(b.frames(), &frames[..]);
            assert_eq!(b.mem_type(), MemType::System);
            b
        }
        // Refused for its size (NvmmOptions::abi or CUDADRAW_NVMM_ABI names the other ABI).
        (Err(e), Err(_)) => {
            if trace {
                eprintln!("from_buffer: {e}");
            }
            return;
        }
        (Ok(b), Err(e)) => panic!("from_buffer accepted {b:?}, abi_for says {e}"),
        (Err(e), Ok(_)) => panic!("parse accepted, from_buffer refused: {e}"),
    };

    let lists = lists_for(frames.len() + usize::from(extra_list), &mut draw);
    let mut renderer = Renderer::new();
    let result = batch.render(&mut renderer, &lists);
    drop(batch);
    if trace {
        eprintln!(
            "render of {} frame(s), {} list(s): {result:?}",
            frames.len(),
            lists.len()
        );
    }
    let after = snapshot(base);
    assert_eq!(
        after[..pixels_at],
        before[..pixels_at],
        "the render wrote the descriptor or params"
    );
    if extra_list {
        assert!(result.is_err(), "one list too many was accepted");
    }
    if result.is_err() {
        assert!(after == before, "a failed render drew: {result:?}");
        return;
    }
    // Bytes a frame may change: the 4 * width bytes of each row (not the padding),
    // less the x byte of formats without alpha.
    let mut may_change = vec![false; PIXEL_LEN];
    for f in &frames {
        let start = (f.data_ptr - pixels_addr) as usize;
        for y in 0..f.height as usize {
            let row = start + y * f.pitch;
            for x in 0..f.width as usize {
                for c in 0..4 {
                    if c != 3 || f.format.has_alpha() {
                        may_change[row + 4 * x + c] = true;
                    }
                }
            }
        }
    }
    for (i, ok) in may_change.iter().enumerate() {
        if !ok {
            assert_eq!(
                after[pixels_at + i],
                before[pixels_at + i],
                "pixel area byte {i} changed: outside every frame, padding or an x byte"
            );
        }
    }
    drop(mem);
});
