// Shared by every kernel family (composite.cu, blur.cu): the command format
// (commands.h), the launch geometry, and the per-pixel helpers whose arithmetic must
// match the CPU renderer bit for bit (docs/semantics.md).
#ifndef CUDADRAW_COMMON_CUH
#define CUDADRAW_COMMON_CUH
#include "commands.h"

// Per-pixel math is __host__ __device__: tests/kernel_math.rs compiles this header for
// the host with the machine's C++ compiler and checks it against the CPU renderer, so
// kernel arithmetic is caught without a GPU.
#ifdef __CUDACC__
#define CD_FN __host__ __device__ __forceinline__
#define CD_LDG(p) __ldg(p)
#else
#include <math.h>
#include <stddef.h>
#include <string.h>
#define CD_FN static inline
#define CD_LDG(p) (*(p))
#endif

// Shared with the host through commands.h (the one definition).
#define TILE_W CD_TILE_W
#define TILE_H CD_TILE_H
#define THREADS CD_THREADS

// Blur tiles: pass 1 covers B1_W x B1_H outputs, pass 2 covers B2_W x B2_H.
#define B1_W CD_B1_W
#define B1_H CD_B1_H
#define B2_W CD_B2_W
#define B2_H CD_B2_H
#define MAX_BOX_R CD_MAX_BOX_RADIUS
#define SEG_W (B1_W + 2 * MAX_BOX_R + 2) // 320
// Rows of horizontal sums pass 2 stages in shared memory (box blurs with
// 2 r + B2_H <= ST_ROWS, i.e. r <= 24; larger radii read them from global memory).
#define ST_ROWS 80

