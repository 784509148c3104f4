#!/usr/bin/env python3
"""Drawing on CUDA tensors in place: a PyTorch tensor (or a CuPy array, or
pyds.get_nvds_buf_surface_gpu's pointer wrapped by CuPy) of shape (H, W, 4) or
(N, H, W, 4), uint8. cudadraw reads `__cuda_array_interface__`: pointer, strides and
the producer's stream, on which the drawing is queued (after the work already there);
the call returns once it is done. Nothing is copied to the host.

    python3 cuda_tensor.py [--cupy]
"""

import sys

import cudadraw
from cudadraw import BlurKind, DrawList


def main():
    if not cudadraw.cuda_available():
        print("no CUDA device: nothing to draw on", file=sys.stderr)
        return 1
    r = cudadraw.Renderer()
    if "--cupy" in sys.argv:
        import cupy as xp
        frames = xp.zeros((4, 720, 1280, 4), dtype=xp.uint8)  # a batch of 4 frames
        logo = xp.asnumpy(xp.full((64, 64, 4), 255, dtype=xp.uint8))
    else:
        import torch
        frames = torch.zeros((4, 720, 1280, 4), dtype=torch.uint8, device="cuda")
        logo = torch.full((64, 64, 4), 255, dtype=torch.uint8).numpy()
    logo_id = r.add_image(logo)  # images are registered once (host memory), then drawn by handle

    lists = []
    for i in range(frames.shape[0]):
        dl = DrawList()
        dl.outline((100 + 50 * i, 100, 300, 200), 4, (0, 255, 0))
        dl.fill((100 + 50 * i, 100, 300, 200), 0x00FF0040)
        dl.blur((500, 300, 200, 150), BlurKind.gaussian(8.0))
        dl.overlay(logo_id, (1200, 16, 64, 64), opacity=0.8)
        lists.append(dl)

    r.render(frames, lists)  # one call for the batch, the GIL released meanwhile
    print("pixel (100, 100) of frame 0:", frames[0, 100, 100].tolist())
    return 0


if __name__ == "__main__":
    sys.exit(main())
