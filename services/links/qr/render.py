"""Drawing a QR code as PNG or SVG, optionally with a logo in the middle.

- The symbol is built by ``qrcode`` (error correction M, or H when a logo
  covers part of it) and drawn here: every module is a whole number of pixels
  (crisp edges, nothing for a scanner to guess), the quiet zone is at least
  4 modules, and what ``size`` leaves over widens the quiet zone evenly.
- A logo sits on a background-coloured pad of whole modules, at most 22 % of
  the symbol's width (under 5 % of its area): level H restores up to 30 % of
  the codewords, which leaves room for print damage and glare too. The pad
  never reaches the finder patterns or the timing lines.
- Logos are untrusted bytes: PNG or JPEG only, recognised by their signature
  and decoded by Pillow (never trusted by name or content type), at most
  2 MB, at most ``MAX_LOGO_PIXELS`` pixels, checked from the header before any
  pixel is decompressed.
- SVG carries the logo too (re-encoded as a PNG data URI, so nothing from the
  uploaded file but its pixels reaches the document): PNG and SVG of one code
  look the same and use the same error correction.

Rendering is CPU-bound (``qrcode`` is pure Python); handlers call the
``*_async`` wrappers, which run it in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any, Final, Literal

import qrcode
import qrcode.constants
from PIL import Image, JpegImagePlugin, PngImagePlugin
from qrcode.exceptions import DataOverflowError

from services.links.qr.colors import RGB, check_readable, hex_color
from shared.envelope import BadRequest

ImageFormat = Literal["png", "svg"]

# Part of every cache key: bump it when the drawing changes.
RENDERER_VERSION: Final = 1
MIN_SIZE: Final = 100
MAX_SIZE: Final = 2000
DEFAULT_SIZE: Final = 300
BORDER: Final = 4
MAX_LOGO_BYTES: Final = 2 * 1024 * 1024
MAX_LOGO_PIXELS: Final = 16_000_000  # a 4000 x 4000 logo; decoded it is 64 MB of RGBA
MAX_NORMALIZED_LOGO_SIDE: Final = 512
LOGO_SHARE: Final = 0.22

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE: Final = b"\xff\xd8\xff"
_NOT_AN_IMAGE: Final = "The logo must be a PNG or JPEG image."
_LOGO_TOO_BIG: Final = "The logo must be at most 2 MB."


def check_size(value: Any, field: str = "size") -> int:
    """An image size in pixels, ``MIN_SIZE`` to ``MAX_SIZE``."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"The field '{field}' must be an integer number of pixels.")
    if not MIN_SIZE <= value <= MAX_SIZE:
        raise BadRequest(f"The field '{field}' must be between {MIN_SIZE} and {MAX_SIZE}.")
    return value


def check_format(value: Any, field: str = "format") -> ImageFormat:
    text = value.strip().lower() if isinstance(value, str) else value
    if text in (None, "", "png"):
        return "png"
    if text == "svg":
        return "svg"
    raise BadRequest(f"The field '{field}' must be png or svg.")


# -- the symbol ---------------------------------------------------------------


def qr_matrix(payload: str, *, with_logo: bool) -> list[list[bool]]:
    """The modules of the smallest symbol that holds ``payload`` (no quiet zone)."""
    level = qrcode.constants.ERROR_CORRECT_H if with_logo else qrcode.constants.ERROR_CORRECT_M
    code = qrcode.QRCode(error_correction=level, border=0)
    code.add_data(payload)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError) as exc:  # ValueError: "Invalid version (was 41 …)"
        if with_logo:
            raise BadRequest(
                "The field 'data' is too long for a QR code with a logo: "
                "shorten it or leave the logo out."
            ) from exc
        raise BadRequest("The field 'data' is too long to fit in a QR code.") from exc
    return [[bool(module) for module in row] for row in code.modules]


def ensure_fits(payload: str, *, with_logo: bool) -> None:
    """400 if ``payload`` cannot be a QR code (checked before anything is stored)."""
    qr_matrix(payload, with_logo=with_logo)


