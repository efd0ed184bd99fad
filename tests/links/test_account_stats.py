"""Account-level stats: all of a user's links, filtered by tag, domain or
campaign, and grouped per tag, per domain, per campaign (real analytics)."""

from __future__ import annotations

import pytest

from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi, StartLinks
from tests.support import principals
from tests.support.analytics_service import send_clicks, serve_analytics, visit
from tests.support.waiting import eventually


@pytest.fixture
async def links_and_analytics(
    serve_app: ServeApp, settings: Settings, start_links: StartLinks
) -> LinksApi:
    return await start_links(analytics_url=await serve_analytics(serve_app, settings))


async def clicked(settings: Settings, who: Principal, link_ids: list[int]) -> None:
    await send_clicks(
        settings,
        (
            visit(n, link_id, who.user_id, alias="x", destination="https://example.com",
                  accept_language="en-US")
            for n, link_id in enumerate(link_ids)
        ),
    )  # fmt: skip


async def test_totals_series_filters_and_groups(
    links_and_analytics: LinksApi, settings: Settings
) -> None:
    links = links_and_analytics
    alice, bob = principals.user(), principals.user()
    campaign = await links.create(alice, "campaign", name="Spring push")
    a = (await links.add(alice, url="https://e.com/a", tags=["spring"], campaign=campaign))["id"]
    b = (await links.add(alice, url="https://e.com/b", tags=["spring", "email"]))["id"]
    c = (await links.add(alice, url="https://e.com/c"))["id"]
    theirs = (await links.add(bob, url="https://e.com/bob", tags=["spring"]))["id"]
    await clicked(settings, alice, [a, b, b, c])
    await clicked(settings, bob, [theirs] * 5)

    async def counted() -> bool:
        body = await links.fetch(alice, "/api/urls/stats")
        mine: bool = body["clicks"] == 4
        return mine and (await links.fetch(bob, "/api/urls/stats"))["clicks"] == 5

    await eventually(counted, within=15, every=0.2)

    body = await links.fetch(alice, "/api/urls/stats?interval=hour")
    assert body["error"] == 0
    assert (body["clicks"], body["uniqueClicks"], body["botClicks"]) == (4, 4, 0)
    assert sum(point["clicks"] for point in body["series"]) == 4
    assert len(body["series"]) in (24, 25)  # the last day, in whole hours
    assert body["topCountries"] == {"Canada": 4}
    assert body["interval"] == "hour"

    assert (await links.fetch(alice, "/api/urls/stats?tag=Spring"))["clicks"] == 3
    assert (await links.fetch(alice, "/api/urls/stats?tag=email"))["clicks"] == 2
    assert (await links.fetch(alice, "/api/urls/stats?tag=nothing"))["clicks"] == 0
    assert (await links.fetch(alice, f"/api/urls/stats?campaign={campaign}"))["clicks"] == 1
    assert (await links.fetch(alice, "/api/urls/stats?domain=_"))["clicks"] == 4
    assert (await links.fetch(alice, "/api/urls/stats?domain=other.example"))["clicks"] == 0

    tags = await links.fetch(alice, "/api/urls/stats/tags")
    assert [(t["tag"], t["links"], t["clicks"]) for t in tags["tags"]] == [
        ("spring", 2, 3),
        ("email", 1, 2),
    ]
    domains = await links.fetch(alice, "/api/urls/stats/domains")
    assert [(d["domain"], d["links"], d["clicks"]) for d in domains["domains"]] == [("_", 3, 4)]
    campaigns = await links.fetch(alice, "/api/urls/stats/campaigns")
    assert campaigns["campaigns"] == [
        {
            "campaign": campaign,
            "name": "Spring push",
            "links": 1,
            "clicks": 1,
            "uniqueClicks": 1,
            "botClicks": 0,
        }
    ]
    # Bob's tag of the same name is his alone.
    bobs = await links.fetch(bob, "/api/urls/stats/tags")
    assert [(t["tag"], t["clicks"]) for t in bobs["tags"]] == [("spring", 5)]

    status, answer = await links.call("GET", "/api/urls/stats/colours", alice)
    assert (status, answer["error"]) == (404, 1)
    status, answer = await links.call("GET", "/api/urls/stats?interval=week", alice)
    assert (status, answer["message"]) == (
        400,
        "The parameter 'interval' must be one of: hour, day, month.",
    )
    status, answer = await links.call("GET", "/api/urls/stats?campaign=x", alice)
    assert (status, answer["message"]) == (400, "The parameter 'campaign' must be a campaign id.")


async def test_account_stats_answer_503_while_analytics_is_down(links: LinksApi) -> None:
    alice = principals.user()
    status, answer = await links.call("GET", "/api/urls/stats", alice)
    assert (status, answer["error"]) == (503, 1)
