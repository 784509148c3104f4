//! The CPU map path (Jetson SURFACE_ARRAY / HANDLE memory, or unified memory on request):
//! `NvBufSurfaceMap(READ_WRITE)` and `NvBufSurfaceSyncForCpu` per frame, the CPU
//! renderer on `mappedAddr.addr[0]` with `planeParams.pitch[0]` (NV12 / I420: every
//! plane, argument -1, each plane k at `mappedAddr.addr[k]` with `pitch[k]`), then
//! `NvBufSurfaceSyncForDevice` and `NvBufSurfaceUnMap` per frame.
//!
//! `libnvbufsurface.so` is opened at run time (dlopen through `libloading`) so cudadraw
//! builds and runs without DeepStream. Every successful Map is matched by an UnMap on
//! every path, errors and panics included (a guard unmaps on drop).

use std::ffi::{c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::frame::{FrameInfo, HostFrame};
use crate::nvmm::abi::{Abi, FrameParams, map_flags};
use crate::nvmm::frame::NvmmFrame;
use crate::planar::{PlanarFrame, Plane};

/// Environment variable naming the `libnvbufsurface.so` to open (e.g. a test double).
pub const LIB_ENV: &str = "CUDADRAW_NVBUFSURFACE_LIB";

/// Where DeepStream installs the library; tried before the loader's search path.
pub const DEEPSTREAM_LIB: &str = "/opt/nvidia/deepstream/deepstream/lib/libnvbufsurface.so";

type MapFn = unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int) -> c_int;
type PlaneFn = unsafe extern "C" fn(*mut c_void, c_int, c_int) -> c_int;

/// The four functions of `libnvbufsurface.so` the CPU map path calls.
#[derive(Debug)]
pub struct NvBufSurfaceLib {
    path: PathBuf,
    map: MapFn,
    sync_for_cpu: PlaneFn,
    sync_for_device: PlaneFn,
    unmap: PlaneFn,
    // Keeps the function pointers above valid; never unloaded while cached.
    _lib: libloading::Library,
}

impl NvBufSurfaceLib {
    /// Opens (once per process and path) the library `explicit` names, else the one
    /// `CUDADRAW_NVBUFSURFACE_LIB` names, else DeepStream's, else `libnvbufsurface.so`
    /// from the loader's path. `abi` only names the ABI in errors.
    pub fn open(explicit: Option<&Path>, abi: Abi) -> Result<Arc<NvBufSurfaceLib>> {
        static CACHE: Mutex<Vec<(PathBuf, Arc<NvBufSurfaceLib>)>> = Mutex::new(Vec::new());

        let candidates: Vec<PathBuf> = match (explicit, std::env::var_os(LIB_ENV)) {
            (Some(p), _) => vec![p.to_path_buf()],
            (None, Some(p)) => vec![PathBuf::from(p)],
            (None, None) => vec![DEEPSTREAM_LIB.into(), "libnvbufsurface.so".into()],
        };
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        for c in &candidates {
            if let Some((_, lib)) = cache.iter().find(|(p, _)| p == c) {
                return Ok(lib.clone());
            }
        }
        let mut reasons = Vec::new();
        for c in &candidates {
            match Self::load(c) {
                Ok(lib) => {
                    let lib = Arc::new(lib);
                    cache.push((c.clone(), lib.clone()));
                    return Ok(lib);
                }
                Err(e) => reasons.push(format!("{}: {e}", c.display())),
            }
        }
        Err(abi.error(format!(
            "cannot open libnvbufsurface.so for the CPU map path ({}); set {LIB_ENV}",
            reasons.join("; ")
        )))
    }

    fn load(path: &Path) -> std::result::Result<NvBufSurfaceLib, libloading::Error> {
        // SAFETY: loading runs the library's initialisers; libnvbufsurface (or a test
        // double with the same exports) is trusted as any linked library would be.
        let lib = unsafe { libloading::Library::new(path) }?;
        // SAFETY: the symbols have these C signatures in nvbufsurface.h (enums are int).
        let (map, sync_for_cpu, sync_for_device, unmap) = unsafe {
            (
                *lib.get::<MapFn>(b"NvBufSurfaceMap\0")?,
                *lib.get::<PlaneFn>(b"NvBufSurfaceSyncForCpu\0")?,
                *lib.get::<PlaneFn>(b"NvBufSurfaceSyncForDevice\0")?,
                *lib.get::<PlaneFn>(b"NvBufSurfaceUnMap\0")?,
            )
        };
        Ok(NvBufSurfaceLib {
            path: path.to_path_buf(),
            map,
            sync_for_cpu,
            sync_for_device,
            unmap,
            _lib: lib,
        })
    }

    /// The path the library was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Unmaps every mapped frame when dropped, so no path can leak a mapping.
struct Mapping<'l> {
    lib: &'l NvBufSurfaceLib,
    surface: *mut c_void,
    /// The plane argument of every call: 0 for packed frames, -1 (all planes) for
    /// NV12 / I420.
    plane: c_int,
    /// Frames 0..mapped are mapped.
    mapped: usize,
}

