// NV12 and I420 frames (docs/semantics.md "NV12 and I420"): the packed renderer's
// commands applied to a Y' plane and Cb/Cr planes at half resolution, byte-exact with
// src/cpu/planar.rs. The host plans phases as for packed frames, with every region
// snapped outward to whole 2 x 2 blocks (src/cuda/plan.rs); per phase at most
// cd_planar_blur1 + cd_planar_blur2 (every plane of every blur of every frame) and one
// composite (every other command of every frame): cd_planar_composite_boxes when the
// phase holds only boxes and redactions, else cd_planar_composite.
#include "shape_rows.cuh"

// A composite block covers PT x PT chroma samples (2 PT x 2 PT luma pixels); one
// thread per chroma sample and its 2 x 2 luma pixels.
#define PT CD_PLANAR_TILE
// Box blur threads: RUN consecutive samples of a row (pass 1) or a column (pass 2),
// by sliding sums (the window of the next sample: one sample in, one out).
#define RUN CD_PLANAR_RUN
// The composite's warps each own 2 rows of PT chroma samples (wy0 = ly0 + 4 warp).
static_assert(PT == 16 && THREADS == PT * PT, "a warp is two rows of a block's samples");

// Plane `p` of frame f: first sample, pitch, bytes between samples of a row.
struct PlaneRef {
    uint8_t* base;
    uint32_t pitch;
    uint32_t step;
};

__device__ __forceinline__ PlaneRef plane_of(const CdPlanar& f, uint32_t p) {
    PlaneRef r;
    if (p == 0) {
        r.base = (uint8_t*)(uintptr_t)f.y;
        r.pitch = f.y_pitch;
        r.step = 1;
    } else {
        r.base = (uint8_t*)(uintptr_t)(p == 1 ? f.cb : f.cr);
        r.pitch = p == 1 ? f.cb_pitch : f.cr_pitch;
        r.step = f.c_step;
    }
    return r;
}

__device__ __forceinline__ uint8_t* sample(const PlaneRef& p, int x, int y) {
    return p.base + (size_t)y * p.pitch + (size_t)x * p.step;
}

// The job a block of a blur pass belongs to: the last job whose first block is <= b.
__device__ __forceinline__ uint32_t find_job(const CdPlaneJob* jobs, uint32_t n, uint32_t b,
                                             bool pass2) {
    uint32_t lo = 0, hi = n;
    while (hi - lo > 1) {
        const uint32_t mid = (lo + hi) / 2;
        if ((pass2 ? jobs[mid].block2 : jobs[mid].block1) <= b) lo = mid;
        else hi = mid;
    }
    return lo;
}

__device__ __forceinline__ uint32_t cells_of(int luma_len, uint32_t b) {
    return ((uint32_t)luma_len + b - 1) / b;
}

// Cell along one axis of sample k (absolute) of a plane whose region starts at r0.
__device__ __forceinline__ int cell_at(uint32_t plane, int k, int r0, int l0, int l1, int b) {
    return plane == 0 ? (k - r0) / b : chroma_cell(k, l0, l1, b);
}

