"""The draw model as Python sees it: names, argument forms, what the lists hold."""

import json
import pathlib

import numpy as np
import pytest

import cudadraw
from cudadraw import BlurKind, DrawList

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_ops_mirror_the_rust_builders():
    dl = DrawList()
    assert len(dl) == 0
    out = (dl.outline((1, 2, 30, 40), 4, (255, 0, 0))
             .fill((0, 0, 5, 5), 0x00FF0050)
             .rect((1.5, 2.5, 3, 4), (2, (1, 2, 3, 4), "center"), (9, 8, 7))
             .box((0, 0, 1, 1), border=(1, 0xFFFFFFFF, "outside"))
             .blur((10, 10, 20, 20), BlurKind.box(7), expand=2)
             .blur((0, 0, 8, 8), BlurKind.gaussian(1.5))
             .blur((0, 0, 8, 8), BlurKind.pixelate(4))
             .blur((0, 0, 8, 8), BlurKind.solid((10, 20, 30)))
             .overlay(3, (0, 0, 64, 64), opacity=0.5, filter="nearest"))
    assert out is dl, "builders chain on the same list"
    assert len(dl) == 9
    ops = dl.ops()
    assert ops[0] == ("box", (1.0, 2.0, 30.0, 40.0), (4, (255, 0, 0, 255), "inside"), None)
    assert ops[1] == ("box", (0.0, 0.0, 5.0, 5.0), None, (0, 255, 0, 0x50))
    assert ops[2] == ("box", (1.5, 2.5, 3.0, 4.0), (2, (1, 2, 3, 4), "center"), (9, 8, 7, 255))
    assert ops[3] == ("box", (0.0, 0.0, 1.0, 1.0), (1, (255, 255, 255, 255), "outside"), None)
    assert ops[4] == ("blur", (10.0, 10.0, 20.0, 20.0), ("box", 7), 2.0)
    assert ops[5] == ("blur", (0.0, 0.0, 8.0, 8.0), ("gaussian", 1.5), 0.0)
    assert ops[6][2] == ("pixelate", 4)
    assert ops[7][2] == ("solid", (10, 20, 30, 255))
    kind, image, rect, opacity, filt = ops[8]
    assert (kind, image.id, rect, opacity, filt) == ("overlay", 3, (0.0, 0.0, 64.0, 64.0), 0.5, "nearest")
    dl.clear()
    assert len(dl) == 0 and dl.ops() == []


def test_lists_compare_by_content():
    a = DrawList().fill((0, 0, 1, 1), (1, 2, 3))
    b = DrawList().fill((0, 0, 1, 1), 0x010203FF)
    assert a == b
    assert a != DrawList()
    assert repr(a) == "DrawList(1 ops)"
    assert repr(BlurKind.box(3)) == "BlurKind.box(3)"
    assert BlurKind.pixelate(4) == BlurKind.pixelate(4)


@pytest.mark.parametrize("bad, exc", [
    ((1, 2), ValueError),                # 2 components
    ((1, 2, 3, 4, 5), ValueError),
    ((256, 0, 0), ValueError),
    ((-1, 0, 0), ValueError),
    (0x1FFFFFFFF, ValueError),           # more than 32 bits
    (-5, ValueError),
    ("red", TypeError),
    (None, TypeError),
])
def test_bad_colours_are_exceptions(bad, exc):
    with pytest.raises(exc):
        DrawList().fill((0, 0, 1, 1), bad)


@pytest.mark.parametrize("bad", [(1, 2, 3), "abcd", None, (1, 2, 3, "x")])
def test_bad_rects_are_type_errors(bad):
    with pytest.raises(TypeError):
        DrawList().outline(bad, 2, (0, 0, 0))


