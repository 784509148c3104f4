//! Fonts, shaping and the glyph atlas.
//!
//! Crates, and why: **rustybuzz** (a Rust port of HarfBuzz) shapes: kerning, ligatures,
//! Arabic joining and right-to-left order come from the font's own tables, which none
//! of the GPU OSDs does. It parses fonts with **ttf-parser**, whose glyph outlines are
//! rasterised here by **ab_glyph_rasterizer** (the coverage accumulator under ab_glyph:
//! exact area coverage of lines and curves, no hinting). Both are pure Rust, so the
//! coverage bytes are the same on every host; both backends then read those very bytes
//! from the atlas, which keeps text byte-exact by construction.

use std::sync::{Arc, Mutex, MutexGuard};

use rustc_hash::FxHashMap as HashMap;

use ab_glyph_rasterizer::{Rasterizer, point};
use rustybuzz::ttf_parser;

use crate::error::{Error, Result};

/// The font that needs nothing installed: DejaVu Sans (Bitstream Vera licence, see
/// assets/fonts/LICENSE-DejaVu.txt). Latin, Greek, Cyrillic, Arabic, Hebrew and more;
/// no CJK (load a CJK font for that).
static DEFAULT_FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Largest font file accepted (bytes).
pub const MAX_FONT_BYTES: usize = 64 << 20;
/// The atlas is cleared (and re-filled on demand) when it would grow past this.
pub const MAX_ATLAS_BYTES: usize = 64 << 20;
/// Shaped strings kept per font store before the cache is cleared.
const MAX_SHAPED: usize = 16_384;

/// Handle of a font registered with an [`ImageStore`](crate::draw::ImageStore).
/// [`FontId::DEFAULT`] is always registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FontId(pub u32);

impl FontId {
    /// The built-in font (DejaVu Sans).
    pub const DEFAULT: FontId = FontId(0);
}

#[derive(Debug, Clone)]
enum FontData {
    Static(&'static [u8]),
    Owned(Arc<[u8]>),
}

impl FontData {
    fn bytes(&self) -> &[u8] {
        match self {
            FontData::Static(b) => b,
            FontData::Owned(b) => b,
        }
    }
}

/// A parsed TrueType/OpenType font (one face of a file; TTC collections by index).
#[derive(Debug, Clone)]
pub struct Font {
    data: FontData,
    index: u32,
    upem: i32,
    ascender: i32,
    descender: i32,
    line_gap: i32,
}

impl Font {
    /// The built-in DejaVu Sans.
    pub fn builtin() -> Font {
        // The embedded file is a valid font: a test checks it, and if it were not,
        // the metrics below fall back to safe values rather than panicking.
        Font::parse(FontData::Static(DEFAULT_FONT), 0).unwrap_or(Font {
            data: FontData::Static(DEFAULT_FONT),
            index: 0,
            upem: 2048,
            ascender: 1901,
            descender: -483,
            line_gap: 0,
        })
    }

    /// Face `index` of a TTF/OTF/TTC file's bytes. A file that is not a font, a
    /// truncated one or an index past the collection is [`Error::InvalidFont`].
    pub fn from_bytes(data: Vec<u8>, index: u32) -> Result<Font> {
        if data.len() > MAX_FONT_BYTES {
            return Err(Error::InvalidFont(format!(
                "{} bytes (limit {MAX_FONT_BYTES})",
                data.len()
            )));
        }
        Font::parse(FontData::Owned(data.into()), index)
    }

    /// Face `index` of a font file.
    pub fn from_path(path: impl AsRef<std::path::Path>, index: u32) -> Result<Font> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            context: format!("font {}", path.display()),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_FONT_BYTES as u64 {
            return Err(Error::InvalidFont(format!(
                "{}: {len} bytes (limit {MAX_FONT_BYTES})",
                path.display()
            )));
        }
        let data = std::fs::read(path).map_err(io)?;
        Font::from_bytes(data, index)
            .map_err(|e| Error::InvalidFont(format!("{}: {e}", path.display())))
    }

    fn parse(data: FontData, index: u32) -> Result<Font> {
        let face = ttf_parser::Face::parse(data.bytes(), index)
            .map_err(|e| Error::InvalidFont(format!("not a usable font (face {index}): {e}")))?;
        let upem = i32::from(face.units_per_em());
        if !(16..=16384).contains(&upem) {
            return Err(Error::InvalidFont(format!("units per em {upem}")));
        }
        if rustybuzz::Face::from_slice(data.bytes(), index).is_none() {
            return Err(Error::InvalidFont(
                "the shaper cannot read this font".into(),
            ));
        }
        let (ascender, descender) = (i32::from(face.ascender()), i32::from(face.descender()));
        Ok(Font {
            upem,
            ascender: ascender.max(0),
            descender: descender.min(0),
            line_gap: i32::from(face.line_gap()).max(0),
            data,
            index,
        })
    }

