//! Synthetic DeepStream metadata, for machines without DeepStream (tests, the demo,
//! the GPU host): an `NvDsBatchMeta` with its frames, objects, display metas and
//! segmentation metas laid out byte for byte as [`super::abi`] (so as the headers)
//! says, with meta pools whose `element_size` is each struct's size, attached to a
//! GstBuffer as DeepStream attaches it: a GstMeta of API `NvDsMetaAPI` (tag
//! `nvdsmeta`), info `NvDsMeta`, `meta_type` `NVDS_BATCH_GST_META`, `meta_data` the
//! batch. It is found by the same lookup as DeepStream's (the GstMeta walk of
//! [`super::lookup`]).
//!
//! What this proves: the reader, layout detection and drawing work on bytes laid out
//! as the headers say, found the way `gst_buffer_get_nvds_batch_meta` finds them.
//! What it does not: that libnvds_meta fills every field as assumed here (pool
//! element sizes, say), nor that DeepStream's own API type is this one: when
//! DeepStream's `NvDsMetaAPI` is already registered in the process, [`attach`] refuses
//! (use DeepStream's producers there).
//!
//! A copied buffer shares the (read-only) metadata; it is freed with the last buffer.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, OnceLock};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::glib::translate::IntoGlib;

use super::abi::{self, GList, MetaAbi, RectLayout};

/// Colour in nvdsosd's terms (components 0..=1).
pub type Rgba = [f64; 4];

/// A rect with nvdsosd's drawing parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthRect {
    pub rect: [f32; 4],
    pub border_width: u32,
    pub border_color: Rgba,
    pub bg_color: Option<Rgba>,
}

/// A text; `bytes` are written as they are (non-UTF-8 allowed) and NUL-terminated
/// unless `unterminated`, in which case 8192 non-NUL bytes are written (more than the
/// reader scans, so the test stays within memory).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynthText {
    pub bytes: Vec<u8>,
    pub unterminated: bool,
    pub x: u32,
    pub y: u32,
    pub font_size: u32,
    pub font_color: Rgba,
    pub bg_color: Option<Rgba>,
}

impl SynthText {
    pub fn new(text: &str, x: u32, y: u32) -> Self {
        Self {
            bytes: text.as_bytes().to_vec(),
            x,
            y,
            font_size: 12,
            font_color: [1.0, 1.0, 1.0, 1.0],
            ..Default::default()
        }
    }
}

/// One object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynthObject {
    pub class_id: i32,
    pub object_id: Option<u64>,
    pub confidence: f32,
    pub tracker_confidence: f32,
    pub rect: Option<SynthRect>,
    /// `obj_label` bytes (at most 127 are written, then NUL; more: no NUL at all).
    pub label: Vec<u8>,
    pub text: Option<SynthText>,
    /// width, height, threshold, data (`size` is written as `4 * data.len()`).
    pub mask: Option<(u32, u32, f32, Vec<f32>)>,
}

/// One display meta. `num_*` overrides the counts written (hostile counts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynthDisplay {
    pub rects: Vec<SynthRect>,
    pub texts: Vec<SynthText>,
    /// x1, y1, x2, y2, width, colour.
    pub lines: Vec<(u32, u32, u32, u32, u32, Rgba)>,
    /// x1, y1, x2, y2, width, head (0 start, 1 end, 2 both), colour.
    pub arrows: Vec<(u32, u32, u32, u32, u32, i32, Rgba)>,
    /// xc, yc, radius, width, colour.
    pub circles: Vec<(u32, u32, u32, u32, Rgba)>,
    pub num_rects: Option<u32>,
    pub num_labels: Option<u32>,
    pub num_circles: Option<u32>,
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynthFrame {
    pub batch_id: u32,
    pub source_id: u32,
    pub frame_num: i32,
    pub pad_index: u32,
    pub buf_pts: u64,
    pub ntp_timestamp: u64,
    pub source_frame_width: u32,
    pub source_frame_height: u32,
    pub objects: Vec<SynthObject>,
    pub displays: Vec<SynthDisplay>,
    /// Segmentation metas: classes, width, height, class map.
    pub segmentations: Vec<(u32, u32, u32, Vec<i32>)>,
    /// Hostile: the object list's last node points back to its first (a cycle).
    pub object_cycle: bool,
    /// Hostile: a null `data` entry in front of the object list.
    pub null_object_entry: bool,
}

