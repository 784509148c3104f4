/*
 * C test of the cudadraw C API, run by capi/tests/c.rs (compiled with -Werror against
 * capi/include/cudadraw.h, linked against libcudadraw.so):
 *  - every reference scene (tests/scenes/<name>.json, read by the small JSON reader
 *    below) built op by op with the list functions, rendered on host frames of the
 *    scene's layout over the test background (tests/common/mod.rs: background()),
 *    compared byte for byte with the reference PNGs (tests/reference/) that the Rust CPU
 *    renderer and the CUDA kernels match, padding bytes untouched; an op without a C
 *    mapping fails the scene (none is skipped: the summary line says how many passed);
 *  - mixed_example on a SYSTEM-memory NvBufSurface (DeepStream 4.0-7.1 layout) through
 *    cudadraw_render_nvbufsurface;
 *  - bad input: error codes, a message, nothing appended to the list, the frame left
 *    untouched.
 * Usage: reference_scene <repository root>. Exit status 0 when every check passes.
 */
#define _POSIX_C_SOURCE 200809L /* opendir */
#include <dirent.h>
#include <math.h>
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

/* tests/common/mod.rs background(); `swap`: red and blue swapped (BGRA, BGRX frames). */
static void background_fmt(uint8_t *v, uint32_t width, uint32_t height, size_t pitch, size_t index,
                           bool swap) {
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
            p[0] = swap ? b : r;
            p[1] = (uint8_t)(g / 2 + (checker ? 100 : 0));
            p[2] = swap ? r : b;
            p[3] = a;
        }
    }
}

/* tests/common/mod.rs background(), for RGBA frames. */
static void background(uint8_t *v, uint32_t width, uint32_t height, size_t pitch, size_t index) {
    background_fmt(v, width, height, pitch, index, false);
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

/* Compares `n` frames stacked top to bottom (as RGBA: `swap` swaps red and blue back)
 * with the reference PNG of a batch. */
static void compare_batch(const char *root, const char *name, uint8_t *const *frames, size_t n,
                          uint32_t width, uint32_t height, size_t pitch, bool swap) {
    size_t row = (size_t)width * 4;
    uint8_t *stacked = malloc(row * height * n);
    if (!stacked) abort();
    for (size_t i = 0; i < n; i++)
        for (size_t y = 0; y < height; y++) {
            uint8_t *o = stacked + (i * height + y) * row;
            memcpy(o, frames[i] + y * pitch, row);
            if (swap)
                for (size_t x = 0; x < row; x += 4) {
                    uint8_t t = o[x];
                    o[x] = o[x + 2];
                    o[x + 2] = t;
                }
        }
    compare(root, name, stacked, width, (uint32_t)(height * n), row);
    free(stacked);
}

/* ---- A small JSON reader, enough for the scene files --------------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;
typedef struct json {
    jtype t;
    double num;         /* J_NUM, J_BOOL (0 / 1) */
    char *str;          /* J_STR: UTF-8, NUL-terminated */
    size_t n;           /* J_ARR, J_OBJ: number of items */
    struct json *items; /* J_ARR, J_OBJ */
    char **keys;        /* J_OBJ */
} json;

typedef struct {
    const char *p;
    bool ok;
} jparser;

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

static void jws(jparser *s) {
    while (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t') s->p++;
}

static void jutf8(char **out, size_t *len, uint32_t c) {
    *out = xrealloc(*out, *len + 5);
    char *o = *out + *len;
    if (c < 0x80) {
        o[0] = (char)c;
        *len += 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        *len += 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        *len += 3;
    } else {
        o[0] = (char)(0xf0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[3] = (char)(0x80 | (c & 0x3f));
        *len += 4;
    }
}

static uint32_t jhex4(jparser *s) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *s->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else s->ok = false;
    }
    return v;
}

static char *jstring(jparser *s) {
    char *out = NULL;
    size_t len = 0;
    s->p++; /* opening quote */
    while (s->ok && *s->p != '"') {
        if (*s->p == 0) {
            s->ok = false;
            break;
        }
        if (*s->p != '\\') {
            out = xrealloc(out, len + 1);
            out[len++] = *s->p++;
            continue;
        }
        s->p++;
        char e = *s->p++;
        uint32_t c;
        switch (e) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u':
            c = jhex4(s);
            if (c >= 0xd800 && c < 0xdc00 && s->p[0] == '\\' && s->p[1] == 'u') {
                s->p += 2;
                uint32_t lo = jhex4(s);
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
            }
            break;
        default: c = (uint32_t)(unsigned char)e; break; /* \" \\ \/ */
        }
        jutf8(&out, &len, c);
    }
    s->p++; /* closing quote */
    out = xrealloc(out, len + 1);
    out[len] = 0;
    return out;
}

static void jvalue(jparser *s, json *v) {
    memset(v, 0, sizeof *v);
    jws(s);
    char c = *s->p;
    if (c == '{' || c == '[') {
        bool obj = c == '{';
        v->t = obj ? J_OBJ : J_ARR;
        s->p++;
        jws(s);
        if (*s->p == (obj ? '}' : ']')) {
            s->p++;
            return;
        }
        while (s->ok) {
            v->items = xrealloc(v->items, (v->n + 1) * sizeof *v->items);
            if (obj) {
                v->keys = xrealloc(v->keys, (v->n + 1) * sizeof *v->keys);
                jws(s);
                if (*s->p != '"') {
                    s->ok = false;
                    return;
                }
                v->keys[v->n] = jstring(s);
                jws(s);
                if (*s->p++ != ':') s->ok = false;
            }
            jvalue(s, &v->items[v->n++]);
            jws(s);
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p++ != (obj ? '}' : ']')) s->ok = false;
            return;
        }
    } else if (c == '"') {
        v->t = J_STR;
        v->str = jstring(s);
    } else if (strncmp(s->p, "true", 4) == 0 || strncmp(s->p, "false", 5) == 0) {
        v->t = J_BOOL;
        v->num = c == 't';
        s->p += c == 't' ? 4 : 5;
    } else if (strncmp(s->p, "null", 4) == 0) {
        s->p += 4;
    } else {
        char *end;
        v->t = J_NUM;
        v->num = strtod(s->p, &end);
        if (end == s->p) s->ok = false;
        s->p = end;
    }
}