    fn face(&self) -> Option<rustybuzz::Face<'_>> {
        rustybuzz::Face::from_slice(self.data.bytes(), self.index)
    }

    /// Font units at `size` px per em, rounded to whole pixels half up:
    /// floor((2 v size + upem) / (2 upem)).
    fn px(&self, v: i64, size: u32) -> i32 {
        let (s, u) = (i64::from(size), i64::from(self.upem));
        (2 * v * s + u).div_euclid(2 * u) as i32
    }

    /// Line metrics at `size` px, in whole pixels.
    pub fn metrics(&self, size: u32) -> LineMetrics {
        let ascent = self.px(i64::from(self.ascender), size);
        let descent = self.px(-i64::from(self.descender), size);
        let gap = self.px(i64::from(self.line_gap), size);
        LineMetrics {
            ascent,
            descent,
            line_height: (ascent + descent + gap).max(1),
        }
    }
}

/// Vertical metrics of a font at a pixel size (hhea ascender, descender, line gap),
/// each rounded to whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineMetrics {
    /// Pixels from the top of a line box to its baseline.
    pub ascent: i32,
    /// Pixels from the baseline down to the bottom of the glyphs' design box.
    pub descent: i32,
    /// Distance between the baselines of consecutive lines.
    pub line_height: i32,
}

/// Size of a laid-out string (see [`FontStore::measure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextMetrics {
    /// Widest line's advance, in pixels.
    pub width: i32,
    /// Lines x line height.
    pub height: i32,
    pub ascent: i32,
    pub descent: i32,
    pub lines: u32,
}

/// One glyph's coverage mask in the atlas, relative to its pen position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AtlasGlyph {
    /// Byte offset in the atlas.
    pub off: u32,
    pub w: u16,
    pub h: u16,
    /// Mask's top-left pixel relative to the pen on the baseline (y down).
    pub left: i32,
    pub top: i32,
}

/// A shaped string: per glyph, the pen position relative to the text's origin (x: px
/// from the left, y: px below the first line's baseline) and its mask, per layer.
#[derive(Debug, Default)]
pub(crate) struct Shaped {
    pub pens: Vec<(i32, i32)>,
    pub gids: Vec<u16>,
    /// Fill masks, then one set per halo width asked for (lazily).
    pub fill: Vec<AtlasGlyph>,
    pub halos: Vec<(u32, Vec<AtlasGlyph>)>,
    pub metrics: TextMetrics,
}

/// A string shaped in font units: per glyph, its id, pen x (advances summed, plus its
/// x offset), its y offset and its line; per line, its total advance.
#[derive(Debug, Default)]
pub(crate) struct Run {
    gids: Vec<u16>,
    pens: Vec<(i64, i32, u32)>,
    advances: Vec<i64>,
}

/// The shared, growing part of a font store: shaped strings and the glyph atlas.
#[derive(Debug, Default)]
pub(crate) struct TextCache {
    /// Coverage masks, appended, never rewritten (until cleared past
    /// [`MAX_ATLAS_BYTES`], which bumps `generation`).
    pub atlas: Vec<u8>,
    pub generation: u64,
    glyphs: HashMap<(u32, u32, u16, u32), AtlasGlyph>,
    /// Shaping results in font units, by font and text: they do not depend on the
    /// size, so a new size only converts pens and rasterises glyphs.
    runs: HashMap<u32, HashMap<Box<str>, Arc<Run>>>,
    /// Laid out at a size, with their masks, by (font, size) and text.
    shaped: HashMap<(u32, u32), HashMap<Box<str>, Arc<Shaped>>>,
    shaped_count: usize,
    buffer: Option<rustybuzz::UnicodeBuffer>,
}

/// The fonts of an [`ImageStore`](crate::draw::ImageStore) and their text cache.
#[derive(Debug)]
pub struct FontStore {
    fonts: Vec<Arc<Font>>,
    cache: Mutex<TextCache>,
    /// Process-unique: device atlases are keyed by it.
    uid: u64,
}

impl Default for FontStore {
    fn default() -> Self {
        Self {
            fonts: vec![Arc::new(Font::builtin())],
            cache: Mutex::new(TextCache::default()),
            uid: crate::draw::next_uid(),
        }
    }
}

