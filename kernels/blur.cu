// Blur kernels: box, gaussian and pixelate blurs of a phase, all frames at once, in
// two separable passes through a scratch buffer, written straight into the frames.
#include "common.cuh"

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
    const int ty = (int)div_small(local, (uint32_t)tiles_x); // local < 2^18
    const int cx0 = x0 + ((int)local - ty * tiles_x) * B1_W;
    const int cy0 = y0 + ty * B1_H;
    const int seg_w = min(B1_W, x1 - cx0) + 2 * r;
    const int rows = min(B1_H, y1 - cy0);
    // Row segments [cx0 - r, cx0 + 64 + r), clamped to the region (replicated edges):
    // up to 8 loads per thread issued together, then stored (one round trip for r <= 27).
    {
        const int n = rows * seg_w;
        const Div24 dw = div24_new((uint32_t)seg_w); // i < 16 * 320: exact
        for (int base = 0; base < n; base += 8 * THREADS) {
            uint32_t v[8];
#pragma unroll
            for (int j = 0; j < 8; j++) {
                const int i = base + (int)threadIdx.x + j * THREADS;
                if (i < n) {
                    const int ry = (int)div24(dw, (uint32_t)i), k = i - ry * seg_w;
                    v[j] = *px_ptr(f, clampi(cx0 - r + k, x0, x1 - 1), cy0 + ry);
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
        const Div24 dv = div24_new(n);
        const int col = x - x0;
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma unroll 8
        for (int j = -r; j <= r; j++) {
            const uint2 v = hs[(uint64_t)(clampi(ys + j, y0, y1 - 1) - y0) * w + col];
            s0 += v.x & 0xffffu; s2 += v.x >> 16; s1 += v.y & 0xffffu; s3 += v.y >> 16;
        }
#pragma unroll 4
        for (int y = ys; y < ye; y++) {
            const uint32_t v = div24(dv, s0 + n / 2) | (div24(dv, s1 + n / 2) << 8) |
                               (div24(dv, s2 + n / 2) << 16) | (div24(dv, s3 + n / 2) << 24);
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

