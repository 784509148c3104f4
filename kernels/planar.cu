// NV12 and I420 frames (docs/semantics.md "NV12 and I420"): the packed renderer's
// commands applied to a Y' plane and Cb/Cr planes at half resolution, byte-exact with
// src/cpu/planar.rs. The host plans phases as for packed frames, with every region
// snapped outward to whole 2 x 2 blocks (src/cuda/plan.rs); per phase at most
// cd_planar_blur1 + cd_planar_blur2 (every plane of every blur of every frame) and one
// cd_planar_composite (every other command of every frame).
#include "common.cuh"

// A composite block covers PT x PT chroma samples (2 PT x 2 PT luma pixels); one
// thread per chroma sample and its 2 x 2 luma pixels.
#define PT 16

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

// Pass 1. Box and gaussian: the horizontal sums (gaussian: rounded, >> CD_GAUSS_SHIFT)
// of every sample of the region, windows clamped to the region, into scratch (u32 per
// sample). Pixelate: (sum, count) of every cell.
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
    if (e >= (uint32_t)(w * h)) return;
    const int x = (int)(e % (uint32_t)w), y = (int)(e / (uint32_t)w);
    const int r = (int)j.radius;
    const uint8_t* row = sample(p, R.x0, R.y0 + y);
    uint32_t sum = 0;
    if (c.op == CD_OP_BLUR_BOX) {
        for (int k = -r; k <= r; k++) sum += row[(size_t)clampi(x + k, 0, w - 1) * p.step];
    } else {
        const uint32_t* wt = weights + j.weights;
        for (int k = -r; k <= r; k++)
            sum += wt[k + r] * row[(size_t)clampi(x + k, 0, w - 1) * p.step];
        sum = (sum + (1u << (CD_GAUSS_SHIFT - 1))) >> CD_GAUSS_SHIFT;
    }
    ((uint32_t*)(scratch + j.scratch))[e] = sum;
}

// Pass 2: the vertical sums of pass 1's (box: mean of (2 r + 1)^2 samples, rounded;
// gaussian: rounded) or the cell means, written into the plane.
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
    } else {
        const uint32_t* tmp = (const uint32_t*)(scratch + j.scratch);
        const int r = (int)j.radius;
        uint32_t sum = 0;
        if (c.op == CD_OP_BLUR_BOX) {
            for (int k = -r; k <= r; k++) sum += tmp[(size_t)clampi(y + k, 0, h - 1) * w + x];
            const uint32_t n = (uint32_t)((2 * r + 1) * (2 * r + 1));
            v = (sum + n / 2) / n;
        } else {
            const uint32_t* wt = weights + j.weights;
            for (int k = -r; k <= r; k++)
                sum += wt[k + r] * tmp[(size_t)clampi(y + k, 0, h - 1) * w + x];
            v = (sum + (1u << (CD_GAUSS_SHIFT - 1))) >> CD_GAUSS_SHIFT;
        }
    }
    *sample(p, R.x0 + x, R.y0 + y) = (uint8_t)v;
}

// Out of line: the composite's command loop calls one copy (registers).
__device__ __noinline__ void planar_step_call(const CdPlanar& f, const CdCmd& c,
                                              const CdImage* images, const CdGlyph* glyphs,
                                              const uint8_t* atlas, const ShapeData& g, int px,
                                              int py, uint32_t inside, uint32_t* yv,
                                              uint32_t* cb, uint32_t* cr) {
    planar_step(f, c, images, glyphs, atlas, g, px, py, inside, yv, cb, cr);
}

