"""Titles fetched from the destination in the background, and never from a private address
unless the deployment allows it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.links.titles import extract_title
from tests.links.conftest import StartLinks
from tests.support import principals


class Site:
    """A local web site the destination URLs point at; counts the requests it got."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.release = asyncio.Event()
        self.release.set()
        app = web.Application()
        app.router.add_get("/page", self.page)
        app.router.add_get("/slow", self.slow)
        app.router.add_get("/image", self.image)
        app.router.add_get("/hop", self.hop)
        self.server = TestServer(app)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def page(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(
            text="<html><head><title>\n  Caf&eacute; &amp; Bar  </title></head></html>",
            content_type="text/html",
        )

    async def slow(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        await self.release.wait()
        return web.Response(text="<title>Slow page</title>", content_type="text/html")

    async def image(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(body=b"<title>not html</title>", content_type="image/png")

    async def hop(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        raise web.HTTPFound("/page")


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    found = Site()
    await found.server.start_server()
    yield found
    found.release.set()
    await found.server.close()


async def title_of(pg_pool: asyncpg.Pool, link_id: int) -> str | None:
    title: str | None = await pg_pool.fetchval(
        "SELECT title FROM links.links WHERE id = $1", link_id
    )
    return title


async def test_title_is_fetched_in_the_background(
    start_links: StartLinks, site: Site, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links()
    alice = principals.user()
    site.release.clear()  # the page does not answer until the add has answered
    added = await links.add(alice, url=site.url("/slow"))
    assert await title_of(pg_pool, added["id"]) is None
    site.release.set()
    await links.titles_done()
    assert await title_of(pg_pool, added["id"]) == "Slow page"

    followed = await links.add(alice, url=site.url("/hop"))
    await links.titles_done()
    assert await title_of(pg_pool, followed["id"]) == "Café & Bar"
    details = await links.details(alice, followed["id"])
    assert details["title"] == "Café & Bar"


async def test_a_given_title_is_kept_and_nothing_is_fetched(
    start_links: StartLinks, site: Site, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links()
    added = await links.add(principals.user(), url=site.url("/page"), title="Mine")
    await links.titles_done()
    assert site.hits == []
    assert await title_of(pg_pool, added["id"]) == "Mine"


async def test_non_html_destination_gives_no_title(
    start_links: StartLinks, site: Site, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links()
    added = await links.add(principals.user(), url=site.url("/image"))
    await links.titles_done()
    assert site.hits == ["/image"]
    assert await title_of(pg_pool, added["id"]) is None


async def test_private_addresses_are_not_fetched_unless_allowed(
    start_links: StartLinks, site: Site, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links(allow_private_fetch=False)
    alice = principals.user()
    port = site.server.port
    added = [
        await links.add(alice, url=url)
        for url in (
            site.url("/page"),
            f"http://localhost:{port}/page",
            f"http://[::ffff:127.0.0.1]:{port}/page",
            f"http://2130706433:{port}/page",
        )
    ]
    await links.titles_done()
    assert site.hits == []
    for link in added:
        assert await title_of(pg_pool, link["id"]) is None


def test_extract_title_handles_odd_pages() -> None:
    assert extract_title(b"<title>Plain</title>") == "Plain"
    assert extract_title(b"<svg><title>icon</title></svg><title>Real</title>") == "Real"
    assert extract_title(b'<meta property="og:title" content="From OG">') == "From OG"
    assert extract_title(b"<title>" + b"x" * 1000 + b"</title>") == "x" * 255
    assert extract_title("<title>Ünïcode</title>".encode("latin-1"), "latin-1") == "Ünïcode"
    assert (
        extract_title(b'<meta charset="windows-1251"><title>\xcf\xf0\xe8\xe2\xe5\xf2</title>')
        == "Привет"
    )
    assert extract_title(b"<html><body>no title</body></html>") is None
    assert extract_title(b"\x00\xff<title") is None