// Pass 1. Box (RUN samples per thread) and gaussian: the horizontal sums (gaussian:
// rounded, >> CD_GAUSS_SHIFT) of every sample of the region, windows clamped to the
// region, into scratch (u32 per sample). Pixelate: (sum, count) of every cell.
extern "C" __global__ void __launch_bounds__(THREADS)
    cd_planar_blur1(const CdPlanar* __restrict__ frames, const CdCmd* __restrict__ cmds,
                    const uint32_t* __restrict__ weights, const CdPlaneJob* __restrict__ jobs,
                    uint32_t njobs, uint8_t* __restrict__ scratch) {
    const CdPlaneJob j = jobs[find_job(jobs, njobs, blockIdx.x, false)];
    const CdCmd c = cmds[j.cmd];
    const PlaneRef p = plane_of(frames[j.frame], j.plane);
    const CdRegion R = j.region;
    const int w = R.x1 - R.x0, h = R.y1 - R.y0;
    const uint32_t e = (blockIdx.x - j.block1) * THREADS + threadIdx.x;
    if (c.op == CD_OP_PIXELATE) {
        const int b = (int)c.param;
        const uint32_t ncx = cells_of(j.luma.x1 - j.luma.x0, b);
        const uint32_t ncy = cells_of(j.luma.y1 - j.luma.y0, b);
        if (e >= ncx * ncy) return;
        const int cx = (int)(e % ncx), cy = (int)(e / ncx);
        // The samples of the cell: its luma span halved for chroma, one sample wider on
        // each side, each one tested with the exact cell rule.
        int xa = R.x0 + cx * b, xb = R.x0 + (cx + 1) * b;
        int ya = R.y0 + cy * b, yb = R.y0 + (cy + 1) * b;
        if (j.plane != 0) {
            xa = (j.luma.x0 + cx * b) / 2 - 1;
            xb = (j.luma.x0 + (cx + 1) * b) / 2 + 1;
            ya = (j.luma.y0 + cy * b) / 2 - 1;
            yb = (j.luma.y0 + (cy + 1) * b) / 2 + 1;
            if (cx == 0) xa = R.x0;
            if (cy == 0) ya = R.y0;
            if ((uint32_t)cx == ncx - 1) xb = R.x1;
            if ((uint32_t)cy == ncy - 1) yb = R.y1;
        }
        xa = max(xa, R.x0);
        ya = max(ya, R.y0);
        xb = min(xb, R.x1);
        yb = min(yb, R.y1);
        uint32_t sum = 0, n = 0;
        for (int y = ya; y < yb; y++) {
            if (cell_at(j.plane, y, R.y0, j.luma.y0, j.luma.y1, b) != cy) continue;
            for (int x = xa; x < xb; x++) {
                if (cell_at(j.plane, x, R.x0, j.luma.x0, j.luma.x1, b) != cx) continue;
                sum += *sample(p, x, y);
                n++;
            }
        }
        ((uint2*)(scratch + j.scratch))[e] = make_uint2(sum, n);
        return;
    }
    const int r = (int)j.radius;
    if (c.op == CD_OP_BLUR_BOX) {
        const uint32_t runs = ((uint32_t)w + RUN - 1) / RUN;
        if (e >= runs * (uint32_t)h) return;
        const int x0 = (int)(e % runs) * RUN, y = (int)(e / runs);
        const uint8_t* row = sample(p, R.x0, R.y0 + y);
        uint32_t* out = (uint32_t*)(scratch + j.scratch) + (size_t)y * w;
        uint32_t sum = 0;
        for (int k = -r; k <= r; k++) sum += row[(size_t)clampi(x0 + k, 0, w - 1) * p.step];
        const int x1 = min(x0 + RUN, w);
        for (int x = x0; x < x1; x++) {
            out[x] = sum;
            sum += row[(size_t)clampi(x + r + 1, 0, w - 1) * p.step];
            sum -= row[(size_t)clampi(x - r, 0, w - 1) * p.step];
        }
        return;
    }
    if (e >= (uint32_t)(w * h)) return;
    const int x = (int)(e % (uint32_t)w), y = (int)(e / (uint32_t)w);
    const uint8_t* row = sample(p, R.x0, R.y0 + y);
    const uint32_t* wt = weights + j.weights; // gaussian
    uint32_t sum = 0;
    for (int k = -r; k <= r; k++) sum += wt[k + r] * row[(size_t)clampi(x + k, 0, w - 1) * p.step];
    ((uint32_t*)(scratch + j.scratch))[e] = (sum + (1u << (CD_GAUSS_SHIFT - 1))) >> CD_GAUSS_SHIFT;
}