static void jfree(json *v) {
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

/* Member `key` of an object, or NULL. */
static const json *jget(const json *o, const char *key) {
    if (!o || o->t != J_OBJ) return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return &o->items[i];
    return NULL;
}

static double jnum(const json *o, const char *key, double def) {
    const json *v = jget(o, key);
    return v && (v->t == J_NUM || v->t == J_BOOL) ? v->num : def;
}

static const char *jstr(const json *o, const char *key, const char *def) {
    const json *v = jget(o, key);
    return v && v->t == J_STR ? v->str : def;
}

/* A scene colour [r, g, b, a] as 0xRRGGBBAA; `def` when absent. */
static uint32_t jcolor(const json *c, uint32_t def) {
    if (!c || c->t != J_ARR || c->n != 4) return def;
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) v = (v << 8) | ((uint32_t)c->items[i].num & 0xff);
    return v;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf = xrealloc(buf, len + n + 1);
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    buf = xrealloc(buf, len + 1);
    buf[len] = 0;
    return buf;
}

/* f64 -> IEEE half bits, rounded to nearest even once (as half::f16::from_f64). */
static uint16_t f64_to_f16(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    uint16_t sign = (uint16_t)((b >> 48) & 0x8000);
    int exp = (int)((b >> 52) & 0x7ff);
    uint64_t man = b & 0xfffffffffffffull;
    if (exp == 0x7ff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp == 0) return sign; /* zero or a double subnormal: far below half's range */
    uint64_t m = man | (1ull << 52);
    int e = exp - 1023;
    /* Units of the half's ulp at this exponent: 2^(e-10) normal, 2^-24 subnormal. */
    int shift = e >= -14 ? 42 : 28 - e;
    if (shift >= 64) return sign;
    uint64_t k = m >> shift, rem = m & ((1ull << shift) - 1), half = 1ull << (shift - 1);
    if (rem > half || (rem == half && (k & 1))) k++;
    uint64_t bits = e >= -14 ? ((uint64_t)(e + 15) << 10) + (k - 1024) : k;
    if (bits >= 0x7c00) bits = 0x7c00;
    return (uint16_t)(sign | bits);
}

/* ---- Every reference scene through the C API ---------------------------------------- */

/* Images and fonts registered so far (paths relative to tests/scenes), by path. */
typedef struct {
    char path[512];
    uint32_t index, id;
} handle;
static handle images[64], fonts[16];
static size_t n_images = 0, n_fonts = 0;

static bool handle_of(cudadraw_renderer *r, const char *root, const char *rel, uint32_t index,
                      bool font, uint32_t *out) {
    handle *h = font ? fonts : images;
    size_t *n = font ? &n_fonts : &n_images;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(h[i].path, rel) == 0 && h[i].index == index) {
            *out = h[i].id;
            return true;
        }
    if (*n == (font ? 16u : 64u) || strlen(rel) >= sizeof h->path) return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/scenes/%s", root, rel);
    cudadraw_status st = font ? cudadraw_font_add_file(r, path, index, out)
                              : cudadraw_image_add_png_file(r, path, out);
    CHECK(st == CUDADRAW_OK, "register %s", path);
    if (st != CUDADRAW_OK) return false;
    snprintf(h[*n].path, sizeof h->path, "%s", rel);
    h[*n].index = index;
    h[*n].id = *out;
    (*n)++;
    return true;
}

static uint32_t format_code(const char *f) {
    if (strcmp(f, "bgra") == 0) return CUDADRAW_FORMAT_BGRA;
    if (strcmp(f, "rgbx") == 0) return CUDADRAW_FORMAT_RGBX;
    if (strcmp(f, "bgrx") == 0) return CUDADRAW_FORMAT_BGRX;
    return CUDADRAW_FORMAT_RGBA;
}

static bool swaps_red_blue(uint32_t format) {
    return format == CUDADRAW_FORMAT_BGRA || format == CUDADRAW_FORMAT_BGRX;
}

static uint32_t align_code(const char *a) {
    if (strcmp(a, "center") == 0) return CUDADRAW_ALIGN_CENTER;
    if (strcmp(a, "outside") == 0) return CUDADRAW_ALIGN_OUTSIDE;
    return CUDADRAW_ALIGN_INSIDE;
}

static uint32_t filter_code(const json *p) {
    return strcmp(jstr(p, "filter", "bilinear"), "nearest") == 0 ? CUDADRAW_FILTER_NEAREST
                                                                 : CUDADRAW_FILTER_BILINEAR;
}

static cudadraw_rect jrect(const json *p) {
    return rect((float)jnum(p, "left", 0), (float)jnum(p, "top", 0), (float)jnum(p, "width", 0),
                (float)jnum(p, "height", 0));
}

/* A scene point [x, y]. */
static float jx(const json *p, const char *key, size_t i) {
    const json *v = jget(p, key);
    return v && v->t == J_ARR && v->n == 2 ? (float)v->items[i].num : 0.0f;
}

/* `points` as x0, y0, x1, y1, ... (the caller frees it). */
static float *jpoints(const json *p, size_t *n) {
    const json *v = jget(p, "points");
    *n = v ? v->n : 0;
    float *xy = xrealloc(NULL, 2 * *n * sizeof *xy);
    for (size_t i = 0; i < *n; i++) {
        xy[2 * i] = (float)v->items[i].items[0].num;
        xy[2 * i + 1] = (float)v->items[i].items[1].num;
    }
    return xy;
}

/* A scene outline {"width", "color"}: width 0 (none) when absent. */
static void joutline(const json *p, float *width, uint32_t *color) {
    const json *o = jget(p, "outline");
    *width = o ? (float)jnum(o, "width", 0) : 0.0f;
    *color = o ? jcolor(jget(o, "color"), 0) : 0;
}

