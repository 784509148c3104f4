//! Finding a buffer's `NvDsBatchMeta` the way DeepStream does, without linking
//! DeepStream: `gst_buffer_get_nvds_batch_meta` from `libnvdsgst_meta.so` opened at
//! run time when it can be, else the same walk that function does (DeepStream 9's
//! Apache-2.0 `gstnvdsmeta.cpp`): every GstMeta whose API carries the tag
//! `nvdsmeta`, of at least `sizeof(NvDsMeta)`, whose `meta_type` is
//! `NVDS_BATCH_GST_META`; its `meta_data` is the batch meta.

use std::ffi::{c_uint, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gstreamer as gst;

use super::MetaError;
use super::abi::{BatchMetaRaw, NVDS_META_TAG, NvDsMeta, meta_type};

/// Names the `libnvdsgst_meta.so` to open (a path), overriding DeepStream's.
pub const LIB_ENV: &str = "CUDADRAW_NVDSGST_META_LIB";
const DEEPSTREAM_LIB: &str = "/opt/nvidia/deepstream/deepstream/lib/libnvdsgst_meta.so";

type GetBatchMetaFn = unsafe extern "C" fn(*mut gst::ffi::GstBuffer) -> *mut c_void;
type VersionFn = unsafe extern "C" fn(*mut c_uint, *mut c_uint);

/// How the batch meta is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Lookup {
    /// DeepStream's `gst_buffer_get_nvds_batch_meta` if `libnvdsgst_meta.so` opens,
    /// else the GstMeta walk (what machines without DeepStream, and the synthetic
    /// producer, rely on).
    #[default]
    Auto,
    /// Only through the library; an error if it does not open.
    Library,
    /// Only the GstMeta walk (tag `nvdsmeta`, `NVDS_BATCH_GST_META`).
    GstMeta,
}

/// An opened `libnvdsgst_meta.so` (or a test double with the same exports).
pub struct NvdsMetaLib {
    path: PathBuf,
    get_batch_meta: GetBatchMetaFn,
    version: Option<VersionFn>,
    // Keeps the function pointers valid; never unloaded while cached.
    _lib: libloading::Library,
}

impl std::fmt::Debug for NvdsMetaLib {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvdsMetaLib")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Outcome of opening a candidate list, cached per list: a missing library is not
/// looked for again on every buffer.
type Cached = Result<Arc<NvdsMetaLib>, String>;

impl NvdsMetaLib {
    /// Opens (once per process and candidate list) the library `explicit` names, else
    /// the one `CUDADRAW_NVDSGST_META_LIB` names, else DeepStream's, else
    /// `libnvdsgst_meta.so` from the loader's path.
    pub fn open(explicit: Option<&Path>) -> Result<Arc<NvdsMetaLib>, MetaError> {
        static CACHE: Mutex<Vec<(Vec<PathBuf>, Cached)>> = Mutex::new(Vec::new());
        let candidates: Vec<PathBuf> = match (explicit, std::env::var_os(LIB_ENV)) {
            (Some(p), _) => vec![p.to_path_buf()],
            (None, Some(p)) => vec![PathBuf::from(p)],
            (None, None) => {
                let mut v = Vec::new();
                if let Some(dir) = std::env::var_os("DEEPSTREAM_DIR") {
                    v.push(Path::new(&dir).join("lib/libnvdsgst_meta.so"));
                }
                v.push(DEEPSTREAM_LIB.into());
                v.push("libnvdsgst_meta.so".into());
                v
            }
        };
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, cached)) = cache.iter().find(|(c, _)| *c == candidates) {
            return cached.clone().map_err(MetaError::Library);
        }
        let mut reasons = Vec::new();
        let mut found = None;
        for c in &candidates {
            match Self::load(c) {
                Ok(lib) => {
                    found = Some(Arc::new(lib));
                    break;
                }
                Err(e) => reasons.push(format!("{}: {e}", c.display())),
            }
        }
        let result = found.ok_or_else(|| {
            format!(
                "cannot open libnvdsgst_meta.so ({}); set {LIB_ENV}",
                reasons.join("; ")
            )
        });
        cache.push((candidates, result.clone()));
        result.map_err(MetaError::Library)
    }

    fn load(path: &Path) -> Result<NvdsMetaLib, libloading::Error> {
        // SAFETY: loading runs the library's initialisers; libnvdsgst_meta (or a test
        // double with the same exports) is trusted as any linked library would be.
        let lib = unsafe { libloading::Library::new(path) }?;
        // SAFETY: gstnvdsmeta.h declares
        // `NvDsBatchMeta *gst_buffer_get_nvds_batch_meta (GstBuffer *buffer)`.
        let get_batch_meta =
            unsafe { *lib.get::<GetBatchMetaFn>(b"gst_buffer_get_nvds_batch_meta\0")? };
        // SAFETY: nvds_version.h declares `void nvds_version (guint *major, guint
        // *minor)`; found through the library's dependencies (libnvds_meta) if at all.
        let version = unsafe { lib.get::<VersionFn>(b"nvds_version\0") }
            .ok()
            .map(|s| *s);
        Ok(NvdsMetaLib {
            path: path.to_path_buf(),
            get_batch_meta,
            version,
            _lib: lib,
        })
    }

    /// The path the library was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// DeepStream's version as the library reports it (`nvds_version`), if exported.
    pub fn version(&self) -> Option<(u32, u32)> {
        let f = self.version?;
        let (mut major, mut minor) = (0, 0);
        // SAFETY: both out-pointers are valid for writes (signature as declared above).
        unsafe { f(&mut major, &mut minor) };
        Some((major, minor))
    }

    /// The batch meta of `buffer` according to DeepStream (null: none).
    pub fn batch_meta(&self, buffer: &gst::BufferRef) -> *mut BatchMetaRaw {
        // SAFETY: the function only reads the buffer's metas (it iterates them); the
        // buffer is alive for the call. `as_mut_ptr` is the C API's non-const pointer.
        unsafe { (self.get_batch_meta)(buffer.as_mut_ptr()) }.cast()
    }
}