CD_FN int clampi(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

CD_FN bool has_alpha(uint32_t fmt) {
    return fmt == CD_FMT_RGBA || fmt == CD_FMT_BGRA;
}

CD_FN uint32_t* px_ptr(const CdFrame& f, int x, int y) {
    return (uint32_t*)(uintptr_t)(f.ptr + (uint64_t)y * f.pitch + (uint64_t)x * 4u);
}

CD_FN uint32_t with_x_byte(uint32_t v, uint32_t orig, bool alpha) {
    return alpha ? v : ((v & 0x00ffffffu) | (orig & 0xff000000u));
}

// floor(x / d) for x < 2^24 and 1 <= d <= 65536 by a multiply and a shift
// (Granlund-Montgomery, round-up variant: the CPU renderer's Divider in src/cpu/blur.rs):
// a division by a run-time divisor is a software routine of about 20 instructions on
// the GPU, and the box blurs divide every channel of every output by the window area.
// tests/kernel_math.rs proves it exact for every d (the quotient is monotone in x, so
// checking x = k d - 1 and k d for every k is exhaustive).
typedef struct Div24 {
    uint32_t m;
    uint32_t shift;
} Div24;

CD_FN Div24 div24_new(uint32_t d) {
    // l = ceil(log2 d); d > 2^(l - 1) keeps m = ceil(2^(24 + l) / d) below 2^26.
    uint32_t l = 0;
    while (l < 17 && (1u << l) < d) l++;
    Div24 v;
    v.shift = 24 + l;
    // ceil of a correctly rounded double quotient: 2^shift / d is an integer (d a power
    // of two: exact) or at least 1/d from one, far more than the rounding error (below
    // 2^26 * 2^-53). A 64-bit integer division is a long subroutine on the GPU.
    v.m = (uint32_t)ceil((double)(1ull << v.shift) / (double)d);
    return v;
}

CD_FN uint32_t div24(Div24 v, uint32_t x) {
    return (uint32_t)(((uint64_t)x * v.m) >> v.shift);
}

// floor(n / d) for n < 2^24 and d >= 1 (a tile index over the tiles of a row) from the
// float quotient: correctly rounded (div.rn, no fast math) its floor is already exact
// there (n / d is at least 1/d from the next integer, the rounding error below
// n / d * 2^-24 < 1/d); the integer step keeps it exact should the division ever be
// approximate (within 1). Cheaper than an integer division by a run-time divisor (a
// software routine on the GPU), which every composite block paid twice.
CD_FN uint32_t div_small(uint32_t n, uint32_t d) {
    uint32_t q = (uint32_t)((float)n / (float)d);
    if (q * d > n)
        q--;
    else if ((q + 1) * d <= n)
        q++;
    return q;
}

// floor(n / d) for non-negative n, d > 0: 32-bit division when both fit (the common
// case; 64-bit division is a long software routine on the GPU).
CD_FN int64_t div_floor(int64_t n, int64_t d) {
    if (((uint64_t)n | (uint64_t)d) >> 32 == 0) return (int64_t)((uint32_t)n / (uint32_t)d);
    return n / d;
}

// Packed blend: (c * a + d * (255 - a) + 127) / 255 for all four bytes at once, two
// channels per 32-bit word in 16-bit lanes (no lane exceeds 255 * 255 + 127), with the
// exact division x / 255 = (x + 1 + (x >> 8)) >> 8 (exact for x <= 65534).
struct Blend {
    uint32_t lo, hi; // c * a + 127 of bytes 0 and 2, bytes 1 and 3
    uint32_t ia;     // 255 - a
};

// Colour bytes c0..c2 (frame order) with alpha a; byte 3 blends with 255 in formats
// with alpha (in x formats it is restored afterwards).
CD_FN Blend make_blend(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t a) {
    Blend b;
    b.lo = (c0 * a | ((c2 * a) << 16)) + 0x007f007fu;
    b.hi = (c1 * a | ((255u * a) << 16)) + 0x007f007fu;
    b.ia = 255u - a;
    return b;
}

CD_FN uint32_t div255x2(uint32_t v) {
    v = v + 0x00010001u + ((v >> 8) & 0x00ff00ffu);
    return (v >> 8) & 0x00ff00ffu;
}

CD_FN uint32_t apply_blend(uint32_t px, const Blend& b, bool alpha) {
    const uint32_t lo = div255x2((px & 0x00ff00ffu) * b.ia + b.lo);
    const uint32_t hi = div255x2(((px >> 8) & 0x00ff00ffu) * b.ia + b.hi);
    const uint32_t v = lo | (hi << 8);
    return alpha ? v : ((v & 0x00ffffffu) | (px & 0xff000000u));
}

// Alpha of a colour of alpha a where an op covers a pixel by `cov` (0..=255): text
// and anti-aliased shapes blend with it.
CD_FN uint32_t coverage_alpha(uint32_t a, uint32_t cov) {
    return (a * cov + 127u) / 255u;
}

// Colour `col` (bytes 0..2 in frame order, byte 3 its alpha) blended over pixel p
// where an op covers it by `cov`: alpha (a * cov + 127) / 255, then the blend above.
CD_FN uint32_t coverage_blend(uint32_t p, uint32_t col, uint32_t cov, bool alpha) {
    const uint32_t al = coverage_alpha(col >> 24, cov);
    if (al == 0) return p;
    return apply_blend(
        p, make_blend(col & 255u, (col >> 8) & 255u, (col >> 16) & 255u, al), alpha);
}

// ---- Shapes (docs/semantics.md "Shapes"): integer tests at sample points, 1/256 px.

// +1 (edge going down), -1 (going up) or 0: whether the edge crosses sample row sy (its
// upper end included, its lower end not) at or left of sx.
CD_FN int edge_winding(const CdEdge& e, int64_t sx, int64_t sy) {
    int64_t ax = e.x0, ay = e.y0, bx = e.x1, by = e.y1;
    int dir = 1;
    if (ay > by) {
        int64_t t = ax; ax = bx; bx = t;
        t = ay; ay = by; by = t;
        dir = -1;
    }
    if (sy < ay || sy >= by) return 0;
    return (sy - ay) * (bx - ax) <= (sx - ax) * (by - ay) ? dir : 0;
}

CD_FN bool in_disc(const CdDisc& d, int64_t sx, int64_t sy) {
    const int64_t dx = sx - d.cx, dy = sy - d.cy, r = d.r;
    return dx * dx + dy * dy <= r * r;
}

// dx^2 ry^2 + dy^2 rx^2 <= rx^2 ry^2, exactly (128-bit).
CD_FN bool in_ellipse(int64_t cx, int64_t cy, int64_t rx, int64_t ry, int64_t sx, int64_t sy) {
    if (rx <= 0 || ry <= 0) return false;
    const int64_t sdx = sx - cx, sdy = sy - cy;
    const unsigned __int128 dx = (unsigned __int128)(uint64_t)(sdx < 0 ? -sdx : sdx);
    const unsigned __int128 dy = (unsigned __int128)(uint64_t)(sdy < 0 ? -sdy : sdy);
    const unsigned __int128 ax = (unsigned __int128)(uint64_t)rx, ay = (unsigned __int128)(uint64_t)ry;
    return dx * dx * (ay * ay) + dy * dy * (ax * ax) <= ax * ax * (ay * ay);
}

// The geometry arrays of a batch's shapes, typed.
struct ShapeData {
    const CdShape* shapes;
    const CdEdge* edges;
    const CdDisc* discs;
    const CdBand* bands;
    const uint32_t* items;
    const CdMask* masks;
    const uint8_t* data;
    const uint32_t* palette;
};

CD_FN ShapeData shape_data(const CdShapeData& d) {
    ShapeData g;
    g.masks = (const CdMask*)(uintptr_t)d.masks;
    g.data = (const uint8_t*)(uintptr_t)d.data;
    g.palette = (const uint32_t*)(uintptr_t)d.palette;
    g.shapes = (const CdShape*)(uintptr_t)d.shapes;
    g.edges = (const CdEdge*)(uintptr_t)d.edges;
    g.discs = (const CdDisc*)(uintptr_t)d.discs;
    g.bands = (const CdBand*)(uintptr_t)d.bands;
    g.items = (const uint32_t*)(uintptr_t)d.items;
    return g;
}

CD_FN bool shape_inside(const CdShape& s, const ShapeData& g, int band, int64_t sx, int64_t sy) {
    if (s.kind == CD_SHAPE_ELLIPSE)
        return in_ellipse(s.e[0], s.e[1], s.e[2], s.e[3], sx, sy) &&
               !in_ellipse(s.e[0], s.e[1], s.e[4], s.e[5], sx, sy);
    int w = 0;
    if (band >= 0) {
        const CdBand b = g.bands[band];
        for (uint32_t k = 0; k < b.edge_count; k++)
            w += edge_winding(g.edges[CD_LDG(g.items + b.edge_start + k)], sx, sy);
        if (w != 0) return true;
        for (uint32_t k = 0; k < b.disc_count; k++)
            if (in_disc(g.discs[CD_LDG(g.items + b.disc_start + k)], sx, sy)) return true;
        return false;
    }
    for (uint32_t k = 0; k < s.edge_count; k++) w += edge_winding(g.edges[s.edge_start + k], sx, sy);
    if (w != 0) return true;
    for (uint32_t k = 0; k < s.disc_count; k++)
        if (in_disc(g.discs[s.disc_start + k], sx, sy)) return true;
    return false;
}

// Coverage 0..=255 of pixel (x, y): its centre (0 or 255), or with anti-aliasing
// (n * 255 + 8) / 16 of the 4 x 4 samples at offsets 32, 96, 160, 224 (1/256 px).
CD_FN uint32_t shape_coverage(const CdShape& s, const ShapeData& g, int x, int y) {
    int band = -1;
    if (s.band != CD_NO_BANDS) {
        int k = (y - s.band_y0) / CD_BAND_H;
        k = clampi(k, 0, (int)s.band_count - 1);
        band = (int)s.band + k;
    }
    const int64_t px = (int64_t)x * 256, py = (int64_t)y * 256;
    if (!(s.flags & CD_SHAPE_AA)) return shape_inside(s, g, band, px + 128, py + 128) ? 255u : 0u;
    uint32_t n = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4; i++) n += shape_inside(s, g, band, px + 32 + 64 * i, py + 32 + 64 * j);
    return (n * 255u + 8u) / 16u;
}

