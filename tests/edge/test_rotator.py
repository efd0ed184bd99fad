"""The campaign rotator ``/r/<slug>``: campaigns and links made through the links
API, visits through one or two edge replicas. Each visit goes to the next link
in turn, exactly as a visit of that link would, and counts as its click with
source ``rotator``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.links.app import create_app as create_links_app
from services.links.edge.app import create_app as create_edge_app
from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import (
    BROWSER,
    COUNTRY_HEADER,
    FACEBOOK_BOT,
    ClickQueue,
    Client,
    within,
)
from tests.support import principals
from tests.support.signed_client import SignedClient

UA = {"User-Agent": BROWSER}


class LinksApi:
    def __init__(self, client: TestClient[web.Request, web.Application], secret: str) -> None:
        self.signed = SignedClient(client, secret)

    async def call(self, method: str, path: str, who: Principal, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["data"] = orjson.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        resp = await self.signed.request(method, path, who, **kwargs)
        data = await resp.json()
        assert resp.status == 200, data
        return data


@pytest.fixture
async def api(serve_app: ServeApp, settings: Settings) -> LinksApi:
    # No analytics service in these tests: a port nothing listens on.
    client = await serve_app(
        create_links_app, settings.with_overrides(analytics_url="http://127.0.0.1:9")
    )
    return LinksApi(client, settings.internal_secret)


async def campaign_with_links(
    api: LinksApi, who: Principal, slug: str, links: list[dict[str, Any]]
) -> tuple[int, list[int]]:
    campaign = await api.call("POST", "/api/campaign/add", who, {"name": slug, "slug": slug})
    ids = [
        (await api.call("POST", "/api/url/add", who, {**link, "campaign": campaign["id"]}))["id"]
        for link in links
    ]
    return campaign["id"], ids


async def location(edge: Client, path: str, **headers: str) -> str | int:
    resp = await edge.get(path, allow_redirects=False, headers={**UA, **headers})
    return resp.headers["Location"] if resp.status == 302 else resp.status


async def test_three_links_300_visits_100_each_counted_as_rotator_clicks(
    edge: Client, api: LinksApi, clicks: ClickQueue
) -> None:
    alice = principals.user()
    slug = f"fair-{alice.user_id}"
    urls = [f"https://example.com/{n}" for n in ("a", "b", "c")]
    campaign_id, ids = await campaign_with_links(api, alice, slug, [{"url": u} for u in urls])

    seen = [await location(edge, f"/r/{slug}") for _ in range(300)]
    assert Counter(seen) == dict.fromkeys(urls, 100)
    # In turn: the same order every round.
    assert seen[:6] == urls + urls

    for link_id, url in zip(ids, urls, strict=True):
        events = await clicks.wait_for(link_id, 100)
        assert len(events) == 100
        assert {e["payload"]["source"] for e in events} == {"rotator"}
        assert {e["payload"]["campaign_id"] for e in events} == {campaign_id}
        assert {e["payload"]["destination"] for e in events} == {url}
    assert len(await clicks.settle(ids[0])) == 100


async def test_turns_are_shared_by_every_replica(
    serve_app: ServeApp, edge_settings: Settings, edge: Client, api: LinksApi
) -> None:
    other = await serve_app(create_edge_app, edge_settings)
    alice = principals.user()
    slug = f"replicas-{alice.user_id}"
    urls = [f"https://example.com/r{n}" for n in range(3)]
    await campaign_with_links(api, alice, slug, [{"url": u} for u in urls])
    seen = [await location((edge, other)[i % 2], f"/r/{slug}") for i in range(90)]
    assert Counter(seen) == dict.fromkeys(urls, 30)
    assert seen[:3] == urls


async def test_each_link_is_visited_as_through_its_own_alias(
    edge: Client, api: LinksApi, clicks: ClickQueue, pg_pool: asyncpg.Pool
) -> None:
    alice = principals.user()
    slug = f"rules-{alice.user_id}"
    _, ids = await campaign_with_links(
        api,
        alice,
        slug,
        [
            {
                "url": "https://example.com/world",
                "geotarget": [{"location": "CA", "link": "https://example.ca"}],
            },
            {"url": "https://example.com/gone", "expiry": "2031-01-01 00:00:00"},
            {"url": "https://example.com/secret", "password": "pw"},
        ],
    )
    # A link whose expiry has come (one in the past cannot be set through the API).
    await pg_pool.execute("UPDATE links.links SET expires_at = '2001-01-01' WHERE id = $1", ids[1])
    await api.call("PUT", f"/api/url/{ids[1]}/update", alice, {"title": "expired"})
    assert await location(edge, f"/r/{slug}", **{COUNTRY_HEADER: "CA"}) == "https://example.ca"
    assert await location(edge, f"/r/{slug}") == 410
    resp = await edge.get(f"/r/{slug}", allow_redirects=False, headers=UA)
    assert resp.status == 200
    assert 'type="password"' in await resp.text()
    assert await location(edge, f"/r/{slug}") == "https://example.com/world"
    # Only visits that reached a destination are clicks.
    assert len(await clicks.settle(ids[0])) == 2
    assert await clicks.settle(ids[1]) == []
    assert await clicks.settle(ids[2]) == []


async def test_head_and_crawlers_do_not_take_a_turn(
    edge: Client, api: LinksApi, clicks: ClickQueue
) -> None:
    alice = principals.user()
    slug = f"quiet-{alice.user_id}"
    urls = ["https://example.com/first", "https://example.com/second"]
    _, ids = await campaign_with_links(api, alice, slug, [{"url": u} for u in urls])
    resp = await edge.head(f"/r/{slug}", allow_redirects=False, headers=UA)
    assert (resp.status, resp.headers["Location"]) == (302, urls[0])
    resp = await edge.get(f"/r/{slug}", allow_redirects=False, headers={"User-Agent": FACEBOOK_BOT})
    assert resp.status == 302
    assert [await location(edge, f"/r/{slug}") for _ in range(2)] == urls
    # The crawler's visit reaches analytics (a bot click), the person's too.
    agents = [e["payload"]["user_agent"] for e in await clicks.settle(ids[0])]
    assert sorted(agents) == sorted([FACEBOOK_BOT, UA["User-Agent"]])


async def test_changes_reach_the_rotator_within_a_second(edge: Client, api: LinksApi) -> None:
    alice = principals.user()
    slug = f"live-{alice.user_id}"
    path = f"/r/{slug}"
    campaign_id, (first,) = await campaign_with_links(
        api, alice, slug, [{"url": "https://example.com/only"}]
    )
    assert await location(edge, path) == "https://example.com/only"

    # A new link joins the rotation; a deleted one leaves it.
    added = await api.call("POST", "/api/url/add", alice, {"url": "https://example.com/new"})
    await api.call("POST", f"/api/campaign/{campaign_id}/assign/{added['id']}", alice)
    await api.call("DELETE", f"/api/url/{first}/delete", alice)
    assert await within(1.0, lambda: location(edge, path), "https://example.com/new")

    # A new slug moves the rotator; deleting the campaign ends it.
    moved = f"moved-{alice.user_id}"
    await api.call(
        "PUT", f"/api/campaign/{campaign_id}/update", alice, {"name": "x", "slug": moved}
    )
    assert await within(1.0, lambda: location(edge, path), 404)
    assert await location(edge, f"/r/{moved}") == "https://example.com/new"
    await api.call("DELETE", f"/api/campaign/{campaign_id}/delete", alice)
    assert await within(1.0, lambda: location(edge, f"/r/{moved}"), 404)


@pytest.mark.parametrize("slug", ["nope-404-none", "a", "bad%20slug", "%3Cscript%3E", "x" * 65])
async def test_unknown_or_malformed_slugs_are_404_pages(edge: Client, slug: str) -> None:
    resp = await edge.get(f"/r/{slug}", allow_redirects=False, headers=UA)
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"


async def test_a_campaign_without_links_is_a_404_page(edge: Client, api: LinksApi) -> None:
    alice = principals.user()
    slug = f"empty-{alice.user_id}"
    await campaign_with_links(api, alice, slug, [])
    assert await location(edge, f"/r/{slug}") == 404
