#!/usr/bin/env python3
"""Writes small hand-made seeds for the nvmm_descriptor and element_props targets.

    cd fuzz && python3 seeds/make_seeds.py     # -> corpus/nvmm_descriptor, corpus/element_props

nvmm_descriptor input: flags byte, descriptor (64 / 72 bytes), then chunks of
(u32 LE pixel offset, params of 384 / 416 bytes), then draw parameters (see
fuzz_targets/nvmm_descriptor.rs). surfaceList and dataPtr are filled in by the target.
"""
import os
import struct
import sys

DS4TO7, DS8 = 0, 1
SURFACE = {DS4TO7: 64, DS8: 72}
PARAMS = {DS4TO7: 384, DS8: 416}
RGBA, BGRA, RGBX, BGRX, NV12 = 19, 20, 23, 24, 6
SYSTEM, CUDA_DEVICE, SURFACE_ARRAY = 6, 2, 4


def descriptor(abi, batch, filled, mem=SYSTEM, gpu=0):
    d = bytearray(SURFACE[abi])
    struct.pack_into("<IIIB", d, 0, gpu, batch, filled, 1)
    struct.pack_into("<I", d, 16, mem)
    return bytes(d)


def params(abi, w, h, pitch, fmt=RGBA, layout=0, data_size=None, offset0=0,
           psize=None, bpp=4, planes=1, plane_w=None):
    p = bytearray(PARAMS[abi])
    if data_size is None:
        data_size = offset0 + pitch * h
    if psize is None:
        psize = pitch * h
    struct.pack_into("<IIIII", p, 0, w, h, pitch, fmt, layout)
    struct.pack_into("<I", p, 32, data_size & 0xFFFFFFFF)
    pp = 48
    struct.pack_into("<I", p, pp, planes)
    struct.pack_into("<I", p, pp + 4, w if plane_w is None else plane_w)
    struct.pack_into("<I", p, pp + 20, h)
    struct.pack_into("<I", p, pp + 36, pitch)
    struct.pack_into("<I", p, pp + 52, offset0)
    struct.pack_into("<I", p, pp + 68, psize)
    struct.pack_into("<I", p, pp + 84, bpp)
    return bytes(p)


def draw(frames):
    out = b""
    for k in range(frames):
        # box: rect (i16 quarter pixels), width, colour, fill flag
        out += bytes([0]) + struct.pack("<hhhh", 4 * 2, 4 * 1, 4 * 10, 4 * 6)
        out += bytes([2, 255, 0, 0, 255, 1])
        # blur: rect, selector (0: solid), arg, colour
        out += bytes([0]) + struct.pack("<hhhh", 4 * 3, 4 * 2, 4 * 5, 4 * 4)
        out += bytes([k * 5, 3, 0, 0, 0, 255])
    return out


def seed(flags, abi, desc, frames):
    body = bytes([flags | abi]) + desc
    for off, p in frames:
        body += struct.pack("<I", off) + p
    return body + draw(len(frames))


