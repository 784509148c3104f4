// Composite kernels: every box, redaction and overlay of a phase, tile by tile, in list
// order (see blur.cu for the blurs). The host splits each frame's command list into
// phases (a blur never reads a pixel written earlier in its phase); per phase it
// launches at most cd_blur_pass1 and cd_blur_pass2 (all blurs of all frames, written
// straight into the frames: their regions are disjoint from every earlier command of
// the phase), then cd_composite. Launch count depends only on the number of phases,
// never on boxes or frames.
#include "shape_rows.cuh"

// A mask layer's and a class map's pixel: out of line, so the 16 unrolled rows of a
// warp tile share one body.
__device__ __noinline__ uint32_t mask_cov_row(const CdMask& m, const uint8_t* data,
                                              const CdRegion& d, uint32_t aux, int x, int y) {
    return mask_coverage(m, data, d, aux, x, y);
}
__device__ __noinline__ uint32_t classmap_row(const CdMask& m, const uint8_t* data,
                                              const uint32_t* palette, uint32_t first,
                                              const CdRegion& d, int x, int y) {
    return classmap_color(m, data, palette, first, d, x, y);
}

// Warp tiles of the composite: 32 columns (one per lane) x WT_H rows (in registers).
#define WT_W 32
#define WT_H 16
// Overlay rows whose samples a warp loads together (scaled; image at its own size).
#define OV_ROWS 4
#define OV_UNIT_ROWS 8