def test_bad_enum_strings_are_value_errors():
    with pytest.raises(ValueError, match="align"):
        DrawList().outline((0, 0, 1, 1), 1, 0, align="middle")
    with pytest.raises(ValueError, match="filter"):
        DrawList().overlay(0, (0, 0, 1, 1), filter="cubic")
    with pytest.raises(TypeError, match="BlurKind"):
        DrawList().blur((0, 0, 1, 1), "box")
    with pytest.raises(TypeError):
        DrawList().overlay("logo.png", (0, 0, 1, 1))


def test_module_surface():
    for name in ["DrawList", "BlurKind", "ImageId", "FontId", "Renderer", "CudaError", "draw_buffer",
                 "render", "decode_png", "cuda_available"]:
        assert hasattr(cudadraw, name), name
    assert issubclass(cudadraw.CudaError, RuntimeError)
    assert cudadraw.__version__ == "0.1.0"
    assert isinstance(cudadraw.cuda_available(), bool)


def test_text_label_and_fonts():
    r = cudadraw.Renderer()
    assert cudadraw.FontId.DEFAULT == cudadraw.FontId(0)
    assert repr(cudadraw.FontId.DEFAULT) == "FontId(0)"
    font = r.add_font(ROOT / "tests/scenes/fonts/wqy-microhei-subset.ttf")
    assert isinstance(font, cudadraw.FontId) and font.id == 1
    data = (ROOT / "assets/fonts/DejaVuSans.ttf").read_bytes()
    assert r.add_font(data).id == 2
    w, h, ascent, descent, lines = r.measure_text(cudadraw.FontId.DEFAULT, 16, "a\nbb")
    assert lines == 2 and w > 0 and h > 0 and ascent > descent > 0
    assert r.measure_text(0, 16, "a\nbb") == (w, h, ascent, descent, lines)
    dl = (DrawList()
          .text(4, 8, "person 0.97", size=20, color=(255, 255, 0), background=(0, 0, 0, 128),
                padding=3, halo=(1, 0x000000FF), anchor="baseline", font=font)
          .label((10, 20, 30, 40), "car"))
    text, label = dl.ops()
    assert text == ("text", (4.0, 8.0), "person 0.97", "baseline",
                    {"size": 20, "color": (255, 255, 0, 255), "font": font,
                     "background": (0, 0, 0, 128), "padding": 3,
                     "halo": (1, (0, 0, 0, 255))})
    assert label == ("label", (10.0, 20.0, 30.0, 40.0), "car",
                     {"size": 16, "color": (255, 255, 255, 255),
                      "font": cudadraw.FontId.DEFAULT, "background": None, "padding": 2,
                      "halo": None})


def test_shape_ops_mirror_the_rust_ops():
    dl = (DrawList()
          .line((0, 0), (10, 5), 2, (255, 0, 0))
          .polyline([(0, 0), [5, 5], np.array([9.0, 1.0])], 1.5, 0xFF0000FF, closed=True,
                    cap="round", aa=True)
          .polygon([(0, 0), (8, 0), (4, 6)], fill=(0, 0, 255, 80), outline=(2, (1, 2, 3)))
          .arrow((1, 1), (20, 20), 3, (0, 255, 0))
          .arrow((1, 1), (20, 20), 3, (0, 255, 0), head_length=5, head_angle=45, ends="both")
          .circle((50, 50), 10, outline=(2, (0, 0, 0)), align="center")
          .ellipse((50, 50), 10, 4, fill=(9, 9, 9))
          .rotated_box((30, 30), 20, 10, angle=30, outline=(1, (255, 255, 255)))
          .point((3, 4), 2.5, (1, 1, 1), aa=True))
    ops = dl.ops()
    assert ops[0] == ("line", (0.0, 0.0), (10.0, 5.0), 2.0, (255, 0, 0, 255), "flat", False)
    assert ops[1] == ("polyline", [(0.0, 0.0), (5.0, 5.0), (9.0, 1.0)], 1.5,
                      (255, 0, 0, 255), True, "round", True)
    assert ops[2] == ("polygon", [(0.0, 0.0), (8.0, 0.0), (4.0, 6.0)], (0, 0, 255, 80),
                      (2.0, (1, 2, 3, 255)), False)
    assert ops[3] == ("arrow", (1.0, 1.0), (20.0, 20.0), 3.0, (0, 255, 0, 255), 18.0, 30.0,
                      "end", False)
    assert ops[4][5:8] == (5.0, 45.0, "both")
    assert ops[5] == ("ellipse", (50.0, 50.0), 10.0, 10.0, (2.0, (0, 0, 0, 255)), "center",
                      None, False)
    assert ops[6] == ("ellipse", (50.0, 50.0), 10.0, 4.0, None, "inside", (9, 9, 9, 255), False)
    assert ops[7] == ("rotated_box", (30.0, 30.0), 20.0, 10.0, 30.0, (1.0, (255, 255, 255, 255)),
                      None, False)
    assert ops[8] == ("point", (3.0, 4.0), 2.5, (1, 1, 1, 255), True)


