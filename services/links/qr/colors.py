"""QR colours: ``rgb(r,g,b)`` or ``#RRGGBB`` / ``#RGB`` in, ``(r, g, b)`` out,
and the check that a phone can still tell the modules from the background.

Readability is judged by the WCAG 2.x contrast ratio of the two colours'
relative luminances, which is what a camera's binariser works from (it
thresholds brightness; hue is lost). The minimum is 3:1, WCAG's bar for
graphical objects that must be recognised (SC 1.4.11). Phones scan codes
off glossy print and dim or glaring screens, which flattens contrast, so a
code that barely passes on screen fails in the hand: 3:1 keeps brand colours
such as #1E90FF or #E00000 on white, and refuses yellow, light grey, lime
or orange on white, which scanners are known to struggle with.

Inverted codes (light modules on a dark background) are refused too. ISO/IEC
18004 allows "reflectance reversal", but readers must opt in to look for it:
ZXing-based Android scanners and many in-app readers only try it when told
to, and some never do, so an inverted code fails silently for part of the
audience. The foreground must therefore be the darker colour.
"""

from __future__ import annotations

import re
from typing import Any, Final

from shared.envelope import BadRequest

RGB = tuple[int, int, int]

DEFAULT_FOREGROUND: Final[RGB] = (0, 0, 0)
DEFAULT_BACKGROUND: Final[RGB] = (255, 255, 255)
MIN_CONTRAST: Final = 3.0

_RGB_RE: Final = re.compile(r"rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)", re.I)
_HEX_RE: Final = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})", re.I)

TOO_SIMILAR: Final = "The foreground and background colours are too similar for a phone to read."
INVERTED: Final = (
    "The foreground colour must be darker than the background: "
    "many phone scanners cannot read light-on-dark (inverted) codes."
)


def parse_color(value: Any, field: str) -> RGB:
    """``rgb(r, g, b)`` (0-255 each, spaces allowed) or ``#RRGGBB`` / ``#RGB``."""
    if not isinstance(value, str):
        raise BadRequest(f"The field '{field}' must be a colour as rgb(r,g,b) or #RRGGBB.")
    text = value.strip()
    match = _RGB_RE.fullmatch(text)
    if match:
        channels = tuple(int(group) for group in match.groups())
        if any(channel > 255 for channel in channels):
            raise BadRequest(f"The field '{field}' has a colour channel above 255.")
        return channels[0], channels[1], channels[2]
    match = _HEX_RE.fullmatch(text)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    raise BadRequest(f"The field '{field}' must be a colour as rgb(r,g,b) or #RRGGBB.")


def relative_luminance(color: RGB) -> float:
    """WCAG 2.x relative luminance of an sRGB colour, 0 (black) to 1 (white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = color
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(first: RGB, second: RGB) -> float:
    """WCAG contrast ratio, 1 (identical) to 21 (black on white)."""
    a, b = relative_luminance(first), relative_luminance(second)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def check_readable(foreground: RGB, background: RGB) -> None:
    """400 unless a phone can read ``foreground`` modules on ``background``."""
    if contrast_ratio(foreground, background) < MIN_CONTRAST:
        raise BadRequest(TOO_SIMILAR)
    if relative_luminance(foreground) > relative_luminance(background):
        raise BadRequest(INVERTED)


def parse_colors(foreground: Any, background: Any) -> tuple[RGB, RGB]:
    """The API's optional ``foreground`` and ``background`` (absent, ``null`` or
    empty: black on white)."""
    fg = DEFAULT_FOREGROUND if foreground in (None, "") else parse_color(foreground, "foreground")
    bg = DEFAULT_BACKGROUND if background in (None, "") else parse_color(background, "background")
    check_readable(fg, bg)
    return fg, bg


def hex_color(color: RGB) -> str:
    """``#rrggbb``, as SVG and CSS take it."""
    return "#{:02x}{:02x}{:02x}".format(*color)


def rgb_text(color: RGB) -> str:
    """``rgb(r,g,b)``, the published API's own spelling."""
    return "rgb({},{},{})".format(*color)
