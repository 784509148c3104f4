//! DeepStream metadata (`NvDsBatchMeta`): what `nvinfer`, `nvtracker` and the
//! application attached to a batch, read safely, and drawn the way nvdsosd draws it.
//!
//! - [`abi`]: the structs' binary layouts (DeepStream 6.0-7.x, 8.x, 9.0+), pinned by
//!   tests and checked against installed headers when `DEEPSTREAM_DIR` has them.
//! - [`BatchMeta::from_buffer`] ([`view`]): finds the batch meta as DeepStream does
//!   ([`lookup`]: `gst_buffer_get_nvds_batch_meta` from `libnvdsgst_meta.so` opened at
//!   run time, else the same GstMeta walk), tells the layout, and reads frames
//!   ([`FrameMeta`]: batch id, source id, frame number, timestamps, source size),
//!   objects ([`ObjectMeta`]: class, tracker id, confidences, rect, label, text, mask),
//!   display metas and segmentation metas. Every count, pointer and string is checked;
//!   what cannot be read is skipped and reported ([`BatchMeta::issues`]).
//! - [`osd`]: draw lists from the metadata as nvdsosd would draw it, to combine with
//!   one's own ops.
//! - [`synthetic`]: a producer of metadata laid out byte for byte like DeepStream's,
//!   attached as DeepStream attaches it, for machines without DeepStream.
//!
//! ```no_run
//! use cudadraw::gst::probe::{self, FrameMeta};
//! use cudadraw::nvds::{self, osd};
//! use cudadraw::{BlurKind, DrawList};
//! # fn f(pad: &gstreamer::Pad) {
//! probe::attach(pad, |buffer, frames: &[FrameMeta], lists: &mut [DrawList]| {
//!     let Ok(Some(batch)) = nvds::BatchMeta::from_buffer(buffer, &Default::default()) else { return };
//!     for (frame, list) in frames.iter().zip(lists) {
//!         let Some(meta) = batch.frame_for(frame.index) else { continue };
//!         for obj in meta.objects.iter().filter(|o| o.class_id == 2) {
//!             list.blur(osd::rect_of(&obj.rect), BlurKind::Pixelate { block: 16 });
//!         }
//!         osd::draw_frame(meta, &osd::OsdOptions::default(), list); // boxes as nvdsosd
//!     }
//! });
//! # }
//! ```
//!
//! Safety model: like every DeepStream element, cudadraw trusts the pointers inside
//! DeepStream's metadata (it cannot check that a non-null pointer points at live
//! memory). It checks everything else: null pointers, alignment, list lengths (a
//! list longer than its [`Limits`] bound, or a cycle, stops there: reading is O(bound)),
//! counts past the header's array sizes, strings without a NUL within
//! [`Limits::max_text_bytes`] or not UTF-8, non-finite or negative rects, mask sizes.
//! Items that fail are skipped and counted; the rest is read.

pub mod abi;
pub mod lookup;
pub mod osd;
pub mod synthetic;
pub mod view;

use std::path::PathBuf;

use gstreamer as gst;

pub use abi::MetaAbi;
pub use lookup::Lookup;
pub use view::{
    ArrowHead, BatchMeta, Depth, DisplayMeta, FrameFacts, FrameMeta, Issues, ObjectMeta, OsdArrow,
    OsdCircle, OsdLine, OsdMask, OsdRect, OsdText, SegmentationMeta,
};

/// Names the metadata layout to expect (`ds6to7` / `ds8` / `ds9` or a version such as
/// `7.1`), overriding what the batch's pools say only where they say nothing.
pub const ABI_ENV: &str = "CUDADRAW_NVDS_META_ABI";

/// Bounds on what is read from one batch (all documented, all checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Frames walked in `frame_meta_list` (default 4096, the NVMM batch limit).
    pub max_frames: usize,
    /// Objects walked per frame (default 65536).
    pub max_objects_per_frame: usize,
    /// Display metas walked per frame (default 4096).
    pub max_display_metas_per_frame: usize,
    /// User metas walked per frame (default 4096).
    pub max_user_metas_per_frame: usize,
    /// Bytes scanned for a string's NUL (default 4096).
    pub max_text_bytes: usize,
    /// Largest mask / segmentation side (default 16384).
    pub max_mask_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frames: 4096,
            max_objects_per_frame: 65_536,
            max_display_metas_per_frame: 4096,
            max_user_metas_per_frame: 4096,
            max_text_bytes: 4096,
            max_mask_side: 16_384,
        }
    }
}

/// How DeepStream metadata is found and read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NvdsOptions {
    /// The layout to expect; `None`: what the batch's meta pools say
    /// (`element_size`), else `CUDADRAW_NVDS_META_ABI`, else the library's
    /// `nvds_version`, else `$DEEPSTREAM_DIR/version`.
    pub abi: Option<MetaAbi>,
    pub lookup: Lookup,
    /// `libnvdsgst_meta.so` to open; `None`: `CUDADRAW_NVDSGST_META_LIB`, then
    /// `$DEEPSTREAM_DIR/lib`, then DeepStream's install, then the loader's path.
    pub library: Option<PathBuf>,
    pub limits: Limits,
}