// A layer's coverage with its `minus` layer's taken out: (c (255 - m) + 127) / 255.
CD_FN uint32_t layer_coverage(const CdShape& s, const ShapeData& g, int x, int y) {
    const uint32_t c = shape_coverage(s, g, x, y);
    if (c == 0 || s.minus == CD_NO_SHAPE) return c;
    const uint32_t m = shape_coverage(g.shapes[s.minus], g, x, y);
    return (c * (255u - m) + 127u) / 255u;
}

// ---- Shapes by sample rows (the composite's warps): the same samples and tests as
// shape_inside, reorganised so that the integer work is done once per edge and sample
// row instead of once per edge and sample. A warp tile starts at ox = 256 wx0 (1/256
// px); lane l's samples in a row lie at ox + 256 l + off, off = 128 (no AA) or 32, 96,
// 160, 224 (AA): relative positions 32..8160. Thresholds and spans are kept relative
// to ox and clamped to [-1, 8161], which keeps every comparison with those positions.
#define CD_REL_LO (-1)
#define CD_REL_HI 8161

CD_FN int64_t rel_clamp(int64_t v) {
    return v < CD_REL_LO ? CD_REL_LO : (v > CD_REL_HI ? CD_REL_HI : v);
}

// ceil(num / den) for den > 0, exactly, from est, a double estimate of num / den: its
// floor corrected in integers (|num| < 2^62, den < 2^32: est is within 2^10 of the
// quotient; beyond 2^53, where that much is possible, one more estimate of the
// remainder's quotient brings it within 1). Rounding of the estimates cannot change
// the result.
CD_FN int64_t ceil_div_from(int64_t num, int64_t den, double est) {
    int64_t q = (int64_t)floor(est);
    int64_t r = num - q * den;
    if (r < -4 * den || r >= 4 * den) {
        const int64_t q2 = (int64_t)floor((double)r / (double)den);
        q += q2;
        r -= q2 * den;
    }
    while (r < 0) {
        q--;
        r += den;
    }
    while (r >= den) {
        q++;
        r -= den;
    }
    return q + (r != 0);
}

// Edge e on sample row sy, packed for one warp tile: bits 0-1 the direction + 1 (1: it
// does not cross the row), bits 2.. the threshold + 1, relative to ox and clamped.
// The threshold t is the least sample x the edge counts at: edge_winding's test
// (sy - ay)(bx - ax) <= (sx - ax)(by - ay) holds exactly when sx >= ax + ceil(num / den).
CD_FN uint32_t edge_cross(const CdEdge& e, int64_t sy, int64_t ox) {
    int64_t ax = e.x0, ay = e.y0, bx = e.x1, by = e.y1;
    uint32_t d = 2; // dir + 1
    if (ay > by) {
        int64_t t = ax; ax = bx; bx = t;
        t = ay; ay = by; by = t;
        d = 0;
    }
    if (sy < ay || sy >= by) return 1u;
    const int64_t num = (sy - ay) * (bx - ax), den = by - ay;
    // Far from the tile the double quotient decides alone (its error is below 2^10).
    const double q = (double)num / (double)den;
    const double est = (double)ax + q - (double)ox;
    int64_t rel;
    if (est < -4096.0) rel = CD_REL_LO;
    else if (est > 12288.0) rel = CD_REL_HI;
    else rel = rel_clamp(ax + ceil_div_from(num, den, q) - ox);
    return ((uint32_t)(rel - CD_REL_LO) << 2) | d;
}

// Adds an edge crossing (edge_cross) to the windings of lane l's sample columns.
CD_FN void add_cross(uint32_t v, int lane, bool aa, int* w) {
    const int dir = (int)(v & 3u) - 1;
    const int d = (int)(v >> 2) + CD_REL_LO - 256 * lane; // threshold - lane's pixel
    if (aa) {
        for (int k = 0; k < 4; k++) w[k] += 32 + 64 * k >= d ? dir : 0;
    } else {
        w[0] += 128 >= d ? dir : 0;
    }
}

// A sample span [lo, hi] (inclusive, 1/256 px) packed relative to ox: lo + 1 in bits
// 0-15, hi + 1 in 16-31 (both clamped). Empty spans have lo > hi.
CD_FN uint32_t pack_span(int64_t lo, int64_t hi, int64_t ox) {
    return (uint32_t)(rel_clamp(lo - ox) - CD_REL_LO) |
           ((uint32_t)(rel_clamp(hi - ox) - CD_REL_LO) << 16);
}
#define CD_NO_SPAN 0x0000ffffu // lo = 65534, hi = -1

// Bits (k = sample column) of lane l's samples inside span v.
CD_FN uint32_t span_bits(uint32_t v, int lane, bool aa) {
    const int lo = (int)(v & 0xffffu) + CD_REL_LO - 256 * lane;
    const int hi = (int)(v >> 16) + CD_REL_LO - 256 * lane;
    if (!aa) return (lo <= 128 && 128 <= hi) ? 1u : 0u;
    uint32_t b = 0;
    for (int k = 0; k < 4; k++) b |= (lo <= 32 + 64 * k && 32 + 64 * k <= hi) ? 1u << k : 0u;
    return b;
}