def test_masks_are_copied_arrays():
    m = np.zeros((3, 5), np.float32)
    dl = DrawList().mask((0, 0, 10, 6), m, color=(255, 0, 0, 128), contour=(0, 0, 0))
    m[:] = 1.0  # the op holds a copy
    dl.mask((0, 0, 10, 6), np.ones((2, 2), np.float16), 0.25, color=0xFF00FF80,
            filter="nearest")
    dl.mask((0, 0, 10, 6), np.zeros((4, 8), np.uint8)[:, ::2], color=(1, 2, 3))
    dl.class_map((0, 0, 8, 8), np.array([[0, 1], [2, -1]], np.int32),
                 [(0, 0, 0, 0), (255, 0, 0), (0, 255, 0, 128)])
    ops = dl.ops()
    assert ops[0] == ("mask", (0.0, 0.0, 10.0, 6.0), ("float32", 5, 3), 0.5,
                      (255, 0, 0, 128), "bilinear", (0, 0, 0, 255))
    assert ops[1][2:4] == (("float16", 2, 2), 0.25) and ops[1][5] == "nearest"
    assert ops[2][2] == ("uint8", 4, 4)
    assert ops[3] == ("class_map", (0.0, 0.0, 8.0, 8.0), ("int32", 2, 2),
                      [(0, 0, 0, 0), (255, 0, 0, 255), (0, 255, 0, 128)])
    assert DrawList().mask((0, 0, 1, 1), np.ones((1, 1), np.float32), color=(1, 2, 3)) == \
        DrawList().mask((0, 0, 1, 1), np.ones((1, 1), np.float32), color=(1, 2, 3))


def _scene_ops(name):
    return json.loads((ROOT / "tests/scenes" / f"{name}.json").read_text())["frames"][0]


def _draw_and_compare(name, dl):
    from scenes import DEFAULT_H, DEFAULT_W, background, frame_view, reference_rgba
    buf = background(DEFAULT_W, DEFAULT_H, DEFAULT_W * 4, "rgba", 0)
    cudadraw.Renderer().render(frame_view(buf, DEFAULT_W, DEFAULT_H, DEFAULT_W * 4), dl)
    got = buf.reshape(DEFAULT_H, DEFAULT_W, 4)
    assert (got == reference_rgba(name)).all(), f"{name}: differs from the CPU renderer"


def test_labels_drawn_from_python_equal_the_rust_cpu_renderer():
    """tests/scenes/label_edges_flip_inside.json written out as direct calls."""
    dl = DrawList()
    for op in _scene_ops("label_edges_flip_inside"):
        (kind, p), = op.items()
        rect = (p["left"], p["top"], p["width"], p["height"])
        if kind == "rect":
            dl.outline(rect, p["border"]["width"], tuple(p["border"]["color"]))
        else:
            assert kind == "label"
            dl.label(rect, p["text"], size=p["size"], background=tuple(p["background"]),
                     color=tuple(p.get("color", (255, 255, 255))))
    _draw_and_compare("label_edges_flip_inside", dl)


