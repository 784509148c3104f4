//! Read-only typed views of a batch's DeepStream metadata. Everything is read once,
//! checked, and copied into plain Rust values, except strings and mask data, which
//! borrow from the metadata for `'a` (the buffer borrow).

use std::ffi::{c_char, c_void};

use super::abi::{self, BatchMetaRaw, GList, MetaAbi, RectLayout};
use super::{Limits, MetaError};
use crate::color::Color;

/// Frame facts of one `NvDsFrameMeta` (Copy: the probe's `FrameMeta` carries them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameFacts {
    /// Index of the frame in the batch (`NvBufSurface.surfaceList[batch_id]`).
    pub batch_id: u32,
    /// The source (camera, file) the frame came from.
    pub source_id: u32,
    /// Frame number of that source.
    pub frame_num: i32,
    /// nvstreammux sink pad the frame came in on.
    pub pad_index: u32,
    /// PTS of the frame, nanoseconds.
    pub buf_pts: u64,
    /// NTP timestamp (0 when the source gives none).
    pub ntp_timestamp: u64,
    /// Size of the frame at its source (before nvstreammux scaled it).
    pub source_frame_width: u32,
    pub source_frame_height: u32,
    /// nvstreammux output size (0 when unset).
    pub pipeline_width: u32,
    pub pipeline_height: u32,
    /// `num_obj_meta` as DeepStream counts it (the list is what is read).
    pub num_obj_meta: u32,
}

/// A rectangle as nvdsosd reads `NvOSD_RectParams`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OsdRect {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    /// Border width in pixels (0: no border).
    pub border_width: u32,
    pub border_color: Color,
    /// `bg_color` when `has_bg_color` is set.
    pub bg_color: Option<Color>,
    /// Degrees (DeepStream 9.0+ only; cudadraw draws axis-aligned boxes).
    pub rotation: Option<f32>,
}

/// A label as `NvOSD_TextParams` describes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OsdText<'a> {
    pub text: &'a str,
    pub x: u32,
    pub y: u32,
    pub font_name: Option<&'a str>,
    pub font_size: u32,
    pub font_color: Color,
    /// `text_bg_clr` when `set_bg_clr` is set.
    pub bg_color: Option<Color>,
}

/// An instance mask (`NvOSD_MaskParams`): `width * height` probabilities, row
/// major, stretched over the object's rect by nvdsosd; pixels above `threshold` are
/// drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OsdMask<'a> {
    pub data: &'a [f32],
    pub width: u32,
    pub height: u32,
    pub threshold: f32,
}

/// `NvOSD_LineParams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsdLine {
    pub x1: u32,
    pub y1: u32,
    pub x2: u32,
    pub y2: u32,
    pub width: u32,
    pub color: Color,
}

/// Where an arrow has heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrowHead {
    Start,
    End,
    Both,
}

/// `NvOSD_ArrowParams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsdArrow {
    pub x1: u32,
    pub y1: u32,
    pub x2: u32,
    pub y2: u32,
    pub width: u32,
    pub head: ArrowHead,
    pub color: Color,
}

/// `NvOSD_CircleParams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsdCircle {
    pub xc: u32,
    pub yc: u32,
    pub radius: u32,
    pub color: Color,
    pub bg_color: Option<Color>,
    /// Border width (DeepStream 8.0+; `None` before, where the field does not exist).
    pub width: Option<u32>,
}

/// One detected object (`NvDsObjectMeta`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMeta<'a> {
    pub class_id: i32,
    /// Tracker id; `None` for `UNTRACKED_OBJECT_ID`.
    pub object_id: Option<u64>,
    pub unique_component_id: i32,
    pub confidence: f32,
    pub tracker_confidence: f32,
    /// `rect_params`: where and how nvdsosd draws the box.
    pub rect: OsdRect,
    /// `text_params`, when it has a display text.
    pub text: Option<OsdText<'a>>,
    /// `mask_params`, when it has data.
    pub mask: Option<OsdMask<'a>>,
    /// `obj_label`, when not empty.
    pub label: Option<&'a str>,
}