// The largest h >= 0 with h^2 <= q (q >= 0), exactly: a double root, corrected.
CD_FN int64_t isqrt64(int64_t q) {
    int64_t h = (int64_t)sqrt((double)q);
    while (h > 0 && h * h > q) h--;
    while ((h + 1) * (h + 1) <= q) h++;
    return h;
}

// The samples of row sy inside disc d (in_disc: dx^2 + dy^2 <= r^2), packed.
CD_FN uint32_t disc_span(const CdDisc& d, int64_t sy, int64_t ox) {
    const int64_t dy = sy - d.cy, r = d.r;
    const int64_t q = r * r - dy * dy;
    if (q < 0) return CD_NO_SPAN;
    const int64_t h = isqrt64(q);
    return pack_span(d.cx - h, d.cx + h, ox);
}

// The samples of row sy inside the ellipse (in_ellipse), packed: |dx| <= h for the
// largest h with h^2 ry^2 + dy^2 rx^2 <= rx^2 ry^2 (128-bit, like in_ellipse).
CD_FN uint32_t ellipse_span(int64_t cx, int64_t cy, int64_t rx, int64_t ry, int64_t sy,
                            int64_t ox) {
    if (rx <= 0 || ry <= 0) return CD_NO_SPAN;
    const int64_t dy = sy < cy ? cy - sy : sy - cy;
    if (dy > ry) return CD_NO_SPAN;
    typedef unsigned __int128 u128;
    const u128 ax = (u128)(uint64_t)rx, ay = (u128)(uint64_t)ry, uy = (u128)(uint64_t)dy;
    const u128 lim = ax * ax * (ay * ay) - uy * uy * (ax * ax);
    // h = rx sqrt((ry - dy)(ry + dy)) / ry, estimated, then corrected with the exact test.
    int64_t h = (int64_t)((double)rx * sqrt((double)(ry - dy) * (double)(ry + dy)) / (double)ry);
    if (h < 0) h = 0;
    while (h > 0 && (u128)h * (u128)h * (ay * ay) > lim) h--;
    while ((u128)(h + 1) * (u128)(h + 1) * (ay * ay) <= lim) h++;
    return pack_span(cx - h, cx + h, ox);
}

// Sample rows of pixel row y (AA: 4 at offsets 32, 96, 160, 224; else 1 at 128).
CD_FN int64_t sample_row(int y, int j, bool aa) {
    return (int64_t)y * 256 + (aa ? 32 + 64 * j : 128);
}

// Coverage 0..=255 from a pixel's count of inside samples (shape_coverage's rule).
CD_FN uint32_t count_coverage(uint32_t n, bool aa) {
    return aa ? (n * 255u + 8u) / 16u : n * 255u;
}

// Source coordinate of an overlay along one axis for destination offset u in a
// destination of size d from an image side of n pixels: nearest (i0 = i1, f = 0) or
// bilinear (i0, i1 = min(i0 + 1, n - 1), weight f of i1 in 1/256).
struct Axis {
    int32_t i0, i1;
    uint32_t f;
};

CD_FN Axis overlay_axis(int64_t u, int64_t d, int64_t n, bool nearest) {
    Axis a;
    if (nearest) {
        int64_t s = div_floor((2 * u + 1) * n, 2 * d);
        a.i0 = a.i1 = (int32_t)(s > n - 1 ? n - 1 : s);
        a.f = 0;
        return a;
    }
    int64_t s = div_floor((2 * u + 1) * n * 256, 2 * d) - 128;
    s = s < 0 ? 0 : (s > (n - 1) * 256 ? (n - 1) * 256 : s);
    a.i0 = (int32_t)(s >> 8);
    a.f = (uint32_t)(s & 255);
    a.i1 = a.i0 + 1 < n ? a.i0 + 1 : (int32_t)(n - 1);
    return a;
}

// Straight RGBA sample (r | g << 8 | b << 16 | a << 24) at axes (ax, ay).
CD_FN uint32_t overlay_sample(const CdImage& img, const Axis& ax,
                                                   const Axis& ay, bool nearest) {
    const uint32_t* src = (const uint32_t*)(uintptr_t)img.ptr;
    const size_t w = (size_t)img.width;
    if (nearest) return CD_LDG(src + ay.i0 * w + ax.i0);
    // A tap of weight 0 contributes 0 whatever its value: it is not loaded (an overlay
    // at its image's size has every weight f = 0 and needs one tap, not four).
    const uint32_t p00 = CD_LDG(src + ay.i0 * w + ax.i0);
    const uint32_t p01 = ax.f ? CD_LDG(src + ay.i0 * w + ax.i1) : 0u;
    const uint32_t p10 = ay.f ? CD_LDG(src + ay.i1 * w + ax.i0) : 0u;
    const uint32_t p11 = (ax.f && ay.f) ? CD_LDG(src + ay.i1 * w + ax.i1) : 0u;
    const uint32_t gx = 256u - ax.f, fx = ax.f, gy = 256u - ay.f, fy = ay.f;
    // Horizontal step packed (lanes <= 255 * 256), vertical step per channel.
    const uint32_t tlo = (p00 & 0x00ff00ffu) * gx + (p01 & 0x00ff00ffu) * fx;
    const uint32_t thi = ((p00 >> 8) & 0x00ff00ffu) * gx + ((p01 >> 8) & 0x00ff00ffu) * fx;
    const uint32_t blo = (p10 & 0x00ff00ffu) * gx + (p11 & 0x00ff00ffu) * fx;
    const uint32_t bhi = ((p10 >> 8) & 0x00ff00ffu) * gx + ((p11 >> 8) & 0x00ff00ffu) * fx;
    const uint32_t r = ((tlo & 0xffffu) * gy + (blo & 0xffffu) * fy + 32768u) >> 16;
    const uint32_t b = ((tlo >> 16) * gy + (blo >> 16) * fy + 32768u) >> 16;
    const uint32_t g = ((thi & 0xffffu) * gy + (bhi & 0xffffu) * fy + 32768u) >> 16;
    const uint32_t a = ((thi >> 16) * gy + (bhi >> 16) * fy + 32768u) >> 16;
    return r | (g << 8) | (b << 16) | (a << 24);
}

