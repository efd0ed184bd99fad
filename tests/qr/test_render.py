"""Rendering: sizes, SVG, logos (and the logos that are refused), and that
rendering happens off the event loop."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import pytest
from PIL import Image, ImageOps

from services.links.qr.colors import DEFAULT_BACKGROUND, DEFAULT_FOREGROUND
from services.links.qr.render import (
    BORDER,
    check_format,
    check_size,
    normalize_logo,
    qr_matrix,
    render_png,
    render_png_async,
    render_svg,
    render_svg_async,
    validate_logo,
)
from shared.envelope import BadRequest
from tests.qr import images
from tests.qr.scan import SVG_NS, XLINK_HREF, assert_carries, decode, parse_svg, rasterise_svg

BLACK, WHITE = DEFAULT_FOREGROUND, DEFAULT_BACKGROUND
PAYLOAD = "https://example.com/render?campaign=spring"
LONG = "Grüße, 東京 🚀 " + "x" * 300
LONGER = "Grüße, 東京 🚀 " + "x" * 1000


def png(payload: str = PAYLOAD, *, size: int = 400, logo: bytes | None = None) -> bytes:
    return render_png(payload, size=size, fg=BLACK, bg=WHITE, logo=logo)


@pytest.mark.parametrize("size", [100, 101, 333, 600, 2000])
def test_a_png_is_exactly_the_requested_size_and_decodes(size: int) -> None:
    data = png(size=size)
    image = Image.open(io.BytesIO(data))
    assert image.size == (size, size)
    assert_carries(data, PAYLOAD)


def test_modules_are_whole_pixels_and_the_quiet_zone_is_at_least_four_modules() -> None:
    count = len(qr_matrix(PAYLOAD, with_logo=False))
    image = Image.open(io.BytesIO(png(size=600))).convert("L")
    box = 600 // (count + 2 * BORDER)
    bbox = ImageOps.invert(image).getbbox()
    assert bbox is not None
    left, top, right, bottom = bbox
    assert (right - left, bottom - top) == (count * box, count * box)
    assert min(left, top, 600 - right, 600 - bottom) >= BORDER * box
    # The top-left finder pattern: 7 dark modules, then a light separator module.
    row = [image.getpixel((x, top)) for x in range(left, left + 8 * box)]
    assert row == [0] * (7 * box) + [255] * box


@pytest.mark.parametrize("size", [99, 0, -5, 2001, 10_000, "big", None, True, 600.5])
def test_a_size_out_of_range_is_a_400(size: Any) -> None:
    with pytest.raises(BadRequest, match="'size'") as info:
        render_png(PAYLOAD, size=size, fg=BLACK, bg=WHITE)
    assert info.value.status == 400
    with pytest.raises(BadRequest, match="'size'"):
        render_svg(PAYLOAD, size=size, fg=BLACK, bg=WHITE)


def test_a_size_from_a_query_string_is_accepted() -> None:
    assert check_size("250") == 250
    assert check_format("SVG") == "svg"
    assert check_format(None) == "png"
    with pytest.raises(BadRequest, match="'format' must be png or svg"):
        check_format("gif")


def test_a_size_too_small_for_the_data_is_a_400_telling_the_minimum() -> None:
    count = len(qr_matrix(LONGER, with_logo=False)) + 2 * BORDER
    assert count > 100
    with pytest.raises(BadRequest, match=f"at least {count} pixels"):
        png(LONGER, size=100)
    assert_carries(png(LONGER, size=count), LONGER)


# -- SVG ------------------------------------------------------------------------


def test_svg_is_well_formed_with_viewbox_size_and_colours() -> None:
    svg = render_svg(PAYLOAD, size=640, fg=(0, 51, 102), bg=(255, 248, 231))
    root = parse_svg(svg)
    total = len(qr_matrix(PAYLOAD, with_logo=False)) + 2 * BORDER
    assert root.tag == f"{SVG_NS}svg"
    assert root.attrib["viewBox"] == f"0 0 {total} {total}"
    assert (root.attrib["width"], root.attrib["height"]) == ("640", "640")
    background, modules = list(root)
    assert background.attrib["fill"] == "#fff8e7"
    assert (background.attrib["width"], background.attrib["height"]) == (str(total), str(total))
    assert modules.attrib["fill"] == "#003366"


@pytest.mark.parametrize("payload", [PAYLOAD, LONG])
def test_svg_rasterised_decodes_to_the_payload(payload: str) -> None:
    image = rasterise_svg(render_svg(payload, size=600, fg=BLACK, bg=WHITE))
    assert decode(image).text == payload


def test_svg_with_a_logo_embeds_it_as_a_png_and_still_decodes() -> None:
    svg = render_svg(PAYLOAD, size=600, fg=BLACK, bg=WHITE, logo=images.logo("JPEG"))
    root = parse_svg(svg)
    (embedded,) = root.iter(f"{SVG_NS}image")
    href = embedded.attrib[XLINK_HREF]
    assert href.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1]))).format == "PNG"
    barcode = decode(rasterise_svg(svg))
    assert barcode.text == PAYLOAD
    assert barcode.ec_level == "H"


# -- logos ----------------------------------------------------------------------


LOGOS = {
    "png": images.logo("PNG"),
    "jpeg": images.logo("JPEG"),
    "transparent": images.logo("PNG", transparent=True),
    "tall": images.logo("PNG", (60, 400)),
    "tiny": images.logo("PNG", (8, 8)),
    "large": images.logo("JPEG", (3000, 2000)),
}


@pytest.mark.parametrize("logo_name", list(LOGOS))
@pytest.mark.parametrize(
    ("payload", "size"),
    [("hi", 100), (PAYLOAD, 100), (PAYLOAD, 600), (LONG, 600), (LONG, 2000)],
)
def test_a_code_with_a_logo_still_decodes(logo_name: str, payload: str, size: int) -> None:
    data = png(payload, size=size, logo=LOGOS[logo_name])
    barcode = assert_carries(data, payload)
    assert barcode.ec_level == "H"


def test_the_logo_is_centred_on_a_background_pad_of_at_most_22_percent() -> None:
    count = len(qr_matrix(PAYLOAD, with_logo=True))
    box = 600 // (count + 2 * BORDER)
    image = Image.open(io.BytesIO(png(size=600, logo=images.logo()))).convert("RGB")
    logo_pixels = [
        (x, y)
        for x in range(600)
        for y in range(600)
        if image.getpixel((x, y)) not in ((0, 0, 0), (255, 255, 255))
    ]
    xs, ys = [x for x, _ in logo_pixels], [y for _, y in logo_pixels]
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    assert abs((left + right) / 2 - 299.5) <= box / 2
    assert abs((top + bottom) / 2 - 299.5) <= box / 2
    assert right - left + 1 <= 0.22 * count * box
    assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == (10, 10, 10)
    # The logo sits on the background colour, not on modules.
    around = [(x, top - 1) for x in range(left, right + 1)] + [
        (x, bottom + 1) for x in range(left, right + 1)
    ]
    assert {image.getpixel(p) for p in around} == {(255, 255, 255)}


def test_a_normalised_logo_is_a_small_png_that_renders_the_same_way() -> None:
    normalised = normalize_logo(LOGOS["large"])
    image = Image.open(io.BytesIO(normalised))
    assert image.format == "PNG"
    assert max(image.size) == 512
    assert_carries(png(size=600, logo=normalised), PAYLOAD)


BAD_LOGOS = {
    "over 2 MB": (images.noise_png(2 * 1024 * 1024 + 1), "at most 2 MB"),
    "not an image": (b"<html><body>hello</body></html>", "must be a PNG or JPEG"),
    "empty": (b"", "must be a PNG or JPEG"),
    "gif": (images.logo("GIF"), "must be a PNG or JPEG"),
    "bmp": (images.logo("BMP"), "must be a PNG or JPEG"),
    "webp": (images.logo("WEBP"), "must be a PNG or JPEG"),
    "truncated png": (images.logo("PNG")[:300], "must be a PNG or JPEG"),
    "truncated jpeg": (images.logo("JPEG")[:400], "must be a PNG or JPEG"),
    "png signature then junk": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "must be a PNG or JPEG"),
    "decompression bomb": (images.bomb_png(), "too large"),
    "too many pixels": (images.big_blank_png(5000, 4000), "too large"),
}


@pytest.mark.parametrize("name", list(BAD_LOGOS))
def test_a_bad_logo_is_a_400(name: str) -> None:
    data, message = BAD_LOGOS[name]
    with pytest.raises(BadRequest) as info:
        validate_logo(data)
    assert info.value.status == 400
    assert message in info.value.message
    with pytest.raises(BadRequest, match=message):
        png(logo=data)
    with pytest.raises(BadRequest, match=message):
        render_svg(PAYLOAD, size=300, fg=BLACK, bg=WHITE, logo=data)


# -- off the event loop -----------------------------------------------------------


async def test_async_rendering_leaves_the_event_loop_free() -> None:
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        image = await render_png_async(LONG, size=2000, fg=BLACK, bg=WHITE, logo=LOGOS["large"])
        ticks_while_rendering = ticks
    finally:
        done.set()
        await task
    # The loop kept running other tasks while the render was under way.
    assert ticks_while_rendering > 0
    assert_carries(image, LONG)
    svg = await render_svg_async(PAYLOAD, size=300, fg=BLACK, bg=WHITE)
    assert decode(rasterise_svg(svg)).text == PAYLOAD
