"""Bad input from Python: exceptions with the Rust messages, nothing written, no crash."""

import numpy as np
import pytest

import cudadraw
from cudadraw import BlurKind, DrawList

OK = DrawList().fill((0, 0, 8, 8), (255, 0, 0))


def frame():
    return np.full((16, 16, 4), 7, np.uint8)


def untouched(f):
    return (f == 7).all()


@pytest.mark.parametrize("make, match", [
    (lambda: frame().astype(np.uint16), "dtype must be uint8"),
    (lambda: frame().astype(np.float32), "dtype must be uint8"),
    (lambda: np.full((16, 16, 3), 7, np.uint8), "shape must be"),
    (lambda: np.full((16, 64), 7, np.uint8), "shape must be"),
    (lambda: np.full((2, 2, 16, 16, 4), 7, np.uint8), "shape must be"),
    (lambda: frame()[:, :, ::-1], "channels of a pixel must be contiguous"),
    (lambda: frame()[:, ::2], "pixels 4 bytes apart"),
    (lambda: np.asfortranarray(frame()), "channels of a pixel must be contiguous"),
    (lambda: frame()[::-1], "not positive"),
    (lambda: np.full((0, 16, 4), 7, np.uint8), "empty"),
])
def test_bad_arrays_are_value_errors(make, match):
    a = make()
    with pytest.raises(ValueError, match=match):
        cudadraw.render(a, OK)
    assert (np.asarray(a) == 7).all()


def test_read_only_arrays_are_refused():
    a = frame()
    a.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        cudadraw.render(a, OK)
    assert untouched(a)
    # A read-only buffer exposed through NumPy (bytes are immutable).
    b = np.frombuffer(bytes(16 * 16 * 4), np.uint8).reshape(16, 16, 4)
    with pytest.raises(ValueError, match="read-only"):
        cudadraw.render(b, OK)


@pytest.mark.parametrize("lists", [None, "abc", 5, [None], [OK, 3]])
def test_none_or_junk_where_lists_are_expected(lists):
    f = frame()
    with pytest.raises(TypeError):
        cudadraw.render(f, lists)
    assert untouched(f)


def test_none_or_junk_frames():
    with pytest.raises(TypeError):
        cudadraw.render(None, OK)
    with pytest.raises(TypeError):
        cudadraw.render(5, OK)
    with pytest.raises(TypeError):
        cudadraw.render([frame(), "x"], [OK, OK])


def test_invalid_op_is_a_value_error_with_the_rust_message_and_draws_nothing():
    f = frame()
    dl = DrawList().fill((0, 0, 8, 8), (255, 0, 0)).outline((0, 0, 4, 4), 0, (0, 0, 0))
    with pytest.raises(ValueError, match=r"^frame 0, op 1: border width 0 outside 1..=1024$"):
        cudadraw.render(f, dl)
    assert untouched(f), "the valid first op must not be drawn either"
    with pytest.raises(ValueError, match="radius"):
        cudadraw.render(f, DrawList().blur((0, 0, 4, 4), BlurKind.box(0)))
    with pytest.raises(ValueError, match="unknown image handle 42"):
        cudadraw.render(f, DrawList().overlay(42, (0, 0, 4, 4)))
    with pytest.raises(ValueError):
        cudadraw.render(f, DrawList().fill((float("nan"), 0, 4, 4), (1, 2, 3)))
    assert untouched(f)


def test_skip_invalid_renderer_draws_the_rest():
    f = frame()
    r = cudadraw.Renderer(skip_invalid=True)
    r.render(f, DrawList().fill((0, 0, 8, 8), (255, 0, 0)).outline((0, 0, 4, 4), 0, 0))
    assert r.last_skipped == 1
    assert (f[0, 0] == (255, 0, 0, 255)).all()


def test_batch_mismatch_and_overlap():
    f, g = frame(), frame()
    with pytest.raises(ValueError, match="batch has 2 frames but 1 draw lists"):
        cudadraw.render([f, g], [OK])
    with pytest.raises(ValueError, match="overlap"):
        cudadraw.render([f, f[4:]], [OK, OK])
    with pytest.raises(ValueError, match="overlap"):
        cudadraw.render(np.lib.stride_tricks.as_strided(
            f, shape=(2, 16, 16, 4), strides=(64, 64, 4, 1), writeable=True), [OK, OK])
    assert untouched(f) and untouched(g)


class FakeCuda:
    """An object exporting __cuda_array_interface__ (as CuPy / PyTorch do)."""

    def __init__(self, **over):
        self.backing = np.zeros((8, 8, 4), np.uint8)
        self.__cuda_array_interface__ = {
            "shape": (8, 8, 4), "typestr": "|u1", "strides": None, "version": 3,
            "data": (self.backing.ctypes.data, False), "stream": 1, **over,
        }


@pytest.mark.skipif(cudadraw.cuda_available(), reason="checks the no-GPU error path")
def test_device_arrays_without_a_gpu_are_cuda_errors():
    with pytest.raises(cudadraw.CudaError, match="no CUDA device"):
        cudadraw.render(FakeCuda(), OK)


def test_device_array_validation_comes_first():
    with pytest.raises(ValueError, match="dtype"):
        cudadraw.render(FakeCuda(typestr="<f4"), OK)
    with pytest.raises(ValueError, match="read-only"):
        cudadraw.render(FakeCuda(data=(1 << 20, True)), OK)
    with pytest.raises(ValueError, match="stream 0"):
        cudadraw.render(FakeCuda(stream=0), OK)
    with pytest.raises(ValueError, match="null data pointer"):
        cudadraw.render(FakeCuda(data=(0, False)), OK)
    with pytest.raises(ValueError, match="mix host and device"):
        cudadraw.render([frame(), FakeCuda()], [OK, OK])


def test_images():
    r = cudadraw.Renderer()
    with pytest.raises(ValueError, match="invalid image"):
        r.add_image(b"\x00" * 12, 2, 2)
    with pytest.raises(ValueError):
        r.add_image(b"not a png")
    with pytest.raises(ValueError, match="both width and height"):
        r.add_image(b"\x00" * 16, 2)
    with pytest.raises(ValueError, match="invalid image"):
        r.add_image(np.zeros((0, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="contiguous"):
        r.add_image(np.zeros((4, 8, 4), np.uint8)[:, ::2])
    img = np.zeros((8, 4, 4), np.uint8)
    img[..., 0] = 200
    img[..., 3] = 255
    a = r.add_image(img[::2])  # a strided image is copied row by row
    f = frame()
    r.render(f, DrawList().overlay(a, (0, 0, 4, 4), filter="nearest"))
    assert (f[:4, :4] == (200, 0, 0, 255)).all()
    assert r.remove_image(a) and not r.remove_image(a)
    with pytest.raises(ValueError, match="unknown image handle"):
        r.render(f, DrawList().overlay(a, (0, 0, 4, 4)))


def test_draw_buffer_bad_addresses():
    with pytest.raises(ValueError, match="not a pointer"):
        cudadraw.draw_buffer(0, OK)
    with pytest.raises(ValueError, match="not a pointer"):
        cudadraw.draw_buffer(-8, OK)
    with pytest.raises(TypeError):
        cudadraw.draw_buffer(None, OK)
    with pytest.raises(TypeError):
        cudadraw.draw_buffer("buffer", OK)
    with pytest.raises(TypeError):
        cudadraw.draw_buffer(frame(), OK)
