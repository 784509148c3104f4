"""The reference scenes (tests/scenes/*.json) built through the Python API, the test
background of tests/common/mod.rs and the reference pictures: shared by the pytest
suite and the GPU check (python/gpu/check.py), so no pytest import here."""

import json
import pathlib

import numpy as np

import cudadraw

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENES = ROOT / "tests" / "scenes"
REFERENCE = ROOT / "tests" / "reference"
DEFAULT_W, DEFAULT_H = 160, 120
SWAPS = {"rgba": False, "rgbx": False, "bgra": True, "bgrx": True}


def background(width, height, pitch, fmt, index):
    """tests/common/mod.rs background(): the bytes every reference scene is drawn on."""
    min_len = pitch * (height - 1) + width * 4
    i = np.arange(min_len, dtype=np.uint64)
    v = (0xA5 ^ ((i % 256) * 31 % 256)).astype(np.uint8)
    w = max(width, 2) - 1
    h = max(height, 2) - 1
    y, x = np.mgrid[0:height, 0:width]
    checker = ((x // 8) + (y // 8) + index) % 2 == 0
    stripe = (x + 2 * y) % 12 < 3
    r = (x * 255 // w).astype(np.uint8)
    g = (y * 255 // h).astype(np.uint8)
    b = np.where(stripe, 255, np.where(checker, 170, 40)).astype(np.uint8)
    a = (255 - (x * 3 + y * 5) % 64).astype(np.uint8)
    g2 = (g // 2 + np.where(checker, 100, 0)).astype(np.uint8)
    px = np.stack([b, g2, r, a] if SWAPS[fmt] else [r, g2, b, a], axis=-1)
    for row in range(height):
        v[row * pitch : row * pitch + width * 4] = px[row].reshape(-1)
    return v


def frame_view(buf, width, height, pitch):
    """An (H, W, 4) view of `buf` with row stride `pitch` (padding not in the view)."""
    return np.lib.stride_tricks.as_strided(
        buf, shape=(height, width, 4), strides=(pitch, 4, 1), writeable=True
    )


def reference_rgba(name):
    w, h, data = cudadraw.decode_png((REFERENCE / f"{name}.png").read_bytes())
    return np.frombuffer(data, np.uint8).reshape(h, w, 4)


class Scene:
    def __init__(self, path, renderer):
        self.name = path.stem
        spec = json.loads(path.read_text())
        self.width = spec.get("width", DEFAULT_W)
        self.height = spec.get("height", DEFAULT_H)
        self.format = spec.get("format", "rgba")
        self.pitch = spec.get("pitch", self.width * 4)
        images = {}
        self.lists = []
        for ops in spec["frames"]:
            dl = cudadraw.DrawList()
            for op in ops:
                build(dl, op, renderer, images, path.parent)
            self.lists.append(dl)

    def backgrounds(self):
        return [background(self.width, self.height, self.pitch, self.format, i)
                for i in range(len(self.lists))]

    def to_rgba(self, frame):
        f = frame_view(frame, self.width, self.height, self.pitch)
        return f[..., [2, 1, 0, 3]] if SWAPS[self.format] else f


def color(c):
    return tuple(c) if c is not None else None


def stroke(s):
    """A scene outline {"width", "color"} as the Python (width, colour)."""
    return (s["width"], tuple(s["color"])) if s is not None else None


def values(spec):
    """Scene mask values (numbers with a "type") as the 2-D NumPy array the op takes,
    converted as src/draw/scene.rs converts them."""
    v = np.asarray(spec["values"], dtype=np.float64)
    if spec["type"] == "u8":
        a = np.clip(v, 0, 255).astype(np.uint8)
    elif spec["type"] == "f16":
        a = v.astype(np.float16)  # f64 -> f16 rounded once, as half::f16::from_f64
    elif spec["type"] == "f32":
        a = v.astype(np.float32)
    else:
        a = v.astype(np.int32)
    return a.reshape(spec["height"], spec["width"])


def style(p, renderer, fonts, base):
    """The style fields of a scene text / label as keyword arguments."""
    kw = {"size": p.get("size", 16), "color": color(p.get("color", [255, 255, 255, 255])),
          "background": color(p.get("background")), "padding": p.get("padding", 2)}
    if "halo" in p:
        kw["halo"] = (p["halo"]["width"], tuple(p["halo"]["color"]))
    if "font" in p:
        key = ("font", p["font"], p.get("font_index", 0))
        if key not in fonts:
            fonts[key] = renderer.add_font(str(base / p["font"]), p.get("font_index", 0))
        kw["font"] = fonts[key]
    return kw


def build(dl, op, renderer, images, base):
    """One scene op through the Python API (the mapping docs/python.md documents)."""
    (kind, p), = op.items()
    rect = (p.get("left"), p.get("top"), p.get("width"), p.get("height"))
    if kind == "text":
        dl.text(p["x"], p["y"], p["text"], anchor=p.get("anchor", "top"),
                **style(p, renderer, images, base))
    elif kind == "label":
        dl.label(rect, p["text"], **style(p, renderer, images, base))
    elif kind == "line":
        dl.line(tuple(p["from"]), tuple(p["to"]), p["width"], tuple(p["color"]),
                cap=p.get("cap", "flat"), aa=p.get("aa", False))
    elif kind == "polyline":
        dl.polyline([tuple(q) for q in p["points"]], p["width"], tuple(p["color"]),
                    closed=p.get("closed", False), cap=p.get("cap", "flat"),
                    aa=p.get("aa", False))
    elif kind == "polygon":
        dl.polygon([tuple(q) for q in p["points"]], fill=color(p.get("fill")),
                   outline=stroke(p.get("outline")), aa=p.get("aa", False))
    elif kind == "arrow":
        dl.arrow(tuple(p["from"]), tuple(p["to"]), p["width"], tuple(p["color"]),
                 head_length=p.get("head_length"), head_angle=p.get("head_angle", 30.0),
                 ends=p.get("ends", "end"), aa=p.get("aa", False))
    elif kind == "circle":
        dl.circle(tuple(p["center"]), p["radius"], outline=stroke(p.get("outline")),
                  align=p.get("align", "inside"), fill=color(p.get("fill")),
                  aa=p.get("aa", False))
    elif kind == "ellipse":
        dl.ellipse(tuple(p["center"]), p["rx"], p["ry"], outline=stroke(p.get("outline")),
                   align=p.get("align", "inside"), fill=color(p.get("fill")),
                   aa=p.get("aa", False))
    elif kind == "rotated_box":
        dl.rotated_box(tuple(p["center"]), p["width"], p["height"], angle=p.get("angle", 0.0),
                       outline=stroke(p.get("outline")), fill=color(p.get("fill")),
                       aa=p.get("aa", False))
    elif kind == "point":
        dl.point(tuple(p["center"]), p["radius"], tuple(p["color"]), aa=p.get("aa", False))
    elif kind == "mask":
        dl.mask(rect, values(p["mask"]), p.get("threshold", 0.5), color=tuple(p["color"]),
                filter=p.get("filter", "bilinear"), contour=color(p.get("contour")))
    elif kind == "classmap":
        dl.class_map(rect, values(p["map"]), [tuple(c) for c in p["palette"]])
    elif kind == "rect":
        b = p.get("border")
        border = (b["width"], tuple(b["color"]), b.get("align", "inside")) if b else None
        fill = tuple(p["fill"]) if "fill" in p else None
        dl.rect(rect, border, fill)
    elif kind == "blur":
        (k, kp), = p["kind"].items()
        blur = {
            "box": lambda: cudadraw.BlurKind.box(kp["radius"]),
            "gaussian": lambda: cudadraw.BlurKind.gaussian(kp["sigma"]),
            "pixelate": lambda: cudadraw.BlurKind.pixelate(kp["block"]),
            "solid": lambda: cudadraw.BlurKind.solid(tuple(kp["color"])),
        }[k]()
        dl.blur(rect, blur, p.get("expand", 0.0))
    elif kind == "overlay":
        name = p["image"]
        if name not in images:
            images[name] = renderer.add_image((base / name).read_bytes())
        dl.overlay(images[name], rect, p.get("opacity", 1.0), p.get("filter", "bilinear"))
    else:
        raise AssertionError(f"scene op {kind} has no Python mapping in conftest.build")


def scene_paths():
    return sorted(SCENES.glob("*.json"))
