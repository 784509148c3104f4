//! Segmentation masks: instance masks (a probability or 0/1 mask per object, u8, f16 via
//! the `half` crate, or f32, drawn where it reaches a threshold) and class maps (class
//! ids scaled onto the frame through a palette), from host memory or straight from a
//! model's output in device memory.
//!
//! Every mask value becomes 16-bit fixed point before any interpolation (u8: v * 257;
//! f16 and f32: clamped to [0, 1], round(v * 65535) with ties to even, NaN = 0), the
//! same on every backend, so f32, f16 and u8 masks sample and threshold identically
//! (docs/semantics.md, "Masks").

use std::sync::Arc;

use half::f16;

use crate::cmd::{
    CD_MASK_BILINEAR, CD_MASK_CONTOUR, CD_MASK_F16, CD_MASK_F32, CD_MASK_I32, CD_MASK_NO_CONTOUR,
    CD_MASK_U8, CD_MASK_U16, CD_MAX_MASK_SIDE, CD_MAX_PALETTE, CD_OP_CLASSMAP, CD_OP_MASK, CdCmd,
    CdMask,
};
use crate::color::Color;
use crate::frame::FrameInfo;
use crate::geom::{PixelRect, Rect};

use super::{Filter, Resolved};

/// Largest mask or class map side.
pub const MAX_MASK_SIDE: u32 = CD_MAX_MASK_SIDE;
/// Most palette entries of a class map.
pub const MAX_PALETTE: usize = CD_MAX_PALETTE as usize;

/// How a mask's values are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MaskType {
    U8,
    F16,
    F32,
    /// Class ids (class maps only).
    I32,
}

impl MaskType {
    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            MaskType::U8 => 1,
            MaskType::F16 => 2,
            MaskType::F32 | MaskType::I32 => 4,
        }
    }

    fn code(self) -> u32 {
        match self {
            MaskType::U8 => CD_MASK_U8,
            MaskType::F16 => CD_MASK_F16,
            MaskType::F32 => CD_MASK_F32,
            MaskType::I32 => CD_MASK_I32,
        }
    }
}

/// Mask values in host memory, row-major, `width * height` of them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MaskValues {
    U8(Arc<[u8]>),
    F16(Arc<[f16]>),
    F32(Arc<[f32]>),
    /// Class ids (class maps only).
    I32(Arc<[i32]>),
}

impl MaskValues {
    fn len(&self) -> usize {
        match self {
            MaskValues::U8(v) => v.len(),
            MaskValues::F16(v) => v.len(),
            MaskValues::F32(v) => v.len(),
            MaskValues::I32(v) => v.len(),
        }
    }
}

/// A mask in device memory owned by the caller (a TensorRT output): never copied to
/// the host. Made by [`DeviceMask::new`] (unsafe: the caller vouches for the memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceMask {
    ptr: u64,
    pitch: usize,
    width: u32,
    height: u32,
    dtype: MaskType,
}

impl DeviceMask {
    /// A `width` x `height` mask of `dtype` values at device address `ptr`, rows
    /// `pitch` bytes apart.
    ///
    /// # Safety
    /// `ptr` must be device (or managed) memory of the GPU the frames are drawn on,
    /// holding `height` rows of `pitch` bytes (the last row at least `width` values),
    /// readable and unchanged until the render call that draws it has finished on
    /// the GPU. Null pointers, pitches below `width` values and misaligned pointers
    /// are refused when the list is resolved; the rest cannot be checked.
    pub unsafe fn new(ptr: u64, pitch: usize, width: u32, height: u32, dtype: MaskType) -> Self {
        Self {
            ptr,
            pitch,
            width,
            height,
            dtype,
        }
    }
}

/// Where a mask's values are.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MaskSource {
    /// Host memory: converted to 16-bit fixed point when the list is resolved and
    /// uploaded with the call's commands (the CUDA backend) or read directly (CPU).
    Host {
        width: u32,
        height: u32,
        values: MaskValues,
    },
    /// Device memory (CUDA backend only).
    Device(DeviceMask),
}

impl MaskSource {
    /// A host mask; checked when resolved (`values` must hold `width * height`).
    pub fn host(width: u32, height: u32, values: MaskValues) -> Self {
        MaskSource::Host {
            width,
            height,
            values,
        }
    }
}

