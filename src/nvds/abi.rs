//! The binary layouts of DeepStream's metadata structs (`nvdsmeta.h`,
//! `gstnvdsmeta.h`, `nvll_osd_struct.h`, `gstnvdsinfer.h`), LP64, for every layout
//! that differs between DeepStream 6.0 and 9.x. Field order, types and array sizes
//! were derived from public copies of the headers (docs/deepstream-meta.md names
//! them); every size and offset is pinned by the tests below, and checked against
//! installed headers when `DEEPSTREAM_DIR` has them (`deepstream_headers`).
//!
//! What differs, for the fields cudadraw reads:
//! - `NvOSD_RectParams`: 104 bytes up to 8.x, 112 from 9.0 (`rotation_angle`). It is
//!   embedded in `NvDsObjectMeta` (so `mask_params`, `text_params`, `obj_label` move by
//!   8 bytes) and is the first array of `NvDsDisplayMeta` (everything after it moves).
//! - `NvDsFrameMeta`: 200 bytes up to 7.x (a version we could not find a header copy
//!   of, see the docs page), 232 from 8.0 (`sensorInfo_meta` before `reserved`); the
//!   fields cudadraw reads do not move.
//! - `NvOSD_CircleParams`: the same 96 bytes, but from 8.0 offset 88 is
//!   `circle_width` (before: `reserved`, then padding).
//!
//! These structs are only ever read through pointers DeepStream (or the synthetic
//! producer) hands out; they are `Copy`-free on purpose so nothing copies a C struct
//! by accident.

use std::ffi::{c_char, c_void};

/// `MAX_ELEMENTS_IN_DISPLAY_META` (all versions 4.0 to 9.x).
pub const MAX_ELEMENTS_IN_DISPLAY_META: usize = 16;
/// `MAX_LABEL_SIZE` (all versions).
pub const MAX_LABEL_SIZE: usize = 128;
/// `MAX_USER_FIELDS` (all versions).
pub const MAX_USER_FIELDS: usize = 4;
/// `MAX_RESERVED_FIELDS` (all versions).
pub const MAX_RESERVED_FIELDS: usize = 4;
/// `UNTRACKED_OBJECT_ID`.
pub const UNTRACKED_OBJECT_ID: u64 = u64::MAX;

/// `NvDsMetaType` values used here (unchanged from 5.0 to 9.x: later entries were
/// appended after them).
pub mod meta_type {
    pub const NVDS_BATCH_META: i32 = 1;
    pub const NVDS_FRAME_META: i32 = 2;
    pub const NVDS_OBJ_META: i32 = 3;
    pub const NVDS_DISPLAY_META: i32 = 4;
    pub const NVDS_USER_META: i32 = 7;
    pub const NVDSINFER_SEGMENTATION_META: i32 = 13;
    /// `GstNvDsMetaType::NVDS_BATCH_GST_META` = `NVDS_GST_CUSTOM_META + 1`.
    pub const NVDS_BATCH_GST_META: i32 = 4097;
}

/// The name DeepStream registers its GstMeta API under (`nvds_meta_api_get_type`),
/// its tag (`NVDS_META_STRING`) and the meta's name (`nvds_meta_get_info`).
pub const NVDS_META_API_NAME: &str = "NvDsMetaAPI";
pub const NVDS_META_TAG: &str = "nvdsmeta";
pub const NVDS_META_INFO_NAME: &str = "NvDsMeta";

/// Which layout a batch's metadata has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetaAbi {
    /// DeepStream 6.0 - 7.x: rect params 104 bytes, frame meta 200, no circle width.
    Ds6To7,
    /// DeepStream 8.x: rect params 104 bytes, frame meta 232, circle width.
    Ds8,
    /// DeepStream 9.0+: rect params 112 bytes (`rotation_angle`), frame meta 232.
    Ds9,
}

impl std::fmt::Display for MetaAbi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetaAbi::Ds6To7 => "DeepStream 6.0-7.x metadata layout",
            MetaAbi::Ds8 => "DeepStream 8.x metadata layout",
            MetaAbi::Ds9 => "DeepStream 9.0+ metadata layout",
        })
    }
}

impl MetaAbi {
    pub const ALL: [MetaAbi; 3] = [MetaAbi::Ds6To7, MetaAbi::Ds8, MetaAbi::Ds9];

    /// The layout of DeepStream `major.minor`; `None` before 6.0 (not supported).
    pub fn for_version(major: u32, _minor: u32) -> Option<MetaAbi> {
        match major {
            6 | 7 => Some(MetaAbi::Ds6To7),
            8 => Some(MetaAbi::Ds8),
            9.. => Some(MetaAbi::Ds9),
            _ => None,
        }
    }

