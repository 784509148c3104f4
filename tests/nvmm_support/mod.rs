//! Shared by the nvmm_* tests: NvBufSurface batches in host memory, draw lists, the
//! CPU reference, and the C test double of libnvbufsurface.so.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use cudadraw::draw::{BlurKind, Border, DrawList, Image};
use cudadraw::nvmm::abi::{self, Abi, FrameParams, SurfaceHeader};
use cudadraw::nvmm::surface::planar_format;
use cudadraw::planar::{PlanarInfo, PlanarLayout, Plane};
use cudadraw::render::Renderer;
use cudadraw::{Align, Color, FrameInfo, HostFrame, PixelFormat, Rect};
use gstreamer as gst;

/// A batch whose frames, params array and descriptor all live in host memory.
pub struct HostBatch {
    pub abi: Abi,
    pub header: SurfaceHeader,
    pub params: Vec<FrameParams>,
    /// Pixel memory of each frame (pitch * height bytes); never reallocated.
    pub frames: Vec<Vec<u8>>,
    /// Write a null surfaceList (hostile descriptor).
    pub null_list: bool,
    /// surfaceList storage (u64 for 8-byte alignment).
    list: Vec<u64>,
}

pub fn nv_format(f: PixelFormat) -> u32 {
    match f {
        PixelFormat::Rgba => abi::color_format::RGBA,
        PixelFormat::Bgra => abi::color_format::BGRA,
        PixelFormat::Rgbx => abi::color_format::RGBX,
        PixelFormat::Bgrx => abi::color_format::BGRX,
        other => unreachable!("not handled here: {other:?}"),
    }
}

/// Deterministic, varied pixels (so blurs and blends have something to chew on).
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            ((x as usize + i * 7) >> 3) as u8
        })
        .collect()
}

impl HostBatch {
    /// `frames`: (width, height, pitch, format) of each filled frame.
    pub fn new(abi: Abi, mem_type: u32, frames: &[(u32, u32, u32, PixelFormat)]) -> Self {
        let mut b = HostBatch {
            abi,
            header: SurfaceHeader {
                gpu_id: 0,
                batch_size: frames.len() as u32,
                num_filled: frames.len() as u32,
                is_contiguous: false,
                mem_type,
                surface_list: 0,
            },
            params: Vec::new(),
            frames: Vec::new(),
            null_list: false,
            list: Vec::new(),
        };
        for (i, &(w, h, pitch, fmt)) in frames.iter().enumerate() {
            let mem = pattern(pitch as usize * h as usize, i as u32 + 1);
            b.params.push(FrameParams::packed_rgba(
                w,
                h,
                pitch,
                nv_format(fmt),
                mem.as_ptr() as u64,
            ));
            b.frames.push(mem);
        }
        b
    }

    /// Frame layouts as the CPU renderer sees them.
    pub fn infos(&self) -> Vec<FrameInfo> {
        self.params
            .iter()
            .map(|p| {
                let fmt = cudadraw::nvmm::surface::pixel_format(p.color_format)
                    .unwrap_or(PixelFormat::Rgba);
                FrameInfo::new(p.width, p.height, p.pitch as usize, fmt)
            })
            .collect()
    }

    /// Writes params (pointing at `frames`) and returns a GstBuffer holding exactly the
    /// descriptor. `params` may have more entries than `numFilled` (or fewer, to test).
    pub fn buffer(&mut self) -> gst::Buffer {
        let stride = self.abi.params_size();
        let n = self.params.len().max(1);
        self.list = vec![0u64; n * stride / 8 + 1];
        {
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.list);
            for (i, p) in self.params.iter().enumerate() {
                self.abi.write_params(&mut bytes[i * stride..], p).unwrap();
            }
        }
        self.header.surface_list = if self.null_list {
            0
        } else {
            self.list.as_ptr() as u64
        };
        let mut desc = vec![0u8; self.abi.surface_size()];
        self.abi.write_header(&mut desc, &self.header).unwrap();
        gst::Buffer::from_mut_slice(desc)
    }

    /// Copies of the frames, for the reference and untouched-checks.
    pub fn snapshot(&self) -> Vec<Vec<u8>> {
        self.frames.clone()
    }
}

