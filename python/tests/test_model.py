"""The draw model as Python sees it: names, argument forms, what the lists hold."""

import pytest

import cudadraw
from cudadraw import BlurKind, DrawList


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
    for name in ["DrawList", "BlurKind", "ImageId", "Renderer", "CudaError", "draw_buffer",
                 "render", "decode_png", "cuda_available"]:
        assert hasattr(cudadraw, name), name
    assert issubclass(cudadraw.CudaError, RuntimeError)
    assert cudadraw.__version__ == "0.1.0"
    assert isinstance(cudadraw.cuda_available(), bool)
