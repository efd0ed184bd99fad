"""Channels (API.md section 8): the published shapes and messages, the items
of a channel (links and QR codes), assigning by type, the 409 on a duplicate
name, ownership everywhere, and deleting a channel unassigns its items."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from shared.identity import Principal
from tests.links.conftest import LinksApi, only_page, owned_rows
from tests.support import principals

NEW: dict[str, Any] = {
    "name": "New Channel",
    "description": "my new channel",
    "color": "#000000",
    "starred": True,
}


MENU_QR: dict[str, Any] = {"type": "text", "data": "hello", "name": "Menu QR"}

channel_rows = owned_rows("channel")


async def assign(
    links: LinksApi, who: Principal, channel_id: int, kind: str, item_id: int
) -> tuple[int, Any]:
    return await links.call("POST", f"/api/channel/{channel_id}/assign/{kind}/{item_id}", who)


async def test_add_list_update_delete_shapes(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    added = await links.added(alice, "channel", **NEW)
    assert added == {"error": 0, "id": added["id"], **NEW}
    second = await links.added(alice, "channel", name="Channel 2", color="#f00")
    assert second == {
        "error": 0,
        "id": second["id"],
        "name": "Channel 2",
        "description": None,
        "color": "#FF0000",
        "starred": False,
    }
    body = await links.fetch(alice, "/api/channels?limit=2&page=1")
    assert body == only_page(
        "channels",
        [
            {k: v for k, v in second.items() if k != "error"},
            {k: v for k, v in added.items() if k != "error"},
        ],
    )
    await links.assert_updated(
        alice,
        "channel",
        added["id"],
        {
            "name": "Acme Corp",
            "description": "channel for items for Acme Corp",
            "color": "#FFFFFF",
            "starred": False,
        },
    )
    row = (await channel_rows(pg_pool, alice))[0]
    assert (row["name"], row["description"], row["color"], row["starred"]) == (
        "Acme Corp",
        "channel for items for Acme Corp",
        "#FFFFFF",
        False,
    )
    await links.assert_deleted(alice, "channel", added["id"])
    assert [r["id"] for r in await channel_rows(pg_pool, alice)] == [second["id"]]


async def test_duplicate_name_is_409(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, bob = principals.user(), principals.user()
    await links.added(alice, "channel", name="Clients")
    other = await links.added(alice, "channel", name="Partners")
    for body in ({"name": "Clients"}, {"name": "  clients "}):
        status, answer = await links.call("POST", "/api/channel/add", alice, body)
        assert (status, answer) == (
            409,
            {"error": 1, "message": "You already have a channel with this name."},
        )
    status, answer = await links.call(
        "PUT", f"/api/channel/{other['id']}/update", alice, {"name": "CLIENTS"}
    )
    assert (status, answer["message"]) == (409, "You already have a channel with this name.")
    assert [r["name"] for r in await channel_rows(pg_pool, alice)] == ["Clients", "Partners"]
    # Names are per user.
    await links.added(bob, "channel", name="Clients")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "The field 'name' is required."),
        ({"name": ""}, "must not be empty"),
        ({"name": "x", "color": "#00000"}, "#RRGGBB"),
        ({"name": "x", "color": "red"}, "#RRGGBB"),
        ({"name": "x", "color": '#FFF"><script>'}, "#RRGGBB"),
        ({"name": "x", "starred": "yes"}, "must be a boolean"),
        ({"name": "x", "description": "d" * 1001}, "at most 1000"),
        ({"name": ["x"]}, "must be a string"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    links: LinksApi, pg_pool: asyncpg.Pool, body: dict[str, Any], message: str
) -> None:
    alice = principals.user()
    assert message in await links.refused(alice, "channel", body)
    assert await channel_rows(pg_pool, alice) == []


async def test_items_assign_and_listing(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    channel = await links.added(alice, "channel", **NEW)
    link = await links.add(
        alice, url="https://google.com", custom=f"g-{alice.user_id}", title="My Sample Link"
    )
    qr = await links.added(alice, "qr", **MENU_QR)
    for kind, item_id in (("links", link["id"]), ("qr", qr["id"])):
        status, body = await assign(links, alice, channel["id"], kind, item_id)
        assert (status, body) == (
            200,
            {"error": 0, "message": "Item successfully added to the channel."},
        )
    base = links.settings.public_base_url
    body = await links.fetch(alice, f"/api/channel/{channel['id']}?limit=1&page=1")
    data = body["data"]
    assert (data["result"], data["perpage"], data["currentpage"], data["nextpage"]) == (2, 1, 1, 2)
    status, body = await links.call("GET", f"/api/channel/{channel['id']}", alice)
    items = {item["type"]: item for item in body["data"]["items"]}
    assert set(items) == {"links", "qr"}
    assert {k: v for k, v in items["links"].items() if k != "date"} == {
        "type": "links",
        "id": link["id"],
        "title": "My Sample Link",
        "preview": "https://google.com",
        "link": f"{base}/g-{alice.user_id}",
    }
    assert {k: v for k, v in items["qr"].items() if k != "date"} == {
        "type": "qr",
        "id": qr["id"],
        "title": "Menu QR",
        "preview": qr["link"],
        "link": qr["link"],
    }
    assert all(len(item["date"]) == 19 for item in items.values())
    assert (await links.details(alice, link["id"]))["channel"] == channel["id"]


async def test_a_missing_bio_page_is_404_and_unknown_item_types_are_400(links: LinksApi) -> None:
    alice = principals.user()
    channel = await links.added(alice, "channel", **NEW)
    status, body = await assign(links, alice, channel["id"], "bio", 10**12)
    assert (status, body["message"]) == (404, "Bio page not found.")
    status, body = await assign(links, alice, channel["id"], "campaigns", 1)
    assert (status, body["message"]) == (400, "The item type must be links, qr or bio.")


async def test_another_users_ids_are_not_found(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice, bob = principals.user(), principals.user()
    channel = await links.added(alice, "channel", **NEW)
    bobs_channel = await links.added(bob, "channel", **NEW)
    alices_link = await links.add(alice, url="https://example.com/a")
    alices_qr = await links.added(alice, "qr", **MENU_QR)
    bobs_link = await links.add(bob, url="https://example.com/b")
    before = await channel_rows(pg_pool, alice)
    await links.assert_not_found(bob, "channel", channel["id"])
    status, answer = await assign(links, bob, channel["id"], "links", bobs_link["id"])
    assert (status, answer) == (404, {"error": 1, "message": "Channel not found."})
    # Bob's channel, Alice's items.
    status, answer = await assign(links, bob, bobs_channel["id"], "links", alices_link["id"])
    assert (status, answer["message"]) == (404, "Link not found.")
    status, answer = await assign(links, bob, bobs_channel["id"], "qr", alices_qr["id"])
    assert (status, answer["message"]) == (404, "QR code not found.")
    assert await channel_rows(pg_pool, alice) == before
    assigned = await pg_pool.fetchval(
        """SELECT count(*) FROM links.links WHERE channel_id IS NOT NULL AND owner_id = $1""",
        alice.user_id,
    ) + await pg_pool.fetchval(
        "SELECT count(*) FROM links.qr_codes WHERE channel_id IS NOT NULL AND owner_id = $1",
        alice.user_id,
    )
    assert assigned == 0
    # Nor can a link be put in it through url/add.
    status, answer = await links.call(
        "POST", "/api/url/add", bob, {"url": "https://example.com", "channel": channel["id"]}
    )
    assert (status, answer["message"]) == (
        404,
        f"Channel {channel['id']} not found. Add it first with /api/channel/add.",
    )


async def test_delete_unassigns_its_items(links: LinksApi, pg_pool: asyncpg.Pool) -> None:
    alice = principals.user()
    channel = await links.added(alice, "channel", **NEW)
    link = await links.add(alice, url="https://example.com/in", channel=channel["id"])
    qr = await links.added(alice, "qr", **MENU_QR)
    status, _ = await assign(links, alice, channel["id"], "qr", qr["id"])
    assert status == 200
    status, _ = await links.call("DELETE", f"/api/channel/{channel['id']}/delete", alice)
    assert status == 200
    link_row = await pg_pool.fetchrow(
        "SELECT channel_id FROM links.links WHERE id = $1", link["id"]
    )
    qr_row = await pg_pool.fetchrow("SELECT channel_id FROM links.qr_codes WHERE id = $1", qr["id"])
    assert link_row is not None
    assert qr_row is not None
    assert (link_row["channel_id"], qr_row["channel_id"]) == (None, None)
    status, _body = await links.call("GET", f"/api/channel/{channel['id']}", alice)
    assert status == 404