impl FontStore {
    pub(crate) fn add(&mut self, font: Font) -> FontId {
        self.fonts.push(Arc::new(font));
        FontId(self.fonts.len() as u32 - 1)
    }

    pub(crate) fn replace(&mut self, id: FontId, font: Font) -> Result<()> {
        if id == FontId::DEFAULT || id.0 as usize >= self.fonts.len() {
            return Err(Error::InvalidFont(format!(
                "cannot replace font {}: not a registered font of one's own",
                id.0
            )));
        }
        self.fonts[id.0 as usize] = Arc::new(font);
        self.lock().reset();
        Ok(())
    }

    /// The number of registered fonts (the built-in one included).
    pub fn len(&self) -> usize {
        self.fonts.len()
    }

    /// Always false: the built-in font is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn get(&self, id: FontId) -> Option<&Arc<Font>> {
        self.fonts.get(id.0 as usize)
    }

    pub(crate) fn uid(&self) -> u64 {
        self.uid
    }

    /// A copy of the glyph atlas (for tests that check a backend against the masks).
    #[doc(hidden)]
    pub fn atlas_bytes(&self) -> Vec<u8> {
        self.lock().atlas.clone()
    }

    /// Bytes in the glyph atlas now.
    pub fn atlas_len(&self) -> usize {
        self.lock().atlas.len()
    }

    /// The cache, locked. A panic elsewhere while it was held cannot leave it
    /// half-written in a way that matters (entries are inserted whole), but it is
    /// cleared anyway to be sure.
    pub(crate) fn lock(&self) -> MutexGuard<'_, TextCache> {
        match self.cache.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                g.reset();
                self.cache.clear_poison();
                g
            }
        }
    }

    /// Width, height, ascent and descent of `text` at `size` px in `font`.
    pub fn measure(&self, font: FontId, size: u32, text: &str) -> Result<TextMetrics> {
        check_text(size, text).map_err(Error::InvalidFont)?;
        let f = self
            .get(font)
            .ok_or_else(|| Error::InvalidFont(format!("unknown font handle {}", font.0)))?;
        let mut cache = self.lock();
        let shaped = cache
            .shape(font.0, f, size, text)
            .map_err(Error::InvalidFont)?;
        Ok(shaped.metrics)
    }
}

/// Range checks shared by every text entry point.
pub(crate) fn check_text(size: u32, text: &str) -> std::result::Result<(), String> {
    use crate::cmd::{CD_MAX_TEXT_BYTES, CD_MAX_TEXT_SIZE, CD_MIN_TEXT_SIZE};
    if !(CD_MIN_TEXT_SIZE..=CD_MAX_TEXT_SIZE).contains(&size) {
        return Err(format!(
            "text size {size} outside {CD_MIN_TEXT_SIZE}..={CD_MAX_TEXT_SIZE}"
        ));
    }
    if text.len() > CD_MAX_TEXT_BYTES as usize {
        return Err(format!(
            "text of {} bytes (limit {CD_MAX_TEXT_BYTES})",
            text.len()
        ));
    }
    Ok(())
}

impl TextCache {
    fn reset(&mut self) {
        self.atlas.clear();
        self.glyphs.clear();
        self.runs.clear();
        self.shaped.clear();
        self.shaped_count = 0;
        self.generation += 1;
    }

