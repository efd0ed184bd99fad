"""Expiry by date and by click count: a 410 page or the expiration redirect, and
exactly N redirects for a limit of N, however many visitors arrive at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.edge.conftest import BROWSER, FACEBOOK_BOT, ClickQueue, Client, MakeLink


async def test_expired_by_date_is_a_410_page(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 410
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "Link expired" in await resp.text()
    assert await clicks.settle(link.id) == []


async def test_expired_by_date_goes_to_the_expiration_redirect(
    edge: Client, make_link: MakeLink
) -> None:
    link = await make_link(
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
        expiration_redirect="https://example.com/sorry",
    )
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/sorry"
    assert resp.headers["Cache-Control"] == "private, no-store"


async def test_not_yet_expired_redirects(edge: Client, make_link: MakeLink) -> None:
    link = await make_link(
        "https://example.com/live", expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    resp = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert resp.status == 302
    assert resp.headers["Location"] == "https://example.com/live"


async def test_click_limit_allows_exactly_n_under_concurrency(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/limited", click_limit=7)
    responses = await asyncio.gather(
        *(
            edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
            for _ in range(50)
        )
    )
    statuses = [r.status for r in responses]
    assert statuses.count(302) == 7
    assert statuses.count(410) == 43
    assert {r.headers["Location"] for r in responses if r.status == 302} == {
        "https://example.com/limited"
    }
    events = await clicks.wait_for(link.id, 7)
    assert len(events) == 7
    assert len(await clicks.settle(link.id)) == 7


async def test_click_limit_then_expiration_redirect(edge: Client, make_link: MakeLink) -> None:
    link = await make_link(
        "https://example.com/once",
        click_limit=1,
        expiration_redirect="https://example.com/gone",
    )
    first = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    second = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert first.headers["Location"] == "https://example.com/once"
    assert second.status == 302
    assert second.headers["Location"] == "https://example.com/gone"


async def test_head_and_crawlers_use_no_clicks(
    edge: Client, make_link: MakeLink, clicks: ClickQueue
) -> None:
    link = await make_link("https://example.com/two", click_limit=1)
    for _ in range(3):
        head = await edge.head(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
        assert head.status == 302
        bot = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": FACEBOOK_BOT})
        assert bot.status == 302
    person = await edge.get(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert person.status == 302
    # The limit is used up: HEAD now says so too.
    head = await edge.head(link.path, allow_redirects=False, headers={"User-Agent": BROWSER})
    assert head.status == 410
    # The crawlers' visits go to analytics too, which counts them only as bots.
    agents = [e["payload"]["user_agent"] for e in await clicks.settle(link.id)]
    assert sorted(agents) == sorted([FACEBOOK_BOT] * 3 + [BROWSER])