/// One `NvDsDisplayMeta`: what the application asked to draw, `num_*` of each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DisplayMeta<'a> {
    pub rects: Vec<OsdRect>,
    pub texts: Vec<OsdText<'a>>,
    pub lines: Vec<OsdLine>,
    pub arrows: Vec<OsdArrow>,
    pub circles: Vec<OsdCircle>,
}

/// A semantic segmentation (`NvDsInferSegmentationMeta`, a frame user meta).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmentationMeta<'a> {
    pub classes: u32,
    pub width: u32,
    pub height: u32,
    /// Class per pixel (-1: none), `width * height`.
    pub class_map: &'a [i32],
}

/// One frame of the batch with everything attached to it.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMeta<'a> {
    pub facts: FrameFacts,
    pub objects: Vec<ObjectMeta<'a>>,
    pub displays: Vec<DisplayMeta<'a>>,
    pub segmentations: Vec<SegmentationMeta<'a>>,
}

/// How much of the metadata to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Frame facts only (what the probe's `FrameMeta` carries).
    Frames,
    /// Frames, objects, display metas, segmentations.
    Full,
}

/// Collects what was skipped and why (the first [`Issues::KEEP`] reasons).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Issues {
    count: usize,
    reasons: Vec<String>,
}

impl Issues {
    /// Reasons kept (the count goes on).
    pub const KEEP: usize = 8;

    pub(crate) fn push(&mut self, reason: impl FnOnce() -> String) {
        self.count += 1;
        if self.reasons.len() < Self::KEEP {
            self.reasons.push(reason());
        }
    }

    /// Items skipped (or truncated lists, strings left out).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Why, for the first few.
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// A batch's DeepStream metadata, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchMeta<'a> {
    pub(crate) abi: MetaAbi,
    pub(crate) num_frames_in_batch: u32,
    pub(crate) max_frames_in_batch: u32,
    pub(crate) frames: Vec<FrameMeta<'a>>,
    pub(crate) issues: Issues,
}

impl<'a> BatchMeta<'a> {
    /// The layout the metadata was read with.
    pub fn abi(&self) -> MetaAbi {
        self.abi
    }

    /// `num_frames_in_batch` / `max_frames_in_batch` as DeepStream set them.
    pub fn num_frames_in_batch(&self) -> u32 {
        self.num_frames_in_batch
    }

    pub fn max_frames_in_batch(&self) -> u32 {
        self.max_frames_in_batch
    }

    /// Frames in list order (frames with a duplicate `batch_id` are skipped).
    pub fn frames(&self) -> &[FrameMeta<'a>] {
        &self.frames
    }

    /// The frame whose `batch_id` is `index` (the index in the NvBufSurface batch).
    pub fn frame_for(&self, index: usize) -> Option<&FrameMeta<'a>> {
        self.frames
            .iter()
            .find(|f| f.facts.batch_id as usize == index)
    }

    /// What was skipped while reading, and why.
    pub fn issues(&self) -> &Issues {
        &self.issues
    }

    /// Reads the batch meta at `ptr` with layout `abi`.
    ///
    /// # Safety
    /// `ptr` is non-null, aligned, and points at a live `NvDsBatchMeta` of layout
    /// `abi` whose non-null list, struct, string and mask pointers are valid (for the
    /// sizes the header gives them) for `'a`, and not written during `'a`: what
    /// DeepStream guarantees for the metadata of a buffer one holds. Counts, list
    /// lengths, string lengths, UTF-8, alignment and values are checked here.
    pub unsafe fn from_raw(
        ptr: *const BatchMetaRaw,
        abi: MetaAbi,
        depth: Depth,
        limits: &Limits,
    ) -> Result<BatchMeta<'a>, MetaError> {
        if ptr.is_null() {
            return Err(MetaError::Null("NvDsBatchMeta"));
        }
        if !ptr.is_aligned() {
            return Err(MetaError::Invalid {
                abi,
                reason: format!("NvDsBatchMeta at {ptr:p} is misaligned"),
            });
        }
        // SAFETY: non-null and aligned (checked); valid by the caller's contract.
        let batch = unsafe { &*ptr };
        let mut out = BatchMeta {
            abi,
            num_frames_in_batch: batch.num_frames_in_batch,
            max_frames_in_batch: batch.max_frames_in_batch,
            frames: Vec::new(),
            issues: Issues::default(),
        };
        let mut issues = Issues::default();
        let mut frames = Vec::new();
        // SAFETY: list nodes and their data are valid by the contract; the walk is
        // bounded by `max_frames`.
        unsafe {
            walk(
                batch.frame_meta_list,
                limits.max_frames,
                "frame_meta_list",
                &mut issues,
                |data, issues| {
                    if let Some(f) = read_frame(data, abi, depth, limits, issues) {
                        if frames
                            .iter()
                            .any(|g: &FrameMeta<'_>| g.facts.batch_id == f.facts.batch_id)
                        {
                            let id = f.facts.batch_id;
                            issues.push(|| {
                                format!("two frame metas with batch_id {id}: the second is skipped")
                            });
                        } else {
                            frames.push(f);
                        }
                    }
                },
            )
        };
        out.frames = frames;
        out.issues = issues;
        Ok(out)
    }
}