// Pass 2: the vertical sums of pass 1's (box, RUN samples per thread: mean of
// (2 r + 1)^2 samples, rounded; gaussian: rounded) or the cell means, written into the
// plane.
extern "C" __global__ void __launch_bounds__(THREADS)
    cd_planar_blur2(const CdPlanar* __restrict__ frames, const CdCmd* __restrict__ cmds,
                    const uint32_t* __restrict__ weights, const CdPlaneJob* __restrict__ jobs,
                    uint32_t njobs, uint8_t* __restrict__ scratch) {
    const CdPlaneJob j = jobs[find_job(jobs, njobs, blockIdx.x, true)];
    const CdCmd c = cmds[j.cmd];
    const PlaneRef p = plane_of(frames[j.frame], j.plane);
    const CdRegion R = j.region;
    const int w = R.x1 - R.x0, h = R.y1 - R.y0;
    const uint32_t e = (blockIdx.x - j.block2) * THREADS + threadIdx.x;
    if (c.op == CD_OP_BLUR_BOX) {
        const uint32_t runs = ((uint32_t)h + RUN - 1) / RUN;
        if (e >= runs * (uint32_t)w) return;
        const int x = (int)(e % (uint32_t)w), y0 = (int)(e / (uint32_t)w) * RUN;
        const uint32_t* tmp = (const uint32_t*)(scratch + j.scratch) + x;
        const int r = (int)j.radius;
        const uint32_t n = (uint32_t)((2 * r + 1) * (2 * r + 1));
        const Div24 dv = div24_new(n);
        uint32_t sum = 0;
        for (int k = -r; k <= r; k++) sum += tmp[(size_t)clampi(y0 + k, 0, h - 1) * w];
        const int y1 = min(y0 + RUN, h);
        for (int y = y0; y < y1; y++) {
            *sample(p, R.x0 + x, R.y0 + y) = (uint8_t)div24(dv, sum + n / 2);
            sum += tmp[(size_t)clampi(y + r + 1, 0, h - 1) * w];
            sum -= tmp[(size_t)clampi(y - r, 0, h - 1) * w];
        }
        return;
    }
    if (e >= (uint32_t)(w * h)) return;
    const int x = (int)(e % (uint32_t)w), y = (int)(e / (uint32_t)w);
    uint32_t v;
    if (c.op == CD_OP_PIXELATE) {
        const int b = (int)c.param;
        const uint32_t ncx = cells_of(j.luma.x1 - j.luma.x0, b);
        const int cx = cell_at(j.plane, R.x0 + x, R.x0, j.luma.x0, j.luma.x1, b);
        const int cy = cell_at(j.plane, R.y0 + y, R.y0, j.luma.y0, j.luma.y1, b);
        const uint2 s = ((const uint2*)(scratch + j.scratch))[(uint32_t)cy * ncx + (uint32_t)cx];
        v = (s.x + s.y / 2) / s.y;
    } else { // gaussian
        const uint32_t* tmp = (const uint32_t*)(scratch + j.scratch);
        const uint32_t* wt = weights + j.weights;
        const int r = (int)j.radius;
        uint32_t sum = 0;
        for (int k = -r; k <= r; k++)
            sum += wt[k + r] * tmp[(size_t)clampi(y + k, 0, h - 1) * w + x];
        v = (sum + (1u << (CD_GAUSS_SHIFT - 1))) >> CD_GAUSS_SHIFT;
    }
    *sample(p, R.x0 + x, R.y0 + y) = (uint8_t)v;
}

// A 2 x 2 block's samples in two registers: luma k in byte k of y, chroma cb | cr << 8.
struct BlockState {
    uint32_t y, c;
};

// Which samples go in pairs (one 16-bit access instead of two byte accesses): bit 0,
// the two luma samples of a block row (the plane's start and pitch even); bit 1, Cb and
// Cr (NV12's interleaved plane, its start and pitch even).
__device__ __forceinline__ uint32_t sample_pairs(const PlaneRef& Y, const PlaneRef& U,
                                                 const PlaneRef& V) {
    const bool y2 = (((uintptr_t)Y.base | Y.pitch) & 1u) == 0;
    const bool c2 = U.step == 2 && V.base == U.base + 1 && (((uintptr_t)U.base | U.pitch) & 1u) == 0;
    return (uint32_t)y2 | ((uint32_t)c2 << 1);
}

// The samples of the 2 x 2 block at luma (px, py), chroma (bx, by): luma pixels inside
// the frame only.
__device__ __forceinline__ BlockState load_block(const PlaneRef& Y, const PlaneRef& U,
                                                 const PlaneRef& V, int px, int py, int bx,
                                                 int by, uint32_t inside, uint32_t pairs) {
    BlockState s = {0, 0};
#pragma unroll
    for (int row = 0; row < 2; row++) {
        const uint32_t in = (inside >> (2 * row)) & 3u;
        const uint8_t* p = sample(Y, px, py + row);
        if (in == 3u && (pairs & 1u)) s.y |= (uint32_t)*(const uint16_t*)p << (16 * row);
        else {
            if (in & 1u) s.y |= (uint32_t)p[0] << (16 * row);
            if (in & 2u) s.y |= (uint32_t)p[1] << (16 * row + 8);
        }
    }
    if (pairs & 2u) s.c = *(const uint16_t*)sample(U, bx, by);
    else s.c = (uint32_t)*sample(U, bx, by) | ((uint32_t)*sample(V, bx, by) << 8);
    return s;
}