// Bit mask of a warp tile's rows (bit i: y = wy0 + i, i < rows) inside [ya, yb).
__device__ __forceinline__ uint32_t span_mask(int ya, int yb, int wy0, int rows) {
    const int lo = clampi(ya - wy0, 0, rows), hi = clampi(yb - wy0, 0, rows);
    return hi <= lo ? 0u : (((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

// The rows of column x a composite command changes. RECT: `ring` gets the outline
// colour, `in` the fill (each only if its alpha is non-zero); other ops: all in `ring`.
__device__ __forceinline__ void cmd_rows(const CdCmd& c, int x, int wy0, int rows,
                                         uint32_t& ring, uint32_t& in) {
    ring = 0;
    in = 0;
    if (x < c.clip.x0 || x >= c.clip.x1) return;
    const uint32_t all = span_mask(c.clip.y0, c.clip.y1, wy0, rows);
    if (c.op != CD_OP_RECT) {
        ring = all;
        return;
    }
    if (x >= c.inner.x0 && x < c.inner.x1)
        in = all & span_mask(c.inner.y0, c.inner.y1, wy0, rows);
    ring = all & ~in;
    if (c.color[3] == 0) ring = 0;
    if (c.fill[3] == 0) in = 0;
}

__device__ __forceinline__ bool is_blur(uint32_t op) {
    return op == CD_OP_BLUR_BOX || op == CD_OP_BLUR_GAUSS || op == CD_OP_PIXELATE;
}

// Commands a composite block stages in shared memory at a time (one per thread): each
// command's 16-byte clip box (scanned) and the whole command (read for the hits).
#define CMD_CHUNK THREADS
#define CMD_U2 (sizeof(CdCmd) / 8) // 7: a command as 8-byte words

// Phase composite, one block per 64 x 64 tile: either grid (tiles of the largest frame,
// frames with work) with `rows[blockIdx.y]` naming the frame, or (compacted, when many
// tiles have nothing to do) one block per `items[blockIdx.x]`. The block stages the
// phase's commands of its frame in shared memory, 256 at a time: their clip boxes
// (`boxes`: empty for blurs) and the whole commands, all loads of a round issued
// together with the frame's (so a block waits for one round trip, not three, before
// its barrier). Then each warp owns a 32 x 16 warp tile and works alone: lane =
// column, its 16 pixels in registers. It scans the boxes against its tile (one box per
// lane, ballots), collects up to 32 hits in list order, drops outlines without fill
// whose inner rectangle holds the warp tile, then (1) computes which pixels must be
// read (a pixel first changed by an opaque outline, fill or redaction of a format with
// alpha is never read) and issues those loads together, (2) applies the commands in
// list order on the rows each changes (bit masks over rows; an overlay at its image's
// size loads its samples 8 rows at a time with no axis arithmetic, a scaled one 4 rows
// at a time, loading only taps of non-zero weight), and at the end writes each changed
// pixel once. No command is read from global memory after the barrier.
// OVERLAY / COVER / SHAPES = false: the phase has no overlay / no text, shape or mask /
// no shape (the host says so), whose code would cost registers (spills) in every warp.
// `bins`: per-tile command lists; an item whose tile has CD_TILE_BINNED set ranges over
// bins[start..end) (command indices, list order) instead of cmds[start..end).
template <bool OVERLAY, bool COVER, bool SHAPES>
__device__ __forceinline__ void composite(const CdFrame* __restrict__ frames,
                                          const CdCmd* __restrict__ cmds,
                                          const int4* __restrict__ boxes,
                                          const CdImage* __restrict__ images,
                                          const CdGlyph* __restrict__ glyphs,
                                          const uint8_t* __restrict__ atlas,
                                          const CdShapeData geo,
                                          const CdTileItem* __restrict__ rows_in,
                                          const CdTileItem* __restrict__ items,
                                          const uint32_t* __restrict__ bins) {
    __shared__ int4 sbox[CMD_CHUNK];
    __shared__ uint2 sraw[CMD_CHUNK * CMD_U2];
    __shared__ uint32_t hidx[THREADS / 32][32];
    __shared__ uint32_t sidx[THREADS / 32][32];
    const CdCmd* const scmd = (const CdCmd*)sraw;
    const uint2* const gcmd = (const uint2*)cmds; // 8-byte aligned (upload layout)

    bool binned;
    const CdTileItem it = tile_item(rows_in, items, blockIdx.x, blockIdx.y, &binned);
    // Issued together with the first round of command loads below; used after it.
    const CdFrame f = frames[it.frame];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const uint32_t lt = (1u << lane) - 1u;
    uint32_t* const hl = hidx[warp];
    uint32_t* const sl = sidx[warp];

    uint32_t px[WT_H];
#pragma unroll
    for (int i = 0; i < WT_H; i++) px[i] = 0;
    uint32_t known = 0; // rows whose value is in px (read or written)

    for (uint32_t cbase = it.start; cbase < it.end; cbase += CMD_CHUNK) {
        const uint32_t cn = min((uint32_t)CMD_CHUNK, it.end - cbase);
        if (cbase != it.start) __syncthreads(); // every warp is done with the last chunk
        if (binned) {
            // The tile's own list: thread t stages command bins[cbase + t] whole.
            if (threadIdx.x < cn) {
                const uint32_t ci = __ldg(bins + cbase + threadIdx.x);
                const int4 b = boxes[ci];
                uint2 w[CMD_U2];
#pragma unroll
                for (int j = 0; j < (int)CMD_U2; j++) w[j] = gcmd[(size_t)ci * CMD_U2 + j];
                sbox[threadIdx.x] = b;
#pragma unroll
                for (int j = 0; j < (int)CMD_U2; j++) sraw[threadIdx.x * CMD_U2 + j] = w[j];
            }
        } else {
            int4 b;
            uint2 w[CMD_U2];
            const uint32_t words = cn * (uint32_t)CMD_U2;
            const uint2* g = gcmd + (size_t)cbase * CMD_U2;
            if (threadIdx.x < cn) b = boxes[cbase + threadIdx.x];
#pragma unroll
            for (int j = 0; j < (int)CMD_U2; j++) {
                const uint32_t i = threadIdx.x + (uint32_t)j * THREADS;
                if (i < words) w[j] = g[i];
            }
            if (threadIdx.x < cn) sbox[threadIdx.x] = b;
#pragma unroll
            for (int j = 0; j < (int)CMD_U2; j++) {
                const uint32_t i = threadIdx.x + (uint32_t)j * THREADS;
                if (i < words) sraw[i] = w[j];
            }
        }
        __syncthreads();
        const int tiles_x = (f.width + TILE_W - 1) / TILE_W;
        const int tiles_y = (f.height + TILE_H - 1) / TILE_H;
        if (it.tile >= (uint32_t)(tiles_x * tiles_y)) return; // smaller frame: whole block
        const uint32_t ty = div_small(it.tile, (uint32_t)tiles_x);
        const int wx0 = (int)(it.tile - ty * tiles_x) * TILE_W + (warp & 1) * WT_W;
        const int wy0 = (int)ty * TILE_H + (warp >> 1) * WT_H;
        if (wx0 >= f.width || wy0 >= f.height) continue; // warp-uniform: nothing here
        const int wx1 = min(wx0 + WT_W, f.width), wy1 = min(wy0 + WT_H, f.height);
        const int rows = wy1 - wy0;
        const int x = wx0 + lane;
        const bool alpha = has_alpha(f.format);
        const bool bgr = f.format == CD_FMT_BGRA || f.format == CD_FMT_BGRX;
        // Only dereferenced for rows inside the frame and x < f.width (masks say so).
        unsigned char* const p0 =
            (unsigned char*)(f.ptr + (uint64_t)wy0 * f.pitch + (uint64_t)x * 4u);
        const uint32_t pitch = f.pitch;

        // Processes the nh hits collected in hl (chunk-local indices, list order).
        auto flush = [&](uint32_t nh) {
            bool keep = false, reads = false;
            uint32_t kc = 0;
            if ((uint32_t)lane < nh) {
                kc = hl[lane];
                const CdCmd& c = scmd[kc];
                const bool inside_inner = c.op == CD_OP_RECT && c.fill[3] == 0 &&
                                          wx0 >= c.inner.x0 && wx1 <= c.inner.x1 &&
                                          wy0 >= c.inner.y0 && wy1 <= c.inner.y1;
                keep = !inside_inner;
                // Whether it may read a pixel: anything but an opaque-or-invisible
                // outline and fill or a redaction, on a format with alpha.
                const uint32_t ca = c.color[3], fa = c.fill[3];
                const bool opaque = c.op == CD_OP_SOLID ||
                                    (c.op == CD_OP_RECT && (ca == 0 || ca == 255) &&
                                     (fa == 0 || fa == 255));
                reads = keep && !(alpha && opaque);
            }
            const uint32_t mask = __ballot_sync(0xffffffffu, keep);
            // No kept hit reads (W1): skip pass (1), nothing is loaded.
            const bool any_reads = __any_sync(0xffffffffu, reads);
            if (keep) sl[__popc(mask & lt)] = kc;
            __syncwarp();
            const int n = __popc(mask);

            // (1) Rows to read: changed by a command that reads them before anything of
            // this warp determined them.
            uint32_t need = 0, det = known;
            for (int k = 0; any_reads && k < n; k++) {
                const CdCmd& d = scmd[sl[k]];
                uint32_t ring, in;
                cmd_rows(d, x, wy0, rows, ring, in);
                const bool opq_ring = alpha && (d.op == CD_OP_SOLID ||
                                                (d.op == CD_OP_RECT && d.color[3] == 255));
                const bool opq_in = alpha && d.fill[3] == 255; // `in` is a RECT's fill
                need |= ((opq_ring ? 0u : ring) | (opq_in ? 0u : in)) & ~det;
                det |= ring | in;
            }
            if (any_reads) { // else need is 0: no row's predicate need be tested
#pragma unroll
                for (int i = 0; i < WT_H; i++)
                    if (need & (1u << i)) px[i] = *(const uint32_t*)(p0 + (size_t)i * pitch);
            }

            // (2) The commands in list order, each on the rows it changes.
            for (int k = 0; k < n; k++) {
                const CdCmd& d = scmd[sl[k]];
                uint32_t ring, in;
                cmd_rows(d, x, wy0, rows, ring, in);
                det |= ring | in; // (already in det unless pass (1) was skipped)
                if (COVER && d.op == CD_OP_TEXT) {
                    // A text layer, with the whole warp (before lanes outside its clip
                    // drop out): lane j loads glyph j of each group of 32, each lane
                    // finds the glyphs over its column by shuffles, then loads only
                    // those masks' bytes, 16 rows at a time. Coverage is the largest
                    // mask byte of the layer's glyphs (one blend however they overlap).
                    __syncwarp();
                    uint32_t cov[WT_H / 4]; // 4 rows' coverage bytes per word
#pragma unroll
                    for (int i = 0; i < WT_H / 4; i++) cov[i] = 0;
                    for (uint32_t g0 = 0; g0 < d.aux; g0 += 32) {
                        const uint32_t m = min(32u, d.aux - g0);
                        int gx = 0, gy = 0;
                        uint32_t gwh = 0, ga = 0;
                        if ((uint32_t)lane < m) {
                            const CdGlyph g = glyphs[d.param + g0 + lane];
                            gx = g.x;
                            gy = g.y;
                            gwh = (uint32_t)g.w | ((uint32_t)g.h << 16);
                            ga = g.atlas;
                        }
                        uint32_t hits = 0;
                        for (uint32_t j = 0; j < m; j++) {
                            const int bx = __shfl_sync(0xffffffffu, gx, j);
                            const int by = __shfl_sync(0xffffffffu, gy, j);
                            const uint32_t bwh = __shfl_sync(0xffffffffu, gwh, j);
                            if ((uint32_t)(x - bx) < (bwh & 0xffffu) &&
                                (ring & span_mask(by, by + (int)(bwh >> 16), wy0, rows)))
                                hits |= 1u << j;
                        }
                        while (__any_sync(0xffffffffu, hits != 0)) {
                            const int j = hits ? __ffs(hits) - 1 : 0;
                            const int bx = __shfl_sync(0xffffffffu, gx, j);
                            const int by = __shfl_sync(0xffffffffu, gy, j);
                            const uint32_t bwh = __shfl_sync(0xffffffffu, gwh, j);
                            const uint32_t ba = __shfl_sync(0xffffffffu, ga, j);
                            if (hits) {
                                hits &= hits - 1;
                                const uint32_t gw = bwh & 0xffffu;
                                const uint32_t gm =
                                    ring & span_mask(by, by + (int)(bwh >> 16), wy0, rows);
                                const uint8_t* mp = atlas + ba + (x - bx);
                                uint32_t v[WT_H / 4] = {0, 0, 0, 0};
#pragma unroll
                                for (int i = 0; i < WT_H; i++)
                                    if (gm & (1u << i))
                                        v[i >> 2] |= (uint32_t)__ldg(mp + (size_t)(wy0 + i - by) * gw)
                                                     << (8 * (i & 3));
#pragma unroll
                                for (int i = 0; i < WT_H / 4; i++) cov[i] = __vmaxu4(cov[i], v[i]);
                            }
                        }
                    }
                    const uint32_t col = *(const uint32_t*)d.color;
#pragma unroll
                    for (int i = 0; i < WT_H; i++)
                        px[i] = coverage_blend(px[i], col, (cov[i >> 2] >> (8 * (i & 3))) & 255u,
                                               alpha);
                    continue;
                }
                if (SHAPES && d.op == CD_OP_SHAPE) {
                    // A shape layer, with the whole warp (shape_counts shares the
                    // edges out by shuffles): the rows any lane changes.
                    uint32_t want = ring;
#pragma unroll
                    for (int o = 16; o > 0; o >>= 1) want |= __shfl_xor_sync(0xffffffffu, want, o);
                    if (!want) continue;
                    const ShapeData g = shape_data(geo);
                    const CdShape sh = g.shapes[d.param];
                    if ((sh.flags & CD_SHAPE_CONVEX) && convex_misses(sh, g.edges, wx0, wx1, wy0, wy1))
                        continue;
                    uint4 cn, mn;
                    bool maa;
                    layer_counts<WT_H>(g, sh, d.param, wx0, wy0, want, &cn, &mn, &maa);
                    const bool aa = (sh.flags & CD_SHAPE_AA) != 0, minus = sh.minus != CD_NO_SHAPE;
                    const uint32_t cw[4] = {cn.x, cn.y, cn.z, cn.w};
                    const uint32_t mw[4] = {mn.x, mn.y, mn.z, mn.w};
                    const uint32_t col = *(const uint32_t*)d.color;
#pragma unroll
                    for (int i = 0; i < WT_H; i++)
                        if (ring & (1u << i)) {
                            const int sh8 = 8 * (i & 3);
                            const uint32_t cov =
                                counts_coverage((cw[i >> 2] >> sh8) & 255u, aa, minus,
                                                (mw[i >> 2] >> sh8) & 255u, maa);
                            px[i] = coverage_blend(px[i], col, cov, alpha);
                        }
                    continue;
                }
                if (!(ring | in)) continue;
                if (COVER && d.op == CD_OP_MASK) {
                    const ShapeData g = shape_data(geo);
                    const CdMask mk = g.masks[d.param];
                    const uint32_t col = *(const uint32_t*)d.color;
#pragma unroll
                    for (int i = 0; i < WT_H; i++)
                        if (ring & (1u << i))
                            px[i] = coverage_blend(
                                px[i], col, mask_cov_row(mk, g.data, d.inner, d.aux, x, wy0 + i),
                                alpha);
                    continue;
                }
                if (COVER && d.op == CD_OP_CLASSMAP) {
                    const ShapeData g = shape_data(geo);
                    const CdMask mk = g.masks[d.param];
#pragma unroll
                    for (int i = 0; i < WT_H; i++)
                        if (ring & (1u << i)) {
                            const uint32_t c =
                                classmap_row(mk, g.data, g.palette, d.aux, d.inner, x, wy0 + i);
                            if (c >> 24)
                                px[i] = apply_blend(px[i],
                                                    make_blend(c & 255u, (c >> 8) & 255u,
                                                               (c >> 16) & 255u, c >> 24),
                                                    alpha);
                        }
                    continue;
                }
                if (d.op == CD_OP_RECT) {
                    const uint32_t col = *(const uint32_t*)d.color;
                    const uint32_t fil = *(const uint32_t*)d.fill;
                    if (ring) {
                        if (alpha && (col >> 24) == 255u) {
                            const uint32_t v = col | 0xff000000u;
#pragma unroll
                            for (int i = 0; i < WT_H; i++)
                                if (ring & (1u << i)) px[i] = v;
                        } else {
                            const Blend bl = make_blend(col & 255u, (col >> 8) & 255u,
                                                        (col >> 16) & 255u, col >> 24);
#pragma unroll
                            for (int i = 0; i < WT_H; i++)
                                if (ring & (1u << i)) px[i] = apply_blend(px[i], bl, alpha);
                        }
                    }
                    if (in) {
                        const Blend bl = make_blend(fil & 255u, (fil >> 8) & 255u,
                                                    (fil >> 16) & 255u, fil >> 24);
#pragma unroll
                        for (int i = 0; i < WT_H; i++)
                            if (in & (1u << i)) px[i] = apply_blend(px[i], bl, alpha);
                    }
                } else if (d.op == CD_OP_SOLID) {
                    const uint32_t v = *(const uint32_t*)d.color & 0x00ffffffu;
#pragma unroll
                    for (int i = 0; i < WT_H; i++)
                        if (ring & (1u << i))
                            px[i] = v | (alpha ? 0xff000000u : (px[i] & 0xff000000u));
                } else if (OVERLAY) {
                    const CdImage img = images[d.param];
                    const bool nearest = (d.aux >> 16) == CD_FILTER_NEAREST;
                    const uint32_t m = d.aux & 0xffffu;
                    const int64_t dw = (int64_t)d.inner.x1 - d.inner.x0;
                    const int64_t dh = (int64_t)d.inner.y1 - d.inner.y0;
                    // Blends straight RGBA sample s (opacity m) over pixel p.
                    auto blend_in = [&](uint32_t& p, uint32_t s) {
                        p = overlay_blend(p, s, m, bgr, alpha);
                    };
                    if (dw == img.width && dh == img.height) {
                        // Image at its own size: both filters sample exactly pixel
                        // (x - D.x0, y - D.y0) (nearest: floor(u + 1/2) = u; bilinear:
                        // weights 0). No axis arithmetic; 8 rows' loads in flight.
                        const uint32_t* src = (const uint32_t*)img.ptr;
                        const int64_t u = (int64_t)x - d.inner.x0;
                        const int64_t v0 = (int64_t)wy0 - d.inner.y0;
#pragma unroll
                        for (int g = 0; g < WT_H; g += OV_UNIT_ROWS) {
                            if (!(ring & (((1u << OV_UNIT_ROWS) - 1u) << g))) continue;
                            uint32_t sp[OV_UNIT_ROWS];
#pragma unroll
                            for (int j = 0; j < OV_UNIT_ROWS; j++)
                                sp[j] = (ring & (1u << (g + j)))
                                            ? __ldg(src + (v0 + g + j) * dw + u)
                                            : 0u;
#pragma unroll
                            for (int j = 0; j < OV_UNIT_ROWS; j++)
                                if (ring & (1u << (g + j))) blend_in(px[g + j], sp[j]);
                        }
                    } else { // column terms once, row terms per row (warp-uniform)
                        const Axis ax =
                            overlay_axis((int64_t)x - d.inner.x0, dw, img.width, nearest);
                        const int64_t iy0 = d.inner.y0;
                        // OV_ROWS rows at a time: their samples are loaded together.
#pragma unroll
                        for (int g = 0; g < WT_H; g += OV_ROWS) {
                            if (!(ring & (((1u << OV_ROWS) - 1u) << g))) continue;
                            uint32_t sp[OV_ROWS];
#pragma unroll
                            for (int j = 0; j < OV_ROWS; j++) {
                                sp[j] = 0;
                                if (ring & (1u << (g + j))) {
                                    const Axis ay =
                                        overlay_axis((int64_t)(wy0 + g + j) - iy0, dh,
                                                     img.height, nearest);
                                    sp[j] = overlay_sample(img, ax, ay, nearest);
                                }
                            }
#pragma unroll
                            for (int j = 0; j < OV_ROWS; j++)
                                if (ring & (1u << (g + j))) blend_in(px[g + j], sp[j]);
                        }
                    }
                }
            }
            known = det;
            __syncwarp(); // hl and sl are rewritten next
        };

        // One call site of flush (it is inlined once): when the next 32 boxes' hits
        // would overflow hl, and after the last box.
        uint32_t nh = 0; // hits collected in hl (warp-uniform)
        for (uint32_t s = 0;; s += 32) {
            const bool done = s >= cn; // warp-uniform
            const uint32_t k = s + lane;
            bool hit = false;
            if (k < cn) {
                const int4 b = sbox[k]; // clip x0, y0, x1, y1 (empty: no composite work)
                hit = b.x < wx1 && b.z > wx0 && b.y < wy1 && b.w > wy0;
            }
            const uint32_t m = __ballot_sync(0xffffffffu, hit);
            const uint32_t cnt = __popc(m);
            if (done ? nh > 0 : nh + cnt > 32) {
                flush(nh);
                nh = 0;
            }
            if (done) break;
            if (hit) hl[nh + __popc(m & lt)] = k;
            __syncwarp();
            nh += cnt;
        }
    }
    // The tile's geometry again (the loop above may not have run: an empty range).
    const int tiles_x = (f.width + TILE_W - 1) / TILE_W;
    const int tiles_y = (f.height + TILE_H - 1) / TILE_H;
    if (known == 0 || it.tile >= (uint32_t)(tiles_x * tiles_y)) return;
    const uint32_t ty = div_small(it.tile, (uint32_t)tiles_x);
    const int wx0 = (int)(it.tile - ty * tiles_x) * TILE_W + (warp & 1) * WT_W;
    const int wy0 = (int)ty * TILE_H + (warp >> 1) * WT_H;
    unsigned char* const p0 =
        (unsigned char*)(f.ptr + (uint64_t)wy0 * f.pitch + (uint64_t)(wx0 + lane) * 4u);
#pragma unroll
    for (int i = 0; i < WT_H; i++)
        if (known & (1u << i)) *(uint32_t*)(p0 + (size_t)i * f.pitch) = px[i];
}

// One kernel per phase content (the host picks by what the phase holds), so a phase
// of boxes does not pay the registers of text or overlays. With overlays: 3 blocks per
// SM (80 registers) keep the overlay path free of spills (64 registers spilled about
// 200 bytes); overlay phases are usually compacted grids of a few waves either way.
// Text and masks without shapes: 3 blocks per SM. With shapes: 2 blocks per SM (128
// registers): at 80 the inlined shape rows spilled about 1.2 KB, and that local-memory
// traffic (2.2 GB per W6a batch, measured by ncu) was most of the kernel's time; text
// and masks lost 5-20% at 2 blocks (W4, W7), hence the separate variant.
#define CD_COMPOSITE(NAME, BLOCKS, OVERLAY, COVER, SHAPES)                                  \
    extern "C" __global__ void __launch_bounds__(THREADS, BLOCKS)                          \
        NAME(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,           \
             const int4* __restrict__ boxes, const CdImage* __restrict__ images,           \
             const CdGlyph* __restrict__ glyphs, const uint8_t* __restrict__ atlas,        \
             const CdShapeData geo, const CdTileItem* __restrict__ rows_in,                \
             const CdTileItem* __restrict__ items, const uint32_t* __restrict__ bins) {    \
        composite<OVERLAY, COVER, SHAPES>(frames, cmds, boxes, images, glyphs, atlas, geo, \
                                          rows_in, items, bins);                           \
    }

// The host's kernel table (src/cuda/kernels.rs) lists them in this order.
CD_COMPOSITE(cd_composite_plain, 4, false, false, false)
CD_COMPOSITE(cd_composite_cover, 3, false, true, false)
CD_COMPOSITE(cd_composite_overlay, 3, true, false, false)
CD_COMPOSITE(cd_composite_shapes, 2, false, true, true)
CD_COMPOSITE(cd_composite, 2, true, true, true)