    /// Shapes `text` (lines split at '\n') or returns the cached shaping; its fill
    /// masks are in the atlas.
    pub(crate) fn shape(
        &mut self,
        font_id: u32,
        font: &Font,
        size: u32,
        text: &str,
    ) -> std::result::Result<Arc<Shaped>, String> {
        if let Some(s) = self.shaped.get(&(font_id, size)).and_then(|m| m.get(text)) {
            return Ok(s.clone());
        }
        if self.shaped_count >= MAX_SHAPED {
            self.shaped.clear();
            self.runs.clear();
            self.shaped_count = 0;
        }
        let run = match self.runs.get(&font_id).and_then(|m| m.get(text)) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(self.shape_units(font, text)?);
                self.runs
                    .entry(font_id)
                    .or_default()
                    .insert(text.into(), r.clone());
                r
            }
        };
        let m = font.metrics(size);
        let mut shaped = Shaped::default();
        // Pens in font units, exact; each glyph's origin rounded to a whole pixel
        // (rounding half up), so its mask depends on (font, size, glyph) only.
        for (&gid, &(x, yoff, line)) in run.gids.iter().zip(&run.pens) {
            let y = line as i32 * m.line_height - font.px(i64::from(yoff), size);
            shaped.pens.push((font.px(x, size), y));
            shaped.gids.push(gid);
        }
        let lines = run.advances.len() as u32;
        let width = run
            .advances
            .iter()
            .map(|&a| font.px(a, size))
            .max()
            .unwrap_or(0);
        shaped.metrics = TextMetrics {
            width,
            height: lines as i32 * m.line_height,
            ascent: m.ascent,
            descent: m.descent,
            lines,
        };
        shaped.fill = self.masks(font_id, font, size, &shaped.gids, 0)?;
        let shaped = Arc::new(shaped);
        self.shaped
            .entry((font_id, size))
            .or_default()
            .insert(text.into(), shaped.clone());
        self.shaped_count += 1;
        Ok(shaped)
    }

    /// Shapes each line of `text` with rustybuzz (script and direction guessed from
    /// its characters), in font units.
    fn shape_units(&mut self, font: &Font, text: &str) -> std::result::Result<Run, String> {
        let face = font.face().ok_or("the font could not be parsed")?;
        let mut run = Run::default();
        let mut buffer = self.buffer.take().unwrap_or_default();
        for (line, part) in text.split('\n').enumerate() {
            let part = part.strip_suffix('\r').unwrap_or(part);
            buffer.push_str(part);
            buffer.guess_segment_properties();
            let out = rustybuzz::shape(&face, &[], buffer);
            let mut pen = 0i64;
            for (info, pos) in out.glyph_infos().iter().zip(out.glyph_positions()) {
                run.pens
                    .push((pen + i64::from(pos.x_offset), pos.y_offset, line as u32));
                run.gids.push(info.glyph_id as u16);
                pen += i64::from(pos.x_advance);
            }
            run.advances.push(pen);
            buffer = out.clear();
        }
        self.buffer = Some(buffer);
        Ok(run)
    }

    /// The halo masks of a shaped string (computed once per halo width).
    pub(crate) fn halo(
        &mut self,
        font_id: u32,
        font: &Font,
        size: u32,
        text: &str,
        shaped: &Arc<Shaped>,
        halo: u32,
    ) -> std::result::Result<Arc<Shaped>, String> {
        if shaped.halos.iter().any(|(w, _)| *w == halo) {
            return Ok(shaped.clone());
        }
        let masks = self.masks(font_id, font, size, &shaped.gids, halo)?;
        let mut next = Shaped {
            pens: shaped.pens.clone(),
            gids: shaped.gids.clone(),
            fill: shaped.fill.clone(),
            halos: shaped.halos.clone(),
            metrics: shaped.metrics,
        };
        next.halos.push((halo, masks));
        let next = Arc::new(next);
        if let Some(m) = self.shaped.get_mut(&(font_id, size)) {
            m.insert(text.into(), next.clone());
        }
        Ok(next)
    }

    fn masks(
        &mut self,
        font_id: u32,
        font: &Font,
        size: u32,
        gids: &[u16],
        halo: u32,
    ) -> std::result::Result<Vec<AtlasGlyph>, String> {
        let mut out = Vec::with_capacity(gids.len());
        let mut face = None;
        for &gid in gids {
            let key = (font_id, size, gid, halo);
            if let Some(g) = self.glyphs.get(&key) {
                out.push(*g);
                continue;
            }
            let face = match &mut face {
                Some(f) => f,
                None => face.insert(
                    ttf_parser::Face::parse(font.data.bytes(), font.index)
                        .map_err(|e| format!("font: {e}"))?,
                ),
            };
            let (g, mask) = rasterize(face, font.upem, size, gid);
            let (g, mask) = if halo > 0 {
                dilate(&g, &mask, halo)
            } else {
                (g, mask)
            };
            if self.atlas.len() + mask.len() > MAX_ATLAS_BYTES {
                // Full: start over. Masks handed out earlier in this resolution would
                // point into the old atlas, so the caller re-resolves (see resolve).
                self.reset();
                return Err(ATLAS_RESET.into());
            }
            let g = AtlasGlyph {
                off: self.atlas.len() as u32,
                ..g
            };
            self.atlas.extend_from_slice(&mask);
            self.glyphs.insert(key, g);
            out.push(g);
        }
        Ok(out)
    }
}

/// The message of the one retryable text error: the atlas was full and was cleared.
pub(crate) const ATLAS_RESET: &str = "glyph atlas full: cleared";

