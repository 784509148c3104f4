//! The two binary layouts of `NvBufSurface` (DeepStream 4.0-7.1 and 8.0+), LP64 only.
//!
//! The structs mirror `nvbufsurface.h` field for field, with pointers as `u64`, C
//! `bool`s as `u8` and enums as `u32` (so that reading untrusted bytes is never
//! undefined behaviour) and the compiler's implicit padding spelled out (so that
//! `bytemuck` can read and write them). Sizes and offsets are pinned by the tests below
//! against `../shared/notes/nvbufsurface-abi.md`, and, when DeepStream headers are
//! installed at build time, against `bindgen` output of the real header.

use std::fmt;
use std::path::Path;

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};

/// `NVBUF_MAX_PLANES`.
pub const MAX_PLANES: usize = 4;

/// `NvBufSurfaceMemType` values (unchanged from DeepStream 4.0 to 8.x).
pub mod mem_type {
    pub const DEFAULT: u32 = 0;
    pub const CUDA_PINNED: u32 = 1;
    pub const CUDA_DEVICE: u32 = 2;
    pub const CUDA_UNIFIED: u32 = 3;
    pub const SURFACE_ARRAY: u32 = 4;
    pub const HANDLE: u32 = 5;
    pub const SYSTEM: u32 = 6;
    /// DeepStream 9.0+, Jetson: a CUDA array, not linear memory.
    pub const CUDA_ARRAY: u32 = 7;
}

/// `NvBufSurfaceColorFormat` values cudadraw names (RGBA is 19, not 4).
pub mod color_format {
    pub const INVALID: u32 = 0;
    pub const GRAY8: u32 = 1;
    /// I420 (Y, U, V planes), BT.601 limited range.
    pub const YUV420: u32 = 2;
    /// I420, BT.601 full ("extended") range.
    pub const YUV420_ER: u32 = 4;
    pub const NV12: u32 = 6;
    pub const NV12_ER: u32 = 7;
    pub const NV21: u32 = 8;
    pub const RGBA: u32 = 19;
    pub const BGRA: u32 = 20;
    pub const ARGB: u32 = 21;
    pub const ABGR: u32 = 22;
    pub const RGBX: u32 = 23;
    pub const BGRX: u32 = 24;
    pub const XRGB: u32 = 25;
    pub const XBGR: u32 = 26;
    pub const RGB: u32 = 27;
    pub const BGR: u32 = 28;
    pub const YUV420_709: u32 = 31;
    pub const YUV420_709_ER: u32 = 32;
    pub const NV12_709: u32 = 33;
    pub const NV12_709_ER: u32 = 34;
    pub const YUV420_2020: u32 = 35;
    pub const NV12_2020: u32 = 36;
}

/// `NvBufSurfaceLayout` values.
pub mod layout {
    pub const PITCH: u32 = 0;
    pub const BLOCK_LINEAR: u32 = 1;
}

/// `NvBufSurfaceMemMapFlags` values.
pub mod map_flags {
    pub const READ: i32 = 0;
    pub const WRITE: i32 = 1;
    pub const READ_WRITE: i32 = 2;
}

/// Human name of an `NvBufSurfaceColorFormat`, for error messages.
pub fn color_format_name(v: u32) -> String {
    use color_format::*;
    let s = match v {
        INVALID => "INVALID",
        GRAY8 => "GRAY8",
        YUV420 => "YUV420",
        3 => "YVU420",
        YUV420_ER => "YUV420_ER",
        5 => "YVU420_ER",
        NV12 => "NV12",
        NV12_ER => "NV12_ER",
        NV21 => "NV21",
        9 => "NV21_ER",
        10..=18 => "a YUV 4:2:2/packed format",
        RGBA => "RGBA",
        BGRA => "BGRA",
        ARGB => "ARGB",
        ABGR => "ABGR",
        RGBX => "RGBx",
        BGRX => "BGRx",
        XRGB => "xRGB",
        XBGR => "xBGR",
        RGB => "RGB",
        BGR => "BGR",
        29 => "NV12_10LE",
        30 => "NV12_12LE",
        YUV420_709 => "YUV420_709",
        YUV420_709_ER => "YUV420_709_ER",
        NV12_709 => "NV12_709",
        NV12_709_ER => "NV12_709_ER",
        YUV420_2020 => "YUV420_2020",
        NV12_2020 => "NV12_2020",
        _ => "an unnamed format",
    };
    format!("{s} (NvBufSurfaceColorFormat {v})")
}

