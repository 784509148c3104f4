#!/usr/bin/env python3
"""The CPU benchmark workloads with OpenCV / NumPy, beside cudadraw's CPU renderer.

Reads what `cargo bench --bench cpu -- --dump DIR` wrote (the exact ops of every
workload and cudadraw's medians), runs the same workloads the way users write them
today (cv2.rectangle, cv2.addWeighted, cv2.blur, a NumPy alpha blend, cv2.putText on
a cv2.addWeighted background) on the same
frames (8 x 1920x1080 RGBA, the same pattern) with OpenCV limited to the same number of
threads, and writes DIR/table.md (one table with ratios) and DIR/cpu-bench.png.

    python3 scripts/bench-opencv.py DIR [--samples 15]
"""
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np


def frames(meta):
    n, w, h, pitch = (meta[k] for k in ("count", "width", "height", "pitch"))
    i = np.arange(pitch * h, dtype=np.int64)
    pat = ((i * 7 + (i // pitch) * 13) % 251).astype(np.uint8).reshape(h, pitch)
    one = np.ascontiguousarray(pat[:, : w * 4].reshape(h, w, 4))
    return [one.copy() for _ in range(n)]


def edges(r, img):
    h, w = img.shape[:2]
    x0, y0 = int(round(r[0])), int(round(r[1]))
    x1, y1 = int(round(r[0] + r[2])), int(round(r[1] + r[3]))
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def logo():
    x = np.arange(256, dtype=np.uint8)
    img = np.empty((256, 256, 4), np.uint8)
    img[..., 0] = x[None, :]
    img[..., 1] = x[:, None]
    img[..., 2] = 200
    img[..., 3] = x[None, :]
    return img


LOGO = logo()


def draw(op, img):
    if "box" in op:
        x0, y0, x1, y1 = edges(op["box"], img)
        if x1 <= x0 or y1 <= y0:
            return
        if op.get("fill"):
            c = op["fill"]
            roi = img[y0:y1, x0:x1]
            col = np.empty_like(roi)
            col[:] = c
            a = c[3] / 255.0
            cv2.addWeighted(col, a, roi, 1.0 - a, 0.0, dst=roi)
        if op.get("outline"):
            o = op["outline"]
            cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), tuple(o["color"]), o["width"])
    elif "blur" in op:
        x0, y0, x1, y1 = edges(op["blur"], img)
        k = 2 * op["radius"] + 1
        roi = img[y0:y1, x0:x1]
        roi[:] = cv2.blur(roi, (k, k), borderType=cv2.BORDER_REPLICATE)
    elif "line" in op:
        x0, y0, x1, y1 = op["line"]
        cv2.line(img, (int(x0), int(y0)), (int(x1), int(y1)), tuple(op["color"]),
                 int(round(op["width"])), cv2.LINE_AA if op["aa"] else cv2.LINE_8)
    elif "arrow" in op:
        x0, y0, x1, y1 = op["arrow"]
        length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1.0)
        cv2.arrowedLine(img, (int(x0), int(y0)), (int(x1), int(y1)), tuple(op["color"]),
                        int(round(op["width"])), cv2.LINE_8, 0, op["head"] / length)
    elif "circle" in op:
        cx, cy, r = op["circle"]
        if op.get("fill"):
            c = op["fill"]
            overlay = img.copy() if c[3] < 255 else img
            cv2.circle(overlay, (int(cx), int(cy)), int(r), tuple(c), -1)
            if c[3] < 255:
                cv2.addWeighted(overlay, c[3] / 255.0, img, 1 - c[3] / 255.0, 0.0, dst=img)
        if op.get("outline"):
            o = op["outline"]
            cv2.circle(img, (int(cx), int(cy)), int(r), tuple(o["color"]), int(round(o["width"])))
    elif "polygon" in op:
        pts = np.array(op["polygon"], np.float32).round().astype(np.int32).reshape(-1, 1, 2)
        if op.get("fill"):
            c = op["fill"]
            x, y, w, h = cv2.boundingRect(pts)
            x0, y0 = max(x, 0), max(y, 0)
            x1, y1 = min(x + w, img.shape[1]), min(y + h, img.shape[0])
            if x1 > x0 and y1 > y0:
                roi = img[y0:y1, x0:x1]
                layer = roi.copy()
                cv2.fillPoly(layer, [pts - np.array([x0, y0], np.int32)], tuple(c))
                cv2.addWeighted(layer, c[3] / 255.0, roi, 1 - c[3] / 255.0, 0.0, dst=roi)
        if op.get("outline"):
            o = op["outline"]
            cv2.polylines(img, [pts], True, tuple(o["color"]), int(round(o["width"])))
    elif "rotated" in op:
        cx, cy, w, h, a = op["rotated"]
        box = cv2.boxPoints(((cx, cy), (w, h), a)).round().astype(np.int32)
        o = op["outline"]
        cv2.polylines(img, [box], True, tuple(o["color"]), int(round(o["width"])))
    elif "mask" in op:
        # What users write: resize the probabilities to the box, threshold, blend.
        x0, y0, x1, y1 = edges(op["mask"], img)
        if x1 <= x0 or y1 <= y0:
            return
        m = np.array(op["values"], np.float32).reshape(32, 32)
        big = cv2.resize(m, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        sel = big >= op["threshold"]
        roi = img[y0:y1, x0:x1]
        c = np.array(op["color"], np.uint16)
        a = int(op["color"][3])
        roi[sel] = ((c * a + roi[sel].astype(np.uint16) * (255 - a) + 127) // 255).astype(np.uint8)
    elif "label" in op:
        # What OpenCV users write for a detection label: measure, a translucent box
        # above the box's corner (inside when it would leave the frame), the text.
        scale = op["size"] / 22.0  # FONT_HERSHEY_SIMPLEX is about 22 px tall at scale 1
        (tw, th), base = cv2.getTextSize(op["text"], cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        pad = op["padding"]
        x0, y0, _, _ = edges(op["label"], img)
        bw, bh = tw + 2 * pad, th + base + 2 * pad
        by = y0 - bh if y0 - bh >= 0 else y0
        bx = max(min(x0, img.shape[1] - bw), 0)
        if op.get("background"):
            c = op["background"]
            roi = img[by : by + bh, bx : bx + bw]
            col = np.empty_like(roi)
            col[:] = c
            a = c[3] / 255.0
            cv2.addWeighted(col, a, roi, 1.0 - a, 0.0, dst=roi)
        cv2.putText(img, op["text"], (bx + pad, by + pad + th), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, tuple(op["color"]), 1, cv2.LINE_AA)
    elif "logo" in op:
        x0, y0, x1, y1 = edges(op["logo"], img)
        src = LOGO[: y1 - y0, : x1 - x0].astype(np.uint16)
        dst = img[y0:y1, x0:x1]
        a = src[..., 3:4]
        dst[:] = ((src * a + dst.astype(np.uint16) * (255 - a) + 127) // 255).astype(np.uint8)


def run(work, imgs):
    for ops, img in zip(work, imgs):
        for op in ops:
            draw(op, img)


def median_ms(f, samples):
    for _ in range(2):
        f()
    t = []
    for _ in range(samples):
        s = time.perf_counter()
        f()
        t.append((time.perf_counter() - s) * 1e3)
    t.sort()
    return t[len(t) // 2]


LABELS = {
    "W1": "W1 800 boxes, 4 px",
    "W1f": "W1f + alpha-80 fill",
    "W2": "W2 80 box blurs r = 15",
    "W3": "W3 32 logos 256 x 256",
    "W4": "W4 800 labels, 16 px",
    "W6a": "W6a 400 lines, 3 px",
    "W6a-AA": "W6a-AA 400 lines, 3 px, anti-aliased",
    "W6b": "W6b 160 circles, 3 px",
    "W6c": "W6c 40 hexagons, outline + fill",
    "W6d": "W6d 80 arrows",
    "W6e": "W6e 160 rotated boxes",
    "W7": "W7 160 masks 32 x 32 f16 (host)",
    "W8": "W8 busy analytics frames",
}
PEER = {
    "W1": "cv2.rectangle",
    "W1f": "cv2.addWeighted + cv2.rectangle",
    "W2": "cv2.blur 31 x 31 per region",
    "W3": "NumPy alpha blend",
    "W4": "cv2.addWeighted + cv2.putText (Hershey, AA)",
    "W6a": "cv2.line",
    "W6a-AA": "cv2.line LINE_AA",
    "W6b": "cv2.circle",
    "W6c": "cv2.fillPoly + addWeighted + polylines",
    "W6d": "cv2.arrowedLine",
    "W6e": "cv2.boxPoints + polylines",
    "W7": "cv2.resize + threshold + NumPy blend",
    "W8": "the above: rectangle, putText, fillPoly, line",
}


def main():
    out = Path(sys.argv[1])
    samples = int(sys.argv[sys.argv.index("--samples") + 1]) if "--samples" in sys.argv else 15
    ours = json.loads((out / "cudadraw.json").read_text())
    work = json.loads((out / "workloads.json").read_text())
    threads = ours["threads"]
    cv2.setNumThreads(threads)
    rows = []
    for wid, lists in work.items():
        imgs = frames(ours["frames"])
        theirs = median_ms(lambda: run(lists, imgs), samples)
        mine = ours["medians_ms"][wid]
        rows.append((wid, mine, theirs))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    host = f"{platform.machine()}, {threads} thread(s), OpenCV {cv2.__version__}, NumPy {np.__version__}"
    lines = [
        f"CPU path, batch of 8 x 1920x1080 RGBA host frames, median of {samples}, {when}, {host}",
        "",
        "| workload | cudadraw CPU ms | OpenCV / NumPy ms | peer | cudadraw is |",
        "|---|---|---|---|---|",
    ]
    for wid, mine, theirs in rows:
        lines.append(
            f"| {LABELS.get(wid, wid)} | {mine:.2f} | {theirs:.2f} | {PEER.get(wid, '')} | "
            f"{theirs / mine:.2f}x as fast |"
        )
    table = "\n".join(lines) + "\n"
    (out / "table.md").write_text(table)
    print(table)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [r[1] for r in rows], 0.4, label="cudadraw CPU renderer")
        ax.bar(x + 0.2, [r[2] for r in rows], 0.4, label="OpenCV / NumPy")
        ax.set_xticks(x, [r[0] for r in rows])
        ax.set_ylabel("ms per batch (median)")
        ax.set_title(f"8 x 1080p RGBA, {threads} CPU thread(s), {when}", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "cpu-bench.png")
        print(f"chart: {out / 'cpu-bench.png'}")
    except ImportError:
        print("matplotlib not installed: no chart")


if __name__ == "__main__":
    main()