// Blends straight RGBA sample s (r | g << 8 | b << 16 | a << 24) with opacity m
// (0..=255) over pixel p: alpha a' = (a * m + 127) / 255; a' = 0 leaves p as it is.
CD_FN uint32_t overlay_blend(uint32_t p, uint32_t s, uint32_t m, bool bgr, bool alpha) {
    const uint32_t a = ((s >> 24) * m + 127u) / 255u;
    if (a == 0) return p;
    const uint32_t r = s & 255u, gg = (s >> 8) & 255u, b = (s >> 16) & 255u;
    const Blend bl = bgr ? make_blend(b, gg, r, a) : make_blend(r, gg, b, a);
    return apply_blend(p, bl, alpha);
}

// ---- Masks (docs/semantics.md "Masks"): every value as 16-bit fixed point first.

CD_FN float bits_to_float(uint32_t b) {
#ifdef __CUDACC__
    return __uint_as_float(b);
#else
    float f;
    memcpy(&f, &b, 4);
    return f;
#endif
}

// IEEE half -> float, exactly.
CD_FN float half_to_float(uint32_t h) {
    const uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 31u, m = h & 1023u;
    if (e == 31) return bits_to_float(s | 0x7f800000u | (m << 13));
    if (e != 0) return bits_to_float(s | ((e + 112u) << 23) | (m << 13));
    if (m == 0) return bits_to_float(s);
    uint32_t mm = m, k = 0;
    while (!(mm & 1024u)) {
        mm <<= 1;
        k++;
    }
    return bits_to_float(s | ((113u - k) << 23) | ((mm & 1023u) << 13));
}

// NaN and <= 0 -> 0, >= 1 -> 65535, else round(v * 65535), ties to even: one IEEE
// multiply (no contraction: there is nothing to fuse it with) and one rounding.
CD_FN uint32_t q16_of_float(float v) {
    if (!(v > 0.0f)) return 0;
    if (v >= 1.0f) return 65535;
#ifdef __CUDA_ARCH__
    return __float2uint_rn(__fmul_rn(v, 65535.0f));
#else
    return (uint32_t)nearbyintf(v * 65535.0f);
#endif
}

// Value (i, j) of a mask as 16-bit fixed point (class maps: the raw id bits).
CD_FN uint32_t mask_q16(const CdMask& m, const uint8_t* data, int i, int j) {
    const uint8_t* row =
        (m.host ? data + m.ptr : (const uint8_t*)(uintptr_t)m.ptr) + (size_t)j * m.pitch;
    switch (m.dtype) {
    case CD_MASK_U16: return ((const uint16_t*)row)[i];
    case CD_MASK_U8: return (uint32_t)row[i] * 257u;
    case CD_MASK_F16: return q16_of_float(half_to_float(((const uint16_t*)row)[i]));
    case CD_MASK_F32: return q16_of_float(((const float*)row)[i]);
    default: return 0;
    }
}

// A mask's value at destination offset (u, v) of a dw x dh box: nearest, or bilinear in
// 1/256 steps on the 16-bit values (taps of weight 0 are not read).
CD_FN uint32_t mask_value(const CdMask& m, const uint8_t* data, int64_t u, int64_t v,
                          int64_t dw, int64_t dh, bool bilinear) {
    const Axis ax = overlay_axis(u, dw, m.width, !bilinear);
    const Axis ay = overlay_axis(v, dh, m.height, !bilinear);
    if (!bilinear) return mask_q16(m, data, ax.i0, ay.i0);
    const uint64_t v00 = mask_q16(m, data, ax.i0, ay.i0);
    const uint64_t v01 = ax.f ? mask_q16(m, data, ax.i1, ay.i0) : 0;
    const uint64_t v10 = ay.f ? mask_q16(m, data, ax.i0, ay.i1) : 0;
    const uint64_t v11 = (ax.f && ay.f) ? mask_q16(m, data, ax.i1, ay.i1) : 0;
    const uint64_t top = v00 * (256u - ax.f) + v01 * ax.f;
    const uint64_t bot = v10 * (256u - ax.f) + v11 * ax.f;
    return (uint32_t)((top * (256u - ay.f) + bot * ay.f + 32768u) >> 16);
}

// Whether pixel (x, y) is inside the mask drawn into box d at threshold t (outside d:
// not inside).
CD_FN bool mask_inside(const CdMask& m, const uint8_t* data, const CdRegion& d, int x, int y,
                       uint32_t t, bool bilinear) {
    if (x < d.x0 || x >= d.x1 || y < d.y0 || y >= d.y1) return false;
    return mask_value(m, data, (int64_t)x - d.x0, (int64_t)y - d.y0, (int64_t)d.x1 - d.x0,
                      (int64_t)d.y1 - d.y0, bilinear) >= t;
}

// Coverage (0 or 255) of pixel (x, y) by a mask layer (aux: threshold | CD_MASK_*).
CD_FN uint32_t mask_coverage(const CdMask& m, const uint8_t* data, const CdRegion& d,
                             uint32_t aux, int x, int y) {
    const uint32_t t = aux & 0xffffu;
    const bool bl = (aux & CD_MASK_BILINEAR) != 0;
    if (!mask_inside(m, data, d, x, y, t, bl)) return 0;
    if (!(aux & (CD_MASK_CONTOUR | CD_MASK_NO_CONTOUR))) return 255;
    const bool edge = !mask_inside(m, data, d, x - 1, y, t, bl) ||
                      !mask_inside(m, data, d, x + 1, y, t, bl) ||
                      !mask_inside(m, data, d, x, y - 1, t, bl) ||
                      !mask_inside(m, data, d, x, y + 1, t, bl);
    return (edge == ((aux & CD_MASK_CONTOUR) != 0)) ? 255u : 0u;
}

