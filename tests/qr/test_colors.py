"""Colours: both published spellings, what they draw, and the 400s for
colours a phone could not read."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageOps

from services.links.qr.colors import (
    INVERTED,
    MIN_CONTRAST,
    TOO_SIMILAR,
    contrast_ratio,
    hex_color,
    parse_color,
    parse_colors,
    rgb_text,
)
from services.links.qr.render import render_png, render_svg
from shared.envelope import BadRequest
from tests.qr.scan import assert_carries, decode

PAYLOAD = "https://example.com/colours"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rgb(255,255,255)", (255, 255, 255)),
        ("rgb( 0 , 51 ,102 )", (0, 51, 102)),
        ("RGB(1,2,3)", (1, 2, 3)),
        ("#1E90FF", (30, 144, 255)),
        ("#1e90ff", (30, 144, 255)),
        ("#fA0", (255, 170, 0)),
        ("  #000000 ", (0, 0, 0)),
    ],
)
def test_both_published_spellings_parse(text: str, expected: tuple[int, int, int]) -> None:
    assert parse_color(text, "foreground") == expected


@pytest.mark.parametrize(
    "value",
    [
        "rgb(256,0,0)",
        "rgb(1,2)",
        "rgb(-1,0,0)",
        "rgba(0,0,0,1)",
        "rgb(0,0,0",
        "rgb(1.5,2,3)",
        "#12345",
        "#GGGGGG",
        "000000",
        "black",
        "#0000000",
        123,
        [0, 0, 0],
        True,
    ],
)
@pytest.mark.parametrize("field", ["foreground", "background"])
def test_an_invalid_colour_is_a_400_naming_the_field(value: Any, field: str) -> None:
    args = {"foreground": None, "background": None, field: value}
    with pytest.raises(BadRequest) as info:
        parse_colors(args["foreground"], args["background"])
    assert info.value.status == 400
    assert f"'{field}'" in info.value.message


def test_absent_colours_are_black_on_white() -> None:
    assert parse_colors(None, None) == ((0, 0, 0), (255, 255, 255))
    assert parse_colors("", "") == ((0, 0, 0), (255, 255, 255))


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        ("rgb(0, 51, 102)", "#FFF8E7"),  # navy on cream
        ("#1E90FF", "rgb(255,255,255)"),  # a brand blue just over 3:1
        ("#E00000", "#FFFFFF"),
        ("#003300", "#CCFFCC"),
    ],
)
def test_coloured_codes_draw_in_their_colours_and_decode(foreground: str, background: str) -> None:
    fg, bg = parse_colors(foreground, background)
    png = render_png(PAYLOAD, size=400, fg=fg, bg=bg, logo=None)
    assert_carries(png, PAYLOAD)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert {color for _, color in image.getcolors() or []} == {fg, bg}
    assert image.getpixel((0, 0)) == bg  # quiet zone
    svg = render_svg(PAYLOAD, size=400, fg=fg, bg=bg)
    assert f'fill="{hex_color(bg)}"'.encode() in svg
    assert f'fill="{hex_color(fg)}"'.encode() in svg


def test_the_palest_foreground_allowed_still_decodes() -> None:
    grey = next(
        level
        for level in range(255, -1, -1)
        if contrast_ratio((level, level, level), (255, 255, 255)) >= MIN_CONTRAST
    )
    fg, bg = parse_colors(rgb_text((grey, grey, grey)), "#FFFFFF")
    assert_carries(render_png(PAYLOAD, size=300, fg=fg, bg=bg), PAYLOAD)
    with pytest.raises(BadRequest, match="too similar"):
        parse_colors(rgb_text((grey + 1, grey + 1, grey + 1)), "#FFFFFF")


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        ("#FFFFFF", "#FFFFFF"),
        ("rgb(200,200,200)", "rgb(255,255,255)"),
        ("#FFD700", "#FFFFFF"),  # gold on white
        ("#FFA500", "#FFFFFF"),  # orange on white
        ("#00FF00", "#FFFFFF"),  # lime on white
        ("#000000", "#333333"),  # black on charcoal
        ("#FF0000", "#00A000"),  # red on green: different hues, same brightness
    ],
)
def test_colours_too_similar_for_a_phone_are_a_400(foreground: str, background: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_colors(foreground, background)
    assert info.value.status == 400
    assert info.value.message == TOO_SIMILAR


def test_an_inverted_code_is_a_400() -> None:
    # Light modules on a dark background, contrast to spare: still refused.
    with pytest.raises(BadRequest) as info:
        parse_colors("#FFFFFF", "#000000")
    assert info.value.status == 400
    assert info.value.message == INVERTED
    with pytest.raises(BadRequest, match="inverted"):
        render_png(PAYLOAD, size=300, fg=(255, 255, 255), bg=(0, 0, 0))
    with pytest.raises(BadRequest, match="too similar"):
        render_svg(PAYLOAD, size=300, fg=(250, 250, 250), bg=(255, 255, 255))


def test_why_inverted_codes_are_refused_a_reader_without_inversion_misses_them() -> None:
    png = render_png(PAYLOAD, size=300, fg=(0, 0, 0), bg=(255, 255, 255))
    inverted = ImageOps.invert(Image.open(io.BytesIO(png)).convert("RGB"))
    assert decode(inverted, try_invert=True).text == PAYLOAD
    with pytest.raises(AssertionError, match="found 0"):
        decode(inverted, try_invert=False)
