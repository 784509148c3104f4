//! Draw lists from DeepStream metadata, the way nvdsosd draws it: object boxes
//! (`rect_params`: border width and colour, `has_bg_color`/`bg_color` fill), blurs for
//! chosen classes, labels, masks, and the application's display metas.
//!
//! Everything nvdsosd draws goes through one function per kind, each wired to its op
//! in one place: [`push_box`] (the box op), [`push_label`] (the text op, with its
//! background box), [`push_mask`] (the mask op), [`push_line`], [`push_arrow`] and
//! [`push_circle`] (the shape ops).
//!
//! The counts say what was drawn ([`OsdCounts`]).

use crate::color::Color;
use crate::draw::text::TEXT_SIZE_RANGE;
use crate::draw::{
    Align, ArrowEnds, ArrowOp, BORDER_WIDTH_RANGE, BlurKind, BlurOp, Border, DrawList, Filter,
    FontId, MaskOp, MaskSource, MaskValues, Stroke, TextStyle,
};
use crate::geom::{Point, Rect};

use super::view::{ArrowHead, FrameMeta, OsdArrow, OsdCircle, OsdLine, OsdMask, OsdRect, OsdText};

/// What to draw of a frame's metadata (the element's properties map onto it).
#[derive(Debug, Clone, PartialEq)]
pub struct OsdOptions {
    /// Object boxes (`display-bbox`).
    pub display_bbox: bool,
    /// Object labels and display-meta texts (`display-text`).
    pub display_text: bool,
    /// Object masks (`display-mask`).
    pub display_mask: bool,
    /// The application's `NvDsDisplayMeta`s (rects, texts, lines, arrows, circles).
    pub display_meta: bool,
    /// Objects of these classes are blurred (or redacted) instead of boxed.
    pub blur_class_ids: Vec<i32>,
    /// How they are hidden.
    pub blur: BlurKind,
    /// Pixels added on every side of a blurred object.
    pub expand: f32,
    /// Where box borders lie relative to the rect (cudadraw's choice; nvdsosd's
    /// exact stroke placement is not claimed).
    pub align: Align,
    /// The font of labels and display-meta texts (`font_name` is not looked up: fonts
    /// are registered with the renderer; default the built-in DejaVu Sans).
    pub font: FontId,
    /// Most ops [`draw_frame`] lets a list hold (default: the draw model's
    /// [`crate::draw::Limits`] per list); items past it are counted, not drawn, so
    /// one frame with too many objects cannot make the whole batch fail.
    pub max_ops: usize,
}

impl Default for OsdOptions {
    fn default() -> Self {
        Self {
            display_bbox: true,
            display_text: true,
            display_mask: true,
            display_meta: true,
            blur_class_ids: Vec::new(),
            blur: BlurKind::Pixelate { block: 16 },
            expand: 0.0,
            align: Align::Inside,
            font: FontId::DEFAULT,
            max_ops: crate::draw::Limits::default().max_ops_per_list,
        }
    }
}

/// What a hook did with its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Drawn in full.
    Drawn,
    /// Nothing to draw (zero width, transparent, empty).
    Nothing,
}

/// What [`draw_frame`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OsdCounts {
    pub boxes: usize,
    pub blurs: usize,
    pub labels: usize,
    pub masks: usize,
    pub lines: usize,
    pub arrows: usize,
    pub circles: usize,
    /// Items left out because the list reached [`OsdOptions::max_ops`].
    pub over_limit: usize,
}

impl OsdCounts {
    /// Items drawn (boxes, blurs, labels and texts, masks, lines, arrows, circles).
    pub fn drawn(&self) -> usize {
        self.boxes + self.blurs + self.labels + self.masks + self.lines + self.arrows + self.circles
    }

    fn label(&mut self, h: Hook) {
        self.labels += usize::from(h == Hook::Drawn);
    }
}

/// The rect of an `NvOSD_RectParams` in cudadraw's terms.
pub fn rect_of(r: &OsdRect) -> Rect {
    Rect::new(r.left, r.top, r.width, r.height)
}