/// A whole batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthBatch {
    pub abi: MetaAbi,
    pub frames: Vec<SynthFrame>,
    /// Write the meta pools (DeepStream always has them); without, the layout must
    /// come from elsewhere (options, environment, version).
    pub pools: bool,
}

impl SynthBatch {
    pub fn new(abi: MetaAbi) -> Self {
        Self {
            abi,
            frames: Vec::new(),
            pools: true,
        }
    }
}

/// Memory of one synthetic batch; the batch meta points into it.
pub struct Built {
    batch: *mut abi::BatchMetaRaw,
    // Heap blocks the structs live in (u64 words: 8-byte alignment). Never touched
    // after building except through the pointers above (read-only).
    _blocks: Vec<Vec<u64>>,
}

// SAFETY: the blocks are plain memory, written once while building and read-only
// afterwards (the readers take shared references only); the raw pointer is into them.
unsafe impl Send for Built {}
// SAFETY: as above: no interior mutability after building.
unsafe impl Sync for Built {}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built")
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Built {
    /// The `NvDsBatchMeta`, valid while `self` lives.
    pub fn batch_ptr(&self) -> *mut abi::BatchMetaRaw {
        self.batch
    }
}

struct Arena {
    blocks: Vec<Vec<u64>>,
}

impl Arena {
    /// A zeroed block of `bytes` (8-byte aligned); zero is a valid value of every
    /// field of the abi structs (integers, floats, pointers, optional fn pointers).
    fn alloc(&mut self, bytes: usize) -> *mut u8 {
        let mut v = vec![0u64; bytes.div_ceil(8).max(1)];
        let p = v.as_mut_ptr().cast::<u8>();
        self.blocks.push(v);
        p
    }

    fn typed<T>(&mut self) -> *mut T {
        self.alloc(size_of::<T>()).cast()
    }

    fn bytes(&mut self, b: &[u8], nul: bool) -> *mut c_char {
        let p = self.alloc(b.len() + 1);
        // SAFETY: the block holds b.len() + 1 bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(b.as_ptr(), p, b.len());
            if !nul {
                // No NUL anywhere: the reader must stop at its bound.
                *p.add(b.len()) = b'x';
            }
        }
        p.cast()
    }

    /// A GList over `items` (null-terminated, prev linked).
    fn list(&mut self, items: &[*mut c_void]) -> *mut GList {
        if items.is_empty() {
            return std::ptr::null_mut();
        }
        let nodes = self.alloc(items.len() * size_of::<GList>()).cast::<GList>();
        for (i, &d) in items.iter().enumerate() {
            // SAFETY: `nodes` holds items.len() GLists.
            unsafe {
                let n = &mut *nodes.add(i);
                n.data = d;
                n.next = if i + 1 < items.len() {
                    nodes.add(i + 1)
                } else {
                    std::ptr::null_mut()
                };
                n.prev = if i > 0 {
                    nodes.add(i - 1)
                } else {
                    std::ptr::null_mut()
                };
            }
        }
        nodes
    }

    fn pool(&mut self, ty: i32, element_size: usize) -> *mut abi::MetaPool {
        let p = self.typed::<abi::MetaPool>();
        // SAFETY: fresh zeroed block of the pool's size.
        unsafe {
            (*p).meta_type = ty;
            (*p).element_size = element_size as u32;
            (*p).max_elements_in_pool = 64;
        }
        p
    }

    fn text(&mut self, t: &abi::TextParams, s: &SynthText) -> abi::TextParams {
        let _ = t;
        let text = if s.unterminated {
            self.bytes(&vec![b'a'; 8192], false)
        } else {
            self.bytes(&s.bytes, true)
        };
        abi::TextParams {
            display_text: text,
            x_offset: s.x,
            y_offset: s.y,
            font_params: abi::FontParams {
                font_name: self.bytes(b"Serif", true),
                font_size: s.font_size,
                font_color: color(s.font_color),
            },
            set_bg_clr: i32::from(s.bg_color.is_some()),
            text_bg_clr: color(s.bg_color.unwrap_or_default()),
        }
    }
}

