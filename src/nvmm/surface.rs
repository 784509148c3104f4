//! From a GstBuffer holding an `NvBufSurface` descriptor to validated frames, and the
//! dispatch of a render by memory type.

use std::cell::RefCell;
use std::ffi::c_void;
use std::fmt;

use gstreamer as gst;

use crate::color::PixelFormat;
use crate::draw::DrawList;
use crate::error::{Error, Result};
use crate::frame::{DeviceFrame, FrameInfo, HostFrame};
use crate::nvmm::NvmmOptions;
use crate::nvmm::abi::{self, Abi, SurfaceHeader, color_format, layout, mem_type};
use crate::nvmm::frame::{MemType, NvmmFrame};
use crate::nvmm::map::{self, NvBufSurfaceLib};
use crate::planar::{
    DevicePlanarFrame, PlanarFrame, PlanarInfo, PlanarLayout, Plane, YuvMatrix, YuvRange,
};
use crate::render::Renderer;

/// Largest `batchSize` accepted; larger values are corrupt descriptors.
pub const MAX_BATCH: u32 = 4096;

/// How [`NvmmBatch::render`] reaches the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenderPath {
    /// CUDA backend on `dataPtr` (device, pinned, unified, dGPU default memory).
    Device,
    /// `NvBufSurfaceMap` + CPU renderer (Jetson memory, or unified when forced).
    CpuMap,
    /// CPU renderer straight on `dataPtr` (SYSTEM memory).
    Host,
}

thread_local! {
    // Streaming threads are long-lived: reusing these keeps steady-state buffers free
    // of allocation.
    static FRAME_VECS: RefCell<Vec<Vec<NvmmFrame>>> = const { RefCell::new(Vec::new()) };
    static DEVICE_VECS: RefCell<Vec<Vec<DeviceFrame>>> = const { RefCell::new(Vec::new()) };
    static PLANAR_VECS: RefCell<Vec<Vec<DevicePlanarFrame>>> = const { RefCell::new(Vec::new()) };
}

fn take_vec<T>(pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>) -> Vec<T> {
    pool.with(|p| p.borrow_mut().pop()).unwrap_or_default()
}

fn give_vec<T>(pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>, mut v: Vec<T>) {
    v.clear();
    pool.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < 4 {
            p.push(v);
        }
    });
}

/// A DeepStream batch read from a GstBuffer. Holds the buffer's read map for its whole
/// lifetime, so the descriptor the frames came from stays valid while they are used.
pub struct NvmmBatch<'a> {
    map: gst::buffer::BufferMap<'a, gst::buffer::Readable>,
    abi: Abi,
    header: SurfaceHeader,
    mem_type: MemType,
    frames: Vec<NvmmFrame>,
    force_cpu_map_for_unified: bool,
    lib_path: Option<std::path::PathBuf>,
}

impl fmt::Debug for NvmmBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NvmmBatch")
            .field("abi", &self.abi)
            .field("header", &self.header)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Drop for NvmmBatch<'_> {
    fn drop(&mut self) {
        give_vec(&FRAME_VECS, std::mem::take(&mut self.frames));
    }
}