/// Human name of an `NvBufSurfaceMemType`.
pub fn mem_type_name(v: u32) -> &'static str {
    match v {
        mem_type::DEFAULT => "DEFAULT",
        mem_type::CUDA_PINNED => "CUDA_PINNED",
        mem_type::CUDA_DEVICE => "CUDA_DEVICE",
        mem_type::CUDA_UNIFIED => "CUDA_UNIFIED",
        mem_type::SURFACE_ARRAY => "SURFACE_ARRAY",
        mem_type::HANDLE => "HANDLE",
        mem_type::SYSTEM => "SYSTEM",
        mem_type::CUDA_ARRAY => "CUDA_ARRAY",
        _ => "unknown",
    }
}

/// `NvBufSurfacePlaneParams`: 232 bytes in every version.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct PlaneParams {
    pub num_planes: u32,
    pub width: [u32; MAX_PLANES],
    pub height: [u32; MAX_PLANES],
    pub pitch: [u32; MAX_PLANES],
    pub offset: [u32; MAX_PLANES],
    pub psize: [u32; MAX_PLANES],
    pub bytes_per_pix: [u32; MAX_PLANES],
    pub _pad0: u32,
    pub reserved: [u64; 16],
}

/// DeepStream 4.0 - 7.1 layouts.
pub mod ds4to7 {
    use super::*;

    /// `NvBufSurfaceMappedAddr`, 72 bytes.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
    pub struct MappedAddr {
        pub addr: [u64; MAX_PLANES],
        pub egl_image: u64,
        pub reserved: [u64; 4],
    }

    /// `NvBufSurfaceParams`, 384 bytes.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
    pub struct Params {
        pub width: u32,
        pub height: u32,
        pub pitch: u32,
        pub color_format: u32,
        pub layout: u32,
        pub _pad0: u32,
        pub buffer_desc: u64,
        pub data_size: u32,
        pub _pad1: u32,
        pub data_ptr: u64,
        pub plane_params: PlaneParams,
        pub mapped_addr: MappedAddr,
        pub paramex: u64,
        pub reserved: [u64; 3],
    }

    /// `NvBufSurface`, 64 bytes.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
    pub struct Surface {
        pub gpu_id: u32,
        pub batch_size: u32,
        pub num_filled: u32,
        /// C `bool`.
        pub is_contiguous: u8,
        pub _pad0: [u8; 3],
        pub mem_type: u32,
        pub _pad1: u32,
        pub surface_list: u64,
        pub reserved: [u64; 4],
    }
}

/// DeepStream 8.0+ layouts.
pub mod ds8 {
    use super::*;

    /// `NvBufSurfaceMappedAddr`, 88 bytes.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
    pub struct MappedAddr {
        pub addr: [u64; MAX_PLANES],
        pub egl_image: u64,
        pub nvmm_ptr: u64,
        pub cuda_ptr: u64,
        pub reserved: [u64; 4],
    }

    /// `NvBufSurfaceParams`, 416 bytes.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
    pub struct Params {
        pub width: u32,
        pub height: u32,
        pub pitch: u32,
        pub color_format: u32,
        pub layout: u32,
        pub _pad0: u32,
        pub buffer_desc: u64,
        pub data_size: u32,
        pub _pad1: u32,
        pub data_ptr: u64,
        pub plane_params: PlaneParams,
        pub mapped_addr: MappedAddr,
        pub paramex: u64,
        pub cuda_buffer: u64,
        pub reserved: [u64; 4],
    }

    /// `NvBufSurface`, 72 bytes.
    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
    pub struct Surface {
        pub gpu_id: u32,
        pub batch_size: u32,
        pub num_filled: u32,
        /// C `bool`.
        pub is_contiguous: u8,
        pub _pad0: [u8; 3],
        pub mem_type: u32,
        pub _pad1: u32,
        pub surface_list: u64,
        /// C `bool`.
        pub is_imported_buf: u8,
        pub _pad2: [u8; 7],
        pub reserved: [u64; 4],
    }
}

/// Offset of `mappedAddr.addr[0]` inside `NvBufSurfaceParams` (both ABIs).
pub const MAPPED_ADDR0_OFFSET: usize = 280;

