// Shape layers by sample rows for a whole warp (device only): the composite's warp
// tiles (32 x 16 pixels) and the planar composite's (32 x 4 luma pixels) share it.
// The per-row arithmetic is common.cuh's (edge_cross, disc_span, ellipse_span: host
// tested against the CPU renderer); this file adds only how a warp shares it out.
#ifndef CUDADRAW_SHAPE_ROWS_CUH
#define CUDADRAW_SHAPE_ROWS_CUH
#include "common.cuh"

// One sample row of a POLY layer for the whole warp: lane k of each group of 32 packs
// edge k's crossing (edge_cross), every lane adds the crossings it is right of (by
// shuffles, only of edges that cross the row); then the discs likewise. Returns lane's
// inside bits (sample columns). `list_e` / `list_d`: band items (indices) or null.
__device__ __forceinline__ uint32_t poly_row_bits(const CdEdge* edges, const CdDisc* discs,
                                                  const uint32_t* list_e, uint32_t e0,
                                                  uint32_t ne, const uint32_t* list_d,
                                                  uint32_t d0, uint32_t nd, int64_t sy,
                                                  int64_t ox, int lane, bool aa) {
    int w[4] = {0, 0, 0, 0};
    for (uint32_t c0 = 0; c0 < ne; c0 += 32) {
        uint32_t v = 1u;
        if (c0 + lane < ne) {
            const uint32_t k = list_e ? __ldg(list_e + e0 + c0 + lane) : e0 + c0 + lane;
            v = edge_cross(edges[k], sy, ox);
        }
        uint32_t m = __ballot_sync(0xffffffffu, v != 1u);
        while (m) {
            const int k = __ffs(m) - 1;
            m &= m - 1;
            add_cross(__shfl_sync(0xffffffffu, v, k), lane, aa, w);
        }
    }
    uint32_t bits = (w[0] != 0) | ((w[1] != 0) << 1) | ((w[2] != 0) << 2) | ((w[3] != 0) << 3);
    for (uint32_t c0 = 0; c0 < nd; c0 += 32) {
        uint32_t v = CD_NO_SPAN;
        if (c0 + lane < nd) {
            const uint32_t k = list_d ? __ldg(list_d + d0 + c0 + lane) : d0 + c0 + lane;
            v = disc_span(discs[k], sy, ox);
        }
        uint32_t m = __ballot_sync(0xffffffffu, v != CD_NO_SPAN);
        while (m) {
            const int k = __ffs(m) - 1;
            m &= m - 1;
            bits |= span_bits(__shfl_sync(0xffffffffu, v, k), lane, aa);
        }
    }
    return aa ? bits : (bits & 1u);
}

// Bits of rows [lo, hi) among `rows` rows from wy0.
__device__ __forceinline__ uint32_t row_bits(int lo, int hi, int wy0, int rows) {
    const int a = clampi(lo - wy0, 0, rows), b = clampi(hi - wy0, 0, rows);
    return b <= a ? 0u : (((b >= 32 ? 0u : (1u << b)) - 1u) & ~((1u << a) - 1u));
}

