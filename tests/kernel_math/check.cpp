// Host build of the kernels' per-pixel math (kernels/common.cuh), driven by
// tests/kernel_math.rs, which compares its output with the CPU renderer.
//
//   check blend    -> for c, a, d in 0..=255: bytes 0 and 3 of apply_blend over [d; 4]
//   check overlay  <- iw ih, iw*ih*4 image bytes, dw dh m nearest, dw*dh*4 background
//                  -> dw*dh*4 bytes: the background with the overlay blended (RGBA)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common.cuh"

static bool read_exact(void* p, size_t n) { return fread(p, 1, n, stdin) == n; }

int main(int argc, char** argv) {
    if (argc < 2) return 2;
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