fn color(c: Rgba) -> abi::ColorParams {
    abi::ColorParams {
        red: c[0],
        green: c[1],
        blue: c[2],
        alpha: c[3],
    }
}

fn write_rect(r: &mut abi::RectParamsV6, s: &SynthRect) {
    r.left = s.rect[0];
    r.top = s.rect[1];
    r.width = s.rect[2];
    r.height = s.rect[3];
    r.border_width = s.border_width;
    r.border_color = color(s.border_color);
    r.has_bg_color = u32::from(s.bg_color.is_some());
    r.bg_color = color(s.bg_color.unwrap_or_default());
}

fn empty_text() -> abi::TextParams {
    abi::TextParams {
        display_text: std::ptr::null_mut(),
        x_offset: 0,
        y_offset: 0,
        font_params: abi::FontParams {
            font_name: std::ptr::null_mut(),
            font_size: 0,
            font_color: abi::ColorParams::default(),
        },
        set_bg_clr: 0,
        text_bg_clr: abi::ColorParams::default(),
    }
}

fn object<R: RectLayout>(
    a: &mut Arena,
    o: &SynthObject,
    batch: *mut abi::BatchMetaRaw,
) -> *mut c_void {
    let p = a.typed::<abi::ObjectMetaRaw<R>>();
    // SAFETY: fresh zeroed block of this layout's size; every field is plain data.
    let m = unsafe { &mut *p };
    m.base_meta.batch_meta = batch;
    m.base_meta.meta_type = abi::meta_type::NVDS_OBJ_META;
    m.class_id = o.class_id;
    m.object_id = o.object_id.unwrap_or(abi::UNTRACKED_OBJECT_ID);
    m.confidence = o.confidence;
    m.tracker_confidence = o.tracker_confidence;
    if let Some(r) = &o.rect {
        write_rect(m.rect_params.common_mut(), r);
    }
    m.text_params = match &o.text {
        Some(t) => a.text(&m.text_params, t),
        None => empty_text(),
    };
    if let Some((w, h, th, data)) = &o.mask {
        let bytes = data.len() * 4;
        let d = a.alloc(bytes).cast::<f32>();
        // SAFETY: the block holds data.len() floats.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), d, data.len()) };
        m.mask_params = abi::MaskParams {
            data: d,
            size: bytes as u32,
            threshold: *th,
            width: *w,
            height: *h,
        };
    }
    let n = o.label.len().min(abi::MAX_LABEL_SIZE);
    for (dst, &b) in m.obj_label.iter_mut().zip(&o.label[..n]) {
        *dst = b as c_char;
    }
    p.cast()
}