    /// Parses `ds6to7` / `ds8` / `ds9` or a version such as `7.1`.
    pub fn parse(text: &str) -> Option<MetaAbi> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "ds6to7" | "ds6" | "ds7" => return Some(MetaAbi::Ds6To7),
            "ds8" => return Some(MetaAbi::Ds8),
            "ds9" => return Some(MetaAbi::Ds9),
            _ => {}
        }
        let mut parts = t.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
        MetaAbi::for_version(major, minor)
    }

    pub fn rect_params_size(self) -> usize {
        match self {
            MetaAbi::Ds6To7 | MetaAbi::Ds8 => size_of::<RectParamsV6>(),
            MetaAbi::Ds9 => size_of::<RectParamsV9>(),
        }
    }

    pub fn frame_meta_size(self) -> usize {
        match self {
            MetaAbi::Ds6To7 => size_of::<FrameMetaV6>(),
            MetaAbi::Ds8 | MetaAbi::Ds9 => size_of::<FrameMetaV8>(),
        }
    }

    pub fn object_meta_size(self) -> usize {
        match self {
            MetaAbi::Ds6To7 | MetaAbi::Ds8 => size_of::<ObjectMetaV6>(),
            MetaAbi::Ds9 => size_of::<ObjectMetaV9>(),
        }
    }

    pub fn display_meta_size(self) -> usize {
        match self {
            MetaAbi::Ds6To7 | MetaAbi::Ds8 => size_of::<DisplayMetaV6>(),
            MetaAbi::Ds9 => size_of::<DisplayMetaV9>(),
        }
    }

    /// Whether `NvOSD_CircleParams` has `circle_width` (8.0+).
    pub fn has_circle_width(self) -> bool {
        !matches!(self, MetaAbi::Ds6To7)
    }
}

/// `GList` (glib): `data`, `next`, `prev`.
#[repr(C)]
pub struct GList {
    pub data: *mut c_void,
    pub next: *mut GList,
    pub prev: *mut GList,
}

/// `GRecMutex` (glib): `gpointer p; guint i[2];` (opaque here).
#[repr(C)]
pub struct GRecMutex {
    pub p: *mut c_void,
    pub i: [u32; 2],
}

/// `GstMeta`: `flags`, `info`.
#[repr(C)]
pub struct GstMetaRaw {
    pub flags: u32,
    pub info: *const c_void,
}

pub type MetaCopyFunc = Option<unsafe extern "C" fn(*mut c_void, *mut c_void) -> *mut c_void>;
pub type MetaReleaseFunc = Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>;

/// `NvDsMeta` (gstnvdsmeta.h), the GstMeta DeepStream attaches: 72 bytes.
#[repr(C)]
pub struct NvDsMeta {
    pub meta: GstMetaRaw,
    pub meta_data: *mut c_void,
    pub user_data: *mut c_void,
    pub meta_type: i32,
    pub copyfunc: MetaCopyFunc,
    pub freefunc: MetaReleaseFunc,
    pub gst_to_nvds_meta_transform_func: MetaCopyFunc,
    pub gst_to_nvds_meta_release_func: MetaReleaseFunc,
}

/// `NvDsMetaPool`: 56 bytes. `element_size` holds the size of one element.
#[repr(C)]
pub struct MetaPool {
    pub meta_type: i32,
    pub max_elements_in_pool: u32,
    pub element_size: u32,
    pub num_empty_elements: u32,
    pub num_full_elements: u32,
    pub empty_list: *mut GList,
    pub full_list: *mut GList,
    pub copy_func: MetaCopyFunc,
    pub release_func: MetaReleaseFunc,
}

/// `NvDsBaseMeta`: 40 bytes.
#[repr(C)]
pub struct BaseMeta {
    pub batch_meta: *mut BatchMetaRaw,
    pub meta_type: i32,
    pub u_context: *mut c_void,
    pub copy_func: MetaCopyFunc,
    pub release_func: MetaReleaseFunc,
}

/// `NvDsBatchMeta`: 192 bytes, all versions 6.0 - 9.x.
#[repr(C)]
pub struct BatchMetaRaw {
    pub base_meta: BaseMeta,
    pub max_frames_in_batch: u32,
    pub num_frames_in_batch: u32,
    pub frame_meta_pool: *mut MetaPool,
    pub obj_meta_pool: *mut MetaPool,
    pub classifier_meta_pool: *mut MetaPool,
    pub display_meta_pool: *mut MetaPool,
    pub user_meta_pool: *mut MetaPool,
    pub label_info_meta_pool: *mut MetaPool,
    pub frame_meta_list: *mut GList,
    pub batch_user_meta_list: *mut GList,
    pub meta_mutex: GRecMutex,
    pub misc_batch_info: [i64; MAX_USER_FIELDS],
    pub reserved: [i64; MAX_RESERVED_FIELDS],
}

