/*
 * cudadraw from C: boxes, a blur and a logo on a frame in host memory, written as a
 * PPM picture; and, in on_nvmm_buffer(), the call a DeepStream plugin (gst-dsexample
 * style transform_ip) makes on its NvBufSurface batch.
 *
 *   cc -std=c11 draw.c -I../include -L../../target/release -lcudadraw -o draw
 *   ./draw out.ppm [logo.png]
 */
#include <stdio.h>
#include <stdlib.h>

#include "cudadraw.h"

#define TRY(call)                                                                  \
    do {                                                                           \
        if ((call) != CUDADRAW_OK) {                                               \
            fprintf(stderr, "%s: %s\n", #call, cudadraw_last_error());             \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

/* In a DeepStream plugin: `surface` is (NvBufSurface *) map.data of the mapped NVMM
 * GstBuffer; one list per filled frame (here the same list for every frame). The
 * frames stay in GPU memory: nothing is copied to the host. */
int on_nvmm_buffer(cudadraw_renderer *r, void *surface, const cudadraw_list *per_frame,
                   size_t num_filled);
int on_nvmm_buffer(cudadraw_renderer *r, void *surface, const cudadraw_list *per_frame,
                   size_t num_filled) {
    const cudadraw_list *lists[64];
    if (num_filled > 64) return -1;
    for (size_t i = 0; i < num_filled; i++) lists[i] = per_frame;
    if (cudadraw_render_nvbufsurface(r, surface, CUDADRAW_NVMM_ABI_AUTO, lists, num_filled) !=
        CUDADRAW_OK) {
        /* Nothing was drawn; the buffer can go on unchanged. */
        fprintf(stderr, "cudadraw: %s\n", cudadraw_last_error());
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const uint32_t w = 320, h = 180;
    uint8_t *pixels = calloc((size_t)w * h, 4);
    if (!pixels) return 1;
    for (size_t i = 0; i < (size_t)w * h; i++) { /* a grey gradient */
        pixels[4 * i] = pixels[4 * i + 1] = pixels[4 * i + 2] = (uint8_t)(i % w * 255 / w);
        pixels[4 * i + 3] = 255;
    }

    cudadraw_renderer *r = NULL;
    cudadraw_list *list = NULL;
    TRY(cudadraw_renderer_new(&r));
    TRY(cudadraw_list_new(&list));

    cudadraw_rect face = {40, 30, 80, 80}, plate = {180, 110, 100, 30}, logo_at = {250, 10, 60, 60};
    TRY(cudadraw_list_blur_pixelate(list, face, 12, 4));
    TRY(cudadraw_list_outline(list, face, 3, 0xff3030ffu, CUDADRAW_ALIGN_OUTSIDE));
    TRY(cudadraw_list_blur_solid(list, plate, 0x000000ffu, 0));
    TRY(cudadraw_list_box(list, (cudadraw_rect){170, 100, 120, 50}, 2, 0xffc800ffu,
                          CUDADRAW_ALIGN_CENTER, 0xffc80040u));
    if (argc > 2) {
        uint32_t logo;
        TRY(cudadraw_image_add_png_file(r, argv[2], &logo));
        TRY(cudadraw_list_overlay(list, logo, logo_at, 0.85f, CUDADRAW_FILTER_BILINEAR));
    }

    cudadraw_host_frame frame = {pixels, {w, h, (size_t)w * 4, CUDADRAW_FORMAT_RGBA}};
    const cudadraw_list *lists[1] = {list};
    TRY(cudadraw_render_host(r, &frame, 1, lists, 1));

    if (argc > 1) {
        FILE *f = fopen(argv[1], "wb");
        if (!f) return 1;
        fprintf(f, "P6\n%u %u\n255\n", w, h);
        for (size_t i = 0; i < (size_t)w * h; i++) fwrite(pixels + 4 * i, 1, 3, f);
        fclose(f);
    }
    printf("drawn %zu ops (cudadraw %s, CUDA %s)\n", cudadraw_list_len(list), cudadraw_version(),
           cudadraw_cuda_available() ? "available" : "not available");
    cudadraw_list_free(list);
    cudadraw_renderer_free(r);
    free(pixels);
    return 0;
}
