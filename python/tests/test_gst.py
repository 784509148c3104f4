"""GstBuffers from Python: a PyGObject pipeline whose pad probe draws through cudadraw
(the shape of deepstream-test1's probe, on system memory), buffers made in Python, and
buffers passed through unchanged on error. PyGObject is required (scripts/setup
installs python3-gi): without it these tests fail, they are not skipped."""

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import Gst, GstVideo  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import cudadraw  # noqa: E402
from cudadraw import BlurKind, DrawList  # noqa: E402

Gst.init(None)
W, H = 64, 48
CAPS = f"video/x-raw,format=RGBA,width={W},height={H},framerate=30/1"
N = 4


def pipeline_frames(probe=None, n=N):
    """Runs videotestsrc ! RGBA ! identity (probe on its src pad) ! appsink; returns the
    frames the sink received, as bytes."""
    p = Gst.parse_launch(
        f"videotestsrc num-buffers={n} pattern=smpte ! {CAPS} ! identity name=probe "
        "! appsink name=sink sync=false max-buffers=64"
    )
    if probe is not None:
        pad = p.get_by_name("probe").get_static_pad("src")
        pad.add_probe(Gst.PadProbeType.BUFFER, probe)
    sink = p.get_by_name("sink")
    assert p.set_state(Gst.State.PLAYING) != Gst.StateChangeReturn.FAILURE
    frames = []
    try:
        for _ in range(n):
            s = sink.emit("try-pull-sample", 10 * Gst.SECOND)
            assert s is not None, "pipeline produced no sample"
            buf = s.get_buffer()
            ok, m = buf.map(Gst.MapFlags.READ)
            assert ok
            frames.append(bytes(m.data))
            buf.unmap(m)
    finally:
        p.set_state(Gst.State.NULL)
    return frames


def scene():
    return (DrawList()
            .rect((4, 4, 30, 20), (3, (255, 0, 0), "center"), (0, 255, 0, 80))
            .blur((30, 20, 30, 24), BlurKind.box(3))
            .blur((2, 30, 16, 16), BlurKind.pixelate(4)))


def test_pad_probe_draws_in_place_byte_exact():
    base = pipeline_frames()
    results = []

    def probe(pad, info):
        # What a pyds user writes: the buffer's address, one list per frame.
        buf = info.get_buffer()
        results.append(cudadraw.draw_buffer(hash(buf), [scene()], pad))
        return Gst.PadProbeReturn.OK

    drawn = pipeline_frames(probe)
    assert results == [True] * N
    for b, d in zip(base, drawn):
        want = np.frombuffer(b, np.uint8).reshape(H, W, 4).copy()
        cudadraw.render(want, scene())  # the CPU renderer on the same bytes
        got = np.frombuffer(d, np.uint8).reshape(H, W, 4)
        assert (got == want).all(), "probe output differs from the CPU renderer"
        assert not (got == np.frombuffer(b, np.uint8).reshape(H, W, 4)).all()


def test_probe_error_passes_the_buffer_on_unchanged():
    base = pipeline_frames()
    errors = []
    bad = scene().outline((0, 0, 10, 10), 0, (0, 0, 0))  # op 3 is invalid

    def probe(pad, info):
        try:
            cudadraw.draw_buffer(info.get_buffer(), bad, pad.get_current_caps())
        except ValueError as e:
            errors.append(str(e))
        return Gst.PadProbeReturn.OK

    assert pipeline_frames(probe) == base
    assert errors == ["frame 0, op 3: border width 0 outside 1..=1024"] * N


def make_buffer(stride=W * 4 + 16, offset=32, fmt=GstVideo.VideoFormat.RGBA, fill=7):
    size = offset + stride * H
    buf = Gst.Buffer.new_wrapped(bytes([fill]) * size)
    GstVideo.buffer_add_video_meta_full(
        buf, GstVideo.VideoFrameFlags.NONE, fmt, W, H, 1, [offset, 0, 0, 0], [stride, 0, 0, 0]
    )
    return buf


def read(buf):
    ok, m = buf.map(Gst.MapFlags.READ)
    assert ok
    data = np.frombuffer(bytes(m.data), np.uint8)
    buf.unmap(m)
    return data


