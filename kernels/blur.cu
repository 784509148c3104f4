// Blur kernels: box, gaussian and pixelate blurs of a phase, all frames at once, in
// two separable passes through a scratch buffer, written straight into the frames.
// A run of blur-only phases is one launch of cd_blur_chain, which works through the
// passes of all its phases in order (see there); the standalone passes serve the rest.
#include "common.cuh"

// Loads of frame pixels and scratch. In a chain, another SM may have written them
// earlier in the same launch, and L1 is not coherent across SMs: read through L2 only.
template <bool CHAIN, typename T>
__device__ __forceinline__ T ld(const T* p) {
    if constexpr (CHAIN) {
        return __ldcg(p);
    } else {
        return *p;
    }
}

static_assert(THREADS == 256 && B1_W == 64 && B1_H == 32,
              "pass 1's box blur: 8 warps of 8 rows x 4 runs of 8 outputs");

// Each pass's shared memory; a chain block runs both, one after the other, in a union.
struct Pass1Smem {
    uint32_t seg[B1_H][SEG_W];
    uint32_t wts[2 * MAX_BOX_R + 1];
};
struct Pass2Smem {
    uint32_t wts[2 * MAX_BOX_R + 1];
    uint2 st[ST_ROWS][B2_W];
};

// Block `block`'s job: the number of jobs whose first block is <= `block`, minus one
// (starts ascend). One round of loads per 256 jobs, counted by the whole block.
__device__ __forceinline__ uint32_t find_job(const CdBlurJob* jobs, uint32_t njobs,
                                             bool pass2, uint32_t block) {
    uint32_t count = 0;
    for (uint32_t base = 0; base < njobs; base += THREADS) {
        const uint32_t j = base + threadIdx.x;
        const int pred =
            j < njobs && (pass2 ? jobs[j].block2 : jobs[j].block1) <= block;
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
// `block` is the block's index in the pass's grid (the pass's ticket in a chain).
template <bool CHAIN>
__device__ __forceinline__ void blur_pass1(const CdFrame* __restrict__ frames,
                                           const CdCmd* __restrict__ cmds,
                                           const uint32_t* __restrict__ weights,
                                           const CdBlurJob* __restrict__ jobs, uint32_t njobs,
                                           unsigned char* __restrict__ scratch, uint32_t block,
                                           Pass1Smem& sm) {
    uint32_t(&seg)[B1_H][SEG_W] = sm.seg;
    uint32_t* wts = sm.wts;
    const CdBlurJob job = jobs[find_job(jobs, njobs, false, block)];
    const CdCmd c = cmds[job.cmd];
    const CdFrame f = frames[job.frame];
    const int x0 = c.clip.x0, y0 = c.clip.y0, x1 = c.clip.x1, y1 = c.clip.y1;
    const int w = x1 - x0, h = y1 - y0;
    const uint32_t local = block - job.block1;

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
            uint32_t p = ld<CHAIN>(row + xx);
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
    const int ty = (int)div_small(local, (uint32_t)tiles_x); // local < 2^18
    const int cx0 = x0 + ((int)local - ty * tiles_x) * B1_W;
    const int cy0 = y0 + ty * B1_H;
    const int seg_w = min(B1_W, x1 - cx0) + 2 * r;
    const int rows = min(B1_H, y1 - cy0);
    // Row segments [cx0 - r, cx0 + 64 + r), clamped to the region (replicated edges):
    // up to 8 loads per thread issued together, then stored (two round trips for r <= 15).
    {
        const int n = rows * seg_w;
        const Div24 dw = div24_new((uint32_t)seg_w); // i < B1_H * SEG_W < 2^24: exact
        for (int base = 0; base < n; base += 8 * THREADS) {
            uint32_t v[8];
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const int i = base + (int)threadIdx.x + j * THREADS;
                if (i < n) {
                    const int ry = (int)div24(dw, (uint32_t)i), k = i - ry * seg_w;
                    v[j] = ld<CHAIN>(px_ptr(f, clampi(cx0 - r + k, x0, x1 - 1), cy0 + ry));
                }
            }
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const int i = base + (int)threadIdx.x + j * THREADS;
                if (i < n) {
                    const int ry = (int)div24(dw, (uint32_t)i), k = i - ry * seg_w;
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
        // Each thread: 8 neighbouring outputs of one row by a sliding window sum, the
        // four channels as 16-bit lanes of two words (no lane exceeds 255 * 255). A
        // warp takes 8 rows x 4 runs (half the tile's width): with the odd row stride
        // its 32 lanes read 32 different banks at every step.
        const int lane = (int)(threadIdx.x % 32), wid = (int)(threadIdx.x / 32);
        const int ry = (wid / 2) * 8 + lane / 4;
        const int c0 = (wid % 2) * (B1_W / 2) + (lane % 4) * 8;
        if (ry >= rows || cx0 + c0 >= x1) return;
        uint32_t lo = 0, hi = 0;
#pragma unroll 4
        for (int k = 0; k <= 2 * r; k++) {
            const uint32_t p = seg[ry][c0 + k];
            lo += p & 0x00ff00ffu;
            hi += (p >> 8) & 0x00ff00ffu;
        }
        uint2* out = (uint2*)(scratch + job.scratch) + (uint64_t)(cy0 + ry - y0) * w + (cx0 + c0 - x0);
        const int n = min(8, x1 - (cx0 + c0));
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
template <bool CHAIN>
__device__ __forceinline__ void blur_pass2(const CdFrame* __restrict__ frames,
                                           const CdCmd* __restrict__ cmds,
                                           const uint32_t* __restrict__ weights,
                                           const CdBlurJob* __restrict__ jobs, uint32_t njobs,
                                           const unsigned char* __restrict__ scratch,
                                           uint32_t block, Pass2Smem& sm) {
    uint32_t* wts = sm.wts;
    uint2(&st)[ST_ROWS][B2_W] = sm.st;
    const CdBlurJob job = jobs[find_job(jobs, njobs, true, block)];
    const CdCmd c = cmds[job.cmd];
    const CdFrame f = frames[job.frame];
    const int x0 = c.clip.x0, y0 = c.clip.y0, x1 = c.clip.x1, y1 = c.clip.y1;
    const int w = x1 - x0;
    const uint32_t local = block - job.block2;
    const int tiles_x = (w + B2_W - 1) / B2_W;
    const int ty = (int)div_small(local, (uint32_t)tiles_x), tx = (int)local - ty * tiles_x;
    const int x = x0 + tx * B2_W + (int)(threadIdx.x % B2_W);
    const int ys = y0 + ty * B2_H + (int)(threadIdx.x / B2_W) * (B2_H / 4);
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
        const int bx0 = x0 + tx * B2_W;
        const int by0 = y0 + ty * B2_H;
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
                    v[j] = ld<CHAIN>(hs + (uint64_t)(clampi(by0 - r + k, y0, y1 - 1) - y0) * w + cc);
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
        const Div24 dv = div24_new(nn);
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int k = t0; k <= t0 + 2 * r; k++) {
            const uint2 v = st[k][cc];
            s0 += v.x & 0xffffu; s2 += v.x >> 16; s1 += v.y & 0xffffu; s3 += v.y >> 16;
        }
        for (int t = t0; t < t1; t++) {
            const uint32_t v = div24(dv, s0 + nn / 2) | (div24(dv, s1 + nn / 2) << 8) |
                               (div24(dv, s2 + nn / 2) << 16) | (div24(dv, s3 + nn / 2) << 24);
            uint32_t* p = px_ptr(f, bx0 + cc, by0 + t);
            *p = with_x_byte(v, alpha ? 0u : ld<CHAIN>(p), alpha);
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
            for (int k = 0; k < 4; k++) v |= ((ld<CHAIN>(s + k) + n / 2) / n) << (8 * k);
            uint32_t* p = px_ptr(f, x, y);
            *p = with_x_byte(v, alpha ? 0u : ld<CHAIN>(p), alpha);
        }
        return;
    }

    if (c.op == CD_OP_BLUR_BOX) {
        const uint2* hs = (const uint2*)(scratch + job.scratch);
        const uint32_t n = (uint32_t)(2 * r + 1) * (uint32_t)(2 * r + 1);
        const Div24 dv = div24_new(n);
        const int col = x - x0;
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma unroll 8
        for (int j = -r; j <= r; j++) {
            const uint2 v = ld<CHAIN>(hs + (uint64_t)(clampi(ys + j, y0, y1 - 1) - y0) * w + col);
            s0 += v.x & 0xffffu; s2 += v.x >> 16; s1 += v.y & 0xffffu; s3 += v.y >> 16;
        }
#pragma unroll 4
        for (int y = ys; y < ye; y++) {
            const uint32_t v = div24(dv, s0 + n / 2) | (div24(dv, s1 + n / 2) << 8) |
                               (div24(dv, s2 + n / 2) << 16) | (div24(dv, s3 + n / 2) << 24);
            uint32_t* p = px_ptr(f, x, y);
            *p = with_x_byte(v, alpha ? 0u : ld<CHAIN>(p), alpha);
            if (y + 1 < ye) {
                const uint2 out = ld<CHAIN>(hs + (uint64_t)(clampi(y - r, y0, y1 - 1) - y0) * w + col);
                const uint2 in =
                    ld<CHAIN>(hs + (uint64_t)(clampi(y + r + 1, y0, y1 - 1) - y0) * w + col);
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
            const uint32_t p =
                ld<CHAIN>(hs + (uint64_t)(clampi(y - r + k, y0, y1 - 1) - y0) * w + col);
            const uint32_t wk = wts[k];
            a0 += wk * (p & 255u);
            a1 += wk * ((p >> 8) & 255u);
            a2 += wk * ((p >> 16) & 255u);
            a3 += wk * (p >> 24);
        }
        const uint32_t v = ((a0 + 32768u) >> 16) | (((a1 + 32768u) >> 16) << 8) |
                           (((a2 + 32768u) >> 16) << 16) | (((a3 + 32768u) >> 16) << 24);
        uint32_t* p = px_ptr(f, x, y);
        *p = with_x_byte(v, alpha ? 0u : ld<CHAIN>(p), alpha);
    }
}


extern "C" __global__ void __launch_bounds__(THREADS)
    cd_blur_pass1(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                  const uint32_t* __restrict__ weights, const CdBlurJob* __restrict__ jobs,
                  uint32_t njobs, unsigned char* __restrict__ scratch) {
    __shared__ Pass1Smem sm;
    blur_pass1<false>(frames, cmds, weights, jobs, njobs, scratch, blockIdx.x, sm);
}

extern "C" __global__ void __launch_bounds__(THREADS, 4)
    cd_blur_pass2(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                  const uint32_t* __restrict__ weights, const CdBlurJob* __restrict__ jobs,
                  uint32_t njobs, const unsigned char* __restrict__ scratch) {
    __shared__ Pass2Smem sm;
    blur_pass2<false>(frames, cmds, weights, jobs, njobs, scratch, blockIdx.x, sm);
}

// The blur passes of a run of phases in one launch (stages 2k and 2k + 1: pass 1 and
// pass 2 of the run's k-th phase), instead of two dependent launches per phase. Any
// number of blocks, each taking tickets (one per block of a stage's grid, in stage
// order) from the first counter until none is left. A stage's ticket waits until every
// block of the stage before it is done (counter 1 + s counts stage s): the order of
// separate launches, without their gaps. It cannot deadlock: a ticket is only taken by
// a running block, and every ticket a stage waits for is lower, so the lowest
// unfinished ticket can always proceed. The counters, CD_SYNC_STRIDE words apart (a
// cache line each: the polling of one does not slow the atomics on another), arrive
// zeroed with the call's upload. One thread per block fences, after a barrier (the
// pattern of cooperative groups' grid sync): release before its count, acquire after
// its wait.
extern "C" __global__ void __launch_bounds__(THREADS, 4)
    cd_blur_chain(const CdFrame* __restrict__ frames, const CdCmd* __restrict__ cmds,
                  const uint32_t* __restrict__ weights, const CdBlurJob* __restrict__ jobs,
                  const CdBlurStage* __restrict__ stages, uint32_t nstages,
                  uint32_t* sync, unsigned char* scratch) {
    __shared__ union {
        Pass1Smem p1;
        Pass2Smem p2;
    } sm;
    __shared__ uint32_t ticket;
    const CdBlurStage last = stages[nstages - 1];
    const uint32_t total = last.first + last.blocks;
    if (threadIdx.x == 0) ticket = atomicAdd(sync, 1u);
    __syncthreads();
    uint32_t t = ticket;
    while (t < total) {
        uint32_t s = 0;
        while (t >= stages[s].first + stages[s].blocks) s++;
        const CdBlurStage st = stages[s];
        uint32_t next = 0;
        if (threadIdx.x == 0) {
            next = atomicAdd(sync, 1u); // in flight while this ticket is worked on
            if (s > 0) {
                const volatile uint32_t* done = sync + s * CD_SYNC_STRIDE; // stage s - 1
                while (*done < stages[s - 1].blocks) __nanosleep(128);
                __threadfence();
            }
        }
        __syncthreads();
        if ((s & 1u) == 0) {
            blur_pass1<true>(frames, cmds, weights, jobs + st.job0, st.njobs, scratch,
                             t - st.first, sm.p1);
        } else {
            blur_pass2<true>(frames, cmds, weights, jobs + st.job0, st.njobs, scratch,
                             t - st.first, sm.p2);
        }
        __syncthreads(); // the block's writes are done, its shared memory free
        if (threadIdx.x == 0) {
            __threadfence();
            atomicAdd(sync + (1 + s) * CD_SYNC_STRIDE, 1u);
            ticket = next;
        }
        __syncthreads();
        t = ticket;
    }
}