/// Walks a GList of at most `limit` nodes, calling `f` on each non-null `data`. A
/// longer list (or a cycle) stops at `limit` with an issue: the walk is O(limit).
///
/// # Safety
/// Every node reachable within `limit` steps is null or a valid, aligned `GList`.
unsafe fn walk(
    mut node: *const GList,
    limit: usize,
    what: &str,
    issues: &mut Issues,
    mut f: impl FnMut(*const c_void, &mut Issues),
) {
    let mut n = 0usize;
    while !node.is_null() {
        if n == limit {
            issues.push(|| {
                format!("{what} has more than {limit} entries (or a cycle): the rest is ignored")
            });
            return;
        }
        if !node.is_aligned() {
            issues.push(|| format!("{what}: misaligned list node {node:p}: the rest is ignored"));
            return;
        }
        // SAFETY: non-null and aligned (checked), valid by the contract.
        let l = unsafe { &*node };
        if l.data.is_null() {
            issues.push(|| format!("{what}: entry {n} is null: skipped"));
        } else {
            f(l.data, issues);
        }
        node = l.next;
        n += 1;
    }
}

/// A straight colour from `NvOSD_ColorParams` (components clamped to 0..=1, NaN 0).
pub fn color(c: &abi::ColorParams) -> Color {
    fn u(v: f64) -> u8 {
        if v.is_nan() {
            0
        } else {
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }
    }
    Color::rgba(u(c.red), u(c.green), u(c.blue), u(c.alpha))
}

/// A C string of at most `max` bytes before its NUL, as UTF-8.
///
/// # Safety
/// `p` is null or readable up to its NUL or `max` bytes, whichever comes first.
unsafe fn c_str<'a>(p: *const c_char, max: usize) -> Result<Option<&'a str>, String> {
    if p.is_null() {
        return Ok(None);
    }
    let mut len = 0;
    // SAFETY: reads stay within the first `max` bytes (contract).
    while len < max && unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    if len == max {
        return Err(format!("string at {p:p} has no NUL within {max} bytes"));
    }
    // SAFETY: the `len` bytes before the NUL were just read.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(bytes)
        .map(|s| (!s.is_empty()).then_some(s))
        .map_err(|e| format!("string at {p:p} is not UTF-8 ({e})"))
}

/// The inline `obj_label` (NUL within the array, UTF-8).
fn label(arr: &[c_char; abi::MAX_LABEL_SIZE]) -> Result<Option<&str>, String> {
    // SAFETY: c_char and u8 have the same size and alignment.
    let bytes: &[u8] = unsafe { std::slice::from_raw_parts(arr.as_ptr().cast(), arr.len()) };
    let len = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("obj_label has no NUL within {} bytes", abi::MAX_LABEL_SIZE))?;
    std::str::from_utf8(&bytes[..len])
        .map(|s| (!s.is_empty()).then_some(s))
        .map_err(|e| format!("obj_label is not UTF-8 ({e})"))
}