/// Appends this frame's metadata to `list` as nvdsosd draws it: blurs of the
/// `blur_class_ids` objects first (they read the frame as it was), then the other
/// objects' boxes, masks and labels, then the display metas (rects, lines, arrows,
/// circles, texts), in metadata order.
pub fn draw_frame(frame: &FrameMeta<'_>, options: &OsdOptions, list: &mut DrawList) -> OsdCounts {
    let mut n = OsdCounts::default();
    // Every hook pushes at most one op: one check before each keeps the list bounded.
    let full = |list: &DrawList, n: &mut OsdCounts| {
        let full = list.len() >= options.max_ops;
        n.over_limit += usize::from(full);
        full
    };
    for o in &frame.objects {
        if options.blur_class_ids.contains(&o.class_id) && !full(list, &mut n) {
            list.push(BlurOp {
                rect: rect_of(&o.rect),
                kind: options.blur,
                expand: options.expand,
            });
            n.blurs += 1;
        }
    }
    for o in &frame.objects {
        if options.blur_class_ids.contains(&o.class_id) {
            continue;
        }
        if options.display_bbox
            && !full(list, &mut n)
            && push_box(list, &o.rect, options.align) == Hook::Drawn
        {
            n.boxes += 1;
        }
        if options.display_mask
            && let Some(m) = &o.mask
            && !full(list, &mut n)
            && push_mask(list, &o.rect, m) == Hook::Drawn
        {
            n.masks += 1;
        }
        if options.display_text
            && let Some(t) = &o.text
            && !full(list, &mut n)
        {
            n.label(push_label(list, t, options.font));
        }
    }
    if options.display_meta {
        for d in &frame.displays {
            for r in &d.rects {
                if !full(list, &mut n) && push_box(list, r, options.align) == Hook::Drawn {
                    n.boxes += 1;
                }
            }
            for l in &d.lines {
                if !full(list, &mut n) && push_line(list, l) == Hook::Drawn {
                    n.lines += 1;
                }
            }
            for a in &d.arrows {
                if !full(list, &mut n) && push_arrow(list, a) == Hook::Drawn {
                    n.arrows += 1;
                }
            }
            for c in &d.circles {
                if !full(list, &mut n) && push_circle(list, c) == Hook::Drawn {
                    n.circles += 1;
                }
            }
            if options.display_text {
                for t in &d.texts {
                    if !full(list, &mut n) {
                        n.label(push_label(list, t, options.font));
                    }
                }
            }
        }
    }
    n
}

/// An nvdsosd box: border of `border_width` (clamped to the draw model's 1..=1024;
/// 0 or a transparent colour: none) and, with `has_bg_color`, a `bg_color` fill.
pub fn push_box(list: &mut DrawList, r: &OsdRect, align: Align) -> Hook {
    let border = (r.border_width > 0 && r.border_color.a > 0).then(|| {
        Border::new(
            r.border_width.min(*BORDER_WIDTH_RANGE.end()),
            r.border_color,
        )
        .align(align)
    });
    let fill = r.bg_color.filter(|c| c.a > 0);
    if border.is_none() && fill.is_none() {
        return Hook::Nothing;
    }
    list.rect(rect_of(r), border, fill);
    Hook::Drawn
}

/// The pixel size of an nvdsosd `font_size` (points at 96 dpi: px = round(pt * 4 / 3)),
/// clamped to the text op's range.
pub fn font_px(font_size: u32) -> u32 {
    ((u64::from(font_size) * 4 + 1) / 3).clamp(
        u64::from(*TEXT_SIZE_RANGE.start()),
        u64::from(*TEXT_SIZE_RANGE.end()),
    ) as u32
}

/// A label (`NvOSD_TextParams`): the text op with its box's top-left corner at
/// (`x_offset`, `y_offset`), `font_color`, and with `set_bg_clr` a `text_bg_clr` box
/// 1 px around the text (its line box), as nvdsosd draws it.
pub fn push_label(list: &mut DrawList, t: &OsdText<'_>, font: FontId) -> Hook {
    let bg = t.bg_color.filter(|c| c.a > 0);
    if t.text.is_empty() || (t.font_color.a == 0 && bg.is_none()) {
        return Hook::Nothing;
    }
    let mut style = TextStyle::new(font_px(t.font_size), t.font_color)
        .font(font)
        .padding(1);
    style.background = bg;
    list.text(t.x as f32, t.y as f32, t.text, style);
    Hook::Drawn
}