__device__ __forceinline__ void store_block(const PlaneRef& Y, const PlaneRef& U,
                                            const PlaneRef& V, int px, int py, int bx, int by,
                                            uint32_t inside, uint32_t pairs, BlockState s) {
#pragma unroll
    for (int row = 0; row < 2; row++) {
        const uint32_t in = (inside >> (2 * row)) & 3u;
        uint8_t* p = sample(Y, px, py + row);
        const uint32_t v = s.y >> (16 * row);
        if (in == 3u && (pairs & 1u)) *(uint16_t*)p = (uint16_t)v;
        else {
            if (in & 1u) p[0] = (uint8_t)v;
            if (in & 2u) p[1] = (uint8_t)(v >> 8);
        }
    }
    if (pairs & 2u) *(uint16_t*)sample(U, bx, by) = (uint16_t)s.c;
    else {
        *sample(U, bx, by) = (uint8_t)s.c;
        *sample(V, bx, by) = (uint8_t)(s.c >> 8);
    }
}

// Every op but the boxes and redactions, out of line (one copy of the big switch; its
// registers are not the loop's). The frame, command and shape tables are in shared
// memory and the block's samples travel by value, so nothing goes to local memory.
__device__ __noinline__ BlockState planar_step_call(const CdPlanar& f, const CdCmd& c,
                                                    const CdImage* images, const CdGlyph* glyphs,
                                                    const uint8_t* atlas, const ShapeData& g,
                                                    int px, int py, uint32_t inside,
                                                    BlockState s) {
    uint32_t yv[4], cb = s.c & 255u, cr = s.c >> 8;
#pragma unroll
    for (int k = 0; k < 4; k++) yv[k] = (s.y >> (8 * k)) & 255u;
    planar_step(f, c, images, glyphs, atlas, g, px, py, inside, yv, &cb, &cr);
    BlockState r;
    r.y = yv[0] | (yv[1] << 8) | (yv[2] << 16) | (yv[3] << 24);
    r.c = cb | (cr << 8);
    return r;
}

// A shape layer's coverage of the warp's 32 x 4 luma pixels (lane = column, one byte per
// row), its minus layer taken out: shape_counts by sample rows.
__device__ __forceinline__ uint32_t planar_shape_rows(const ShapeData& g, uint32_t index, int wx0,
                                                   int wy0, uint32_t want) {
    const CdShape sh = g.shapes[index];
    uint4 cn, mn;
    bool maa;
    layer_counts<4>(g, sh, index, wx0, wy0, want, &cn, &mn, &maa);
    const bool aa = (sh.flags & CD_SHAPE_AA) != 0, minus = sh.minus != CD_NO_SHAPE;
    uint32_t cov = 0;
#pragma unroll
    for (int i = 0; i < 4; i++)
        cov |= counts_coverage((cn.x >> (8 * i)) & 255u, aa, minus, (mn.x >> (8 * i)) & 255u,
                               maa)
               << (8 * i);
    return cov;
}

// planar_shape on a block's state, out of line like planar_step_call.
__device__ __noinline__ BlockState planar_shape_call(const CdPlanar& f, const CdCmd& c,
                                                     uint32_t in_clip, uint32_t inside,
                                                     uint32_t cov4, BlockState s) {
    uint32_t yv[4], cov[4], cb = s.c & 255u, cr = s.c >> 8;
#pragma unroll
    for (int k = 0; k < 4; k++) {
        yv[k] = (s.y >> (8 * k)) & 255u;
        cov[k] = (cov4 >> (8 * k)) & 255u;
    }
    planar_shape(f, c, in_clip, inside, cov, yv, &cb, &cr);
    BlockState r;
    r.y = yv[0] | (yv[1] << 8) | (yv[2] << 16) | (yv[3] << 24);
    r.c = cb | (cr << 8);
    return r;
}

// Bits of the warp's luma rows [wy0, wy1) inside rows [y0, y1).
__device__ __forceinline__ uint32_t span_rows(int y0, int y1, int wy0, int wy1) {
    return row_bits(max(y0, wy0), min(y1, wy1), wy0, 4);
}