/// An instance mask drawn into the object's box: scaled to `rect` (nearest or
/// bilinear, pixel centres aligned as overlays), drawn where its value reaches
/// `threshold` in `color` (alpha-blended); with a `contour` colour, the mask's
/// boundary pixels (inside, with a 4-neighbour outside) get that colour instead.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskOp {
    pub rect: Rect,
    pub mask: MaskSource,
    /// In [0, 1].
    pub threshold: f32,
    pub color: Color,
    pub filter: Filter,
    pub contour: Option<Color>,
}

/// A semantic-segmentation map (class ids, u8 or i32) scaled onto `rect` (nearest):
/// each pixel takes `palette[id]` (alpha-blended); ids outside the palette and entries
/// of alpha 0 (class 0 by convention: see [`ClassMapOp::background_transparent`])
/// leave the pixel as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassMapOp {
    pub rect: Rect,
    pub map: MaskSource,
    pub palette: Arc<[Color]>,
}

impl ClassMapOp {
    /// `palette` with class 0 made transparent.
    pub fn background_transparent(palette: &[Color]) -> Arc<[Color]> {
        let mut p = palette.to_vec();
        if let Some(c) = p.first_mut() {
            c.a = 0;
        }
        p.into()
    }
}

/// An f32 mask value as 16-bit fixed point: NaN and <= 0 -> 0, >= 1 -> 65535, else
/// round(v * 65535), ties to even (one IEEE multiply, as on the GPU).
pub fn q16_f32(v: f32) -> u16 {
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= 1.0 {
        65535
    } else {
        (v * 65535.0).round_ties_even() as u16
    }
}

/// `round(clamp(threshold, 0, 1) * 65535)` as for values.
fn threshold_q16(t: f32) -> u32 {
    u32::from(q16_f32(t))
}

fn align_to(v: &mut Vec<u8>, a: usize) {
    while !v.len().is_multiple_of(a) {
        v.push(0);
    }
}

/// The CdMask of a source, its host values appended to `out.mask_data` (instance masks
/// as u16 fixed point; class ids as they are).
fn push_mask(src: &MaskSource, class_map: bool, out: &mut Resolved) -> Result<CdMask, String> {
    let side = |w: u32, h: u32| {
        if w == 0 || h == 0 || w > MAX_MASK_SIDE || h > MAX_MASK_SIDE {
            Err(format!("mask size {w}x{h} outside 1..={MAX_MASK_SIDE}"))
        } else {
            Ok(())
        }
    };
    match src {
        MaskSource::Host {
            width,
            height,
            values,
        } => {
            side(*width, *height)?;
            let n = *width as usize * *height as usize;
            if values.len() != n {
                return Err(format!(
                    "{} mask values for {width}x{height} (need {n})",
                    values.len()
                ));
            }
            let (dtype, elem) = match (values, class_map) {
                (MaskValues::I32(v), true) => {
                    align_to(&mut out.mask_data, 4);
                    let at = out.mask_data.len();
                    out.mask_data.extend(v.iter().flat_map(|x| x.to_ne_bytes()));
                    (CD_MASK_I32, (at, 4))
                }
                (MaskValues::U8(v), true) => {
                    let at = out.mask_data.len();
                    out.mask_data.extend_from_slice(v);
                    (CD_MASK_U8, (at, 1))
                }
                (_, true) => return Err("a class map holds u8 or i32 class ids".into()),
                (MaskValues::I32(_), false) => {
                    return Err("an instance mask holds u8, f16 or f32 values".into());
                }
                (v, false) => {
                    align_to(&mut out.mask_data, 2);
                    let at = out.mask_data.len();
                    let q: Box<dyn Iterator<Item = u16>> = match v {
                        MaskValues::U8(v) => Box::new(v.iter().map(|&x| u16::from(x) * 257)),
                        MaskValues::F16(v) => Box::new(v.iter().map(|x| q16_f32(x.to_f32()))),
                        MaskValues::F32(v) => Box::new(v.iter().map(|&x| q16_f32(x))),
                        MaskValues::I32(_) => Box::new(std::iter::empty()),
                    };
                    out.mask_data.extend(q.flat_map(u16::to_ne_bytes));
                    (CD_MASK_U16, (at, 2))
                }
            };
            Ok(CdMask {
                ptr: elem.0 as u64,
                pitch: (*width as usize * elem.1) as u32,
                width: *width as i32,
                height: *height as i32,
                dtype,
                host: 1,
                classes: 0,
            })
        }
        MaskSource::Device(d) => {
            side(d.width, d.height)?;
            let ok_type = if class_map {
                matches!(d.dtype, MaskType::U8 | MaskType::I32)
            } else {
                d.dtype != MaskType::I32
            };
            if !ok_type {
                return Err(format!(
                    "a {} holds no {:?} values",
                    if class_map { "class map" } else { "mask" },
                    d.dtype
                ));
            }
            let e = d.dtype.size();
            if d.ptr == 0 {
                return Err("device mask pointer is null".into());
            }
            if !d.ptr.is_multiple_of(e as u64) || !d.pitch.is_multiple_of(e) {
                return Err(format!(
                    "device mask pointer {:#x} or pitch {} not aligned to {e} bytes",
                    d.ptr, d.pitch
                ));
            }
            if d.pitch < d.width as usize * e || d.pitch > u32::MAX as usize {
                return Err(format!(
                    "device mask pitch {} below {} x {e} bytes (or above 4 GiB)",
                    d.pitch, d.width
                ));
            }
            Ok(CdMask {
                ptr: d.ptr,
                pitch: d.pitch as u32,
                width: d.width as i32,
                height: d.height as i32,
                dtype: d.dtype.code(),
                host: 0,
                classes: 0,
            })
        }
    }
}