/// `NvDsSensorInfo_meta` (8.0+): 32 bytes.
#[repr(C)]
pub struct SensorInfo {
    pub source_id: u32,
    pub uri: *const c_char,
    pub sensor_id: *const c_char,
    pub sensor_name: *const c_char,
}

/// `NvDsFrameMeta` with the tail of one version (`T`): the fields before the tail
/// are at the same offsets in 6.0 - 9.x.
#[repr(C)]
pub struct FrameMetaRaw<T> {
    pub base_meta: BaseMeta,
    pub pad_index: u32,
    pub batch_id: u32,
    pub frame_num: i32,
    pub buf_pts: u64,
    pub ntp_timestamp: u64,
    pub source_id: u32,
    pub num_surfaces_per_frame: i32,
    pub source_frame_width: u32,
    pub source_frame_height: u32,
    pub surface_type: u32,
    pub surface_index: u32,
    pub num_obj_meta: u32,
    pub b_infer_done: i32,
    pub obj_meta_list: *mut GList,
    pub display_meta_list: *mut GList,
    pub frame_user_meta_list: *mut GList,
    pub misc_frame_info: [i64; MAX_USER_FIELDS],
    pub pipeline_width: u32,
    pub pipeline_height: u32,
    pub tail: T,
}

/// The 8.0+ tail of `NvDsFrameMeta`.
#[repr(C)]
pub struct FrameTailV8 {
    pub sensor_info_meta: SensorInfo,
    pub reserved: [i64; MAX_RESERVED_FIELDS],
}

/// `NvDsFrameMeta` of 6.0 - 7.x: 200 bytes.
pub type FrameMetaV6 = FrameMetaRaw<[i64; MAX_RESERVED_FIELDS]>;
/// `NvDsFrameMeta` of 8.0+: 232 bytes.
pub type FrameMetaV8 = FrameMetaRaw<FrameTailV8>;

/// `NvOSD_ColorParams`: four doubles in 0..=1.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ColorParams {
    pub red: f64,
    pub green: f64,
    pub blue: f64,
    pub alpha: f64,
}

/// `NvOSD_FontParams`: 48 bytes.
#[repr(C)]
pub struct FontParams {
    pub font_name: *mut c_char,
    pub font_size: u32,
    pub font_color: ColorParams,
}

/// `NvOSD_TextParams`: 104 bytes, all versions.
#[repr(C)]
pub struct TextParams {
    pub display_text: *mut c_char,
    pub x_offset: u32,
    pub y_offset: u32,
    pub font_params: FontParams,
    pub set_bg_clr: i32,
    pub text_bg_clr: ColorParams,
}

/// The `NvOSD_RectParams` fields common to every version (the first 104 bytes).
#[repr(C)]
pub struct RectParamsV6 {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    pub border_width: u32,
    pub border_color: ColorParams,
    pub has_bg_color: u32,
    pub reserved: u32,
    pub bg_color: ColorParams,
    pub has_color_info: i32,
    pub color_id: i32,
}

/// `NvOSD_RectParams` of 9.0+: 112 bytes.
#[repr(C)]
pub struct RectParamsV9 {
    pub common: RectParamsV6,
    pub rotation_angle: f32,
}

/// Access to the common part of either rect layout.
pub trait RectLayout {
    fn common(&self) -> &RectParamsV6;
    fn common_mut(&mut self) -> &mut RectParamsV6;
    /// Degrees, 9.0+ only.
    fn rotation(&self) -> Option<f32>;
}

impl RectLayout for RectParamsV6 {
    fn common(&self) -> &RectParamsV6 {
        self
    }
    fn common_mut(&mut self) -> &mut RectParamsV6 {
        self
    }
    fn rotation(&self) -> Option<f32> {
        None
    }
}

impl RectLayout for RectParamsV9 {
    fn common(&self) -> &RectParamsV6 {
        &self.common
    }
    fn common_mut(&mut self) -> &mut RectParamsV6 {
        &mut self.common
    }
    fn rotation(&self) -> Option<f32> {
        Some(self.rotation_angle)
    }
}

/// `NvOSD_LineParams`: 56 bytes.
#[repr(C)]
pub struct LineParams {
    pub x1: u32,
    pub y1: u32,
    pub x2: u32,
    pub y2: u32,
    pub line_width: u32,
    pub line_color: ColorParams,
}

/// `NvOSD_ArrowParams`: 64 bytes. `arrow_head`: 0 start, 1 end, 2 both.
#[repr(C)]
pub struct ArrowParams {
    pub x1: u32,
    pub y1: u32,
    pub x2: u32,
    pub y2: u32,
    pub arrow_width: u32,
    pub arrow_head: i32,
    pub arrow_color: ColorParams,
    pub reserved: u32,
}