static bool text_style(cudadraw_renderer *r, const char *root, const json *p,
                       cudadraw_text_style *s) {
    s->size = (uint32_t)jnum(p, "size", 16);
    s->color = jcolor(jget(p, "color"), 0xffffffffu);
    s->background = jcolor(jget(p, "background"), 0);
    s->padding = (uint32_t)jnum(p, "padding", 2);
    s->font = CUDADRAW_FONT_DEFAULT;
    const json *halo = jget(p, "halo");
    s->halo_width = halo ? (uint32_t)jnum(halo, "width", 0) : 0;
    s->halo_color = halo ? jcolor(jget(halo, "color"), 0) : 0;
    const char *font = jstr(p, "font", NULL);
    return !font || handle_of(r, root, font, (uint32_t)jnum(p, "font_index", 0), true, &s->font);
}

/* Mask values of a scene {"width", "height", "type", "values"} in host memory, rows
 * `*pitch` bytes apart with 8 bytes of garbage between rows (so the pitch is honoured),
 * converted as src/draw/scene.rs converts them. The caller frees the result. */
static void *jmask(const json *m, uint32_t *w, uint32_t *h, size_t *pitch, uint32_t *dtype) {
    const char *t = jstr(m, "type", "u8");
    *dtype = strcmp(t, "f16") == 0   ? CUDADRAW_MASK_F16
             : strcmp(t, "f32") == 0 ? CUDADRAW_MASK_F32
             : strcmp(t, "i32") == 0 ? CUDADRAW_MASK_I32
                                     : CUDADRAW_MASK_U8;
    size_t e = *dtype == CUDADRAW_MASK_U8 ? 1 : *dtype == CUDADRAW_MASK_F16 ? 2 : 4;
    *w = (uint32_t)jnum(m, "width", 0);
    *h = (uint32_t)jnum(m, "height", 0);
    *pitch = *w * e + 8;
    uint8_t *buf = xrealloc(NULL, *pitch * *h);
    memset(buf, 0x5a, *pitch * *h);
    const json *v = jget(m, "values");
    for (size_t i = 0; v && i < v->n && i < (size_t)*w * *h; i++) {
        double x = v->items[i].num;
        uint8_t *o = buf + (i / *w) * *pitch + (i % *w) * e;
        if (*dtype == CUDADRAW_MASK_U8) {
            *o = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
        } else if (*dtype == CUDADRAW_MASK_F16) {
            uint16_t b = f64_to_f16(x);
            memcpy(o, &b, 2);
        } else if (*dtype == CUDADRAW_MASK_F32) {
            float f = (float)x;
            memcpy(o, &f, 4);
        } else {
            int32_t id = (int32_t)(x < -2147483648.0 ? -2147483648.0 : x > 2147483647.0 ? 2147483647.0 : x);
            memcpy(o, &id, 4);
        }
    }
    return buf;
}

