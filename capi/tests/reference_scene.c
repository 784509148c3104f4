/*
 * C test of the cudadraw C API, run by capi/tests/c.rs (compiled with -Werror against
 * capi/include/cudadraw.h, linked against libcudadraw.so):
 *  - two reference scenes (tests/scenes/mixed_example.json, padded_pitch.json) built
 *    with the list functions, rendered on host frames over the test background
 *    (tests/common/mod.rs: background()), compared byte for byte with the reference
 *    PNGs (tests/reference/) that the Rust CPU renderer and the CUDA kernels match;
 *  - the same scene on a SYSTEM-memory NvBufSurface (DeepStream 4.0-7.1 layout) through
 *    cudadraw_render_nvbufsurface;
 *  - bad input: error codes, a message, and the frame left untouched.
 * Usage: reference_scene <repository root>. Exit status 0 when every check passes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cudadraw.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        checks++;                                                                  \
        if (!(cond)) {                                                             \
            failures++;                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                   \
            fprintf(stderr, __VA_ARGS__);                                          \
            fprintf(stderr, " (last error: %s)\n", cudadraw_last_error());         \
        }                                                                          \
    } while (0)

/* The status must be `want` and the message must mention `needle`. */
#define CHECK_ERR(call, want, needle)                                              \
    do {                                                                           \
        cudadraw_status st_ = (call);                                              \
        CHECK(st_ == (want), "%s returned %d, expected %d", #call, st_, (want));   \
        CHECK(strstr(cudadraw_last_error(), (needle)) != NULL,                     \
              "%s: message does not mention '%s'", #call, (needle));               \
    } while (0)

/* tests/common/mod.rs background(), for RGBA frames. */
static void background(uint8_t *v, uint32_t width, uint32_t height, size_t pitch, size_t index) {
    size_t min_len = pitch * (height - 1) + (size_t)width * 4;
    for (size_t i = 0; i < min_len; i++) v[i] = (uint8_t)(0xA5 ^ (uint8_t)((uint8_t)i * 31u));
    size_t w = (width < 2 ? 2 : width) - 1, h = (height < 2 ? 2 : height) - 1;
    for (size_t y = 0; y < height; y++) {
        for (size_t x = 0; x < width; x++) {
            bool checker = ((x / 8) + (y / 8) + index) % 2 == 0;
            bool stripe = (x + 2 * y) % 12 < 3;
            uint8_t r = (uint8_t)(x * 255 / w), g = (uint8_t)(y * 255 / h);
            uint8_t b = stripe ? 255 : checker ? 170 : 40;
            uint8_t a = (uint8_t)(255 - (x * 3 + y * 5) % 64);
            uint8_t *p = v + y * pitch + x * 4;
            p[0] = r;
            p[1] = (uint8_t)(g / 2 + (checker ? 100 : 0));
            p[2] = b;
            p[3] = a;
        }
    }
}

static cudadraw_rect rect(float l, float t, float w, float h) {
    cudadraw_rect r = {l, t, w, h};
    return r;
}

/* Compares the visible pixels of an RGBA frame with a reference PNG. */
static void compare(const char *root, const char *name, const uint8_t *frame, uint32_t width,
                    uint32_t height, size_t pitch) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/reference/%s.png", root, name);
    uint32_t w = 0, h = 0;
    CHECK(cudadraw_png_read_file(path, NULL, 0, &w, &h) == CUDADRAW_OK, "read %s", path);
    CHECK(w == width && h == height, "%s: reference is %ux%u, frame %ux%u", name, w, h, width, height);
    if (w != width || h != height) return;
    size_t len = (size_t)w * h * 4;
    uint8_t *ref = malloc(len);
    if (!ref) abort();
    CHECK(cudadraw_png_read_file(path, ref, len, &w, &h) == CUDADRAW_OK, "read %s", path);
    size_t diff = 0, first = (size_t)-1;
    for (size_t y = 0; y < h; y++) {
        for (size_t i = 0; i < (size_t)w * 4; i++) {
            if (frame[y * pitch + i] != ref[y * w * 4 + i]) {
                if (first == (size_t)-1) first = y * w * 4 + i;
                diff++;
            }
        }
    }
    CHECK(diff == 0, "%s: %zu bytes differ from the reference (first at byte %zu)", name, diff, first);
    free(ref);
}

/* tests/scenes/mixed_example.json */
static void mixed_example(cudadraw_list *l, uint32_t logo) {
    CHECK(cudadraw_list_box(l, rect(10, 10, 100, 50), 4, 0xff0000ffu, CUDADRAW_ALIGN_CENTER,
                            0x00ff0050u) == CUDADRAW_OK, "box");
    CHECK(cudadraw_list_blur_box(l, rect(50, 50, 128, 96), 7, 0) == CUDADRAW_OK, "blur");
    CHECK(cudadraw_list_overlay(l, logo, rect(0, 0, 64, 64), 1.0f, CUDADRAW_FILTER_BILINEAR) ==
              CUDADRAW_OK, "overlay");
}

/* tests/scenes/padded_pitch.json */
static void padded_pitch(cudadraw_list *l, uint32_t logo) {
    CHECK(cudadraw_list_box(l, rect(-5, -5, 60, 40), 4, 0xff0000ffu, CUDADRAW_ALIGN_INSIDE,
                            0x00ff0050u) == CUDADRAW_OK, "box");
    CHECK(cudadraw_list_blur_gaussian(l, rect(50, 20, 60, 40), 3.0f, 0) == CUDADRAW_OK, "blur");
    CHECK(cudadraw_list_overlay(l, logo, rect(60, 30, 48, 48), 1.0f, CUDADRAW_FILTER_BILINEAR) ==
              CUDADRAW_OK, "overlay");
    CHECK(cudadraw_list_outline(l, rect(90, 60, 20, 20), 3, 0x0000ffffu, CUDADRAW_ALIGN_OUTSIDE) ==
              CUDADRAW_OK, "outline");
}

/* DeepStream 4.0-7.1 NvBufSurface layout (nvbufsurface.h), enough for one SYSTEM frame. */
typedef struct {
    uint32_t num_planes, width[4], height[4], pitch[4], offset[4], psize[4], bytes_per_pix[4];
    uint32_t pad0;
    uint64_t reserved[16];
} plane_params;
typedef struct {
    uint32_t width, height, pitch, color_format, layout, pad0;
    uint64_t buffer_desc;
    uint32_t data_size, pad1;
    uint64_t data_ptr;
    plane_params plane_params;
    uint64_t mapped_addr[9];
    uint64_t paramex, reserved[3];
} surface_params;
typedef struct {
    uint32_t gpu_id, batch_size, num_filled;
    uint8_t is_contiguous, pad0[3];
    uint32_t mem_type, pad1;
    uint64_t surface_list;
    uint64_t reserved[4];
} surface;
_Static_assert(sizeof(plane_params) == 232, "NvBufSurfacePlaneParams");
_Static_assert(sizeof(surface_params) == 384, "NvBufSurfaceParams (DS 4.0-7.1)");
_Static_assert(sizeof(surface) == 64, "NvBufSurface (DS 4.0-7.1)");

/* A copy of a frame for before/after comparisons (kept across calls; NULL: just the copy). */
static uint8_t *before_text_frame(const uint8_t *unused, size_t n) {
    static uint8_t *copy = NULL;
    static size_t cap = 0;
    (void)unused;
    if (n > cap) {
        free(copy);
        copy = malloc(n);
        if (!copy) abort();
        cap = n;
    }
    return copy;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <repository root>\n", argv[0]);
        return 2;
    }
    const char *root = argv[1];
    char logo_path[4096];
    snprintf(logo_path, sizeof logo_path, "%s/tests/scenes/logo.png", root);

    cudadraw_renderer *r = NULL;
    CHECK(cudadraw_renderer_new(&r) == CUDADRAW_OK && r != NULL, "renderer_new");
    uint32_t logo = 0;
    CHECK(cudadraw_image_add_png_file(r, logo_path, &logo) == CUDADRAW_OK, "add logo");

    /* 1. mixed_example on a packed 160x120 host frame. */
    uint32_t W = 160, H = 120;
    size_t pitch = (size_t)W * 4;
    uint8_t *px = malloc(pitch * H);
    if (!px) abort();
    background(px, W, H, pitch, 0);
    cudadraw_list *l = NULL;
    CHECK(cudadraw_list_new(&l) == CUDADRAW_OK, "list_new");
    mixed_example(l, logo);
    CHECK(cudadraw_list_len(l) == 3, "list_len %zu", cudadraw_list_len(l));
    cudadraw_host_frame f = {px, {W, H, pitch, CUDADRAW_FORMAT_RGBA}};
    const cudadraw_list *lists[1] = {l};
    CHECK(cudadraw_render_host(r, &f, 1, lists, 1) == CUDADRAW_OK, "render mixed_example");
    compare(root, "mixed_example", px, W, H, pitch);

    /* 2. padded_pitch: 100x70, pitch 436; the padding bytes must stay as they were. */
    uint32_t W2 = 100, H2 = 70;
    size_t pitch2 = 436, len2 = pitch2 * (H2 - 1) + (size_t)W2 * 4;
    uint8_t *px2 = malloc(len2), *bg2 = malloc(len2);
    if (!px2 || !bg2) abort();
    background(px2, W2, H2, pitch2, 0);
    memcpy(bg2, px2, len2);
    cudadraw_list *l2 = NULL;
    CHECK(cudadraw_list_new(&l2) == CUDADRAW_OK, "list_new");
    padded_pitch(l2, logo);
    cudadraw_host_frame f2 = {px2, {W2, H2, pitch2, CUDADRAW_FORMAT_RGBA}};
    const cudadraw_list *lists2[1] = {l2};
    CHECK(cudadraw_render_host(r, &f2, 1, lists2, 1) == CUDADRAW_OK, "render padded_pitch");
    compare(root, "padded_pitch", px2, W2, H2, pitch2);
    size_t padding_changed = 0;
    for (size_t y = 0; y + 1 < H2; y++)
        for (size_t i = (size_t)W2 * 4; i < pitch2; i++)
            padding_changed += px2[y * pitch2 + i] != bg2[y * pitch2 + i];
    CHECK(padding_changed == 0, "%zu padding bytes written", padding_changed);

    /* 3. mixed_example on a SYSTEM-memory NvBufSurface batch of one frame. */
    background(px, W, H, pitch, 0);
    surface_params sp;
    memset(&sp, 0, sizeof sp);
    sp.width = W;
    sp.height = H;
    sp.pitch = (uint32_t)pitch;
    sp.color_format = 19; /* NVBUF_COLOR_FORMAT_RGBA */
    sp.layout = 0;        /* NVBUF_LAYOUT_PITCH */
    sp.data_size = (uint32_t)(pitch * H);
    sp.data_ptr = (uint64_t)(uintptr_t)px;
    sp.plane_params.num_planes = 1;
    sp.plane_params.width[0] = W;
    sp.plane_params.height[0] = H;
    sp.plane_params.pitch[0] = (uint32_t)pitch;
    sp.plane_params.psize[0] = (uint32_t)(pitch * H);
    sp.plane_params.bytes_per_pix[0] = 4;
    surface s;
    memset(&s, 0, sizeof s);
    s.batch_size = 1;
    s.num_filled = 1;
    s.mem_type = 6; /* NVBUF_MEM_SYSTEM */
    s.surface_list = (uint64_t)(uintptr_t)&sp;
    CHECK(cudadraw_render_nvbufsurface(r, &s, CUDADRAW_NVMM_ABI_DS4_TO_7, lists, 1) == CUDADRAW_OK,
          "render_nvbufsurface");
    compare(root, "mixed_example", px, W, H, pitch);

    /* 3b. Text, shapes: tests/scenes/text_background_padding.json and a label, a line,
     * a circle and a polygon against their Rust rendering (the reference of
     * counting_line_and_zones would need the same ops; these go through the C calls). */
    background(px, W, H, pitch, 0);
    cudadraw_list *t = NULL;
    CHECK(cudadraw_list_new(&t) == CUDADRAW_OK, "list_new");
    CHECK(cudadraw_list_text(t, 4, 4, "person 0.97", 16, 0xffffffffu, 0x000000a0u, 2,
                             CUDADRAW_FONT_DEFAULT) == CUDADRAW_OK, "text 1");
    CHECK(cudadraw_list_text(t, 4, 34, "car 0.81", 16, 0x000000ffu, 0xffff00ffu, 6,
                             CUDADRAW_FONT_DEFAULT) == CUDADRAW_OK, "text 2");
    CHECK(cudadraw_list_text(t, 4, 74, "pad 0", 14, 0xffffffffu, 0x0000ffc8u, 0,
                             CUDADRAW_FONT_DEFAULT) == CUDADRAW_OK, "text 3");
    const cudadraw_list *tl[1] = {t};
    CHECK(cudadraw_render_host(r, &f, 1, tl, 1) == CUDADRAW_OK, "render text_background_padding");
    compare(root, "text_background_padding", px, W, H, pitch);
    /* Invalid UTF-8 and NULL text: an error, nothing appended. */
    size_t n0 = cudadraw_list_len(t);
    CHECK_ERR(cudadraw_list_text(t, 0, 0, "bad \xc3\x28 utf-8", 16, 0xffffffffu, 0, 2, 0),
              CUDADRAW_ERR_INVALID_ARGUMENT, "not valid UTF-8");
    CHECK_ERR(cudadraw_list_label(t, rect(0, 0, 9, 9), NULL, 16, 0xffffffffu, 0, 2, 0),
              CUDADRAW_ERR_INVALID_ARGUMENT, "text is NULL");
    CHECK(cudadraw_list_len(t) == n0, "a refused text was appended");
    /* A size out of range is refused when rendering; nothing is drawn. */
    cudadraw_list *big = NULL;
    CHECK(cudadraw_list_new(&big) == CUDADRAW_OK, "list_new");
    CHECK(cudadraw_list_text(big, 0, 0, "x", 300, 0xffffffffu, 0, 2, 0) == CUDADRAW_OK, "text 300 px");
    const cudadraw_list *bl[1] = {big};
    memcpy(before_text_frame(px, pitch * H), px, pitch * H);
    CHECK_ERR(cudadraw_render_host(r, &f, 1, bl, 1), CUDADRAW_ERR_INVALID_INPUT, "text size 300");
    CHECK(memcmp(before_text_frame(NULL, 0), px, pitch * H) == 0, "drawn despite a bad size");
    cudadraw_list_free(big);
    cudadraw_list_free(t);
    /* Shapes: accepted and drawn (their pixels are pinned by the Rust reference scenes). */
    cudadraw_list *sh = NULL;
    CHECK(cudadraw_list_new(&sh) == CUDADRAW_OK, "list_new");
    const float zone[8] = {10, 60, 70, 40, 80, 110, 5, 115};
    CHECK(cudadraw_list_polygon(sh, zone, 4, 0xff000046u, 2, 0xff0000ffu, 0) == CUDADRAW_OK, "polygon");
    CHECK(cudadraw_list_line(sh, 0, 30, 160, 25, 3, 0xffff00ffu, 0) == CUDADRAW_OK, "line");
    CHECK(cudadraw_list_circle(sh, 120, 60, 15, 2, 0x00ff00ffu, 0x0000ff80u, 1) == CUDADRAW_OK, "circle");
    CHECK(cudadraw_list_label(sh, rect(100, 70, 40, 30), "id 7", 12, 0xffffffffu, 0x000000b0u, 2, 0) ==
              CUDADRAW_OK, "label");
    CHECK_ERR(cudadraw_list_polygon(sh, NULL, 3, 0xff0000ffu, 0, 0, 0), CUDADRAW_ERR_INVALID_ARGUMENT,
              "xy is NULL");
    CHECK(cudadraw_list_len(sh) == 4, "shape list_len %zu", cudadraw_list_len(sh));
    background(px, W, H, pitch, 0);
    memcpy(before_text_frame(px, pitch * H), px, pitch * H);
    const cudadraw_list *shl[1] = {sh};
    CHECK(cudadraw_render_host(r, &f, 1, shl, 1) == CUDADRAW_OK, "render shapes");
    CHECK(memcmp(before_text_frame(NULL, 0), px, pitch * H) != 0, "the shapes drew nothing");
    uint32_t font = 99;
    CHECK_ERR(cudadraw_font_add_file(r, logo_path, 0, &font), CUDADRAW_ERR_INVALID_INPUT,
              "not a usable font");
    CHECK(font == 99, "a refused font got a handle");
    cudadraw_list_free(sh);

    /* 4. Bad input: an error code, a message, nothing written. */
    background(px, W, H, pitch, 0);
    uint8_t *before = malloc(pitch * H);
    if (!before) abort();
    memcpy(before, px, pitch * H);
    cudadraw_list *bad = NULL;
    CHECK(cudadraw_list_new(&bad) == CUDADRAW_OK, "list_new");
    CHECK(cudadraw_list_fill(bad, rect(0, 0, 50, 50), 0xff0000ffu) == CUDADRAW_OK, "fill");
    CHECK(cudadraw_list_outline(bad, rect(0, 0, 10, 10), 0, 0xff0000ffu, CUDADRAW_ALIGN_INSIDE) ==
              CUDADRAW_OK, "outline width 0 is accepted into the list, refused when rendering");
    const cudadraw_list *badl[1] = {bad};
    CHECK_ERR(cudadraw_render_host(r, &f, 1, badl, 1), CUDADRAW_ERR_INVALID_INPUT, "op 1");
    CHECK(memcmp(before, px, pitch * H) == 0, "frame written despite an invalid op");

    cudadraw_list *unknown = NULL;
    CHECK(cudadraw_list_new(&unknown) == CUDADRAW_OK, "list_new");
    CHECK(cudadraw_list_overlay(unknown, 999, rect(0, 0, 8, 8), 1.0f, CUDADRAW_FILTER_NEAREST) ==
              CUDADRAW_OK, "overlay");
    const cudadraw_list *unk[1] = {unknown};
    CHECK_ERR(cudadraw_render_host(r, &f, 1, unk, 1), CUDADRAW_ERR_INVALID_INPUT, "unknown image");

    CHECK_ERR(cudadraw_render_host(NULL, &f, 1, lists, 1), CUDADRAW_ERR_INVALID_ARGUMENT,
              "renderer is NULL");
    CHECK_ERR(cudadraw_render_host(r, NULL, 1, lists, 1), CUDADRAW_ERR_INVALID_ARGUMENT,
              "frames is NULL");
    const cudadraw_list *null_list[1] = {NULL};
    CHECK_ERR(cudadraw_render_host(r, &f, 1, null_list, 1), CUDADRAW_ERR_INVALID_ARGUMENT,
              "lists[0] is NULL");
    CHECK_ERR(cudadraw_render_host(r, &f, 1, lists, 0), CUDADRAW_ERR_INVALID_INPUT, "draw lists");
    cudadraw_host_frame nodata = {NULL, {W, H, pitch, CUDADRAW_FORMAT_RGBA}};
    CHECK_ERR(cudadraw_render_host(r, &nodata, 1, lists, 1), CUDADRAW_ERR_INVALID_INPUT,
              "null data pointer");
    cudadraw_host_frame small = {px, {W, H, 16, CUDADRAW_FORMAT_RGBA}};
    CHECK_ERR(cudadraw_render_host(r, &small, 1, lists, 1), CUDADRAW_ERR_INVALID_INPUT, "pitch");
    cudadraw_host_frame fmt = {px, {W, H, pitch, 9}};
    CHECK_ERR(cudadraw_render_host(r, &fmt, 1, lists, 1), CUDADRAW_ERR_INVALID_ARGUMENT,
              "unknown pixel format");
    cudadraw_host_frame two[2] = {f, f};
    const cudadraw_list *twol[2] = {l, l};
    CHECK_ERR(cudadraw_render_host(r, two, 2, twol, 2), CUDADRAW_ERR_INVALID_INPUT, "overlap");
    CHECK(memcmp(before, px, pitch * H) == 0, "frame written by a failed call");

    CHECK_ERR(cudadraw_list_outline(l, rect(0, 0, 1, 1), 1, 0, 7), CUDADRAW_ERR_INVALID_ARGUMENT,
              "unknown align");
    CHECK_ERR(cudadraw_list_fill(NULL, rect(0, 0, 1, 1), 0), CUDADRAW_ERR_INVALID_ARGUMENT,
              "list is NULL");
    CHECK_ERR(cudadraw_list_overlay(l, logo, rect(0, 0, 1, 1), 1.0f, 5),
              CUDADRAW_ERR_INVALID_ARGUMENT, "unknown filter");
    uint32_t id = 0;
    const char not_utf8[] = {'/', 't', 'm', 'p', '/', (char)0xff, (char)0xfe, '.', 'p', 'n', 'g', 0};
    CHECK_ERR(cudadraw_image_add_png_file(r, not_utf8, &id), CUDADRAW_ERR_INVALID_ARGUMENT,
              "not valid UTF-8");
    CHECK_ERR(cudadraw_image_add_png_file(r, "/nonexistent/logo.png", &id), CUDADRAW_ERR_IO,
              "/nonexistent/logo.png");
    CHECK_ERR(cudadraw_image_add_png_file(r, NULL, &id), CUDADRAW_ERR_INVALID_ARGUMENT,
              "path is NULL");
    uint8_t rgba[16] = {0};
    CHECK_ERR(cudadraw_image_add(r, rgba, 2, 2, 4, &id), CUDADRAW_ERR_INVALID_ARGUMENT, "stride");
    CHECK_ERR(cudadraw_image_add(r, rgba, 0, 2, 0, &id), CUDADRAW_ERR_INVALID_INPUT, "invalid image");
    CHECK(cudadraw_image_add(r, rgba, 2, 2, 8, &id) == CUDADRAW_OK, "image_add");
    CHECK(cudadraw_image_remove(r, id) == CUDADRAW_OK, "image_remove");
    CHECK_ERR(cudadraw_image_remove(r, id), CUDADRAW_ERR_INVALID_INPUT, "no such handle");
    CHECK_ERR(cudadraw_renderer_new(NULL), CUDADRAW_ERR_INVALID_ARGUMENT, "out is NULL");

    /* NvBufSurface: NULL, an unknown memory type, a list count that is not numFilled. */
    CHECK_ERR(cudadraw_render_nvbufsurface(r, NULL, CUDADRAW_NVMM_ABI_DS8, lists, 1),
              CUDADRAW_ERR_INVALID_ARGUMENT, "surface is NULL");
    CHECK_ERR(cudadraw_render_nvbufsurface(r, &s, 9, lists, 1), CUDADRAW_ERR_INVALID_ARGUMENT,
              "unknown abi");
    s.mem_type = 99;
    CHECK_ERR(cudadraw_render_nvbufsurface(r, &s, CUDADRAW_NVMM_ABI_DS4_TO_7, lists, 1),
              CUDADRAW_ERR_INVALID_INPUT, "unknown memory type 99");
    s.mem_type = 6;
    CHECK_ERR(cudadraw_render_nvbufsurface(r, &s, CUDADRAW_NVMM_ABI_DS4_TO_7, twol, 2),
              CUDADRAW_ERR_INVALID_INPUT, "draw lists");
    CHECK(memcmp(before, px, pitch * H) == 0, "frame written by a failed NvBufSurface call");

    /* Device frames: without a GPU (CI) the call fails cleanly; with one, a NULL
     * pointer is refused. Either way: an error, not a crash. */
    cudadraw_device_frame df = {0, 0, {W, H, pitch, CUDADRAW_FORMAT_RGBA}};
    cudadraw_status ds = cudadraw_render_device(r, &df, 1, lists, 1);
    CHECK(ds == CUDADRAW_ERR_NO_CUDA_DEVICE || ds == CUDADRAW_ERR_INVALID_INPUT,
          "device render of a null pointer returned %d", ds);
    CHECK(strlen(cudadraw_last_error()) > 0, "no message");

    /* Skip-invalid mode: the bad op is left out, the fill drawn. */
    CHECK(cudadraw_renderer_set_skip_invalid(r, 1) == CUDADRAW_OK, "skip invalid");
    CHECK(cudadraw_render_host(r, &f, 1, badl, 1) == CUDADRAW_OK, "render with skip");
    CHECK(cudadraw_renderer_last_skipped(r) == 1, "skipped %zu", cudadraw_renderer_last_skipped(r));
    CHECK(px[0] == 255 && px[1] == 0 && px[2] == 0, "fill not drawn");

    CHECK(strcmp(cudadraw_version(), "0.1.0") == 0, "version %s", cudadraw_version());
    cudadraw_list_free(l);
    cudadraw_list_free(l2);
    cudadraw_list_free(bad);
    cudadraw_list_free(unknown);
    cudadraw_list_free(NULL);
    cudadraw_renderer_free(r);
    cudadraw_renderer_free(NULL);
    free(px);
    free(px2);
    free(bg2);
    free(before);
    printf("%s: %d checks, %d failed\n", failures ? "FAIL" : "ok", checks, failures);
    return failures ? 1 : 0;
}
