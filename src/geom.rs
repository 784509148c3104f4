//! Geometry: float rectangles as users give them, integer pixel regions as backends draw them.

use crate::cmd::CdRegion;

/// Largest magnitude accepted for any coordinate or size, in pixels. Frames are at most
/// [`crate::frame::MAX_DIMENSION`] wide, so anything beyond this is a bug upstream,
/// reported as an error rather than silently clipped.
pub const MAX_COORD: f32 = 1.0e6;

/// A rectangle in pixels, (left, top, width, height), as DeepStream's `NvOSD_RectParams`.
/// Negative sizes are allowed and draw nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub const fn new(left: f32, top: f32, width: f32, height: f32) -> Self {
        Self {
            left,
            top,
            width,
            height,
        }
    }

    /// Checks that every field is finite and within [`MAX_COORD`]; names the bad field.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("left", self.left),
            ("top", self.top),
            ("width", self.width),
            ("height", self.height),
        ] {
            if !v.is_finite() {
                return Err(format!("{name} is {v}, not a finite number"));
            }
            if v.abs() > MAX_COORD {
                return Err(format!("{name} = {v} is beyond +-{MAX_COORD}"));
            }
        }
        Ok(())
    }

    /// Pixel edges: x0 = round(left), x1 = round(left + width), rounding half away from
    /// zero. The sum is taken in f64 so it is exact for every f32 input.
    /// Call [`Rect::check`] first; non-finite inputs give an empty region.
    pub fn to_pixels(&self) -> PixelRect {
        self.to_pixels_grown(0.0)
    }

    /// The rectangle grown by `e` on every side, then rounded: x0 = round(left - e),
    /// x1 = round(left + width + e), all in f64 (exact for f32 inputs), as the spec
    /// says for blur `expand`. The grown edges may pass [`MAX_COORD`]: they saturate
    /// and are clipped by the caller, never dropped. Call [`Rect::check`] first;
    /// non-finite inputs give an empty region.
    pub fn to_pixels_grown(&self, e: f64) -> PixelRect {
        if self.check().is_err() || !e.is_finite() {
            return PixelRect::EMPTY;
        }
        let l = f64::from(self.left);
        let t = f64::from(self.top);
        PixelRect {
            x0: round_away(l - e),
            y0: round_away(t - e),
            x1: round_away(l + f64::from(self.width) + e),
            y1: round_away(t + f64::from(self.height) + e),
        }
    }
}

/// A point in pixels (f32, like rectangles): (0, 0) is the top-left corner of the
/// top-left pixel, whose centre is (0.5, 0.5).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// Checks that both coordinates are finite and within [`MAX_COORD`].
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [("x", self.x), ("y", self.y)] {
            if !v.is_finite() {
                return Err(format!("{name} is {v}, not a finite number"));
            }
            if v.abs() > MAX_COORD {
                return Err(format!("{name} = {v} is beyond +-{MAX_COORD}"));
            }
        }
        Ok(())
    }
}

/// Rounds half away from zero (what C's `lround` does), saturating to the i32 range
/// (inputs within a few [`MAX_COORD`] never reach it).
fn round_away(v: f64) -> i32 {
    v.round() as i32
}