/// A mixed draw list (boxes of every alignment, fill, blurs, overlay) scaled to w x h.
pub fn lists_for(infos: &[FrameInfo], image: cudadraw::ImageId) -> Vec<DrawList> {
    infos
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let (w, h) = (info.width as f32, info.height as f32);
            let k = i as f32;
            let mut l = DrawList::new();
            l.outline(
                Rect::new(w * 0.05 + k, h * 0.1, w * 0.4, h * 0.3),
                Border::new(3, Color::RED).align(Align::Center),
            );
            l.rect(
                Rect::new(w * 0.5, h * 0.5 - k, w * 0.45, h * 0.4),
                Some(Border::new(2, Color::rgba(0, 255, 0, 200)).align(Align::Outside)),
                Some(Color::rgba(0, 0, 255, 80)),
            );
            l.blur(
                Rect::new(w * 0.2, h * 0.55, w * 0.25, h * 0.3),
                BlurKind::Box { radius: 3 },
            );
            l.blur(
                Rect::new(w * 0.6, h * 0.05, w * 0.3, h * 0.3),
                BlurKind::Pixelate { block: 5 },
            );
            l.overlay(image, Rect::new(-3.0, h - 20.0, 24.0, 24.0), 0.75);
            l.fill(
                Rect::new(-10.0, -10.0, w * 0.2, 15.0),
                Color::rgba(255, 255, 0, 255),
            );
            l
        })
        .collect()
}

/// A small RGBA logo with varying alpha.
pub fn logo() -> Image {
    let (w, h) = (9u32, 7u32);
    let mut d = Vec::new();
    for y in 0..h {
        for x in 0..w {
            d.extend_from_slice(&[(x * 28) as u8, (y * 36) as u8, 200, ((x + y) * 16) as u8]);
        }
    }
    Image::new(w, h, d).unwrap()
}

/// The CPU renderer's pictures for `lists` on copies of `frames`.
pub fn reference(
    frames: &[Vec<u8>],
    infos: &[FrameInfo],
    lists: &[DrawList],
    renderer: &mut Renderer,
) -> Vec<Vec<u8>> {
    let mut out = frames.to_vec();
    let mut hosts: Vec<HostFrame<'_>> = out
        .iter_mut()
        .zip(infos)
        .map(|(d, info)| HostFrame::new(d, *info).unwrap())
        .collect();
    renderer.render_host(&mut hosts, lists).unwrap();
    drop(hosts);
    out
}

/// Builds the C double once per test process; its path. `CUDADRAW_TEST_DOUBLE` names a
/// prebuilt one instead (for hosts without a C compiler, e.g. the GPU bundle).
pub fn double_lib() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        if let Some(p) = std::env::var_os("CUDADRAW_TEST_DOUBLE") {
            return PathBuf::from(p);
        }
        let rel = "tests/double/nvbufsurface_double.c";
        // The crate root at build time, else the working directory (a copied checkout).
        let src = [
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel),
            PathBuf::from(rel),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{rel} not found (run from the repository root)"));
        let dir = std::env::temp_dir().join(format!("cudadraw-nvmm-double-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("libnvbufsurface_double.so");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let status = std::process::Command::new(&cc)
            .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {cc} to build the test double (or set CUDADRAW_TEST_DOUBLE): {e}"
                )
            });
        assert!(status.success(), "building the test double failed");
        out
    })
    .clone()
}

/// One recorded call of the double.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Map(i32),
    SyncCpu(i32),
    SyncDev(i32),
    UnMap(i32),
}

pub const F_MAP: i32 = 0;
pub const F_SYNC_CPU: i32 = 1;
pub const F_SYNC_DEV: i32 = 2;
pub const F_UNMAP: i32 = 3;

/// The double's control functions (same dlopen handle as cudadraw's, same state).
pub struct Double {
    _lib: libloading::Library,
    reset: unsafe extern "C" fn(i32),
    fail: unsafe extern "C" fn(i32, i32),
    log_len: unsafe extern "C" fn() -> i32,
    log_entry: unsafe extern "C" fn(i32, *mut i32, *mut i32, *mut i32, *mut i32),
    mapped_now: unsafe extern "C" fn() -> i32,
}

impl Double {
    pub fn open() -> Double {
        let path = double_lib();
        unsafe {
            let lib = libloading::Library::new(&path).unwrap();
            Double {
                reset: *lib.get(b"cdd_reset\0").unwrap(),
                fail: *lib.get(b"cdd_fail\0").unwrap(),
                log_len: *lib.get(b"cdd_log_len\0").unwrap(),
                log_entry: *lib.get(b"cdd_log_entry\0").unwrap(),
                mapped_now: *lib.get(b"cdd_mapped_now\0").unwrap(),
                _lib: lib,
            }
        }
    }

    pub fn reset(&self, abi: Abi) {
        unsafe { (self.reset)(abi.params_size() as i32) }
    }

    pub fn fail(&self, fun: i32, nth: i32) {
        unsafe { (self.fail)(fun, nth) }
    }

    pub fn mapped_now(&self) -> i32 {
        unsafe { (self.mapped_now)() }
    }