def nvmm_seeds():
    s = {}
    for abi, name in ((DS4TO7, "ds7"), (DS8, "ds8")):
        s[f"{name}_one_rgba"] = seed(0, abi, descriptor(abi, 1, 1),
                                     [(0, params(abi, 16, 8, 64))])
        s[f"{name}_two_padded"] = seed(0, abi, descriptor(abi, 4, 2), [
            (0, params(abi, 12, 10, 52, BGRX)),
            (4096, params(abi, 20, 6, 84, RGBX)),
        ])
        s[f"{name}_unaligned_offset0"] = seed(0x10, abi, descriptor(abi, 2, 1),
                                              [(3, params(abi, 9, 7, 37, BGRA, offset0=12))])
        s[f"{name}_datasize_short"] = seed(0x20, abi, descriptor(abi, 1, 1),
                                           [(0, params(abi, 16, 8, 64, data_size=100))])
        s[f"{name}_edge_of_area"] = seed(0, abi, descriptor(abi, 1, 1),
                                         [(16384 - 64 * 8, params(abi, 16, 8, 64))])
        s[f"{name}_overlap"] = seed(0x40, abi, descriptor(abi, 2, 0), [
            (0, params(abi, 16, 8, 64)), (256, params(abi, 16, 8, 64))])
        s[f"{name}_parse_cuda"] = seed(0x08, abi, descriptor(abi, 1, 1, CUDA_DEVICE),
                                       [(0, params(abi, 16, 8, 64))])
        s[f"{name}_parse_surface_array"] = seed(0x08, abi, descriptor(abi, 1, 1, SURFACE_ARRAY),
                                                [(0, params(abi, 16, 8, 64))])
        s[f"{name}_opts_other_abi"] = seed(0x06, abi, descriptor(abi, 1, 1),
                                           [(0, params(abi, 16, 8, 64))])
        s[f"{name}_block_linear"] = seed(0, abi, descriptor(abi, 1, 1),
                                         [(0, params(abi, 16, 8, 64, layout=1))])
        s[f"{name}_nv12"] = seed(0, abi, descriptor(abi, 1, 1),
                                 [(0, params(abi, 16, 8, 16, NV12, bpp=1, planes=2))])
        s[f"{name}_huge_claims"] = seed(0x30, abi, descriptor(abi, 1, 1), [
            (0, params(abi, 16384, 16384, 65536, data_size=0xFFFFFFFF, psize=0xFFFFFFFF))])
        s[f"{name}_extra_list"] = seed(0x80, abi, descriptor(abi, 1, 1),
                                       [(0, params(abi, 16, 8, 64))])
    # Params of the other ABI's layout under this one's descriptor size.
    s["ds8_desc_ds7_params"] = seed(0, DS8, descriptor(DS8, 1, 1),
                                    [(0, params(DS4TO7, 16, 8, 64) + bytes(32))])
    return s


ELEMENT_SEEDS = {
    "boxes": """roi=person:2:2:10:8
roi=car:20:4:6:6
outline-width=2
class-colors=person=0xffff0000,car=0xff0000ff
fill-color=0x40ffffff
push
outline-align=center
push
""",
    "blur_kinds": """blur-types=face,license-plate
roi=face:4:4:12:8
roi=license-plate:18:6:10:4
blur-kind=pixelate
blur-strength=3
push
blur-kind=gaussian
blur-strength=1.5
expand=2
push
blur-kind=solid
redact-color=0xff123456
push
blur-kind=box
blur-strength=1024
push
""",
    "hostile_rects": """roi=person:4294967291:3:4294967295:10
roi=face:-5:-5:100000:7
roi=car:2147483648:0:1:1
roi=person:0:0:0:0
blur-types=face
expand=4096
push
""",
    "frame_params": """roi=person:1:1:5:5:0
roi=face:2:2:5:5:3
roi=car:3:3:5:5:-1
roi=person:4:4:4:4:abc
features=nvmm
push
features=cuda
push
features=none
push
""",
    "overlay": """overlay-location=tiny.png
overlay-x=-3
overlay-y=2
overlay-width=40
overlay-height=0
overlay-opacity=0.5
push
overlay-location=huge.png
push
overlay-location=claims.png
push
overlay-location=trunc.png
push
overlay-location=dir.png
push
overlay-location=NULL
push
overlay-location=big.png
overlay-width=16384
overlay-height=16384
push
""",
    "fail_modes": """fail-mode=redact
blur-types=face
roi=face:1:1:8:8
format=NV12
push
fail-mode=drop
format=BGRx
push
fail-mode=pass
class-colors=person=0xzz
size=8x64
push
restart
push
""",
    "bad_values": """outline-width=100000
blur-strength=nan
expand=-1
overlay-opacity=inf
blur-kind=17
fail-mode=nonsense
cuda-in-place=3
qos=true
outline-color=-1
push
""",
}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
    for target, seeds in (("nvmm_descriptor", nvmm_seeds()),
                          ("element_props", {k: v.encode() for k, v in ELEMENT_SEEDS.items()})):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed_" + name), "wb") as f:
                f.write(data)
        print(f"{len(seeds)} seeds in {os.path.relpath(d)}", file=sys.stderr)


if __name__ == "__main__":
    main()
