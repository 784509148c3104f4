"""The C API (libcudadraw.so) through ctypes: the structures of capi/include/cudadraw.h,
the argument and result types of every function, and c_lists, which builds a reference
scene's draw lists op by op through the C list functions (the mapping of
capi/tests/reference_scene.c). Shared by the host test (test_capi_host.py: rendered
with cudadraw_render_host against the reference pictures) and the GPU check
(python/gpu/check.py: cudadraw_render_device and friends), so no pytest import here."""

import ctypes
import json

import numpy as np

from scenes import values

c_u32, c_i32, c_f32, c_size, c_ptr = (ctypes.c_uint32, ctypes.c_int32, ctypes.c_float,
                                     ctypes.c_size_t, ctypes.c_void_p)


class FrameInfo(ctypes.Structure):
    _fields_ = [("width", c_u32), ("height", c_u32), ("pitch", c_size), ("format", c_u32)]


class HostFrame(ctypes.Structure):
    _fields_ = [("data", c_ptr), ("info", FrameInfo)]


class DeviceFrame(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_uint64), ("gpu_id", c_u32), ("info", FrameInfo)]


class CRect(ctypes.Structure):
    _fields_ = [("left", c_f32), ("top", c_f32), ("width", c_f32), ("height", c_f32)]


class TextStyle(ctypes.Structure):
    _fields_ = [("size", c_u32), ("color", c_u32), ("background", c_u32), ("padding", c_u32),
                ("font", c_u32), ("halo_width", c_u32), ("halo_color", c_u32)]


class LineStyle(ctypes.Structure):
    _fields_ = [("width", c_f32), ("color", c_u32), ("cap", c_u32), ("aa", c_i32)]


class ArrowStyle(ctypes.Structure):
    _fields_ = [("width", c_f32), ("color", c_u32), ("head_length", c_f32),
                ("head_angle", c_f32), ("ends", c_u32), ("aa", c_i32)]


class ShapeStyle(ctypes.Structure):
    _fields_ = [("outline_width", c_f32), ("outline_color", c_u32), ("align", c_u32),
                ("fill", c_u32), ("aa", c_i32)]


class MaskStyle(ctypes.Structure):
    _fields_ = [("threshold", c_f32), ("color", c_u32), ("filter", c_u32), ("contour", c_u32)]


C_FORMATS = {"rgba": 0, "bgra": 1, "rgbx": 2, "bgrx": 3}
C_ALIGN = {"inside": 0, "center": 1, "outside": 2}
C_FILTER = {"bilinear": 0, "nearest": 1}
C_CAP = {"flat": 0, "round": 1}
C_ENDS = {"end": 0, "start": 1, "both": 2}
C_ANCHOR = {"top": 0, "baseline": 1}
C_MASK = {"u8": 0, "f16": 1, "f32": 2, "i32": 3}

