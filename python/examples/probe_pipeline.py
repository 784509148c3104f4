#!/usr/bin/env python3
"""A GStreamer pipeline whose pad probe draws through cudadraw: the shape of
DeepStream's deepstream-test1 probe, with one cudadraw call in place of "map the
surface, draw with OpenCV, hope it syncs".

    python3 probe_pipeline.py [--out first-frame.png] [--buffers N]

Here the stream is system memory (videotestsrc), drawn by the CPU renderer. In a
DeepStream app the same probe sits on nvdsosd's sink pad (or after nvstreammux), the
buffers are NVMM batches in GPU memory, and cudadraw draws every frame of the batch on
the GPU with no host copy; the lists then come from the batch's object metadata (see
the DeepStream block in `probe`).
"""

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

import cudadraw  # noqa: E402
from cudadraw import BlurKind, DrawList  # noqa: E402

# Reused from buffer to buffer: a list is cleared and refilled, not reallocated.
LIST = DrawList()
STATS = {"drawn": 0, "errors": 0}


def probe(pad, info, _user_data):
    gst_buffer = info.get_buffer()
    if not gst_buffer:
        return Gst.PadProbeReturn.OK
    pts = gst_buffer.pts // Gst.MSECOND if gst_buffer.pts != Gst.CLOCK_TIME_NONE else 0
    x = 20 + (pts // 10) % 200  # a moving "detection"

    LIST.clear()
    LIST.rect((x, 40, 120, 90), (4, (255, 60, 60), "outside"), (255, 60, 60, 40))
    LIST.blur((x + 20, 60, 80, 50), BlurKind.pixelate(10))   # a face, say
    LIST.blur((300, 180, 120, 30), BlurKind.solid((0, 0, 0)))  # a plate
    lists = [LIST]

    # DeepStream (pyds), one list per frame of the batch:
    #   batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    #   lists = []
    #   l_frame = batch_meta.frame_meta_list
    #   while l_frame is not None:
    #       frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
    #       dl = cudadraw.DrawList()
    #       l_obj = frame_meta.obj_meta_list
    #       while l_obj is not None:
    #           obj = pyds.NvDsObjectMeta.cast(l_obj.data)
    #           r = obj.rect_params
    #           dl.outline((r.left, r.top, r.width, r.height), 4, (255, 0, 0))
    #           l_obj = l_obj.next
    #       lists.append(dl)
    #       l_frame = l_frame.next
    try:
        # hash(gst_buffer) is the GstBuffer's address, as pyds takes buffers; `pad`
        # gives the negotiated caps (size, format, memory kind).
        cudadraw.draw_buffer(hash(gst_buffer), lists, pad)
        STATS["drawn"] += 1
    except ValueError as e:
        # Bad input or a buffer that cannot be drawn: nothing was written, the buffer
        # goes on unchanged.
        STATS["errors"] += 1
        print(f"cudadraw: {e}", file=sys.stderr)
    return Gst.PadProbeReturn.OK


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="write the first drawn frame as a PNG")
    ap.add_argument("--buffers", type=int, default=60)
    args = ap.parse_args()
    Gst.init(None)
    sink = (f"videoconvert ! pngenc snapshot=true ! filesink location={args.out}"
            if args.out else "fakesink")
    pipeline = Gst.parse_launch(
        f"videotestsrc num-buffers={args.buffers} ! "
        "video/x-raw,format=RGBA,width=640,height=360,framerate=30/1 ! "
        f"identity name=draw ! {sink}"
    )
    pad = pipeline.get_by_name("draw").get_static_pad("src")
    pad.add_probe(Gst.PadProbeType.BUFFER, probe, None)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
    )
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        print(f"pipeline failed: {msg.parse_error() if msg else 'timeout'}", file=sys.stderr)
        return 1
    print(f"drawn on {STATS['drawn']} buffers, {STATS['errors']} errors")
    return 0 if STATS["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