def _module_pixels(modules: int, size: int) -> int:
    total = modules + 2 * BORDER
    box = size // total
    if box < 1:
        raise BadRequest(
            f"The field 'size' is too small for this much data: use at least {total} pixels."
        )
    return box


def _logo_modules(modules: int) -> int:
    """Width of the logo pad in modules: odd (so it centres on a module), ≤ 22 %."""
    width = int(modules * LOGO_SHARE)
    return max(1, width if width % 2 else width - 1)


# -- logos --------------------------------------------------------------------


def open_logo(data: bytes) -> Image.Image:
    """The logo's pixels as RGBA, or a 400 saying what is wrong with it."""
    if len(data) > MAX_LOGO_BYTES:
        raise BadRequest(_LOGO_TOO_BIG)
    image = _open_header(data)
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_LOGO_PIXELS:
        raise BadRequest(
            f"The logo is too large: at most {MAX_LOGO_PIXELS // 1_000_000} million pixels."
        )
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        # JPEG can decode at 1/2, 1/4 or 1/8 scale: far less memory and time.
        image.draft("RGB", (MAX_NORMALIZED_LOGO_SIDE, MAX_NORMALIZED_LOGO_SIDE))
    try:
        image.load()
        return image.convert("RGBA")
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise BadRequest(_NOT_AN_IMAGE) from exc


def _open_header(data: bytes) -> PngImagePlugin.PngImageFile | JpegImagePlugin.JpegImageFile:
    # The plugins are used directly, not through Image.open: only these two
    # formats are tried, and the pixel count is checked here, before Pillow's
    # own bomb check would warn (or raise) from inside open().
    stream = io.BytesIO(data)
    try:
        if data.startswith(_PNG_SIGNATURE):
            return PngImagePlugin.PngImageFile(stream)
        if data.startswith(_JPEG_SIGNATURE):
            return JpegImagePlugin.JpegImageFile(stream)
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
        raise BadRequest(_NOT_AN_IMAGE) from exc
    raise BadRequest(_NOT_AN_IMAGE)


def validate_logo(data: bytes) -> None:
    """400 unless ``data`` is a PNG or JPEG logo that can be drawn."""
    open_logo(data)


def normalize_logo(data: bytes, *, max_side: int = MAX_NORMALIZED_LOGO_SIDE) -> bytes:
    """The logo re-encoded as a PNG of at most ``max_side`` pixels a side.

    Worth storing instead of the upload: it is small, stripped of metadata,
    and quick to decode on every uncached render."""
    image = open_logo(data)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _fit(logo: Image.Image, box: int) -> Image.Image:
    """``logo`` scaled (up or down) to fit a ``box`` x ``box`` square."""
    width, height = logo.size
    scale = box / max(width, height)
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    return logo.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)


# -- PNG ----------------------------------------------------------------------


def render_png(payload: str, *, size: int, fg: RGB, bg: RGB, logo: bytes | None = None) -> bytes:
    """A ``size`` x ``size`` PNG of ``payload``; ``logo`` (PNG/JPEG bytes) in the middle."""
    size = check_size(size)
    check_readable(fg, bg)
    logo_image = open_logo(logo) if logo is not None else None
    modules = qr_matrix(payload, with_logo=logo_image is not None)
    count = len(modules)
    box = _module_pixels(count, size)

    # One pixel per module, then scaled by a whole factor: crisp and fast.
    symbol = Image.frombytes(
        "P", (count, count), bytes(1 if dark else 0 for row in modules for dark in row)
    )
    palette = [*bg, *fg]
    symbol.putpalette(palette)
    symbol = symbol.resize((count * box, count * box), Image.Resampling.NEAREST)
    offset = (size - count * box) // 2
    canvas = Image.new("P", (size, size), 0)
    canvas.putpalette(palette)
    canvas.paste(symbol, (offset, offset))

    if logo_image is not None:
        canvas = canvas.convert("RGB")
        pad_modules = _logo_modules(count)
        pad_origin = offset + (count - pad_modules) // 2 * box
        pad = pad_modules * box
        canvas.paste(bg, (pad_origin, pad_origin, pad_origin + pad, pad_origin + pad))
        margin = max(1, box // 2)
        fitted = _fit(logo_image, max(1, pad - 2 * margin))
        x = pad_origin + (pad - fitted.width) // 2
        y = pad_origin + (pad - fitted.height) // 2
        canvas.paste(fitted, (x, y), fitted)

    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=6)
    return out.getvalue()