// A class map's colour at pixel (x, y) (frame byte order, byte 3 alpha; 0: nothing):
// the nearest id's palette entry, none for ids outside the palette.
CD_FN uint32_t classmap_color(const CdMask& m, const uint8_t* data, const uint32_t* palette,
                              uint32_t first, const CdRegion& d, int x, int y) {
    const Axis ax = overlay_axis((int64_t)x - d.x0, (int64_t)d.x1 - d.x0, m.width, true);
    const Axis ay = overlay_axis((int64_t)y - d.y0, (int64_t)d.y1 - d.y0, m.height, true);
    const uint8_t* row =
        (m.host ? data + m.ptr : (const uint8_t*)(uintptr_t)m.ptr) + (size_t)ay.i0 * m.pitch;
    const int64_t id = m.dtype == CD_MASK_I32 ? (int64_t)((const int32_t*)row)[ax.i0]
                                              : (int64_t)row[ax.i0];
    if (id < 0 || id >= (int64_t)m.classes) return 0;
    return palette[first + (uint32_t)id];
}

// ---- NV12 / I420 (docs/semantics.md "NV12 and I420"), as src/cpu/planar.rs.

// The spec's blend of one 8-bit sample: (c a + d (255 - a) + 127) / 255.
CD_FN uint32_t blend1(uint32_t c, uint32_t d, uint32_t a) {
    return (c * a + d * (255u - a) + 127u) / 255u;
}

// Y' | Cb << 8 | Cr << 16 of colour rgb (r | g << 8 | b << 16) with the frame's Q16
// matrix (rows Y', Cb, Cr) and offsets: clamp((row . rgb + 32768 + (off << 16)) >> 16).
CD_FN uint32_t yuv_convert(const int32_t* coef, const int32_t* offset, uint32_t rgb) {
    const int32_t r = (int32_t)(rgb & 255u), g = (int32_t)((rgb >> 8) & 255u),
                  b = (int32_t)((rgb >> 16) & 255u);
    uint32_t out = 0;
    for (int i = 0; i < 3; i++) {
        const int32_t v = coef[3 * i] * r + coef[3 * i + 1] * g + coef[3 * i + 2] * b;
        out |= (uint32_t)clampi((v + 32768 + (offset[i] << 16)) >> 16, 0, 255) << (8 * i);
    }
    return out;
}

// One op on one 2 x 2 block with its effects' colours converted: v[k] is pixel k's
// Y' | Cb << 8 | Cr << 16 and a[k] its effective alpha (0: none; k = dx + 2 dy), n the
// block's pixels inside the frame. Luma blends per pixel; the chroma sample blends the
// alpha-weighted mean chroma of the block's effects with alpha = the rounded mean of the
// n effective alphas.
CD_FN void planar_blend_yuv(const uint32_t* v, const uint32_t* a, uint32_t n, uint32_t* y,
                            uint32_t* cb, uint32_t* cr) {
    uint32_t sa = 0, scb = 0, scr = 0;
    for (int k = 0; k < 4; k++) {
        if (a[k] == 0) continue;
        y[k] = blend1(v[k] & 255u, y[k], a[k]);
        sa += a[k];
        scb += a[k] * ((v[k] >> 8) & 255u);
        scr += a[k] * (v[k] >> 16);
    }
    if (sa == 0 || n == 0) return;
    const uint32_t alpha = (sa + n / 2) / n;
    if (alpha == 0) return;
    *cb = blend1((scb + sa / 2) / sa, *cb, alpha);
    *cr = blend1((scr + sa / 2) / sa, *cr, alpha);
}

// planar_blend_yuv of effects e[k] = r | g << 8 | b << 16 | alpha << 24, converted with
// the frame's matrix.
CD_FN void planar_blend(const int32_t* coef, const int32_t* offset, const uint32_t* e,
                        uint32_t n, uint32_t* y, uint32_t* cb, uint32_t* cr) {
    uint32_t v[4], a[4];
    for (int k = 0; k < 4; k++) {
        a[k] = e[k] >> 24;
        v[k] = a[k] ? yuv_convert(coef, offset, e[k] & 0xffffffu) : 0u;
    }
    planar_blend_yuv(v, a, n, y, cb, cr);
}

// Bits k (= dx + 2 dy) of the pixels (px + dx, py + dy) inside region r: the two
// columns' and two rows' tests combined (no per-pixel tests).
CD_FN uint32_t region_pixels(const CdRegion& r, int px, int py) {
    const uint32_t cols = (uint32_t)(px >= r.x0 && px < r.x1) |
                          ((uint32_t)(px + 1 >= r.x0 && px + 1 < r.x1) << 1);
    const uint32_t rows = (uint32_t)(py >= r.y0 && py < r.y1) |
                          ((uint32_t)(py + 1 >= r.y0 && py + 1 < r.y1) << 1);
    return (cols * (rows & 1u)) | ((cols * (rows >> 1)) << 2);
}

// Bit k: pixel k of the block at (px, py) is inside the frame (`inside`) and c's clip.
CD_FN uint32_t clip_pixels(const CdCmd& c, int px, int py, uint32_t inside) {
    return region_pixels(c.clip, px, py) & inside;
}

