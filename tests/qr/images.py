"""Logo files for the tests, made with Pillow (and one crafted by hand)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from functools import cache

from PIL import Image, ImageDraw


@cache
def logo(
    fmt: str = "PNG", size: tuple[int, int] = (240, 160), *, transparent: bool = False
) -> bytes:
    """A busy two-colour logo: the worst case for the modules it covers."""
    mode = "RGBA" if transparent else "RGB"
    image = Image.new(mode, size, (0, 0, 0, 0) if transparent else (250, 200, 40))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w // 10, h // 10, w - w // 10, h - h // 10), fill=(200, 20, 60, 255))
    draw.rectangle((w // 3, h // 3, 2 * w // 3, 2 * h // 3), fill=(10, 10, 10, 255))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@cache
def noise_png(min_bytes: int) -> bytes:
    """A valid PNG of random pixels, at least ``min_bytes`` long (noise does not compress)."""
    side = int((min_bytes / 3) ** 0.5) + 64
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    data = out.getvalue()
    assert len(data) >= min_bytes
    return data


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@cache
def bomb_png(side: int = 30_000) -> bytes:
    """A few hundred bytes whose header claims ``side`` x ``side`` pixels (900 MP)."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * 1024)  # a sliver of the claimed pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


@cache
def big_blank_png(width: int, height: int) -> bytes:
    """A real, tiny-on-disk PNG with many pixels (a 1-bit blank image)."""
    out = io.BytesIO()
    Image.new("1", (width, height), 1).save(out, "PNG")
    return out.getvalue()