fn rect<R: RectLayout>(r: &R) -> Result<OsdRect, String> {
    let c = r.common();
    let v = [c.left, c.top, c.width, c.height];
    if v.iter().any(|x| !x.is_finite()) {
        return Err(format!("rect {v:?} is not finite"));
    }
    if c.width < 0.0 || c.height < 0.0 {
        return Err(format!("rect {v:?} has a negative size"));
    }
    Ok(OsdRect {
        left: c.left,
        top: c.top,
        width: c.width,
        height: c.height,
        border_width: c.border_width,
        border_color: color(&c.border_color),
        bg_color: (c.has_bg_color != 0).then(|| color(&c.bg_color)),
        rotation: r.rotation().filter(|a| a.is_finite() && *a != 0.0),
    })
}

/// # Safety
/// `t`'s string pointers are null or readable as [`c_str`] requires.
unsafe fn text<'a>(t: &abi::TextParams, limits: &Limits) -> Result<Option<OsdText<'a>>, String> {
    // SAFETY: forwarded contract.
    let Some(s) = (unsafe { c_str(t.display_text, limits.max_text_bytes) })? else {
        return Ok(None);
    };
    // A bad font name only loses the font, not the label.
    // SAFETY: forwarded contract.
    let font_name = unsafe { c_str(t.font_params.font_name, 256) }
        .ok()
        .flatten();
    Ok(Some(OsdText {
        text: s,
        x: t.x_offset,
        y: t.y_offset,
        font_name,
        font_size: t.font_params.font_size,
        font_color: color(&t.font_params.font_color),
        bg_color: (t.set_bg_clr != 0).then(|| color(&t.text_bg_clr)),
    }))
}

/// # Safety
/// `m.data` is null or valid for `m.size` bytes.
unsafe fn mask<'a>(m: &abi::MaskParams, limits: &Limits) -> Result<Option<OsdMask<'a>>, String> {
    if m.data.is_null() || m.width == 0 || m.height == 0 {
        return Ok(None);
    }
    let n = m.width as usize * m.height as usize;
    if m.width > limits.max_mask_side || m.height > limits.max_mask_side {
        return Err(format!(
            "mask {}x{} is larger than {} on a side",
            m.width, m.height, limits.max_mask_side
        ));
    }
    if (m.size as usize) < n * 4 {
        return Err(format!(
            "mask {}x{} needs {} bytes, size says {}",
            m.width,
            m.height,
            n * 4,
            m.size
        ));
    }
    if !m.data.is_aligned() {
        return Err("mask data is misaligned".into());
    }
    if !m.threshold.is_finite() {
        return Err(format!("mask threshold {} is not finite", m.threshold));
    }
    // SAFETY: non-null, aligned, `size >= 4n` bytes valid by the contract.
    let data = unsafe { std::slice::from_raw_parts(m.data, n) };
    Ok(Some(OsdMask {
        data,
        width: m.width,
        height: m.height,
        threshold: m.threshold,
    }))
}