// The pixels of clip_pixels mask m that RECT c changes: bit k, the outline colour; bit
// k + 4, the fill (inside `inner`); only colours of non-zero alpha (the others change
// nothing).
CD_FN uint32_t rect_pixels(const CdCmd& c, int px, int py, uint32_t m) {
    const uint32_t in = region_pixels(c.inner, px, py) & m;
    return (c.color[3] ? m & ~in : 0u) | (c.fill[3] ? in << 4 : 0u);
}

// RECT c on a block whose changed pixels are r (rect_pixels) and whose pixels inside
// the frame are `inside`, with its outline and fill colours converted (vcol, vfill):
// what planar_blend does with planar_effect's effects. When one colour covers every
// pixel inside, the alpha-weighted mean is that colour and the mean alpha its alpha
// exactly, so the chroma blends with them directly (no divisions).
CD_FN void planar_rect(const CdCmd& c, uint32_t r, uint32_t inside, uint32_t vcol,
                       uint32_t vfill, uint32_t* yv, uint32_t* cb, uint32_t* cr) {
    const uint32_t ring = r & 15u, fill = r >> 4;
    if ((ring == inside && fill == 0) || (fill == inside && ring == 0)) {
        const uint32_t v = ring ? vcol : vfill, a = ring ? c.color[3] : c.fill[3];
        for (int k = 0; k < 4; k++)
            if (inside & (1u << k)) yv[k] = blend1(v & 255u, yv[k], a);
        *cb = blend1((v >> 8) & 255u, *cb, a);
        *cr = blend1(v >> 16, *cr, a);
        return;
    }
    uint32_t v[4], a[4], n = 0;
    for (int k = 0; k < 4; k++) {
        const bool rk = (ring >> k) & 1u, fk = (fill >> k) & 1u;
        v[k] = rk ? vcol : vfill;
        a[k] = rk ? c.color[3] : fk ? c.fill[3] : 0u;
        n += (inside >> k) & 1u;
    }
    planar_blend_yuv(v, a, n, yv, cb, cr);
}

// Redaction on a block: the luma samples of mask m (clip_pixels) and the chroma sample
// replaced by colour v (converted).
CD_FN void planar_solid(uint32_t m, uint32_t v, uint32_t* yv, uint32_t* cb, uint32_t* cr) {
    for (int k = 0; k < 4; k++)
        if (m & (1u << k)) yv[k] = v & 255u;
    *cb = (v >> 8) & 255u;
    *cr = v >> 16;
}

// Pixelate cell (along one axis) of chroma sample k when the luma region is [l0, l1) and
// cells are b luma pixels wide: the cell of luma column 2 k clamped into the region, so
// luma and chroma cells coincide.
CD_FN int chroma_cell(int k, int l0, int l1, int b) {
    return (clampi(2 * k, l0, l1 - 1) - l0) / b;
}

// The effect of pointwise command c on pixel (x, y) inside its clip: colour r | g << 8 |
// b << 16 and effective alpha << 24 (alpha 0: none), exactly what the packed renderer
// blends there (src/cpu/planar.rs `effects`).
CD_FN uint32_t planar_effect(const CdCmd& c, const CdImage* images, const CdGlyph* glyphs,
                             const uint8_t* atlas, const ShapeData& g, int x, int y) {
    const uint32_t col = (uint32_t)c.color[0] | ((uint32_t)c.color[1] << 8) |
                         ((uint32_t)c.color[2] << 16) | ((uint32_t)c.color[3] << 24);
    switch (c.op) {
    case CD_OP_RECT: {
        const bool in = x >= c.inner.x0 && x < c.inner.x1 && y >= c.inner.y0 && y < c.inner.y1;
        if (!in) return col;
        return (uint32_t)c.fill[0] | ((uint32_t)c.fill[1] << 8) | ((uint32_t)c.fill[2] << 16) |
               ((uint32_t)c.fill[3] << 24);
    }
    case CD_OP_OVERLAY: {
        const CdImage img = images[c.param];
        const bool nearest = (c.aux >> 16) == CD_FILTER_NEAREST;
        const Axis ax = overlay_axis((int64_t)x - c.inner.x0, (int64_t)c.inner.x1 - c.inner.x0,
                                     img.width, nearest);
        const Axis ay = overlay_axis((int64_t)y - c.inner.y0, (int64_t)c.inner.y1 - c.inner.y0,
                                     img.height, nearest);
        const uint32_t s = overlay_sample(img, ax, ay, nearest);
        const uint32_t a = ((s >> 24) * (c.aux & 0xffffu) + 127u) / 255u;
        return (s & 0xffffffu) | (a << 24);
    }
    case CD_OP_TEXT: {
        uint32_t cov = 0;
        for (uint32_t k = c.param; k < c.param + c.aux; k++) {
            const CdGlyph gl = glyphs[k];
            if (x < gl.x || x >= gl.x + (int)gl.w || y < gl.y || y >= gl.y + (int)gl.h) continue;
            const uint32_t m = CD_LDG(atlas + gl.atlas + (size_t)(y - gl.y) * gl.w + (x - gl.x));
            cov = m > cov ? m : cov;
        }
        return (col & 0xffffffu) | (coverage_alpha(col >> 24, cov) << 24);
    }
    case CD_OP_SHAPE: {
        const uint32_t k = layer_coverage(g.shapes[c.param], g, x, y);
        return k ? (col & 0xffffffu) | (coverage_alpha(col >> 24, k) << 24) : 0u;
    }
    case CD_OP_MASK:
        return mask_coverage(g.masks[c.param], g.data, c.inner, c.aux, x, y) ? col : 0u;
    case CD_OP_CLASSMAP:
        return classmap_color(g.masks[c.param], g.data, g.palette, c.aux, c.inner, x, y);
    default: return 0u;
    }
}

