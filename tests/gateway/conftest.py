"""The gateway on a real port in front of stand-in services (tests/gateway/standin.py);
Redis and RabbitMQ are the real ones."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.gateway.standin import StandIn, standin_app


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


_ips: set[str] = set()


def unique_ip() -> str:
    """An address of its own, for per-address limits (sent as X-Forwarded-For
    to a gateway that trusts one proxy hop)."""
    while True:
        ip = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        if ip not in _ips:
            _ips.add(ip)
            return ip


@dataclass
class Gateway:
    client: TestClient[web.Request, web.Application]
    settings: Settings

    async def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> ClientResponse:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        if json is not None:
            kwargs["data"] = orjson.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        return await self.client.request(method, path, headers=sent, **kwargs)

    async def get(self, path: str, key: str | None = None, **kwargs: Any) -> ClientResponse:
        return await self.call("GET", path, key, **kwargs)


async def body_of(resp: ClientResponse) -> Any:
    assert resp.content_type == "application/json", (resp.status, await resp.text())
    return orjson.loads(await resp.read())


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def accounts(serve_app: ServeApp) -> StandIn:
    """The stand-in accounts service (principal lookups and echo)."""
    state = StandIn("accounts")
    client = await serve_app(lambda s: standin_app(s, state))
    state.url = str(client.make_url("")).rstrip("/")
    return state


@pytest.fixture
async def links(serve_app: ServeApp) -> StandIn:
    state = StandIn("links")
    client = await serve_app(lambda s: standin_app(s, state))
    state.url = str(client.make_url("")).rstrip("/")
    return state


@pytest.fixture
async def start_gateway(
    serve_app: ServeApp, settings: Settings, accounts: StandIn, links: StandIn
) -> StartGateway:
    """Start a gateway in front of the stand-ins; keyword arguments override settings.

    The failure limit is high by default: every test client is 127.0.0.1, and the
    tests of that limit set their own."""

    async def start(**overrides: Any) -> Gateway:
        base = settings.with_overrides(
            accounts_url=accounts.url, links_url=links.url, auth_failure_limit=10_000
        )
        gw_settings = base.with_overrides(**overrides)
        client = await serve_app(create_app, gw_settings)
        return Gateway(client, gw_settings)

    return start


@pytest.fixture
async def gateway(start_gateway: StartGateway) -> Gateway:
    return await start_gateway()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> bool:
    """Poll ``check`` until it holds or ``within`` seconds pass."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if await check():
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)


@pytest.fixture
async def garbage_upstream() -> AsyncIterator[str]:
    """A TCP server answering every request with bytes that are not HTTP."""

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"THIS IS NOT HTTP\r\n\x00\x01garbage\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()
