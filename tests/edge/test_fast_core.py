"""The fast core (services/links/edge/fast_core.py): cached direct redirects are
answered without aiohttp, every other request gets exactly what the aiohttp
app answers, and every redirect served is one click. Requests are sent byte for
byte where HTTP clients would refuse to send them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import pytest

from services.links.edge.app import create_app
from services.links.edge.fast_core import FastCore, FastServer
from services.links.edge.pages import NO_STORE
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, ClickQueue, Client, MakeLink, Publish
from tests.edge.test_invalidation import set_url

UA = {"User-Agent": BROWSER}


def core_of(client: Client) -> FastCore:
    server = getattr(client.server.runner, "server", None)
    assert isinstance(server, FastServer), "the fast core is not serving this edge"
    return server.core


async def exchange(client: Client, raw: bytes, *, wait: float = 5.0) -> bytes:
    """Everything the edge sends back to ``raw`` until it closes (or ``wait`` passes)."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        writer.write(raw)
        await writer.drain()
        chunks = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (left := deadline - loop.time()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        writer.close()


def get(path: str, host: str, *extra: bytes, version: bytes = b"1.1") -> bytes:
    lines = [b"GET " + path.encode() + b" HTTP/" + version, b"Host: " + host.encode()]
    lines += [b"User-Agent: " + BROWSER.encode(), *extra]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def statuses(answer: bytes) -> list[bytes]:
    return [line.split(b" ", 2)[1] for line in answer.split(b"\r\n") if line.startswith(b"HTTP/")]


def locations(answer: bytes) -> list[bytes]:
    return [line[10:] for line in answer.split(b"\r\n") if line.startswith(b"Location: ")]


async def warm(client: Client, path: str) -> None:
    """A first visit loads the link into the edge's LRU (aiohttp answers a miss)."""
    resp = await client.get(path, allow_redirects=False, headers=UA)
    assert resp.status == 302


async def test_cached_redirects_come_from_the_fast_core_and_each_is_one_click(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/fast?a=1")
    await warm(edge, link.path)
    before = core_of(edge).served
    for _ in range(20):
        resp = await edge.get(
            link.path, allow_redirects=False, headers={**UA, "Referer": "https://r.example/"}
        )
        assert resp.status == 302
        assert resp.headers["Location"] == "https://example.com/fast?a=1"
        assert resp.headers["Cache-Control"] == NO_STORE
    assert core_of(edge).served - before == 20
    events = await clicks.wait_for(link.id, 21)
    await clicks.settle(link.id)
    assert len(clicks.of(link.id)) == 21
    payload = events[-1]["payload"]
    assert payload["referrer"] == "https://r.example/"
    assert payload["user_agent"] == BROWSER
    assert payload["ip"] == "127.0.0.1"
    assert payload["destination"] == "https://example.com/fast?a=1"


async def test_pipelined_requests_are_answered_in_order_head_not_counted(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/pipe")
    await warm(edge, link.path)
    host = edge.server.host
    head = get(link.path, host).replace(b"GET ", b"HEAD ", 1)
    close = get(link.path, host, b"Connection: close")
    # Three fast answers, a HEAD aiohttp answers, then two more GETs on the same
    # connection (aiohttp's from then on), the last asking to close.
    raw = get(link.path, host) * 3 + head + get(link.path, host) + close
    answer = await exchange(edge, raw)
    assert statuses(answer) == [b"302"] * 6
    assert locations(answer) == [b"https://example.com/pipe"] * 6
    await clicks.wait_for(link.id, 6)  # the warm-up, 3 fast, 2 by aiohttp: not the HEAD
    await clicks.settle(link.id)
    assert len(clicks.of(link.id)) == 6


async def test_keep_alive_connection_serves_many_then_closes_on_request(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/keep")
    await warm(edge, link.path)
    host = edge.server.host
    assert edge.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.server.port)
    try:
        for _ in range(5):
            writer.write(get(link.path, host))
            head = await reader.readuntil(b"\r\n\r\n")
            assert statuses(head) == [b"302"]
        writer.write(get(link.path, host, b"Connection: close"))
        rest = await asyncio.wait_for(reader.read(), 5)
        assert statuses(rest) == [b"302"]
        assert b"Connection: close" in rest
    finally:
        writer.close()
    await clicks.wait_for(link.id, 7)
    await clicks.settle(link.id)
    assert len(clicks.of(link.id)) == 7


HOSTILE: dict[str, Callable[[str, str], bytes]] = {
    "oversized header": lambda p, h: get(p, h, b"X-Big: " + b"a" * 20_000),
    "control byte in a header name": lambda p, h: get(p, h, b"X-B\x01d: 1"),
    "garbage request line": lambda p, h: b"GARBAGE\r\n\r\n",
    "LF-only lines": lambda p, h: get(p, h).replace(b"\r\n", b"\n"),
    "HTTP/1.0": lambda p, h: get(p, h, version=b"1.0"),
    "body on a GET": lambda p, h: get(p, h, b"Content-Length: 3") + b"abc",
    "length and chunked": lambda p, h: (
        get(p, h, b"Content-Length: 3", b"Transfer-Encoding: chunked") + b"0\r\n\r\n"
    ),
    "NUL in the path": lambda p, h: get(p + "\x00", h),
    "encoded path": lambda p, h: get("/%74" + p[2:], h),
    "bad bytes in the referrer": lambda p, h: get(p, h, b"Referer: caf\xe9\xff"),
    "upgrade": lambda p, h: get(p, h, b"Connection: Upgrade", b"Upgrade: websocket"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_input_gets_the_answer_aiohttp_gives(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink, case: str
) -> None:
    fast = await serve_app(create_app, edge_settings)
    plain = await serve_app(create_app, edge_settings.with_overrides(edge_fast_core=False))
    link = await make_link("https://example.com/hostile")
    answers = []
    for edge in (fast, plain):
        await warm(edge, link.path)
        answer = await exchange(edge, HOSTILE[case](link.path, edge.server.host), wait=3.0)
        answers.append((statuses(answer), locations(answer)))
    assert answers[0] == answers[1], case


async def test_a_slow_head_is_answered_like_today(edge: Client, make_link: MakeLink) -> None:
    link = await make_link("https://example.com/slow")
    await warm(edge, link.path)
    assert edge.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.server.port)
    try:
        raw = get(link.path, edge.server.host)
        for byte in range(0, len(raw), 40):  # a head dribbled over ~2 s
            writer.write(raw[byte : byte + 40])
            await asyncio.sleep(0.2)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert statuses(head) == [b"302"]
    finally:
        writer.close()


async def test_a_link_updated_under_load_is_served_new_within_a_second_all_counted(
    edge: Client,
    make_link: MakeLink,
    pg_pool: asyncpg.Pool,
    publish_link: Publish,
    clicks: ClickQueue,
) -> None:
    link = await make_link("https://example.com/before")
    await publish_link(link)
    await warm(edge, link.path)
    served: list[tuple[float, str]] = []
    stop = asyncio.Event()

    async def visitor() -> None:
        while not stop.is_set():
            resp = await edge.get(link.path, allow_redirects=False, headers=UA)
            assert resp.status == 302
            served.append((time.monotonic(), resp.headers["Location"]))

    visitors = [asyncio.create_task(visitor()) for _ in range(8)]
    await asyncio.sleep(0.5)
    await set_url(pg_pool, link, "https://example.com/after")
    await publish_link(link)
    published = time.monotonic()
    await asyncio.sleep(2.0)
    stop.set()
    await asyncio.gather(*visitors)
    late = [at for at, where in served if where == "https://example.com/before" and at > published]
    assert not late or max(late) - published <= 1.0
    assert served[-1][1] == "https://example.com/after"
    assert core_of(edge).served > len(served) // 2  # the load went through the fast core
    await clicks.wait_for(link.id, len(served) + 1)
    await clicks.settle(link.id)
    assert len(clicks.of(link.id)) == len(served) + 1
