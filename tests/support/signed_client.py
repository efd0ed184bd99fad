"""A test client that signs each request as the gateway would."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from shared import identity
from shared.identity import Principal


class SignedClient:
    def __init__(self, client: TestClient[web.Request, web.Application], secret: str) -> None:
        self.client = client
        self.secret = secret

    async def request(
        self, method: str, path: str, principal: Principal | None, **kwargs: Any
    ) -> ClientResponse:
        headers = dict(kwargs.pop("headers", None) or {})
        if principal is not None:
            headers[identity.HEADER] = identity.sign(
                principal, self.secret, method, path.split("?", 1)[0]
            )
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("GET", path, principal, **kwargs)

    async def post(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("POST", path, principal, **kwargs)

    async def put(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("PUT", path, principal, **kwargs)

    async def delete(self, path: str, principal: Principal | None, **kwargs: Any) -> ClientResponse:
        return await self.request("DELETE", path, principal, **kwargs)