/// `NvOSD_CircleParams`: 96 bytes. Before 8.0, `circle_width` is `reserved` and
/// `reserved` is padding (read only with [`MetaAbi::has_circle_width`]).
#[repr(C)]
pub struct CircleParams {
    pub xc: u32,
    pub yc: u32,
    pub radius: u32,
    pub circle_color: ColorParams,
    pub has_bg_color: u32,
    pub bg_color: ColorParams,
    pub circle_width: u32,
    pub reserved: u32,
}

/// `NvOSD_MaskParams`: 24 bytes; `data` holds `width * height` floats (`size` bytes).
#[repr(C)]
pub struct MaskParams {
    pub data: *mut f32,
    pub size: u32,
    pub threshold: f32,
    pub width: u32,
    pub height: u32,
}

/// `NvBbox_Coords` (and `NvDsComp_BboxInfo`, its only member): 16 bytes.
#[repr(C)]
pub struct BboxCoords {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// `NvDsObjectMeta` with rect params `R`.
#[repr(C)]
pub struct ObjectMetaRaw<R> {
    pub base_meta: BaseMeta,
    pub parent: *mut c_void,
    pub unique_component_id: i32,
    pub class_id: i32,
    pub object_id: u64,
    pub detector_bbox_info: BboxCoords,
    pub tracker_bbox_info: BboxCoords,
    pub confidence: f32,
    pub tracker_confidence: f32,
    pub rect_params: R,
    pub mask_params: MaskParams,
    pub text_params: TextParams,
    pub obj_label: [c_char; MAX_LABEL_SIZE],
    pub classifier_meta_list: *mut GList,
    pub obj_user_meta_list: *mut GList,
    pub misc_obj_info: [i64; MAX_USER_FIELDS],
    pub reserved: [i64; MAX_RESERVED_FIELDS],
}

/// `NvDsObjectMeta` of 6.0 - 8.x: 544 bytes.
pub type ObjectMetaV6 = ObjectMetaRaw<RectParamsV6>;
/// `NvDsObjectMeta` of 9.0+: 552 bytes.
pub type ObjectMetaV9 = ObjectMetaRaw<RectParamsV9>;

/// `NvDsDisplayMeta` with rect params `R`.
#[repr(C)]
pub struct DisplayMetaRaw<R> {
    pub base_meta: BaseMeta,
    pub num_rects: u32,
    pub num_labels: u32,
    pub num_lines: u32,
    pub num_arrows: u32,
    pub num_circles: u32,
    pub rect_params: [R; MAX_ELEMENTS_IN_DISPLAY_META],
    pub text_params: [TextParams; MAX_ELEMENTS_IN_DISPLAY_META],
    pub line_params: [LineParams; MAX_ELEMENTS_IN_DISPLAY_META],
    pub arrow_params: [ArrowParams; MAX_ELEMENTS_IN_DISPLAY_META],
    pub circle_params: [CircleParams; MAX_ELEMENTS_IN_DISPLAY_META],
    pub misc_osd_data: [i64; MAX_USER_FIELDS],
    pub reserved: [i64; MAX_RESERVED_FIELDS],
}

/// `NvDsDisplayMeta` of 6.0 - 8.x: 6912 bytes.
pub type DisplayMetaV6 = DisplayMetaRaw<RectParamsV6>;
/// `NvDsDisplayMeta` of 9.0+: 7040 bytes.
pub type DisplayMetaV9 = DisplayMetaRaw<RectParamsV9>;

/// `NvDsUserMeta`: 48 bytes.
#[repr(C)]
pub struct UserMeta {
    pub base_meta: BaseMeta,
    pub user_meta_data: *mut c_void,
}

/// `NvDsInferSegmentationMeta` (gstnvdsinfer.h): 48 bytes from 6.2 (`unique_id`), 40
/// before; the fields read here are at the same offsets.
#[repr(C)]
pub struct SegmentationMeta {
    pub classes: u32,
    pub width: u32,
    pub height: u32,
    pub class_map: *mut i32,
    pub class_probabilities_map: *mut f32,
    pub priv_data: *mut c_void,
    pub unique_id: i32,
}

#[cfg(test)]
mod tests {
    //! Sizes and offsets as the public headers give them (gdb `ptype /o` of objects
    //! compiled against each version's headers, see docs/deepstream-meta.md).
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn common_structs_all_versions() {
        assert_eq!(size_of::<GList>(), 24);
        assert_eq!(size_of::<NvDsMeta>(), 72);
        assert_eq!(offset_of!(NvDsMeta, meta_data), 16);
        assert_eq!(offset_of!(NvDsMeta, user_data), 24);
        assert_eq!(offset_of!(NvDsMeta, meta_type), 32);
        assert_eq!(offset_of!(NvDsMeta, copyfunc), 40);
        assert_eq!(offset_of!(NvDsMeta, freefunc), 48);
        assert_eq!(offset_of!(NvDsMeta, gst_to_nvds_meta_release_func), 64);
        assert_eq!(size_of::<MetaPool>(), 56);
        assert_eq!(offset_of!(MetaPool, element_size), 8);
        assert_eq!(offset_of!(MetaPool, empty_list), 24);
        assert_eq!(offset_of!(MetaPool, release_func), 48);
        assert_eq!(size_of::<BaseMeta>(), 40);
        assert_eq!(offset_of!(BaseMeta, meta_type), 8);
        assert_eq!(offset_of!(BaseMeta, u_context), 16);
        assert_eq!(offset_of!(BaseMeta, release_func), 32);
        assert_eq!(size_of::<BatchMetaRaw>(), 192);
        assert_eq!(offset_of!(BatchMetaRaw, max_frames_in_batch), 40);
        assert_eq!(offset_of!(BatchMetaRaw, num_frames_in_batch), 44);
        assert_eq!(offset_of!(BatchMetaRaw, frame_meta_pool), 48);
        assert_eq!(offset_of!(BatchMetaRaw, obj_meta_pool), 56);
        assert_eq!(offset_of!(BatchMetaRaw, display_meta_pool), 72);
        assert_eq!(offset_of!(BatchMetaRaw, label_info_meta_pool), 88);
        assert_eq!(offset_of!(BatchMetaRaw, frame_meta_list), 96);
        assert_eq!(offset_of!(BatchMetaRaw, batch_user_meta_list), 104);
        assert_eq!(offset_of!(BatchMetaRaw, meta_mutex), 112);
        assert_eq!(offset_of!(BatchMetaRaw, misc_batch_info), 128);
        assert_eq!(offset_of!(BatchMetaRaw, reserved), 160);
        assert_eq!(size_of::<ColorParams>(), 32);
        assert_eq!(size_of::<FontParams>(), 48);
        assert_eq!(offset_of!(FontParams, font_size), 8);
        assert_eq!(offset_of!(FontParams, font_color), 16);
        assert_eq!(size_of::<TextParams>(), 104);
        assert_eq!(offset_of!(TextParams, x_offset), 8);
        assert_eq!(offset_of!(TextParams, y_offset), 12);
        assert_eq!(offset_of!(TextParams, font_params), 16);
        assert_eq!(offset_of!(TextParams, set_bg_clr), 64);
        assert_eq!(offset_of!(TextParams, text_bg_clr), 72);
        assert_eq!(size_of::<LineParams>(), 56);
        assert_eq!(offset_of!(LineParams, line_width), 16);
        assert_eq!(offset_of!(LineParams, line_color), 24);
        assert_eq!(size_of::<ArrowParams>(), 64);
        assert_eq!(offset_of!(ArrowParams, arrow_head), 20);
        assert_eq!(offset_of!(ArrowParams, arrow_color), 24);
        assert_eq!(offset_of!(ArrowParams, reserved), 56);
        assert_eq!(size_of::<CircleParams>(), 96);
        assert_eq!(offset_of!(CircleParams, circle_color), 16);
        assert_eq!(offset_of!(CircleParams, has_bg_color), 48);
        assert_eq!(offset_of!(CircleParams, bg_color), 56);
        assert_eq!(offset_of!(CircleParams, circle_width), 88);
        assert_eq!(offset_of!(CircleParams, reserved), 92);
        assert_eq!(size_of::<MaskParams>(), 24);
        assert_eq!(offset_of!(MaskParams, size), 8);
        assert_eq!(offset_of!(MaskParams, threshold), 12);
        assert_eq!(offset_of!(MaskParams, width), 16);
        assert_eq!(offset_of!(MaskParams, height), 20);
        assert_eq!(size_of::<BboxCoords>(), 16);
        assert_eq!(size_of::<UserMeta>(), 48);
        assert_eq!(offset_of!(UserMeta, user_meta_data), 40);
        assert_eq!(size_of::<SensorInfo>(), 32);
        assert_eq!(size_of::<SegmentationMeta>(), 48);
        assert_eq!(offset_of!(SegmentationMeta, class_map), 16);
        assert_eq!(offset_of!(SegmentationMeta, class_probabilities_map), 24);
        assert_eq!(offset_of!(SegmentationMeta, priv_data), 32);
        assert_eq!(offset_of!(SegmentationMeta, unique_id), 40);
    }