impl<'a> NvmmBatch<'a> {
    /// Maps `buffer` read-only and validates the `NvBufSurface` it holds: its size (exactly
    /// `sizeof(NvBufSurface)` of one ABI, which also tells the ABI: see
    /// [`NvmmOptions::abi_for`]), `numFilled <= batchSize`, memory type, and for every
    /// filled frame its colour format (RGBA, BGRA, RGBx, BGRx), pitch-linear layout,
    /// size, pitch, plane 0's offset, size and bytes per pixel, `dataSize`, and (for
    /// memory cudadraw addresses directly) a non-null `dataPtr`. Errors name the ABI;
    /// nothing is written.
    ///
    /// # Safety
    /// `buffer` must hold an `NvBufSurface` made by an NvBufSurface producer
    /// (DeepStream, or `nvmm::synthetic`): a buffer of a stream whose
    /// negotiated caps say `memory:NVMM`. Its `surfaceList` must point to `numFilled`
    /// readable params of the descriptor's ABI, and their `dataPtr`s to frames of the
    /// described size that stay alive while the batch is used. Like every DeepStream
    /// element, cudadraw has no way to check those pointers; bytes that merely claim
    /// to be a descriptor (a frame-sized buffer mislabelled as NVMM) fail the size check.
    pub unsafe fn from_buffer(
        buffer: &'a gst::BufferRef,
        opts: &NvmmOptions,
    ) -> Result<NvmmBatch<'a>> {
        let map = buffer.map_readable().map_err(|_| Error::NvBufSurface {
            abi: "no ABI".into(),
            reason: "cannot map the buffer readable".into(),
        })?;
        let abi = opts.abi_for(map.len())?;
        let mut frames = take_vec(&FRAME_VECS);
        // SAFETY: the size matches the ABI's descriptor; the surfaceList pointer is
        // trusted per this function's contract; the map outlives `frames` use through
        // the returned batch.
        let parsed = unsafe { parse(map.as_slice(), abi, &mut frames) };
        let (header, mem_type) = match parsed {
            Ok(v) => v,
            Err(e) => {
                give_vec(&FRAME_VECS, frames);
                return Err(e);
            }
        };
        let mut batch = NvmmBatch {
            map,
            abi,
            header,
            mem_type,
            frames,
            force_cpu_map_for_unified: opts.force_cpu_map_for_unified,
            lib_path: None,
        };
        // Only the CPU map path needs the library path: device batches stay free of
        // allocation.
        if batch.path() == RenderPath::CpuMap {
            batch.lib_path = opts.nvbufsurface_lib.clone();
        }
        Ok(batch)
    }

    /// The filled frames, in batch order.
    pub fn frames(&self) -> &[NvmmFrame] {
        &self.frames
    }

    /// The ABI the descriptor was read with.
    pub fn abi(&self) -> Abi {
        self.abi
    }

    /// The descriptor's header fields.
    pub fn header(&self) -> &SurfaceHeader {
        &self.header
    }

    /// The batch's memory type.
    pub fn mem_type(&self) -> MemType {
        self.mem_type
    }

    /// The descriptor's GPU.
    pub fn gpu_id(&self) -> u32 {
        self.header.gpu_id
    }

    /// How [`NvmmBatch::render`] will reach the pixels.
    pub fn path(&self) -> RenderPath {
        match self.mem_type {
            MemType::SurfaceArray | MemType::Handle => RenderPath::CpuMap,
            MemType::CudaUnified if self.force_cpu_map_for_unified => RenderPath::CpuMap,
            MemType::Default if is_jetson() => RenderPath::CpuMap,
            MemType::System => RenderPath::Host,
            MemType::Default | MemType::CudaPinned | MemType::CudaDevice | MemType::CudaUnified => {
                RenderPath::Device
            }
        }
    }

    /// Draws `lists[i]` on frame `i` (one list per filled frame). On a validation error
    /// no frame is drawn; on the CPU map path every mapped frame is unmapped whatever
    /// happens.
    pub fn render<L: AsRef<DrawList>>(&self, renderer: &mut Renderer, lists: &[L]) -> Result<()> {
        if lists.len() != self.frames.len() {
            return Err(Error::BatchMismatch {
                frames: self.frames.len(),
                lists: lists.len(),
            });
        }
        if self.frames.is_empty() {
            return Ok(());
        }
        let planar = self.frames.iter().filter(|f| f.planar.is_some()).count();
        if planar > 0 {
            if planar != self.frames.len() {
                return Err(self.abi.error(format!(
                    "{planar} of {} frames are NV12/I420, the others packed: one batch has one \
                     colour format",
                    self.frames.len()
                )));
            }
            return self.render_planar(renderer, lists);
        }
        match self.path() {
            RenderPath::Device => {
                let mut dev = take_vec(&DEVICE_VECS);
                for f in &self.frames {
                    // SAFETY: dataPtr of a CUDA memory type addresses the frame on gpuId
                    // (validated non-null, size and pitch checked on parse).
                    dev.push(unsafe { DeviceFrame::new(f.data_ptr, f.info(), f.gpu_id) });
                }
                let r = renderer.render_device(&dev, lists);
                give_vec(&DEVICE_VECS, dev);
                r
            }
            RenderPath::Host => {
                // Before any slice is made: two `&mut` over shared bytes would already
                // be undefined behaviour, whatever the renderer checks later.
                crate::frame::check_disjoint(
                    self.frames.iter().map(|f| (f.data_ptr, f.info())),
                    &mut Vec::new(),
                )?;
                let mut hosts = Vec::with_capacity(self.frames.len());
                for f in &self.frames {
                    // SAFETY: SYSTEM memory: dataPtr is host memory of the frame's size,
                    // owned by the buffer we hold mapped.
                    let h = unsafe { HostFrame::from_raw(f.data_ptr as *mut u8, f.info()) }
                        .map_err(|e| self.abi.error(format!("frame {}: {e}", f.index)))?;
                    hosts.push(h);
                }
                renderer.render_host(&mut hosts, lists)
            }
            RenderPath::CpuMap => {
                let lib = NvBufSurfaceLib::open(self.lib_path.as_deref(), self.abi)?;
                // SAFETY: the descriptor stays mapped for this call and was validated.
                unsafe {
                    map::render_mapped(&self.map_target(&lib), &self.frames, |hosts| {
                        renderer.render_host(hosts, lists)
                    })
                }
            }
        }
    }
}

