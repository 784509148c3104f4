//! Frame views: where a frame's pixels are, how they are laid out. cudadraw never
//! owns frames: it draws into memory that DeepStream, GStreamer or the caller owns.

use crate::color::PixelFormat;
use crate::error::{Error, Result};

/// Largest accepted width or height. Larger values are reported as errors: they are
/// corrupt descriptors, not video.
pub const MAX_DIMENSION: u32 = 16384;

/// Largest accepted pitch in bytes (four times [`MAX_DIMENSION`] plus generous padding).
pub const MAX_PITCH: usize = 1 << 20;

/// Layout of one frame: size, row pitch in bytes and pixel format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameInfo {
    pub width: u32,
    pub height: u32,
    /// Bytes between the starts of two rows, >= 4 * width. Padding is never written.
    pub pitch: usize,
    pub format: PixelFormat,
}

impl FrameInfo {
    pub fn new(width: u32, height: u32, pitch: usize, format: PixelFormat) -> Self {
        Self {
            width,
            height,
            pitch,
            format,
        }
    }

    /// Tightly packed frame (pitch = 4 * width).
    pub fn packed(width: u32, height: u32, format: PixelFormat) -> Self {
        Self::new(width, height, width as usize * 4, format)
    }

    /// Checks size and pitch; `index` names the frame in the error.
    pub fn validate(&self, index: usize) -> Result<()> {
        let bad = |reason: String| Err(Error::InvalidFrame { index, reason });
        if self.width == 0 || self.height == 0 {
            return bad(format!("size {}x{} is empty", self.width, self.height));
        }
        if self.width > MAX_DIMENSION || self.height > MAX_DIMENSION {
            return bad(format!(
                "size {}x{} exceeds the maximum {MAX_DIMENSION}x{MAX_DIMENSION}",
                self.width, self.height
            ));
        }
        if self.pitch < self.width as usize * 4 {
            return bad(format!("pitch {} < 4 x width {}", self.pitch, self.width));
        }
        if self.pitch > MAX_PITCH {
            return bad(format!(
                "pitch {} exceeds the maximum {MAX_PITCH}",
                self.pitch
            ));
        }
        Ok(())
    }

    /// Bytes from pixel (0, 0) to one past the last written byte of the last row.
    pub fn min_len(&self) -> usize {
        if self.height == 0 {
            return 0;
        }
        self.pitch * (self.height as usize - 1) + self.width as usize * 4
    }
}

/// A frame in host memory, borrowed mutably for the duration of a render.
#[derive(Debug)]
pub struct HostFrame<'a> {
    info: FrameInfo,
    data: &'a mut [u8],
}

impl<'a> HostFrame<'a> {
    /// Wraps `data` (pixel (0, 0) at offset 0). Fails if the slice is too short or the
    /// layout invalid.
    pub fn new(data: &'a mut [u8], info: FrameInfo) -> Result<Self> {
        info.validate(0)?;
        if data.len() < info.min_len() {
            return Err(Error::InvalidFrame {
                index: 0,
                reason: format!(
                    "buffer of {} bytes is shorter than the {} the layout needs",
                    data.len(),
                    info.min_len()
                ),
            });
        }
        Ok(Self { info, data })
    }

    /// Wraps host memory owned by someone else (a mapped NvBufSurface, a GstBuffer).
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `info.min_len()` bytes, and nothing
    /// else may access that memory for `'a`.
    pub unsafe fn from_raw(ptr: *mut u8, info: FrameInfo) -> Result<Self> {
        if ptr.is_null() {
            return Err(Error::InvalidFrame {
                index: 0,
                reason: "null data pointer".into(),
            });
        }
        info.validate(0)?;
        // SAFETY: the caller guarantees ptr is valid for min_len bytes for 'a.
        let data = unsafe { std::slice::from_raw_parts_mut(ptr, info.min_len()) };
        Ok(Self { info, data })
    }

    pub fn info(&self) -> FrameInfo {
        self.info
    }

    pub fn data(&self) -> &[u8] {
        self.data
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        self.data
    }
}

/// A frame in memory that CUDA kernels can address: device memory, pinned host memory
/// (through unified addressing) or managed memory. Not owned: cudadraw never frees it.
///
/// The fields are private: safe code cannot forge a frame over arbitrary addresses.
///
/// ```compile_fail
/// use cudadraw::{DeviceFrame, FrameInfo, PixelFormat};
/// let f = DeviceFrame { ptr: 0xdead_0000, info: FrameInfo::packed(2, 2, PixelFormat::Rgba), gpu_id: 0 };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFrame {
    // Private: a frame is a promise that `ptr` addresses memory kernels may write, so
    // the only way to make one is the `unsafe` constructor.
    ptr: u64,
    info: FrameInfo,
    gpu_id: u32,
}

