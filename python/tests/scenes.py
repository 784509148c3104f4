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


def build(dl, op, renderer, images, base):
    """One scene op through the Python API (the mapping docs/python.md documents)."""
    (kind, p), = op.items()
    rect = (p["left"], p["top"], p["width"], p["height"])
    if kind == "rect":
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
