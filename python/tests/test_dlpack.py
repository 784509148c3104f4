"""DLPack (`__dlpack__`) for producers without an array interface: drawn in place, the
consumed tensor released afterwards (its deleter called), bad tensors refused."""

import sys

import numpy as np
import pytest

import cudadraw
from cudadraw import BlurKind, DrawList


class OnlyDlpack:
    """Exports an array through DLPack alone (as JAX or TensorFlow tensors do)."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def scene():
    return DrawList().outline((2, 2, 20, 12), 2, (255, 0, 0)).blur((10, 4, 12, 10), BlurKind.box(2))


def test_dlpack_frames_are_drawn_in_place_like_array_interface_frames():
    base = np.random.default_rng(1).integers(0, 255, (2, 24, 32, 4), dtype=np.uint8)
    want = base.copy()
    cudadraw.render(want, [scene(), scene()])
    got = base.copy()
    before = sys.getrefcount(got)
    view = got[:, ::1, 2:30]  # strided: rows 128 bytes apart, 28 pixels wide
    want2 = base.copy()
    cudadraw.render(want2[:, ::1, 2:30], [scene(), scene()])
    cudadraw.render(OnlyDlpack(view), [scene(), scene()])
    assert (got == want2).all()
    cudadraw.render([OnlyDlpack(got[0]), OnlyDlpack(got[1])], [DrawList(), DrawList()])
    del view
    # NumPy's exported tensor holds a reference to the array (view -> got) until its
    # deleter runs: a tensor cudadraw failed to release would keep one here.
    assert sys.getrefcount(got) == before, "a consumed DLPack tensor was not released"
    assert not (want == base).all()


def test_bad_dlpack_tensors_are_refused():
    f = np.full((8, 8, 4), 7, np.uint8)
    with pytest.raises(ValueError, match="dtype must be uint8"):
        cudadraw.render(OnlyDlpack(f.astype(np.int16)), scene())
    with pytest.raises(ValueError, match="shape"):
        cudadraw.render(OnlyDlpack(np.zeros((8, 8, 3), np.uint8)), scene())
    with pytest.raises(ValueError, match="contiguous"):
        cudadraw.render(OnlyDlpack(f[:, ::2]), scene())
    ro = f.copy()
    ro.flags.writeable = False
    with pytest.raises(BufferError):  # NumPy refuses to export read-only memory
        cudadraw.render(OnlyDlpack(ro), scene())
    with pytest.raises(ValueError, match="op 0"):
        cudadraw.render(OnlyDlpack(f), DrawList().outline((0, 0, 4, 4), 0, 0))
    assert (f == 7).all()