impl<'l> Mapping<'l> {
    fn new(lib: &'l NvBufSurfaceLib, surface: *mut c_void, plane: c_int) -> Self {
        Self {
            lib,
            surface,
            plane,
            mapped: 0,
        }
    }

    /// Maps (READ_WRITE) and syncs for the CPU every frame, then reads back each
    /// frame's params, where Map wrote `mappedAddr`.
    ///
    /// # Safety
    /// `surface` must be the live descriptor (layout `abi`) whose `surfaceList` is at
    /// `surface_list` and holds `frames`.
    unsafe fn map_all(
        &mut self,
        abi: Abi,
        surface_list: u64,
        frames: &[NvmmFrame],
        strict_cpu_sync: bool,
    ) -> Result<Vec<FrameParams>> {
        let (lib, surface, plane) = (self.lib, self.surface, self.plane);
        let mut params = Vec::with_capacity(frames.len());
        for (i, f) in frames.iter().enumerate() {
            debug_assert_eq!(f.index, i);
            let index = i as c_int;
            // SAFETY: `surface` is a valid descriptor (caller); frame i is filled.
            if unsafe { (lib.map)(surface, index, plane, map_flags::READ_WRITE) } != 0 {
                return Err(abi.error(format!("NvBufSurfaceMap(READ_WRITE) failed for frame {i}")));
            }
            self.mapped = i + 1;
            // SAFETY: as above; the frame is mapped.
            if unsafe { (lib.sync_for_cpu)(surface, index, plane) } != 0 && strict_cpu_sync {
                return Err(abi.error(format!("NvBufSurfaceSyncForCpu failed for frame {i}")));
            }
            let at = surface_list + (i * abi.params_size()) as u64;
            // SAFETY: surfaceList holds numFilled params of this ABI (validated on parse).
            let bytes = unsafe { std::slice::from_raw_parts(at as *const u8, abi.params_size()) };
            params.push(abi.read_params(bytes)?);
        }
        Ok(params)
    }

    /// SyncForDevice (when `sync`) and UnMap for every mapped frame; returns the first
    /// failure after trying them all.
    fn finish(&mut self, sync: bool, abi: Abi) -> Result<()> {
        let mut first = None;
        for i in 0..self.mapped {
            let index = i as c_int;
            // SAFETY: `surface` is the descriptor these frames were mapped from.
            if sync && unsafe { (self.lib.sync_for_device)(self.surface, index, self.plane) } != 0 {
                first.get_or_insert_with(|| {
                    abi.error(format!("NvBufSurfaceSyncForDevice failed for frame {i}"))
                });
            }
            // SAFETY: frame i was mapped by this guard and is unmapped once.
            if unsafe { (self.lib.unmap)(self.surface, index, self.plane) } != 0 {
                first.get_or_insert_with(|| {
                    abi.error(format!("NvBufSurfaceUnMap failed for frame {i}"))
                });
            }
        }
        self.mapped = 0;
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Mapping<'_> {
    fn drop(&mut self) {
        // Only reached with frames still mapped on an early return or a panic; the
        // error has already been reported, so a failing UnMap here is not.
        for i in 0..self.mapped {
            // SAFETY: as in `finish`.
            unsafe { (self.lib.unmap)(self.surface, i as c_int, self.plane) };
        }
    }
}

/// The batch a CPU-map render works on: the library, the live descriptor and how to
/// read it.
pub(crate) struct MapTarget<'l> {
    pub lib: &'l NvBufSurfaceLib,
    pub abi: Abi,
    /// The `NvBufSurface` (Map writes `mappedAddr` into its `surfaceList`).
    pub surface: *mut c_void,
    /// `surfaceList`'s address.
    pub surface_list: u64,
    /// Whether a failing `NvBufSurfaceSyncForCpu` is an error (SURFACE_ARRAY / HANDLE)
    /// or tolerated (unified memory, where DeepStream returns -1).
    pub strict_cpu_sync: bool,
}

/// Maps every frame (with `plane`), makes the host frames `frames_of` builds from the
/// params Map wrote, hands them to `draw`, then syncs for the device (only if `draw`
/// succeeded: a failed draw wrote nothing) and unmaps them all, whatever happened.
///
/// # Safety
/// `t.surface` must point to the live `NvBufSurface` (layout `t.abi`) that `frames`
/// were read from, and nothing else may access the frames until this returns.
unsafe fn with_mapped<T>(
    t: &MapTarget<'_>,
    frames: &[NvmmFrame],
    plane: c_int,
    frames_of: impl FnOnce(&[FrameParams]) -> Result<Vec<T>>,
    draw: impl FnOnce(&mut [T]) -> Result<()>,
) -> Result<()> {
    let mut guard = Mapping::new(t.lib, t.surface, plane);
    // SAFETY: the caller's contract.
    let params = unsafe { guard.map_all(t.abi, t.surface_list, frames, t.strict_cpu_sync) }?;
    // Dropped before `finish` unmaps (on error by return, before the guard).
    let mut hosts = frames_of(&params)?;
    let drawn = draw(&mut hosts);
    drop(hosts);
    let finished = guard.finish(drawn.is_ok(), t.abi);
    drawn.and(finished)
}