impl NvmmBatch<'_> {
    /// This batch as the CPU map path maps it.
    fn map_target<'l>(&self, lib: &'l NvBufSurfaceLib) -> map::MapTarget<'l> {
        map::MapTarget {
            lib,
            abi: self.abi,
            // Map writes mappedAddr into surfaceList (not into the descriptor we hold
            // read-mapped); its C signature takes a mutable pointer.
            surface: self.map.as_ptr() as *mut c_void,
            surface_list: self.header.surface_list,
            // On Jetson memory a failing SyncForCpu is an error; on unified memory
            // DeepStream returns -1 and the memory needs no sync.
            strict_cpu_sync: matches!(
                self.mem_type,
                MemType::SurfaceArray | MemType::Handle | MemType::Default
            ),
        }
    }

    /// A batch of NV12 / I420 frames (`dataPtr` + `planeParams.offset[i]`, all inside
    /// `dataSize`): device memory is drawn by the CUDA backend, SYSTEM memory in place
    /// by the CPU renderer, Jetson memory by the CPU renderer through the map path
    /// (every plane where `NvBufSurfaceMap` puts it).
    fn render_planar<L: AsRef<DrawList>>(
        &self,
        renderer: &mut Renderer,
        lists: &[L],
    ) -> Result<()> {
        match self.path() {
            RenderPath::Device => {
                let mut dev = take_vec(&PLANAR_VECS);
                for f in &self.frames {
                    let Some(info) = f.planar else { continue };
                    // SAFETY: dataPtr of a CUDA memory type addresses the frame on gpuId;
                    // its planes lie inside dataSize (checked on parse).
                    dev.push(unsafe { DevicePlanarFrame::new(f.data_ptr, info, f.gpu_id) });
                }
                let r = renderer.render_planar_device(&dev, lists);
                give_vec(&PLANAR_VECS, dev);
                r
            }
            RenderPath::CpuMap => {
                let lib = NvBufSurfaceLib::open(self.lib_path.as_deref(), self.abi)?;
                // SAFETY: the descriptor stays mapped for this call and was validated;
                // every frame is planar (checked by the caller).
                unsafe {
                    map::render_mapped_planar(&self.map_target(&lib), &self.frames, |hosts| {
                        renderer.render_planar_host(hosts, lists)
                    })
                }
            }
            RenderPath::Host => {
                let infos = || {
                    self.frames
                        .iter()
                        .filter_map(|f| Some((f.data_ptr, f.planar?)))
                };
                // Before any slice is made (as for packed frames).
                crate::frame::check_disjoint_bytes(
                    infos().map(|(p, info)| (p, info.min_len())),
                    &mut Vec::new(),
                )?;
                let mut hosts = Vec::with_capacity(self.frames.len());
                for (i, (ptr, info)) in infos().enumerate() {
                    // SAFETY: SYSTEM memory: dataPtr is host memory of dataSize bytes
                    // (checked >= the planes' span on parse), owned by the buffer we hold
                    // mapped; frames were checked disjoint above.
                    let h = unsafe { PlanarFrame::from_raw(ptr as *mut u8, info) }
                        .map_err(|e| self.abi.error(format!("frame {i}: {e}")))?;
                    hosts.push(h);
                }
                renderer.render_planar_host(&mut hosts, lists)
            }
        }
    }
}