/// Which `NvBufSurface` layout a descriptor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abi {
    /// DeepStream 4.0 to 7.1: descriptor 64 bytes, per-frame params 384.
    Ds4To7,
    /// DeepStream 8.0 and later: descriptor 72 bytes, per-frame params 416.
    Ds8,
}

/// Environment variable that overrides ABI detection: `ds7` / `ds4to7` / `7` or `ds8` / `8`.
pub const ABI_ENV: &str = "CUDADRAW_NVMM_ABI";

/// Default DeepStream install, whose `version` file tells the ABI.
pub const DEFAULT_DEEPSTREAM_DIR: &str = "/opt/nvidia/deepstream/deepstream";

impl Abi {
    /// Size of `NvBufSurface`.
    pub const fn surface_size(self) -> usize {
        match self {
            Abi::Ds4To7 => size_of::<ds4to7::Surface>(),
            Abi::Ds8 => size_of::<ds8::Surface>(),
        }
    }

    /// Size of `NvBufSurfaceParams` (the stride of `surfaceList`).
    pub const fn params_size(self) -> usize {
        match self {
            Abi::Ds4To7 => size_of::<ds4to7::Params>(),
            Abi::Ds8 => size_of::<ds8::Params>(),
        }
    }

    /// Short name used in properties and the environment: `ds4to7` or `ds8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Abi::Ds4To7 => "ds4to7",
            Abi::Ds8 => "ds8",
        }
    }

    /// Parses `ds4to7`, `ds7`, `7`, `ds8`, `8` (also `7.1`, `8.0`, case-insensitive).
    pub fn parse(s: &str) -> Option<Abi> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("ds").unwrap_or(&s);
        match s {
            "4to7" | "4-7" | "4" | "5" | "6" | "7" => Some(Abi::Ds4To7),
            "8" | "8+" => Some(Abi::Ds8),
            other => {
                let major: u32 = other.split('.').next()?.parse().ok()?;
                Some(Abi::from_major(major))
            }
        }
    }

    fn from_major(major: u32) -> Abi {
        if major >= 8 { Abi::Ds8 } else { Abi::Ds4To7 }
    }

    /// The ABI whose `NvBufSurface` is exactly `len` bytes: DeepStream's descriptor
    /// buffers are exactly `sizeof(NvBufSurface)` (64 bytes up to 7.1, 72 from 8.0),
    /// the most reliable signal at run time.
    pub fn from_descriptor_size(len: usize) -> Option<Abi> {
        [Abi::Ds4To7, Abi::Ds8]
            .into_iter()
            .find(|a| a.surface_size() == len)
    }

    /// The ABI `CUDADRAW_NVMM_ABI` names, `None` when unset or empty; a value that
    /// names no ABI is an error (never silently ignored). Read once per process.
    pub fn from_env() -> Result<Option<Abi>> {
        static ENV: std::sync::OnceLock<std::result::Result<Option<Abi>, String>> =
            std::sync::OnceLock::new();
        ENV.get_or_init(|| Abi::parse_env(std::env::var_os(ABI_ENV)))
            .clone()
            .map_err(|reason| Error::NvBufSurface {
                abi: "no ABI".into(),
                reason,
            })
    }

    fn parse_env(v: Option<std::ffi::OsString>) -> std::result::Result<Option<Abi>, String> {
        let Some(v) = v else { return Ok(None) };
        let text = v.to_string_lossy();
        if text.trim().is_empty() {
            return Ok(None);
        }
        Abi::parse(&text).map(Some).ok_or_else(|| {
            format!("{ABI_ENV}={text:?} names no ABI: use ds4to7 (DeepStream 4.0-7.1) or ds8 (8.0 and later)")
        })
    }

    /// The ABI a producer of descriptors should write on this machine:
    /// `CUDADRAW_NVMM_ABI` if set (an invalid value is an error), else the installed
    /// DeepStream's version file (`$DEEPSTREAM_DIR/version`, default
    /// [`DEFAULT_DEEPSTREAM_DIR`]), else [`Abi::Ds4To7`]. Consumers do not need it:
    /// [`crate::nvmm::NvmmBatch`] reads the ABI off the descriptor's size.
    pub fn detect() -> Result<Abi> {
        if let Some(abi) = Abi::from_env()? {
            return Ok(abi);
        }
        let dir = std::env::var_os("DEEPSTREAM_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| DEFAULT_DEEPSTREAM_DIR.into());
        Ok(Abi::from_version_file(&dir.join("version")).unwrap_or(Abi::Ds4To7))
    }

    /// Reads a DeepStream `version` file (a line like `Version: 7.1`).
    pub fn from_version_file(path: &Path) -> Option<Abi> {
        let text = std::fs::read_to_string(path).ok()?;
        Abi::from_version_text(&text)
    }

    /// Parses the text of a DeepStream `version` file.
    pub fn from_version_text(text: &str) -> Option<Abi> {
        text.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("Version:")?;
            let major: u32 = rest.trim().split('.').next()?.parse().ok()?;
            Some(Abi::from_major(major))
        })
    }

    /// An [`Error::NvBufSurface`] naming this ABI.
    pub fn error(self, reason: impl Into<String>) -> Error {
        Error::NvBufSurface {
            abi: self.to_string(),
            reason: reason.into(),
        }
    }

    /// Decodes a descriptor from the start of `bytes`; errors if it is too short.
    pub fn read_header(self, bytes: &[u8]) -> Result<SurfaceHeader> {
        let need = self.surface_size();
        let Some(src) = bytes.get(..need) else {
            return Err(self.error(format!(
                "buffer of {} bytes is too short for an NvBufSurface ({need} bytes)",
                bytes.len()
            )));
        };
        Ok(match self {
            Abi::Ds4To7 => bytemuck::pod_read_unaligned::<ds4to7::Surface>(src).header(),
            Abi::Ds8 => bytemuck::pod_read_unaligned::<ds8::Surface>(src).header(),
        })
    }

    /// Encodes a descriptor into the start of `bytes` (at least [`Abi::surface_size`]).
    pub fn write_header(self, bytes: &mut [u8], h: &SurfaceHeader) -> Result<()> {
        let need = self.surface_size();
        let Some(dst) = bytes.get_mut(..need) else {
            return Err(self.error(format!("{} bytes cannot hold a descriptor", bytes.len())));
        };
        match self {
            Abi::Ds4To7 => dst.copy_from_slice(bytemuck::bytes_of(&ds4to7::Surface::of(h))),
            Abi::Ds8 => dst.copy_from_slice(bytemuck::bytes_of(&ds8::Surface::of(h))),
        }
        Ok(())
    }

    /// Decodes one `NvBufSurfaceParams` from exactly [`Abi::params_size`] bytes or more.
    pub fn read_params(self, bytes: &[u8]) -> Result<FrameParams> {
        let need = self.params_size();
        let Some(src) = bytes.get(..need) else {
            return Err(self.error(format!("{} bytes cannot hold frame params", bytes.len())));
        };
        Ok(match self {
            Abi::Ds4To7 => bytemuck::pod_read_unaligned::<ds4to7::Params>(src).frame(),
            Abi::Ds8 => bytemuck::pod_read_unaligned::<ds8::Params>(src).frame(),
        })
    }

    /// Encodes one `NvBufSurfaceParams` into the start of `bytes`.
    pub fn write_params(self, bytes: &mut [u8], p: &FrameParams) -> Result<()> {
        let need = self.params_size();
        let Some(dst) = bytes.get_mut(..need) else {
            return Err(self.error(format!("{} bytes cannot hold frame params", bytes.len())));
        };
        match self {
            Abi::Ds4To7 => dst.copy_from_slice(bytemuck::bytes_of(&ds4to7::Params::of(p))),
            Abi::Ds8 => dst.copy_from_slice(bytemuck::bytes_of(&ds8::Params::of(p))),
        }
        Ok(())
    }
}