/// # Safety
/// `data` points at a frame meta of layout `abi`, valid as in [`BatchMeta::from_raw`].
unsafe fn read_frame<'a>(
    data: *const c_void,
    abi: MetaAbi,
    depth: Depth,
    limits: &Limits,
    issues: &mut Issues,
) -> Option<FrameMeta<'a>> {
    if !data.cast::<abi::FrameMetaV6>().is_aligned() {
        issues.push(|| format!("frame meta at {data:p} is misaligned: skipped"));
        return None;
    }
    // SAFETY: the fields read are at the same offsets in both frame layouts (tests in
    // abi.rs), and the V6 struct is the shorter one: no byte past either is read.
    let f = unsafe { &*data.cast::<abi::FrameMetaV6>() };
    let facts = FrameFacts {
        batch_id: f.batch_id,
        source_id: f.source_id,
        frame_num: f.frame_num,
        pad_index: f.pad_index,
        buf_pts: f.buf_pts,
        ntp_timestamp: f.ntp_timestamp,
        source_frame_width: f.source_frame_width,
        source_frame_height: f.source_frame_height,
        pipeline_width: f.pipeline_width,
        pipeline_height: f.pipeline_height,
        num_obj_meta: f.num_obj_meta,
    };
    let mut frame = FrameMeta {
        facts,
        objects: Vec::new(),
        displays: Vec::new(),
        segmentations: Vec::new(),
    };
    if depth == Depth::Frames {
        return Some(frame);
    }
    let id = facts.batch_id;
    let mut objects = Vec::new();
    let mut displays = Vec::new();
    let mut segs = Vec::new();
    // SAFETY (three walks): nodes and data valid by the contract; bounded walks.
    unsafe {
        walk(
            f.obj_meta_list,
            limits.max_objects_per_frame,
            "obj_meta_list",
            issues,
            |d, issues| {
                let r = match abi {
                    MetaAbi::Ds9 => read_object::<abi::RectParamsV9>(d, limits),
                    _ => read_object::<abi::RectParamsV6>(d, limits),
                };
                match r {
                    Ok((o, left_out)) => {
                        for why in left_out {
                            issues.push(|| format!("frame {id}, object {}: {why}", objects.len()));
                        }
                        objects.push(o);
                    }
                    Err(why) => issues.push(|| format!("frame {id}: object skipped: {why}")),
                }
            },
        );
        walk(
            f.display_meta_list,
            limits.max_display_metas_per_frame,
            "display_meta_list",
            issues,
            |d, issues| {
                let dm = match abi {
                    MetaAbi::Ds9 => read_display::<abi::RectParamsV9>(d, abi, limits, id, issues),
                    _ => read_display::<abi::RectParamsV6>(d, abi, limits, id, issues),
                };
                if let Some(dm) = dm {
                    displays.push(dm);
                }
            },
        );
        walk(
            f.frame_user_meta_list,
            limits.max_user_metas_per_frame,
            "frame_user_meta_list",
            issues,
            |d, issues| match read_segmentation(d, limits) {
                Ok(Some(s)) => segs.push(s),
                Ok(None) => {}
                Err(why) => issues.push(|| format!("frame {id}: segmentation meta skipped: {why}")),
            },
        );
    }
    frame.objects = objects;
    frame.displays = displays;
    frame.segmentations = segs;
    Some(frame)
}

/// An object, and why its text was left out if it was.
///
/// # Safety
/// `d` points at an object meta with rect layout `R`, valid as in [`BatchMeta::from_raw`].
unsafe fn read_object<'a, R: RectLayout>(
    d: *const c_void,
    limits: &Limits,
) -> Result<(ObjectMeta<'a>, Vec<String>), String> {
    let p = d.cast::<abi::ObjectMetaRaw<R>>();
    if !p.is_aligned() {
        return Err(format!("object meta at {d:p} is misaligned"));
    }
    // SAFETY: aligned (checked), valid by the contract.
    let o = unsafe { &*p };
    let rect = rect(&o.rect_params)?;
    let mut left_out = Vec::new();
    // SAFETY: string pointers valid by the contract.
    let text = unsafe { text(&o.text_params, limits) }.unwrap_or_else(|e| {
        left_out.push(format!("text left out: {e}"));
        None
    });
    // SAFETY: mask data valid by the contract.
    let mask = unsafe { mask(&o.mask_params, limits) }.unwrap_or_else(|e| {
        left_out.push(format!("mask left out: {e}"));
        None
    });
    let label = label(&o.obj_label).unwrap_or_else(|e| {
        left_out.push(format!("label left out: {e}"));
        None
    });
    Ok((
        ObjectMeta {
            class_id: o.class_id,
            object_id: (o.object_id != abi::UNTRACKED_OBJECT_ID).then_some(o.object_id),
            unique_component_id: o.unique_component_id,
            confidence: o.confidence,
            tracker_confidence: o.tracker_confidence,
            rect,
            text,
            mask,
            label,
        },
        left_out,
    ))
}

/// Clamps a display meta count to the array size, with an issue when it is past it.
fn count(n: u32, what: &str, frame: u32, issues: &mut Issues) -> usize {
    let max = abi::MAX_ELEMENTS_IN_DISPLAY_META;
    if n as usize > max {
        issues.push(|| {
            format!("frame {frame}: display meta {what} = {n}, past the array size {max}: the first {max} are read")
        });
        max
    } else {
        n as usize
    }
}