/// Draws packed frames through the map path: each frame's plane 0 at
/// `mappedAddr.addr[0]` with `planeParams.pitch[0]`.
///
/// # Safety
/// As [`with_mapped`].
pub(crate) unsafe fn render_mapped(
    t: &MapTarget<'_>,
    frames: &[NvmmFrame],
    draw: impl FnOnce(&mut [HostFrame<'_>]) -> Result<()>,
) -> Result<()> {
    let abi = t.abi;
    let frames_of = |params: &[FrameParams]| {
        let mut mapped = Vec::with_capacity(frames.len());
        for (i, (f, p)) in frames.iter().zip(params).enumerate() {
            let addr = p.mapped_addr[0];
            if addr == 0 {
                return Err(abi.error(format!(
                    "NvBufSurfaceMap left mappedAddr.addr[0] of frame {i} null"
                )));
            }
            let info = FrameInfo::new(
                f.width,
                f.height,
                p.plane_params.pitch[0] as usize,
                f.format,
            );
            info.validate(i)
                .map_err(|e| abi.error(format!("mapped frame {i}: {e}")))?;
            mapped.push((addr, info));
        }
        // No two mappings may share a byte before slices are made over them.
        crate::frame::check_disjoint(mapped.iter().copied(), &mut Vec::new())?;
        let mut hosts = Vec::with_capacity(frames.len());
        for &(addr, info) in &mapped {
            // SAFETY: the mapping covers the plane (pitch x height bytes) until UnMap, which
            // happens after `hosts` is dropped; the mappings were checked to be disjoint.
            let host = unsafe { HostFrame::from_raw(addr as *mut u8, info) }
                .map_err(|e| abi.error(format!("mapped frame: {e}")))?;
            hosts.push(host);
        }
        Ok(hosts)
    };
    // SAFETY: the caller's contract.
    unsafe { with_mapped(t, frames, 0, frames_of, draw) }
}

/// Draws NV12 / I420 frames through the map path: each frame mapped with all its
/// planes (plane -1), plane k drawn where `mappedAddr.addr[k]` puts it, with
/// `planeParams.pitch[k]` (Jetson maps each plane on its own: they need not be
/// contiguous, or in order).
///
/// # Safety
/// As [`with_mapped`]; every frame of `frames` has its `planar` layout.
pub(crate) unsafe fn render_mapped_planar(
    t: &MapTarget<'_>,
    frames: &[NvmmFrame],
    draw: impl FnOnce(&mut [PlanarFrame<'_>]) -> Result<()>,
) -> Result<()> {
    let abi = t.abi;
    let frames_of = |params: &[FrameParams]| {
        let mut mapped = Vec::with_capacity(frames.len());
        for (i, (f, p)) in frames.iter().zip(params).enumerate() {
            let Some(mut info) = f.planar else {
                return Err(abi.error(format!("frame {i} is not NV12 / I420")));
            };
            let mut ptrs = [std::ptr::null_mut::<u8>(); 3];
            let n = info.layout.planes();
            for (k, (ptr, plane)) in ptrs.iter_mut().zip(&mut info.planes).take(n).enumerate() {
                if p.mapped_addr[k] == 0 {
                    return Err(abi.error(format!(
                        "NvBufSurfaceMap left mappedAddr.addr[{k}] of frame {i} null"
                    )));
                }
                *ptr = p.mapped_addr[k] as *mut u8;
                // Each mapping counts from its own plane's first sample.
                *plane = Some(Plane {
                    offset: 0,
                    pitch: p.plane_params.pitch[k] as usize,
                });
            }
            mapped.push((ptrs, info));
        }
        // No two planes of the batch may share a byte before slices are made over them
        // (the same check within a frame is repeated by `from_planes`).
        crate::frame::check_disjoint_bytes_of(
            mapped.iter().enumerate().flat_map(|(i, (ptrs, info))| {
                (0..info.layout.planes()).map(move |k| {
                    let len = info.plane_span(k).map_or(0, |s| s.1);
                    (ptrs[k] as u64, len, i)
                })
            }),
            &mut Vec::new(),
        )?;
        let mut hosts = Vec::with_capacity(frames.len());
        for (i, &(ptrs, info)) in mapped.iter().enumerate() {
            // SAFETY: each mapping covers its plane (pitch x rows bytes) until UnMap, which
            // happens after `hosts` is dropped; all planes were checked to be disjoint.
            let host = unsafe { PlanarFrame::from_planes(ptrs, info) }
                .map_err(|e| abi.error(format!("mapped frame {i}: {e}")))?;
            hosts.push(host);
        }
        Ok(hosts)
    };
    // SAFETY: the caller's contract.
    unsafe { with_mapped(t, frames, -1, frames_of, draw) }
}