P = ctypes.POINTER
_R = CRect
# Every function's argument types (the result is cudadraw_status unless listed below).
SIGNATURES = {
    "cudadraw_renderer_new": [P(c_ptr)],
    "cudadraw_renderer_free": [c_ptr],
    "cudadraw_renderer_wait": [c_ptr],
    "cudadraw_image_add_png_file": [c_ptr, ctypes.c_char_p, P(c_u32)],
    "cudadraw_font_add_file": [c_ptr, ctypes.c_char_p, c_u32, P(c_u32)],
    "cudadraw_list_new": [P(c_ptr)],
    "cudadraw_list_free": [c_ptr],
    "cudadraw_list_len": [c_ptr],
    "cudadraw_list_outline": [c_ptr, _R, c_u32, c_u32, c_u32],
    "cudadraw_list_fill": [c_ptr, _R, c_u32],
    "cudadraw_list_box": [c_ptr, _R, c_u32, c_u32, c_u32, c_u32],
    "cudadraw_list_blur_box": [c_ptr, _R, c_u32, c_f32],
    "cudadraw_list_blur_gaussian": [c_ptr, _R, c_f32, c_f32],
    "cudadraw_list_blur_pixelate": [c_ptr, _R, c_u32, c_f32],
    "cudadraw_list_blur_solid": [c_ptr, _R, c_u32, c_f32],
    "cudadraw_list_overlay": [c_ptr, c_u32, _R, c_f32, c_u32],
    "cudadraw_list_text_styled": [c_ptr, c_f32, c_f32, c_u32, ctypes.c_char_p, P(TextStyle)],
    "cudadraw_list_label_styled": [c_ptr, _R, ctypes.c_char_p, P(TextStyle)],
    "cudadraw_list_line": [c_ptr, c_f32, c_f32, c_f32, c_f32, c_f32, c_u32, c_i32],
    "cudadraw_list_line_styled": [c_ptr, c_f32, c_f32, c_f32, c_f32, P(LineStyle)],
    "cudadraw_list_polyline": [c_ptr, P(c_f32), c_size, c_i32, P(LineStyle)],
    "cudadraw_list_polygon": [c_ptr, P(c_f32), c_size, c_u32, c_f32, c_u32, c_i32],
    "cudadraw_list_arrow": [c_ptr, c_f32, c_f32, c_f32, c_f32, P(ArrowStyle)],
    "cudadraw_list_circle": [c_ptr, c_f32, c_f32, c_f32, c_f32, c_u32, c_u32, c_i32],
    "cudadraw_list_ellipse": [c_ptr, c_f32, c_f32, c_f32, c_f32, P(ShapeStyle)],
    "cudadraw_list_rotated_box": [c_ptr, c_f32, c_f32, c_f32, c_f32, c_f32, P(ShapeStyle)],
    "cudadraw_list_point": [c_ptr, c_f32, c_f32, c_f32, c_u32, c_i32],
    "cudadraw_list_mask": [c_ptr, _R, c_ptr, c_u32, c_u32, c_size, c_u32, P(MaskStyle)],
    "cudadraw_list_mask_device": [c_ptr, _R, ctypes.c_uint64, c_u32, c_u32, c_size, c_u32,
                                  P(MaskStyle)],
    "cudadraw_list_class_map": [c_ptr, _R, c_ptr, c_u32, c_u32, c_size, c_u32, P(c_u32), c_size],
    "cudadraw_render_host": [c_ptr, P(HostFrame), c_size, P(c_ptr), c_size],
    "cudadraw_render_device": [c_ptr, P(DeviceFrame), c_size, P(c_ptr), c_size],
    "cudadraw_render_device_on_stream": [c_ptr, P(DeviceFrame), c_size, P(c_ptr), c_size, c_ptr],
    "cudadraw_render_nvbufsurface": [c_ptr, c_ptr, c_u32, P(c_ptr), c_size],
}
RESULTS = {"cudadraw_renderer_free": None, "cudadraw_list_free": None,
           "cudadraw_list_len": c_size, "cudadraw_last_error": ctypes.c_char_p}


def load(path):
    """libcudadraw.so at `path` with every signature set (ctypes then converts and checks
    the arguments: a float where a float is expected, a structure by value)."""
    lib = ctypes.CDLL(str(path))
    lib.cudadraw_last_error.argtypes = []
    for name, args in SIGNATURES.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = RESULTS.get(name, c_i32)
    for name, res in RESULTS.items():
        getattr(lib, name).restype = res
    return lib


def c_ok(lib, status, what):
    if status != 0:
        raise AssertionError(f"{what}: status {status}: {lib.cudadraw_last_error().decode()}")


def c_color(c, default=0):
    """A scene colour [r, g, b, a] as 0xRRGGBBAA (`default` when absent)."""
    if c is None:
        return default
    c = list(c) + [255] * (4 - len(c))
    return (c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3]


def c_points(points):
    xy = (c_f32 * (2 * len(points)))(*[v for q in points for v in q])
    return xy, len(points)


def c_outline(p):
    o = p.get("outline")
    return (o["width"], c_color(o["color"])) if o else (0.0, 0)