/// Why a batch's metadata could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    #[error("null {0}")]
    Null(&'static str),
    #[error("NvDs metadata ({abi}): {reason}")]
    Invalid { abi: MetaAbi, reason: String },
    #[error("NvDs metadata: {0}")]
    Layout(String),
    #[error("{0}")]
    Library(String),
}

impl From<MetaError> for crate::Error {
    fn from(e: MetaError) -> Self {
        crate::Error::Gst(e.to_string())
    }
}

impl<'a> BatchMeta<'a> {
    /// The batch meta of `buffer`, read in full; `Ok(None)` when it carries none.
    pub fn from_buffer(
        buffer: &'a gst::BufferRef,
        options: &NvdsOptions,
    ) -> Result<Option<BatchMeta<'a>>, MetaError> {
        Self::from_buffer_with(buffer, options, Depth::Full)
    }

    /// [`from_buffer`](Self::from_buffer) reading only as deep as `depth`.
    pub fn from_buffer_with(
        buffer: &'a gst::BufferRef,
        options: &NvdsOptions,
        depth: Depth,
    ) -> Result<Option<BatchMeta<'a>>, MetaError> {
        let (ptr, lib) = lookup::find(buffer, options.lookup, options.library.as_deref())?;
        if ptr.is_null() {
            return Ok(None);
        }
        let abi = detect_abi(ptr, options, lib.as_deref())?;
        // SAFETY: the pointer is the NvDsBatchMeta DeepStream's own lookup (or the same
        // walk over metas tagged `nvdsmeta`) returns for this buffer: DeepStream keeps
        // it, and all it points to, alive and unchanged while the buffer is held, which
        // `'a` (the buffer borrow) guarantees here. Its layout is `abi` (checked against
        // the pools' element sizes where DeepStream records them).
        unsafe { BatchMeta::from_raw(ptr, abi, depth, &options.limits) }.map(Some)
    }
}

/// What the pools' `element_size`s say: the layouts consistent with them (all three
/// when the pools are absent or record sizes of no known layout).
///
/// # Safety
/// `batch` is a valid `NvDsBatchMeta` whose non-null pool pointers are valid.
unsafe fn layouts_by_pools(batch: &abi::BatchMetaRaw) -> Vec<MetaAbi> {
    let size = |p: *mut abi::MetaPool| -> Option<usize> {
        // SAFETY: non-null and aligned pools are valid by the contract.
        (!p.is_null() && p.is_aligned()).then(|| unsafe { (*p).element_size } as usize)
    };
    let frame = size(batch.frame_meta_pool);
    let obj = size(batch.obj_meta_pool);
    let display = size(batch.display_meta_pool);
    let fits = |a: &MetaAbi| {
        let known = |got: Option<usize>, want: usize, all: [usize; 2]| match got {
            Some(s) if all.contains(&s) => s == want,
            _ => true,
        };
        known(frame, a.frame_meta_size(), [200, 232])
            && known(obj, a.object_meta_size(), [544, 552])
            && known(display, a.display_meta_size(), [6912, 7040])
    };
    MetaAbi::ALL.into_iter().filter(fits).collect()
}

fn version_file_abi() -> Option<MetaAbi> {
    let dir = std::env::var_os("DEEPSTREAM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/nvidia/deepstream/deepstream"));
    let text = std::fs::read_to_string(dir.join("version")).ok()?;
    let v = text.lines().find_map(|l| l.strip_prefix("Version:"))?;
    MetaAbi::parse(v)
}

fn detect_abi(
    ptr: *const abi::BatchMetaRaw,
    options: &NvdsOptions,
    lib: Option<&lookup::NvdsMetaLib>,
) -> Result<MetaAbi, MetaError> {
    if !ptr.is_aligned() {
        return Err(MetaError::Layout(format!(
            "NvDsBatchMeta at {ptr:p} is misaligned"
        )));
    }
    // SAFETY: non-null (the caller checked) and aligned batch meta from DeepStream's
    // lookup; only its pool pointers and their element sizes are read.
    let by_pools = unsafe { layouts_by_pools(&*ptr) };
    if by_pools.is_empty() {
        return Err(MetaError::Layout(
            "the meta pools' element sizes match no known layout together".into(),
        ));
    }
    let asked = match options.abi {
        Some(a) => Some((a, "NvdsOptions::abi".to_string())),
        None => match std::env::var(ABI_ENV) {
            Ok(v) => Some((
                MetaAbi::parse(&v).ok_or_else(|| {
                    MetaError::Layout(format!("{ABI_ENV}={v} names no metadata layout"))
                })?,
                ABI_ENV.to_string(),
            )),
            Err(_) => None,
        },
    };
    if let Some((a, source)) = asked {
        return if by_pools.contains(&a) {
            Ok(a)
        } else {
            Err(MetaError::Layout(format!(
                "{source} asks for the {a}, but the batch's meta pools hold elements of the {}",
                by_pools
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        };
    }
    if let [only] = by_pools[..] {
        return Ok(only);
    }
    let by_version = lib
        .and_then(|l| l.version())
        .and_then(|(major, minor)| MetaAbi::for_version(major, minor))
        .or_else(version_file_abi);
    match by_version {
        Some(a) if by_pools.contains(&a) => Ok(a),
        _ => Err(MetaError::Layout(format!(
            "cannot tell the metadata layout (the pools allow {by_pools:?}, no DeepStream \
             version found): set {ABI_ENV}"
        ))),
    }
}