/// Glyph `gid`'s coverage mask at `size` px: 8-bit coverage of its outline (exact
/// area coverage, no hinting), bounding box snapped outward to whole pixels.
fn rasterize(face: &ttf_parser::Face<'_>, upem: i32, size: u32, gid: u16) -> (AtlasGlyph, Vec<u8>) {
    struct Path(Vec<Seg>);
    enum Seg {
        Line(f32, f32, f32, f32),
        Quad(f32, f32, f32, f32, f32, f32),
        Cubic(f32, f32, f32, f32, f32, f32, f32, f32),
    }
    struct Builder {
        path: Path,
        start: (f32, f32),
        at: (f32, f32),
    }
    impl ttf_parser::OutlineBuilder for Builder {
        fn move_to(&mut self, x: f32, y: f32) {
            self.start = (x, y);
            self.at = (x, y);
        }
        fn line_to(&mut self, x: f32, y: f32) {
            self.path.0.push(Seg::Line(self.at.0, self.at.1, x, y));
            self.at = (x, y);
        }
        fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
            self.path
                .0
                .push(Seg::Quad(self.at.0, self.at.1, x1, y1, x, y));
            self.at = (x, y);
        }
        fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
            self.path
                .0
                .push(Seg::Cubic(self.at.0, self.at.1, x1, y1, x2, y2, x, y));
            self.at = (x, y);
        }
        fn close(&mut self) {
            if self.at != self.start {
                self.path
                    .0
                    .push(Seg::Line(self.at.0, self.at.1, self.start.0, self.start.1));
            }
            self.at = self.start;
        }
    }
    let mut b = Builder {
        path: Path(Vec::new()),
        start: (0.0, 0.0),
        at: (0.0, 0.0),
    };
    let Some(bbox) = face.outline_glyph(ttf_parser::GlyphId(gid), &mut b) else {
        return (AtlasGlyph::default(), Vec::new()); // no outline (a space)
    };
    let s = size as f32 / upem as f32;
    let x0 = (f32::from(bbox.x_min) * s).floor();
    let x1 = (f32::from(bbox.x_max) * s).ceil();
    let ytop = (f32::from(bbox.y_max) * s).ceil();
    let ybot = (f32::from(bbox.y_min) * s).floor();
    let (w, h) = ((x1 - x0) as i64, (ytop - ybot) as i64);
    if w <= 0 || h <= 0 || w > 4 * i64::from(size) + 64 || h > 4 * i64::from(size) + 64 {
        return (AtlasGlyph::default(), Vec::new());
    }
    let (w, h) = (w as usize, h as usize);
    let mut r = Rasterizer::new(w, h);
    let p = |x: f32, y: f32| point(x * s - x0, ytop - y * s);
    for seg in &b.path.0 {
        match *seg {
            Seg::Line(ax, ay, bx, by) => r.draw_line(p(ax, ay), p(bx, by)),
            Seg::Quad(ax, ay, cx, cy, bx, by) => r.draw_quad(p(ax, ay), p(cx, cy), p(bx, by)),
            Seg::Cubic(ax, ay, c1x, c1y, c2x, c2y, bx, by) => {
                r.draw_cubic(p(ax, ay), p(c1x, c1y), p(c2x, c2y), p(bx, by))
            }
        }
    }
    let mut mask = vec![0u8; w * h];
    r.for_each_pixel(|i, v| {
        mask[i] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    });
    let g = AtlasGlyph {
        off: 0,
        w: w as u16,
        h: h as u16,
        left: x0 as i32,
        top: -(ytop as i32),
    };
    (g, mask)
}

/// The halo mask of width r: each pixel takes the largest coverage within distance
/// r (integer offsets with dx^2 + dy^2 <= r^2 + r, a round disc), over the mask grown
/// by r on every side.
fn dilate(g: &AtlasGlyph, mask: &[u8], r: u32) -> (AtlasGlyph, Vec<u8>) {
    if g.w == 0 || g.h == 0 {
        return (*g, Vec::new());
    }
    let r = r as i32;
    let (w, h) = (i32::from(g.w), i32::from(g.h));
    let (ow, oh) = (w + 2 * r, h + 2 * r);
    let mut out = vec![0u8; (ow * oh) as usize];
    for oy in 0..oh {
        for ox in 0..ow {
            let mut m = 0u8;
            for dy in -r..=r {
                for dx in -r..=r {
                    if dx * dx + dy * dy > r * r + r {
                        continue;
                    }
                    let (sx, sy) = (ox - r + dx, oy - r + dy);
                    if sx >= 0 && sy >= 0 && sx < w && sy < h {
                        m = m.max(mask[(sy * w + sx) as usize]);
                    }
                }
            }
            out[(oy * ow + ox) as usize] = m;
        }
    }
    let g = AtlasGlyph {
        off: 0,
        w: ow as u16,
        h: oh as u16,
        left: g.left - r,
        top: g.top - r,
    };
    (g, out)
}