impl DeviceFrame {
    /// Describes a frame in CUDA-addressable memory.
    ///
    /// # Safety
    /// `ptr` must address at least `info.min_len()` bytes of memory that kernels on
    /// device `gpu_id` may read and write, for as long as the frame is used.
    pub unsafe fn new(ptr: u64, info: FrameInfo, gpu_id: u32) -> Self {
        Self { ptr, info, gpu_id }
    }

    /// Device address (`CUdeviceptr`) of pixel (0, 0).
    pub fn ptr(&self) -> u64 {
        self.ptr
    }

    /// Size, pitch and format.
    pub fn info(&self) -> FrameInfo {
        self.info
    }

    /// CUDA device ordinal the memory belongs to.
    pub fn gpu_id(&self) -> u32 {
        self.gpu_id
    }

    /// Checks pointer, alignment and layout. Kernels access pixels as 32-bit words, so
    /// the pointer and pitch must be multiples of 4 (every CUDA allocator guarantees it).
    pub fn validate(&self, index: usize) -> Result<()> {
        self.info.validate(index)?;
        let bad = |reason: String| Err(Error::InvalidFrame { index, reason });
        if self.ptr == 0 {
            return bad("null device pointer".into());
        }
        if !self.ptr.is_multiple_of(4) || !self.info.pitch.is_multiple_of(4) {
            return bad(format!(
                "device pointer {:#x} and pitch {} must be multiples of 4",
                self.ptr, self.info.pitch
            ));
        }
        Ok(())
    }
}

/// Checks that no two frames of a batch share a byte. `frames` gives each frame's first
/// byte and layout; `spans` is the caller's scratch (kept between calls, so steady-state
/// checks do not allocate). Frames are drawn in parallel (CPU threads, GPU blocks), so
/// overlapping frames would race and give different pixels from run to run; such a
/// batch is refused before anything is drawn.
pub(crate) fn check_disjoint(
    frames: impl Iterator<Item = (u64, FrameInfo)>,
    spans: &mut Vec<(u64, u64, usize)>,
) -> Result<()> {
    check_disjoint_bytes(frames.map(|(p, info)| (p, info.min_len())), spans)
}

/// [`check_disjoint`] for frames given as (first byte, bytes spanned): layouts other
/// than packed ones (planar frames) use it.
pub(crate) fn check_disjoint_bytes(
    frames: impl Iterator<Item = (u64, usize)>,
    spans: &mut Vec<(u64, u64, usize)>,
) -> Result<()> {
    check_disjoint_bytes_of(frames.enumerate().map(|(i, (p, len))| (p, len, i)), spans)
}

/// [`check_disjoint_bytes`] for spans given as (first byte, bytes spanned, frame): a
/// frame may have several (its planes, which must not share a byte either).
pub(crate) fn check_disjoint_bytes_of(
    frames: impl Iterator<Item = (u64, usize, usize)>,
    spans: &mut Vec<(u64, u64, usize)>,
) -> Result<()> {
    spans.clear();
    spans.extend(frames.map(|(p, len, i)| (p, p.saturating_add(len as u64), i)));
    spans.sort_unstable();
    for w in spans.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b.0 < a.1 {
            return Err(Error::OverlappingFrames {
                first: a.2.min(b.2),
                second: a.2.max(b.2),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(
            FrameInfo::new(0, 1, 4, PixelFormat::Rgba)
                .validate(0)
                .is_err()
        );
        assert!(
            FrameInfo::new(2, 1, 7, PixelFormat::Rgba)
                .validate(0)
                .is_err()
        );
        assert!(
            FrameInfo::new(MAX_DIMENSION + 1, 1, 1 << 19, PixelFormat::Rgba)
                .validate(0)
                .is_err()
        );
        assert!(
            FrameInfo::new(3, 3, 16, PixelFormat::Bgrx)
                .validate(0)
                .is_ok()
        );
        assert_eq!(FrameInfo::new(3, 3, 16, PixelFormat::Bgrx).min_len(), 44);
        let mut buf = vec![0u8; 43];
        assert!(HostFrame::new(&mut buf, FrameInfo::new(3, 3, 16, PixelFormat::Rgba)).is_err());
        let f = unsafe { DeviceFrame::new(0, FrameInfo::packed(2, 2, PixelFormat::Rgba), 0) };
        assert!(f.validate(3).unwrap_err().to_string().contains("frame 3"));
    }

    #[test]
    fn overlapping_spans_are_refused() {
        // Frames of 100 bytes (25 x 1 RGBA) starting at the given addresses.
        let info = FrameInfo::packed(25, 1, PixelFormat::Rgba);
        let check = |at: &[u64]| check_disjoint(at.iter().map(|&p| (p, info)), &mut Vec::new());
        assert!(check(&[100, 200, 0]).is_ok());
        assert!(matches!(
            check(&[100, 300, 150]),
            Err(Error::OverlappingFrames {
                first: 0,
                second: 2
            })
        ));
        assert!(check(&[64, 64]).is_err());
    }
}