/// `format` (strftime's `%Y %m %d %H %M %S %y %e %j %%`; other `%` sequences stay as
/// written) at `unix` seconds, UTC: the clock of `display-clock`.
pub fn format_clock(format: &str, unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = CUM[(m - 1) as usize] + d + i64::from(leap && m > 2);
    let mut out = String::with_capacity(format.len() + 8);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&format!("{y:04}")),
            Some('y') => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Some('m') => out.push_str(&format!("{m:02}")),
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('e') => out.push_str(&format!("{d:2}")),
            Some('j') => out.push_str(&format!("{yday:03}")),
            Some('H') => out.push_str(&format!("{:02}", secs / 3600)),
            Some('M') => out.push_str(&format!("{:02}", secs / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", secs % 60)),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// An instance mask over its object's rect (`mask_params`): the mask op, drawn where
/// the mask reaches `threshold`, bilinear, in the rect's border colour at alpha 128 (a
/// translucent tint of the object's colour; nvdsosd's own colouring is not claimed).
pub fn push_mask(list: &mut DrawList, rect: &OsdRect, m: &OsdMask<'_>) -> Hook {
    if m.data.is_empty() || m.width == 0 || m.height == 0 {
        return Hook::Nothing;
    }
    let color = Color {
        a: 128,
        ..rect.border_color
    };
    list.push(MaskOp {
        rect: rect_of(rect),
        mask: MaskSource::host(m.width, m.height, MaskValues::F32(m.data.into())),
        threshold: m.threshold.clamp(0.0, 1.0),
        color,
        filter: Filter::Bilinear,
        contour: None,
    });
    Hook::Drawn
}

/// A display-meta line (`NvOSD_LineParams`): the line op, `line_width` px, flat caps.
pub fn push_line(list: &mut DrawList, l: &OsdLine) -> Hook {
    if l.width == 0 || l.color.a == 0 {
        return Hook::Nothing;
    }
    list.line(
        Point::new(l.x1 as f32, l.y1 as f32),
        Point::new(l.x2 as f32, l.y2 as f32),
        l.width.min(1024) as f32,
        l.color,
    );
    Hook::Drawn
}

/// A display-meta arrow (`NvOSD_ArrowParams`): the arrow op with its heads where
/// `arrow_head` says, head length 4 widths + 6 px, 30 degrees.
pub fn push_arrow(list: &mut DrawList, a: &OsdArrow) -> Hook {
    if a.width == 0 || a.color.a == 0 {
        return Hook::Nothing;
    }
    let width = a.width.min(1024) as f32;
    list.push(ArrowOp {
        from: Point::new(a.x1 as f32, a.y1 as f32),
        to: Point::new(a.x2 as f32, a.y2 as f32),
        width,
        color: a.color,
        head_length: (4.0 * width + 6.0).min(4096.0),
        head_angle: 30.0,
        ends: match a.head {
            ArrowHead::Start => ArrowEnds::Start,
            ArrowHead::End => ArrowEnds::End,
            ArrowHead::Both => ArrowEnds::Both,
        },
        aa: false,
    });
    Hook::Drawn
}

/// A display-meta circle (`NvOSD_CircleParams`): outline of `circle_width` px (1
/// before DeepStream 8.0, which has no such field) inside `radius`, and with
/// `has_bg_color` a `bg_color` fill.
pub fn push_circle(list: &mut DrawList, c: &OsdCircle) -> Hook {
    let fill = c.bg_color.filter(|b| b.a > 0);
    let width = c.width.unwrap_or(1).min(1024);
    let outline = (width > 0 && c.color.a > 0).then(|| Stroke::new(width as f32, c.color));
    if c.radius == 0 || (outline.is_none() && fill.is_none()) {
        return Hook::Nothing;
    }
    list.circle(
        Point::new(c.xc as f32, c.yc as f32),
        c.radius as f32,
        outline,
        fill,
    );
    Hook::Drawn
}

/// The colour nvdsosd would use for an object of `class_id` with no colour of its
/// own: not used by [`draw_frame`] (DeepStream always sets `border_color`), offered
/// for probe users who build boxes themselves.
pub fn class_color(class_id: i32) -> Color {
    const PALETTE: [Color; 6] = [
        Color::RED,
        Color::GREEN,
        Color::BLUE,
        Color::rgb(255, 255, 0),
        Color::rgb(0, 255, 255),
        Color::rgb(255, 0, 255),
    ];
    PALETTE[class_id.unsigned_abs() as usize % PALETTE.len()]
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn clock_formats_utc() {
        // 2026-12-02 01:15:07 UTC.
        let t = 1_796_174_107;
        assert_eq!(format_clock("%Y-%m-%d %H:%M:%S", t), "2026-12-02 01:15:07");
        assert_eq!(format_clock("%y %e %j %% %q", t), "26  2 336 % %q");
        assert_eq!(format_clock("%H:%M", 0), "00:00");
        assert_eq!(format_clock("%Y-%m-%d", 951_782_400), "2000-02-29");
        assert_eq!(format_clock("%Y-%m-%d", -86_400), "1969-12-31");
    }

    #[test]
    fn nvdsosd_font_sizes_become_pixels() {
        assert_eq!(font_px(12), 16);
        assert_eq!(font_px(0), 6);
        assert_eq!(font_px(u32::MAX), 256);
    }
}