fn display<R: RectLayout>(
    a: &mut Arena,
    d: &SynthDisplay,
    batch: *mut abi::BatchMetaRaw,
) -> *mut c_void {
    let p = a.typed::<abi::DisplayMetaRaw<R>>();
    // SAFETY: fresh zeroed block of this layout's size.
    let m = unsafe { &mut *p };
    m.base_meta.batch_meta = batch;
    m.base_meta.meta_type = abi::meta_type::NVDS_DISPLAY_META;
    let max = abi::MAX_ELEMENTS_IN_DISPLAY_META;
    for (dst, r) in m.rect_params.iter_mut().zip(&d.rects) {
        write_rect(dst.common_mut(), r);
    }
    for (i, t) in d.texts.iter().take(max).enumerate() {
        m.text_params[i] = a.text(&m.text_params[i], t);
    }
    for (dst, &(x1, y1, x2, y2, w, c)) in m.line_params.iter_mut().zip(&d.lines) {
        *dst = abi::LineParams {
            x1,
            y1,
            x2,
            y2,
            line_width: w,
            line_color: color(c),
        };
    }
    for (dst, &(x1, y1, x2, y2, w, head, c)) in m.arrow_params.iter_mut().zip(&d.arrows) {
        *dst = abi::ArrowParams {
            x1,
            y1,
            x2,
            y2,
            arrow_width: w,
            arrow_head: head,
            arrow_color: color(c),
            reserved: 0,
        };
    }
    for (dst, &(xc, yc, radius, w, c)) in m.circle_params.iter_mut().zip(&d.circles) {
        dst.xc = xc;
        dst.yc = yc;
        dst.radius = radius;
        dst.circle_color = color(c);
        dst.circle_width = w;
    }
    let n = |v: usize| v.min(max) as u32;
    m.num_rects = d.num_rects.unwrap_or(n(d.rects.len()));
    m.num_labels = d.num_labels.unwrap_or(n(d.texts.len()));
    m.num_lines = n(d.lines.len());
    m.num_arrows = n(d.arrows.len());
    m.num_circles = d.num_circles.unwrap_or(n(d.circles.len()));
    p.cast()
}

impl SynthBatch {
    /// Lays the batch out in memory.
    pub fn build(&self) -> Built {
        let mut a = Arena { blocks: Vec::new() };
        let abi = self.abi;
        let batch = a.typed::<abi::BatchMetaRaw>();
        let mut frame_ptrs = Vec::new();
        for f in &self.frames {
            let fp = a.alloc(abi.frame_meta_size()).cast::<abi::FrameMetaV6>();
            let mut objs: Vec<*mut c_void> = Vec::new();
            if f.null_object_entry {
                objs.push(std::ptr::null_mut());
            }
            for o in &f.objects {
                objs.push(match abi {
                    MetaAbi::Ds9 => object::<abi::RectParamsV9>(&mut a, o, batch),
                    _ => object::<abi::RectParamsV6>(&mut a, o, batch),
                });
            }
            let obj_list = a.list(&objs);
            if f.object_cycle && !obj_list.is_null() {
                // SAFETY: the list has objs.len() contiguous nodes.
                unsafe { (*obj_list.add(objs.len() - 1)).next = obj_list };
            }
            let disps: Vec<*mut c_void> = f
                .displays
                .iter()
                .map(|d| match abi {
                    MetaAbi::Ds9 => display::<abi::RectParamsV9>(&mut a, d, batch),
                    _ => display::<abi::RectParamsV6>(&mut a, d, batch),
                })
                .collect();
            let disp_list = a.list(&disps);
            let mut users = Vec::new();
            for (classes, w, h, map) in &f.segmentations {
                let s = a.typed::<abi::SegmentationMeta>();
                let cm = a.alloc(map.len() * 4).cast::<i32>();
                let u = a.typed::<abi::UserMeta>();
                // SAFETY: fresh blocks of the right sizes.
                unsafe {
                    std::ptr::copy_nonoverlapping(map.as_ptr(), cm, map.len());
                    (*s).classes = *classes;
                    (*s).width = *w;
                    (*s).height = *h;
                    (*s).class_map = cm;
                    (*u).base_meta.batch_meta = batch;
                    (*u).base_meta.meta_type = abi::meta_type::NVDSINFER_SEGMENTATION_META;
                    (*u).user_meta_data = s.cast();
                }
                users.push(u.cast::<c_void>());
            }
            let user_list = a.list(&users);
            // SAFETY: fresh zeroed block of this layout's frame size (>= V6's).
            let m = unsafe { &mut *fp };
            m.base_meta.batch_meta = batch;
            m.base_meta.meta_type = abi::meta_type::NVDS_FRAME_META;
            m.batch_id = f.batch_id;
            m.source_id = f.source_id;
            m.frame_num = f.frame_num;
            m.pad_index = f.pad_index;
            m.buf_pts = f.buf_pts;
            m.ntp_timestamp = f.ntp_timestamp;
            m.num_surfaces_per_frame = 1;
            m.source_frame_width = f.source_frame_width;
            m.source_frame_height = f.source_frame_height;
            m.num_obj_meta = f.objects.len() as u32;
            m.b_infer_done = 1;
            m.obj_meta_list = obj_list;
            m.display_meta_list = disp_list;
            m.frame_user_meta_list = user_list;
            frame_ptrs.push(fp.cast::<c_void>());
        }
        let frame_list = a.list(&frame_ptrs);
        let pools = self.pools.then(|| {
            (
                a.pool(abi::meta_type::NVDS_FRAME_META, abi.frame_meta_size()),
                a.pool(abi::meta_type::NVDS_OBJ_META, abi.object_meta_size()),
                a.pool(abi::meta_type::NVDS_DISPLAY_META, abi.display_meta_size()),
            )
        });
        // SAFETY: fresh zeroed block of NvDsBatchMeta's size.
        let b = unsafe { &mut *batch };
        b.base_meta.batch_meta = batch;
        b.base_meta.meta_type = abi::meta_type::NVDS_BATCH_META;
        b.max_frames_in_batch = self.frames.len() as u32;
        b.num_frames_in_batch = self.frames.len() as u32;
        b.frame_meta_list = frame_list;
        if let Some((fp, op, dp)) = pools {
            b.frame_meta_pool = fp;
            b.obj_meta_pool = op;
            b.display_meta_pool = dp;
        }
        Built {
            batch,
            _blocks: a.blocks,
        }
    }

