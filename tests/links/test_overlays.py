"""CTA overlays (API.md section 6): the published list (items key ``cta``),
add / update / delete, validation, plan gates, ownership, and links of type
``overlay-<id>`` whose snapshots carry the overlay."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.links.conftest import (
    Invalidations,
    LinksApi,
    assert_refused_on_add_and_update,
    only_page,
    owned_rows,
    published_dates,
)
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


overlay_rows = owned_rows("overlay")


async def test_add_list_get_update_delete(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    first = await links.create(alice, "overlay", **MESSAGE)
    second = await links.create(alice, "overlay", **CONTACT)
    rows = await overlay_rows(pg_pool, alice)
    date = published_dates(rows)

    body = await links.fetch(alice, "/api/overlay?limit=2&page=1")
    assert body == only_page(
        "cta",
        [
            {"id": second, "type": "contact", "name": "Contact Page", "date": date[second]},
            {"id": first, "type": "message", "name": "Product 1 Promo", "date": date[first]},
        ],
    )
    body = await links.fetch(alice, f"/api/overlay/{first}")
    assert body["data"] == {
        "id": first,
        **MESSAGE,
        "colors": {  # normalized
            "bg": "#FFFFFF",
            "text": "#000000",
            "button": "#FF0000",
            "button_text": "#FFFFFF",
        },
        "group": None,
        "date": date[first],
    }
    body = await links.fetch(alice, f"/api/overlay/{second}")
    assert (body["data"]["group"], body["data"]["position"], body["data"]["colors"]) == (
        42,
        "bottom",
        {},
    )

    await links.assert_updated(
        alice, "overlay", second, {"type": "newsletter", "group": None, "colors": {"bg": "#123456"}}
    )
    row = (await overlay_rows(pg_pool, alice))[1]
    assert (row["type"], row["group_id"], row["colors"], row["text"]) == (
        "newsletter",
        None,
        {"bg": "#123456"},
        "Leave your details",
    )

    await links.assert_deleted(alice, "overlay", first)
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
    await assert_refused_on_add_and_update(links, pg_pool, "overlay", MESSAGE, change, message)


async def test_contact_group_must_be_a_positive_id(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    for group in (-1, "abc", True, 2**63):
        status, body = await links.call(
            "POST", "/api/overlay/add", alice, {**CONTACT, "group": group}
        )
        assert status == 400, (group, body)
    assert await overlay_rows(pg_pool, alice) == []


async def test_another_users_overlay_is_not_found(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, bob = principals.user(), principals.user()
    overlay_id = await links.create(alice, "overlay", **CONTACT)
    before = await overlay_rows(pg_pool, alice)
    await links.assert_not_found(bob, "overlay", overlay_id)
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
    links: LinksApi, invalidations: Invalidations
) -> None:
    alice = principals.user()
    overlay_id = await links.create(alice, "overlay", **CONTACT)
    alias = f"ov-{alice.user_id}"
    added = await links.add(
        alice, url="https://example.com/ov", custom=alias, type=f"overlay-{overlay_id}"
    )
    suffix = f"link:_:{alias}"
    snap = await invalidations.snapshot_after(suffix)
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

    await links.assert_updated(
        alice,
        "overlay",
        overlay_id,
        {"text": "<b>new</b>", "position": "top-left", "colors": {"bg": "#000000"}},
    )
    snap = await invalidations.snapshot_after(suffix, times=2)
    overlay = snap["overlay"]
    assert (overlay["text"], overlay["position"], overlay["colors"]) == (
        "<b>new</b>",
        "top-left",
        {"bg": "#000000"},
    )

    # Deleted: the link becomes a direct link.
    await links.assert_deleted(alice, "overlay", overlay_id)
    snap = await invalidations.snapshot_after(suffix, times=3)
    assert (snap["type"], snap["overlay"]) == ("direct", None)
    assert (await links.details(alice, added["id"]))["type"] == "direct"