/// Resolves a mask or class map op.
pub(crate) fn resolve(op: &super::Op, info: &FrameInfo, out: &mut Resolved) -> Result<(), String> {
    let frame = PixelRect::frame(info.width, info.height);
    match op {
        super::Op::Mask(m) => {
            m.rect.check().map_err(|e| format!("mask rect: {e}"))?;
            if !(m.threshold.is_finite() && (0.0..=1.0).contains(&m.threshold)) {
                return Err(format!("threshold {} outside [0, 1]", m.threshold));
            }
            let dest = m.rect.to_pixels();
            let clip = dest.intersect(&frame);
            let mask = push_mask(&m.mask, false, out)?;
            let contour = m.contour.filter(|c| c.a > 0);
            if dest.is_empty() || clip.is_empty() || (m.color.a == 0 && contour.is_none()) {
                return Ok(());
            }
            let index = out.masks.len() as u32;
            out.masks.push(mask);
            let filter = if m.filter == Filter::Bilinear {
                CD_MASK_BILINEAR
            } else {
                0
            };
            let t = threshold_q16(m.threshold);
            let cmd = |flags: u32, color: Color| CdCmd {
                op: CD_OP_MASK,
                param: index,
                clip: clip.into(),
                inner: dest.into(),
                aux: t | filter | flags,
                color: color.to_frame_order(info.format),
                ..Default::default()
            };
            match contour {
                None => out.cmds.push(cmd(0, m.color)),
                Some(c) => {
                    if m.color.a > 0 {
                        out.cmds.push(cmd(CD_MASK_NO_CONTOUR, m.color));
                    }
                    out.cmds.push(cmd(CD_MASK_CONTOUR, c));
                }
            }
            Ok(())
        }
        super::Op::ClassMap(c) => {
            c.rect.check().map_err(|e| format!("class map rect: {e}"))?;
            if c.palette.is_empty() || c.palette.len() > MAX_PALETTE {
                return Err(format!(
                    "palette of {} colours (1..={MAX_PALETTE})",
                    c.palette.len()
                ));
            }
            let dest = c.rect.to_pixels();
            let clip = dest.intersect(&frame);
            let mut mask = push_mask(&c.map, true, out)?;
            if dest.is_empty() || clip.is_empty() || c.palette.iter().all(|p| p.a == 0) {
                return Ok(());
            }
            mask.classes = c.palette.len() as u32;
            let index = out.masks.len() as u32;
            out.masks.push(mask);
            let first = out.palette.len() as u32;
            out.palette.extend(
                c.palette
                    .iter()
                    .map(|p| u32::from_le_bytes(p.to_frame_order(info.format))),
            );
            out.cmds.push(CdCmd {
                op: CD_OP_CLASSMAP,
                param: index,
                clip: clip.into(),
                inner: dest.into(),
                aux: first,
                ..Default::default()
            });
            Ok(())
        }
        _ => Err("not a mask op".into()),
    }
}
