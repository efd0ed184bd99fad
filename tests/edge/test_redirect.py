"""The plain short link: a 302 with no caching, counted once as a click event."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from shared.settings import Settings
from tests.edge.conftest import (
    BROWSER,
    COUNTRY_HEADER,
    FACEBOOK_BOT,
    ClickQueue,
    Client,
    MakeLink,
)
from tests.support.ops import metrics_text


async def test_redirects_with_no_store(edge: Client, make_link: MakeLink) -> None:
    link = await make_link("https://example.com/landing?x=1")
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/landing?x=1"
    assert resp.headers["Cache-Control"] == "private, no-store"
    # Served from the cache the second time, the same answer.
    again = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert again.status == 302
    assert again.headers["Location"] == "https://example.com/landing?x=1"


async def test_unknown_alias_is_an_html_404(edge: Client) -> None:
    for path in ("/no-such-link", "/" + "x" * 5_000, "/bad%3Calias%3E", "/a/b/c"):
        resp = await edge.get(path, allow_redirects=False)
        assert resp.status == 404, path
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "Link not found" in await resp.text()


async def test_root_is_a_home_page(edge: Client) -> None:
    resp = await edge.get("/", allow_redirects=False)
    assert resp.status == 200
    assert "<h1>Short links</h1>" in await resp.text()


async def test_private_links_still_redirect(edge: Client, make_link: MakeLink) -> None:
    link = await make_link("https://example.com/private", status="private")
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/private"


async def test_click_event_has_the_visit(
    edge: Client, make_link: MakeLink, clicks: ClickQueue, settings: Settings
) -> None:
    link = await make_link("https://example.com/evt")
    resp = await edge.get(
        link.path,
        allow_redirects=False,
        headers={
            "User-Agent": BROWSER,
            "Referer": "https://news.example.org/post",
            "Accept-Language": "fr-CA,fr;q=0.9",
            COUNTRY_HEADER: "ca",
            "X-Forwarded-For": "203.0.113.9",  # not trusted by default
        },
    )
    assert resp.status == 302
    (event,) = await clicks.wait_for(link.id, 1)
    assert event["type"] == "click.recorded"
    assert event["version"] == 1
    assert len(event["id"]) == 32
    assert event["occurred_at"].endswith("Z")
    assert event["payload"] == {
        "link_id": link.id,
        "owner_id": link.owner,
        "alias": link.alias,
        "host": settings.public_host,
        "destination": "https://example.com/evt",
        "source": "link",
        "qr_id": None,
        "campaign_id": None,
        "ip": "127.0.0.1",
        "user_agent": BROWSER,
        "referrer": "https://news.example.org/post",
        "accept_language": "fr-CA,fr;q=0.9",
        "country": "CA",
    }


async def test_each_click_is_one_event_with_its_own_id(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link()
    responses = await asyncio.gather(
        *(
            edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
            for _ in range(20)
        )
    )
    assert all(r.status == 302 for r in responses)
    events = await clicks.wait_for(link.id, 20)
    assert len(events) == 20
    assert len({e["id"] for e in events}) == 20
    assert len(await clicks.settle(link.id)) == 20


async def test_head_is_answered_but_not_counted(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/head")
    resp = await edge.head(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/head"
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert await clicks.settle(link.id) == []


async def test_crawler_gets_meta_page_and_is_not_counted(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link(
        "https://example.com/article",
        meta_title='Big <script>alert("t")</script> news',
        meta_description="Read & share",
        meta_image="https://cdn.example.com/card.png",
    )
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": FACEBOOK_BOT})
    assert resp.status == 200
    html = await resp.text()
    assert (
        '<meta property="og:title" content="Big &lt;script&gt;alert(&quot;t&quot;)'
        '&lt;/script&gt; news">'
    ) in html
    assert '<meta property="og:description" content="Read &amp; share">' in html
    assert '<meta property="og:image" content="https://cdn.example.com/card.png">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert "<script>" not in html
    # A person still gets the redirect, and only the person is counted.
    person = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert person.status == 302
    events = await clicks.settle(link.id)
    assert len(events) == 1
    assert events[0]["payload"]["user_agent"] == BROWSER


async def test_crawler_without_meta_is_redirected_and_sent_to_analytics_as_a_bot(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/plain")
    resp = await edge.get(
        link.path, allow_redirects=False, headers={"User-Agent": "Twitterbot/1.0"}
    )
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/plain"
    # Analytics tells the bot by its user agent: stored flagged, in botClicks only.
    events = await clicks.settle(link.id)
    assert [e["payload"]["user_agent"] for e in events] == ["Twitterbot/1.0"]


async def test_ops_endpoints(edge: Client, make_link: MakeLink) -> None:
    health = await edge.get("/health")
    assert health.status == 200
    assert (await health.json())["dependencies"] == {
        "postgres": "up",
        "rabbitmq": "up",
        "redis": "up",
    }
    ready = await edge.get("/ready")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"snapshots": "ok", "clicks": "ok"}
    link = await make_link()
    await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    metrics = await metrics_text(edge)  # on the ops port only
    assert 'edge_visits_total{outcome="redirect"}' in metrics
    assert "edge_link_cache_entries" in metrics
    public = await edge.get("/metrics")
    assert public.status == 404
    assert "edge_visits_total" not in await public.text()


async def test_link_loaded_from_postgres_is_stored_in_redis(
    edge: Client, make_link: MakeLink, redis_client: aioredis.Redis, settings: Settings
) -> None:
    link = await make_link("https://example.com/filled")
    assert await redis_client.get(settings.redis_prefix + link.key_suffix) is None
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    stored = await redis_client.get(settings.redis_prefix + link.key_suffix)
    assert stored is not None
    assert b'"url":"https://example.com/filled"' in stored