// Commands a composite block stages in shared memory at a time (one per thread).
#define CMD_CHUNK THREADS
#define CMD_U2 (sizeof(CdCmd) / 8) // a command as 8-byte words
#define PLANAR_U2 (sizeof(CdPlanar) / 8)

// Every pointwise command of a phase, in list order, on PT x PT chroma samples of one
// frame per block (grid: x = blocks of the largest frame, y = frames with work; or one
// block per compacted item, its commands the frame's or the tile's bin). The
// block stages the frame record, the shape tables and its frame's commands in shared
// memory, 256 at a time, each thread converting one command's colours to Y'CbCr once
// and testing it against the block's 2 PT x 2 PT pixels: kept are the commands whose
// clip meets them, less outlines without fill whose inner rectangle holds them (order
// kept). Each thread then applies the kept commands to its 2 x 2 pixels and chroma
// sample, held in registers (boxes and redactions inline from the converted colours,
// every other op out of line), reads its samples when a command first changes one of
// them and writes them once at the end. ANY = false: the phase holds only boxes and
// redactions (the host says so), and the kernel has no call (whose saved registers spill).
template <bool ANY, bool SHAPES>
__device__ __forceinline__ void planar_composite(
    const CdPlanar* __restrict__ frames, const CdCmd* __restrict__ cmds,
    const CdImage* __restrict__ images, const CdGlyph* __restrict__ glyphs,
    const uint8_t* __restrict__ atlas, const CdShapeData& geo, const CdTileItem* __restrict__ rows,
    const CdTileItem* __restrict__ items, const uint32_t* __restrict__ bins) {
    __shared__ uint2 sraw[CMD_CHUNK * CMD_U2];
    __shared__ uint2 syuv[CMD_CHUNK]; // outline, fill colour of each staged command
    __shared__ uint32_t hits[CMD_CHUNK];
    __shared__ uint32_t wsum[THREADS / 32];
    __shared__ uint2 fraw[PLANAR_U2];
    __shared__ ShapeData sg;
    const CdCmd* const scmd = (const CdCmd*)sraw;
    const CdPlanar& f = *(const CdPlanar*)fraw;
    // Full grid (x = blocks of the largest frame, y = frames) or compacted items, whose
    // tiles may name their own command lists (CD_TILE_BINNED: bins[start..end)).
    bool binned;
    const CdTileItem it = tile_item(rows, items, blockIdx.x, blockIdx.y, &binned);
    if (threadIdx.x < PLANAR_U2)
        fraw[threadIdx.x] = ((const uint2*)(frames + it.frame))[threadIdx.x];
    if (threadIdx.x == 0) sg = shape_data(geo);
    __syncthreads();
    const int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
    const int tcols = (cw + PT - 1) / PT;
    const int ty = (int)div_small(it.tile, (uint32_t)tcols), tx = (int)it.tile - ty * tcols;
    if (ty * PT >= ch) return; // the frame is smaller than the grid's largest (block-uniform)
    const int bx = tx * PT + (int)(threadIdx.x % PT), by = ty * PT + (int)(threadIdx.x / PT);
    const bool live = bx < cw && by < ch;
    const int lx0 = 2 * tx * PT, ly0 = 2 * ty * PT;
    const int lx1 = min(lx0 + 2 * PT, f.width), ly1 = min(ly0 + 2 * PT, f.height);
    const int px = 2 * bx, py = 2 * by;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const PlaneRef Y = plane_of(f, 0), U = plane_of(f, 1), V = plane_of(f, 2);
    // Pixels of the block inside the frame (k = dx + 2 dy).
    const uint32_t inside = live ? block_inside(f, px, py) : 0u;
    // This warp's pixels: 2 rows of PT chroma samples, 4 luma rows of the block's columns.
    const int wx0 = lx0, wx1 = lx1;
    const int wy0 = ly0 + 4 * warp, wy1 = min(wy0 + 4, f.height);
    const uint32_t pairs = sample_pairs(Y, U, V);
    BlockState s = {0, 0};
    bool loaded = false;
    const uint2* const gcmd = (const uint2*)cmds; // 8-byte aligned (upload layout)

    for (uint32_t base = it.start; base < it.end; base += CMD_CHUNK) {
        const uint32_t cn = min((uint32_t)CMD_CHUNK, it.end - base);
        if (base != it.start) __syncthreads(); // every thread is done with the last chunk
        if (binned) {
            // The tile's own list: thread t stages command bins[base + t] whole.
            if (threadIdx.x < cn) {
                const uint32_t ci = __ldg(bins + base + threadIdx.x);
                uint2 w[CMD_U2];
#pragma unroll
                for (int j = 0; j < (int)CMD_U2; j++) w[j] = gcmd[(size_t)ci * CMD_U2 + j];
#pragma unroll
                for (int j = 0; j < (int)CMD_U2; j++) sraw[threadIdx.x * CMD_U2 + j] = w[j];
            }
        } else {
            uint2 w[CMD_U2];
            const uint32_t words = cn * (uint32_t)CMD_U2;
            const uint2* g = gcmd + (size_t)base * CMD_U2;
#pragma unroll
            for (int j = 0; j < (int)CMD_U2; j++) {
                const uint32_t i = threadIdx.x + (uint32_t)j * THREADS;
                if (i < words) w[j] = g[i];
            }
#pragma unroll
            for (int j = 0; j < (int)CMD_U2; j++) {
                const uint32_t i = threadIdx.x + (uint32_t)j * THREADS;
                if (i < words) sraw[i] = w[j];
            }
        }
        __syncthreads();
        bool hit = false;
        if (threadIdx.x < cn) {
            const CdCmd& c = scmd[threadIdx.x];
            const CdRegion r = c.clip;
            const bool blur = c.op == CD_OP_BLUR_BOX || c.op == CD_OP_BLUR_GAUSS ||
                              c.op == CD_OP_PIXELATE;
            hit = !blur && r.x0 < lx1 && lx0 < r.x1 && r.y0 < ly1 && ly0 < r.y1;
            if (hit && c.op == CD_OP_RECT) {
                const bool hollow = c.fill[3] == 0 && lx0 >= c.inner.x0 && lx1 <= c.inner.x1 &&
                                    ly0 >= c.inner.y0 && ly1 <= c.inner.y1;
                hit = !hollow && (c.color[3] != 0 || c.fill[3] != 0);
            }
            if (hit && (c.op == CD_OP_RECT || c.op == CD_OP_SOLID)) {
                const uint32_t rgb = (uint32_t)c.color[0] | ((uint32_t)c.color[1] << 8) |
                                     ((uint32_t)c.color[2] << 16);
                const uint32_t fill = (uint32_t)c.fill[0] | ((uint32_t)c.fill[1] << 8) |
                                      ((uint32_t)c.fill[2] << 16);
                syuv[threadIdx.x] = make_uint2(yuv_convert(f.coef, f.offset, rgb),
                                               yuv_convert(f.coef, f.offset, fill));
            }
        }
        const uint32_t ballot = __ballot_sync(0xffffffffu, hit);
        if (lane == 0) wsum[warp] = __popc(ballot);
        __syncthreads();
        uint32_t at = 0, total = 0;
        for (int w = 0; w < THREADS / 32; w++) {
            if (w < warp) at += wsum[w];
            total += wsum[w];
        }
        if (hit) hits[at + __popc(ballot & ((1u << lane) - 1u))] = threadIdx.x;
        __syncthreads();
        // The block's hits, 32 at a time: the warp keeps those meeting its own 32 x 4
        // pixels (less hollow boxes holding them) and takes them in list order.
        for (uint32_t hb = 0; hb < total; hb += 32) {
            uint32_t mine = 0;
            bool hit_w = false;
            if (hb + lane < total) {
                mine = hits[hb + lane];
                const CdCmd& c = scmd[mine];
                hit_w = c.clip.x0 < wx1 && wx0 < c.clip.x1 && c.clip.y0 < wy1 && wy0 < c.clip.y1;
                if (hit_w && c.op == CD_OP_RECT && c.fill[3] == 0)
                    hit_w = !(wx0 >= c.inner.x0 && wx1 <= c.inner.x1 && wy0 >= c.inner.y0 &&
                              wy1 <= c.inner.y1);
            }
            for (uint32_t wm = __ballot_sync(0xffffffffu, hit_w); wm; wm &= wm - 1) {
                const uint32_t k = __shfl_sync(0xffffffffu, mine, __ffs(wm) - 1);
                const CdCmd& c = scmd[k];
                if (SHAPES && c.op == CD_OP_SHAPE) {
                    // With the whole warp: coverage by sample rows for the warp's 32 x 4
                    // pixels (lane = luma column), then each thread takes its 2 x 2.
                    const uint32_t want = span_rows(c.clip.y0, c.clip.y1, wy0, wy1);
                    const CdShape sh = sg.shapes[c.param];
                    if ((sh.flags & CD_SHAPE_CONVEX) &&
                        convex_misses(sh, sg.edges, wx0, wx1, wy0, wy1))
                        continue;
                    const uint32_t cov = planar_shape_rows(sg, c.param, wx0, wy0, want);
                    const int c0 = px - wx0, r0 = py - wy0; // even: 0..30, 0 or 2
                    const uint32_t v0 = __shfl_sync(0xffffffffu, cov, c0);
                    const uint32_t v1 = __shfl_sync(0xffffffffu, cov, c0 + 1);
                    const uint32_t cov4 = ((v0 >> (8 * r0)) & 255u) |
                                          (((v1 >> (8 * r0)) & 255u) << 8) |
                                          (((v0 >> (8 * (r0 + 1))) & 255u) << 16) |
                                          (((v1 >> (8 * (r0 + 1))) & 255u) << 24);
                    const uint32_t m = clip_pixels(c, px, py, inside);
                    if (!m) continue;
                    if (!loaded) {
                        s = load_block(Y, U, V, px, py, bx, by, inside, pairs);
                        loaded = true;
                    }
                    s = planar_shape_call(f, c, m, inside, cov4, s);
                    continue;
                }
                const uint32_t m = clip_pixels(c, px, py, inside);
                if (!m) continue;
                uint32_t r = 0;
                if (c.op == CD_OP_RECT) {
                    r = rect_pixels(c, px, py, m);
                    if (!r) continue; // inside a hollow box's inner rectangle
                }
                if (!loaded) {
                    s = load_block(Y, U, V, px, py, bx, by, inside, pairs);
                    loaded = true;
                }
                if (c.op == CD_OP_RECT || c.op == CD_OP_SOLID) {
                    uint32_t yv[4], cb = s.c & 255u, cr = s.c >> 8;
#pragma unroll
                    for (int q = 0; q < 4; q++) yv[q] = (s.y >> (8 * q)) & 255u;
                    const uint2 v = syuv[k];
                    if (c.op == CD_OP_RECT) planar_rect(c, r, inside, v.x, v.y, yv, &cb, &cr);
                    else planar_solid(m, v.x, yv, &cb, &cr);
                    s.y = yv[0] | (yv[1] << 8) | (yv[2] << 16) | (yv[3] << 24);
                    s.c = cb | (cr << 8);
                } else if (ANY) {
                    s = planar_step_call(f, c, images, glyphs, atlas, sg, px, py, inside, s);
                }
            }
        }
    }
    if (loaded) store_block(Y, U, V, px, py, bx, by, inside, pairs, s);
}