// Bit k (= dx + 2 dy) set: pixel (px + dx, py + dy) of the block is inside the frame.
CD_FN uint32_t block_inside(const CdPlanar& f, int px, int py) {
    uint32_t inside = 0;
    for (int k = 0; k < 4; k++)
        if (px + (k & 1) < f.width && py + (k >> 1) < f.height) inside |= 1u << k;
    return inside;
}

// A shape layer on a 2 x 2 block from its four pixels' coverages (k = dx + 2 dy; bits of
// in_clip: pixels in the command's clip): planar_effect's colour and alpha per pixel,
// then the block's blend. The planar composite computes the coverages by sample rows.
CD_FN void planar_shape(const CdPlanar& f, const CdCmd& c, uint32_t in_clip, uint32_t inside,
                        const uint32_t* cov, uint32_t* yv, uint32_t* cb, uint32_t* cr) {
    const uint32_t rgb = (uint32_t)c.color[0] | ((uint32_t)c.color[1] << 8) |
                         ((uint32_t)c.color[2] << 16);
    uint32_t e[4] = {0, 0, 0, 0}, n = 0;
    for (int k = 0; k < 4; k++) {
        n += (inside >> k) & 1u;
        if ((in_clip & (1u << k)) && cov[k]) e[k] = rgb | (coverage_alpha(c.color[3], cov[k]) << 24);
    }
    planar_blend(f.coef, f.offset, e, n, yv, cb, cr);
}

// Pointwise command c (not a blur) on the 2 x 2 block at luma (px, py): its luma
// samples yv[k] and chroma sample (cb, cr). Redaction replaces the luma samples in its
// clip and the chroma sample of every block it touches; every other op blends its
// effects (planar_blend).
CD_FN void planar_step(const CdPlanar& f, const CdCmd& c, const CdImage* images,
                       const CdGlyph* glyphs, const uint8_t* atlas, const ShapeData& g, int px,
                       int py, uint32_t inside, uint32_t* yv, uint32_t* cb, uint32_t* cr) {
    const uint32_t in_clip = clip_pixels(c, px, py, inside);
    if (!in_clip) return; // clips lie in the frame: the block does not touch c
    const uint32_t rgb = (uint32_t)c.color[0] | ((uint32_t)c.color[1] << 8) |
                         ((uint32_t)c.color[2] << 16);
    uint32_t n = 0;
    for (int k = 0; k < 4; k++) n += (inside >> k) & 1u;
    if (c.op == CD_OP_SOLID) {
        planar_solid(in_clip, yuv_convert(f.coef, f.offset, rgb), yv, cb, cr);
        return;
    }
    if (c.op == CD_OP_RECT) {
        const uint32_t fill = (uint32_t)c.fill[0] | ((uint32_t)c.fill[1] << 8) |
                              ((uint32_t)c.fill[2] << 16);
        planar_rect(c, rect_pixels(c, px, py, in_clip), inside,
                    yuv_convert(f.coef, f.offset, rgb), yuv_convert(f.coef, f.offset, fill), yv,
                    cb, cr);
        return;
    }
    if (c.op == CD_OP_SHAPE) {
        uint32_t cov[4] = {0, 0, 0, 0};
        for (int k = 0; k < 4; k++)
            if (in_clip & (1u << k))
                cov[k] = layer_coverage(g.shapes[c.param], g, px + (k & 1), py + (k >> 1));
        planar_shape(f, c, in_clip, inside, cov, yv, cb, cr);
        return;
    }
    uint32_t e[4] = {0, 0, 0, 0};
    if (c.op == CD_OP_TEXT) {
        // planar_effect's per-pixel maximum over the layer's glyphs, with one pass over
        // the glyphs for the whole block (each tested against the block first).
        uint32_t cov[4] = {0, 0, 0, 0};
        for (uint32_t i = c.param; i < c.param + c.aux; i++) {
            const CdGlyph gl = glyphs[i];
            if (px + 1 < gl.x || px >= gl.x + (int)gl.w || py + 1 < gl.y || py >= gl.y + (int)gl.h)
                continue;
            for (int k = 0; k < 4; k++) {
                const int x = px + (k & 1), y = py + (k >> 1);
                if (!(in_clip & (1u << k)) || x < gl.x || x >= gl.x + (int)gl.w || y < gl.y ||
                    y >= gl.y + (int)gl.h)
                    continue;
                const uint32_t m =
                    CD_LDG(atlas + gl.atlas + (size_t)(y - gl.y) * gl.w + (x - gl.x));
                cov[k] = m > cov[k] ? m : cov[k];
            }
        }
        for (int k = 0; k < 4; k++)
            if (in_clip & (1u << k)) e[k] = rgb | (coverage_alpha(c.color[3], cov[k]) << 24);
    } else {
        for (int k = 0; k < 4; k++)
            if (in_clip & (1u << k))
                e[k] = planar_effect(c, images, glyphs, atlas, g, px + (k & 1), py + (k >> 1));
    }
    planar_blend(f.coef, f.offset, e, n, yv, cb, cr);
}

// ---- Composite launches (src/cuda/plan.rs `Phase`): a block's tile.

// Block (bx, by)'s tile: item bx of a compacted grid (`items` set), or tile bx of frame
// row by of the full grid. `*binned`: its [start, end) ranges over its own command
// list in the batch's bins (CD_TILE_BINNED), not over the frame's commands.
CD_FN CdTileItem tile_item(const CdTileItem* rows, const CdTileItem* items, uint32_t bx,
                           uint32_t by, bool* binned) {
    CdTileItem it;
    if (items) {
        it = items[bx];
    } else {
        it = rows[by];
        it.tile = bx;
    }
    *binned = (it.tile & CD_TILE_BINNED) != 0;
    it.tile &= ~CD_TILE_BINNED;
    return it;
}

#endif