def c_rect(p):
    return CRect(p["left"], p["top"], p["width"], p["height"])


class Handles:
    """Images and fonts registered with one renderer, by scene-relative path."""

    def __init__(self, lib, renderer):
        self.lib, self.renderer, self.ids = lib, renderer, {}

    def get(self, base, name, index=None):
        key = (name, index)
        if key not in self.ids:
            out = c_u32()
            path = str(base / name).encode()
            if index is None:
                st = self.lib.cudadraw_image_add_png_file(self.renderer, path, ctypes.byref(out))
            else:
                st = self.lib.cudadraw_font_add_file(self.renderer, path, index, ctypes.byref(out))
            c_ok(self.lib, st, f"register {name}")
            self.ids[key] = out.value
        return self.ids[key]


def c_text_style(p, handles, base):
    halo = p.get("halo") or {}
    font = 0
    if "font" in p:
        font = handles.get(base, p["font"], p.get("font_index", 0))
    return TextStyle(p.get("size", 16), c_color(p.get("color"), 0xFFFFFFFF),
                     c_color(p.get("background")), p.get("padding", 2), font,
                     halo.get("width", 0), c_color(halo.get("color")))


def c_mask(spec):
    """Scene mask values as a C-contiguous array (converted as src/draw/scene.rs does),
    its pointer, size, pitch and CUDADRAW_MASK_* type; keep the array alive for the call."""
    a = np.ascontiguousarray(values(spec))
    return a, a.ctypes.data, spec["width"], spec["height"], a.strides[0], C_MASK[spec["type"]]


