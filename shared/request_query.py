"""Query-string parameters and paths: what every service refuses before a
handler runs, and typed readers for handlers.

Postgres refuses a NUL character in text, so a NUL anywhere in the path or in
a query parameter is a 400 for every endpoint at once (the middleware), rather
than a 500 wherever a handler forgot to look."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from shared.envelope import BadRequest
from shared.request_body import BIGINT_MAX, positive_id

NUL: Final = "\x00"


@web.middleware
async def refuse_nul_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if NUL in request.path:
        raise BadRequest("The path contains a NUL character.")
    for name, value in request.query.items():
        if NUL in name or NUL in value:
            shown = name.replace(NUL, "\\0")
            raise BadRequest(f"The parameter '{shown}' contains a NUL character.")
    return await handler(request)


def query_text(query: Mapping[str, str], name: str, *, max_length: int) -> str | None:
    """A trimmed text parameter; ``None`` when absent or blank."""
    value = (query.get(name) or "").strip()
    if not value:
        return None
    if NUL in value:  # also here for handlers served without the middleware
        raise BadRequest(f"The parameter '{name}' contains a NUL character.")
    if len(value) > max_length:
        raise BadRequest(f"The parameter '{name}' must be at most {max_length} characters.")
    return value


def query_id(
    query: Mapping[str, str], name: str, *, what: str, maximum: int = BIGINT_MAX
) -> int | None:
    """A positive id parameter up to ``maximum`` (``INT_MAX`` for a serial column);
    ``None`` when absent."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    found = positive_id(raw, maximum)
    if found is None:
        raise BadRequest(f"The parameter '{name}' must be {what}.")
    return found


def positive_param(query: Mapping[str, str], name: str, *, default: int, maximum: int) -> int:
    """A positive count like ``limit`` or ``page``; values above ``maximum`` are capped."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    # isdigit() alone admits "²", which int() refuses
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise BadRequest(f"The parameter '{name}' must be a positive integer.")
    return min(int(raw), maximum)