/// # Safety
/// `d` points at a display meta with rect layout `R`, valid as in [`BatchMeta::from_raw`].
unsafe fn read_display<'a, R: RectLayout>(
    d: *const c_void,
    abi: MetaAbi,
    limits: &Limits,
    frame: u32,
    issues: &mut Issues,
) -> Option<DisplayMeta<'a>> {
    let p = d.cast::<abi::DisplayMetaRaw<R>>();
    if !p.is_aligned() {
        issues.push(|| format!("frame {frame}: display meta at {d:p} is misaligned: skipped"));
        return None;
    }
    // SAFETY: aligned (checked), valid by the contract.
    let m = unsafe { &*p };
    let mut out = DisplayMeta::default();
    for r in &m.rect_params[..count(m.num_rects, "num_rects", frame, issues)] {
        match rect(r) {
            Ok(r) => out.rects.push(r),
            Err(why) => issues.push(|| format!("frame {frame}: display rect skipped: {why}")),
        }
    }
    for t in &m.text_params[..count(m.num_labels, "num_labels", frame, issues)] {
        // SAFETY: string pointers valid by the contract.
        match unsafe { text(t, limits) } {
            Ok(Some(t)) => out.texts.push(t),
            Ok(None) => {}
            Err(why) => issues.push(|| format!("frame {frame}: display text skipped: {why}")),
        }
    }
    for l in &m.line_params[..count(m.num_lines, "num_lines", frame, issues)] {
        out.lines.push(OsdLine {
            x1: l.x1,
            y1: l.y1,
            x2: l.x2,
            y2: l.y2,
            width: l.line_width,
            color: color(&l.line_color),
        });
    }
    for a in &m.arrow_params[..count(m.num_arrows, "num_arrows", frame, issues)] {
        let head = match a.arrow_head {
            0 => ArrowHead::Start,
            1 => ArrowHead::End,
            2 => ArrowHead::Both,
            other => {
                issues.push(|| format!("frame {frame}: arrow with head {other}: skipped"));
                continue;
            }
        };
        out.arrows.push(OsdArrow {
            x1: a.x1,
            y1: a.y1,
            x2: a.x2,
            y2: a.y2,
            width: a.arrow_width,
            head,
            color: color(&a.arrow_color),
        });
    }
    for c in &m.circle_params[..count(m.num_circles, "num_circles", frame, issues)] {
        out.circles.push(OsdCircle {
            xc: c.xc,
            yc: c.yc,
            radius: c.radius,
            color: color(&c.circle_color),
            bg_color: (c.has_bg_color != 0).then(|| color(&c.bg_color)),
            width: abi.has_circle_width().then_some(c.circle_width),
        });
    }
    Some(out)
}

/// A segmentation meta, if this user meta is one.
///
/// # Safety
/// `d` points at an `NvDsUserMeta` valid as in [`BatchMeta::from_raw`]; if its type is
/// `NVDSINFER_SEGMENTATION_META`, its data is an `NvDsInferSegmentationMeta` whose
/// `class_map` holds `width * height` ints.
unsafe fn read_segmentation<'a>(
    d: *const c_void,
    limits: &Limits,
) -> Result<Option<SegmentationMeta<'a>>, String> {
    let p = d.cast::<abi::UserMeta>();
    if !p.is_aligned() {
        return Err(format!("user meta at {d:p} is misaligned"));
    }
    // SAFETY: aligned (checked), valid by the contract.
    let u = unsafe { &*p };
    if u.base_meta.meta_type != abi::meta_type::NVDSINFER_SEGMENTATION_META {
        return Ok(None);
    }
    let s = u.user_meta_data.cast::<abi::SegmentationMeta>();
    if s.is_null() {
        return Err("null user_meta_data".into());
    }
    if !s.is_aligned() {
        return Err("misaligned user_meta_data".into());
    }
    // SAFETY: aligned, non-null (checked), valid by the contract.
    let s = unsafe { &*s };
    if s.width > limits.max_mask_side || s.height > limits.max_mask_side {
        return Err(format!(
            "{}x{} is larger than {} on a side",
            s.width, s.height, limits.max_mask_side
        ));
    }
    if s.class_map.is_null() || !s.class_map.is_aligned() {
        return Err("null or misaligned class_map".into());
    }
    let n = s.width as usize * s.height as usize;
    // SAFETY: non-null, aligned, width * height ints by the contract.
    let class_map = unsafe { std::slice::from_raw_parts(s.class_map, n) };
    Ok(Some(SegmentationMeta {
        classes: s.classes,
        width: s.width,
        height: s.height,
        class_map,
    }))
}