// Every pointwise command of a phase, in list order, on PT x PT chroma samples of one
// frame per block (grid: x = blocks of the largest frame, y = frames with work). The
// block keeps the commands whose clip meets its 2 PT x 2 PT pixels (256 considered at a
// time, order kept); each thread applies them to its 2 x 2 pixels and chroma sample,
// held in registers, and writes what changed once.
extern "C" __global__ void __launch_bounds__(THREADS)
    cd_planar_composite(const CdPlanar* __restrict__ frames, const CdCmd* __restrict__ cmds,
                        const int4* __restrict__ boxes, const CdImage* __restrict__ images,
                        const CdGlyph* __restrict__ glyphs, const uint8_t* __restrict__ atlas,
                        const CdShapeData geo, const CdTileItem* __restrict__ rows,
                        const CdTileItem* __restrict__ unused) {
    __shared__ uint32_t hits[THREADS];
    __shared__ uint32_t wsum[THREADS / 32];
    const CdTileItem it = rows[blockIdx.y];
    const CdPlanar f = frames[it.frame];
    const int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
    const int tcols = (cw + PT - 1) / PT;
    const int tx = (int)blockIdx.x % tcols, ty = (int)blockIdx.x / tcols;
    if (ty * PT >= ch) return; // the frame is smaller than the grid's largest
    const int bx = tx * PT + (int)(threadIdx.x % PT), by = ty * PT + (int)(threadIdx.x / PT);
    const bool live = bx < cw && by < ch;
    const int lx0 = 2 * tx * PT, ly0 = 2 * ty * PT;
    const int lx1 = min(lx0 + 2 * PT, f.width), ly1 = min(ly0 + 2 * PT, f.height);
    const int px = 2 * bx, py = 2 * by;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const ShapeData g = shape_data(geo);
    const PlaneRef Y = plane_of(f, 0), U = plane_of(f, 1), V = plane_of(f, 2);
    // Pixels of the block inside the frame (k = dx + 2 dy).
    const uint32_t inside = block_inside(f, px, py);
    uint32_t yv[4] = {0, 0, 0, 0}, cb = 0, cr = 0;
    bool loaded = false, dirty = false;

    for (uint32_t base = it.start; base < it.end; base += THREADS) {
        const uint32_t ci = base + threadIdx.x;
        bool hit = false;
        if (ci < it.end) {
            const CdCmd& c = cmds[ci];
            const CdRegion r = c.clip;
            const bool blur = c.op == CD_OP_BLUR_BOX || c.op == CD_OP_BLUR_GAUSS ||
                              c.op == CD_OP_PIXELATE;
            hit = !blur && r.x0 < lx1 && lx0 < r.x1 && r.y0 < ly1 && ly0 < r.y1;
        }
        const uint32_t ballot = __ballot_sync(0xffffffffu, hit);
        if (lane == 0) wsum[warp] = __popc(ballot);
        __syncthreads();
        uint32_t at = 0, total = 0;
        for (int w = 0; w < THREADS / 32; w++) {
            if (w < warp) at += wsum[w];
            total += wsum[w];
        }
        if (hit) hits[at + __popc(ballot & ((1u << lane) - 1u))] = ci;
        __syncthreads();
        for (uint32_t h = 0; live && h < total; h++) {
            const CdCmd c = cmds[hits[h]];
            if (c.clip.x1 <= px || c.clip.x0 >= px + 2 || c.clip.y1 <= py || c.clip.y0 >= py + 2)
                continue;
            if (!loaded) {
                for (int k = 0; k < 4; k++)
                    if (inside & (1u << k)) yv[k] = *sample(Y, px + (k & 1), py + (k >> 1));
                cb = *sample(U, bx, by);
                cr = *sample(V, bx, by);
                loaded = true;
            }
            dirty = true;
            planar_step_call(f, c, images, glyphs, atlas, g, px, py, inside, yv, &cb, &cr);
        }
        __syncthreads(); // `hits` is rewritten by the next round
    }
    if (!dirty) return;
    for (int k = 0; k < 4; k++)
        if (inside & (1u << k)) *sample(Y, px + (k & 1), py + (k >> 1)) = (uint8_t)yv[k];
    *sample(U, bx, by) = (uint8_t)cb;
    *sample(V, bx, by) = (uint8_t)cr;
}