    #[test]
    fn rect_params_per_layout() {
        assert_eq!(size_of::<RectParamsV6>(), 104);
        assert_eq!(offset_of!(RectParamsV6, border_width), 16);
        assert_eq!(offset_of!(RectParamsV6, border_color), 24);
        assert_eq!(offset_of!(RectParamsV6, has_bg_color), 56);
        assert_eq!(offset_of!(RectParamsV6, bg_color), 64);
        assert_eq!(offset_of!(RectParamsV6, has_color_info), 96);
        assert_eq!(offset_of!(RectParamsV6, color_id), 100);
        assert_eq!(size_of::<RectParamsV9>(), 112);
        assert_eq!(offset_of!(RectParamsV9, rotation_angle), 104);
        assert_eq!(MetaAbi::Ds6To7.rect_params_size(), 104);
        assert_eq!(MetaAbi::Ds8.rect_params_size(), 104);
        assert_eq!(MetaAbi::Ds9.rect_params_size(), 112);
    }

    /// Frame fields read by cudadraw: the same offsets in every layout.
    fn frame_common<T>() {
        assert_eq!(offset_of!(FrameMetaRaw<T>, pad_index), 40);
        assert_eq!(offset_of!(FrameMetaRaw<T>, batch_id), 44);
        assert_eq!(offset_of!(FrameMetaRaw<T>, frame_num), 48);
        assert_eq!(offset_of!(FrameMetaRaw<T>, buf_pts), 56);
        assert_eq!(offset_of!(FrameMetaRaw<T>, ntp_timestamp), 64);
        assert_eq!(offset_of!(FrameMetaRaw<T>, source_id), 72);
        assert_eq!(offset_of!(FrameMetaRaw<T>, num_surfaces_per_frame), 76);
        assert_eq!(offset_of!(FrameMetaRaw<T>, source_frame_width), 80);
        assert_eq!(offset_of!(FrameMetaRaw<T>, source_frame_height), 84);
        assert_eq!(offset_of!(FrameMetaRaw<T>, num_obj_meta), 96);
        assert_eq!(offset_of!(FrameMetaRaw<T>, b_infer_done), 100);
        assert_eq!(offset_of!(FrameMetaRaw<T>, obj_meta_list), 104);
        assert_eq!(offset_of!(FrameMetaRaw<T>, display_meta_list), 112);
        assert_eq!(offset_of!(FrameMetaRaw<T>, frame_user_meta_list), 120);
        assert_eq!(offset_of!(FrameMetaRaw<T>, misc_frame_info), 128);
        assert_eq!(offset_of!(FrameMetaRaw<T>, pipeline_width), 160);
        assert_eq!(offset_of!(FrameMetaRaw<T>, pipeline_height), 164);
        assert_eq!(offset_of!(FrameMetaRaw<T>, tail), 168);
    }

