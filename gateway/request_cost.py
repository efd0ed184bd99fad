"""What a request costs in rate-limit tokens. Every request takes one token; a
bulk request (``POST /api/urls/bulk``) costs one token per started hundred of
its links (1,000 links: 10 tokens), taken once its body has been read."""

from __future__ import annotations

from typing import Final

import orjson

BULK_PATH: Final = "/api/urls/bulk"
LINKS_PER_TOKEN: Final = 100


def request_cost(method: str, path: str, body: bytes) -> int:
    """Tokens the request costs in all (the service refuses a malformed body: 1)."""
    if method != "POST" or path != BULK_PATH:
        return 1
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 1
    items = data.get("urls") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return 1
    return max(1, -(-len(items) // LINKS_PER_TOKEN))
