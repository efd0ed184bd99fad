"""Building the ``Location`` a visitor is sent to: the link's ``parameters``
merged into the destination's query, and the result made safe for a header."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import quote, quote_plus, unquote_plus

# Everything a URL may carry literally; anything else (spaces, controls, non-ASCII)
# is percent-encoded so the value is a valid header and cannot split one.
_URL_SAFE: Final = "!#$%&'()*+,-./:;=?@[]_~"


def header_safe(url: str) -> str:
    """``url`` with every character that may not appear in a header percent-encoded."""
    if url.isascii() and url.isprintable() and " " not in url:
        return url
    return quote(url, safe=_URL_SAFE)


def merge_parameters(url: str, parameters: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``parameters`` in its query: the destination's own parameters are
    kept as they were written, ours replace those of the same name, and the fragment
    stays last."""
    if not parameters:
        return url
    base, hash_mark, fragment = url.partition("#")
    path, _, query = base.partition("?")
    ours = {name for name, _ in parameters}
    kept = [
        segment
        for segment in query.split("&")
        if segment and unquote_plus(segment.partition("=")[0]) not in ours
    ]
    kept.extend(f"{quote_plus(name)}={quote_plus(value)}" for name, value in parameters)
    return f"{path}?{'&'.join(kept)}{hash_mark}{fragment}"