/// The conversions between one ABI's structs and the ABI-independent views, written
/// once for both layouts (their shared fields have the same names).
macro_rules! abi_views {
    ($abi:ident) => {
        impl $abi::Surface {
            fn header(&self) -> SurfaceHeader {
                SurfaceHeader {
                    gpu_id: self.gpu_id,
                    batch_size: self.batch_size,
                    num_filled: self.num_filled,
                    is_contiguous: self.is_contiguous != 0,
                    mem_type: self.mem_type,
                    surface_list: self.surface_list,
                }
            }

            fn of(h: &SurfaceHeader) -> Self {
                Self {
                    gpu_id: h.gpu_id,
                    batch_size: h.batch_size,
                    num_filled: h.num_filled,
                    is_contiguous: h.is_contiguous.into(),
                    mem_type: h.mem_type,
                    surface_list: h.surface_list,
                    ..Zeroable::zeroed()
                }
            }
        }

        impl $abi::Params {
            fn frame(&self) -> FrameParams {
                FrameParams {
                    width: self.width,
                    height: self.height,
                    pitch: self.pitch,
                    color_format: self.color_format,
                    layout: self.layout,
                    buffer_desc: self.buffer_desc,
                    data_size: self.data_size,
                    data_ptr: self.data_ptr,
                    plane_params: self.plane_params,
                    mapped_addr: self.mapped_addr.addr,
                }
            }

            fn of(p: &FrameParams) -> Self {
                Self {
                    width: p.width,
                    height: p.height,
                    pitch: p.pitch,
                    color_format: p.color_format,
                    layout: p.layout,
                    buffer_desc: p.buffer_desc,
                    data_size: p.data_size,
                    data_ptr: p.data_ptr,
                    plane_params: p.plane_params,
                    mapped_addr: $abi::MappedAddr {
                        addr: p.mapped_addr,
                        ..Zeroable::zeroed()
                    },
                    ..Zeroable::zeroed()
                }
            }
        }
    };
}

