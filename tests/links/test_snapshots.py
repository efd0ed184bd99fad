"""What the edge sees: snapshots in Redis and invalidation messages, on every change."""

from __future__ import annotations

import redis.asyncio as aioredis

from services.links.snapshot import load_link_snapshot
from shared.postgres import create_pool
from shared.settings import Settings
from tests.links.conftest import EventTap, Invalidations, LinksApi, snapshot
from tests.support import principals


async def test_add_writes_the_snapshot_and_announces_it(
    links: LinksApi, invalidations: Invalidations
) -> None:
    alice = principals.user()
    added = await links.add(
        alice,
        url="https://example.com/snap",
        custom=f"snap-{alice.user_id}",
        password="pw",
        clicklimit=9,
        geotarget=[{"location": "Canada", "link": "https://example.ca"}],
        metatitle="Meta",
    )
    suffix = f"link:_:snap-{alice.user_id}"
    snap = await invalidations.snapshot_after(suffix)
    assert snap["id"] == added["id"]
    assert snap["owner"] == alice.user_id
    assert snap["host"] == "_"
    assert snap["url"] == "https://example.com/snap"
    assert snap["clicklimit"] == 9
    assert snap["geo"] == [{"location": "CA", "link": "https://example.ca"}]
    assert snap["password"].startswith("scrypt$")
    assert snap["meta"] == {"title": "Meta", "description": None, "image": None}


async def test_snapshot_equals_what_the_edge_would_load_from_postgres(
    links: LinksApi, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    await links.add(alice, url="https://example.com/same", custom=f"same-{alice.user_id}")
    pool = await create_pool(
        settings.database_url, server_settings={"search_path": "links, public"}
    )
    try:
        loaded = await load_link_snapshot(pool, "_", f"same-{alice.user_id}")
    finally:
        await pool.close()
    assert await snapshot(redis_client, settings, f"link:_:same-{alice.user_id}") == loaded


async def test_update_rewrites_the_snapshot_and_moves_a_renamed_alias(
    links: LinksApi,
    redis_client: aioredis.Redis,
    settings: Settings,
    invalidations: Invalidations,
) -> None:
    alice = principals.user()
    old, new = f"old-{alice.user_id}", f"new-{alice.user_id}"
    added = await links.add(alice, url="https://example.com/v1", custom=old)
    status, _ = await links.call(
        "PUT", f"/api/url/{added['id']}/update", alice, {"url": "https://example.com/v2"}
    )
    assert status == 200
    snap = await snapshot(redis_client, settings, f"link:_:{old}")
    assert snap is not None
    assert snap["url"] == "https://example.com/v2"

    status, _ = await links.call("PUT", f"/api/url/{added['id']}/update", alice, {"custom": new})
    assert status == 200
    seen = await invalidations.wait_for(f"link:_:{new}")
    assert f"link:_:{old}" in seen
    assert await snapshot(redis_client, settings, f"link:_:{old}") is None
    moved = await snapshot(redis_client, settings, f"link:_:{new}")
    assert moved is not None
    assert moved["id"] == added["id"]


async def test_delete_removes_the_snapshot_at_once_and_publishes_link_deleted(
    links: LinksApi,
    redis_client: aioredis.Redis,
    settings: Settings,
    invalidations: Invalidations,
    link_deleted_tap: EventTap,
) -> None:
    alice = principals.user()
    alias = f"bye-{alice.user_id}"
    added = await links.add(alice, url="https://example.com/bye", custom=alias)
    assert await snapshot(redis_client, settings, f"link:_:{alias}") is not None
    status, _ = await links.call("DELETE", f"/api/url/{added['id']}/delete", alice)
    assert status == 200
    # Gone by the time the API answered; the edges were told.
    assert await snapshot(redis_client, settings, f"link:_:{alias}") is None
    await invalidations.wait_for(f"link:_:{alias}", times=2)  # added, then deleted
    events = await link_deleted_tap.events(1)
    assert events[0]["type"] == "link.deleted"
    assert events[0]["payload"] == {"link_id": added["id"], "owner_id": alice.user_id}
    assert len(events[0]["id"]) == 32


async def test_branded_link_snapshot_lives_under_the_domain_host(
    links: LinksApi, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    host = f"go-{alice.user_id}.example.com"
    status, domain = await links.call(
        "POST",
        "/api/domain/add",
        alice,
        {"domain": f"https://{host.upper()}", "redirectroot": "https://example.com/root"},
    )
    assert status == 200
    dsnap = await snapshot(redis_client, settings, f"domain:{host}")
    assert dsnap == {
        "v": 1,
        "id": domain["id"],
        "owner": alice.user_id,
        "host": host,
        "root": "https://example.com/root",
        "notfound": None,
        "live": True,  # verification is off in these tests
    }
    added = await links.add(alice, url="https://example.com", custom="branded", domain=domain["id"])
    assert added["shorturl"] == f"https://{host}/branded"
    snap = await snapshot(redis_client, settings, f"link:{host}:branded")
    assert snap is not None
    assert snap["host"] == host
    assert snap["id"] == added["id"]
    assert await snapshot(redis_client, settings, "link:_:branded") is None

    # Moving the link back to the default domain moves its snapshot too.
    status, body = await links.call(
        "PUT", f"/api/url/{added['id']}/update", alice, {"domain": None}
    )
    assert status == 200
    assert body["shorturl"] == f"{settings.public_base_url}/branded"
    assert await snapshot(redis_client, settings, f"link:{host}:branded") is None
    assert (await snapshot(redis_client, settings, "link:_:branded")) is not None
