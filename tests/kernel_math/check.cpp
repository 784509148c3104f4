// Host build of the kernels' per-pixel math (kernels/common.cuh), driven by
// tests/kernel_math.rs, which compares its output with the CPU renderer.
//
//   check blend    -> for c, a, d in 0..=255: bytes 0 and 3 of apply_blend over [d; 4]
//   check overlay  <- iw ih, iw*ih*4 image bytes, dw dh m nearest, dw*dh*4 background
//                  -> dw*dh*4 bytes: the background with the overlay blended (RGBA)
//   check shapes   <- w h, then (count, items) of: CdCmd, CdShape, CdEdge, CdDisc,
//                     CdBand, band items (u32); then w*h*4 background
//                  -> w*h*4 bytes: the background with every command's layer blended
//   check shape_rows  the same, coverage computed by sample rows per 32 x 16 warp tile
//                  (the composite's shape_counts, its shuffles unrolled per lane)
//   check masks    <- w h, then (count, items) of: CdCmd, CdMask, data bytes, palette
//                     (u32); then w*h*4 background -> w*h*4 bytes (commands applied)
//   check half     -> for every 16-bit pattern h: q16_of_float(half_to_float(h)) as u16
//   check planar   <- CdPlanar (y, cb, cr: byte offsets into the buffer), then (count,
//                     items) of: CdCmd, CdShape, CdEdge, CdDisc, CdBand, band items,
//                     CdGlyph, atlas bytes; then the buffer (count, bytes)
//                  -> the buffer with every pointwise command applied per 2 x 2 block
//                     (planar_step, as cd_planar_composite does)
//   check text     <- w h color n, n glyphs (CdGlyph), atlas length, atlas bytes,
//                     w*h*4 background
//                  -> w*h*4 bytes: the background with the text layer blended (RGBA)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common.cuh"

static bool read_exact(void* p, size_t n) { return fread(p, 1, n, stdin) == n; }

// A u32 count, then that many elements.
template <typename T>
static bool array(std::vector<T>& v) {
    uint32_t n;
    if (!read_exact(&n, 4)) return false;
    v.resize(n);
    return n == 0 || read_exact(v.data(), n * sizeof(T));
}