abi_views!(ds4to7);
abi_views!(ds8);

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Abi::Ds4To7 => "DeepStream 4.0-7.1 ABI",
            Abi::Ds8 => "DeepStream 8.0+ ABI",
        })
    }
}

/// The ABI-independent fields of `NvBufSurface` that cudadraw uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SurfaceHeader {
    pub gpu_id: u32,
    pub batch_size: u32,
    pub num_filled: u32,
    pub is_contiguous: bool,
    pub mem_type: u32,
    /// Address of `surfaceList[0]`.
    pub surface_list: u64,
}

/// The ABI-independent fields of `NvBufSurfaceParams` that cudadraw uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameParams {
    pub width: u32,
    pub height: u32,
    pub pitch: u32,
    pub color_format: u32,
    pub layout: u32,
    pub buffer_desc: u64,
    pub data_size: u32,
    pub data_ptr: u64,
    pub plane_params: PlaneParams,
    /// `mappedAddr.addr[]`: CPU addresses filled by `NvBufSurfaceMap`.
    pub mapped_addr: [u64; MAX_PLANES],
}

impl FrameParams {
    /// Params of a single-plane, pitch-linear, 4-byte-per-pixel frame, as DeepStream
    /// fills them (plane 0 repeats size and pitch).
    pub fn packed_rgba(
        width: u32,
        height: u32,
        pitch: u32,
        color_format: u32,
        data_ptr: u64,
    ) -> Self {
        let mut plane_params = PlaneParams::zeroed();
        plane_params.num_planes = 1;
        plane_params.width[0] = width;
        plane_params.height[0] = height;
        plane_params.pitch[0] = pitch;
        plane_params.psize[0] = pitch.saturating_mul(height);
        plane_params.bytes_per_pix[0] = 4;
        Self {
            width,
            height,
            pitch,
            color_format,
            layout: layout::PITCH,
            buffer_desc: 0,
            data_size: pitch.saturating_mul(height),
            data_ptr,
            plane_params,
            mapped_addr: [0; MAX_PLANES],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn abi_from_size_and_environment() {
        assert_eq!(Abi::from_descriptor_size(64), Some(Abi::Ds4To7));
        assert_eq!(Abi::from_descriptor_size(72), Some(Abi::Ds8));
        assert_eq!(Abi::from_descriptor_size(65), None);
        assert_eq!(Abi::from_descriptor_size(4096), None);
        assert_eq!(Abi::parse_env(None), Ok(None));
        assert_eq!(Abi::parse_env(Some("ds8".into())), Ok(Some(Abi::Ds8)));
        assert_eq!(Abi::parse_env(Some(" ".into())), Ok(None));
        let e = Abi::parse_env(Some("deepstream-eight".into())).unwrap_err();
        assert!(e.contains("\"deepstream-eight\" names no ABI"), "{e}");
    }

    #[test]
    fn lp64() {
        assert_eq!(size_of::<*const u8>(), 8, "NvBufSurface ABIs are LP64");
    }

    #[test]
    fn plane_params_layout() {
        assert_eq!(size_of::<PlaneParams>(), 232);
        assert_eq!(offset_of!(PlaneParams, num_planes), 0);
        assert_eq!(offset_of!(PlaneParams, width), 4);
        assert_eq!(offset_of!(PlaneParams, height), 20);
        assert_eq!(offset_of!(PlaneParams, pitch), 36);
        assert_eq!(offset_of!(PlaneParams, offset), 52);
        assert_eq!(offset_of!(PlaneParams, psize), 68);
        assert_eq!(offset_of!(PlaneParams, bytes_per_pix), 84);
        assert_eq!(offset_of!(PlaneParams, reserved), 104);
    }

    #[test]
    fn ds4to7_layout() {
        use ds4to7::*;
        assert_eq!(size_of::<MappedAddr>(), 72);
        assert_eq!(offset_of!(MappedAddr, addr), 0);
        assert_eq!(offset_of!(MappedAddr, egl_image), 32);
        assert_eq!(offset_of!(MappedAddr, reserved), 40);

        assert_eq!(size_of::<Params>(), 384);
        assert_eq!(offset_of!(Params, width), 0);
        assert_eq!(offset_of!(Params, height), 4);
        assert_eq!(offset_of!(Params, pitch), 8);
        assert_eq!(offset_of!(Params, color_format), 12);
        assert_eq!(offset_of!(Params, layout), 16);
        assert_eq!(offset_of!(Params, buffer_desc), 24);
        assert_eq!(offset_of!(Params, data_size), 32);
        assert_eq!(offset_of!(Params, data_ptr), 40);
        assert_eq!(offset_of!(Params, plane_params), 48);
        assert_eq!(offset_of!(Params, mapped_addr), MAPPED_ADDR0_OFFSET);
        assert_eq!(offset_of!(Params, paramex), 352);
        assert_eq!(offset_of!(Params, reserved), 360);

        assert_eq!(size_of::<Surface>(), 64);
        assert_eq!(offset_of!(Surface, gpu_id), 0);
        assert_eq!(offset_of!(Surface, batch_size), 4);
        assert_eq!(offset_of!(Surface, num_filled), 8);
        assert_eq!(offset_of!(Surface, is_contiguous), 12);
        assert_eq!(offset_of!(Surface, mem_type), 16);
        assert_eq!(offset_of!(Surface, surface_list), 24);
        assert_eq!(offset_of!(Surface, reserved), 32);
        assert_eq!(Abi::Ds4To7.surface_size(), 64);
        assert_eq!(Abi::Ds4To7.params_size(), 384);
    }

    #[test]
    fn ds8_layout() {
        use ds8::*;
        assert_eq!(size_of::<MappedAddr>(), 88);
        assert_eq!(offset_of!(MappedAddr, addr), 0);
        assert_eq!(offset_of!(MappedAddr, egl_image), 32);
        assert_eq!(offset_of!(MappedAddr, nvmm_ptr), 40);
        assert_eq!(offset_of!(MappedAddr, cuda_ptr), 48);
        assert_eq!(offset_of!(MappedAddr, reserved), 56);

        assert_eq!(size_of::<Params>(), 416);
        assert_eq!(offset_of!(Params, width), 0);
        assert_eq!(offset_of!(Params, height), 4);
        assert_eq!(offset_of!(Params, pitch), 8);
        assert_eq!(offset_of!(Params, color_format), 12);
        assert_eq!(offset_of!(Params, layout), 16);
        assert_eq!(offset_of!(Params, buffer_desc), 24);
        assert_eq!(offset_of!(Params, data_size), 32);
        assert_eq!(offset_of!(Params, data_ptr), 40);
        assert_eq!(offset_of!(Params, plane_params), 48);
        assert_eq!(offset_of!(Params, mapped_addr), MAPPED_ADDR0_OFFSET);
        assert_eq!(offset_of!(Params, paramex), 368);
        assert_eq!(offset_of!(Params, cuda_buffer), 376);
        assert_eq!(offset_of!(Params, reserved), 384);

        assert_eq!(size_of::<Surface>(), 72);
        assert_eq!(offset_of!(Surface, gpu_id), 0);
        assert_eq!(offset_of!(Surface, batch_size), 4);
        assert_eq!(offset_of!(Surface, num_filled), 8);
        assert_eq!(offset_of!(Surface, is_contiguous), 12);
        assert_eq!(offset_of!(Surface, mem_type), 16);
        assert_eq!(offset_of!(Surface, surface_list), 24);
        assert_eq!(offset_of!(Surface, is_imported_buf), 32);
        assert_eq!(offset_of!(Surface, reserved), 40);
        assert_eq!(Abi::Ds8.surface_size(), 72);
        assert_eq!(Abi::Ds8.params_size(), 416);
    }

    #[test]
    fn enum_values() {
        assert_eq!(color_format::RGBA, 19);
        assert_eq!(color_format::NV12, 6);
        assert_eq!(color_format::YUV420, 2);
        assert_eq!(color_format::YUV420_ER, 4);
        assert_eq!(color_format::NV12_ER, 7);
        assert_eq!(color_format::YUV420_709, 31);
        assert_eq!(color_format::YUV420_709_ER, 32);
        assert_eq!(color_format::NV12_709, 33);
        assert_eq!(color_format::NV12_709_ER, 34);
        assert_eq!(color_format::YUV420_2020, 35);
        assert_eq!(color_format::NV12_2020, 36);
        assert_eq!(mem_type::SURFACE_ARRAY, 4);
        assert_eq!(map_flags::READ_WRITE, 2);
        assert_eq!(layout::BLOCK_LINEAR, 1);
    }

    #[test]
    fn round_trip_and_raw_offsets() {
        for abi in [Abi::Ds4To7, Abi::Ds8] {
            let h = SurfaceHeader {
                gpu_id: 1,
                batch_size: 4,
                num_filled: 3,
                is_contiguous: true,
                mem_type: mem_type::CUDA_DEVICE,
                surface_list: 0x1234_5678_9abc,
            };
            let mut b = vec![0u8; abi.surface_size()];
            abi.write_header(&mut b, &h).unwrap();
            assert_eq!(abi.read_header(&b).unwrap(), h);
            // The raw offsets of the notes, independent of our structs.
            assert_eq!(u32::from_ne_bytes(b[4..8].try_into().unwrap()), 4);
            assert_eq!(b[12], 1);
            assert_eq!(u32::from_ne_bytes(b[16..20].try_into().unwrap()), 2);
            assert_eq!(
                u64::from_ne_bytes(b[24..32].try_into().unwrap()),
                0x1234_5678_9abc
            );
            assert!(abi.read_header(&b[..abi.surface_size() - 1]).is_err());

            let mut p = FrameParams::packed_rgba(640, 480, 2560, color_format::BGRX, 0xdead_0000);
            p.mapped_addr[0] = 0x77;
            let mut b = vec![0u8; abi.params_size()];
            abi.write_params(&mut b, &p).unwrap();
            assert_eq!(abi.read_params(&b).unwrap(), p);
            assert_eq!(u32::from_ne_bytes(b[12..16].try_into().unwrap()), 24);
            assert_eq!(
                u64::from_ne_bytes(b[40..48].try_into().unwrap()),
                0xdead_0000
            );
            assert_eq!(u32::from_ne_bytes(b[84..88].try_into().unwrap()), 2560);
            assert_eq!(u64::from_ne_bytes(b[280..288].try_into().unwrap()), 0x77);
        }
    }

    #[test]
    fn version_detection() {
        assert_eq!(Abi::from_version_text("Version: 7.1\n"), Some(Abi::Ds4To7));
        assert_eq!(Abi::from_version_text("Version: 6.0.1"), Some(Abi::Ds4To7));
        assert_eq!(
            Abi::from_version_text("foo\nVersion: 8.0\n"),
            Some(Abi::Ds8)
        );
        assert_eq!(Abi::from_version_text("Version: 10.2"), Some(Abi::Ds8));
        assert_eq!(Abi::from_version_text("nothing"), None);
        assert_eq!(Abi::parse("DS8"), Some(Abi::Ds8));
        assert_eq!(Abi::parse("ds4to7"), Some(Abi::Ds4To7));
        assert_eq!(Abi::parse("7.1"), Some(Abi::Ds4To7));
        assert_eq!(Abi::parse("garbage"), None);
        let e = Abi::Ds8.error("x").to_string();
        assert!(e.contains("DeepStream 8.0+ ABI"), "{e}");
    }
}

/// Checks our layouts against `bindgen` output of the installed DeepStream's
/// `nvbufsurface.h` (only built when build.rs found the header).
#[cfg(all(test, cudadraw_ds_headers))]
mod deepstream_headers {
    use super::*;
    use std::mem::offset_of;

    #[allow(
        non_camel_case_types,
        non_snake_case,
        non_upper_case_globals,
        dead_code
    )]
    #[allow(clippy::all)]
    mod sys {
        include!(concat!(env!("OUT_DIR"), "/nvbufsurface_ds.rs"));
    }

