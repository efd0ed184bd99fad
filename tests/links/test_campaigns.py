"""Campaigns (API.md section 7): the published shapes and messages, the 409s,
assigning links, ownership, deleting a campaign leaves its links, and the
``campaign:<slug>`` snapshot the edge's rotator reads."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from services.links.lifecycle import purge_user
from services.links.snapshot import load_campaign_page, load_campaign_snapshot
from shared.identity import Principal
from shared.settings import Settings
from tests.links.conftest import LinksApi, only_page, owned_rows, snapshot
from tests.support import principals

NAME_TAKEN = "You already have a campaign with that name."
SLUG_TAKEN = "That rotator slug is already taken. Please choose another one."


def slug_for(who: Principal, label: str = "new-campaign") -> str:
    return f"{label}-{who.user_id}"


campaign_rows = owned_rows("campaign")


async def assign(links: LinksApi, who: Principal, campaign_id: int, link_id: int) -> Any:
    return await links.call("POST", f"/api/campaign/{campaign_id}/assign/{link_id}", who)


async def test_add_list_update_delete_shapes(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    base = links.settings.public_base_url
    slug = slug_for(alice)
    added = await links.added(alice, "campaign", name="New Campaign", slug=slug, public=True)
    cid = added["id"]
    assert added == {
        "error": 0,
        "id": cid,
        "name": "New Campaign",
        "domain": "New Campaign",
        "public": True,
        "rotator": f"{base}/r/{slug}",
        "list": f"{base}/u/{alice.username}/{slug}-{cid}",
    }
    plain = await links.added(alice, "campaign", name="Sample Campaign")
    assert (plain["public"], plain["rotator"]) == (False, False)
    assert plain["list"] == f"{base}/u/{alice.username}/sample-campaign-{plain['id']}"

    body = await links.fetch(alice, "/api/campaigns?limit=2&page=1")
    assert body == only_page(
        "campaigns",
        [
            {
                "id": plain["id"],
                "name": "Sample Campaign",
                "public": False,
                "rotator": False,
                "list": plain["list"],
            },
            {
                "id": cid,
                "name": "New Campaign",
                "public": True,
                "rotator": f"{base}/r/{slug}",
                "list": added["list"],
            },
        ],
    )

    new_slug = slug_for(alice, "twitter-campaign")
    status, body = await links.call(
        "PUT",
        f"/api/campaign/{cid}/update",
        alice,
        {"name": "Twitter Campaign", "slug": new_slug, "public": False},
    )
    assert (status, body) == (
        200,
        {
            "error": 0,
            "id": cid,
            "name": "Twitter Campaign",
            "domain": "Twitter Campaign",
            "public": False,
            "rotator": f"{base}/r/{new_slug}",
            "list": f"{base}/u/{alice.username}/{new_slug}-{cid}",
        },
    )
    status, body = await links.call(
        "PUT", f"/api/campaign/{cid}/update", alice, {"name": "Twitter Campaign", "slug": None}
    )
    assert (status, body["rotator"], body["public"]) == (200, False, False)
    assert body["list"] == f"{base}/u/{alice.username}/twitter-campaign-{cid}"

    await links.assert_deleted(alice, "campaign", cid)
    assert [r["id"] for r in await campaign_rows(pg_pool, alice)] == [plain["id"]]


async def test_duplicate_name_and_taken_slug_are_409(
    links: LinksApi, pg_pool: asyncpg.Pool
) -> None:
    alice, bob = principals.user(), principals.user()
    slug = slug_for(alice, "shared")
    first = await links.added(alice, "campaign", name="Launch", slug=slug)
    other = await links.added(alice, "campaign", name="Other")
    for body in ({"name": "Launch"}, {"name": " launch "}):
        status, answer = await links.call("POST", "/api/campaign/add", alice, body)
        assert (status, answer) == (409, {"error": 1, "message": NAME_TAKEN})
    status, answer = await links.call(
        "PUT", f"/api/campaign/{other['id']}/update", alice, {"name": "LAUNCH"}
    )
    assert (status, answer["message"]) == (409, NAME_TAKEN)
    # Slugs are global, whatever their case.
    for who, body in (
        (bob, {"name": "Launch", "slug": slug.upper()}),
        (alice, {"name": "B", "slug": slug}),
    ):
        status, answer = await links.call("POST", "/api/campaign/add", who, body)
        assert (status, answer) == (409, {"error": 1, "message": SLUG_TAKEN})
    status, answer = await links.call(
        "PUT", f"/api/campaign/{other['id']}/update", alice, {"name": "Other", "slug": slug}
    )
    assert (status, answer["message"]) == (409, SLUG_TAKEN)
    assert [(r["name"], r["slug"]) for r in await campaign_rows(pg_pool, alice)] == [
        ("Launch", slug),
        ("Other", None),
    ]
    assert await campaign_rows(pg_pool, bob) == []
    # Bob may use the name.
    await links.added(bob, "campaign", name="Launch")
    assert first["id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "The field 'name' is required."),
        ({"name": "  "}, "must not be empty"),
        ({"name": "x", "slug": "ab"}, "3 to 64 letters"),
        ({"name": "x", "slug": "a/b/c"}, "3 to 64 letters"),
        ({"name": "x", "slug": "<script>"}, "3 to 64 letters"),
        ({"name": "x", "slug": "s" * 65}, "3 to 64 letters"),
        ({"name": "x", "slug": 12345}, "3 to 64 letters"),
        ({"name": "x", "public": "maybe"}, "must be a boolean"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    links: LinksApi, pg_pool: asyncpg.Pool, body: dict[str, Any], message: str
) -> None:
    alice = principals.user()
    assert message in await links.refused(alice, "campaign", body)
    assert await campaign_rows(pg_pool, alice) == []


async def test_update_needs_the_name(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    added = await links.added(alice, "campaign", name="Keep")
    before = await campaign_rows(pg_pool, alice)
    status, body = await links.call(
        "PUT", f"/api/campaign/{added['id']}/update", alice, {"public": True}
    )
    assert (status, body["message"]) == (400, "The field 'name' is required.")
    assert await campaign_rows(pg_pool, alice) == before


async def test_plan_gate(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    assert "'bundle' feature" in await links.refused(starter, "campaign", {"name": "x"}, 403)
    assert await campaign_rows(pg_pool, starter) == []


async def test_assign_and_ownership(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, bob = principals.user(), principals.user()
    campaign = await links.added(alice, "campaign", name="Mine")
    link = await links.add(alice, url="https://example.com/a")
    status, body = await assign(links, alice, campaign["id"], link["id"])
    assert (status, body) == (
        200,
        {"error": 0, "message": "Link successfully added to the campaign."},
    )
    assert (await links.details(alice, link["id"]))["campaign"] == campaign["id"]

    bobs_campaign = await links.added(bob, "campaign", name="Bob's")
    bobs_link = await links.add(bob, url="https://example.com/b")
    # Alice's campaign (for Bob) and Alice's link (into Bob's campaign): 404, nothing changes.
    await links.assert_not_found(bob, "campaign", campaign["id"], {"name": "x"})
    for campaign_id, link_id, message in (
        (campaign["id"], bobs_link["id"], "Campaign not found."),
        (bobs_campaign["id"], link["id"], "Link not found."),
        (bobs_campaign["id"], 99999999999, "Link not found."),
    ):
        status, answer = await assign(links, bob, campaign_id, link_id)
        assert (status, answer) == (404, {"error": 1, "message": message}), (campaign_id, link_id)
    assert (await links.details(alice, link["id"]))["campaign"] == campaign["id"]
    assert (await links.details(bob, bobs_link["id"]))["campaign"] is None
    status, answer = await links.call(
        "POST", "/api/url/add", bob, {"url": "https://example.com", "campaign": campaign["id"]}
    )
    assert (status, answer["message"]) == (
        404,
        f"Campaign {campaign['id']} not found. Add it first with /api/campaign/add.",
    )

    starter = principals.user(principals.STARTER_LIMITS)
    starter_link = await links.add(starter, url="https://example.com/s")
    status, answer = await assign(links, starter, campaign["id"], starter_link["id"])
    assert status == 403


async def test_delete_leaves_the_links_unassigned(
    links: LinksApi, pg_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    slug = slug_for(alice, "gone")
    campaign = await links.added(alice, "campaign", name="Gone", slug=slug)
    alias = f"stay-{alice.user_id}"
    link = await links.add(
        alice, url="https://example.com/s", custom=alias, campaign=campaign["id"]
    )
    snap = await snapshot(redis_client, settings, f"link:_:{alias}")
    assert snap is not None
    assert snap["campaign"] == campaign["id"]

    status, _ = await links.call("DELETE", f"/api/campaign/{campaign['id']}/delete", alice)
    assert status == 200
    details = await links.details(alice, link["id"])
    assert (details["campaign"], details["longurl"]) == (None, "https://example.com/s")
    snap = await snapshot(redis_client, settings, f"link:_:{alias}")
    assert snap is not None
    assert snap["campaign"] is None
    assert await snapshot(redis_client, settings, f"campaign:{slug}") is None


async def test_rotator_snapshot_follows_the_campaign_and_its_links(
    links: LinksApi, pg_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    slug = slug_for(alice, "rot")
    campaign = await links.added(alice, "campaign", name="Rotate", slug=slug, public=True)
    cid = campaign["id"]
    key = f"campaign:{slug}"
    assert await snapshot(redis_client, settings, key) == {
        "v": 1,
        "id": cid,
        "owner": alice.user_id,
        "public": True,
        "links": [],
    }
    aliases = [f"r{i}-{alice.user_id}" for i in range(3)]
    ids = [
        (await links.add(alice, url=f"https://example.com/{i}", custom=a, campaign=cid))["id"]
        for i, a in enumerate(aliases)
    ]
    snap = await snapshot(redis_client, settings, key)
    assert snap is not None
    assert snap["links"] == [
        {"id": i, "host": "_", "alias": a} for i, a in zip(ids, aliases, strict=True)
    ]

    # A renamed alias, a deleted link, a link moved to another campaign.
    status, _ = await links.call(
        "PUT", f"/api/url/{ids[0]}/update", alice, {"custom": f"x-{aliases[0]}"}
    )
    assert status == 200
    status, _ = await links.call("DELETE", f"/api/url/{ids[1]}/delete", alice)
    assert status == 200
    other_slug = slug_for(alice, "other")
    other = await links.added(alice, "campaign", name="Other", slug=other_slug)
    status, _ = await assign(links, alice, other["id"], ids[2])
    assert status == 200
    snap = await snapshot(redis_client, settings, key)
    assert snap is not None
    assert snap["links"] == [{"id": ids[0], "host": "_", "alias": f"x-{aliases[0]}"}]
    other_snap = await snapshot(redis_client, settings, f"campaign:{other_slug}")
    assert other_snap is not None
    assert other_snap["links"] == [{"id": ids[2], "host": "_", "alias": aliases[2]}]

    # What the edge would load on a miss is the same document.
    async with pg_pool.acquire() as conn:
        await conn.execute("SET search_path TO links")
        loaded = await load_campaign_snapshot(conn, slug)
        page = await load_campaign_page(conn, cid)
        assert await load_campaign_snapshot(conn, slug.upper()) is None
        await conn.execute("RESET search_path")
    assert loaded == snap
    assert page is not None
    assert (page["username"], page["public"], page["name"]) == (alice.username, True, "Rotate")
    assert [(item["id"], item["alias"], item["host"]) for item in page["links"]] == [
        (ids[0], f"x-{aliases[0]}", None)
    ]

    # A new slug moves the snapshot; no slug removes it.
    new_slug = slug_for(alice, "moved")
    status, _ = await links.call(
        "PUT", f"/api/campaign/{cid}/update", alice, {"name": "Rotate", "slug": new_slug}
    )
    assert status == 200
    assert await snapshot(redis_client, settings, key) is None
    moved = await snapshot(redis_client, settings, f"campaign:{new_slug}")
    assert moved is not None
    assert moved["id"] == cid
    status, _ = await links.call(
        "PUT", f"/api/campaign/{cid}/update", alice, {"name": "Rotate", "slug": ""}
    )
    assert status == 200
    assert await snapshot(redis_client, settings, f"campaign:{new_slug}") is None


async def test_a_deleted_users_objects_and_rotator_go(
    links: LinksApi, pg_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    slug = slug_for(alice, "bye")
    await links.added(alice, "campaign", name="Bye", slug=slug)
    for path, body in (
        ("/api/channel/add", {"name": "c"}),
        ("/api/pixel/add", {"type": "bing", "name": "p", "tag": "12345"}),
        ("/api/splash/add", {"name": "s"}),
        ("/api/overlay/add", {"name": "o"}),
    ):
        status, _ = await links.call("POST", path, alice, body)
        assert status == 200
    assert await snapshot(redis_client, settings, f"campaign:{slug}") is not None

    await purge_user(links.app, alice.user_id)
    for table in ("campaigns", "channels", "pixels", "splash_pages", "overlays"):
        count = await pg_pool.fetchval(
            f"SELECT count(*) FROM links.{table} WHERE owner_id = $1", alice.user_id
        )
        assert count == 0, table
    assert await snapshot(redis_client, settings, f"campaign:{slug}") is None


async def test_rotator_snapshot_names_branded_hosts_and_loses_a_deleted_domains_links(
    links: LinksApi, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    host = f"go-{alice.user_id}.example.com"
    status, body = await links.call("POST", "/api/domain/add", alice, {"domain": f"https://{host}"})
    assert status == 200
    domain_id = body["id"]
    slug = slug_for(alice, "brand")
    campaign = await links.added(alice, "campaign", name="Brand", slug=slug)
    branded = await links.add(
        alice,
        url="https://example.com/b",
        custom="promo",
        domain=domain_id,
        campaign=campaign["id"],
    )
    plain = await links.add(alice, url="https://example.com/p", campaign=campaign["id"])
    snap = await snapshot(redis_client, settings, f"campaign:{slug}")
    assert snap is not None
    assert [(item["id"], item["host"]) for item in snap["links"]] == [
        (branded["id"], host),
        (plain["id"], "_"),
    ]
    status, _ = await links.call("DELETE", f"/api/domain/{domain_id}/delete", alice)
    assert status == 200
    snap = await snapshot(redis_client, settings, f"campaign:{slug}")
    assert snap is not None
    assert [item["id"] for item in snap["links"]] == [plain["id"]]
