"""CTA overlays (API.md section 6): the published list (items key ``cta``),
add / update / delete, validation, plan gates, ownership, and links of type
``overlay-<id>`` whose snapshots carry the overlay."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from shared.identity import Principal
from shared.settings import Settings
from tests.links.conftest import Invalidations, LinksApi, snapshot
from tests.support import principals

MESSAGE: dict[str, Any] = {
    "type": "message",
    "name": "Product 1 Promo",
    "text": "Our spring sale is on.",
    "button_text": "Shop now",
    "button_url": "https://shop.example.com/sale",
    "position": "bottom-right",
    "colors": {"bg": "#ffffff", "text": "#000", "button": "#FF0000", "button_text": "#FFFFFF"},
}
CONTACT: dict[str, Any] = {
    "type": "contact",
    "name": "Contact Page",
    "text": "Leave your details",
    "button_text": "Send",
    "group": 42,
}


async def add_overlay(links: LinksApi, who: Principal, body: dict[str, Any]) -> int:
    status, answer = await links.call("POST", "/api/overlay/add", who, body)
    assert status == 200, answer
    assert set(answer) == {"error", "id"}
    overlay_id: int = answer["id"]
    return overlay_id


async def overlay_rows(pg_pool: asyncpg.Pool, who: Principal) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pg_pool.fetch(
        "SELECT * FROM links.overlays WHERE owner_id = $1 ORDER BY id", who.user_id
    )
    return rows


async def test_add_list_get_update_delete(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    first = await add_overlay(links, alice, MESSAGE)
    second = await add_overlay(links, alice, CONTACT)
    rows = await overlay_rows(pg_pool, alice)
    date = {r["id"]: r["created_at"].strftime("%Y-%m-%d %H:%M:%S") for r in rows}

    status, body = await links.call("GET", "/api/overlay?limit=2&page=1", alice)
    assert status == 200
    assert body == {
        "error": 0,
        "data": {
            "result": 2,
            "perpage": 2,
            "currentpage": 1,
            "nextpage": None,
            "maxpage": 1,
            "cta": [
                {"id": second, "type": "contact", "name": "Contact Page", "date": date[second]},
                {"id": first, "type": "message", "name": "Product 1 Promo", "date": date[first]},
            ],
        },
    }
    status, body = await links.call("GET", f"/api/overlay/{first}", alice)
    assert status == 200
    assert body["data"] == {
        "id": first,
        "type": "message",
        "name": "Product 1 Promo",
        "text": "Our spring sale is on.",
        "button_text": "Shop now",
        "button_url": "https://shop.example.com/sale",
        "position": "bottom-right",
        "colors": {
            "bg": "#FFFFFF",
            "text": "#000000",
            "button": "#FF0000",
            "button_text": "#FFFFFF",
        },
        "group": None,
        "date": date[first],
    }
    status, body = await links.call("GET", f"/api/overlay/{second}", alice)
    assert (body["data"]["group"], body["data"]["position"], body["data"]["colors"]) == (
        42,
        "bottom",
        {},
    )

    status, body = await links.call(
        "PUT",
        f"/api/overlay/{second}/update",
        alice,
        {"type": "newsletter", "group": None, "colors": {"bg": "#123456"}},
    )
    assert (status, body) == (
        200,
        {"error": 0, "message": "CTA overlay has been updated successfully."},
    )
    row = (await overlay_rows(pg_pool, alice))[1]
    assert (row["type"], row["group_id"], row["colors"], row["text"]) == (
        "newsletter",
        None,
        {"bg": "#123456"},
        "Leave your details",
    )

    status, body = await links.call("DELETE", f"/api/overlay/{first}/delete", alice)
    assert (status, body) == (
        200,
        {"error": 0, "message": "CTA overlay has been deleted successfully."},
    )
    assert [r["id"] for r in await overlay_rows(pg_pool, alice)] == [second]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": None}, "The field 'name' is required."),
        ({"type": "popup"}, "The field 'type' must be one of: message, contact, newsletter."),
        ({"position": "center; background:url(x)"}, "The field 'position' must be one of"),
        ({"colors": "#FFFFFF"}, "must be an object"),
        ({"colors": {"bg": "red"}}, "colors.bg"),
        ({"colors": {"bg": "#FFF;}body{x:y"}}, "colors.bg"),
        ({"colors": {"bg": "#FFFFFF", "border": "#000000"}}, "unknown keys (border)"),
        ({"button_url": "javascript:alert(1)"}, "'javascript:' scheme"),
        ({"button_url": "vbscript:msgbox(1)"}, "'vbscript:' scheme"),
        ({"group": 5}, "only to contact and newsletter overlays"),
        ({"text": "x" * 5001}, "at most 5000"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    links: LinksApi, pg_pool: asyncpg.Pool, change: dict[str, Any], message: str
) -> None:
    alice = principals.user()
    status, body = await links.call("POST", "/api/overlay/add", alice, {**MESSAGE, **change})
    assert status == 400, body
    assert message in body["message"]
    assert await overlay_rows(pg_pool, alice) == []

    overlay_id = await add_overlay(links, alice, MESSAGE)
    before = await overlay_rows(pg_pool, alice)
    status, body = await links.call("PUT", f"/api/overlay/{overlay_id}/update", alice, change)
    assert status == 400
    assert await overlay_rows(pg_pool, alice) == before


async def test_contact_group_must_be_a_positive_id(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    for group in (-1, "abc", True, 2**63):
        status, body = await links.call(
            "POST", "/api/overlay/add", alice, {**CONTACT, "group": group}
        )
        assert status == 400, (group, body)
    assert await overlay_rows(pg_pool, alice) == []


async def test_plan_gate_and_count(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    starter = principals.user(principals.STARTER_LIMITS)
    status, body = await links.call("POST", "/api/overlay/add", starter, MESSAGE)
    assert status == 403
    assert "'overlay' feature" in body["message"]
    assert await overlay_rows(pg_pool, starter) == []

    business = principals.user(principals.BUSINESS_LIMITS)  # overlay.count = 10
    for _ in range(10):
        await add_overlay(links, business, MESSAGE)
    status, body = await links.call("POST", "/api/overlay/add", business, MESSAGE)
    assert status == 403
    assert "limit of 10 CTA overlays" in body["message"]
    assert len(await overlay_rows(pg_pool, business)) == 10


async def test_another_users_overlay_is_not_found(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, bob = principals.user(), principals.user()
    overlay_id = await add_overlay(links, alice, CONTACT)
    before = await overlay_rows(pg_pool, alice)
    for method, path, body in (
        ("GET", f"/api/overlay/{overlay_id}", None),
        ("PUT", f"/api/overlay/{overlay_id}/update", {"name": "mine"}),
        ("DELETE", f"/api/overlay/{overlay_id}/delete", None),
    ):
        status, answer = await links.call(method, path, bob, body)
        assert (status, answer) == (404, {"error": 1, "message": "CTA overlay not found."})
    assert await overlay_rows(pg_pool, alice) == before

    added = await links.add(bob, url="https://example.com")
    link_before = await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"])
    status, answer = await links.call(
        "PUT", f"/api/url/{added['id']}/update", bob, {"type": f"overlay-{overlay_id}"}
    )
    assert status == 404
    assert answer["message"] == (
        f"CTA overlay {overlay_id} not found. Add it first with /api/overlay/add."
    )
    assert (
        await pg_pool.fetchrow("SELECT * FROM links.links WHERE id = $1", added["id"])
        == link_before
    )


async def test_link_snapshots_carry_the_overlay_and_follow_changes(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    invalidations: Invalidations,
) -> None:
    alice = principals.user()
    overlay_id = await add_overlay(links, alice, CONTACT)
    alias = f"ov-{alice.user_id}"
    added = await links.add(
        alice, url="https://example.com/ov", custom=alias, type=f"overlay-{overlay_id}"
    )
    suffix = f"link:_:{alias}"
    snap = await snapshot(redis_client, settings, suffix)
    assert snap is not None
    assert snap["overlay"] == {
        "type": "contact",
        "name": "Contact Page",
        "text": "Leave your details",
        "button_text": "Send",
        "button_url": None,
        "position": "bottom",
        "colors": {},
        "group": 42,
    }
    assert snap["splash"] is None

    status, _ = await links.call(
        "PUT",
        f"/api/overlay/{overlay_id}/update",
        alice,
        {"text": "<b>new</b>", "position": "top-left", "colors": {"bg": "#000000"}},
    )
    assert status == 200
    await invalidations.wait_for(suffix, times=2)
    snap = await snapshot(redis_client, settings, suffix)
    assert snap is not None
    overlay = snap["overlay"]
    assert (overlay["text"], overlay["position"], overlay["colors"]) == (
        "<b>new</b>",
        "top-left",
        {"bg": "#000000"},
    )

    # Deleted: the link becomes a direct link.
    status, _ = await links.call("DELETE", f"/api/overlay/{overlay_id}/delete", alice)
    assert status == 200
    await invalidations.wait_for(suffix, times=3)
    snap = await snapshot(redis_client, settings, suffix)
    assert snap is not None
    assert (snap["type"], snap["overlay"]) == ("direct", None)
    assert (await links.details(alice, added["id"]))["type"] == "direct"
