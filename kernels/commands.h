// Structs shared by the Rust host code and the CUDA kernels. This header is the
// single definition: build.rs runs bindgen on it to produce src/cuda/commands.rs's
// Rust side, and layout assertions pin both. Keep every struct plain-old-data with
// explicit padding so host and device agree byte for byte.
#ifndef CUDADRAW_COMMANDS_H
#define CUDADRAW_COMMANDS_H

#include <stdint.h>

// Operation codes of CdCmd::op.
#define CD_OP_RECT 1        // outline and/or fill of a box
#define CD_OP_BLUR_BOX 2    // box blur, param = radius
#define CD_OP_BLUR_GAUSS 3  // separable gaussian, param = radius, aux = offset in weight table
#define CD_OP_PIXELATE 4    // cell means, param = block size
#define CD_OP_SOLID 5       // opaque fill of the region with `color` (redaction)
#define CD_OP_OVERLAY 6     // RGBA image blend, param = image slot, aux = alpha multiplier | filter << 16
#define CD_OP_TEXT 7        // one layer of a text op: coverage = max over its glyphs (CdGlyph) of
                            // their atlas bytes; param = first glyph, aux = glyph count,
                            // color = colour (alpha a blends as (a * coverage + 127) / 255)
#define CD_OP_SHAPE 8       // one layer of a shape op: param = its CdShape; color = colour
#define CD_OP_MASK 9        // instance mask: param = its CdMask, inner = destination box,
                            // aux = threshold (16-bit) | CD_MASK_* flags; color = colour
#define CD_OP_CLASSMAP 10   // class map: param = its CdMask (class ids), inner = destination,
                            // aux = first palette entry; colours per class from the palette

// Overlay filters (bits 16.. of CdCmd::aux for CD_OP_OVERLAY).
#define CD_FILTER_NEAREST 0
#define CD_FILTER_BILINEAR 1

// Pixel formats of CdFrame::format: byte order in memory.
#define CD_FMT_RGBA 0
#define CD_FMT_BGRA 1
#define CD_FMT_RGBX 2
#define CD_FMT_BGRX 3

// Gaussian weights are Q16 fixed point summing to exactly 1 << CD_GAUSS_SHIFT.
#define CD_GAUSS_SHIFT 16

// Parameter limits: validation (src/draw) enforces them, the kernels and the CPU
// renderer size their windows and checks by them. Defined here only.
#define CD_MAX_BOX_RADIUS 127     // box blur radius (window 2r + 1)
#define CD_MAX_GAUSS_RADIUS 96    // gaussian radius ceil(3 sigma), sigma <= 32
#define CD_MAX_BORDER_WIDTH 1024  // box outline width
#define CD_MAX_PIXELATE_BLOCK 1024
#define CD_MAX_EXPAND 4096        // blur expand, pixels per side
#define CD_MIN_TEXT_SIZE 6        // text pixel size (em), inclusive range
#define CD_MAX_TEXT_SIZE 256
#define CD_MAX_TEXT_BYTES 16384   // UTF-8 bytes of one text op
#define CD_MAX_HALO 3             // text outline (halo) width, pixels
#define CD_FIX_SHIFT 8            // shape geometry is fixed point, 1/256 px
#define CD_MAX_SHAPE_EDGES 65536  // edges of one shape layer (a 16000-vertex polygon's)
#define CD_BAND_H 64              // rows per edge band of a large shape
#define CD_BAND_MIN_EDGES 16      // shapes with more edges (or discs) are banded

// CdShape::kind
#define CD_SHAPE_POLY 0     // non-zero winding of the edges, united with the discs
#define CD_SHAPE_ELLIPSE 1  // inside the outer ellipse and not inside the inner one
// CdShape::flags
#define CD_SHAPE_AA 1       // coverage = (n * 255 + 8) / 16 of 4 x 4 samples, else 0 or 255
#define CD_SHAPE_CONVEX 2   // one convex polygon (its edges in order): warps outside it skip it
#define CD_NO_BANDS 0xffffffffu

// CdMask::dtype: how the mask's values are stored. Host masks are converted on the host
// to U16 (the batch's mask data); device masks are read where the caller keeps them.
#define CD_MASK_U16 0 // 0..=65535, the fixed point every mask is sampled in
#define CD_MASK_U8 1  // 0..=255 -> v * 257
#define CD_MASK_F16 2 // IEEE half, clamped to [0, 1] -> round(v * 65535), ties to even
#define CD_MASK_F32 3 // IEEE single, likewise
#define CD_MASK_I32 4 // class ids (class maps only)
// Flags in bits 16.. of a CD_OP_MASK command's aux.
#define CD_MASK_BILINEAR (1u << 16)
#define CD_MASK_CONTOUR (1u << 17) // this layer: pixels inside with a 4-neighbour outside
#define CD_MASK_NO_CONTOUR (1u << 18) // this layer: pixels inside without (fill under a contour)
#define CD_MAX_MASK_SIDE 8192
#define CD_MAX_PALETTE 1024
#define CD_NO_SHAPE 0xffffffffu