/* One scene op through the C API; false (with a CHECK failure) if a call failed. */
static bool scene_op(cudadraw_renderer *r, const char *root, cudadraw_list *l, const json *op,
                     const char *scene) {
    if (op->t != J_OBJ || op->n != 1) return false;
    const char *kind = op->keys[0];
    const json *p = &op->items[0];
    cudadraw_status st = CUDADRAW_ERR_INVALID_ARGUMENT;
    bool aa = jnum(p, "aa", 0) != 0;
    if (strcmp(kind, "rect") == 0) {
        const json *b = jget(p, "border"), *fill = jget(p, "fill");
        if (b && fill)
            st = cudadraw_list_box(l, jrect(p), (uint32_t)jnum(b, "width", 0), jcolor(jget(b, "color"), 0),
                                   align_code(jstr(b, "align", "inside")), jcolor(fill, 0));
        else if (b)
            st = cudadraw_list_outline(l, jrect(p), (uint32_t)jnum(b, "width", 0),
                                       jcolor(jget(b, "color"), 0), align_code(jstr(b, "align", "inside")));
        else if (fill)
            st = cudadraw_list_fill(l, jrect(p), jcolor(fill, 0));
        else
            st = cudadraw_list_box(l, jrect(p), 0, 0, CUDADRAW_ALIGN_INSIDE, 0);
    } else if (strcmp(kind, "blur") == 0) {
        const json *k = jget(p, "kind");
        float expand = (float)jnum(p, "expand", 0);
        if (k && k->t == J_OBJ && k->n == 1) {
            const char *bk = k->keys[0];
            const json *kp = &k->items[0];
            if (strcmp(bk, "box") == 0)
                st = cudadraw_list_blur_box(l, jrect(p), (uint32_t)jnum(kp, "radius", 0), expand);
            else if (strcmp(bk, "gaussian") == 0)
                st = cudadraw_list_blur_gaussian(l, jrect(p), (float)jnum(kp, "sigma", 0), expand);
            else if (strcmp(bk, "pixelate") == 0)
                st = cudadraw_list_blur_pixelate(l, jrect(p), (uint32_t)jnum(kp, "block", 0), expand);
            else if (strcmp(bk, "solid") == 0)
                st = cudadraw_list_blur_solid(l, jrect(p), jcolor(jget(kp, "color"), 0), expand);
        }
    } else if (strcmp(kind, "overlay") == 0) {
        uint32_t id;
        if (handle_of(r, root, jstr(p, "image", ""), 0, false, &id))
            st = cudadraw_list_overlay(l, id, jrect(p), (float)jnum(p, "opacity", 1), filter_code(p));
    } else if (strcmp(kind, "text") == 0 || strcmp(kind, "label") == 0) {
        cudadraw_text_style s;
        if (text_style(r, root, p, &s)) {
            if (kind[0] == 't')
                st = cudadraw_list_text_styled(
                    l, (float)jnum(p, "x", 0), (float)jnum(p, "y", 0),
                    strcmp(jstr(p, "anchor", "top"), "baseline") == 0 ? CUDADRAW_ANCHOR_BASELINE
                                                                      : CUDADRAW_ANCHOR_TOP,
                    jstr(p, "text", ""), &s);
            else
                st = cudadraw_list_label_styled(l, jrect(p), jstr(p, "text", ""), &s);
        }
    } else if (strcmp(kind, "line") == 0) {
        cudadraw_line_style s = {(float)jnum(p, "width", 0), jcolor(jget(p, "color"), 0),
                                 strcmp(jstr(p, "cap", "flat"), "round") == 0 ? CUDADRAW_CAP_ROUND
                                                                              : CUDADRAW_CAP_FLAT,
                                 aa};
        if (s.cap == CUDADRAW_CAP_FLAT) /* the plain call, where it can say it */
            st = cudadraw_list_line(l, jx(p, "from", 0), jx(p, "from", 1), jx(p, "to", 0),
                                    jx(p, "to", 1), s.width, s.color, s.aa);
        else
            st = cudadraw_list_line_styled(l, jx(p, "from", 0), jx(p, "from", 1), jx(p, "to", 0),
                                           jx(p, "to", 1), &s);
    } else if (strcmp(kind, "polyline") == 0) {
        size_t n;
        float *xy = jpoints(p, &n);
        cudadraw_line_style s = {(float)jnum(p, "width", 0), jcolor(jget(p, "color"), 0),
                                 strcmp(jstr(p, "cap", "flat"), "round") == 0 ? CUDADRAW_CAP_ROUND
                                                                              : CUDADRAW_CAP_FLAT,
                                 aa};
        st = cudadraw_list_polyline(l, xy, n, jnum(p, "closed", 0) != 0, &s);
        free(xy);
    } else if (strcmp(kind, "polygon") == 0) {
        size_t n;
        float *xy = jpoints(p, &n);
        float ow;
        uint32_t oc;
        joutline(p, &ow, &oc);
        st = cudadraw_list_polygon(l, xy, n, jcolor(jget(p, "fill"), 0), ow, oc, aa);
        free(xy);
    } else if (strcmp(kind, "arrow") == 0) {
        float w = (float)jnum(p, "width", 0);
        const char *ends = jstr(p, "ends", "end");
        cudadraw_arrow_style s = {w, jcolor(jget(p, "color"), 0), (float)jnum(p, "head_length", 4.0f * w + 6.0f),
                                  (float)jnum(p, "head_angle", 30),
                                  strcmp(ends, "both") == 0    ? CUDADRAW_ARROW_BOTH
                                  : strcmp(ends, "start") == 0 ? CUDADRAW_ARROW_START
                                                               : CUDADRAW_ARROW_END,
                                  aa};
        st = cudadraw_list_arrow(l, jx(p, "from", 0), jx(p, "from", 1), jx(p, "to", 0), jx(p, "to", 1), &s);
    } else if (strcmp(kind, "circle") == 0 || strcmp(kind, "ellipse") == 0) {
        cudadraw_shape_style s;
        joutline(p, &s.outline_width, &s.outline_color);
        s.align = align_code(jstr(p, "align", "inside"));
        s.fill = jcolor(jget(p, "fill"), 0);
        s.aa = aa;
        float cx = jx(p, "center", 0), cy = jx(p, "center", 1);
        if (kind[0] == 'e')
            st = cudadraw_list_ellipse(l, cx, cy, (float)jnum(p, "rx", 0), (float)jnum(p, "ry", 0), &s);
        else if (s.align == CUDADRAW_ALIGN_INSIDE) /* the plain call, where it can say it */
            st = cudadraw_list_circle(l, cx, cy, (float)jnum(p, "radius", 0), s.outline_width,
                                      s.outline_color, s.fill, s.aa);
        else
            st = cudadraw_list_ellipse(l, cx, cy, (float)jnum(p, "radius", 0), (float)jnum(p, "radius", 0), &s);
    } else if (strcmp(kind, "rotated_box") == 0) {
        cudadraw_shape_style s;
        joutline(p, &s.outline_width, &s.outline_color);
        s.align = CUDADRAW_ALIGN_INSIDE;
        s.fill = jcolor(jget(p, "fill"), 0);
        s.aa = aa;
        st = cudadraw_list_rotated_box(l, jx(p, "center", 0), jx(p, "center", 1), (float)jnum(p, "width", 0),
                                       (float)jnum(p, "height", 0), (float)jnum(p, "angle", 0), &s);
    } else if (strcmp(kind, "point") == 0) {
        st = cudadraw_list_point(l, jx(p, "center", 0), jx(p, "center", 1), (float)jnum(p, "radius", 0),
                                 jcolor(jget(p, "color"), 0), aa);
    } else if (strcmp(kind, "mask") == 0) {
        uint32_t w, h, dtype;
        size_t pitch;
        void *v = jmask(jget(p, "mask"), &w, &h, &pitch, &dtype);
        cudadraw_mask_style s = {(float)jnum(p, "threshold", 0.5), jcolor(jget(p, "color"), 0),
                                 filter_code(p), jcolor(jget(p, "contour"), 0)};
        st = cudadraw_list_mask(l, jrect(p), v, w, h, pitch, dtype, &s);
        free(v);
    } else if (strcmp(kind, "classmap") == 0) {
        uint32_t w, h, dtype;
        size_t pitch;
        void *v = jmask(jget(p, "map"), &w, &h, &pitch, &dtype);
        const json *pal = jget(p, "palette");
        size_t n = pal ? pal->n : 0;
        uint32_t *colors = xrealloc(NULL, n * sizeof *colors);
        for (size_t i = 0; i < n; i++) colors[i] = jcolor(&pal->items[i], 0);
        st = cudadraw_list_class_map(l, jrect(p), v, w, h, pitch, dtype, colors, n);
        free(colors);
        free(v);
    } else {
        CHECK(false, "%s: op '%s' has no C mapping in reference_scene.c", scene, kind);
        return false;
    }
    CHECK(st == CUDADRAW_OK, "%s: %s returned %d", scene, kind, st);
    return st == CUDADRAW_OK;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Renders every tests/scenes/<name>.json through the C API on host frames over the test
 * background, compares the stacked frames with tests/reference/<scene>.png byte for
 * byte and checks that no padding byte changed. Returns the number of scenes that
 * passed; *total gets the number of scenes found. */
static int every_scene(cudadraw_renderer *r, const char *root, int *total) {
    char dir_path[4096];
    snprintf(dir_path, sizeof dir_path, "%s/tests/scenes", root);
    DIR *dir = opendir(dir_path);
    CHECK(dir != NULL, "open %s", dir_path);
    if (!dir) return 0;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            names = xrealloc(names, (n + 1) * sizeof *names);
            names[n] = xrealloc(NULL, len + 1);
            memcpy(names[n++], e->d_name, len + 1);
        }
    }
    closedir(dir);
    qsort(names, n, sizeof *names, cmp_names);
    int passed = 0;
    for (size_t s = 0; s < n; s++) {
        int failures_before = failures;
        char name[512], path[8192];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(names[s]) - 5), names[s]);
        snprintf(path, sizeof path, "%s/%s", dir_path, names[s]);
        char *text = read_file(path);
        CHECK(text != NULL, "read %s", path);
        if (!text) continue;
        jparser ps = {text, true};
        json scene;
        jvalue(&ps, &scene);
        CHECK(ps.ok && scene.t == J_OBJ, "%s: not JSON this reader understands", name);
        const json *frames = jget(&scene, "frames");
        uint32_t W = (uint32_t)jnum(&scene, "width", 160), H = (uint32_t)jnum(&scene, "height", 120);
        size_t pitch = (size_t)jnum(&scene, "pitch", (double)W * 4);
        uint32_t fmt = format_code(jstr(&scene, "format", "rgba"));
        size_t nf = frames && frames->t == J_ARR ? frames->n : 0;
        size_t len = pitch * (H - 1) + (size_t)W * 4;
        cudadraw_list **ls = xrealloc(NULL, nf * sizeof *ls);
        cudadraw_host_frame *fs = xrealloc(NULL, nf * sizeof *fs);
        uint8_t **bufs = xrealloc(NULL, nf * sizeof *bufs), **bgs = xrealloc(NULL, nf * sizeof *bgs);
        bool built = ps.ok && nf > 0;
        for (size_t i = 0; i < nf; i++) {
            CHECK(cudadraw_list_new(&ls[i]) == CUDADRAW_OK, "list_new");
            for (size_t j = 0; j < frames->items[i].n; j++)
                built &= scene_op(r, root, ls[i], &frames->items[i].items[j], name);
            CHECK(cudadraw_list_len(ls[i]) == frames->items[i].n, "%s: frame %zu: %zu ops of %zu", name, i,
                  cudadraw_list_len(ls[i]), frames->items[i].n);
            bufs[i] = xrealloc(NULL, len);
            bgs[i] = xrealloc(NULL, len);
            background_fmt(bufs[i], W, H, pitch, i, swaps_red_blue(fmt));
            memcpy(bgs[i], bufs[i], len);
            cudadraw_host_frame f = {bufs[i], {W, H, pitch, fmt}};
            fs[i] = f;
        }
        if (built) {
            cudadraw_status st = cudadraw_render_host(r, fs, nf, (const cudadraw_list *const *)ls, nf);
            CHECK(st == CUDADRAW_OK, "%s: render_host returned %d", name, st);
            if (st == CUDADRAW_OK) {
                compare_batch(root, name, bufs, nf, W, H, pitch, swaps_red_blue(fmt));
                size_t changed = 0;
                for (size_t i = 0; i < nf; i++)
                    for (size_t y = 0; y + 1 < H; y++)
                        for (size_t b = (size_t)W * 4; b < pitch; b++)
                            changed += bufs[i][y * pitch + b] != bgs[i][y * pitch + b];
                CHECK(changed == 0, "%s: %zu padding bytes written", name, changed);
            }
        }
        for (size_t i = 0; i < nf; i++) {
            cudadraw_list_free(ls[i]);
            free(bufs[i]);
            free(bgs[i]);
        }
        free(ls);
        free(fs);
        free(bufs);
        free(bgs);
        jfree(&scene);
        free(text);
        if (failures == failures_before) passed++;
        else fprintf(stderr, "scene %s: FAILED through the C API\n", name);
        free(names[s]);
    }
    free(names);
    *total = (int)n;
    return passed;
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