/// A half-open integer pixel rectangle [x0, x1) x [y0, y1). Empty when x1 <= x0 or y1 <= y0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PixelRect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl PixelRect {
    pub const EMPTY: PixelRect = PixelRect {
        x0: 0,
        y0: 0,
        x1: 0,
        y1: 0,
    };

    pub const fn new(x0: i32, y0: i32, x1: i32, y1: i32) -> Self {
        Self { x0, y0, x1, y1 }
    }

    /// The whole of a `width` x `height` frame.
    pub fn frame(width: u32, height: u32) -> Self {
        Self::new(0, 0, width as i32, height as i32)
    }

    pub fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }

    pub fn width(&self) -> i32 {
        (self.x1 - self.x0).max(0)
    }

    pub fn height(&self) -> i32 {
        (self.y1 - self.y0).max(0)
    }

    /// Number of pixels covered (0 when empty).
    pub fn area(&self) -> u64 {
        self.width() as u64 * self.height() as u64
    }

    pub fn intersect(&self, o: &PixelRect) -> PixelRect {
        PixelRect {
            x0: self.x0.max(o.x0),
            y0: self.y0.max(o.y0),
            x1: self.x1.min(o.x1),
            y1: self.y1.min(o.y1),
        }
    }

    /// Grows (d > 0) or shrinks (d < 0) every side by `d` pixels, saturating.
    pub fn grow(&self, d: i32) -> PixelRect {
        PixelRect {
            x0: self.x0.saturating_sub(d),
            y0: self.y0.saturating_sub(d),
            x1: self.x1.saturating_add(d),
            y1: self.y1.saturating_add(d),
        }
    }

    /// Grows the left/top edges by `a` and the right/bottom edges by `b` (negative shrinks).
    pub fn grow2(&self, a: i32, b: i32) -> PixelRect {
        PixelRect {
            x0: self.x0.saturating_sub(a),
            y0: self.y0.saturating_sub(a),
            x1: self.x1.saturating_add(b),
            y1: self.y1.saturating_add(b),
        }
    }

    pub fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }

    pub fn overlaps(&self, o: &PixelRect) -> bool {
        !self.intersect(o).is_empty()
    }
}

impl From<PixelRect> for CdRegion {
    fn from(r: PixelRect) -> Self {
        CdRegion {
            x0: r.x0,
            y0: r.y0,
            x1: r.x1,
            y1: r.y1,
        }
    }
}

impl From<CdRegion> for PixelRect {
    fn from(r: CdRegion) -> Self {
        PixelRect {
            x0: r.x0,
            y0: r.y0,
            x1: r.x1,
            y1: r.y1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            Rect::new(0.5, -0.5, 1.0, 1.0).to_pixels(),
            PixelRect::new(1, -1, 2, 1)
        );
        assert_eq!(
            Rect::new(1.49, 2.5, 0.02, -5.0).to_pixels(),
            PixelRect::new(1, 3, 2, -3)
        );
    }

    #[test]
    fn rejects_non_finite_and_absurd() {
        assert!(
            Rect::new(f32::NAN, 0.0, 1.0, 1.0)
                .check()
                .unwrap_err()
                .contains("left")
        );
        assert!(
            Rect::new(0.0, 0.0, f32::INFINITY, 1.0)
                .check()
                .unwrap_err()
                .contains("width")
        );
        assert!(
            Rect::new(0.0, 2.0e6, 1.0, 1.0)
                .check()
                .unwrap_err()
                .contains("top")
        );
        assert!(Rect::new(f32::NAN, 0.0, 1.0, 1.0).to_pixels().is_empty());
    }

    #[test]
    fn grown_edges_are_summed_in_f64_before_rounding() {
        // top + expand in f32 would round 0.49999997 - 1 to -0.50000003 -> -1 and
        // 0.49999997 + 0 + 1 to 1.5 -> 2; the spec's sum gives [-1, 1).
        let r = Rect::new(0.0, 0.499_999_97, 4.0, 0.0).to_pixels_grown(1.0);
        assert_eq!((r.y0, r.y1), (-1, 1));
        // Beyond the coordinate limit once grown: still a region, clipped later.
        let r = Rect::new(0.0, 0.0, 1.0e6, 1.0e6).to_pixels_grown(8.0);
        assert_eq!(r, PixelRect::new(-8, -8, 1_000_008, 1_000_008));
    }

    #[test]
    fn intersect_and_grow() {
        let a = PixelRect::new(0, 0, 10, 10);
        assert_eq!(
            a.intersect(&PixelRect::new(5, -5, 20, 5)),
            PixelRect::new(5, 0, 10, 5)
        );
        assert!(a.intersect(&PixelRect::new(10, 0, 20, 10)).is_empty());
        assert_eq!(a.grow(-6).area(), 0);
        assert_eq!(a.grow2(1, 2), PixelRect::new(-1, -1, 12, 12));
    }
}