// Launch geometry: the host planner (src/cuda/plan.rs) splits work by it, the kernels
// index by it. Defined here only.
#define CD_TILE_W 64   // composite tile
#define CD_TILE_H 64
#define CD_THREADS 256 // threads per block of every kernel
#define CD_B1_W 64     // outputs per block of blur pass 1
#define CD_B1_H 16
#define CD_B2_W 64     // outputs per block of blur pass 2
#define CD_B2_H 32
#define CD_PLANAR_TILE 16 // chroma samples per side of a planar composite block
#define CD_PLANAR_RUN 8   // consecutive samples per thread of a planar box blur pass

// A half-open pixel rectangle [x0, x1) x [y0, y1). Empty when x1 <= x0 or y1 <= y0.
typedef struct CdRegion {
    int32_t x0;
    int32_t y0;
    int32_t x1;
    int32_t y1;
} CdRegion;

// One resolved draw command: geometry already rounded and clipped on the host, so
// every backend sees the same integers. 56 bytes.
typedef struct CdCmd {
    uint32_t op;      // CD_OP_*
    uint32_t param;   // see CD_OP_*
    CdRegion clip;    // every pixel the command may write, clipped to the frame, never empty
    CdRegion inner;   // RECT: pixels inside get `fill`, the rest of `clip` gets `color`.
                      // OVERLAY: the unclipped destination rectangle D (scaling reference).
    uint8_t color[4]; // RECT: outline colour; SOLID: colour. Bytes 0..2 in the frame's
                      // byte order, byte 3 the straight alpha used for blending.
    uint8_t fill[4];  // RECT: fill colour, same layout; alpha 0 = no fill
    uint32_t aux;     // see CD_OP_*
    uint32_t reserved;
} CdCmd;

// One frame of a batch as the kernels see it.
typedef struct CdFrame {
    uint64_t ptr;        // device address of pixel (0, 0)
    uint32_t pitch;      // bytes between rows
    int32_t width;
    int32_t height;
    uint32_t format;     // CD_FMT_*
    uint32_t cmd_offset; // first command of this frame in the batch's command array
    uint32_t cmd_count;
} CdFrame;

// An overlay image in device memory: tightly packed straight-alpha RGBA.
typedef struct CdImage {
    uint64_t ptr;
    int32_t width;
    int32_t height;
} CdImage;

// One blur job of a phase (CUDA backend): a box, gaussian or pixelate command whose
// region is blurred by the two blur passes straight into the frame. `block1`/`block2`
// are the job's first block in each pass's grid; `scratch` the byte offset of its
// intermediate data in the phase's scratch buffer. 24 bytes.
typedef struct CdBlurJob {
    uint32_t cmd;     // index into the batch's command array
    uint32_t frame;   // index into the batch's frame array
    uint32_t block1;  // first block of this job in pass 1
    uint32_t block2;  // first block of this job in pass 2
    uint64_t scratch; // byte offset in scratch
} CdBlurJob;

// One 64 x 64 tile (or, with `tile` unused, one frame row) of a composite launch:
// frame index, tile index in the frame (row-major), and the phase's command range of
// that frame [start, end). With CD_TILE_BINNED set in `tile`, [start, end) ranges over
// the batch's bins (command indices of the commands that may change this tile, in
// list order) instead of the commands. 16 bytes.
#define CD_TILE_BINNED 0x80000000u
typedef struct CdTileItem {
    uint32_t frame;
    uint32_t tile;
    uint32_t start;
    uint32_t end;
} CdTileItem;

// One glyph of a text layer (CD_OP_TEXT): its coverage mask is the w x h bytes at
// byte offset `atlas` of the glyph atlas (row-major, w bytes per row), placed with its
// top-left pixel at frame position (x, y) (may lie outside the frame). 16 bytes.
typedef struct CdGlyph {
    int32_t x;
    int32_t y;
    uint16_t w;
    uint16_t h;
    uint32_t atlas;
} CdGlyph;