/* A list whose one op must be refused when rendering on `f` (CUDADRAW_ERR_INVALID_INPUT,
 * `needle` in the message) with the frame left as it was. Frees the list. */
static void refused_when_rendering(cudadraw_renderer *r, cudadraw_host_frame *f, cudadraw_list *l,
                                   const char *needle, const char *what) {
    size_t len = f->info.pitch * (f->info.height - 1) + (size_t)f->info.width * 4;
    uint8_t *before = malloc(len);
    if (!before) abort();
    memcpy(before, f->data, len);
    CHECK(cudadraw_list_len(l) == 1, "%s: %zu ops appended", what, cudadraw_list_len(l));
    const cudadraw_list *ls[1] = {l};
    cudadraw_status st = cudadraw_render_host(r, f, 1, ls, 1);
    CHECK(st == CUDADRAW_ERR_INVALID_INPUT, "%s: render returned %d, expected %d", what, st,
          CUDADRAW_ERR_INVALID_INPUT);
    CHECK(strstr(cudadraw_last_error(), needle) != NULL, "%s: message does not mention '%s'", what,
          needle);
    CHECK(memcmp(before, f->data, len) == 0, "%s: frame written despite the error", what);
    free(before);
    cudadraw_list_free(l);
}

/* A new list holding nothing yet. */
static cudadraw_list *new_list(void) {
    cudadraw_list *l = NULL;
    CHECK(cudadraw_list_new(&l) == CUDADRAW_OK && l != NULL, "list_new");
    return l;
}

