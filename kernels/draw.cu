// cudadraw kernels: every op of the draw model, on whole batches, bit-exact with the
// CPU renderer (docs/semantics.md). The host splits each frame's command list into
// phases (a blur never reads a pixel written earlier in its phase); per phase it
// launches at most: cd_blur_pass1 and cd_blur_pass2 (all blurs of all frames, which
// write their results straight into the frames: their regions are disjoint from
// every earlier command of the phase), then cd_composite (every box, redaction and
// overlay of the phase, tile by tile, in list order). Launch count depends only on
// the number of phases, never on boxes or frames.
#include "commands.h"

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
    // A tap of weight 0 contributes 0 whatever its value: it is not loaded (an overlay
    // at its image's size has every weight f = 0 and needs one tap, not four).
    const uint32_t p00 = __ldg(src + ay.i0 * w + ax.i0);
    const uint32_t p01 = ax.f ? __ldg(src + ay.i0 * w + ax.i1) : 0u;
    const uint32_t p10 = ay.f ? __ldg(src + ay.i1 * w + ax.i0) : 0u;
    const uint32_t p11 = (ax.f && ay.f) ? __ldg(src + ay.i1 * w + ax.i1) : 0u;
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
// OVERLAY = false: the phase has no overlay (the host says so), whose code would cost
// registers (spills) in every warp.
template <bool OVERLAY>
__device__ __forceinline__ void composite(const CdFrame* __restrict__ frames,
                                          const CdCmd* __restrict__ cmds,
                                          const int4* __restrict__ boxes,
                                          const CdImage* __restrict__ images,
                                          const CdTileItem* __restrict__ rows_in,
                                          const CdTileItem* __restrict__ items) {
    __shared__ int4 sbox[CMD_CHUNK];
    __shared__ uint2 sraw[CMD_CHUNK * CMD_U2];
    __shared__ uint32_t hidx[THREADS / 32][32];
    __shared__ uint32_t sidx[THREADS / 32][32];
    const CdCmd* const scmd = (const CdCmd*)sraw;
    const uint2* const gcmd = (const uint2*)cmds; // 8-byte aligned (upload layout)

    CdTileItem it;
    if (items) {
        it = items[blockIdx.x];
    } else {
        it = rows_in[blockIdx.y];
        it.tile = blockIdx.x;
    }
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
        {
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
        const int wx0 = (int)(it.tile % tiles_x) * TILE_W + (warp & 1) * WT_W;
        const int wy0 = (int)(it.tile / tiles_x) * TILE_H + (warp >> 1) * WT_H;
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
#pragma unroll
            for (int i = 0; i < WT_H; i++)
                if (need & (1u << i)) px[i] = *(const uint32_t*)(p0 + (size_t)i * pitch);

            // (2) The commands in list order, each on the rows it changes.
            for (int k = 0; k < n; k++) {
                const CdCmd& d = scmd[sl[k]];
                uint32_t ring, in;
                cmd_rows(d, x, wy0, rows, ring, in);
                det |= ring | in; // (already in det unless pass (1) was skipped)
                if (!(ring | in)) continue;
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
                        const uint32_t a = ((s >> 24) * m + 127u) / 255u;
                        if (a == 0) return;
                        const uint32_t r = s & 255u, gg = (s >> 8) & 255u, b = (s >> 16) & 255u;
                        const Blend bl = bgr ? make_blend(b, gg, r, a) : make_blend(r, gg, b, a);
                        p = apply_blend(p, bl, alpha);
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
    const int wx0 = (int)(it.tile % tiles_x) * TILE_W + (warp & 1) * WT_W;
    const int wy0 = (int)(it.tile / tiles_x) * TILE_H + (warp >> 1) * WT_H;
    unsigned char* const p0 =
        (unsigned char*)(f.ptr + (uint64_t)wy0 * f.pitch + (uint64_t)(wx0 + lane) * 4u);
#pragma unroll
    for (int i = 0; i < WT_H; i++)
        if (known & (1u << i)) *(uint32_t*)(p0 + (size_t)i * f.pitch) = px[i];
}

// With overlays: 3 blocks per SM (80 registers) keep the overlay path free of spills
// (64 registers spilled about 200 bytes); overlay phases are usually compacted grids of
// a few waves either way.
extern "C" __global__ void __launch_bounds__(THREADS, 3)
    cd_composite(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                 const int4* __restrict__ boxes, const CdImage* __restrict__ images,
                 const CdTileItem* __restrict__ rows_in, const CdTileItem* __restrict__ items) {
    composite<true>(frames, cmds, boxes, images, rows_in, items);
}

// The same for a phase without overlays.
extern "C" __global__ void __launch_bounds__(THREADS, 4)
    cd_composite_plain(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                       const int4* __restrict__ boxes, const CdImage* __restrict__ images,
                       const CdTileItem* __restrict__ rows_in,
                       const CdTileItem* __restrict__ items) {
    composite<false>(frames, cmds, boxes, images, rows_in, items);
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
    // Row segments [cx0 - r, cx0 + 64 + r), clamped to the region (replicated edges):
    // up to 8 loads per thread issued together, then stored (one round trip for r <= 27).
    {
        const int n = rows * seg_w;
        for (int base = 0; base < n; base += 8 * THREADS) {
            uint32_t v[8];
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const int i = base + (int)threadIdx.x + j * THREADS;
                if (i < n) {
                    const int ry = i / seg_w, k = i - ry * seg_w;
                    v[j] = *px_ptr(f, clampi(cx0 - r + k, x0, x1 - 1), cy0 + ry);
                }
            }
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const int i = base + (int)threadIdx.x + j * THREADS;
                if (i < n) {
                    const int ry = i / seg_w, k = i - ry * seg_w;
                    seg[ry][k] = v[j];
                }
            }
        }
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
extern "C" __global__ void __launch_bounds__(THREADS, 4)
    cd_blur_pass2(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                  const uint32_t* __restrict__ weights, const CdBlurJob* __restrict__ jobs,
                  uint32_t njobs, const unsigned char* __restrict__ scratch) {
    __shared__ uint32_t wts[2 * MAX_BOX_R + 1];
    __shared__ uint2 st[ST_ROWS][B2_W];
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

    if (c.op == CD_OP_BLUR_BOX && 2 * r + B2_H <= ST_ROWS) {
        // The block's horizontal sums, rows [by0 - r, by0 + 32 + r) (clamped to the
        // region) x its 64 columns, staged in shared memory in two rounds of loads (up
        // to 8 per thread in flight, r <= 15); then vertical sliding sums from there.
        const int bx0 = x0 + (int)(local % tiles_x) * B2_W;
        const int by0 = y0 + (int)(local / tiles_x) * B2_H;
        const int ncol = min(B2_W, x1 - bx0), nout = min(B2_H, y1 - by0);
        const int n = (nout + 2 * r) * B2_W;
        const uint2* hs = (const uint2*)(scratch + job.scratch) + (bx0 - x0);
        for (int base = 0; base < n; base += 8 * THREADS) {
            uint2 v[8];
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const int i = base + (int)threadIdx.x + j * THREADS;
                const int k = i / B2_W, cc = i % B2_W;
                if (i < n && cc < ncol)
                    v[j] = hs[(uint64_t)(clampi(by0 - r + k, y0, y1 - 1) - y0) * w + cc];
            }
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const int i = base + (int)threadIdx.x + j * THREADS;
                const int k = i / B2_W, cc = i % B2_W;
                if (i < n && cc < ncol) st[k][cc] = v[j];
            }
        }
        __syncthreads();
        const int cc = (int)(threadIdx.x % B2_W);
        const int t0 = (int)(threadIdx.x / B2_W) * (B2_H / 4);
        const int t1 = min(t0 + B2_H / 4, nout);
        if (cc >= ncol || t0 >= t1) return;
        const uint32_t nn = (uint32_t)(2 * r + 1) * (uint32_t)(2 * r + 1);
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int k = t0; k <= t0 + 2 * r; k++) {
            const uint2 v = st[k][cc];
            s0 += v.x & 0xffffu; s2 += v.x >> 16; s1 += v.y & 0xffffu; s3 += v.y >> 16;
        }
        for (int t = t0; t < t1; t++) {
            const uint32_t v = ((s0 + nn / 2) / nn) | (((s1 + nn / 2) / nn) << 8) |
                               (((s2 + nn / 2) / nn) << 16) | (((s3 + nn / 2) / nn) << 24);
            uint32_t* p = px_ptr(f, bx0 + cc, by0 + t);
            *p = with_x_byte(v, alpha ? 0u : *p, alpha);
            if (t + 1 < t1) {
                const uint2 in = st[t + 2 * r + 1][cc], out = st[t][cc];
                s0 += (in.x & 0xffffu) - (out.x & 0xffffu);
                s2 += (in.x >> 16) - (out.x >> 16);
                s1 += (in.y & 0xffffu) - (out.y & 0xffffu);
                s3 += (in.y >> 16) - (out.y >> 16);
            }
        }
        return;
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