    #[test]
    fn layouts_agree_with_installed_header() {
        let abi = match size_of::<sys::NvBufSurface>() {
            64 => Abi::Ds4To7,
            72 => Abi::Ds8,
            n => panic!("installed NvBufSurface is {n} bytes: neither known ABI"),
        };
        println!("installed nvbufsurface.h has the {abi}");
        assert_eq!(size_of::<sys::NvBufSurface>(), abi.surface_size());
        assert_eq!(size_of::<sys::NvBufSurfaceParams>(), abi.params_size());
        assert_eq!(
            size_of::<sys::NvBufSurfacePlaneParams>(),
            size_of::<PlaneParams>()
        );

        assert_eq!(offset_of!(sys::NvBufSurface, gpuId), 0);
        assert_eq!(offset_of!(sys::NvBufSurface, batchSize), 4);
        assert_eq!(offset_of!(sys::NvBufSurface, numFilled), 8);
        assert_eq!(offset_of!(sys::NvBufSurface, isContiguous), 12);
        assert_eq!(offset_of!(sys::NvBufSurface, memType), 16);
        assert_eq!(offset_of!(sys::NvBufSurface, surfaceList), 24);

        assert_eq!(offset_of!(sys::NvBufSurfaceParams, width), 0);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, height), 4);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, pitch), 8);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, colorFormat), 12);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, layout), 16);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, bufferDesc), 24);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, dataSize), 32);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, dataPtr), 40);
        assert_eq!(offset_of!(sys::NvBufSurfaceParams, planeParams), 48);
        assert_eq!(
            offset_of!(sys::NvBufSurfaceParams, mappedAddr),
            MAPPED_ADDR0_OFFSET
        );
        assert_eq!(
            size_of::<sys::NvBufSurfaceMappedAddr>(),
            match abi {
                Abi::Ds4To7 => size_of::<ds4to7::MappedAddr>(),
                Abi::Ds8 => size_of::<ds8::MappedAddr>(),
            }
        );

        assert_eq!(offset_of!(sys::NvBufSurfacePlaneParams, num_planes), 0);
        assert_eq!(offset_of!(sys::NvBufSurfacePlaneParams, width), 4);
        assert_eq!(offset_of!(sys::NvBufSurfacePlaneParams, height), 20);
        assert_eq!(offset_of!(sys::NvBufSurfacePlaneParams, pitch), 36);
        assert_eq!(offset_of!(sys::NvBufSurfacePlaneParams, offset), 52);
        assert_eq!(offset_of!(sys::NvBufSurfacePlaneParams, psize), 68);
        assert_eq!(offset_of!(sys::NvBufSurfacePlaneParams, bytesPerPix), 84);

        assert_eq!(
            sys::NvBufSurfaceColorFormat_NVBUF_COLOR_FORMAT_RGBA as u32,
            color_format::RGBA
        );
        assert_eq!(
            sys::NvBufSurfaceColorFormat_NVBUF_COLOR_FORMAT_NV12 as u32,
            color_format::NV12
        );
        assert_eq!(
            sys::NvBufSurfaceColorFormat_NVBUF_COLOR_FORMAT_BGRx as u32,
            color_format::BGRX
        );
        assert_eq!(
            sys::NvBufSurfaceMemType_NVBUF_MEM_SURFACE_ARRAY as u32,
            mem_type::SURFACE_ARRAY
        );
        assert_eq!(
            sys::NvBufSurfaceLayout_NVBUF_LAYOUT_BLOCK_LINEAR as u32,
            layout::BLOCK_LINEAR
        );
    }
}