    /// Builds the batch and attaches it to `buffer` as DeepStream does.
    pub fn attach(&self, buffer: &mut gst::BufferRef) -> Result<(), String> {
        attach(buffer, Arc::new(self.build()))
    }
}

/// The registered `NvDsMeta` info (ours), or why it cannot be.
fn meta_info() -> Result<*const gst::ffi::GstMetaInfo, String> {
    static INFO: OnceLock<Result<usize, String>> = OnceLock::new();
    INFO.get_or_init(|| {
        if glib::Type::from_name(abi::NVDS_META_API_NAME).is_some() {
            return Err(format!(
                "{} is already registered in this process (DeepStream's libnvdsgst_meta?): \
                 the synthetic producer only runs without DeepStream",
                abi::NVDS_META_API_NAME
            ));
        }
        let tags: [*const c_char; 2] = [c"nvdsmeta".as_ptr(), std::ptr::null()];
        // SAFETY: NUL-terminated name and tag array, as gst_meta_api_type_register wants.
        let api = unsafe {
            gst::ffi::gst_meta_api_type_register(c"NvDsMetaAPI".as_ptr(), tags.as_ptr().cast_mut())
        };
        // SAFETY: a valid API type; the size is NvDsMeta's; the callbacks have the
        // GstMetaInitFunction / FreeFunction / TransformFunction signatures.
        let info = unsafe {
            gst::ffi::gst_meta_register(
                api,
                c"NvDsMeta".as_ptr(),
                size_of::<abi::NvDsMeta>(),
                Some(meta_init),
                Some(meta_free),
                Some(meta_transform),
            )
        };
        if info.is_null() {
            Err("gst_meta_register failed".into())
        } else {
            Ok(info as usize)
        }
    })
    .clone()
    .map(|p| p as *const gst::ffi::GstMetaInfo)
}

unsafe extern "C" fn meta_init(
    meta: *mut gst::ffi::GstMeta,
    _params: glib::ffi::gpointer,
    _buffer: *mut gst::ffi::GstBuffer,
) -> glib::ffi::gboolean {
    let m = meta.cast::<abi::NvDsMeta>();
    // SAFETY: GStreamer allocated `size_of::<NvDsMeta>()` bytes for this meta.
    unsafe {
        (*m).meta_data = std::ptr::null_mut();
        (*m).user_data = std::ptr::null_mut();
        (*m).meta_type = 0;
        (*m).copyfunc = None;
        (*m).freefunc = None;
        (*m).gst_to_nvds_meta_transform_func = None;
        (*m).gst_to_nvds_meta_release_func = None;
    }
    glib::ffi::GTRUE
}