    #[test]
    fn frame_meta_per_layout() {
        frame_common::<[i64; 4]>();
        frame_common::<FrameTailV8>();
        assert_eq!(size_of::<FrameMetaV6>(), 200);
        assert_eq!(size_of::<FrameMetaV8>(), 232);
        assert_eq!(
            offset_of!(FrameMetaV8, tail) + offset_of!(FrameTailV8, reserved),
            200
        );
        assert_eq!(MetaAbi::Ds6To7.frame_meta_size(), 200);
        assert_eq!(MetaAbi::Ds8.frame_meta_size(), 232);
        assert_eq!(MetaAbi::Ds9.frame_meta_size(), 232);
    }

    #[test]
    fn object_meta_per_layout() {
        assert_eq!(size_of::<ObjectMetaV6>(), 544);
        assert_eq!(size_of::<ObjectMetaV9>(), 552);
        for (rect, mask, text, label, cls, misc) in [
            (
                offset_of!(ObjectMetaV6, rect_params),
                offset_of!(ObjectMetaV6, mask_params),
                offset_of!(ObjectMetaV6, text_params),
                offset_of!(ObjectMetaV6, obj_label),
                offset_of!(ObjectMetaV6, classifier_meta_list),
                offset_of!(ObjectMetaV6, misc_obj_info),
            ),
            (
                offset_of!(ObjectMetaV9, rect_params),
                offset_of!(ObjectMetaV9, mask_params) - 8,
                offset_of!(ObjectMetaV9, text_params) - 8,
                offset_of!(ObjectMetaV9, obj_label) - 8,
                offset_of!(ObjectMetaV9, classifier_meta_list) - 8,
                offset_of!(ObjectMetaV9, misc_obj_info) - 8,
            ),
        ] {
            assert_eq!(
                (rect, mask, text, label, cls, misc),
                (104, 208, 232, 336, 464, 480)
            );
        }
        assert_eq!(offset_of!(ObjectMetaV6, parent), 40);
        assert_eq!(offset_of!(ObjectMetaV6, unique_component_id), 48);
        assert_eq!(offset_of!(ObjectMetaV6, class_id), 52);
        assert_eq!(offset_of!(ObjectMetaV6, object_id), 56);
        assert_eq!(offset_of!(ObjectMetaV6, detector_bbox_info), 64);
        assert_eq!(offset_of!(ObjectMetaV6, tracker_bbox_info), 80);
        assert_eq!(offset_of!(ObjectMetaV6, confidence), 96);
        assert_eq!(offset_of!(ObjectMetaV6, tracker_confidence), 100);
        assert_eq!(offset_of!(ObjectMetaV9, reserved), 520);
        assert_eq!(MetaAbi::Ds8.object_meta_size(), 544);
        assert_eq!(MetaAbi::Ds9.object_meta_size(), 552);
    }