def c_op(lib, l, kind, p, handles, base):
    """One scene op through its C call; returns the status."""
    aa = int(bool(p.get("aa", False)))
    if kind == "rect":
        b, fill = p.get("border"), p.get("fill")
        if b and fill is not None:
            return lib.cudadraw_list_box(l, c_rect(p), b["width"], c_color(b["color"]),
                                         C_ALIGN[b.get("align", "inside")], c_color(fill))
        if b:
            return lib.cudadraw_list_outline(l, c_rect(p), b["width"], c_color(b["color"]),
                                             C_ALIGN[b.get("align", "inside")])
        if fill is not None:
            return lib.cudadraw_list_fill(l, c_rect(p), c_color(fill))
        return lib.cudadraw_list_box(l, c_rect(p), 0, 0, 0, 0)
    if kind == "blur":
        (k, kp), = p["kind"].items()
        e = p.get("expand", 0.0)
        return {
            "box": lambda: lib.cudadraw_list_blur_box(l, c_rect(p), kp["radius"], e),
            "gaussian": lambda: lib.cudadraw_list_blur_gaussian(l, c_rect(p), kp["sigma"], e),
            "pixelate": lambda: lib.cudadraw_list_blur_pixelate(l, c_rect(p), kp["block"], e),
            "solid": lambda: lib.cudadraw_list_blur_solid(l, c_rect(p), c_color(kp["color"]), e),
        }[k]()
    if kind == "overlay":
        return lib.cudadraw_list_overlay(l, handles.get(base, p["image"]), c_rect(p),
                                         p.get("opacity", 1.0),
                                         C_FILTER[p.get("filter", "bilinear")])
    if kind == "text":
        return lib.cudadraw_list_text_styled(l, p["x"], p["y"], C_ANCHOR[p.get("anchor", "top")],
                                             p["text"].encode(),
                                             ctypes.byref(c_text_style(p, handles, base)))
    if kind == "label":
        return lib.cudadraw_list_label_styled(l, c_rect(p), p["text"].encode(),
                                              ctypes.byref(c_text_style(p, handles, base)))
    if kind == "line":
        (x0, y0), (x1, y1) = p["from"], p["to"]
        s = LineStyle(p["width"], c_color(p["color"]), C_CAP[p.get("cap", "flat")], aa)
        return lib.cudadraw_list_line_styled(l, x0, y0, x1, y1, ctypes.byref(s))
    if kind == "polyline":
        xy, n = c_points(p["points"])
        s = LineStyle(p["width"], c_color(p["color"]), C_CAP[p.get("cap", "flat")], aa)
        return lib.cudadraw_list_polyline(l, xy, n, int(bool(p.get("closed", False))),
                                          ctypes.byref(s))
    if kind == "polygon":
        xy, n = c_points(p["points"])
        ow, oc = c_outline(p)
        return lib.cudadraw_list_polygon(l, xy, n, c_color(p.get("fill")), ow, oc, aa)
    if kind == "arrow":
        (x0, y0), (x1, y1) = p["from"], p["to"]
        hl = p.get("head_length")
        s = ArrowStyle(p["width"], c_color(p["color"]),
                       4.0 * p["width"] + 6.0 if hl is None else hl,
                       p.get("head_angle", 30.0), C_ENDS[p.get("ends", "end")], aa)
        return lib.cudadraw_list_arrow(l, x0, y0, x1, y1, ctypes.byref(s))
    if kind in ("circle", "ellipse"):
        ow, oc = c_outline(p)
        s = ShapeStyle(ow, oc, C_ALIGN[p.get("align", "inside")], c_color(p.get("fill")), aa)
        rx, ry = (p["radius"], p["radius"]) if kind == "circle" else (p["rx"], p["ry"])
        (cx, cy) = p["center"]
        return lib.cudadraw_list_ellipse(l, cx, cy, rx, ry, ctypes.byref(s))
    if kind == "rotated_box":
        ow, oc = c_outline(p)
        s = ShapeStyle(ow, oc, C_ALIGN["inside"], c_color(p.get("fill")), aa)
        (cx, cy) = p["center"]
        return lib.cudadraw_list_rotated_box(l, cx, cy, p["width"], p["height"],
                                             p.get("angle", 0.0), ctypes.byref(s))
    if kind == "point":
        (cx, cy) = p["center"]
        return lib.cudadraw_list_point(l, cx, cy, p["radius"], c_color(p["color"]), aa)
    if kind == "mask":
        a, ptr, w, h, pitch, dtype = c_mask(p["mask"])
        s = MaskStyle(p.get("threshold", 0.5), c_color(p["color"]),
                      C_FILTER[p.get("filter", "bilinear")], c_color(p.get("contour")))
        return lib.cudadraw_list_mask(l, c_rect(p), ptr, w, h, pitch, dtype, ctypes.byref(s))
    if kind == "classmap":
        a, ptr, w, h, pitch, dtype = c_mask(p["map"])
        pal = (c_u32 * len(p["palette"]))(*[c_color(c) for c in p["palette"]])
        return lib.cudadraw_list_class_map(l, c_rect(p), ptr, w, h, pitch, dtype, pal, len(pal))
    return None


def c_lists(lib, renderer, path, handles=None):
    """The scene's lists built through the C API: (array of list pointers for the render
    calls, the lists, None) or, if an op has no C mapping, (None, [], "op <kind>")
    so that the caller skips the scene explicitly. Free the lists with
    cudadraw_list_free."""
    spec = json.loads(path.read_text())
    handles = handles or Handles(lib, renderer)
    out = []
    for ops in spec["frames"]:
        l = c_ptr()
        c_ok(lib, lib.cudadraw_list_new(ctypes.byref(l)), "list_new")
        out.append(l)
        for op in ops:
            (kind, p), = op.items()
            st = c_op(lib, l, kind, p, handles, path.parent)
            if st is None:
                for x in out:
                    lib.cudadraw_list_free(x)
                return None, [], f"op {kind}"
            c_ok(lib, st, f"{path.stem}: {kind}")
        if lib.cudadraw_list_len(l) != len(ops):
            raise AssertionError(f"{path.stem}: {lib.cudadraw_list_len(l)} ops of {len(ops)}")
    return (c_ptr * len(out))(*out), out, None