def test_lines_drawn_from_python_equal_the_rust_cpu_renderer():
    """tests/scenes/line_widths.json written out as direct calls."""
    dl = DrawList()
    for op in _scene_ops("line_widths"):
        (kind, p), = op.items()
        assert kind == "line"
        dl.line(tuple(p["from"]), tuple(p["to"]), p["width"], tuple(p["color"]),
                cap=p.get("cap", "flat"))
    _draw_and_compare("line_widths", dl)


def test_bad_new_op_input_raises():
    r = cudadraw.Renderer()
    frame = np.zeros((8, 8, 4), np.uint8)
    with pytest.raises(TypeError, match="point"):
        DrawList().line((0,), (1, 1), 1, (0, 0, 0))
    with pytest.raises(TypeError, match="point"):
        DrawList().point("ab", 1, (0, 0, 0))
    with pytest.raises(TypeError, match="points"):
        DrawList().polyline(None, 1, (0, 0, 0))
    with pytest.raises(TypeError, match=r"points\[1\]"):
        DrawList().polygon([(0, 0), (1, 2, 3)], fill=(0, 0, 0))
    with pytest.raises(TypeError, match="outline"):
        DrawList().circle((0, 0), 3, outline=2)
    with pytest.raises(TypeError, match="halo"):
        DrawList().text(0, 0, "x", halo=1)
    with pytest.raises(ValueError, match="cap"):
        DrawList().line((0, 0), (1, 1), 1, (0, 0, 0), cap="square")
    with pytest.raises(ValueError, match="ends"):
        DrawList().arrow((0, 0), (1, 1), 1, (0, 0, 0), ends="middle")
    with pytest.raises(ValueError, match="anchor"):
        DrawList().text(0, 0, "x", anchor="bottom")
    with pytest.raises(TypeError, match="FontId"):
        DrawList().text(0, 0, "x", font="DejaVu")
    with pytest.raises(ValueError, match="float64"):
        DrawList().mask((0, 0, 1, 1), np.zeros((2, 2)), color=(0, 0, 0))
    with pytest.raises(ValueError, match="2-D"):
        DrawList().mask((0, 0, 1, 1), np.zeros((2, 2, 2), np.uint8), color=(0, 0, 0))
    with pytest.raises(TypeError, match="NumPy"):
        DrawList().mask((0, 0, 1, 1), [[0, 1]], color=(0, 0, 0))
    with pytest.raises(ValueError, match="int32"):
        DrawList().class_map((0, 0, 1, 1), np.zeros((2, 2), np.float32), [(0, 0, 0)])
    with pytest.raises(TypeError, match="palette"):
        DrawList().class_map((0, 0, 1, 1), np.zeros((2, 2), np.uint8), None)
    with pytest.raises(OSError):
        r.add_font(ROOT / "tests/scenes/no-such-font.ttf")
    with pytest.raises(ValueError):
        r.add_font(b"not a font at all")
    with pytest.raises(TypeError):
        r.add_font(12)
    with pytest.raises(ValueError):
        r.measure_text(cudadraw.FontId.DEFAULT, 5, "too small")
    with pytest.raises(ValueError):
        r.measure_text(cudadraw.FontId(9), 16, "no such font")
    # Ranges are the renderer's, with its messages; nothing is drawn.
    for dl in [DrawList().line((0, 0), (4, 4), 0, (255, 0, 0)),
               DrawList().text(0, 0, "x", size=1000),
               DrawList().text(0, 0, "x", font=cudadraw.FontId(7)),
               DrawList().polygon([(0, 0), (1, 1), (0, 1)]).point((1, 1), -1, (0, 0, 0)),
               DrawList().mask((0, 0, 4, 4), np.ones((2, 2), np.float32), 2.0, color=(1, 2, 3)),
               DrawList().class_map((0, 0, 4, 4), np.zeros((0, 2), np.uint8), [(1, 2, 3)])]:
        with pytest.raises(ValueError, match="op"):
            r.render(frame, dl)
        assert frame.sum() == 0