def test_python_buffer_with_video_meta_and_padding():
    buf = make_buffer()
    dl = DrawList().fill((0, 0, W, H), (1, 2, 3))
    assert cudadraw.draw_buffer(buf, dl) is True  # layout from the GstVideoMeta
    data = read(buf)
    stride, offset = W * 4 + 16, 32
    assert (data[:offset] == 7).all()
    rows = data[offset:].reshape(H, stride)
    assert (rows[:, : W * 4].reshape(H, W, 4) == (1, 2, 3, 255)).all()
    assert (rows[:, W * 4:] == 7).all(), "row padding written"
    # An empty list draws nothing and says so.
    assert cudadraw.draw_buffer(buf, DrawList()) is False


def test_caps_forms():
    keep = Gst.Caps.from_string(CAPS)  # alive while its address is used
    for caps in [CAPS, Gst.Caps.from_string(CAPS), hash(keep)]:
        buf = Gst.Buffer.new_wrapped(bytes(W * H * 4))
        assert cudadraw.draw_buffer(hash(buf), DrawList().fill((0, 0, 2, 2), 0xFF0000FF), caps)
        assert (read(buf)[:4] == (255, 0, 0, 255)).all()


def test_buffer_errors_leave_the_buffer_unchanged():
    buf = Gst.Buffer.new_wrapped(bytes([7]) * (W * H * 4))
    keep = Gst.Caps.from_string(CAPS)
    dl = DrawList().fill((0, 0, W, H), (1, 2, 3))
    with pytest.raises(ValueError, match="no caps"):
        cudadraw.draw_buffer(buf, dl)  # no caps, no meta: its layout is unknown
    with pytest.raises(ValueError, match="pad has no caps yet"):
        cudadraw.draw_buffer(buf, dl, Gst.Pad.new("src", Gst.PadDirection.SRC))
    with pytest.raises(ValueError, match="cannot parse caps"):
        cudadraw.draw_buffer(buf, dl, "not caps at all")
    with pytest.raises(ValueError, match="NV12"):
        cudadraw.draw_buffer(buf, dl, f"video/x-raw,format=NV12,width={W},height={H}")
    with pytest.raises(ValueError, match="not an NvBufSurface descriptor"):
        cudadraw.draw_buffer(buf, dl, f"video/x-raw(memory:NVMM),format=RGBA,width={W},height={H}")
    with pytest.raises(ValueError, match="batch has 1 frames but 2 draw lists"):
        cudadraw.draw_buffer(buf, [dl, dl], CAPS)
    with pytest.raises(ValueError, match="shorter"):
        cudadraw.draw_buffer(buf, dl, f"video/x-raw,format=RGBA,width={W},height={H + 1}")
    with pytest.raises(ValueError, match="not a GstBuffer"):
        cudadraw.draw_buffer(hash(keep), dl, CAPS)
    with pytest.raises(TypeError):
        cudadraw.draw_buffer(buf, None, CAPS)
    with pytest.raises(TypeError):
        cudadraw.draw_buffer(buf, dl, 3.5)
    # Memory shared with another buffer must not be written through this one.
    # (copy_region with MEMORY shares the memory, as gst_buffer_copy does; PyGObject's
    # Buffer.copy() only takes a reference.)
    shared = buf.copy_region(Gst.BufferCopyFlags.MEMORY, 0, buf.get_size())
    with pytest.raises(ValueError, match="writable"):
        cudadraw.draw_buffer(shared, dl, CAPS)
    with pytest.raises(ValueError, match="unsupported pixel format"):
        cudadraw.draw_buffer(make_buffer(fmt=GstVideo.VideoFormat.NV12), dl)
    assert (read(buf) == 7).all()
    assert (read(shared) == 7).all()


def test_descriptor_sized_buffer_without_caps_is_taken_as_nvmm():
    # 64 zero bytes: an NvBufSurface (DeepStream 4.0-7.1 size) with no filled frame.
    buf = Gst.Buffer.new_wrapped(bytes(64))
    with pytest.raises(ValueError, match="batch has 0 frames but 1 draw lists"):
        cudadraw.draw_buffer(buf, DrawList().fill((0, 0, 1, 1), 0xFF))
    assert cudadraw.draw_buffer(buf, []) is False


def test_nvmm_caps_of_any_format_go_to_the_descriptor():
    # NV12 NVMM caps: the NvBufSurface describes the frames (NV12 surfaces are drawn
    # like RGBA ones); 64 zero bytes are a descriptor with no filled frame.
    buf = Gst.Buffer.new_wrapped(bytes(64))
    caps = "video/x-raw(memory:NVMM),format=NV12,width=64,height=48"
    with pytest.raises(ValueError, match="batch has 0 frames but 1 draw lists"):
        cudadraw.draw_buffer(buf, DrawList().fill((0, 0, 1, 1), 0xFF), caps)
