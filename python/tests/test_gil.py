"""Drawing runs with the GIL released: another Python thread keeps running while a
render is in progress. (With the GIL held for the whole render, no Python bytecode of
another thread could run between the render's start and end.)"""

import sys
import threading
import time

import numpy as np

import cudadraw
from cudadraw import BlurKind, DrawList


def test_other_threads_run_while_drawing():
    frame = np.zeros((720, 1280, 4), np.uint8)
    # Size the work to this machine and build (debug or release, fast or slow core):
    # time one full-frame pixelate, then draw enough of them to last about half a
    # second, so the window below is long enough to count in.
    one = DrawList()
    one.blur((0, 0, 1280, 720), BlurKind.pixelate(4))
    t0 = time.perf_counter()
    cudadraw.render(frame, one)
    single = max(time.perf_counter() - t0, 1e-4)
    heavy = DrawList()
    for _ in range(min(2000, max(3, int(0.5 / single) + 1))):
        heavy.blur((0, 0, 1280, 720), BlurKind.pixelate(4))
    window = {}

    def draw():
        window["start"] = time.perf_counter()
        cudadraw.render(frame, heavy)
        window["end"] = time.perf_counter()

    sys.setswitchinterval(0.005)
    t = threading.Thread(target=draw)
    ticks = []
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    start, end = window["start"], window["end"]
    assert end - start > 0.2, f"render took {end - start:.3f} s: too short to tell"
    # Leave out 50 ms at both ends: between reading the clock and entering (or after
    # leaving) the render, the drawing thread runs bytecode and may hand the GIL over
    # for a switch interval (5 ms), which is no proof of anything.
    inside = sum(1 for x in ticks if start + 0.05 < x < end - 0.05)
    assert inside > 100, f"only {inside} iterations of the main thread during a {end - start:.2f} s render"
