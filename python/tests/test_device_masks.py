"""Masks and class maps straight from device memory (`__cuda_array_interface__`), as
far as a host without a GPU can check them: how they are read, held and refused. The
drawing itself is checked on a GPU by python/gpu/check.py."""

import gc
import weakref

import numpy as np
import pytest

import cudadraw
from cudadraw import DrawList


class FakeCudaArray:
    """A device array as CuPy and Numba describe one (version 3 of the protocol)."""

    def __init__(self, shape, typestr, ptr=0x7F0000000000, strides=None, stream=None):
        self.__cuda_array_interface__ = {
            "shape": shape, "typestr": typestr, "data": (ptr, False), "strides": strides,
            "version": 3, "stream": stream,
        }


def test_device_masks_are_not_copied_and_say_so():
    dl = DrawList().mask((0, 0, 10, 6), FakeCudaArray((3, 5), "<f4"), color=(255, 0, 0))
    dl.mask((0, 0, 10, 6), FakeCudaArray((3, 5), "<f2", strides=(64, 2)), color=(1, 2, 3))
    dl.mask((0, 0, 10, 6), FakeCudaArray((4, 4), "|u1"), color=(1, 2, 3))
    dl.class_map((0, 0, 8, 8), FakeCudaArray((2, 2), "<i4"), [(255, 0, 0)])
    ops = dl.ops()
    assert [op[0] for op in ops] == ["mask", "mask", "mask", "class_map"]
    assert all(op[2][0] == "device" for op in ops)
    assert "pitch: 64" in ops[1][2][1] and "F16" in ops[1][2][1]
    assert "pitch: 20" in ops[0][2][1]  # C-contiguous: 5 float32 values a row


def test_a_list_keeps_its_device_arrays_alive_until_cleared():
    a = FakeCudaArray((3, 5), "<f4")
    alive = weakref.ref(a)
    dl = DrawList().mask((0, 0, 10, 6), a, color=(255, 0, 0))
    del a
    gc.collect()
    assert alive() is not None, "the list must hold the array whose memory it reads"
    dl.clear()
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("array, message", [
    (FakeCudaArray((3, 5), "<f8"), "float64"),
    (FakeCudaArray((3, 5, 1), "<f4"), "2-D"),
    (FakeCudaArray((3, 5), "<f4", strides=(40, 8)), "contiguous"),
    (FakeCudaArray((3, 5), "<f4", strides=(-20, 4)), "not positive"),
    (FakeCudaArray((3, 5), "<f4", stream=0), "stream 0"),
    (FakeCudaArray((3, 5), "<i4"), "uint8, float16 or float32"),
])
def test_bad_device_masks_are_refused_by_name(array, message):
    with pytest.raises(ValueError, match="values: .*" + message if message != "float64"
                       else "'<f8'"):
        DrawList().mask((0, 0, 10, 6), array, color=(255, 0, 0))


def test_class_maps_from_device_memory_take_class_ids_only():
    with pytest.raises(ValueError, match="ids: .*uint8 or int32"):
        DrawList().class_map((0, 0, 8, 8), FakeCudaArray((2, 2), "<f4"), [(255, 0, 0)])


@pytest.mark.parametrize("ptr, message", [(0x7F0000000000, "device"), (0, "null")])
def test_device_masks_on_host_frames_are_refused_and_nothing_is_drawn(ptr, message):
    frame = np.full((8, 10, 4), 7, np.uint8)
    dl = DrawList().fill((0, 0, 10, 8), (1, 2, 3)).mask(
        (0, 0, 10, 6), FakeCudaArray((3, 5), "<f4", ptr=ptr), color=(255, 0, 0))
    with pytest.raises(Exception, match=message):
        cudadraw.Renderer().render(frame, dl)
    assert (frame == 7).all()
