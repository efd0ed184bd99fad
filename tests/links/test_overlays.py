"""CTA overlays (API.md section 6): the published list (items key ``cta``),
add / update / delete, validation, plan gates, ownership, and links of type
``overlay-<id>`` whose snapshots carry the overlay."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.links.conftest import (
    ContactGroups,
    Invalidations,
    LinksApi,
    StartLinks,
    assert_refused_on_add_and_update,
    only_page,
    owned_rows,
    published_dates,
)
from tests.support import principals
from tests.support.service_client import closed_port

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
}


overlay_rows = owned_rows("overlay")


async def test_add_list_get_update_delete(
    contact_groups: ContactGroups, pg_pool: asyncpg.Pool
) -> None:
    links = contact_groups.links
    alice = await contact_groups.owner()
    group = await contact_groups.group(alice)
    first = await links.create(alice, "overlay", **MESSAGE)
    second = await links.create(alice, "overlay", **CONTACT, group=group)
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
        group,
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
    contact_groups: ContactGroups, invalidations: Invalidations
) -> None:
    links = contact_groups.links
    alice = await contact_groups.owner()
    group = await contact_groups.group(alice)
    overlay_id = await links.create(alice, "overlay", **CONTACT, group=group)
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
        "group": group,
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


# --- the contact group is the accounts service's ---------------------------------------


async def test_a_group_must_be_the_owners_own(
    contact_groups: ContactGroups, pg_pool: asyncpg.Pool
) -> None:
    links = contact_groups.links
    alice, mallory = await contact_groups.owner(), await contact_groups.owner()
    alices = await contact_groups.group(alice, "Alice's leads")
    mine = await contact_groups.group(mallory, "Mine")
    for group in (alices, 10**12):
        message = await links.refused(mallory, "overlay", {**CONTACT, "group": group}, 404)
        assert message == "Contact group not found."
    assert await overlay_rows(pg_pool, mallory) == []

    overlay_id = await links.create(mallory, "overlay", **CONTACT, group=mine)
    before = await overlay_rows(pg_pool, mallory)
    for change in ({"group": alices}, {"type": "newsletter", "group": alices}):
        message = await links.refused(mallory, "overlay", change, 404, item_id=overlay_id)
        assert message == "Contact group not found."
    assert await overlay_rows(pg_pool, mallory) == before
    # Its own group, and no group, are fine.
    await links.assert_updated(mallory, "overlay", overlay_id, {"name": "Renamed", "group": mine})
    await links.assert_updated(mallory, "overlay", overlay_id, {"group": None})
    assert (await overlay_rows(pg_pool, mallory))[0]["group_id"] is None


async def test_a_group_cannot_be_checked_while_accounts_is_down(
    start_links: StartLinks, pg_pool: asyncpg.Pool
) -> None:
    links = await start_links(accounts_url=f"http://127.0.0.1:{closed_port()}")
    alice = principals.user()
    status, body = await links.call("POST", "/api/overlay/add", alice, {**CONTACT, "group": 5})
    assert (status, body) == (
        503,
        {
            "error": 1,
            "message": "The accounts service is unavailable right now. Please retry later.",
        },
    )
    assert await overlay_rows(pg_pool, alice) == []
