"""NumPy frames drawn through the Python API equal the Rust CPU renderer's bytes: every
reference scene of tests/scenes, built op by op with DrawList, must reproduce
tests/reference/<scene>.png exactly (the picture the CPU renderer and the CUDA kernels
produce), with row padding untouched."""

import numpy as np
import pytest

import cudadraw
from scenes import Scene, frame_view, reference_rgba, scene_paths


@pytest.mark.parametrize("path", scene_paths(), ids=lambda p: p.stem)
def test_reference_scene_byte_exact(path, renderer):
    scene = Scene(path, renderer)
    bufs = scene.backgrounds()
    before = [b.copy() for b in bufs]
    frames = [frame_view(b, scene.width, scene.height, scene.pitch) for b in bufs]
    renderer.render(frames, scene.lists, format=scene.format)
    got = np.concatenate([scene.to_rgba(b) for b in bufs], axis=0)
    want = reference_rgba(scene.name)
    assert got.shape == want.shape
    diff = np.argwhere(got != want)
    assert diff.size == 0, f"{scene.name}: {len(diff)} bytes differ, first at {diff[0].tolist()}"
    for b, o in zip(bufs, before):
        for y in range(scene.height - 1):
            row = slice(y * scene.pitch + scene.width * 4, (y + 1) * scene.pitch)
            assert (b[row] == o[row]).all(), f"{scene.name}: padding of row {y} written"


def test_batch_as_one_4d_array_and_module_renderer():
    """(N, H, W, 4) in one array: the same bytes as a list of frames."""
    path = next(p for p in scene_paths() if p.stem == "batch_three_frames")
    r = cudadraw.Renderer()
    scene = Scene(path, r)
    n = len(scene.lists)
    assert n == 3
    batch = np.stack([frame_view(b, scene.width, scene.height, scene.pitch).copy()
                      for b in scene.backgrounds()])
    r.render(batch, scene.lists)
    want = reference_rgba(scene.name)
    assert (batch.reshape(-1, scene.width, 4) == want).all()


def test_strided_views_draw_in_place():
    """A view into a larger array (rows 2 apart, a column offset) is drawn in place,
    and nothing outside the view changes."""
    big = np.zeros((40, 64, 4), np.uint8)
    view = big[::2, 5:35]
    dl = cudadraw.DrawList().fill((0, 0, 4, 4), (255, 0, 0))
    cudadraw.render(view, dl)
    assert (big[0:8:2, 5:9] == (255, 0, 0, 255)).all()
    assert big[1].sum() == 0 and big[:, :5].sum() == 0 and big[:, 9:].sum() == 0
    assert big.sum() == 16 * 510


def test_bgr_formats_and_single_frame_list():
    a = np.zeros((4, 4, 4), np.uint8)
    cudadraw.render([a], [cudadraw.DrawList().fill((0, 0, 4, 4), (10, 20, 30))], format="bgrx")
    assert (a[..., :3] == (30, 20, 10)).all() and (a[..., 3] == 0).all(), "x byte never written"
