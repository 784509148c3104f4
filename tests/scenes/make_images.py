#!/usr/bin/env python3
"""Writes the overlay images the reference scenes use (deterministic, RGBA8).
Run from anywhere: python3 tests/scenes/make_images.py"""
import math, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))

def save(name, w, h, px):
    raw = b"".join(b"\0" + bytes(c for p in px[y * w:(y + 1) * w] for c in p) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)

# logo.png 64x64: an orange disc with a white ring, transparent outside, soft edge.
px = []
for y in range(64):
    for x in range(64):
        d = math.hypot(x + 0.5 - 32, y + 0.5 - 32)
        a = max(0, min(255, int((30 - d) * 128)))
        ring = 20 <= d < 25
        c = (255, 255, 255) if ring else (255, 140 + (x * 2) % 60, 20 + y)
        if 10 <= x < 54 and 29 <= y < 35:
            c = (30, 30, 160)
        px.append((*c, a))
save("logo.png", 64, 64, px)

# checker8.png 8x8: four colours in 2x2 blocks, one odd pixel per block, opaque.
cols = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (240, 220, 40)]
px = []
for y in range(8):
    for x in range(8):
        c = cols[(x // 2 + y // 2) % 4]
        if x % 2 == 0 and y % 2 == 0:
            c = (255, 255, 255)
        px.append((*c, 255))
save("checker8.png", 8, 8, px)

# ramp.png 64x32: colour gradient with a horizontal alpha ramp 0..255 (as workload W3).
px = [((x * 4) % 256, 255 - y * 8, 128, round(x * 255 / 63)) for y in range(32) for x in range(64)]
save("ramp.png", 64, 32, px)

# tiny.png 2x2: red, green / blue, half-transparent white.
save("tiny.png", 2, 2, [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255, 255, 255, 128)])