    /// Every call since the last reset; also checks plane 0 and READ_WRITE maps.
    pub fn calls(&self) -> Vec<Call> {
        self.calls_on(0)
    }

    /// [`Double::calls`] for calls that must all name `plane` (-1: all planes).
    pub fn calls_on(&self, want: i32) -> Vec<Call> {
        let n = unsafe { (self.log_len)() };
        (0..n)
            .map(|i| {
                let (mut f, mut idx, mut plane, mut flags) = (0, 0, 0, 0);
                unsafe { (self.log_entry)(i, &mut f, &mut idx, &mut plane, &mut flags) };
                assert_eq!(plane, want, "call {i} not on plane {want}");
                match f {
                    F_MAP => {
                        assert_eq!(flags, abi::map_flags::READ_WRITE, "Map not READ_WRITE");
                        Call::Map(idx)
                    }
                    F_SYNC_CPU => Call::SyncCpu(idx),
                    F_SYNC_DEV => Call::SyncDev(idx),
                    _ => Call::UnMap(idx),
                }
            })
            .collect()
    }
}

// ---- NV12 / I420 surfaces (planeParams), shared by nvmm_planar and gpu_planar.

/// A planar frame of `cf` at w x h: padded pitches, a gap between the planes, the
/// planes starting `start` bytes into the allocation; its params, layout and memory.
pub fn planar_frame(w: u32, h: u32, cf: u32, start: usize, seed: u32) -> (PlanarInfo, Vec<u8>) {
    let (l, m, r) = planar_format(cf).expect("a planar colour format");
    let mut info = PlanarInfo::tight(w, h, l).with_colour(m, r);
    let mut at = start;
    for i in 0..l.planes() {
        let (row, rows) = info.plane_extent(i);
        let pitch = (row + 5).next_multiple_of(4);
        info.planes[i] = Some(Plane { offset: at, pitch });
        at += pitch * rows + 12;
    }
    (info, pattern(at + 16, seed))
}

pub fn params_of(info: &PlanarInfo, cf: u32, mem: &[u8]) -> FrameParams {
    let mut p = FrameParams::packed_rgba(
        info.width,
        info.height,
        info.planes[0].unwrap().pitch as u32,
        cf,
        mem.as_ptr() as u64,
    );
    let pp = &mut p.plane_params;
    let (cw, ch) = info.chroma_size();
    pp.num_planes = info.layout.planes() as u32;
    for i in 0..info.layout.planes() {
        let pl = info.planes[i].unwrap();
        let (_, rows) = info.plane_extent(i);
        let (w, h, bpp) = match (i, info.layout) {
            (0, _) => (info.width, info.height, 1),
            (_, PlanarLayout::Nv12) => (cw, ch, 2),
            _ => (cw, ch, 1),
        };
        pp.width[i] = w;
        pp.height[i] = h;
        pp.bytes_per_pix[i] = bpp;
        pp.pitch[i] = pl.pitch as u32;
        pp.offset[i] = pl.offset as u32;
        pp.psize[i] = (pl.pitch * rows) as u32;
    }
    p.data_size = mem.len() as u32;
    p
}

/// A batch of planar frames in `mem_type` memory (host allocations).
pub fn planar_batch(
    abi: Abi,
    mem: u32,
    frames: &[(u32, u32, u32)],
) -> (HostBatch, Vec<PlanarInfo>) {
    let shapes: Vec<_> = frames
        .iter()
        .map(|_| (4, 4, 16, PixelFormat::Rgba))
        .collect();
    let mut b = HostBatch::new(abi, mem, &shapes);
    let mut infos = Vec::new();
    for (i, &(w, h, cf)) in frames.iter().enumerate() {
        let (info, bytes) = planar_frame(w, h, cf, 3 * i + 1, i as u32 + 7);
        b.frames[i] = bytes;
        b.params[i] = params_of(&info, cf, &b.frames[i]);
        infos.push(info);
    }
    (b, infos)
}

/// A box, a gaussian blur and a box over the bottom-right corner, on a w x h frame.
pub fn planar_list(w: u32, h: u32) -> DrawList {
    let (w, h) = (w as f32, h as f32);
    let mut l = DrawList::new();
    l.rect(
        Rect::new(-3.0, 2.0, w / 2.0, h / 2.0),
        Some(Border::new(2, Color::RED)),
        Some(Color::rgba(0, 255, 0, 90)),
    );
    l.blur(
        Rect::new(w / 3.0, h / 3.0, w / 2.0, h / 2.0 + 4.0),
        BlurKind::Gaussian { sigma: 1.5 },
    );
    l.fill(
        Rect::new(w - 5.0, h - 4.0, 9.0, 9.0),
        Color::rgba(0, 0, 255, 200),
    );
    l
}