// shape_counts (composite.cu) for one lane, its shuffles replaced by loops over the
// values every lane would have packed: the same helpers, bands and row groups.
static uint32_t lane_count(const CdShape& s, const ShapeData& g, int wx0, int wy0, int lane,
                           int i) {
    const bool aa = (s.flags & CD_SHAPE_AA) != 0;
    const int nsr = aa ? 4 : 1;
    const int64_t ox = (int64_t)wx0 * 256;
    uint32_t n = 0;
    if (s.kind == CD_SHAPE_ELLIPSE) {
        for (int j = 0; j < nsr; j++) {
            const int64_t sy = sample_row(wy0 + i, j, aa);
            const uint32_t o = ellipse_span(s.e[0], s.e[1], s.e[2], s.e[3], sy, ox);
            const uint32_t in = ellipse_span(s.e[0], s.e[1], s.e[4], s.e[5], sy, ox);
            n += (uint32_t)__builtin_popcount(span_bits(o, lane, aa) & ~span_bits(in, lane, aa));
        }
        return n;
    }
    const uint32_t *le = nullptr, *ld = nullptr;
    uint32_t e0 = s.edge_start, ne = s.edge_count, d0 = s.disc_start, nd = s.disc_count;
    if (s.band != CD_NO_BANDS) {
        const int k = clampi((wy0 + i - s.band_y0) / CD_BAND_H, 0, (int)s.band_count - 1);
        const CdBand b = g.bands[s.band + k];
        le = ld = g.items;
        e0 = b.edge_start;
        ne = b.edge_count;
        d0 = b.disc_start;
        nd = b.disc_count;
    }
    for (int j = 0; j < nsr; j++) {
        const int64_t sy = sample_row(wy0 + i, j, aa);
        int w[4] = {0, 0, 0, 0};
        for (uint32_t k = 0; k < ne; k++) {
            const uint32_t v = edge_cross(g.edges[le ? le[e0 + k] : e0 + k], sy, ox);
            if (v != 1u) add_cross(v, lane, aa, w);
        }
        uint32_t bits = (w[0] != 0) | ((w[1] != 0) << 1) | ((w[2] != 0) << 2) | ((w[3] != 0) << 3);
        for (uint32_t k = 0; k < nd; k++)
            bits |= span_bits(disc_span(g.discs[ld ? ld[d0 + k] : d0 + k], sy, ox), lane, aa);
        n += (uint32_t)__builtin_popcount(aa ? bits : (bits & 1u));
    }
    return n;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    if (strcmp(argv[1], "div_small") == 0) {
        // Tile positions: every tile index of the largest frame (2^18 planar blocks) over
        // every row length up to 600 tiles, then numerators up to 2^24.
        uint64_t bad = 0;
        for (uint32_t d = 1; d <= 600; d++)
            for (uint32_t n = 0; n < (1u << 18); n++)
                if (div_small(n, d) != n / d) bad++;
        // Just below and at the largest multiples under 2^24: the quotients closest to an
        // integer, where a float quotient rounded up would give the next one.
        for (uint32_t d = 2; d <= (1u << 16); d++) {
            const uint32_t k = ((1u << 24) - 1) / d;
            for (uint32_t j = k > 64 ? k - 64 : 1; j <= k; j++) {
                if (div_small(j * d - 1, d) != j - 1) bad++;
                if (div_small(j * d, d) != j) bad++;
            }
        }
        uint32_t s = 12345u;
        for (int i = 0; i < 4000000; i++) {
            s = s * 1664525u + 1013904223u;
            const uint32_t n = s >> 8, d = 1 + ((s * 2654435761u) >> 12);
            if (div_small(n, d) != n / d) bad++;
        }
        printf("%llu", (unsigned long long)bad);
        return 0;
    }
    if (strcmp(argv[1], "div24") == 0) {
        // Every divisor, at both sides of every multiple below 2^24: with monotonicity
        // this covers every numerator. Prints the number of wrong quotients.
        uint64_t bad = 0;
        for (uint32_t d = 1; d <= 65536; d++) {
            const Div24 v = div24_new(d);
            for (uint32_t k = 0; (uint64_t)k * d < (1u << 24); k++) {
                const uint32_t x = k * d;
                if (div24(v, x) != k) bad++;
                if (x > 0 && div24(v, x - 1) != k - 1) bad++;
            }
            const uint32_t last = (1u << 24) - 1;
            if (div24(v, last) != last / d) bad++;
        }
        printf("%llu", (unsigned long long)bad);
        return 0;
    }
    if (strcmp(argv[1], "blend") == 0) {
        std::vector<unsigned char> out;
        out.reserve(256u * 256u * 256u * 2u);
        for (uint32_t c = 0; c < 256; c++)
            for (uint32_t a = 0; a < 256; a++) {
                const Blend b = make_blend(c, c, c, a);
                for (uint32_t d = 0; d < 256; d++) {
                    const uint32_t px = d * 0x01010101u;
                    const uint32_t v = apply_blend(px, b, true);
                    out.push_back((unsigned char)(v & 255u));
                    out.push_back((unsigned char)(v >> 24));
                }
            }
        fwrite(out.data(), 1, out.size(), stdout);
        return 0;
    }
    if (strcmp(argv[1], "shapes") == 0 || strcmp(argv[1], "shape_rows") == 0) {
        const bool rows = strcmp(argv[1], "shape_rows") == 0;
        uint32_t hdr[2];
        if (!read_exact(hdr, sizeof hdr)) return 3;
        const uint32_t w = hdr[0], h = hdr[1];
        std::vector<CdCmd> cmds;
        std::vector<CdShape> shapes;
        std::vector<CdEdge> edges;
        std::vector<CdDisc> discs;
        std::vector<CdBand> bands;
        std::vector<uint32_t> items;
        if (!array(cmds) || !array(shapes) || !array(edges) || !array(discs) || !array(bands) ||
            !array(items))
            return 3;
        std::vector<uint32_t> frame(w * h);
        if (!read_exact(frame.data(), frame.size() * 4)) return 3;
        ShapeData g;
        g.shapes = shapes.data();
        g.edges = edges.data();
        g.discs = discs.data();
        g.bands = bands.data();
        g.items = items.data();
        for (const CdCmd& c : cmds) {
            if (c.op != CD_OP_SHAPE) return 4;
            uint32_t col;
            memcpy(&col, c.color, 4);
            for (int y = c.clip.y0; y < c.clip.y1; y++)
                for (int x = c.clip.x0; x < c.clip.x1; x++) {
                    uint32_t cov;
                    if (rows) {
                        const CdShape& sh = shapes[c.param];
                        const int wx0 = x / 32 * 32, wy0 = y / 16 * 16;
                        cov = count_coverage(lane_count(sh, g, wx0, wy0, x - wx0, y - wy0),
                                             (sh.flags & CD_SHAPE_AA) != 0);
                        if (cov && sh.minus != CD_NO_SHAPE) {
                            const CdShape& ms = shapes[sh.minus];
                            const uint32_t m =
                                count_coverage(lane_count(ms, g, wx0, wy0, x - wx0, y - wy0),
                                               (ms.flags & CD_SHAPE_AA) != 0);
                            cov = (cov * (255u - m) + 127u) / 255u;
                        }
                    } else {
                        cov = layer_coverage(shapes[c.param], g, x, y);
                    }
                    frame[y * w + x] = coverage_blend(frame[y * w + x], col, cov, true);
                }
        }
        fwrite(frame.data(), 4, frame.size(), stdout);
        return 0;
    }
    if (strcmp(argv[1], "planar") == 0) {
        CdPlanar f;
        if (!read_exact(&f, sizeof f)) return 3;
        std::vector<CdCmd> cmds;
        std::vector<CdShape> shapes;
        std::vector<CdEdge> edges;
        std::vector<CdDisc> discs;
        std::vector<CdBand> bands;
        std::vector<uint32_t> items;
        std::vector<CdGlyph> glyphs;
        std::vector<uint8_t> atlas, buf;
        if (!array(cmds) || !array(shapes) || !array(edges) || !array(discs) || !array(bands) ||
            !array(items) || !array(glyphs) || !array(atlas) || !array(buf))
            return 3;
        ShapeData g;
        memset(&g, 0, sizeof g);
        g.shapes = shapes.data();
        g.edges = edges.data();
        g.discs = discs.data();
        g.bands = bands.data();
        g.items = items.data();
        const int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
        for (int by = 0; by < ch; by++)
            for (int bx = 0; bx < cw; bx++) {
                const int px = 2 * bx, py = 2 * by;
                const uint32_t inside = block_inside(f, px, py);
                uint8_t* yp[4] = {nullptr, nullptr, nullptr, nullptr};
                uint32_t yv[4] = {0, 0, 0, 0};
                for (int k = 0; k < 4; k++)
                    if (inside & (1u << k)) {
                        yp[k] = &buf[f.y + (size_t)(py + (k >> 1)) * f.y_pitch + px + (k & 1)];
                        yv[k] = *yp[k];
                    }
                uint8_t* up = &buf[f.cb + (size_t)by * f.cb_pitch + (size_t)bx * f.c_step];
                uint8_t* vp = &buf[f.cr + (size_t)by * f.cr_pitch + (size_t)bx * f.c_step];
                uint32_t cb = *up, cr = *vp;
                for (const CdCmd& c : cmds) {
                    if (c.op == CD_OP_BLUR_BOX || c.op == CD_OP_BLUR_GAUSS || c.op == CD_OP_PIXELATE)
                        return 4;
                    planar_step(f, c, nullptr, glyphs.data(), atlas.data(), g, px, py, inside, yv,
                                &cb, &cr);
                }
                for (int k = 0; k < 4; k++)
                    if (yp[k]) *yp[k] = (uint8_t)yv[k];
                *up = (uint8_t)cb;
                *vp = (uint8_t)cr;
            }
        fwrite(buf.data(), 1, buf.size(), stdout);
        return 0;
    }
    if (strcmp(argv[1], "half") == 0) {
        std::vector<uint16_t> out(65536);
        for (uint32_t h = 0; h < 65536; h++) out[h] = (uint16_t)q16_of_float(half_to_float(h));
        fwrite(out.data(), 2, out.size(), stdout);
        return 0;
    }
    if (strcmp(argv[1], "masks") == 0) {
        uint32_t hdr[2];
        if (!read_exact(hdr, sizeof hdr)) return 3;
        const uint32_t w = hdr[0], h = hdr[1];
        std::vector<CdCmd> cmds;
        std::vector<CdMask> masks;
        std::vector<uint8_t> data;
        std::vector<uint32_t> palette;
        if (!array(cmds) || !array(masks) || !array(data) || !array(palette)) return 3;
        std::vector<uint32_t> frame(w * h);
        if (!read_exact(frame.data(), frame.size() * 4)) return 3;
        for (const CdCmd& c : cmds) {
            const CdMask& m = masks[c.param];
            uint32_t col;
            memcpy(&col, c.color, 4);
            for (int y = c.clip.y0; y < c.clip.y1; y++)
                for (int x = c.clip.x0; x < c.clip.x1; x++) {
                    uint32_t& p = frame[y * w + x];
                    if (c.op == CD_OP_MASK) {
                        p = coverage_blend(p, col, mask_coverage(m, data.data(), c.inner, c.aux, x, y), true);
                    } else if (c.op == CD_OP_CLASSMAP) {
                        const uint32_t k = classmap_color(m, data.data(), palette.data(), c.aux, c.inner, x, y);
                        if (k >> 24)
                            p = apply_blend(p, make_blend(k & 255u, (k >> 8) & 255u, (k >> 16) & 255u, k >> 24), true);
                    } else {
                        return 4;
                    }
                }
        }
        fwrite(frame.data(), 4, frame.size(), stdout);
        return 0;
    }
    if (strcmp(argv[1], "text") == 0) {
        uint32_t hdr[4];
        if (!read_exact(hdr, sizeof hdr)) return 3;
        const uint32_t w = hdr[0], h = hdr[1], col = hdr[2], n = hdr[3];
        std::vector<CdGlyph> glyphs(n);
        if (!read_exact(glyphs.data(), n * sizeof(CdGlyph))) return 3;
        uint32_t alen;
        if (!read_exact(&alen, 4)) return 3;
        std::vector<unsigned char> atlas(alen);
        if (!read_exact(atlas.data(), alen)) return 3;
        std::vector<uint32_t> frame(w * h);
        if (!read_exact(frame.data(), frame.size() * 4)) return 3;
        for (int y = 0; y < (int)h; y++)
            for (int x = 0; x < (int)w; x++) {
                uint32_t cov = 0; // the layer's rule: the largest mask byte of its glyphs
                for (const CdGlyph& g : glyphs) {
                    const int u = x - g.x, v = y - g.y;
                    if (u < 0 || v < 0 || u >= (int)g.w || v >= (int)g.h) continue;
                    const uint32_t m = atlas[g.atlas + (size_t)v * g.w + u];
                    cov = m > cov ? m : cov;
                }
                frame[y * w + x] = coverage_blend(frame[y * w + x], col, cov, true);
            }
        fwrite(frame.data(), 4, frame.size(), stdout);
        return 0;
    }
    if (strcmp(argv[1], "overlay") == 0) {
        uint32_t hdr[2];
        if (!read_exact(hdr, sizeof hdr)) return 3;
        const uint32_t iw = hdr[0], ih = hdr[1];
        std::vector<uint32_t> img(iw * ih);
        if (!read_exact(img.data(), img.size() * 4)) return 3;
        uint32_t p[4];
        if (!read_exact(p, sizeof p)) return 3;
        const uint32_t dw = p[0], dh = p[1], m = p[2];
        const bool nearest = p[3] != 0;
        std::vector<uint32_t> frame(dw * dh);
        if (!read_exact(frame.data(), frame.size() * 4)) return 3;
        CdImage ci;
        ci.ptr = (uint64_t)(uintptr_t)img.data();
        ci.width = (int32_t)iw;
        ci.height = (int32_t)ih;
        for (uint32_t y = 0; y < dh; y++) {
            const Axis ay = overlay_axis(y, dh, ih, nearest);
            for (uint32_t x = 0; x < dw; x++) {
                const Axis ax = overlay_axis(x, dw, iw, nearest);
                const uint32_t s = overlay_sample(ci, ax, ay, nearest);
                frame[y * dw + x] = overlay_blend(frame[y * dw + x], s, m, false, true);
            }
        }
        fwrite(frame.data(), 4, frame.size(), stdout);
        return 0;
    }
    return 2;
}