    #[test]
    fn display_meta_per_layout() {
        assert_eq!(size_of::<DisplayMetaV6>(), 6912);
        assert_eq!(offset_of!(DisplayMetaV6, num_rects), 40);
        assert_eq!(offset_of!(DisplayMetaV6, num_labels), 44);
        assert_eq!(offset_of!(DisplayMetaV6, num_lines), 48);
        assert_eq!(offset_of!(DisplayMetaV6, num_arrows), 52);
        assert_eq!(offset_of!(DisplayMetaV6, num_circles), 56);
        assert_eq!(offset_of!(DisplayMetaV6, rect_params), 64);
        assert_eq!(offset_of!(DisplayMetaV6, text_params), 1728);
        assert_eq!(offset_of!(DisplayMetaV6, line_params), 3392);
        assert_eq!(offset_of!(DisplayMetaV6, arrow_params), 4288);
        assert_eq!(offset_of!(DisplayMetaV6, circle_params), 5312);
        assert_eq!(offset_of!(DisplayMetaV6, misc_osd_data), 6848);
        assert_eq!(offset_of!(DisplayMetaV6, reserved), 6880);
        assert_eq!(size_of::<DisplayMetaV9>(), 7040);
        assert_eq!(offset_of!(DisplayMetaV9, rect_params), 64);
        assert_eq!(offset_of!(DisplayMetaV9, text_params), 1856);
        assert_eq!(offset_of!(DisplayMetaV9, line_params), 3520);
        assert_eq!(offset_of!(DisplayMetaV9, arrow_params), 4416);
        assert_eq!(offset_of!(DisplayMetaV9, circle_params), 5440);
        assert_eq!(offset_of!(DisplayMetaV9, misc_osd_data), 6976);
        assert_eq!(offset_of!(DisplayMetaV9, reserved), 7008);
        assert_eq!(MetaAbi::Ds6To7.display_meta_size(), 6912);
        assert_eq!(MetaAbi::Ds9.display_meta_size(), 7040);
    }

    #[test]
    fn versions_map_to_layouts() {
        assert_eq!(MetaAbi::parse("6.0"), Some(MetaAbi::Ds6To7));
        assert_eq!(MetaAbi::parse("7.1"), Some(MetaAbi::Ds6To7));
        assert_eq!(MetaAbi::parse("8.0"), Some(MetaAbi::Ds8));
        assert_eq!(MetaAbi::parse("9.1"), Some(MetaAbi::Ds9));
        assert_eq!(MetaAbi::parse("ds9"), Some(MetaAbi::Ds9));
        assert_eq!(MetaAbi::parse("5.1"), None);
        assert_eq!(MetaAbi::parse("banana"), None);
        assert!(!MetaAbi::Ds6To7.has_circle_width() && MetaAbi::Ds8.has_circle_width());
    }
}

/// The layouts above against the headers installed under `DEEPSTREAM_DIR`
/// (bindgen'd by build.rs; without them this module is not compiled at all, so no
/// test pretends to have checked anything).
#[cfg(all(test, cudadraw_ds_meta_headers))]
mod deepstream_headers {
    use super::*;
    use std::mem::offset_of;