/// The planar layout, matrix and range of an `NvBufSurfaceColorFormat`: NV12 and
/// YUV420 (I420) in BT.601, BT.709 and BT.2020, `_ER` ("extended range") being full
/// range. NV21, YVU420 and the 10/12-bit formats are not drawn.
pub fn planar_format(color_format: u32) -> Option<(PlanarLayout, YuvMatrix, YuvRange)> {
    use PlanarLayout::{I420, Nv12};
    use YuvMatrix::{Bt601, Bt709, Bt2020};
    use YuvRange::{Full, Limited};
    Some(match color_format {
        color_format::NV12 => (Nv12, Bt601, Limited),
        color_format::NV12_ER => (Nv12, Bt601, Full),
        color_format::NV12_709 => (Nv12, Bt709, Limited),
        color_format::NV12_709_ER => (Nv12, Bt709, Full),
        color_format::NV12_2020 => (Nv12, Bt2020, Limited),
        color_format::YUV420 => (I420, Bt601, Limited),
        color_format::YUV420_ER => (I420, Bt601, Full),
        color_format::YUV420_709 => (I420, Bt709, Limited),
        color_format::YUV420_709_ER => (I420, Bt709, Full),
        color_format::YUV420_2020 => (I420, Bt2020, Limited),
        _ => return None,
    })
}

/// Checks the planes of an NV12 / I420 frame's params: `num_planes`, each plane's size
/// in samples (chroma ceil(w/2) x ceil(h/2)), bytes per sample (NV12's UV: 2), pitch,
/// offset and psize, and that `dataSize` holds them all; returns the frame's layout
/// (offsets from `dataPtr`).
fn planar_info(
    p: &abi::FrameParams,
    layout: PlanarLayout,
    matrix: YuvMatrix,
    range: YuvRange,
) -> std::result::Result<PlanarInfo, String> {
    let pp = &p.plane_params;
    let n = layout.planes();
    if pp.num_planes as usize != n {
        return Err(format!(
            "{} planes for a {} frame (it has {n})",
            pp.num_planes,
            layout.name()
        ));
    }
    let mut info = PlanarInfo::tight(p.width, p.height, layout).with_colour(matrix, range);
    let (cw, ch) = info.chroma_size();
    for i in 0..n {
        let (w, h, bpp) = match (i, layout) {
            (0, _) => (p.width, p.height, 1),
            (_, PlanarLayout::Nv12) => (cw, ch, 2),
            _ => (cw, ch, 1),
        };
        if pp.width[i] != w || pp.height[i] != h || pp.bytes_per_pix[i] != bpp {
            return Err(format!(
                "planeParams plane {i} is {}x{} at {} bytes per pixel; a {}x{} {} frame's is \
                 {w}x{h} at {bpp}",
                pp.width[i],
                pp.height[i],
                pp.bytes_per_pix[i],
                p.width,
                p.height,
                layout.name()
            ));
        }
        info.planes[i] = Some(Plane {
            offset: pp.offset[i] as usize,
            pitch: pp.pitch[i] as usize,
        });
    }
    info.validate(0).map_err(|e| e.to_string())?;
    for i in 0..n {
        let (start, end) = info.plane_span(i).unwrap_or((0, 0));
        if (pp.psize[i] as usize) < end - start {
            return Err(format!(
                "planeParams.psize[{i}] {} is smaller than the {} bytes plane {i} spans",
                pp.psize[i],
                end - start
            ));
        }
    }
    if (p.data_size as usize) < info.min_len() {
        return Err(format!(
            "dataSize {} cannot hold the planes ({} bytes)",
            p.data_size,
            info.min_len()
        ));
    }
    Ok(info)
}

