"""A test client that signs each request as the gateway would: for its method,
path, query and body, with a fresh nonce."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from yarl import URL

from shared import identity
from shared.identity import Principal


def body_bytes(kwargs: dict[str, Any], headers: dict[str, str]) -> bytes:
    """Take ``json=`` or ``data=`` out of ``kwargs`` as the bytes that will be sent
    (signed over exactly those), setting the Content-Type they imply."""
    if "json" in kwargs:
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(kwargs.pop("json")).encode()
    data = kwargs.pop("data", None)
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, Mapping):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urlencode(data).encode()
    raise TypeError(f"SignedClient cannot sign a body of type {type(data).__name__}")


class SignedClient:
    def __init__(self, client: TestClient[web.Request, web.Application], secret: str) -> None:
        self.client = client
        self.secret = secret

    async def request(
        self, method: str, path: str, principal: Principal | None, **kwargs: Any
    ) -> ClientResponse:
        headers = dict(kwargs.pop("headers", None) or {})
        url = self.client.make_url(path)
        params = kwargs.pop("params", None)
        if params:
            url = url.extend_query(params)
        body = body_bytes(kwargs, headers)
        target = url.raw_path_qs
        if principal is not None:
            headers[identity.HEADER] = identity.sign(principal, self.secret, method, target, body)
        return await self.client.request(
            method, URL(target, encoded=True), headers=headers, data=body or None, **kwargs
        )

    async def get(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("GET", path, principal, **kwargs)

    async def post(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("POST", path, principal, **kwargs)

    async def put(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("PUT", path, principal, **kwargs)

    async def delete(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("DELETE", path, principal, **kwargs)