// One layer of a shape (CD_OP_SHAPE). Geometry in 1/256 px, frame coordinates.
// POLY: a pixel sample is covered when the non-zero winding number of its edges is
// non-zero, or it lies in one of its discs. With bands (band != CD_NO_BANDS), band k
// (frame rows [band_y0 + 64 k, band_y0 + 64 (k + 1))) lists the edges and discs that
// can matter there. ELLIPSE: e = cx, cy, rx, ry, irx, iry (inner radii 0: solid).
// `minus`: another layer of the same op whose coverage is taken out of this one (a
// fill under its outline: each pixel blended once per op), or CD_NO_SHAPE. 64 bytes.
typedef struct CdShape {
    uint32_t kind;
    uint32_t flags;
    uint32_t edge_start; // CdEdge range (all edges of the layer)
    uint32_t edge_count;
    uint32_t disc_start; // CdDisc range
    uint32_t disc_count;
    uint32_t band;       // first CdBand of the layer, or CD_NO_BANDS
    uint32_t band_count;
    int32_t band_y0;
    uint32_t minus;
    int32_t e[6];
} CdShape;

// A directed edge (x0, y0) -> (x1, y1), y0 != y1; +1 to the winding when going down.
typedef struct CdEdge {
    int32_t x0;
    int32_t y0;
    int32_t x1;
    int32_t y1;
} CdEdge;

// A disc: centre and radius; a sample is inside when dx^2 + dy^2 <= r^2.
typedef struct CdDisc {
    int32_t cx;
    int32_t cy;
    int32_t r;
    int32_t reserved;
} CdDisc;

// The edges and discs of one band: index ranges into the batch's band item array
// (each item an index into the CdEdge / CdDisc arrays). 16 bytes.
typedef struct CdBand {
    uint32_t edge_start;
    uint32_t edge_count;
    uint32_t disc_start;
    uint32_t disc_count;
} CdBand;

// A mask or class map: width x height values, rows `pitch` bytes apart. `ptr` is a device
// address (device masks), or (host masks, `host` = 1) a byte offset into the batch's mask
// data, which the kernels add to that array's address. 32 bytes.
typedef struct CdMask {
    uint64_t ptr;
    uint32_t pitch;
    int32_t width;
    int32_t height;
    uint32_t dtype;
    uint32_t host;
    uint32_t classes; // class maps: palette entries (ids 0..classes), else 0
} CdMask;

// One NV12 or I420 frame of a batch (kernels/planar.cu). Chroma sample (i, j) of plane
// Cb is at cb + j * cb_pitch + i * c_step (NV12: cb = the UV plane, cr = cb + 1, step 2;
// I420: the U and V planes, step 1). coef / offset: the frame's Y'CbCr conversion, rows
// Y', Cb, Cr of columns R, G, B in Q16 (src/planar.rs YuvConv). 104 bytes.
typedef struct CdPlanar {
    uint64_t y;
    uint64_t cb;
    uint64_t cr;
    uint32_t y_pitch;
    uint32_t cb_pitch;
    uint32_t cr_pitch;
    uint32_t c_step;
    int32_t width;
    int32_t height;
    uint32_t cmd_offset;
    uint32_t cmd_count;
    int32_t coef[9];
    int32_t offset[3];
} CdPlanar;

// One plane of one blur, pixelate command of a planar phase (kernels/planar.cu): its
// region in that plane's samples, the box radius or gaussian radius and weights, and
// for pixelate the luma region its cells are laid on. 72 bytes.
typedef struct CdPlaneJob {
    uint32_t cmd;     // index into the batch's command array
    uint32_t frame;   // index into the batch's CdPlanar array
    uint32_t plane;   // 0 Y', 1 Cb, 2 Cr
    uint32_t radius;  // box / gaussian radius in this plane's samples
    CdRegion region;  // this plane's samples
    CdRegion luma;    // pixelate: the luma region (cells of `param` luma pixels)
    uint32_t weights; // gaussian: first of the 2 radius + 1 weights in the weight table
    uint32_t block1;  // first block of this job in pass 1
    uint32_t block2;  // first block of this job in pass 2
    uint32_t reserved;
    uint64_t scratch; // byte offset in scratch
} CdPlaneJob;

// Where a batch's shape arrays are in device memory (a kernel argument, by value).
typedef struct CdShapeData {
    uint64_t shapes;  // CdShape[]
    uint64_t edges;   // CdEdge[]
    uint64_t discs;   // CdDisc[]
    uint64_t bands;   // CdBand[]
    uint64_t items;   // uint32_t[]: band items
    uint64_t masks;   // CdMask[]
    uint64_t data;    // the host masks' values (uint16_t) and class ids, by byte offset
    uint64_t palette; // uint32_t[]: class map colours, frame byte order, byte 3 alpha
} CdShapeData;

#endif