# -- SVG ----------------------------------------------------------------------


def render_svg(payload: str, *, size: int, fg: RGB, bg: RGB, logo: bytes | None = None) -> bytes:
    """An SVG of ``payload`` drawn in module units (``viewBox``), ``size`` px wide."""
    size = check_size(size)
    check_readable(fg, bg)
    logo_image = open_logo(logo) if logo is not None else None
    modules = qr_matrix(payload, with_logo=logo_image is not None)
    count = len(modules)
    _module_pixels(count, size)  # same size rule as the PNG of the same code
    total = count + 2 * BORDER

    runs: list[str] = []
    for y, row in enumerate(modules):
        x = 0
        while x < count:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < count and row[x]:
                x += 1
            width = x - start
            runs.append(f"M{start + BORDER} {y + BORDER}h{width}v1h-{width}z")

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'version="1.1" width="{size}" '
        f'height="{size}" viewBox="0 0 {total} {total}" shape-rendering="crispEdges">',
        f'<rect x="0" y="0" width="{total}" height="{total}" fill="{hex_color(bg)}"/>',
        f'<path fill="{hex_color(fg)}" d="{"".join(runs)}"/>',
    ]
    if logo_image is not None:
        pad = _logo_modules(count)
        origin = BORDER + (count - pad) // 2
        parts.append(
            f'<rect x="{origin}" y="{origin}" width="{pad}" height="{pad}" fill="{hex_color(bg)}"/>'
        )
        inner = pad - 1  # half a module of margin on each side, as in the PNG
        pixels = max(1, round(inner * size / total))
        encoded = io.BytesIO()
        _fit(logo_image, pixels).save(encoded, "PNG")
        data_uri = "data:image/png;base64," + base64.b64encode(encoded.getvalue()).decode()
        parts.append(
            f'<image x="{origin + 0.5}" y="{origin + 0.5}" width="{inner}" height="{inner}" '
            f'preserveAspectRatio="xMidYMid meet" xlink:href="{data_uri}"/>'
        )
    parts.append("</svg>\n")
    return "".join(parts).encode("utf-8")


def render(
    payload: str, *, format: ImageFormat, size: int, fg: RGB, bg: RGB, logo: bytes | None
) -> bytes:
    if format == "svg":
        return render_svg(payload, size=size, fg=fg, bg=bg, logo=logo)
    return render_png(payload, size=size, fg=fg, bg=bg, logo=logo)


# -- off the event loop -------------------------------------------------------


async def render_png_async(
    payload: str, *, size: int, fg: RGB, bg: RGB, logo: bytes | None = None
) -> bytes:
    return await asyncio.to_thread(render_png, payload, size=size, fg=fg, bg=bg, logo=logo)


async def render_svg_async(
    payload: str, *, size: int, fg: RGB, bg: RGB, logo: bytes | None = None
) -> bytes:
    return await asyncio.to_thread(render_svg, payload, size=size, fg=fg, bg=bg, logo=logo)


async def render_async(
    payload: str, *, format: ImageFormat, size: int, fg: RGB, bg: RGB, logo: bytes | None
) -> bytes:
    return await asyncio.to_thread(
        render, payload, format=format, size=size, fg=fg, bg=bg, logo=logo
    )


async def validate_logo_async(data: bytes) -> None:
    await asyncio.to_thread(validate_logo, data)


async def normalize_logo_async(data: bytes) -> bytes:
    return await asyncio.to_thread(normalize_logo, data)
