"""The Python GStreamer example runs (so it cannot rot): a pipeline with a pad probe
drawing through cudadraw, its first frame written as a PNG and checked for the box."""

import pathlib
import subprocess
import sys

import numpy as np

import cudadraw

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_probe_pipeline_example(tmp_path):
    out = tmp_path / "first.png"
    p = subprocess.run([sys.executable, str(EXAMPLES / "probe_pipeline.py"), "--buffers", "5",
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    # pngenc snapshot=true ends the stream after the first frame.
    assert "drawn on 1 buffers, 0 errors" in p.stdout, p.stdout
    w, h, data = cudadraw.decode_png(out.read_bytes())
    px = np.frombuffer(data, np.uint8).reshape(h, w, 4)
    assert (w, h) == (640, 360)
    # The solid "plate" redaction at (300, 180, 120, 30) is opaque black.
    assert (px[185:205, 305:415, :3] == 0).all()