    #[allow(
        non_camel_case_types,
        non_snake_case,
        non_upper_case_globals,
        dead_code,
        clippy::all
    )]
    mod sys {
        include!(concat!(env!("OUT_DIR"), "/nvdsmeta_ds.rs"));
    }

    #[test]
    fn layouts_agree_with_installed_headers() {
        let rect = size_of::<sys::NvOSD_RectParams>();
        let frame = size_of::<sys::NvDsFrameMeta>();
        let abi = match (rect, frame) {
            (104, 200) => MetaAbi::Ds6To7,
            (104, 232) => MetaAbi::Ds8,
            (112, 232) => MetaAbi::Ds9,
            other => panic!(
                "installed headers: rect params / frame meta sizes {other:?} match no known layout"
            ),
        };
        println!("installed nvdsmeta.h has the {abi}");
        assert_eq!(abi.rect_params_size(), rect);
        assert_eq!(abi.frame_meta_size(), frame);
        assert_eq!(abi.object_meta_size(), size_of::<sys::NvDsObjectMeta>());
        assert_eq!(abi.display_meta_size(), size_of::<sys::NvDsDisplayMeta>());
        assert_eq!(size_of::<BatchMetaRaw>(), size_of::<sys::NvDsBatchMeta>());
        assert_eq!(size_of::<MetaPool>(), size_of::<sys::NvDsMetaPool>());
        assert_eq!(size_of::<TextParams>(), size_of::<sys::NvOSD_TextParams>());
        assert_eq!(
            size_of::<CircleParams>(),
            size_of::<sys::NvOSD_CircleParams>()
        );
        assert_eq!(
            size_of::<ArrowParams>(),
            size_of::<sys::NvOSD_ArrowParams>()
        );
        assert_eq!(size_of::<LineParams>(), size_of::<sys::NvOSD_LineParams>());
        assert_eq!(size_of::<MaskParams>(), size_of::<sys::NvOSD_MaskParams>());
        assert_eq!(size_of::<NvDsMeta>(), size_of::<sys::NvDsMeta>());

        macro_rules! same {
            ($ours:ty, $theirs:ty, $($f:ident = $g:ident),+) => {{
                $(assert_eq!(offset_of!($ours, $f), offset_of!($theirs, $g), "{}", stringify!($f));)+
            }};
        }
        same!(
            BatchMetaRaw,
            sys::NvDsBatchMeta,
            num_frames_in_batch = num_frames_in_batch,
            frame_meta_pool = frame_meta_pool,
            obj_meta_pool = obj_meta_pool,
            display_meta_pool = display_meta_pool,
            frame_meta_list = frame_meta_list
        );
        same!(
            FrameMetaV8,
            sys::NvDsFrameMeta,
            pad_index = pad_index,
            batch_id = batch_id,
            frame_num = frame_num,
            buf_pts = buf_pts,
            ntp_timestamp = ntp_timestamp,
            source_id = source_id,
            source_frame_width = source_frame_width,
            source_frame_height = source_frame_height,
            num_obj_meta = num_obj_meta,
            obj_meta_list = obj_meta_list,
            display_meta_list = display_meta_list,
            frame_user_meta_list = frame_user_meta_list,
            pipeline_width = pipeline_width
        );
        same!(
            RectParamsV6,
            sys::NvOSD_RectParams,
            left = left,
            width = width,
            border_width = border_width,
            border_color = border_color,
            has_bg_color = has_bg_color,
            bg_color = bg_color,
            color_id = color_id
        );
        same!(
            TextParams,
            sys::NvOSD_TextParams,
            display_text = display_text,
            x_offset = x_offset,
            y_offset = y_offset,
            font_params = font_params,
            set_bg_clr = set_bg_clr,
            text_bg_clr = text_bg_clr
        );
        same!(
            CircleParams,
            sys::NvOSD_CircleParams,
            radius = radius,
            circle_color = circle_color,
            has_bg_color = has_bg_color,
            bg_color = bg_color
        );
        same!(
            MaskParams,
            sys::NvOSD_MaskParams,
            data = data,
            size = size,
            threshold = threshold,
            width = width,
            height = height
        );
        same!(
            NvDsMeta,
            sys::NvDsMeta,
            meta_data = meta_data,
            meta_type = meta_type,
            freefunc = freefunc
        );
        same!(
            SegmentationMeta,
            sys::NvDsInferSegmentationMeta,
            classes = classes,
            width = width,
            height = height,
            class_map = class_map,
            class_probabilities_map = class_probabilities_map
        );
        match abi {
            MetaAbi::Ds6To7 | MetaAbi::Ds8 => same!(
                ObjectMetaV6,
                sys::NvDsObjectMeta,
                class_id = class_id,
                object_id = object_id,
                confidence = confidence,
                tracker_confidence = tracker_confidence,
                rect_params = rect_params,
                mask_params = mask_params,
                text_params = text_params,
                obj_label = obj_label
            ),
            MetaAbi::Ds9 => same!(
                ObjectMetaV9,
                sys::NvDsObjectMeta,
                class_id = class_id,
                object_id = object_id,
                confidence = confidence,
                tracker_confidence = tracker_confidence,
                rect_params = rect_params,
                mask_params = mask_params,
                text_params = text_params,
                obj_label = obj_label
            ),
        }
        match abi {
            MetaAbi::Ds6To7 | MetaAbi::Ds8 => same!(
                DisplayMetaV6,
                sys::NvDsDisplayMeta,
                num_rects = num_rects,
                num_circles = num_circles,
                rect_params = rect_params,
                text_params = text_params,
                line_params = line_params,
                arrow_params = arrow_params,
                circle_params = circle_params
            ),
            MetaAbi::Ds9 => same!(
                DisplayMetaV9,
                sys::NvDsDisplayMeta,
                num_rects = num_rects,
                num_circles = num_circles,
                rect_params = rect_params,
                text_params = text_params,
                line_params = line_params,
                arrow_params = arrow_params,
                circle_params = circle_params
            ),
        }
        assert_eq!(
            sys::MAX_ELEMENTS_IN_DISPLAY_META as usize,
            MAX_ELEMENTS_IN_DISPLAY_META
        );
        assert_eq!(sys::MAX_LABEL_SIZE as usize, MAX_LABEL_SIZE);
    }
}
