"""Field checks shared by the custom pages (splash pages, CTA overlays) and
channels: optional texts, web URLs and ``#RRGGBB`` colours, each ``null`` or
``""`` to clear."""

from __future__ import annotations

import re
from typing import Any, Final

from services.links.destinations import validate_image_url, validate_url
from shared.envelope import BadRequest
from shared.request_body import Body

_COLOR_RE: Final = re.compile(r"#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})", re.ASCII)


def cleared(body: Body, name: str) -> bool:
    return body.has(name) and body.raw(name) in (None, "")


def optional_text(body: Body, name: str, max_length: int) -> str | None:
    return None if cleared(body, name) else body.text(name, max_length=max_length) or None


def optional_url(body: Body, name: str) -> str | None:
    return None if cleared(body, name) else validate_url(body.raw(name), name, web_only=True)


def optional_image(body: Body, name: str) -> str | None:
    return None if cleared(body, name) else validate_image_url(body.raw(name), name)


def color(value: Any, name: str) -> str:
    """``#RRGGBB`` (``#RGB`` is expanded), upper-case."""
    if not isinstance(value, str) or not _COLOR_RE.fullmatch(value):
        raise BadRequest(f"The field '{name}' must be a colour as #RRGGBB, e.g. #FF0000.")
    digits = value[1:]
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits.upper()


def required_name(body: Body, max_length: int = 100) -> str:
    name = body.text("name", required=True, max_length=max_length)
    assert name is not None
    return name
