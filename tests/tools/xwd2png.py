#!/usr/bin/env python3
"""xwd2png.py XWD PNG: Xvfb's frame buffer (-fbdir, a 24/32-bit XWD file)
written out as a PNG, with nothing but Python's standard library."""
import struct
import sys
import zlib

d = open(sys.argv[1], "rb").read()
f = struct.unpack(">25I", d[:100])
size, w, h, bpl, ncolors = f[0], f[4], f[5], f[12], f[19]
off = size + ncolors * 12
rows = []
for y in range(h):
    r = d[off + y * bpl:off + y * bpl + 4 * w]
    px = bytearray(3 * w)
    px[0::3], px[1::3], px[2::3] = r[2::4], r[1::4], r[0::4]
    rows.append(b"\0" + bytes(px))


def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))


open(sys.argv[2], "wb").write(b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b""))