/* Bad input to the shape, text and mask calls: malformed calls are
 * CUDADRAW_ERR_INVALID_ARGUMENT and append nothing; ops that fail validation are
 * CUDADRAW_ERR_INVALID_INPUT when rendering and draw nothing. */
static void bad_shapes_and_masks(cudadraw_renderer *r, cudadraw_host_frame *f) {
    cudadraw_list *l = new_list();
    const float tri[6] = {10, 10, 50, 10, 30, 40};
    const float nan_xy[4] = {10, 10, NAN, 20};
    cudadraw_line_style ls = {3, 0xff0000ffu, CUDADRAW_CAP_FLAT, 0};
    cudadraw_arrow_style as = {3, 0xff0000ffu, 18, 30, CUDADRAW_ARROW_END, 0};
    cudadraw_shape_style ss = {2, 0xff0000ffu, CUDADRAW_ALIGN_INSIDE, 0x00ff0080u, 0};
    cudadraw_text_style ts = {16, 0xffffffffu, 0, 2, CUDADRAW_FONT_DEFAULT, 1, 0x000000ffu};
    cudadraw_mask_style ms = {0.5f, 0xff000080u, CUDADRAW_FILTER_BILINEAR, 0};
    uint8_t mask[16] = {0, 255, 255, 0, 255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 255, 0};
    const uint32_t palette[2] = {0, 0x00ff00ffu};

    /* Malformed calls: NULL pointers, unknown constants, short pitches. */
    CHECK_ERR(cudadraw_list_polyline(NULL, tri, 3, 0, &ls), CUDADRAW_ERR_INVALID_ARGUMENT, "list is NULL");
    CHECK_ERR(cudadraw_list_polyline(l, NULL, 3, 0, &ls), CUDADRAW_ERR_INVALID_ARGUMENT, "xy is NULL");
    CHECK_ERR(cudadraw_list_polyline(l, tri, 3, 0, NULL), CUDADRAW_ERR_INVALID_ARGUMENT, "style is NULL");
    CHECK_ERR(cudadraw_list_polyline(l, tri, 20000, 0, &ls), CUDADRAW_ERR_INVALID_ARGUMENT, "limit 16384");
    CHECK_ERR(cudadraw_list_polygon(l, tri, 20000, 0xff0000ffu, 0, 0, 0), CUDADRAW_ERR_INVALID_ARGUMENT,
              "limit 16384");
    ls.cap = 7;
    CHECK_ERR(cudadraw_list_polyline(l, tri, 3, 0, &ls), CUDADRAW_ERR_INVALID_ARGUMENT, "unknown cap 7");
    CHECK_ERR(cudadraw_list_line_styled(l, 0, 0, 9, 9, &ls), CUDADRAW_ERR_INVALID_ARGUMENT, "unknown cap 7");
    ls.cap = CUDADRAW_CAP_ROUND;
    CHECK_ERR(cudadraw_list_line_styled(l, 0, 0, 9, 9, NULL), CUDADRAW_ERR_INVALID_ARGUMENT, "style is NULL");
    as.ends = 5;
    CHECK_ERR(cudadraw_list_arrow(l, 0, 0, 9, 9, &as), CUDADRAW_ERR_INVALID_ARGUMENT, "unknown arrow ends 5");
    as.ends = CUDADRAW_ARROW_BOTH;
    CHECK_ERR(cudadraw_list_arrow(l, 0, 0, 9, 9, NULL), CUDADRAW_ERR_INVALID_ARGUMENT, "style is NULL");
    ss.align = 9;
    CHECK_ERR(cudadraw_list_ellipse(l, 20, 20, 9, 5, &ss), CUDADRAW_ERR_INVALID_ARGUMENT, "unknown align 9");
    ss.align = CUDADRAW_ALIGN_CENTER;
    CHECK_ERR(cudadraw_list_rotated_box(l, 20, 20, 9, 5, 30, &ss), CUDADRAW_ERR_INVALID_ARGUMENT,
              "CUDADRAW_ALIGN_INSIDE");
    CHECK_ERR(cudadraw_list_ellipse(l, 20, 20, 9, 5, NULL), CUDADRAW_ERR_INVALID_ARGUMENT, "style is NULL");
    CHECK_ERR(cudadraw_list_rotated_box(l, 20, 20, 9, 5, 30, NULL), CUDADRAW_ERR_INVALID_ARGUMENT,
              "style is NULL");
    CHECK_ERR(cudadraw_list_point(NULL, 5, 5, 3, 0xff0000ffu, 0), CUDADRAW_ERR_INVALID_ARGUMENT, "list is NULL");
    CHECK_ERR(cudadraw_list_text_styled(l, 0, 0, 4, "x", &ts), CUDADRAW_ERR_INVALID_ARGUMENT, "unknown anchor 4");
    CHECK_ERR(cudadraw_list_text_styled(l, 0, 0, CUDADRAW_ANCHOR_TOP, "x", NULL), CUDADRAW_ERR_INVALID_ARGUMENT,
              "style is NULL");
    CHECK_ERR(cudadraw_list_text_styled(l, 0, 0, CUDADRAW_ANCHOR_TOP, "bad \xc3\x28", &ts),
              CUDADRAW_ERR_INVALID_ARGUMENT, "not valid UTF-8");
    CHECK_ERR(cudadraw_list_label_styled(l, rect(0, 0, 9, 9), NULL, &ts), CUDADRAW_ERR_INVALID_ARGUMENT,
              "text is NULL");
    CHECK_ERR(cudadraw_list_mask(l, rect(0, 0, 40, 40), NULL, 4, 4, 4, CUDADRAW_MASK_U8, &ms),
              CUDADRAW_ERR_INVALID_ARGUMENT, "values is NULL");
    CHECK_ERR(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 4, 4, 3, CUDADRAW_MASK_U8, &ms),
              CUDADRAW_ERR_INVALID_ARGUMENT, "pitch 3 < width 4");
    CHECK_ERR(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 2, 2, 6, CUDADRAW_MASK_F32, &ms),
              CUDADRAW_ERR_INVALID_ARGUMENT, "pitch 6 < width 2 x 4");
    CHECK_ERR(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 4, 4, 4, 9, &ms), CUDADRAW_ERR_INVALID_ARGUMENT,
              "unknown mask type 9");
    CHECK_ERR(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 4, 4, 4, CUDADRAW_MASK_U8, NULL),
              CUDADRAW_ERR_INVALID_ARGUMENT, "style is NULL");
    ms.filter = 4;
    CHECK_ERR(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 4, 4, 4, CUDADRAW_MASK_U8, &ms),
              CUDADRAW_ERR_INVALID_ARGUMENT, "unknown filter 4");
    CHECK_ERR(cudadraw_list_mask_device(l, rect(0, 0, 40, 40), 4096, 4, 4, 4, 9, &ms),
              CUDADRAW_ERR_INVALID_ARGUMENT, "unknown mask type 9");
    ms.filter = CUDADRAW_FILTER_NEAREST;
    CHECK_ERR(cudadraw_list_mask_device(l, rect(0, 0, 40, 40), 4096, 4, 4, 4, CUDADRAW_MASK_U8, NULL),
              CUDADRAW_ERR_INVALID_ARGUMENT, "style is NULL");
    CHECK_ERR(cudadraw_list_class_map(l, rect(0, 0, 40, 40), mask, 4, 4, 4, CUDADRAW_MASK_U8, NULL, 2),
              CUDADRAW_ERR_INVALID_ARGUMENT, "palette is NULL");
    CHECK_ERR(cudadraw_list_class_map(l, rect(0, 0, 40, 40), NULL, 4, 4, 4, CUDADRAW_MASK_U8, palette, 2),
              CUDADRAW_ERR_INVALID_ARGUMENT, "values is NULL");
    CHECK_ERR(cudadraw_list_class_map(l, rect(0, 0, 40, 40), mask, 4, 4, 4, 12, palette, 2),
              CUDADRAW_ERR_INVALID_ARGUMENT, "unknown mask type 12");
    CHECK_ERR(cudadraw_list_class_map_device(l, rect(0, 0, 40, 40), 4096, 4, 4, 4, CUDADRAW_MASK_U8, NULL, 2),
              CUDADRAW_ERR_INVALID_ARGUMENT, "palette is NULL");
    CHECK(cudadraw_list_len(l) == 0, "refused calls appended %zu ops", cudadraw_list_len(l));
    cudadraw_list_free(l);

    /* Well-formed calls of ops that fail validation: refused when rendering. */
    l = new_list();
    CHECK(cudadraw_list_polyline(l, nan_xy, 2, 0, &ls) == CUDADRAW_OK, "polyline");
    refused_when_rendering(r, f, l, "not a finite number", "polyline with a NaN point");
    l = new_list();
    CHECK(cudadraw_list_polyline(l, NULL, 0, 0, &ls) == CUDADRAW_OK, "polyline");
    refused_when_rendering(r, f, l, "0 points", "polyline of 0 points");
    l = new_list();
    CHECK(cudadraw_list_polygon(l, nan_xy, 2, 0xff0000ffu, 0, 0, 0) == CUDADRAW_OK, "polygon");
    refused_when_rendering(r, f, l, "points", "polygon of 2 points, one NaN");
    l = new_list();
    CHECK(cudadraw_list_polygon(l, NULL, 0, 0xff0000ffu, 0, 0, 0) == CUDADRAW_OK, "polygon");
    refused_when_rendering(r, f, l, "0 points", "polygon of 0 points");
    l = new_list();
    CHECK(cudadraw_list_line_styled(l, 0, NAN, 9, 9, &ls) == CUDADRAW_OK, "line");
    refused_when_rendering(r, f, l, "not a finite number", "line from a NaN point");
    l = new_list();
    ls.width = 0;
    CHECK(cudadraw_list_line_styled(l, 0, 0, 9, 9, &ls) == CUDADRAW_OK, "line");
    refused_when_rendering(r, f, l, "width 0", "line of width 0");
    l = new_list();
    CHECK(cudadraw_list_arrow(l, 0, 0, NAN, 9, &as) == CUDADRAW_OK, "arrow");
    refused_when_rendering(r, f, l, "not a finite number", "arrow to a NaN point");
    l = new_list();
    as.head_angle = 95;
    CHECK(cudadraw_list_arrow(l, 0, 0, 30, 9, &as) == CUDADRAW_OK, "arrow");
    refused_when_rendering(r, f, l, "95", "arrow head angle 95");
    l = new_list();
    ss.align = CUDADRAW_ALIGN_INSIDE;
    CHECK(cudadraw_list_ellipse(l, NAN, 20, 9, 5, &ss) == CUDADRAW_OK, "ellipse");
    refused_when_rendering(r, f, l, "not a finite number", "ellipse at a NaN centre");
    l = new_list();
    ss.outline_width = NAN;
    CHECK(cudadraw_list_rotated_box(l, 20, 20, 9, 5, 30, &ss) == CUDADRAW_OK, "rotated box");
    refused_when_rendering(r, f, l, "NaN", "rotated box with a NaN outline width");
    l = new_list();
    CHECK(cudadraw_list_point(l, 5, NAN, 3, 0xff0000ffu, 0) == CUDADRAW_OK, "point");
    refused_when_rendering(r, f, l, "not a finite number", "point at a NaN centre");
    l = new_list();
    ts.halo_width = 4;
    CHECK(cudadraw_list_text_styled(l, 0, 0, CUDADRAW_ANCHOR_BASELINE, "x", &ts) == CUDADRAW_OK, "text");
    refused_when_rendering(r, f, l, "halo", "text with a halo of 4 px");
    l = new_list();
    CHECK(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 4, 4, 4, CUDADRAW_MASK_I32 - 3, &ms) == CUDADRAW_OK,
          "mask");
    ms.threshold = 1.5f;
    CHECK(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 4, 4, 4, CUDADRAW_MASK_U8, &ms) == CUDADRAW_OK,
          "mask");
    CHECK(cudadraw_list_len(l) == 2, "mask list_len");
    CHECK(cudadraw_list_clear(l) == CUDADRAW_OK, "clear");
    CHECK(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 4, 4, 4, CUDADRAW_MASK_U8, &ms) == CUDADRAW_OK,
          "mask");
    refused_when_rendering(r, f, l, "threshold 1.5", "mask threshold 1.5");
    ms.threshold = 0.5f;
    l = new_list();
    CHECK(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 1, 4, 4, CUDADRAW_MASK_I32, &ms) == CUDADRAW_OK,
          "mask");
    refused_when_rendering(r, f, l, "u8, f16 or f32", "instance mask of i32 values");
    l = new_list();
    CHECK(cudadraw_list_mask(l, rect(0, 0, 40, 40), mask, 0, 4, 4, CUDADRAW_MASK_U8, &ms) == CUDADRAW_OK,
          "mask");
    refused_when_rendering(r, f, l, "mask size 0x4", "mask of width 0");
    l = new_list();
    CHECK(cudadraw_list_mask_device(l, rect(0, 0, 40, 40), 0, 4, 4, 4, CUDADRAW_MASK_F32, &ms) == CUDADRAW_OK,
          "device mask");
    refused_when_rendering(r, f, l, "device mask pointer is null", "device mask at NULL");
    l = new_list();
    CHECK(cudadraw_list_mask_device(l, rect(0, 0, 40, 40), 4096, 4, 4, 8, CUDADRAW_MASK_F32, &ms) ==
              CUDADRAW_OK, "device mask");
    refused_when_rendering(r, f, l, "pitch 8 below 4 x 4", "device mask pitch too small");
    l = new_list();
    CHECK(cudadraw_list_mask_device(l, rect(0, 0, 40, 40), 4098, 4, 4, 16, CUDADRAW_MASK_F32, &ms) ==
              CUDADRAW_OK, "device mask");
    refused_when_rendering(r, f, l, "not aligned", "device mask misaligned");
    l = new_list();
    CHECK(cudadraw_list_mask_device(l, rect(0, 0, 40, 40), 4096, 4, 4, 16, CUDADRAW_MASK_F32, &ms) ==
              CUDADRAW_OK, "device mask");
    refused_when_rendering(r, f, l, "cannot be drawn on host frames", "device mask on a host frame");
    l = new_list();
    CHECK(cudadraw_list_class_map(l, rect(0, 0, 40, 40), mask, 4, 4, 4, CUDADRAW_MASK_U8, palette, 0) ==
              CUDADRAW_OK, "class map");
    refused_when_rendering(r, f, l, "palette of 0 colours", "class map with an empty palette");
    l = new_list();
    CHECK(cudadraw_list_class_map(l, rect(0, 0, 40, 40), mask, 1, 4, 4, CUDADRAW_MASK_F32, palette, 2) ==
              CUDADRAW_OK, "class map");
    refused_when_rendering(r, f, l, "u8 or i32", "class map of f32 values");
    l = new_list();
    CHECK(cudadraw_list_class_map_device(l, rect(0, 0, 40, 40), 0, 4, 4, 4, CUDADRAW_MASK_I32, palette, 2) ==
              CUDADRAW_OK, "device class map");
    refused_when_rendering(r, f, l, "device mask pointer is null", "device class map at NULL");

    /* A host mask with a padded pitch draws what a packed one does. */
    uint8_t padded[4 * 7];
    memset(padded, 0xee, sizeof padded);
    for (size_t y = 0; y < 4; y++) memcpy(padded + y * 7, mask + y * 4, 4);
    size_t len = f->info.pitch * (f->info.height - 1) + (size_t)f->info.width * 4;
    uint8_t *a = malloc(len), *b = malloc(len);
    if (!a || !b) abort();
    memcpy(a, f->data, len);
    memcpy(b, f->data, len);
    cudadraw_list *packed = new_list(), *pitched = new_list();
    CHECK(cudadraw_list_mask(packed, rect(3, 3, 40, 30), mask, 4, 4, 4, CUDADRAW_MASK_U8, &ms) == CUDADRAW_OK,
          "mask");
    CHECK(cudadraw_list_mask(pitched, rect(3, 3, 40, 30), padded, 4, 4, 7, CUDADRAW_MASK_U8, &ms) ==
              CUDADRAW_OK, "mask");
    cudadraw_host_frame fa = {a, f->info}, fb = {b, f->info};
    const cudadraw_list *pl[1] = {packed}, *ql[1] = {pitched};
    CHECK(cudadraw_render_host(r, &fa, 1, pl, 1) == CUDADRAW_OK, "render packed mask");
    CHECK(cudadraw_render_host(r, &fb, 1, ql, 1) == CUDADRAW_OK, "render pitched mask");
    CHECK(memcmp(a, f->data, len) != 0, "the mask drew nothing");
    CHECK(memcmp(a, b, len) == 0, "a pitched mask differs from the packed one");
    cudadraw_list_free(packed);
    cudadraw_list_free(pitched);
    free(a);
    free(b);
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

    /* 0. Every reference scene, each op through its C call. */
    int total = 0, passed = every_scene(r, root, &total);
    CHECK(total > 0 && passed == total, "%d of %d scenes match", passed, total);
    printf("scenes: %d of %d rendered through the C API byte-exact, %d failed, 0 skipped\n", passed,
           total, total - passed);

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

    /* 3b. Text with the plain (unstyled) calls: tests/scenes/text_background_padding.json;
     * then a label, a line, a circle and a polygon drawn. */
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

    /* 5. Bad input to the shape, text and mask calls. */
    background(px, W, H, pitch, 0);
    bad_shapes_and_masks(r, &f);

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
