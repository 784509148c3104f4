"""The ctypes mapping of the C API (capi_lists.py, which python/gpu/check.py drives on
the GPU) checked on the host: every reference scene's lists built through the C list
functions, drawn with cudadraw_render_host on NumPy frames, must reproduce
tests/reference/<scene>.png byte for byte, padding untouched. A wrong structure, enum
or argument in the mapping fails here, before a GPU run does.

The library is $CUDADRAW_CAPI_LIB (set by `make python-test`, which builds it), else
target/debug/libcudadraw.so or target/release/libcudadraw.so; without any, the tests
are skipped with that reason."""

import ctypes
import os
import pathlib

import numpy as np
import pytest

from capi_lists import C_FORMATS, FrameInfo, Handles, HostFrame, c_lists, c_ok, c_ptr, load
from scenes import ROOT, Scene, reference_rgba, scene_paths


def lib_path():
    env = os.environ.get("CUDADRAW_CAPI_LIB")
    if env:
        return pathlib.Path(env)
    for profile in ["debug", "release"]:
        p = ROOT / "target" / profile / "libcudadraw.so"
        if p.exists():
            return p
    return None


@pytest.fixture(scope="module")
def lib():
    path = lib_path()
    if path is None:
        pytest.skip("no libcudadraw.so (cargo build -p cudadraw-capi, or set CUDADRAW_CAPI_LIB)")
    assert path.exists(), f"CUDADRAW_CAPI_LIB={path} does not exist"
    return load(path)


@pytest.fixture(scope="module")
def c_renderer(lib):
    r = c_ptr()
    c_ok(lib, lib.cudadraw_renderer_new(ctypes.byref(r)), "renderer_new")
    yield r, Handles(lib, r)
    lib.cudadraw_renderer_free(r)


@pytest.mark.parametrize("path", scene_paths(), ids=lambda p: p.stem)
def test_c_lists_reproduce_the_reference(path, lib, c_renderer, renderer):
    r, handles = c_renderer
    arr, lists, skipped = c_lists(lib, r, path, handles)
    assert skipped is None, f"{path.stem}: {skipped} has no C mapping in capi_lists.c_op"
    try:
        scene = Scene(path, renderer)  # the layout and backgrounds (Python API lists unused)
        bufs = scene.backgrounds()
        before = [b.copy() for b in bufs]
        info = FrameInfo(scene.width, scene.height, scene.pitch, C_FORMATS[scene.format])
        frames = (HostFrame * len(bufs))(*[HostFrame(b.ctypes.data, info) for b in bufs])
        c_ok(lib, lib.cudadraw_render_host(r, frames, len(bufs), arr, len(lists)), scene.name)
        got = np.concatenate([scene.to_rgba(b) for b in bufs], axis=0)
        want = reference_rgba(scene.name)
        assert got.shape == want.shape
        diff = np.argwhere(got != want)
        assert diff.size == 0, f"{scene.name}: {len(diff)} bytes differ, first at {diff[0].tolist()}"
        for b, o in zip(bufs, before):
            for y in range(scene.height - 1):
                row = slice(y * scene.pitch + scene.width * 4, (y + 1) * scene.pitch)
                assert (b[row] == o[row]).all(), f"{scene.name}: padding of row {y} written"
    finally:
        for l in lists:
            lib.cudadraw_list_free(l)


def test_bad_input_is_a_typed_error_and_draws_nothing(lib, c_renderer):
    from capi_lists import CRect, LineStyle, MaskStyle, c_f32
    r, _ = c_renderer
    l = c_ptr()
    c_ok(lib, lib.cudadraw_list_new(ctypes.byref(l)), "list_new")
    try:
        st = lib.cudadraw_list_polyline(l, None, 3, 0, ctypes.byref(LineStyle(2, 0xFF0000FF, 0, 0)))
        assert st == 1 and b"xy is NULL" in lib.cudadraw_last_error()
        st = lib.cudadraw_list_mask(l, CRect(0, 0, 8, 8), None, 2, 2, 2, 0,
                                    ctypes.byref(MaskStyle(0.5, 0xFF0000FF, 0, 0)))
        assert st == 1 and b"values is NULL" in lib.cudadraw_last_error()
        assert lib.cudadraw_list_len(l) == 0
        xy = (c_f32 * 4)(1, 1, float("nan"), 5)
        c_ok(lib, lib.cudadraw_list_polyline(l, xy, 2, 0, ctypes.byref(LineStyle(2, 0xFF0000FF, 0, 0))),
             "polyline")
        buf = np.full(16 * 16 * 4, 7, np.uint8)
        frame = HostFrame(buf.ctypes.data, FrameInfo(16, 16, 64, 0))
        st = lib.cudadraw_render_host(r, ctypes.byref(frame), 1, (c_ptr * 1)(l), 1)
        assert st == 2 and b"not a finite number" in lib.cudadraw_last_error()
        assert (buf == 7).all()
    finally:
        lib.cudadraw_list_free(l)
