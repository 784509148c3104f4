"""GPU checks of the Python bindings, run by the GPU bundle (`bundle/run.sh python`)
on a CUDA host with PyTorch and the bundle's wheel; not part of pytest (CI has no GPU).

Every check prints one line: PASS <name>, FAIL <name>: <why> or SKIP <name>: <why>.
Skipped checks are not passes. Exit status 1 if any check failed or none ran.

  - PyTorch CUDA tensors drawn in place (every reference scene, packed and padded
    pitch, the BGR formats, a (N, H, W, 4) batch, a non-default stream), byte-exact
    with tests/reference/*.png: the pictures the Rust CPU renderer makes;
  - the synthetic NVMM path through draw_buffer (a DeepStream-identical NvBufSurface
    batch in device, pinned and unified memory, both ABIs);
  - bad device input: exceptions, nothing written;
  - CuPy arrays, if CuPy is installed;
  - masks and class maps from CUDA tensors, byte-exact with the same masks from NumPy,
    their producer's stream waited for;
  - the C API on the GPU (libcudadraw.so through ctypes, `CUDADRAW_CAPI_LIB`; every
    scene's lists built op by op through the C list functions by python/tests/capi_lists.py,
    whose mapping test_capi_host.py checks on the host; a scene with an op that has no C
    mapping is skipped, counted and fails the check):
    cudadraw_render_device and cudadraw_render_device_on_stream on PyTorch memory,
    cudadraw_render_nvbufsurface on synthetic batches, byte-exact.
"""

import ctypes
import os
import pathlib
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
import cudadraw  # noqa: E402
from scenes import Scene, frame_view, reference_rgba, scene_paths  # noqa: E402
import capi_lists  # noqa: E402 - the ctypes mapping of the C API, checked on the host by test_capi_host.py
from capi_lists import C_FORMATS, DeviceFrame, FrameInfo, c_lists, c_ok  # noqa: E402

results = {"PASS": 0, "FAIL": 0, "SKIP": 0}


def report(status, name, why=""):
    results[status] += 1
    print(f"{status} {name}" + (f": {why}" if why else ""), flush=True)


