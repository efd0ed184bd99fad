"""What a tracking pixel's ``tag`` may be, per provider: the account, container or
tag id the provider's standard snippet needs, and nothing else.

The edge writes the tag into a ``<script>`` of the page that fires the pixels,
so a tag is checked against a strict pattern of its provider's id format (ASCII
letters, digits and a few separators; no quotes, brackets, spaces, newlines or
schemes) instead of being escaped. Patterns match the whole value."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from shared.envelope import BadRequest


@dataclass(frozen=True, slots=True)
class TagFormat:
    provider: str  # what the 400 calls it
    pattern: re.Pattern[str]
    example: str
    case: str = ""  # "upper" / "lower": how the provider writes its ids (stored so)


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


TAG_FORMATS: Final[dict[str, TagFormat]] = {
    "gtmpixel": TagFormat(
        "Google Tag Manager container id", _re(r"GTM-[A-Z0-9]{4,12}"), "GTM-ABC1234", case="upper"
    ),
    "gapixel": TagFormat(
        "Google Analytics measurement id",
        _re(r"G-[A-Z0-9]{4,16}|UA-[0-9]{4,12}-[0-9]{1,4}"),
        "G-ABCDE12345",
        case="upper",
    ),
    "fbpixel": TagFormat("Facebook pixel id", _re(r"[0-9]{6,20}"), "123456789012345"),
    "adwordspixel": TagFormat(
        "Google Ads conversion id", _re(r"AW-[0-9]{6,12}"), "AW-123456789", case="upper"
    ),
    "linkedinpixel": TagFormat("LinkedIn partner id", _re(r"[0-9]{3,12}"), "123456"),
    "twitterpixel": TagFormat("Twitter (X) pixel id", _re(r"[A-Za-z0-9]{4,12}"), "o1a2b"),
    "adrollpixel": TagFormat(
        "AdRoll advertiser and pixel ids (ADVERTISER/PIXEL)",
        _re(r"[A-Z0-9]{16,32}/[A-Z0-9]{16,32}"),
        "ABCDEFGHIJKLMNOPQRSTUV/WXYZ0123456789ABCDEF",
        case="upper",
    ),
    "quorapixel": TagFormat(
        "Quora pixel id",
        _re(r"[0-9a-f]{16,40}"),
        "0123456789abcdef0123456789abcdef",
        case="lower",
    ),
    "pinterest": TagFormat("Pinterest tag id", _re(r"[0-9]{6,20}"), "2612345678901"),
    "bing": TagFormat("Microsoft (Bing) UET tag id", _re(r"[0-9]{4,12}"), "12345678"),
    "snapchat": TagFormat(
        "Snapchat pixel id",
        _re(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        "01234567-89ab-cdef-0123-456789abcdef",
        case="lower",
    ),
    "reddit": TagFormat(
        "Reddit pixel id", _re(r"(t2|a2)_[a-z0-9]{4,20}"), "t2_abc123", case="lower"
    ),
}
PIXEL_TYPES: Final = tuple(TAG_FORMATS)
MAX_TAG_LENGTH: Final = 100


def validate_tag(pixel_type: str, value: object) -> str:
    """The tag as stored, or a 400 that says what the provider's id looks like."""
    fmt = TAG_FORMATS[pixel_type]
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise BadRequest("The field 'tag' must be a string.")
    # Deliberately not stripped: surrounding whitespace or newlines are refused too.
    tag = value
    if value.isascii():  # (case mapping of other scripts can yield ASCII letters)
        tag = {"upper": value.upper(), "lower": value.lower()}.get(fmt.case, value)
    if len(tag) > MAX_TAG_LENGTH or not fmt.pattern.fullmatch(tag):
        raise BadRequest(
            f"The field 'tag' must be a {fmt.provider} for a {pixel_type} pixel, "
            f"e.g. {fmt.example}."
        )
    return tag
