"""The SSRF-safe fetcher: public addresses only (unless allowed), checked on every
redirect, size and type limits, a deadline."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.safe_fetch import (
    BadContentType,
    BlockedAddress,
    FetchError,
    IPAddress,
    SafeFetcher,
    TooLarge,
    is_public_address,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


class Origin:
    def __init__(self) -> None:
        self.hits: list[str] = []
        app = web.Application()
        app.router.add_get("/html", self.html)
        app.router.add_get("/png", self.png)
        app.router.add_get("/big", self.big)
        app.router.add_get("/chunked", self.chunked)
        app.router.add_get("/redirect/{n}", self.redirect)
        app.router.add_get("/to", self.to)
        app.router.add_get("/sleep", self.sleep)
        app.router.add_get("/missing", self.missing)
        self.server = TestServer(app, host="127.0.0.1")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    async def html(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(text="<title>hi</title>", content_type="text/html", charset="utf-8")

    async def png(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(body=PNG, content_type="image/png")

    async def big(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(body=b"x" * 5000, content_type="image/png")

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path)
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(10):
            await resp.write(b"y" * 1000)
        await resp.write_eof()
        return resp

    async def redirect(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/redirect/{n - 1}" if n > 0 else "/html")

    async def to(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        raise web.HTTPFound(request.query["url"])

    async def sleep(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def missing(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        raise web.HTTPNotFound()


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    found = Origin()
    await found.server.start_server()
    yield found
    await found.server.close()


def only_127_0_0_1(address: IPAddress) -> bool:
    """A policy standing in for 'public' in tests: this loopback address, nothing else."""
    return address == ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:0001::", False),  # 6to4 of 127.0.0.1
        ("64:ff9b::7f00:1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


async def test_fetches_when_private_is_allowed(origin: Origin) -> None:
    async with SafeFetcher(allow_private=True) as fetcher:
        page = await fetcher.fetch(origin.url("/html"), content_types=("text/html",))
    assert page.status == 200
    assert page.body == b"<title>hi</title>"
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert not page.truncated


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/html",
        "http://localhost:{port}/html",
        "http://[::1]:{port}/html",
        "http://[::ffff:127.0.0.1]:{port}/html",
        "http://2130706433:{port}/html",
        "http://0x7f.1:{port}/html",
        "http://127.1:{port}/html",
        "http://0.0.0.0:{port}/html",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1:{port}/html",
    ],
)
async def test_private_and_loopback_addresses_are_refused(origin: Origin, url: str) -> None:
    async with SafeFetcher(allow_private=False, timeout=2) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.fetch(url.format(port=origin.server.port))
    assert origin.hits == []


async def test_refusal_names_the_reason(origin: Origin) -> None:
    async with SafeFetcher(allow_private=False) as fetcher:
        with pytest.raises(BlockedAddress, match="not a public address"):
            await fetcher.fetch(f"http://localhost:{origin.server.port}/html")
        with pytest.raises(BlockedAddress, match="not a public address"):
            await fetcher.fetch(origin.url("/html"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://127.0.0.1:70/",
        "javascript:alert(1)",
        "http:///nohost",
        "http://user:pw@127.0.0.1/",
        "not a url",
    ],
)
async def test_only_plain_http_urls_are_fetched(url: str) -> None:
    async with SafeFetcher(allow_private=True) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.fetch(url)


async def test_every_redirect_hop_is_checked(origin: Origin) -> None:
    port = origin.server.port
    async with SafeFetcher(policy=only_127_0_0_1) as fetcher:
        page = await fetcher.fetch(origin.url("/redirect/1"))
        assert page.body == b"<title>hi</title>"
        origin.hits.clear()
        for target in (
            f"http://127.0.0.2:{port}/html",
            f"http://[::1]:{port}/html",
            "http://169.254.169.254/",
            "file:///etc/passwd",
        ):
            with pytest.raises(FetchError):
                await fetcher.fetch(origin.url(f"/to?url={target}"))
    assert "/html" not in origin.hits


async def test_too_many_redirects(origin: Origin) -> None:
    async with SafeFetcher(allow_private=True, max_redirects=3) as fetcher:
        assert (await fetcher.fetch(origin.url("/redirect/2"))).status == 200
        with pytest.raises(FetchError, match="redirects"):
            await fetcher.fetch(origin.url("/redirect/5"))


async def test_size_limit_by_header_and_by_stream(origin: Origin) -> None:
    async with SafeFetcher(allow_private=True) as fetcher:
        with pytest.raises(TooLarge):
            await fetcher.fetch(origin.url("/big"), max_bytes=1000)
        with pytest.raises(TooLarge):
            await fetcher.fetch(origin.url("/chunked"), max_bytes=1000)
        cut = await fetcher.fetch(origin.url("/chunked"), max_bytes=1500, truncate=True)
    assert cut.truncated
    assert cut.body == b"y" * 1500


async def test_content_type_check(origin: Origin) -> None:
    async with SafeFetcher(allow_private=True) as fetcher:
        image = await fetcher.fetch(origin.url("/png"), content_types=("image/png", "image/jpeg"))
        assert image.body == PNG
        with pytest.raises(BadContentType):
            await fetcher.fetch(origin.url("/html"), content_types=("image/png", "image/jpeg"))
        assert (await fetcher.fetch(origin.url("/html"), content_types=("text/",))).status == 200


async def test_deadline_and_http_errors(origin: Origin) -> None:
    async with SafeFetcher(allow_private=True, timeout=0.3) as fetcher:
        with pytest.raises(FetchError, match="in time"):
            await fetcher.fetch(origin.url("/sleep"))
        with pytest.raises(FetchError, match="HTTP 404"):
            await fetcher.fetch(origin.url("/missing"))


async def test_unresolvable_host() -> None:
    async with SafeFetcher(allow_private=False, timeout=3) as fetcher:
        with pytest.raises(FetchError):
            await fetcher.fetch("http://no-such-host.invalid/")
