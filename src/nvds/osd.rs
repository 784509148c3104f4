//! Draw lists from DeepStream metadata, the way nvdsosd draws it: object boxes
//! (`rect_params`: border width and colour, `has_bg_color`/`bg_color` fill), blurs for
//! chosen classes, labels, masks, and the application's display metas.
//!
//! Everything nvdsosd draws goes through one function per kind, so each can be
//! wired to its op in one place: [`push_box`] (done: the box op), [`push_label`],
//! [`push_mask`], [`push_line`], [`push_arrow`], [`push_circle`]. The text, mask and
//! shape ops are not in cudadraw's draw model yet; until they are:
//! - [`push_label`] draws the label's background box (when `set_bg_clr` is set) at an
//!   *estimated* text extent ([`label_box`]) and not the text ([`Hook::Partial`]);
//! - [`push_mask`], [`push_line`], [`push_arrow`] and [`push_circle`] validate and
//!   draw nothing ([`Hook::WaitingForOp`]).
//!
//! The counts say how many items waited ([`OsdCounts`]), so nothing is silently lost.

use crate::color::Color;
use crate::draw::{Align, BORDER_WIDTH_RANGE, BlurKind, BlurOp, Border, DrawList};
use crate::geom::Rect;

use super::view::{FrameMeta, OsdArrow, OsdCircle, OsdLine, OsdMask, OsdRect, OsdText};

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
            max_ops: crate::draw::Limits::default().max_ops_per_list,
        }
    }
}

/// What a hook did with its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// Drawn in full.
    Drawn,
    /// Only part drawn (a label's background box: the text op is missing).
    Partial,
    /// Valid, but the op it needs is not in the draw model yet: nothing drawn.
    WaitingForOp,
    /// Nothing to draw (zero width, transparent, empty).
    Nothing,
}

/// What [`draw_frame`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OsdCounts {
    pub boxes: usize,
    pub blurs: usize,
    /// Labels of which only the background box was drawn.
    pub labels_background_only: usize,
    /// Labels without background: nothing drawn until the text op exists.
    pub labels_waiting: usize,
    pub masks_waiting: usize,
    pub lines_waiting: usize,
    pub arrows_waiting: usize,
    pub circles_waiting: usize,
    /// Items left out because the list reached [`OsdOptions::max_ops`].
    pub over_limit: usize,
}

impl OsdCounts {
    /// Items that wait for an op the draw model lacks (text, mask, shapes).
    pub fn waiting(&self) -> usize {
        self.labels_background_only
            + self.labels_waiting
            + self.masks_waiting
            + self.lines_waiting
            + self.arrows_waiting
            + self.circles_waiting
    }

    fn label(&mut self, h: Hook) {
        match h {
            Hook::Partial => self.labels_background_only += 1,
            Hook::WaitingForOp => self.labels_waiting += 1,
            _ => {}
        }
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
            && push_mask(list, &o.rect, m) == Hook::WaitingForOp
        {
            n.masks_waiting += 1;
        }
        if options.display_text
            && let Some(t) = &o.text
            && !full(list, &mut n)
        {
            n.label(push_label(list, t));
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
                if push_line(list, l) == Hook::WaitingForOp {
                    n.lines_waiting += 1;
                }
            }
            for a in &d.arrows {
                if push_arrow(list, a) == Hook::WaitingForOp {
                    n.arrows_waiting += 1;
                }
            }
            for c in &d.circles {
                if push_circle(list, c) == Hook::WaitingForOp {
                    n.circles_waiting += 1;
                }
            }
            if options.display_text {
                for t in &d.texts {
                    if !full(list, &mut n) {
                        n.label(push_label(list, t));
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

/// Where a label's text would lie: at (`x_offset`, `y_offset`), one line of
/// `font_size`-point glyphs. An estimate (0.6 em advance per char, 1.4 em line at 96
/// dpi) until the text op measures the text.
pub fn label_box(t: &OsdText<'_>) -> Rect {
    let px = t.font_size.clamp(1, 512) as f32 * 96.0 / 72.0;
    let chars = t.text.chars().count().min(1024) as f32;
    Rect::new(
        t.x as f32,
        t.y as f32,
        (chars * 0.6 * px).ceil(),
        (1.4 * px).ceil(),
    )
}

/// A label (`NvOSD_TextParams`). **Waits for the text op**: today only its
/// background box ([`label_box`], `text_bg_clr`) is drawn when `set_bg_clr` is set;
/// the text itself is not.
pub fn push_label(list: &mut DrawList, t: &OsdText<'_>) -> Hook {
    match t.bg_color.filter(|c| c.a > 0) {
        Some(bg) => {
            list.fill(label_box(t), bg);
            Hook::Partial
        }
        None => Hook::WaitingForOp,
    }
}

/// An instance mask over its object's rect. **Waits for the mask op**: nothing is
/// drawn today.
pub fn push_mask(_list: &mut DrawList, _rect: &OsdRect, m: &OsdMask<'_>) -> Hook {
    if m.data.is_empty() {
        Hook::Nothing
    } else {
        Hook::WaitingForOp
    }
}

/// A display-meta line. **Waits for the line op**: nothing is drawn today.
pub fn push_line(_list: &mut DrawList, l: &OsdLine) -> Hook {
    if l.width == 0 || l.color.a == 0 {
        Hook::Nothing
    } else {
        Hook::WaitingForOp
    }
}

/// A display-meta arrow. **Waits for the arrow op**: nothing is drawn today.
pub fn push_arrow(_list: &mut DrawList, a: &OsdArrow) -> Hook {
    if a.width == 0 || a.color.a == 0 {
        Hook::Nothing
    } else {
        Hook::WaitingForOp
    }
}

/// A display-meta circle. **Waits for the circle op**: nothing is drawn today.
pub fn push_circle(_list: &mut DrawList, c: &OsdCircle) -> Hook {
    let fill = c.bg_color.is_some_and(|b| b.a > 0);
    if c.radius == 0 || (c.color.a == 0 && !fill) {
        Hook::Nothing
    } else {
        Hook::WaitingForOp
    }
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
