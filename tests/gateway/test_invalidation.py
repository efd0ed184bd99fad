"""A revoked key, a deleted user or a changed plan takes effect at once through
the gateway (X-Principal-Invalidate) and within seconds otherwise (events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.keys import PRINCIPALS
from shared import amqp, events
from shared.events import EventPublisher
from shared.settings import Settings
from tests.gateway.conftest import Gateway, body_of, eventually
from tests.gateway.standin import StandIn, sha256


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[EventPublisher]:
    connection = await amqp.connect(settings)
    try:
        yield await amqp.open_publisher(connection, settings)
    finally:
        await connection.close()


async def cached(redis_client: aioredis.Redis, settings: Settings, key: str) -> bool:
    return bool(await redis_client.exists(settings.redis_key("principal", sha256(key))))


async def test_regenerated_key_fails_at_once(
    gateway: Gateway, accounts: StandIn, redis_client: aioredis.Redis, settings: Settings
) -> None:
    old_key, uid = accounts.issue()
    assert (await gateway.get("/api/account", old_key)).status == 200
    assert await cached(redis_client, settings, old_key)

    resp = await gateway.call("POST", "/api/account/apikey/regenerate", old_key)
    assert resp.status == 200
    assert "X-Principal-Invalidate" not in resp.headers
    new_key = (await body_of(resp))["apikey"]

    assert not await cached(redis_client, settings, old_key)
    resp = await gateway.get("/api/account", old_key)
    assert resp.status == 401
    resp = await gateway.get("/api/account", new_key)
    assert resp.status == 200
    assert (await body_of(resp))["uid"] == uid


async def test_plan_change_through_the_gateway_applies_at_once(
    gateway: Gateway, accounts: StandIn
) -> None:
    plan_id = 900_000 + len(accounts.keys)
    key, _ = accounts.issue(plan_id=plan_id)
    other_plan_key, _ = accounts.issue(plan_id=plan_id + 1)
    assert (await gateway.get("/api/account", key)).headers["X-RateLimit-Limit"] == "30"
    assert (await gateway.get("/api/account", other_plan_key)).status == 200
    lookups = accounts.lookups

    admin_key, _ = accounts.issue(role="admin", plan_id=None)
    resp = await gateway.call(
        "PUT", f"/api/plan/{plan_id}/rate", admin_key, json={"rate": {"capacity": 7, "window": 60}}
    )
    assert resp.status == 200
    assert "X-Principal-Invalidate" not in resp.headers

    resp = await gateway.get("/api/account", key)
    assert resp.headers["X-RateLimit-Limit"] == "7"
    # principals of other plans stay cached
    await gateway.get("/api/account", other_plan_key)
    assert accounts.lookups == lookups + 2  # the admin's key, and the re-read one


async def test_user_deleted_event_evicts_their_principals(
    gateway: Gateway,
    accounts: StandIn,
    publisher: EventPublisher,
    redis_client: aioredis.Redis,
    settings: Settings,
) -> None:
    first, uid = accounts.issue(rate={"capacity": 500, "window": 60})
    second, _ = accounts.issue(rate={"capacity": 500, "window": 60}, user_id=uid)
    bystander, _ = accounts.issue()
    for key in (first, second, bystander):
        assert (await gateway.get("/api/account", key)).status == 200

    accounts.forget_user(uid)  # deleted elsewhere: the gateway saw nothing
    assert (await gateway.get("/api/account", first)).status == 200  # still cached
    await publisher.publish(events.new_event(events.USER_DELETED, {"user_id": uid}))

    async def refused() -> bool:
        return (await gateway.get("/api/account", first)).status == 401

    assert await eventually(refused)
    assert (await gateway.get("/api/account", second)).status == 401
    assert (await gateway.get("/api/account", bystander)).status == 200
    assert await cached(redis_client, settings, bystander)


async def test_apikey_revoked_event_evicts_that_key(
    gateway: Gateway, accounts: StandIn, publisher: EventPublisher
) -> None:
    key, uid = accounts.issue(rate={"capacity": 500, "window": 60})
    assert (await gateway.get("/api/account", key)).status == 200
    del accounts.keys[sha256(key)]
    await publisher.publish(
        events.new_event(events.APIKEY_REVOKED, {"user_id": uid, "key_hash": sha256(key)})
    )

    async def refused() -> bool:
        return (await gateway.get("/api/account", key)).status == 401

    assert await eventually(refused)


async def test_plan_changed_event_applies_new_limits(
    gateway: Gateway, accounts: StandIn, publisher: EventPublisher
) -> None:
    plan_id = 800_000 + len(accounts.keys)
    key, uid = accounts.issue(plan_id=plan_id)
    assert (await gateway.get("/api/account", key)).headers["X-RateLimit-Limit"] == "30"
    accounts.set_plan_rate(plan_id, {"capacity": 300, "window": 60})
    await publisher.publish(
        events.new_event(events.PLAN_CHANGED, {"plan_id": plan_id, "user_id": None, "limits": {}})
    )

    async def new_limit() -> bool:
        resp = await gateway.get("/api/account", key)
        return resp.headers["X-RateLimit-Limit"] == "300"

    assert await eventually(new_limit)

    # one user moved to another plan
    accounts.keys[sha256(key)]["plan_id"] = plan_id + 1
    accounts.keys[sha256(key)]["rate"] = {"capacity": 400, "window": 60}
    await publisher.publish(
        events.new_event(
            events.PLAN_CHANGED, {"plan_id": plan_id + 1, "user_id": uid, "limits": {}}
        )
    )

    async def moved() -> bool:
        resp = await gateway.get("/api/account", key)
        return resp.headers["X-RateLimit-Limit"] == "400"

    assert await eventually(moved)


async def test_malformed_events_are_ignored(
    gateway: Gateway, accounts: StandIn, publisher: EventPublisher
) -> None:
    key, uid = accounts.issue(rate={"capacity": 500, "window": 60})
    assert (await gateway.get("/api/account", key)).status == 200
    await publisher.publish_raw(events.USER_DELETED, [{"id": "x"}, {"nonsense": True}])
    accounts.forget_user(uid)
    await publisher.publish(events.new_event(events.USER_DELETED, {"user_id": uid}))

    async def refused() -> bool:
        return (await gateway.get("/api/account", key)).status == 401

    assert await eventually(refused)  # the consumer survived the bad message


async def test_eviction_during_a_lookup_keeps_its_stale_answer_out_of_the_cache(
    gateway: Gateway, accounts: StandIn, redis_client: aioredis.Redis, settings: Settings
) -> None:
    key, uid = accounts.issue()
    accounts.lookup_delay = 0.5
    pending = asyncio.ensure_future(gateway.get("/api/account", key))
    await accounts.looked_up.wait()  # the gateway is now waiting for the answer
    # the user is deleted meanwhile, elsewhere: the answer on its way is stale
    accounts.forget_user(uid)
    await gateway.client.app[PRINCIPALS].evict(users=[uid])
    resp = await pending
    assert resp.status == 200  # it was valid when asked
    assert not await cached(redis_client, settings, key)  # but not remembered
    accounts.lookup_delay = 0.0
    assert (await gateway.get("/api/account", key)).status == 401
