"""The links service's calls to analytics, as shared/CONTRACTS.md describes them.

The analytics side here is a stand-in that speaks the contract and checks each
call is signed for the right user; with analytics down (a closed port) links
answers still work, with ``data: null`` and ``clicks: null`` (never a made-up
0), and a stats request is a 503 naming analytics within ``ANALYTICS_TIMEOUT``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared import identity
from shared.settings import Settings
from tests.links.conftest import LinksApi, StartLinks
from tests.support import principals

STATS = {
    "clicks": 12,
    "uniqueClicks": 7,
    "topCountries": {"Canada": 5},
    "topReferrers": {"example.com": 3},
    "topBrowsers": {"Firefox": 4},
    "topOs": {"Linux": 4},
    "socialCount": {"facebook": 1, "twitter": 0, "instagram": 0, "linkedin": 0, "google": 2},
}


class Analytics:
    """Answers the internal stats API from a table of clicks per (owner, link)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.clicks: dict[int, int] = {}
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.fail = False
        app = web.Application()
        app.router.add_get("/internal/stats/links/{id}", self.stats)
        app.router.add_get("/internal/stats/links/{id}/series", self.series)
        app.router.add_get("/internal/stats/links/{id}/export", self.export)
        app.router.add_post("/internal/stats/counts", self.counts)
        app.router.add_get("/internal/stats/ranking", self.ranking)
        self.server = TestServer(app)

    async def check(self, request: web.Request, owner: Any) -> None:
        who = identity.verify(
            request.headers.get(identity.HEADER),
            self.secret,
            request.method,
            request.raw_path,
            await request.read(),
        )
        if who is None or str(who.user_id) != str(owner) or who.role != "user":
            raise web.HTTPForbidden()
        self.calls.append((request.method, request.path, dict(request.query)))
        if self.fail:
            raise web.HTTPInternalServerError()

    async def stats(self, request: web.Request) -> web.Response:
        await self.check(request, request.query.get("owner"))
        return web.json_response(STATS)

    async def series(self, request: web.Request) -> web.Response:
        await self.check(request, request.query.get("owner"))
        if request.query.get("interval") not in (None, "hour", "day", "month"):
            return web.json_response({"error": 1, "message": "Bad interval."}, status=400)
        return web.json_response({"error": 0, "data": [["2026-01-01", 3]]})

    async def export(self, request: web.Request) -> web.Response:
        await self.check(request, request.query.get("owner"))
        return web.Response(text="date,clicks\n2026-01-01,3\n", content_type="text/csv")

    async def counts(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self.check(request, body["owner"])
        return web.json_response(
            {"counts": {str(i): self.clicks[i] for i in body["link_ids"] if i in self.clicks}}
        )

    async def ranking(self, request: web.Request) -> web.Response:
        await self.check(request, request.query.get("owner"))
        ranked = sorted(self.clicks.items(), key=lambda kv: -kv[1])
        return web.json_response({"links": [[i, n] for i, n in ranked]})


@pytest.fixture
async def analytics(settings: Settings) -> AsyncIterator[Analytics]:
    found = Analytics(settings.internal_secret)
    await found.server.start_server()
    yield found
    await found.server.close()


@pytest.fixture
async def links_with_analytics(start_links: StartLinks, analytics: Analytics) -> LinksApi:
    return await start_links(analytics_url=str(analytics.server.make_url("")).rstrip("/"))


async def test_details_carry_the_stats_block(
    links_with_analytics: LinksApi, analytics: Analytics
) -> None:
    alice = principals.user()
    added = await links_with_analytics.add(alice, url="https://example.com")
    status, body = await links_with_analytics.call("GET", f"/api/url/{added['id']}", alice)
    assert status == 200
    assert body["data"] == STATS
    assert analytics.calls[-1] == (
        "GET",
        f"/internal/stats/links/{added['id']}",
        {"owner": str(alice.user_id)},
    )


async def test_list_clicks_and_order_by_clicks(
    links_with_analytics: LinksApi, analytics: Analytics
) -> None:
    alice = principals.user()
    ids = [
        (await links_with_analytics.add(alice, url=f"https://example.com/{i}"))["id"]
        for i in range(4)
    ]
    analytics.clicks = {ids[0]: 5, ids[2]: 9}
    _, body = await links_with_analytics.call("GET", "/api/urls", alice)
    assert [(u["id"], u["clicks"]) for u in body["data"]["urls"]] == [
        (ids[3], 0),
        (ids[2], 9),
        (ids[1], 0),
        (ids[0], 5),
    ]
    _, body = await links_with_analytics.call("GET", "/api/urls?order=clicks", alice)
    # Most clicked first; links without clicks after them, newest first.
    assert [(u["id"], u["clicks"]) for u in body["data"]["urls"]] == [
        (ids[2], 9),
        (ids[0], 5),
        (ids[3], 0),
        (ids[1], 0),
    ]
    _, body = await links_with_analytics.call("GET", "/api/urls?order=clicks&limit=1&page=2", alice)
    assert [u["id"] for u in body["data"]["urls"]] == [ids[0]]


async def test_stats_series_and_export_are_relayed_after_the_ownership_check(
    links_with_analytics: LinksApi, analytics: Analytics
) -> None:
    alice, mallory = principals.user(), principals.user()
    added = await links_with_analytics.add(alice, url="https://example.com")
    path = f"/api/url/{added['id']}/stats"
    status, body = await links_with_analytics.call(
        "GET", path + "?from=2026-01-01&to=2026-01-31&interval=day", alice
    )
    assert (status, body) == (200, {"error": 0, "data": [["2026-01-01", 3]]})
    assert analytics.calls[-1][2] == {
        "owner": str(alice.user_id),
        "from": "2026-01-01",
        "to": "2026-01-31",
        "interval": "day",
    }
    status, body = await links_with_analytics.call("GET", path + "?interval=decade", alice)
    assert status == 400
    assert body["error"] == 1

    calls = len(analytics.calls)
    status, _ = await links_with_analytics.call("GET", path, mallory)
    assert status == 404
    status, _ = await links_with_analytics.call("GET", path + "/export", mallory)
    assert status == 404
    assert len(analytics.calls) == calls  # nothing asked for someone else's link

    status, csv = await links_with_analytics.call("GET", path + "/export", alice)
    assert status == 200
    assert csv == b"date,clicks\n2026-01-01,3\n"

    starter = principals.user(principals.STARTER_LIMITS)
    own = await links_with_analytics.add(starter, url="https://example.com")
    status, body = await links_with_analytics.call(
        "GET", f"/api/url/{own['id']}/stats/export", starter
    )
    assert status == 403
    assert "'export' feature" in body["message"]


async def test_failing_analytics_gives_null_data_null_clicks_and_a_502_relay(
    links_with_analytics: LinksApi, analytics: Analytics
) -> None:
    alice = principals.user()
    added = await links_with_analytics.add(alice, url="https://example.com")
    analytics.clicks = {added["id"]: 3}
    analytics.fail = True
    status, body = await links_with_analytics.call("GET", f"/api/url/{added['id']}", alice)
    assert status == 200
    assert body["data"] is None
    _, body = await links_with_analytics.call("GET", "/api/urls?order=date", alice)
    assert [(u["id"], u["clicks"]) for u in body["data"]["urls"]] == [(added["id"], None)]
    status, body = await links_with_analytics.call("GET", "/api/urls?order=clicks", alice)
    assert (status, body["error"]) == (503, 1)  # no order by clicks is better than a wrong one
    assert "analytics" in body["message"]
    status, body = await links_with_analytics.call("GET", f"/api/url/{added['id']}/stats", alice)
    assert status == 502
    assert body["error"] == 1


UNAVAILABLE = {
    "error": 1,
    "message": "The analytics service is unavailable right now. Please retry later.",
}


async def test_unreachable_analytics_gives_null_data_null_clicks_and_a_503_relay(
    links: LinksApi,
) -> None:
    # ``links`` has analytics on a closed port.
    alice = principals.user()
    added = await links.add(alice, url="https://example.com")
    body = await links.fetch(alice, f"/api/url/{added['id']}")
    assert body["data"] is None
    assert body["details"]["id"] == added["id"]
    body = await links.fetch(alice, "/api/urls?order=date")
    assert [(u["id"], u["clicks"]) for u in body["data"]["urls"]] == [(added["id"], None)]
    for path in ("s?order=clicks", f"/{added['id']}/stats", f"/{added['id']}/stats?interval=day"):
        resp = await links.signed.request("GET", f"/api/url{path}", alice)
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"
        assert await resp.json() == UNAVAILABLE
    for path in ("/stats/export",):
        resp = await links.signed.request("GET", f"/api/url/{added['id']}{path}", alice)
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"
        assert await resp.json() == UNAVAILABLE


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers (a hung analytics)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_hung_analytics_is_a_503_after_the_analytics_timeout(
    start_links: StartLinks, silent_port: int
) -> None:
    links = await start_links(
        analytics_url=f"http://127.0.0.1:{silent_port}", analytics_timeout=0.5
    )
    alice = principals.user()
    added = await links.add(alice, url="https://example.com")
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, body = await links.call("GET", f"/api/url/{added['id']}/stats", alice)
    waited = loop.time() - started
    assert (status, body) == (503, UNAVAILABLE)
    assert 0.4 < waited < 3.0
    body = await links.fetch(alice, "/api/urls")
    assert body["data"]["urls"][0]["clicks"] is None
