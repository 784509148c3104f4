// cudadraw kernels: every op of the draw model, on whole batches, bit-exact with the
// CPU renderer (docs/semantics.md). The host splits each frame's command list into
// phases (a blur never reads a pixel written earlier in its phase); per phase it
// launches at most: cd_blur_pass1 and cd_blur_pass2 (all blurs of all frames, which
// write their results straight into the frames: their regions are disjoint from
// every earlier command of the phase), then cd_composite (every box, redaction and
// overlay of the phase, tile by tile, in list order). Launch count depends only on
// the number of phases, never on boxes or frames.
#include "commands.h"

#define TILE_W 64
#define TILE_H 64
#define THREADS 256
#define ROW_STEP (THREADS / TILE_W)          // 4: rows between a thread's pixels
#define PX (TILE_H * TILE_W / THREADS)       // 16 pixels per thread
#define CHUNK THREADS

// Blur tiles: pass 1 covers 64 x 16 outputs, pass 2 covers 64 x 32.
#define B1_W 64
#define B1_H 16
#define B2_W 64
#define B2_H 32
#define MAX_BOX_R 127
#define SEG_W (B1_W + 2 * MAX_BOX_R + 2) // 320

__device__ __forceinline__ int clampi(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

__device__ __forceinline__ bool has_alpha(uint32_t fmt) {
    return fmt == CD_FMT_RGBA || fmt == CD_FMT_BGRA;
}

__device__ __forceinline__ uint32_t* px_ptr(const CdFrame& f, int x, int y) {
    return (uint32_t*)(f.ptr + (uint64_t)y * f.pitch + (uint64_t)x * 4u);
}

__device__ __forceinline__ uint32_t with_x_byte(uint32_t v, uint32_t orig, bool alpha) {
    return alpha ? v : ((v & 0x00ffffffu) | (orig & 0xff000000u));
}

// floor(n / d) for non-negative n, d > 0: 32-bit division when both fit (the common
// case; 64-bit division is a long software routine on the GPU).
__device__ __forceinline__ int64_t div_floor(int64_t n, int64_t d) {
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
__device__ __forceinline__ Blend make_blend(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t a) {
    Blend b;
    b.lo = (c0 * a | ((c2 * a) << 16)) + 0x007f007fu;
    b.hi = (c1 * a | ((255u * a) << 16)) + 0x007f007fu;
    b.ia = 255u - a;
    return b;
}

__device__ __forceinline__ uint32_t div255x2(uint32_t v) {
    v = v + 0x00010001u + ((v >> 8) & 0x00ff00ffu);
    return (v >> 8) & 0x00ff00ffu;
}

__device__ __forceinline__ uint32_t apply_blend(uint32_t px, const Blend& b, bool alpha) {
    const uint32_t lo = div255x2((px & 0x00ff00ffu) * b.ia + b.lo);
    const uint32_t hi = div255x2(((px >> 8) & 0x00ff00ffu) * b.ia + b.hi);
    const uint32_t v = lo | (hi << 8);
    return alpha ? v : ((v & 0x00ffffffu) | (px & 0xff000000u));
}

// Source coordinate of an overlay along one axis for destination offset u in a
// destination of size d from an image side of n pixels: nearest (i0 = i1, f = 0) or
// bilinear (i0, i1 = min(i0 + 1, n - 1), weight f of i1 in 1/256).
struct Axis {
    int32_t i0, i1;
    uint32_t f;
};

__device__ __forceinline__ Axis overlay_axis(int64_t u, int64_t d, int64_t n, bool nearest) {
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
__device__ __forceinline__ uint32_t overlay_sample(const CdImage& img, const Axis& ax,
                                                   const Axis& ay, bool nearest) {
    const uint32_t* src = (const uint32_t*)img.ptr;
    const size_t w = (size_t)img.width;
    if (nearest) return __ldg(src + ay.i0 * w + ax.i0);
    const uint32_t p00 = __ldg(src + ay.i0 * w + ax.i0), p01 = __ldg(src + ay.i0 * w + ax.i1);
    const uint32_t p10 = __ldg(src + ay.i1 * w + ax.i0), p11 = __ldg(src + ay.i1 * w + ax.i1);
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

// Bit mask of a thread's rows (bit i: y = ybase + 4i, i < rows) inside [ya, yb).
__device__ __forceinline__ uint32_t rows_mask(int ya, int yb, int ybase, int rows) {
    const int da = ya - ybase, db = yb - ybase;
    const int lo = da <= 0 ? 0 : min(rows, (da + ROW_STEP - 1) / ROW_STEP);
    const int hi = db <= 0 ? 0 : min(rows, (db + ROW_STEP - 1) / ROW_STEP);
    if (hi <= lo) return 0;
    return ((hi >= 32 ? 0u : (1u << hi)) - 1u) & ~((1u << lo) - 1u);
}

// The rows of column x a composite command changes. RECT: `ring` gets the outline
// colour, `in` the fill (each only if its alpha is non-zero); other ops: all in `ring`.
__device__ __forceinline__ void cmd_rows(const CdCmd& c, int x, int ybase, int rows,
                                         uint32_t& ring, uint32_t& in) {
    ring = 0;
    in = 0;
    if (x < c.clip.x0 || x >= c.clip.x1) return;
    const uint32_t all = rows_mask(c.clip.y0, c.clip.y1, ybase, rows);
    if (c.op != CD_OP_RECT) {
        ring = all;
        return;
    }
    if (x >= c.inner.x0 && x < c.inner.x1)
        in = all & rows_mask(c.inner.y0, c.inner.y1, ybase, rows);
    ring = all & ~in;
    if (c.color[3] == 0) ring = 0;
    if (c.fill[3] == 0) in = 0;
}

__device__ __forceinline__ bool is_blur(uint32_t op) {
    return op == CD_OP_BLUR_BOX || op == CD_OP_BLUR_GAUSS || op == CD_OP_PIXELATE;
}

// Phase composite: one block per 64 x 64 tile; grid (tiles of the largest frame,
// frames with work in this phase). The block gathers, in list order, the phase's
// commands that touch its tile (256 at a time, into shared memory); each thread owns
// one column of 16 pixels (rows 4 apart) in registers through all of them: it first
// issues the loads of every pixel some command covers (all in flight together), then
// applies the commands in order, then writes each changed pixel once.
extern "C" __global__ void __launch_bounds__(THREADS, 6)
    cd_composite(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                 const CdImage* __restrict__ images, const uint2* __restrict__ ranges,
                 const CdTileSpan* __restrict__ spans, uint32_t nspans) {
    __shared__ CdCmd list[CHUNK];
    __shared__ uint32_t warp_counts[THREADS / 32];
    __shared__ uint32_t total;
    // The block's pixels while commands apply ([i][thread]: conflict-free). Shared
    // memory rather than registers keeps register use low enough for full occupancy.
    __shared__ uint32_t tile[PX][THREADS];

    const CdTileSpan span = spans[blockIdx.y];
    const CdFrame f = frames[span.frame];
    const uint2 range = ranges[span.frame];
    const int tiles_x = (f.width + TILE_W - 1) / TILE_W;
    const int tiles_y = (f.height + TILE_H - 1) / TILE_H;
    if (blockIdx.x >= (uint32_t)(tiles_x * tiles_y)) return; // a smaller frame
    const int tx0 = (int)(blockIdx.x % tiles_x) * TILE_W;
    const int ty0 = (int)(blockIdx.x / tiles_x) * TILE_H;
    const int tx1 = min(tx0 + TILE_W, f.width), ty1 = min(ty0 + TILE_H, f.height);

    const bool alpha = has_alpha(f.format);
    const bool bgr = f.format == CD_FMT_BGRA || f.format == CD_FMT_BGRX;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    // Each warp covers 8 columns x 4 rows at a time (x fixed per thread, rows 4
    // apart), so thin vertical strokes still keep half of a warp's lanes busy.
    const int x = tx0 + warp * 8 + (lane & 7);
    const int ybase = ty0 + (lane >> 3);
    // Rows of this thread inside the frame: i < rows.
    const int rows = x < tx1 ? max(0, min(PX, (ty1 - ybase + ROW_STEP - 1) / ROW_STEP)) : 0;

    uint32_t loaded = 0;
    const int t = threadIdx.x;

    for (uint32_t base = range.x; base < range.y; base += CHUNK) {
        const uint32_t ci = base + threadIdx.x;
        bool hit = false;
        CdCmd c;
        if (ci < range.y) {
            // Only op and clip first (24 of 56 bytes): most commands miss most tiles.
            const uint32_t op = cmds[ci].op;
            const CdRegion clip = cmds[ci].clip;
            if (!is_blur(op) && clip.x0 < tx1 && clip.x1 > tx0 && clip.y0 < ty1 &&
                clip.y1 > ty0) {
                c = cmds[ci];
                // An outline without fill leaves tiles inside its inner rectangle alone.
                const bool inside_inner = c.op == CD_OP_RECT && c.fill[3] == 0 &&
                                          tx0 >= c.inner.x0 && tx1 <= c.inner.x1 &&
                                          ty0 >= c.inner.y0 && ty1 <= c.inner.y1;
                hit = !inside_inner;
            }
        }
        const uint32_t mask = __ballot_sync(0xffffffffu, hit);
        if (lane == 0) warp_counts[warp] = __popc(mask);
        __syncthreads();
        if (threadIdx.x == 0) {
            uint32_t s = 0;
            for (int w = 0; w < THREADS / 32; w++) {
                uint32_t n = warp_counts[w];
                warp_counts[w] = s;
                s += n;
            }
            total = s;
        }
        __syncthreads();
        if (hit) list[warp_counts[warp] + __popc(mask & ((1u << lane) - 1u))] = c;
        __syncthreads();
        const uint32_t n = total;
        if (n > 0 && rows > 0) {
            // Which of my pixels does some command of this chunk change? Row sets are
            // bit masks (bit i: row ybase + 4i), so a command costs a few instructions
            // per thread, not a test per pixel. Loads of all of them are then issued
            // together.
            uint32_t need = 0;
            for (uint32_t k = 0; k < n; k++) {
                uint32_t ring, in;
                cmd_rows(list[k], x, ybase, rows, ring, in);
                need |= ring | in;
            }
            need &= ~loaded;
            {
                // 8 loads in flight per step: enough to hide latency, few registers.
                const uint32_t* p0 = px_ptr(f, x, ybase);
                const size_t step = (size_t)f.pitch * ROW_STEP / 4;
                for (int h = 0; h < PX; h += 8) {
#pragma unroll
                    for (int j = 0; j < 8; j++)
                        if (need & (1u << (h + j))) tile[h + j][t] = p0[(h + j) * step];
                }
            }
            loaded |= need;
            // The commands in list order, each on the rows it changes.
            for (uint32_t k = 0; k < n; k++) {
                const CdCmd& c = list[k];
                uint32_t ring, in;
                cmd_rows(c, x, ybase, rows, ring, in);
                if (!(ring | in)) continue;
                if (c.op == CD_OP_RECT) {
                    const uint32_t col = *(const uint32_t*)c.color;
                    const uint32_t fil = *(const uint32_t*)c.fill;
                    if (ring) {
                        const Blend bl = make_blend(col & 255u, (col >> 8) & 255u,
                                                    (col >> 16) & 255u, col >> 24);
                        for (; ring; ring &= ring - 1) {
                            const int i = __ffs(ring) - 1;
                            tile[i][t] = apply_blend(tile[i][t], bl, alpha);
                        }
                    }
                    if (in) {
                        const Blend bl = make_blend(fil & 255u, (fil >> 8) & 255u,
                                                    (fil >> 16) & 255u, fil >> 24);
                        for (; in; in &= in - 1) {
                            const int i = __ffs(in) - 1;
                            tile[i][t] = apply_blend(tile[i][t], bl, alpha);
                        }
                    }
                } else if (c.op == CD_OP_SOLID) {
                    const uint32_t v = *(const uint32_t*)c.color & 0x00ffffffu;
                    for (; ring; ring &= ring - 1) {
                        const int i = __ffs(ring) - 1;
                        tile[i][t] = v | (alpha ? 0xff000000u : (tile[i][t] & 0xff000000u));
                    }
                } else { // CD_OP_OVERLAY: column terms once, row terms per pixel
                    const CdImage img = images[c.param];
                    const bool nearest = (c.aux >> 16) == CD_FILTER_NEAREST;
                    const uint32_t m = c.aux & 0xffffu;
                    const int64_t dw = (int64_t)c.inner.x1 - c.inner.x0;
                    const int64_t dh = (int64_t)c.inner.y1 - c.inner.y0;
                    const Axis ax = overlay_axis((int64_t)x - c.inner.x0, dw, img.width, nearest);
                    for (; ring; ring &= ring - 1) {
                        const int i = __ffs(ring) - 1;
                        const int y = ybase + i * ROW_STEP;
                        const Axis ay = overlay_axis((int64_t)y - c.inner.y0, dh, img.height, nearest);
                        const uint32_t sp = overlay_sample(img, ax, ay, nearest);
                        const uint32_t a = ((sp >> 24) * m + 127u) / 255u;
                        if (a == 0) continue;
                        const uint32_t r = sp & 255u, g = (sp >> 8) & 255u, b = (sp >> 16) & 255u;
                        const Blend bl = bgr ? make_blend(b, g, r, a) : make_blend(r, g, b, a);
                        tile[i][t] = apply_blend(tile[i][t], bl, alpha);
                    }
                }
            }
        }
        // The list is rewritten by the next chunk only: no barrier after the last one,
        // so warps with little work store and leave without waiting.
        if (base + CHUNK < range.y) __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < PX; i++)
        if (loaded & (1u << i)) *px_ptr(f, x, ybase + i * ROW_STEP) = tile[i][t];
}

// This block's job: the number of jobs whose first block is <= blockIdx.x, minus one
// (starts ascend). One round of loads per 256 jobs, counted by the whole block.
__device__ __forceinline__ uint32_t find_job(const CdBlurJob* jobs, uint32_t njobs,
                                             bool pass2) {
    uint32_t count = 0;
    for (uint32_t base = 0; base < njobs; base += THREADS) {
        const uint32_t j = base + threadIdx.x;
        const int pred =
            j < njobs && (pass2 ? jobs[j].block2 : jobs[j].block1) <= blockIdx.x;
        const int c = __syncthreads_count(pred);
        count += (uint32_t)c;
        if (c < THREADS) break; // the same in every thread: the block leaves together
    }
    return count - 1;
}

// Blur pass 1, one block per piece of a job:
// box: horizontal window sums (4 channels as 16-bit lanes, 8 bytes per pixel);
// gaussian: horizontal weighted pass, rounded to 8 bits (4 bytes per pixel);
// pixelate: per-cell channel sums (atomics into 16 bytes per cell, zeroed beforehand).
extern "C" __global__ void __launch_bounds__(THREADS)
    cd_blur_pass1(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                  const uint32_t* __restrict__ weights, const CdBlurJob* __restrict__ jobs,
                  uint32_t njobs, unsigned char* __restrict__ scratch) {
    __shared__ uint32_t seg[B1_H][SEG_W];
    __shared__ uint32_t wts[2 * MAX_BOX_R + 1];
    const CdBlurJob job = jobs[find_job(jobs, njobs, false)];
    const CdCmd c = cmds[job.cmd];
    const CdFrame f = frames[job.frame];
    const int x0 = c.clip.x0, y0 = c.clip.y0, x1 = c.clip.x1, y1 = c.clip.y1;
    const int w = x1 - x0, h = y1 - y0;
    const uint32_t local = blockIdx.x - job.block1;

    if (c.op == CD_OP_PIXELATE) {
        const int bsz = (int)c.param;
        const int cells_x = (w + bsz - 1) / bsz;
        const uint64_t item = (uint64_t)local * THREADS + threadIdx.x;
        if (item >= (uint64_t)h * cells_x) return;
        const int yy = (int)(item / cells_x), cx = (int)(item % cells_x);
        const int cy = yy / bsz;
        const int xs = x0 + cx * bsz, xe = min(xs + bsz, x1);
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const uint32_t* row = px_ptr(f, 0, y0 + yy);
        for (int xx = xs; xx < xe; xx++) {
            uint32_t p = row[xx];
            s0 += p & 255u; s1 += (p >> 8) & 255u; s2 += (p >> 16) & 255u; s3 += p >> 24;
        }
        uint32_t* sums = (uint32_t*)(scratch + job.scratch) + ((uint64_t)cy * cells_x + cx) * 4;
        atomicAdd(sums + 0, s0);
        atomicAdd(sums + 1, s1);
        atomicAdd(sums + 2, s2);
        atomicAdd(sums + 3, s3);
        return;
    }

    const int r = (int)c.param;
    const int tiles_x = (w + B1_W - 1) / B1_W;
    const int cx0 = x0 + (int)(local % tiles_x) * B1_W;
    const int cy0 = y0 + (int)(local / tiles_x) * B1_H;
    const int seg_w = min(B1_W, x1 - cx0) + 2 * r;
    const int rows = min(B1_H, y1 - cy0);
    // Row segments [cx0 - r, cx0 + 64 + r), clamped to the region (replicated edges).
#pragma unroll 4
    for (int i = threadIdx.x; i < rows * seg_w; i += THREADS) {
        const int ry = i / seg_w, k = i % seg_w;
        const int sx = clampi(cx0 - r + k, x0, x1 - 1);
        seg[ry][k] = *px_ptr(f, sx, cy0 + ry);
    }
    if (c.op == CD_OP_BLUR_GAUSS) {
        for (int i = threadIdx.x; i < 2 * r + 1; i += THREADS) wts[i] = weights[c.aux + i];
    }
    __syncthreads();
    if (c.op == CD_OP_BLUR_BOX) {
        // Each thread: 4 neighbouring outputs of one row by a sliding window sum, the
        // four channels as 16-bit lanes of two words (no lane exceeds 255 * 255).
        const int ry = threadIdx.x / (B1_W / 4), c0 = (threadIdx.x % (B1_W / 4)) * 4;
        if (ry >= rows || cx0 + c0 >= x1) return;
        uint32_t lo = 0, hi = 0;
#pragma unroll 4
        for (int k = 0; k <= 2 * r; k++) {
            const uint32_t p = seg[ry][c0 + k];
            lo += p & 0x00ff00ffu;
            hi += (p >> 8) & 0x00ff00ffu;
        }
        uint2* out = (uint2*)(scratch + job.scratch) + (uint64_t)(cy0 + ry - y0) * w + (cx0 + c0 - x0);
        const int n = min(4, x1 - (cx0 + c0));
        for (int j = 0; j < n; j++) {
            out[j] = make_uint2(lo, hi);
            if (j + 1 == n) break;
            const uint32_t a = seg[ry][c0 + j + 2 * r + 1], d = seg[ry][c0 + j];
            lo = lo + (a & 0x00ff00ffu) - (d & 0x00ff00ffu);
            hi = hi + ((a >> 8) & 0x00ff00ffu) - ((d >> 8) & 0x00ff00ffu);
        }
        return;
    }
    const int col = threadIdx.x % B1_W;
    const int x = cx0 + col;
    if (x >= x1) return;
    for (int ry = threadIdx.x / B1_W; ry < rows; ry += THREADS / B1_W) {
        const uint64_t idx = (uint64_t)(cy0 + ry - y0) * w + (x - x0);
        {
            uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int k = 0; k <= 2 * r; k++) {
                const uint32_t p = seg[ry][col + k], wk = wts[k];
                a0 += wk * (p & 255u);
                a1 += wk * ((p >> 8) & 255u);
                a2 += wk * ((p >> 16) & 255u);
                a3 += wk * (p >> 24);
            }
            const uint32_t v = ((a0 + 32768u) >> 16) | (((a1 + 32768u) >> 16) << 8) |
                               (((a2 + 32768u) >> 16) << 16) | (((a3 + 32768u) >> 16) << 24);
            ((uint32_t*)(scratch + job.scratch))[idx] = v;
        }
    }
}

// Blur pass 2: vertical pass (box: sliding window sums; gaussian: weighted taps) or
// pixelate cell means, written straight into the frame. 64 x 32 outputs per block:
// each thread one column of 8 rows.
extern "C" __global__ void __launch_bounds__(THREADS)
    cd_blur_pass2(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                  const uint32_t* __restrict__ weights, const CdBlurJob* __restrict__ jobs,
                  uint32_t njobs, const unsigned char* __restrict__ scratch) {
    __shared__ uint32_t wts[2 * MAX_BOX_R + 1];
    const CdBlurJob job = jobs[find_job(jobs, njobs, true)];
    const CdCmd c = cmds[job.cmd];
    const CdFrame f = frames[job.frame];
    const int x0 = c.clip.x0, y0 = c.clip.y0, x1 = c.clip.x1, y1 = c.clip.y1;
    const int w = x1 - x0;
    const uint32_t local = blockIdx.x - job.block2;
    const int tiles_x = (w + B2_W - 1) / B2_W;
    const int x = x0 + (int)(local % tiles_x) * B2_W + (int)(threadIdx.x % B2_W);
    const int ys = y0 + (int)(local / tiles_x) * B2_H + (int)(threadIdx.x / B2_W) * (B2_H / 4);
    const int ye = min(ys + B2_H / 4, y1);
    const bool alpha = has_alpha(f.format);
    const int r = (int)c.param;

    if (c.op == CD_OP_BLUR_GAUSS) {
        for (int i = threadIdx.x; i < 2 * r + 1; i += THREADS) wts[i] = weights[c.aux + i];
        __syncthreads();
    }
    if (x >= x1 || ys >= y1) return;

    if (c.op == CD_OP_PIXELATE) {
        const int bsz = r;
        const int cells_x = (w + bsz - 1) / bsz;
        const int cx = (x - x0) / bsz;
        const int cw = min(bsz, x1 - (x0 + cx * bsz));
        const uint32_t* sums = (const uint32_t*)(scratch + job.scratch);
        for (int y = ys; y < ye; y++) {
            const int cy = (y - y0) / bsz;
            const uint32_t ch = (uint32_t)min(bsz, y1 - (y0 + cy * bsz));
            const uint32_t n = (uint32_t)cw * ch;
            const uint32_t* s = sums + ((uint64_t)cy * cells_x + cx) * 4;
            uint32_t v = 0;
#pragma unroll
            for (int k = 0; k < 4; k++) v |= ((s[k] + n / 2) / n) << (8 * k);
            uint32_t* p = px_ptr(f, x, y);
            *p = with_x_byte(v, alpha ? 0u : *p, alpha);
        }
        return;
    }

    if (c.op == CD_OP_BLUR_BOX) {
        const uint2* hs = (const uint2*)(scratch + job.scratch);
        const uint32_t n = (uint32_t)(2 * r + 1) * (uint32_t)(2 * r + 1);
        const int col = x - x0;
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma unroll 8
        for (int j = -r; j <= r; j++) {
            const uint2 v = hs[(uint64_t)(clampi(ys + j, y0, y1 - 1) - y0) * w + col];
            s0 += v.x & 0xffffu; s2 += v.x >> 16; s1 += v.y & 0xffffu; s3 += v.y >> 16;
        }
#pragma unroll 4
        for (int y = ys; y < ye; y++) {
            const uint32_t v = ((s0 + n / 2) / n) | (((s1 + n / 2) / n) << 8) |
                               (((s2 + n / 2) / n) << 16) | (((s3 + n / 2) / n) << 24);
            uint32_t* p = px_ptr(f, x, y);
            *p = with_x_byte(v, alpha ? 0u : *p, alpha);
            if (y + 1 < ye) {
                const uint2 out = hs[(uint64_t)(clampi(y - r, y0, y1 - 1) - y0) * w + col];
                const uint2 in = hs[(uint64_t)(clampi(y + r + 1, y0, y1 - 1) - y0) * w + col];
                s0 += (in.x & 0xffffu) - (out.x & 0xffffu);
                s2 += (in.x >> 16) - (out.x >> 16);
                s1 += (in.y & 0xffffu) - (out.y & 0xffffu);
                s3 += (in.y >> 16) - (out.y >> 16);
            }
        }
        return;
    }

    // Gaussian vertical taps on the 8-bit horizontal results.
    const uint32_t* hs = (const uint32_t*)(scratch + job.scratch);
    const int col = x - x0;
    for (int y = ys; y < ye; y++) {
        uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#pragma unroll 4
        for (int k = 0; k <= 2 * r; k++) {
            const uint32_t p = hs[(uint64_t)(clampi(y - r + k, y0, y1 - 1) - y0) * w + col];
            const uint32_t wk = wts[k];
            a0 += wk * (p & 255u);
            a1 += wk * ((p >> 8) & 255u);
            a2 += wk * ((p >> 16) & 255u);
            a3 += wk * (p >> 24);
        }
        const uint32_t v = ((a0 + 32768u) >> 16) | (((a1 + 32768u) >> 16) << 8) |
                           (((a2 + 32768u) >> 16) << 16) | (((a3 + 32768u) >> 16) << 24);
        uint32_t* p = px_ptr(f, x, y);
        *p = with_x_byte(v, alpha ? 0u : *p, alpha);
    }
}