// Inside-sample counts of shape layer `index` for the whole warp: lane's column
// wx0 + lane, rows wy0 + i for the bits i of `want` (warp-uniform, i < ROWS), one byte
// per row, 4 rows per word (0 or 1 without anti-aliasing, 0..16 with). Exactly
// shape_coverage's samples and tests (docs/semantics.md "Shapes"), computed per sample
// row: each edge's threshold once per row by one lane instead of a 64-bit test per
// sample, discs and ellipses as spans (integer square roots).
template <int ROWS>
__device__ __forceinline__ uint4 shape_counts(const CdShape* shapes, const CdEdge* edges,
                                           const CdDisc* discs, const CdBand* bands,
                                           const uint32_t* items, uint32_t index, int wx0,
                                           int wy0, uint32_t want) {
    const CdShape s = shapes[index];
    const int lane = threadIdx.x & 31;
    const bool aa = (s.flags & CD_SHAPE_AA) != 0;
    const int nsr = aa ? 4 : 1;
    const int64_t ox = (int64_t)wx0 * 256;
    uint32_t cnt[4] = {0, 0, 0, 0};
    if (s.kind == CD_SHAPE_ELLIPSE) {
        // Lane q computes the spans of sample row q of a group of 32 / nsr pixel rows.
        const int per = 32 / nsr;
        for (int i0 = 0; i0 < ROWS; i0 += per) {
            const uint32_t group = want & row_bits(i0, i0 + per, 0, ROWS);
            if (!group) continue;
            const int64_t sy = sample_row(wy0 + i0 + lane / nsr, lane % nsr, aa);
            const uint32_t so = ellipse_span(s.e[0], s.e[1], s.e[2], s.e[3], sy, ox);
            const uint32_t si = ellipse_span(s.e[0], s.e[1], s.e[4], s.e[5], sy, ox);
            for (uint32_t r = group; r; r &= r - 1) {
                const int i = __ffs(r) - 1;
                uint32_t n = 0;
                for (int j = 0; j < nsr; j++) {
                    const int q = (i - i0) * nsr + j;
                    const uint32_t o = __shfl_sync(0xffffffffu, so, q);
                    const uint32_t in = __shfl_sync(0xffffffffu, si, q);
                    n += __popc(span_bits(o, lane, aa) & ~span_bits(in, lane, aa));
                }
                cnt[i >> 2] += n << (8 * (i & 3));
            }
        }
        return make_uint4(cnt[0], cnt[1], cnt[2], cnt[3]);
    }
    uint32_t todo = want;
    while (todo) {
        // The rows of one band (all rows without bands), and its edges and discs.
        const int first = __ffs(todo) - 1;
        uint32_t rows = todo;
        const uint32_t *le = nullptr, *ld = nullptr;
        uint32_t e0 = s.edge_start, ne = s.edge_count, d0 = s.disc_start, nd = s.disc_count;
        if (s.band != CD_NO_BANDS) {
            // shape_coverage's band of a row: (y - band_y0) / 64, clamped.
            const int last = (int)s.band_count - 1;
            const int k = clampi((wy0 + first - s.band_y0) / CD_BAND_H, 0, last);
            const int lo = k == 0 ? wy0 : s.band_y0 + CD_BAND_H * k;
            const int hi = k == last ? wy0 + ROWS : s.band_y0 + CD_BAND_H * (k + 1);
            rows &= row_bits(lo, hi, wy0, ROWS);
            const CdBand b = bands[s.band + k];
            le = items;
            ld = items;
            e0 = b.edge_start;
            ne = b.edge_count;
            d0 = b.disc_start;
            nd = b.disc_count;
        }
        todo &= ~rows;
        for (uint32_t r = rows; r; r &= r - 1) {
            const int i = __ffs(r) - 1;
            uint32_t n = 0;
            for (int j = 0; j < nsr; j++)
                n += __popc(poly_row_bits(edges, discs, le, e0, ne, ld, d0, nd,
                                          sample_row(wy0 + i, j, aa), ox, lane, aa));
            cnt[i >> 2] += n << (8 * (i & 3));
        }
    }
    return make_uint4(cnt[0], cnt[1], cnt[2], cnt[3]);
}

// Whether a convex layer (CD_SHAPE_CONVEX: edges in order, turned one way) misses the
// tile [tx0, tx1) x [ty0, ty1) (pixels): the tile lies wholly outside one edge's
// half-plane. Warp-uniform.
__device__ __forceinline__ bool convex_misses(const CdShape& sh, const CdEdge* edges, int x0,
                                              int x1, int y0, int y1) {
    const int64_t tx0 = (int64_t)x0 * 256, tx1 = (int64_t)x1 * 256;
    const int64_t ty0 = (int64_t)y0 * 256, ty1 = (int64_t)y1 * 256;
    for (uint32_t k = 0; k < sh.edge_count; k++) {
        const CdEdge e = edges[sh.edge_start + k];
        const int64_t ex = (int64_t)e.x1 - e.x0, ey = (int64_t)e.y1 - e.y0;
        const int64_t c00 = ex * (ty0 - e.y0) - ey * (tx0 - e.x0);
        const int64_t c10 = ex * (ty0 - e.y0) - ey * (tx1 - e.x0);
        const int64_t c01 = ex * (ty1 - e.y0) - ey * (tx0 - e.x0);
        const int64_t c11 = ex * (ty1 - e.y0) - ey * (tx1 - e.x0);
        if (c00 < 0 && c10 < 0 && c01 < 0 && c11 < 0) return true;
    }
    return false;
}

// Counts of a layer and (a fill under its outline) of its minus layer, if any.
template <int ROWS>
__device__ __forceinline__ void layer_counts(const ShapeData& g, const CdShape& sh,
                                             uint32_t index, int wx0, int wy0, uint32_t want,
                                             uint4* c, uint4* m, bool* maa) {
    *c = shape_counts<ROWS>(g.shapes, g.edges, g.discs, g.bands, g.items, index, wx0, wy0,
                            want);
    *m = make_uint4(0, 0, 0, 0);
    *maa = false;
    if (sh.minus != CD_NO_SHAPE) {
        *maa = (g.shapes[sh.minus].flags & CD_SHAPE_AA) != 0;
        *m = shape_counts<ROWS>(g.shapes, g.edges, g.discs, g.bands, g.items, sh.minus, wx0,
                                wy0, want);
    }
}

// Coverage 0..=255 of row byte i of a lane's counts, its minus layer's taken out
// (layer_coverage's rule).
__device__ __forceinline__ uint32_t counts_coverage(uint32_t c, bool aa, bool minus, uint32_t m,
                                                    bool maa) {
    uint32_t cov = count_coverage(c, aa);
    if (cov && minus) cov = (cov * (255u - count_coverage(m, maa)) + 127u) / 255u;
    return cov;
}

#endif
