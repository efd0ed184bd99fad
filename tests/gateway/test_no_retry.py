"""A service that hangs up after reading a request: the gateway may send a GET
again (it changes nothing), never a POST, PUT or DELETE (a retried ``url/add``
would create the link twice)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from tests.gateway.conftest import StartGateway, body_of
from tests.gateway.standin import StandIn


@pytest.fixture
async def hanging_up() -> AsyncIterator[tuple[str, Counter[str]]]:
    """A server that reads each request's head and closes the connection unanswered;
    it counts what it received by method."""
    received: Counter[str] = Counter()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                method, target, _ = (await reader.readuntil(b"\r\n\r\n")).split(b" ", 2)
                if target.startswith(b"/api/"):  # not the gateway's /health probes
                    received[method.decode()] += 1
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", received
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("method", "path", "sent"),
    [
        ("POST", "/api/url/add", 1),
        ("PUT", "/api/url/1/update", 1),
        ("DELETE", "/api/url/1/delete", 1),
        ("GET", "/api/urls", 2),  # one retry: a pooled connection may have been closed
    ],
)
async def test_only_idempotent_requests_are_sent_again_after_a_hang_up(
    start_gateway: StartGateway,
    accounts: StandIn,
    hanging_up: tuple[str, Counter[str]],
    method: str,
    path: str,
    sent: int,
) -> None:
    url, received = hanging_up
    gateway = await start_gateway(links_url=url)
    key, _ = accounts.issue()
    resp = await gateway.call(method, path, key, json={"url": "https://example.com/once"})
    assert resp.status == 502
    assert await body_of(resp) == {
        "error": 1,
        "message": "Bad gateway: the links service sent a broken answer.",
    }
    assert received == Counter({method: sent})
