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
 * Layout facts (LP64, both DeepStream ABIs): NvBufSurface.numFilled @8,
 * surfaceList @24; NvBufSurfaceParams.pitch @8, height @4, dataPtr @40,
 * mappedAddr.addr[0] @280; the params stride (384 or 416) is set by the test.
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

static size_t plane_bytes(uint8_t *p) {
    uint32_t height = *(uint32_t *)(p + 4);
    uint32_t pitch = *(uint32_t *)(p + 8);
    return (size_t)pitch * height;
}

static uint8_t **mapped_slot(uint8_t *p) { return (uint8_t **)(p + 280); }
static uint8_t *data_ptr(uint8_t *p) { return *(uint8_t **)(p + 40); }

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
    return surf == NULL || plane != 0 || index < 0 || (uint32_t)index >= num_filled(surf);
}

int NvBufSurfaceMap(void *surf, int index, int plane, int flags) {
    if (record(F_MAP, index, plane, flags) || bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    if (*mapped_slot(p) != NULL) return -1; /* mapped twice */
    size_t n = plane_bytes(p);
    uint8_t *cpu = malloc(n ? n : 1);
    if (cpu == NULL) return -1;
    memset(cpu, 0xCD, n); /* stale cache: visible if SyncForCpu is skipped */
    *mapped_slot(p) = cpu;
    g_mapped_now++;
    return 0;
}

int NvBufSurfaceSyncForCpu(void *surf, int index, int plane) {
    if (record(F_SYNC_CPU, index, plane, -1) || bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    if (*mapped_slot(p) == NULL) return -1;
    memcpy(*mapped_slot(p), data_ptr(p), plane_bytes(p));
    return 0;
}

int NvBufSurfaceSyncForDevice(void *surf, int index, int plane) {
    if (record(F_SYNC_DEV, index, plane, -1) || bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    if (*mapped_slot(p) == NULL) return -1;
    memcpy(data_ptr(p), *mapped_slot(p), plane_bytes(p));
    return 0;
}

int NvBufSurfaceUnMap(void *surf, int index, int plane) {
    int fail = record(F_UNMAP, index, plane, -1);
    if (bad_args(surf, index, plane)) return -1;
    uint8_t *p = params_at(surf, index);
    if (*mapped_slot(p) == NULL) return -1;
    /* Like the real library, the mapping is released even when reporting failure. */
    free(*mapped_slot(p));
    *mapped_slot(p) = NULL;
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
