"""Calling the public API over HTTP as a client would."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    key: str | None = None,
    body: Any = None,
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    """(status, parsed JSON body, headers); fails if the answer is not JSON."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = orjson.dumps(body) if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    async with http.request(method, url, headers=headers, data=data) as resp:
        raw = await resp.read()
        assert resp.content_type == "application/json", (resp.status, raw[:200])
        return resp.status, orjson.loads(raw), resp.headers
