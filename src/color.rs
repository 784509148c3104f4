//! Colours, pixel formats and the one blend rule every backend uses.

use crate::cmd::{CD_FMT_BGRA, CD_FMT_BGRX, CD_FMT_RGBA, CD_FMT_RGBX};

/// A straight (non-premultiplied) RGBA colour. Serialised as `[r, g, b, a]`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(from = "[u8; 4]", into = "[u8; 4]")]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Color {
    pub const fn rgba(r: u8, g: u8, b: u8, a: u8) -> Self {
        Self { r, g, b, a }
    }

    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b, a: 255 }
    }

    pub const TRANSPARENT: Color = Color::rgba(0, 0, 0, 0);
    pub const BLACK: Color = Color::rgb(0, 0, 0);
    pub const WHITE: Color = Color::rgb(255, 255, 255);
    pub const RED: Color = Color::rgb(255, 0, 0);
    pub const GREEN: Color = Color::rgb(0, 255, 0);
    pub const BLUE: Color = Color::rgb(0, 0, 255);

    /// The colour laid out in `format`'s byte order for bytes 0..3; byte 3 keeps the
    /// blend alpha (for x formats it is never written, only used to blend).
    pub fn to_frame_order(self, format: PixelFormat) -> [u8; 4] {
        if format.swaps_red_blue() {
            [self.b, self.g, self.r, self.a]
        } else {
            [self.r, self.g, self.b, self.a]
        }
    }
}

impl From<[u8; 4]> for Color {
    fn from(v: [u8; 4]) -> Self {
        Color::rgba(v[0], v[1], v[2], v[3])
    }
}

impl From<Color> for [u8; 4] {
    fn from(c: Color) -> Self {
        [c.r, c.g, c.b, c.a]
    }
}

/// Byte order of a 4-byte pixel in memory.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PixelFormat {
    #[default]
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
}

impl PixelFormat {
    pub const ALL: [PixelFormat; 4] = [
        PixelFormat::Rgba,
        PixelFormat::Bgra,
        PixelFormat::Rgbx,
        PixelFormat::Bgrx,
    ];

    /// Whether byte 3 is an alpha channel (blended) rather than padding (never written).
    pub fn has_alpha(self) -> bool {
        matches!(self, PixelFormat::Rgba | PixelFormat::Bgra)
    }

    /// Whether bytes 0 and 2 hold blue and red.
    pub fn swaps_red_blue(self) -> bool {
        matches!(self, PixelFormat::Bgra | PixelFormat::Bgrx)
    }

    /// Number of leading bytes a backend may write: 4, or 3 for x formats.
    pub fn written_bytes(self) -> usize {
        if self.has_alpha() { 4 } else { 3 }
    }

    /// The `CD_FMT_*` code the kernels use.
    pub fn code(self) -> u32 {
        match self {
            PixelFormat::Rgba => CD_FMT_RGBA,
            PixelFormat::Bgra => CD_FMT_BGRA,
            PixelFormat::Rgbx => CD_FMT_RGBX,
            PixelFormat::Bgrx => CD_FMT_BGRX,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Rgba => "RGBA",
            PixelFormat::Bgra => "BGRA",
            PixelFormat::Rgbx => "RGBx",
            PixelFormat::Bgrx => "BGRx",
        }
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The blend rule: `(c * a + dst * (255 - a) + 127) / 255`, integer division.
/// `a = 255` replaces, `a = 0` keeps `dst`.
#[inline(always)]
pub fn blend(c: u8, dst: u8, a: u8) -> u8 {
    let a = u32::from(a);
    ((u32::from(c) * a + u32::from(dst) * (255 - a) + 127) / 255) as u8
}

/// Blends `color` (bytes 0..2 in frame order, byte 3 = alpha) onto one pixel; the
/// alpha byte of RGBA/BGRA frames blends with c = 255, x bytes stay untouched.
#[inline(always)]
pub fn blend_pixel(px: &mut [u8], color: [u8; 4], has_alpha: bool) {
    let a = color[3];
    if a == 0 {
        return;
    }
    px[0] = blend(color[0], px[0], a);
    px[1] = blend(color[1], px[1], a);
    px[2] = blend(color[2], px[2], a);
    if has_alpha {
        px[3] = blend(255, px[3], a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blend_endpoints_and_rounding() {
        for d in 0..=255u8 {
            assert_eq!(blend(17, d, 0), d);
            assert_eq!(blend(17, d, 255), 17);
        }
        // (200*80 + 100*175 + 127) / 255 = 33627/255 = 131
        assert_eq!(blend(200, 100, 80), 131);
    }

    #[test]
    fn frame_order() {
        let c = Color::rgba(1, 2, 3, 4);
        assert_eq!(c.to_frame_order(PixelFormat::Rgba), [1, 2, 3, 4]);
        assert_eq!(c.to_frame_order(PixelFormat::Bgrx), [3, 2, 1, 4]);
    }
}
