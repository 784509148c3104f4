/*
 * A test double of libnvbufsurface.so for cudadraw's CPU map path (the Jetson path).
 *
 * It implements NvBufSurfaceMap / SyncForCpu / SyncForDevice / UnMap over frames in
 * host memory (dataPtr), records every call, and fails a chosen call on demand.
 * It behaves like a non-coherent device so that the discipline is visible in the
 * pictures: Map hands out a separate CPU buffer filled with garbage; only SyncForCpu
 * copies the frame into it, only SyncForDevice copies it back, UnMap discards it.
 * A caller that skips a step therefore draws on garbage or loses its drawing.
 *
 * Frames of one plane are mapped with plane 0; frames of several planes (NV12, I420)
 * with plane -1 ("all planes", as DeepStream's headers describe it): each plane k then
 * gets its own buffer in mappedAddr.addr[k], allocated last plane first, so the
 * mappings are apart and in no particular order, as on a Jetson. Any other plane
 * argument fails.
 *
 * Layout facts (LP64, both DeepStream ABIs): NvBufSurface.numFilled @8,
 * surfaceList @24; NvBufSurfaceParams.pitch @8, height @4, dataPtr @40,
 * planeParams.num_planes @48, .height[k] @68+4k, .pitch[k] @84+4k, .offset[k]
 * @100+4k, mappedAddr.addr[k] @280+8k; the params stride (384 or 416) is set by the
 * test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { F_MAP = 0, F_SYNC_CPU = 1, F_SYNC_DEV = 2, F_UNMAP = 3, F_COUNT = 4 };

typedef struct {
    int fn, index, plane, flags;
} Call;

#define MAX_LOG 65536
static Call g_log[MAX_LOG];
static int g_len;
static int g_params_size = 384;
static int g_calls[F_COUNT];
static int g_fail_fn = -1, g_fail_nth = -1;
static int g_mapped_now;

static uint8_t *params_at(void *surf, int index) {
    uint8_t *list = *(uint8_t **)((uint8_t *)surf + 24);
    return list + (size_t)index * (size_t)g_params_size;
}

static uint32_t num_filled(void *surf) { return *(uint32_t *)((uint8_t *)surf + 8); }
static uint32_t u32_at(uint8_t *p, size_t off) { return *(uint32_t *)(p + off); }

/* Planes the frame is mapped with: 1 for packed frames, num_planes otherwise. */
static int planes_of(uint8_t *p) {
    uint32_t n = u32_at(p, 48);
    return n > 1 && n <= 4 ? (int)n : 1;
}

static size_t plane_bytes(uint8_t *p, int k) {
    if (planes_of(p) == 1) return (size_t)u32_at(p, 8) * u32_at(p, 4);
    return (size_t)u32_at(p, 84 + 4 * (size_t)k) * u32_at(p, 68 + 4 * (size_t)k);
}

static uint8_t *plane_data(uint8_t *p, int k) {
    uint8_t *base = *(uint8_t **)(p + 40);
    return planes_of(p) == 1 ? base : base + u32_at(p, 100 + 4 * (size_t)k);
}

static uint8_t **mapped_slot(uint8_t *p, int k) { return (uint8_t **)(p + 280 + 8 * (size_t)k); }

/* Records the call; returns nonzero if this call must fail. */
static int record(int fn, int index, int plane, int flags) {
    if (g_len < MAX_LOG) {
        g_log[g_len].fn = fn;
        g_log[g_len].index = index;
        g_log[g_len].plane = plane;
        g_log[g_len].flags = flags;
        g_len++;
    }
    int nth = g_calls[fn]++;
    return fn == g_fail_fn && nth == g_fail_nth;
}

static int bad_args(void *surf, int index, int plane) {
    if (surf == NULL || index < 0 || (uint32_t)index >= num_filled(surf)) return 1;
    return plane != (planes_of(params_at(surf, index)) == 1 ? 0 : -1);
}

int NvBufSurfaceMap(void *surf, int index, int plane, int flags) {
    if (record(F_MAP, index, plane, flags) || bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    int n = planes_of(p);
    for (int k = 0; k < n; k++)
        if (*mapped_slot(p, k) != NULL) return -1; /* mapped twice */
    for (int k = n - 1; k >= 0; k--) {
        size_t bytes = plane_bytes(p, k);
        uint8_t *cpu = malloc(bytes ? bytes : 1);
        if (cpu == NULL) {
            for (int j = n - 1; j > k; j--) {
                free(*mapped_slot(p, j));
                *mapped_slot(p, j) = NULL;
            }
            return -1;
        }
        memset(cpu, 0xCD, bytes); /* stale cache: visible if SyncForCpu is skipped */
        *mapped_slot(p, k) = cpu;
    }
    g_mapped_now++;
    return 0;
}

int NvBufSurfaceSyncForCpu(void *surf, int index, int plane) {
    if (record(F_SYNC_CPU, index, plane, -1) || bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    for (int k = 0; k < planes_of(p); k++) {
        if (*mapped_slot(p, k) == NULL) return -1;
        memcpy(*mapped_slot(p, k), plane_data(p, k), plane_bytes(p, k));
    }
    return 0;
}

int NvBufSurfaceSyncForDevice(void *surf, int index, int plane) {
    if (record(F_SYNC_DEV, index, plane, -1) || bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    for (int k = 0; k < planes_of(p); k++) {
        if (*mapped_slot(p, k) == NULL) return -1;
        memcpy(plane_data(p, k), *mapped_slot(p, k), plane_bytes(p, k));
    }
    return 0;
}

int NvBufSurfaceUnMap(void *surf, int index, int plane) {
    int fail = record(F_UNMAP, index, plane, -1);
    if (bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    if (*mapped_slot(p, 0) == NULL) return -1;
    /* Like the real library, the mapping is released even when reporting failure. */
    for (int k = 0; k < planes_of(p); k++) {
        free(*mapped_slot(p, k));
        *mapped_slot(p, k) = NULL;
    }
    g_mapped_now--;
    return fail ? -1 : 0;
}

/* ---- control and inspection, for the tests ---- */

void cdd_reset(int params_size) {
    g_len = 0;
    memset(g_calls, 0, sizeof g_calls);
    g_fail_fn = -1;
    g_fail_nth = -1;
    g_params_size = params_size;
}

/* Makes the nth (0-based) call of function fn fail. */
void cdd_fail(int fn, int nth) {
    g_fail_fn = fn;
    g_fail_nth = nth;
}

int cdd_log_len(void) { return g_len; }

void cdd_log_entry(int i, int *fn, int *index, int *plane, int *flags) {
    *fn = g_log[i].fn;
    *index = g_log[i].index;
    *plane = g_log[i].plane;
    *flags = g_log[i].flags;
}

int cdd_mapped_now(void) { return g_mapped_now; }