/// The GstMeta walk `gst_buffer_get_nvds_batch_meta` does: the last
/// `NVDS_BATCH_GST_META` NvDsMeta wins, as in DeepStream (it warns on several).
/// Also returns how many were found.
pub fn walk_gst_metas(buffer: &gst::BufferRef) -> (*mut BatchMetaRaw, usize) {
    let tag = gst::glib::Quark::from_str(NVDS_META_TAG);
    let mut found: *mut BatchMetaRaw = std::ptr::null_mut();
    let mut n = 0;
    for meta in buffer.iter_meta::<gst::Meta>() {
        if !gst::meta::meta_api_type_has_tag_by_quark(meta.api(), tag) {
            continue;
        }
        let raw = meta.as_ptr();
        // SAFETY: every GstMeta of a buffer points at its registered GstMetaInfo.
        let size = unsafe { (*(*raw).info).size };
        // A meta of this tag smaller than NvDsMeta is someone else's: not read as one.
        if size < size_of::<NvDsMeta>() {
            continue;
        }
        // SAFETY: the meta is at least sizeof(NvDsMeta) bytes (checked above) and
        // GstMetas are allocated with pointer alignment; it is read, not written.
        let ds = unsafe { &*raw.cast::<NvDsMeta>() };
        if ds.meta_type == meta_type::NVDS_BATCH_GST_META {
            found = ds.meta_data.cast();
            n += 1;
        }
    }
    (found, n)
}

/// The batch meta pointer of `buffer` (null: the buffer carries none) and the
/// library used, if any.
pub(crate) fn find(
    buffer: &gst::BufferRef,
    lookup: Lookup,
    library: Option<&Path>,
) -> Result<(*mut BatchMetaRaw, Option<Arc<NvdsMetaLib>>), MetaError> {
    match lookup {
        Lookup::GstMeta => Ok((walk_gst_metas(buffer).0, None)),
        Lookup::Library => {
            let lib = NvdsMetaLib::open(library)?;
            Ok((lib.batch_meta(buffer), Some(lib)))
        }
        Lookup::Auto => match NvdsMetaLib::open(library) {
            Ok(lib) => Ok((lib.batch_meta(buffer), Some(lib))),
            Err(_) => Ok((walk_gst_metas(buffer).0, None)),
        },
    }
}
