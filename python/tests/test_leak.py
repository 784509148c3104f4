"""No leak over 10,000 calls of each way in, the failing ones included (RSS measured)."""

import os

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

import numpy as np  # noqa: E402

import cudadraw  # noqa: E402
from cudadraw import BlurKind, DrawList  # noqa: E402

Gst.init(None)
CALLS = 10_000


def rss_kib():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_no_leak_over_10000_calls():
    frame = np.zeros((48, 64, 4), np.uint8)
    caps = Gst.Caps.from_string("video/x-raw,format=RGBA,width=64,height=48")
    buf = Gst.Buffer.new_wrapped(bytes(64 * 48 * 4))
    r = cudadraw.Renderer()
    logo = r.add_image(np.full((8, 8, 4), 200, np.uint8))
    good = (DrawList().outline((2, 2, 20, 20), 2, (255, 0, 0)).blur((10, 10, 20, 20), BlurKind.box(2))
            .overlay(logo, (30, 5, 16, 16)))
    bad = DrawList().outline((0, 0, 4, 4), 0, 0)

    def round_():
        r.render(frame, good)
        r.draw_buffer(hash(buf), [good], caps)
        try:
            r.render(frame, bad)
        except ValueError:
            pass
        try:
            r.draw_buffer(buf, bad, caps)
        except ValueError:
            pass
        try:
            cudadraw.render(frame.astype(np.uint16), good)
        except ValueError:
            pass

    for _ in range(500):  # warm-up: allocator pools, caches, interned strings
        round_()
    before = rss_kib()
    for _ in range(CALLS):
        round_()
    grown = rss_kib() - before
    # 50,000 calls; a leak of even 100 bytes per call would show as ~5 MiB.
    assert grown < 2048, f"RSS grew by {grown} KiB over {CALLS} rounds"