/// Whether this is a Jetson (integrated GPU), where DEFAULT memory is SURFACE_ARRAY.
pub fn is_jetson() -> bool {
    static JETSON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *JETSON.get_or_init(|| {
        cfg!(target_arch = "aarch64") && std::path::Path::new("/etc/nv_tegra_release").exists()
    })
}

/// The drawable format of an `NvBufSurfaceColorFormat`.
pub fn pixel_format(color_format: u32) -> Option<PixelFormat> {
    match color_format {
        color_format::RGBA => Some(PixelFormat::Rgba),
        color_format::BGRA => Some(PixelFormat::Bgra),
        color_format::RGBX => Some(PixelFormat::Rgbx),
        color_format::BGRX => Some(PixelFormat::Bgrx),
        _ => None,
    }
}

/// Validates the descriptor at the start of `bytes` and appends its filled frames.
///
/// # Safety
/// A non-null `surfaceList` must point to `numFilled` params of layout `abi`.
pub unsafe fn parse(
    bytes: &[u8],
    abi: Abi,
    frames: &mut Vec<NvmmFrame>,
) -> Result<(SurfaceHeader, MemType)> {
    let h = abi.read_header(bytes)?;
    if h.batch_size > MAX_BATCH {
        return Err(abi.error(format!("batchSize {} exceeds {MAX_BATCH}", h.batch_size)));
    }
    if h.num_filled > h.batch_size {
        return Err(abi.error(format!(
            "numFilled {} > batchSize {}",
            h.num_filled, h.batch_size
        )));
    }
    let Some(mem) = MemType::from_raw(h.mem_type) else {
        if h.mem_type == mem_type::CUDA_ARRAY {
            return Err(Error::UnsupportedFormat(format!(
                "memory type NVBUF_MEM_CUDA_ARRAY (7, DeepStream 9 on Jetson) is a CUDA array, \
                 not linear memory: there is no dataPtr to draw through ({abi}); convert to \
                 another memory type with nvvideoconvert first"
            )));
        }
        return Err(abi.error(format!("unknown memory type {}", h.mem_type)));
    };
    if h.num_filled > 0 && h.surface_list == 0 {
        return Err(abi.error("null surfaceList"));
    }
    let uses_data_ptr = !matches!(mem, MemType::SurfaceArray | MemType::Handle);
    let n = h.num_filled as usize;
    frames.reserve(n);
    let start = frames.len();
    for i in 0..n {
        let at = h.surface_list + (i * abi.params_size()) as u64;
        // SAFETY: the caller guarantees numFilled params at surfaceList.
        let raw = unsafe { std::slice::from_raw_parts(at as *const u8, abi.params_size()) };
        let p = abi.read_params(raw)?;
        let bad = |reason: String| Err(abi.error(format!("frame {i}: {reason}")));
        const HINT: &str = "descriptor written for another DeepStream ABI? (set CUDADRAW_NVMM_ABI)";
        let pp = &p.plane_params;
        // DeepStream repeats size and pitch in plane 0 (the luma plane for YUV): a
        // disagreement means these bytes are not params of this layout, typically
        // because the producer used the other DeepStream ABI.
        if pp.width[0] != p.width || pp.height[0] != p.height || pp.pitch[0] != p.pitch {
            frames.truncate(start);
            return bad(format!(
                "planeParams plane 0 ({}x{} pitch {}) disagrees with the frame ({}x{} pitch {}): \
                 {HINT}",
                pp.width[0], pp.height[0], pp.pitch[0], p.width, p.height, p.pitch
            ));
        }
        // Consistent but empty: a producer bug, not an ABI mix-up.
        if p.width == 0 || p.height == 0 {
            frames.truncate(start);
            return bad(format!(
                "the frame is {}x{}: an empty frame cannot be drawn",
                p.width, p.height
            ));
        }
        if p.layout == layout::BLOCK_LINEAR {
            frames.truncate(start);
            return Err(Error::UnsupportedFormat(format!(
                "frame {i} is block-linear (NvBufSurfaceLayout 1); only pitch-linear frames \
                 can be drawn ({abi})"
            )));
        }
        if p.layout != layout::PITCH {
            frames.truncate(start);
            return bad(format!("unknown layout {}: {HINT}", p.layout));
        }
        if let Some((layout, matrix, range)) = planar_format(p.color_format) {
            let info = match planar_info(&p, layout, matrix, range) {
                Ok(info) => info,
                Err(e) => {
                    frames.truncate(start);
                    return bad(e);
                }
            };
            if uses_data_ptr && p.data_ptr == 0 {
                frames.truncate(start);
                return bad("null dataPtr".into());
            }
            frames.push(NvmmFrame {
                index: i,
                data_ptr: p.data_ptr,
                pitch: pp.pitch[0] as usize,
                width: p.width,
                height: p.height,
                color_format: p.color_format,
                format: PixelFormat::Rgba,
                planar: Some(info),
                layout: p.layout,
                mem_type: mem,
                gpu_id: h.gpu_id,
            });
            continue;
        }
        let Some(format) = pixel_format(p.color_format) else {
            frames.truncate(start);
            return Err(Error::UnsupportedFormat(format!(
                "frame {i} has colour format {}; cudadraw draws RGBA, BGRA, RGBx, BGRx, NV12 and \
                 YUV420 (I420) in BT.601/709/2020 ({abi})",
                abi::color_format_name(p.color_format)
            )));
        };
        if pp.num_planes != 1 {
            frames.truncate(start);
            return bad(format!(
                "{} planes for a packed {format} frame: {HINT}",
                pp.num_planes
            ));
        }
        let info = FrameInfo::new(p.width, p.height, p.pitch as usize, format);
        if let Err(e) = info.validate(i) {
            frames.truncate(start);
            return bad(format!("{e}"));
        }
        if pp.bytes_per_pix[0] != 4 {
            frames.truncate(start);
            return bad(format!(
                "planeParams.bytesPerPix[0] is {}, not the 4 of a {format} frame",
                pp.bytes_per_pix[0]
            ));
        }
        // Plane 0 starts `offset[0]` bytes into the buffer (0 in every DeepStream
        // allocation seen, honoured all the same); plane and buffer must hold the frame.
        let offset = u64::from(pp.offset[0]);
        let need = info.min_len() as u64;
        if u64::from(pp.psize[0]) < need {
            frames.truncate(start);
            return bad(format!(
                "planeParams.psize[0] {} is smaller than the {need} bytes the frame's size and \
                 pitch need",
                pp.psize[0]
            ));
        }
        if u64::from(p.data_size) < offset + need {
            frames.truncate(start);
            return bad(format!(
                "dataSize {} cannot hold plane 0 ({need} bytes at offset {offset})",
                p.data_size
            ));
        }
        if uses_data_ptr && p.data_ptr == 0 {
            frames.truncate(start);
            return bad("null dataPtr".into());
        }
        if uses_data_ptr && mem != MemType::System && (p.data_ptr % 4 != 0 || p.pitch % 4 != 0) {
            frames.truncate(start);
            return bad(format!(
                "dataPtr {:#x} and pitch {} must be multiples of 4",
                p.data_ptr, p.pitch
            ));
        }
        frames.push(NvmmFrame {
            index: i,
            data_ptr: if uses_data_ptr {
                p.data_ptr + offset
            } else {
                p.data_ptr
            },
            pitch: p.pitch as usize,
            width: p.width,
            height: p.height,
            color_format: p.color_format,
            format,
            planar: None,
            layout: p.layout,
            mem_type: mem,
            gpu_id: h.gpu_id,
        });
    }
    Ok((h, mem))
}
