"""Which URLs a link may send visitors to.

A destination is an absolute URL. http and https need a valid host; other
schemes (``mailto:``, ``tel:``, ``sms:``, app schemes like ``fb://``) are
deep links and pass through as written. Schemes that run code or read local
data in the visitor's browser are refused however they are spelled: the
scheme is read as a browser reads it (after trimming, case-insensitively),
and control characters, which browsers silently drop inside a scheme
(``java\\tscript:``), are refused outright.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Final

from yarl import URL

from shared.envelope import BadRequest

MAX_URL_LENGTH: Final = 8000
_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]{0,31}):")
# Controls, spaces and invisible separators: browsers drop or fold some of them.
_FORBIDDEN_CHARS_RE: Final = re.compile(
    r"[\x00-\x20\x7f-\xa0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]"
)
_HOST_RE: Final = re.compile(
    r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
FORBIDDEN_SCHEMES: Final = frozenset(
    {
        "javascript", "vbscript", "livescript", "data", "file", "blob", "filesystem",
        "about", "view-source", "jar", "chrome", "chrome-extension", "moz-extension",
        "resource", "res", "ms-its", "mhtml",
    }
)  # fmt: skip
IMAGE_SUFFIXES: Final = (".jpg", ".jpeg", ".png")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"The field '{field}' must be a string.")
    return value.strip()


def normalize_host(raw: str) -> str | None:
    """A host as a visitor's ``Host`` header would carry it (lower-case, IDNA, with
    port unless it is the scheme's default: ``name:443`` and ``name`` are one host)."""
    host = raw.strip().rstrip(".").lower()
    port = ""
    if ":" in host and not host.startswith("["):
        host, _, port = host.rpartition(":")
        host = host.rstrip(".")
        if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            return None
        port = "" if int(port) in (80, 443) else f":{int(port)}"
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    if not _HOST_RE.fullmatch(ascii_host):
        return None
    return ascii_host + port


def validate_url(
    value: Any, field: str, *, web_only: bool = False, max_length: int = MAX_URL_LENGTH
) -> str:
    """An absolute destination URL; ``web_only`` allows only http and https."""
    url = _text(value, field)
    if not url:
        raise BadRequest(f"The field '{field}' must not be empty.")
    if len(url) > max_length:
        raise BadRequest(f"The field '{field}' must be at most {max_length} characters.")
    if _FORBIDDEN_CHARS_RE.search(url):
        raise BadRequest(f"The field '{field}' must not contain spaces or control characters.")
    match = _SCHEME_RE.match(url)
    if match is None:
        raise BadRequest(
            f"The field '{field}' must be a full URL with its scheme, e.g. https://example.com."
        )
    scheme = match.group(1).lower()
    if scheme in FORBIDDEN_SCHEMES:
        raise BadRequest(f"The field '{field}' may not use the '{scheme}:' scheme.")
    if scheme in ("http", "https"):
        try:
            parsed = URL(url)
        except ValueError as exc:
            raise BadRequest(f"The field '{field}' is not a valid URL.") from exc
        host = parsed.raw_host or ""
        if not host or (normalize_host(host) is None and not _is_ip_literal(host)):
            raise BadRequest(f"The field '{field}' must have a valid host name.")
        return url
    if web_only:
        raise BadRequest(f"The field '{field}' must be an http or https URL.")
    if len(url) == len(match.group(0)):
        raise BadRequest(f"The field '{field}' is not a valid URL.")
    return url


def validate_image_url(value: Any, field: str) -> str:
    """An http(s) URL of a jpg or png image (by its path)."""
    url = validate_url(value, field, web_only=True)
    if not URL(url).path.lower().endswith(IMAGE_SUFFIXES):
        raise BadRequest(f"The field '{field}' must be the URL of a jpg or png image.")
    return url


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
