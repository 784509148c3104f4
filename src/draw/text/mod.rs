//! Text: shaped UTF-8 strings from any TrueType/OpenType font, drawn through a glyph
//! atlas by every backend in list order with everything else.
//!
//! A text op becomes up to three commands (docs/semantics.md, "Text"): its background
//! box, its halo layer and its glyph layer. Each layer's coverage at a pixel is the
//! largest atlas byte of its glyphs there (a pixel is blended once per layer, however
//! glyphs overlap), and the layer's colour blends with alpha `(a * coverage + 127) / 255`.
//! Glyph masks are rasterised once per (font, size, glyph, halo) on the host into an
//! append-only atlas; the CUDA backend uploads only the bytes added since its last
//! call, so both backends read the same coverage bytes.

mod font;

pub(crate) use font::{ATLAS_RESET, TextCache, check_text};
pub use font::{
    Font, FontId, FontStore, LineMetrics, MAX_ATLAS_BYTES, MAX_FONT_BYTES, TextMetrics,
};

use crate::cmd::{CD_MAX_HALO, CD_MAX_TEXT_BYTES, CD_MAX_TEXT_SIZE, CD_MIN_TEXT_SIZE};
use crate::color::Color;
use crate::geom::Rect;

/// Accepted text sizes, pixels per em.
pub const TEXT_SIZE_RANGE: std::ops::RangeInclusive<u32> = CD_MIN_TEXT_SIZE..=CD_MAX_TEXT_SIZE;
/// Accepted halo (outline) widths, pixels.
pub const HALO_RANGE: std::ops::RangeInclusive<u32> = 1..=CD_MAX_HALO;
/// Longest text of one op, UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = CD_MAX_TEXT_BYTES as usize;
/// Largest background padding, pixels.
pub const MAX_PADDING: u32 = 256;

/// Which point of the text a position names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Anchor {
    /// The top-left corner of the first line's box (ascent above the baseline).
    #[default]
    Top,
    /// The left end of the first line's baseline.
    Baseline,
}

/// An outline around the glyphs, for legibility on busy video: every pixel within
/// `width` pixels of a glyph's coverage, drawn before the glyphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Halo {
    /// In [`HALO_RANGE`].
    pub width: u32,
    pub color: Color,
}

/// How text looks: font, size, colours, background box and halo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TextStyle {
    pub font: FontId,
    /// Pixels per em, in [`TEXT_SIZE_RANGE`].
    pub size: u32,
    /// Straight RGBA; alpha 0 draws no glyphs.
    pub color: Color,
    /// A filled box behind the text: its lines' boxes grown by `padding`.
    pub background: Option<Color>,
    /// Pixels between the text's box and the background's edge (also the label's
    /// offset from its box), at most [`MAX_PADDING`].
    pub padding: u32,
    pub halo: Option<Halo>,
}

impl Default for TextStyle {
    /// The built-in font at 16 px, white, no background, 2 px padding, no halo.
    fn default() -> Self {
        Self {
            font: FontId::DEFAULT,
            size: 16,
            color: Color::WHITE,
            background: None,
            padding: 2,
            halo: None,
        }
    }
}

impl TextStyle {
    pub fn new(size: u32, color: Color) -> Self {
        Self {
            size,
            color,
            ..Self::default()
        }
    }

    pub fn font(mut self, font: FontId) -> Self {
        self.font = font;
        self
    }

    pub fn background(mut self, color: Color) -> Self {
        self.background = Some(color);
        self
    }

    pub fn padding(mut self, padding: u32) -> Self {
        self.padding = padding;
        self
    }

    pub fn halo(mut self, width: u32, color: Color) -> Self {
        self.halo = Some(Halo { width, color });
        self
    }
}

/// Text at a position: `(x, y)` is the top-left of the first line's box
/// ([`Anchor::Top`]) or the start of its baseline ([`Anchor::Baseline`]), rounded to
/// whole pixels half away from zero. Lines are separated by '\n'.
#[derive(Debug, Clone, PartialEq)]
pub struct TextOp {
    pub text: String,
    pub x: f32,
    pub y: f32,
    pub anchor: Anchor,
    pub style: TextStyle,
}

/// Text placed on a box as nvdsosd places labels: its background box sits on the
/// box's top-left corner, outside (above); moved inside (below the top edge) when it
/// would leave the frame at the top; shifted left to stay within the frame's width,
/// but never past its left edge.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelOp {
    pub rect: Rect,
    pub text: String,
    pub style: TextStyle,
}

/// The glyph atlas a resolution's text refers to, locked while a backend reads it;
/// `None` without text. An error when it changed since the resolution (cleared because
/// it was full, by another user of the same store; or another store was passed).
pub(crate) fn locked_atlas<'a>(
    resolved: &crate::draw::Resolved,
    fonts: &'a FontStore,
) -> crate::Result<Option<std::sync::MutexGuard<'a, TextCache>>> {
    let Some((uid, generation)) = resolved.atlas else {
        return Ok(None);
    };
    let cache = fonts.lock();
    if fonts.uid() != uid || cache.generation != generation {
        return Err(crate::Error::InvalidOp {
            frame: 0,
            op: 0,
            reason: "the glyph atlas changed since these commands were resolved (another \
                     user of this store filled and cleared it, or another store was passed): \
                     resolve and draw again"
                .into(),
        });
    }
    Ok(Some(cache))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_font_parses_and_covers_the_scripts_it_claims() {
        let store = FontStore::default();
        let f = store.get(FontId::DEFAULT).unwrap();
        let m = f.metrics(16);
        assert!(
            m.ascent > 10 && m.descent > 2 && m.line_height >= 18,
            "{m:?}"
        );
        for s in ["person 0.97", "Ελληνικά", "Кириллица", "مرحبا"] {
            let t = store.measure(FontId::DEFAULT, 16, s).unwrap();
            assert!(t.width > 20 && t.lines == 1, "{s}: {t:?}");
        }
        let two = store.measure(FontId::DEFAULT, 16, "a\nbb").unwrap();
        assert_eq!((two.lines, two.height), (2, 2 * m.line_height));
    }

    #[test]
    fn bad_fonts_and_sizes_are_errors() {
        assert!(Font::from_bytes(Vec::new(), 0).is_err());
        assert!(Font::from_bytes(b"not a font at all".to_vec(), 0).is_err());
        let mut cut = include_bytes!("../../../assets/fonts/DejaVuSans.ttf").to_vec();
        cut.truncate(300);
        assert!(Font::from_bytes(cut, 0).is_err());
        let store = FontStore::default();
        assert!(store.measure(FontId::DEFAULT, 5, "a").is_err());
        assert!(store.measure(FontId::DEFAULT, 257, "a").is_err());
        assert!(store.measure(FontId(9), 16, "a").is_err());
        let long = "x".repeat(1_000_000);
        let e = store.measure(FontId::DEFAULT, 16, &long).unwrap_err();
        assert!(e.to_string().contains("1000000 bytes"), "{e}");
    }

    #[test]
    fn shaping_applies_kerning_and_ligatures() {
        let store = FontStore::default();
        // DejaVu Sans kerns "AV": narrower than "A" + "V" apart.
        let av = store.measure(FontId::DEFAULT, 64, "AV").unwrap().width;
        let a = store.measure(FontId::DEFAULT, 64, "A").unwrap().width;
        let v = store.measure(FontId::DEFAULT, 64, "V").unwrap().width;
        assert!(av < a + v, "AV {av} vs A {a} + V {v}");
    }
}