/// DeepStream's free: `freefunc(meta_data, user_data)` when both are set.
unsafe extern "C" fn meta_free(meta: *mut gst::ffi::GstMeta, _buffer: *mut gst::ffi::GstBuffer) {
    let m = meta.cast::<abi::NvDsMeta>();
    // SAFETY: an initialised NvDsMeta of ours.
    unsafe {
        if let Some(f) = (*m).freefunc
            && !(*m).meta_data.is_null()
        {
            f((*m).meta_data, (*m).user_data);
        }
    }
}

/// Copies share the batch: one more reference on its memory.
unsafe extern "C" fn meta_transform(
    dest: *mut gst::ffi::GstBuffer,
    meta: *mut gst::ffi::GstMeta,
    _src: *mut gst::ffi::GstBuffer,
    type_: glib::ffi::GQuark,
    _data: glib::ffi::gpointer,
) -> glib::ffi::gboolean {
    // GST_META_TRANSFORM_COPY is the quark of "gst-copy".
    let copy = glib::Quark::from_str("gst-copy").into_glib() == type_;
    if !copy {
        return glib::ffi::GFALSE;
    }
    let m = meta.cast::<abi::NvDsMeta>();
    // SAFETY: an initialised NvDsMeta of ours whose user_data is an Arc<Built> (set
    // by `attach`); the clone's count is handed to the new meta.
    unsafe {
        let owner = (*m).user_data.cast::<Built>();
        if owner.is_null() {
            return glib::ffi::GFALSE;
        }
        Arc::increment_strong_count(owner);
        match add(dest, Arc::from_raw(owner)) {
            Ok(()) => glib::ffi::GTRUE,
            Err(_) => glib::ffi::GFALSE,
        }
    }
}

/// Releases one reference on the batch memory (`user_data` is an `Arc<Built>`).
unsafe extern "C" fn release(_meta_data: *mut c_void, user_data: *mut c_void) {
    if !user_data.is_null() {
        // SAFETY: user_data came from Arc::into_raw in `add`.
        drop(unsafe { Arc::from_raw(user_data.cast::<Built>()) });
    }
}

/// # Safety
/// `buffer` is a valid, writable GstBuffer.
unsafe fn add(buffer: *mut gst::ffi::GstBuffer, owner: Arc<Built>) -> Result<(), String> {
    let info = meta_info()?;
    // SAFETY: writable buffer (contract), registered info.
    let meta = unsafe { gst::ffi::gst_buffer_add_meta(buffer, info, std::ptr::null_mut()) };
    if meta.is_null() {
        return Err("gst_buffer_add_meta failed".into());
    }
    let m = meta.cast::<abi::NvDsMeta>();
    // SAFETY: a fresh NvDsMeta of ours (initialised by meta_init).
    unsafe {
        (*m).meta_data = owner.batch.cast();
        (*m).user_data = Arc::into_raw(owner).cast_mut().cast();
        (*m).meta_type = abi::meta_type::NVDS_BATCH_GST_META;
        (*m).freefunc = Some(release);
    }
    Ok(())
}

/// Attaches `built` to `buffer` as an `NvDsMeta` of type `NVDS_BATCH_GST_META`.
pub fn attach(buffer: &mut gst::BufferRef, built: Arc<Built>) -> Result<(), String> {
    // SAFETY: `&mut BufferRef` is a writable buffer.
    unsafe { add(buffer.as_mut_ptr(), built) }
}

/// The GType of the registered API (ours), for tests.
pub fn api_type() -> Option<glib::Type> {
    meta_info().ok()?;
    glib::Type::from_name(abi::NVDS_META_API_NAME)
}