def check(name):
    def wrap(f):
        try:
            out = f()
            if isinstance(out, tuple) and out and out[0] == "SKIP":
                report("SKIP", name, out[1])
            else:
                report("PASS", name, out if isinstance(out, str) else "")
        except Exception as e:  # noqa: BLE001 - every failure is reported, none escapes
            report("FAIL", name, f"{type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stdout)
        return f
    return wrap


try:
    import torch
except ImportError as e:
    torch = None
    report("FAIL", "import torch", str(e))


def compare(scene, host_bufs):
    got = np.concatenate([scene.to_rgba(b) for b in host_bufs], axis=0)
    want = reference_rgba(scene.name)
    bad = np.argwhere(got != want)
    if bad.size:
        raise AssertionError(f"{scene.name}: {len(bad)} bytes differ, first at {bad[0].tolist()}")


def torch_frame(buf, scene, stream=None):
    """A CUDA tensor of the frame's bytes, (H, W, 4) with the scene's row pitch."""
    flat = torch.from_numpy(buf.copy()).cuda()
    return flat, flat.as_strided((scene.height, scene.width, 4), (scene.pitch, 4, 1))


@check("cuda available")
def _():
    if not cudadraw.cuda_available():
        raise AssertionError("cudadraw.cuda_available() is False")
    if torch is None or not torch.cuda.is_available():
        raise AssertionError("torch.cuda.is_available() is False")


@check("torch tensors: every reference scene, drawn in place, byte-exact")
def _():
    r = cudadraw.Renderer()
    n = 0
    for path in scene_paths():
        scene = Scene(path, r)
        bufs = scene.backgrounds()
        flats, views = zip(*(torch_frame(b, scene) for b in bufs))
        r.render(list(views), scene.lists, format=scene.format)
        torch.cuda.synchronize()
        compare(scene, [f.cpu().numpy() for f in flats])
        n += 1
    return f"{n} scenes"


@check("torch (N, H, W, 4) batch tensor")
def _():
    r = cudadraw.Renderer()
    scene = Scene(next(p for p in scene_paths() if p.stem == "batch_three_frames"), r)
    batch = torch.from_numpy(np.stack([
        frame_view(b, scene.width, scene.height, scene.pitch).copy() for b in scene.backgrounds()
    ])).cuda()
    r.render(batch, scene.lists)
    want = reference_rgba(scene.name)
    got = batch.cpu().numpy().reshape(-1, scene.width, 4)
    if not (got == want).all():
        raise AssertionError("batch differs from the reference")


@check("torch tensor on a non-default stream (upload, draw, read back on that stream)")
def _():
    r = cudadraw.Renderer()
    scene = Scene(next(p for p in scene_paths() if p.stem == "showcase"), r)
    host = torch.from_numpy(scene.backgrounds()[0]).pin_memory()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        flat = torch.empty_like(host, device="cuda")
        # ~50 ms of GPU spinning, then the upload, both queued on s: a draw that did not
        # wait for s would land first and be overwritten by the upload.
        torch.cuda._sleep(100_000_000)
        flat.copy_(host, non_blocking=True)
        view = flat.as_strided((scene.height, scene.width, 4), (scene.pitch, 4, 1))
        # PyTorch's interface (version 2) names no stream: cudadraw takes the tensor's
        # current stream (s) and queues the drawing there, after the upload.
        r.render(view, scene.lists)
        out = flat.cpu()
    compare(scene, [out.numpy()])


class OnlyDlpack:
    """A tensor seen through DLPack alone (as JAX or TensorFlow tensors are)."""

    def __init__(self, t):
        self.t = t

    def __dlpack__(self, stream=None):
        return self.t.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.t.__dlpack_device__()


@check("DLPack-only CUDA tensors (every reference scene; a pending upload on a side stream)")
def _():
    r = cudadraw.Renderer()
    for path in scene_paths():
        scene = Scene(path, r)
        flats, views = zip(*(torch_frame(b, scene) for b in scene.backgrounds()))
        r.render([OnlyDlpack(v) for v in views], scene.lists, format=scene.format)
        compare(scene, [f.cpu().numpy() for f in flats])
    scene = Scene(next(p for p in scene_paths() if p.stem == "showcase"), r)
    host = torch.from_numpy(scene.backgrounds()[0]).pin_memory()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        flat = torch.zeros_like(host, device="cuda")
        torch.cuda._sleep(100_000_000)
        flat.copy_(host, non_blocking=True)
        view = flat.as_strided((scene.height, scene.width, 4), (scene.pitch, 4, 1))
        # cudadraw asks for the data on the legacy default stream (stream=1): PyTorch
        # orders that stream after s, and the drawing is queued there.
        r.render(OnlyDlpack(view), scene.lists)
        out = flat.cpu()
    compare(scene, [out.numpy()])


@check("synthetic NVMM batches through draw_buffer (device, pinned, unified; DS 7 and 8 ABIs)")
def _():
    if not hasattr(cudadraw, "_synthetic_nvmm"):
        return ("SKIP", "wheel built without the synthetic-nvmm feature")
    r = cudadraw.Renderer()
    scene = Scene(next(p for p in scene_paths() if p.stem == "batch_three_frames"), r)
    frames = [bytes(scene.to_rgba(b).tobytes()) for b in scene.backgrounds()]
    done = []
    for mem in ["device", "pinned", "unified"]:
        for abi in ["ds7", "ds8"]:
            batch = cudadraw._synthetic_nvmm(scene.width, scene.height, frames, mem, abi)
            # Exactly what a pyds probe writes: the buffer's address and one list per frame.
            if not cudadraw.draw_buffer(batch.address, scene.lists, renderer=r):
                raise AssertionError("nothing drawn")
            got = np.concatenate([np.frombuffer(f, np.uint8).reshape(scene.height, scene.width, 4)
                                  for f in batch.download()])
            want = reference_rgba(scene.name)
            if not (got == want).all():
                raise AssertionError(f"{mem}/{abi}: {int((got != want).sum())} bytes differ")
            done.append(f"{mem}/{abi}")
    return ", ".join(done)


def _mask_lists(src):
    """Masks and class maps of every dtype, scaled both ways, one strided; `src` turns a
    NumPy array into the mask argument (itself, or a CUDA tensor of it)."""
    rng = np.random.default_rng(5)
    m = rng.random((37, 53), dtype=np.float32)
    ids = rng.integers(0, 5, (20, 30)).astype(np.int32)
    palette = [(0, 0, 0, 0), (255, 0, 0, 160), (0, 255, 0, 255), (0, 0, 255, 90)]
    dl = cudadraw.DrawList().outline((4, 4, 150, 110), 3, (255, 255, 255))
    dl.mask((10.5, 8.25, 100, 70), src(m), 0.4, color=(255, 128, 0, 200), contour=(0, 0, 0))
    dl.mask((60, 20, 150, 100), src(m.astype(np.float16)), 0.6, color=(0, 200, 255, 255),
            filter="nearest")
    dl.mask((0, 50, 70, 119), src((m * 255).astype(np.uint8)), 0.5, color=(9, 9, 9, 120))
    dl.mask((30, 30, 90, 90), src(m[:, 3:40]), 0.3, color=(200, 0, 200, 255))
    dl.class_map((20, 10, 140, 100), src(ids), palette)
    dl.class_map((5, 60, 45, 115), src(ids.astype(np.uint8)), palette)
    return dl


@check("device masks and class maps from torch tensors (f32/f16/u8/i32, strided), "
       "byte-exact with host masks; the masks' producer stream waited for")
def _():
    r = cudadraw.Renderer()
    base = np.random.default_rng(6).integers(0, 256, (120, 160, 4), dtype=np.uint8)
    want = base.copy()
    r.render(want, _mask_lists(lambda a: a))
    frame = torch.from_numpy(base).cuda()
    torch.cuda.synchronize()
    s = torch.cuda.Stream()
    holds = []

    def dev(a):
        # The mask is written on s after ~50 ms of GPU spinning: a draw on the frame's
        # (default) stream that did not wait for s would read it unwritten.
        host = torch.from_numpy(np.ascontiguousarray(a)).pin_memory()
        t = torch.empty(host.shape, dtype=host.dtype, device="cuda")
        t.copy_(host, non_blocking=True)
        holds.append(host)
        return t

    def dev_view(a):
        if not a.flags.c_contiguous:  # m[:, 3:40]: the same window of a CUDA tensor
            return dev(a.base)[:, 3:40]
        return dev(a)

    with torch.cuda.stream(s):
        torch.cuda._sleep(100_000_000)
        dl = _mask_lists(dev_view)
    r.render(frame, dl)
    got = frame.cpu().numpy()
    if not (got == want).all():
        raise AssertionError(f"{int((got != want).sum())} bytes differ from the host masks' picture")
    if (want == base).all():
        raise AssertionError("the scene drew nothing")

    # Control: the same masks behind a wrapper that hides PyTorch's type (so no producer
    # stream is known, none waited for). If this differs, the check above can fail.
    class Hidden:
        def __init__(self, t):
            self.t = t
            self.__cuda_array_interface__ = dict(t.__cuda_array_interface__, stream=None)

    frame = torch.from_numpy(base).cuda()
    torch.cuda.synchronize()
    with torch.cuda.stream(s):
        torch.cuda._sleep(100_000_000)
        dl = _mask_lists(lambda a: Hidden(dev_view(a)))
    r.render(frame, dl)
    n = int((frame.cpu().numpy() != want).sum())
    torch.cuda.synchronize()
    return f"control without the stream wait: {n} bytes differ"


@check("bad device input: exceptions, nothing written")
def _():
    t = torch.full((16, 16, 4), 7, dtype=torch.uint8, device="cuda")
    ok = cudadraw.DrawList().fill((0, 0, 8, 8), (255, 0, 0))
    bad = cudadraw.DrawList().fill((0, 0, 8, 8), (255, 0, 0)).outline((0, 0, 4, 4), 0, 0)
    cases = [
        (lambda: cudadraw.render(t.float(), ok), ValueError),
        (lambda: cudadraw.render(t[..., :3], ok), ValueError),
        (lambda: cudadraw.render(t.permute(1, 0, 2), ok), ValueError),  # pixels 64 bytes apart
        (lambda: cudadraw.render(t[:, ::2], ok), ValueError),
        (lambda: cudadraw.render(t, bad), ValueError),
        (lambda: cudadraw.render(t, None), TypeError),
        (lambda: cudadraw.draw_buffer(0, ok), ValueError),
    ]
    for i, (f, exc) in enumerate(cases):
        t.fill_(7)
        try:
            f()
        except Exception as e:  # noqa: BLE001
            if not isinstance(e, exc):
                raise AssertionError(f"case {i}: {type(e).__name__}: {e}") from e
            if not bool((t == 7).all()):
                raise AssertionError(f"case {i}: tensor written despite the error")
            continue
        raise AssertionError(f"case {i}: no exception")


@check("PyTorch CPU tensors (through DLPack) are drawn in place by the CPU renderer")
def _():
    c = torch.full((16, 16, 4), 7, dtype=torch.uint8)
    cudadraw.render(c, cudadraw.DrawList().fill((0, 0, 8, 8), (255, 0, 0)))
    if c[0, 0].tolist() != [255, 0, 0, 255] or c[12, 12].tolist() != [7, 7, 7, 7]:
        raise AssertionError(f"CPU tensor not drawn as expected: {c[0, 0].tolist()}, {c[12, 12].tolist()}")


@check("cupy arrays")
def _():
    try:
        import cupy
    except ImportError:
        return ("SKIP", "CuPy not installed")
    r = cudadraw.Renderer()
    scene = Scene(next(p for p in scene_paths() if p.stem == "mixed_example"), r)
    a = cupy.asarray(frame_view(scene.backgrounds()[0], scene.width, scene.height, scene.pitch))
    r.render(a, scene.lists)
    compare(scene, [np.ascontiguousarray(cupy.asnumpy(a)).reshape(-1)])


def capi():
    path = os.environ.get("CUDADRAW_CAPI_LIB")
    if not path or not os.path.exists(path):
        return None
    return capi_lists.load(path)


def free_lists(lib, lists):
    for l in lists:
        lib.cudadraw_list_free(l)


@check("C API on the GPU: cudadraw_render_device / _on_stream / _nvbufsurface, byte-exact")
def _():
    lib = capi()
    if lib is None:
        return ("SKIP", "CUDADRAW_CAPI_LIB does not name libcudadraw.so")
    r = ctypes.c_void_p()
    c_ok(lib, lib.cudadraw_renderer_new(ctypes.byref(r)), "renderer_new")
    n, skipped = 0, []
    for path in scene_paths():
        scene = Scene(path, cudadraw.Renderer())
        arr, lists, why = c_lists(lib, r, path)
        if why is not None:
            skipped.append(f"{scene.name} ({why} has no C mapping)")
            continue
        flats, views = zip(*(torch_frame(b, scene) for b in scene.backgrounds()))
        frames = (DeviceFrame * len(flats))(*[
            DeviceFrame(f.data_ptr(), f.device.index,
                        FrameInfo(scene.width, scene.height, scene.pitch, C_FORMATS[scene.format]))
            for f in flats])
        c_ok(lib, lib.cudadraw_render_device(r, frames, ctypes.c_size_t(len(flats)), arr,
                                             ctypes.c_size_t(len(lists))), scene.name)
        compare(scene, [f.cpu().numpy() for f in flats])
        free_lists(lib, lists)
        n += 1
    # On a caller's stream: queued after ~50 ms of GPU work and an upload on that stream.
    path = next(p for p in scene_paths() if p.stem == "showcase")
    scene = Scene(path, cudadraw.Renderer())
    arr, lists, _ = c_lists(lib, r, path)
    host = torch.from_numpy(scene.backgrounds()[0]).pin_memory()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        flat = torch.zeros_like(host, device="cuda")
        torch.cuda._sleep(100_000_000)
        flat.copy_(host, non_blocking=True)
    frame = DeviceFrame(flat.data_ptr(), flat.device.index,
                        FrameInfo(scene.width, scene.height, scene.pitch, 0))
    c_ok(lib, lib.cudadraw_render_device_on_stream(r, ctypes.byref(frame), ctypes.c_size_t(1), arr,
                                                   ctypes.c_size_t(1), ctypes.c_void_p(s.cuda_stream)),
         "on_stream")
    c_ok(lib, lib.cudadraw_renderer_wait(r), "wait")
    compare(scene, [flat.cpu().numpy()])
    free_lists(lib, lists)
    # A DeepStream batch: the NvBufSurface* a C plugin gets by mapping the buffer.
    done = []
    if not hasattr(cudadraw, "_synthetic_nvmm"):
        raise AssertionError("wheel built without synthetic-nvmm: the NvBufSurface path is not checked")
    path = next(p for p in scene_paths() if p.stem == "batch_three_frames")
    scene = Scene(path, cudadraw.Renderer())
    arr, lists, _ = c_lists(lib, r, path)
    frames = [bytes(scene.to_rgba(b).tobytes()) for b in scene.backgrounds()]
    for mem in ["device", "pinned", "unified"]:
        for abi, code in [("ds7", 1), ("ds8", 2)]:
            batch = cudadraw._synthetic_nvmm(scene.width, scene.height, frames, mem, abi)
            c_ok(lib, lib.cudadraw_render_nvbufsurface(
                r, ctypes.c_void_p(batch.descriptor_address), ctypes.c_uint32(code), arr,
                ctypes.c_size_t(len(lists))), f"nvbufsurface {mem}/{abi}")
            got = np.concatenate([np.frombuffer(f, np.uint8).reshape(scene.height, scene.width, 4)
                                  for f in batch.download()])
            if not (got == reference_rgba(scene.name)).all():
                raise AssertionError(f"nvbufsurface {mem}/{abi} differs from the reference")
            done.append(f"{mem}/{abi}")
    # Bad input on the device path: an error code, no crash.
    bad = DeviceFrame(0, 0, FrameInfo(16, 16, 64, 0))
    st = lib.cudadraw_render_device(r, ctypes.byref(bad), ctypes.c_size_t(1), arr, ctypes.c_size_t(1))
    if st != 2 or b"null device pointer" not in lib.cudadraw_last_error():
        raise AssertionError(f"null device frame: status {st}, {lib.cudadraw_last_error()}")
    free_lists(lib, lists)
    lib.cudadraw_renderer_free(r)
    if skipped:
        raise AssertionError(f"{n} of {n + len(skipped)} scenes checked; {len(skipped)} skipped "
                             f"(not a pass): {', '.join(skipped)}")
    return (f"{n} of {n} scenes on device frames (0 skipped), 1 on a caller stream, "
            f"NvBufSurface: {', '.join(done)}")


@check("timing: draw_buffer on a 1080p NVMM batch with 100 boxes (median of 200 calls)")
def _():
    if not hasattr(cudadraw, "_synthetic_nvmm"):
        return ("SKIP", "wheel built without the synthetic-nvmm feature")
    batch = cudadraw._synthetic_nvmm(1920, 1080, [bytes(1920 * 1080 * 4)])
    dl = cudadraw.DrawList()
    for i in range(100):
        dl.outline((10 + 18 * i, 20 + 9 * i, 120, 80), 4, (255, 0, 0))
    r = cudadraw.Renderer()
    for _ in range(20):
        cudadraw.draw_buffer(batch.address, [dl], renderer=r)
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        cudadraw.draw_buffer(batch.address, [dl], renderer=r)
        times.append(time.perf_counter() - t0)
    return f"{np.median(times) * 1e6:.1f} us per call (informational, not a target)"


print(f"PYTHON GPU: {results['PASS']} passed, {results['FAIL']} failed, {results['SKIP']} skipped "
      "(skipped checks are not counted as passed)")
sys.exit(1 if results["FAIL"] or not results["PASS"] else 0)