// The composite's kernels (same arguments as the packed composite's): boxes and redactions at 4 blocks per
// SM; text, overlays and masks at 3; with shapes at 2 (128 registers: the shape rows
// inlined without spills, as in the packed composite; overlays and text lost 20-25%
// at 2 blocks, hence the separate variant).
#define CD_PLANAR_COMPOSITE(NAME, BLOCKS, ANY, SHAPES)                                      \
    extern "C" __global__ void __launch_bounds__(THREADS, BLOCKS)                          \
        NAME(const CdPlanar* __restrict__ frames, const CdCmd* __restrict__ cmds,          \
             const int4* __restrict__ boxes, const CdImage* __restrict__ images,           \
             const CdGlyph* __restrict__ glyphs, const uint8_t* __restrict__ atlas,        \
             const CdShapeData geo, const CdTileItem* __restrict__ rows,                   \
             const CdTileItem* __restrict__ items, const uint32_t* __restrict__ bins) {    \
        planar_composite<ANY, SHAPES>(frames, cmds, images, glyphs, atlas, geo, rows,      \
                                      items, bins);                                        \
    }

// The host's kernel table (src/cuda/kernels.rs) lists them in this order.
CD_PLANAR_COMPOSITE(cd_planar_composite_boxes, 4, false, false)
CD_PLANAR_COMPOSITE(cd_planar_composite, 3, true, false)
CD_PLANAR_COMPOSITE(cd_planar_composite_shapes, 2, true, true)
