"""Plans, quotas, retention and deletions, driven by the lifecycle events the
other services publish."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
import pytest
from aiohttp import web

from shared.amqp import LIFECYCLE_QUEUE
from shared.appkeys import METRICS_REGISTRY
from shared.events import (
    LINK_DELETED,
    PLAN_CHANGED,
    USER_DELETED,
    EventPublisher,
    new_event,
)
from shared.settings import Settings
from tests.analytics.conftest import StartWorker
from tests.analytics.helpers import (
    GOOGLEBOT,
    DeadLetters,
    click_event,
    link_clicks,
    new_link_id,
    publish,
    raw_count,
    wait_for_clicks,
)
from tests.support.principals import BUSINESS_LIMITS, STARTER_LIMITS, user
from tests.support.signed_client import SignedClient
from tests.support.waiting import eventually

_plan_ids = iter(range(900_000 + datetime.now(UTC).microsecond, 10**9))


async def change_plan(
    publisher: EventPublisher,
    pool: asyncpg.Pool,
    user_id: int | None,
    limits: dict[str, Any],
    *,
    plan_id: int | None = None,
    at: datetime | None = None,
    role: str | None = None,
) -> int:
    plan_id = plan_id or next(_plan_ids)
    payload: dict[str, Any] = {"plan_id": plan_id, "user_id": user_id, "limits": limits}
    if role is not None:
        payload["role"] = role
    event = new_event(PLAN_CHANGED, payload, at=at)
    await publisher.publish(event)

    async def applied() -> bool:
        changed = await pool.fetchval(
            "SELECT changed_at FROM analytics.plans WHERE plan_id = $1", plan_id
        )
        return changed is not None and changed >= event.occurred_at

    await eventually(applied)
    return plan_id


async def test_plan_changes_are_recorded_and_older_news_is_ignored(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner = user()
    now = datetime.now(UTC)
    plan = await change_plan(publisher, pg_pool, owner.user_id, BUSINESS_LIMITS, at=now)
    row = await pg_pool.fetchrow(
        "SELECT p.clicks, p.retention FROM analytics.user_plans u "
        "JOIN analytics.plans p USING (plan_id) WHERE u.user_id = $1",
        owner.user_id,
    )
    assert row is not None
    assert (row["clicks"], row["retention"]) == (100_000, 60)

    # An edit of the plan's limits (no user) reaches everyone on it.
    await change_plan(
        publisher,
        pg_pool,
        None,
        {**BUSINESS_LIMITS, "clicks": "250"},
        plan_id=plan,
        at=now + timedelta(seconds=1),
    )
    # A late, older event changes nothing.
    stale = new_event(
        PLAN_CHANGED,
        {"plan_id": plan, "user_id": None, "limits": STARTER_LIMITS},
        at=now - timedelta(hours=1),
    )
    await publisher.publish(stale)
    marker = await change_plan(publisher, pg_pool, None, STARTER_LIMITS)  # processed after it
    assert marker != plan
    row = await pg_pool.fetchrow(
        "SELECT clicks, retention FROM analytics.plans WHERE plan_id = $1", plan
    )
    assert row is not None
    assert (row["clicks"], row["retention"]) == (250, 60)


async def test_clicks_over_the_monthly_quota_are_not_tracked(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    stats_api: SignedClient,
) -> None:
    owner, link = user(), new_link_id()
    await change_plan(publisher, pg_pool, owner.user_id, {**STARTER_LIMITS, "clicks": 5})
    events = [click_event(link, owner.user_id, ip=f"198.51.100.{i}") for i in range(8)]
    bots = [click_event(link, owner.user_id, user_agent=GOOGLEBOT) for _ in range(2)]
    await publish(publisher, events[:3] + bots)
    await publish(publisher, events[3:])
    await publish(publisher, events)  # redelivered: still 5
    marker = new_link_id()
    await publish(publisher, [click_event(marker, user().user_id)])
    await wait_for_clicks(pg_pool, marker, 1)

    assert await link_clicks(pg_pool, link) == 5
    # Untracked clicks leave no row; bots are stored (flagged) and cost no quota.
    humans = await pg_pool.fetchval(
        "SELECT count(*) FROM analytics.clicks WHERE link_id = $1 AND NOT is_bot", link
    )
    assert humans == 5
    assert await raw_count(pg_pool, link) == 7
    resp = await stats_api.get(f"/internal/usage/{owner.user_id}", owner)
    assert await resp.json() == {"clicks_this_month": 5, "clicks_over_quota_this_month": 3}
    resp = await stats_api.get(f"/internal/stats/links/{link}?owner={owner.user_id}", owner)
    assert (await resp.json())["clicks"] == 5

    # An upgrade to an unlimited plan: clicks are tracked again.
    await change_plan(publisher, pg_pool, owner.user_id, {**STARTER_LIMITS, "clicks": 0})
    await publish(publisher, [click_event(link, owner.user_id, ip="198.51.100.99")])
    await wait_for_clicks(pg_pool, link, 6)
    resp = await stats_api.get(f"/internal/usage/{owner.user_id}", owner)
    assert await resp.json() == {"clicks_this_month": 6, "clicks_over_quota_this_month": 3}


async def test_clicks_left_out_by_the_quota_are_logged_once_and_counted(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    stats_api: SignedClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner, other, link = user(), user(), new_link_id()
    await change_plan(publisher, pg_pool, owner.user_id, {**STARTER_LIMITS, "clicks": 4})
    registry = worker[METRICS_REGISTRY]
    left_out_before = (
        registry.get_sample_value("analytics_events_total", {"outcome": "over_quota"}) or 0.0
    )
    caplog.set_level(logging.WARNING, logger="services.analytics.consumer")

    # Three batches: within the quota, reaching it (2 of 4 left out), beyond it.
    await publish(publisher, [click_event(link, owner.user_id, ip="198.51.100.1")])
    await wait_for_clicks(pg_pool, link, 1)
    for batch in (range(2, 6), range(6, 10)):
        await publish(
            publisher, [click_event(link, owner.user_id, ip=f"198.51.100.{i}") for i in batch]
        )
        marker = new_link_id()
        await publish(publisher, [click_event(marker, other.user_id)])
        await wait_for_clicks(pg_pool, marker, 1)

    assert await link_clicks(pg_pool, link) == 4
    resp = await stats_api.get(f"/internal/usage/{owner.user_id}", owner)
    assert await resp.json() == {"clicks_this_month": 4, "clicks_over_quota_this_month": 5}
    left_out = registry.get_sample_value("analytics_events_total", {"outcome": "over_quota"})
    assert left_out is not None
    assert left_out - left_out_before >= 5
    assert (registry.get_sample_value("analytics_quota_reached_total") or 0) >= 1
    said = [r.getMessage() for r in caplog.records if f"user {owner.user_id} " in r.getMessage()]
    month = f"{datetime.now(UTC):%Y-%m}"
    assert said == [
        f"user {owner.user_id} reached their plan's quota of 4 clicks for {month}: "
        "their further clicks this month are not counted"
    ]


async def test_an_admin_is_never_limited_by_the_click_quota(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    stats_api: SignedClient,
) -> None:
    admin, member = user(role="admin"), user()
    admin_link, member_link = new_link_id(), new_link_id()
    plan = await change_plan(
        publisher, pg_pool, admin.user_id, {**STARTER_LIMITS, "clicks": 3}, role="admin"
    )
    await change_plan(
        publisher,
        pg_pool,
        member.user_id,
        {**STARTER_LIMITS, "clicks": 3},
        plan_id=plan,
        role="user",
    )
    await publish(
        publisher,
        [click_event(admin_link, admin.user_id, ip=f"198.51.100.{i}") for i in range(8)]
        + [click_event(member_link, member.user_id, ip=f"198.51.100.{i}") for i in range(8)],
    )
    await wait_for_clicks(pg_pool, admin_link, 8)
    await wait_for_clicks(pg_pool, member_link, 3)

    resp = await stats_api.get(f"/internal/stats/links/{admin_link}?owner={admin.user_id}", admin)
    assert (await resp.json())["clicks"] == 8
    assert await raw_count(pg_pool, admin_link) == 8
    resp = await stats_api.get(f"/internal/usage/{admin.user_id}", admin)
    assert (await resp.json())["clicks_this_month"] == 8
    # The plan's quota still holds for everyone else on it.
    assert await link_clicks(pg_pool, member_link) == 3

    # A later event without a role (an older publisher) does not demote the admin.
    await change_plan(
        publisher, pg_pool, admin.user_id, {**STARTER_LIMITS, "clicks": 3}, plan_id=plan
    )
    await publish(publisher, [click_event(admin_link, admin.user_id, ip="198.51.100.200")])
    await wait_for_clicks(pg_pool, admin_link, 9)


async def test_a_role_that_is_neither_admin_nor_user_is_dead_lettered(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    analytics_settings: Settings,
) -> None:
    dead = DeadLetters(analytics_settings, LIFECYCLE_QUEUE)
    await dead.drain()
    owner = user()
    bad = new_event(
        PLAN_CHANGED,
        {"plan_id": 1, "user_id": owner.user_id, "limits": STARTER_LIMITS, "role": "root"},
    )
    await publisher.publish(bad)
    parked = await dead.drain(expect=1)
    assert any(bad.id.encode() in m.body for m in parked)
    assert (
        await pg_pool.fetchval(
            "SELECT count(*) FROM analytics.user_plans WHERE user_id = $1", owner.user_id
        )
        == 0
    )


async def test_an_owner_without_a_known_plan_is_unlimited(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link = user(), new_link_id()
    await publish(
        publisher,
        [click_event(link, owner.user_id, ip=f"10.9.{i // 250}.{i % 250}") for i in range(1200)],
    )
    await wait_for_clicks(pg_pool, link, 1200)


async def test_raw_clicks_past_the_plan_retention_are_purged(
    start_worker: StartWorker,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    stats_api: SignedClient,
) -> None:
    await start_worker(analytics_purge_interval=0.2)
    # The admin's id comes first: a purge pass (owners in id order) reaches them
    # before the one whose purge the test waits for.
    admin, kept_7_days, forever = user(role="admin"), user(), user()
    link, other, admins = new_link_id(), new_link_id(), new_link_id()
    plan = await change_plan(publisher, pg_pool, kept_7_days.user_id, STARTER_LIMITS)  # 7 days
    # An admin on the same plan keeps every click.
    await change_plan(publisher, pg_pool, admin.user_id, STARTER_LIMITS, plan_id=plan, role="admin")
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=10), now - timedelta(days=1)
    await publish(
        publisher,
        [
            click_event(link, kept_7_days.user_id, ip="198.51.100.1", at=old),
            click_event(link, kept_7_days.user_id, ip="198.51.100.2", at=old),
            click_event(link, kept_7_days.user_id, ip="198.51.100.3", at=recent),
            click_event(other, forever.user_id, at=old),  # no known plan: kept
            click_event(admins, admin.user_id, at=old),
        ],
    )
    await wait_for_clicks(pg_pool, link, 3)
    await wait_for_clicks(pg_pool, other, 1)
    await wait_for_clicks(pg_pool, admins, 1)

    async def purged() -> bool:
        return await raw_count(pg_pool, link) == 1

    await eventually(purged)
    left = await pg_pool.fetchval(
        "SELECT min(occurred_at) FROM analytics.clicks WHERE link_id = $1", link
    )
    assert left > now - timedelta(days=7)
    assert await raw_count(pg_pool, other) == 1
    assert await raw_count(pg_pool, admins) == 1
    # The numbers already counted stay.
    resp = await stats_api.get(
        f"/internal/stats/links/{link}?owner={kept_7_days.user_id}", kept_7_days
    )
    assert (await resp.json())["clicks"] == 3


async def test_a_deleted_link_loses_its_data_and_late_clicks(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    stats_api: SignedClient,
) -> None:
    owner, doomed, kept = user(), new_link_id(), new_link_id()
    await publish(
        publisher,
        [click_event(doomed, owner.user_id, ip=f"198.51.100.{i}") for i in range(3)]
        + [click_event(kept, owner.user_id)],
    )
    await wait_for_clicks(pg_pool, doomed, 3)
    await publisher.publish(new_event(LINK_DELETED, {"link_id": doomed, "owner_id": owner.user_id}))

    async def gone() -> bool:
        return (
            await pg_pool.fetchval(
                "SELECT count(*) FROM analytics.deleted_links WHERE link_id = $1", doomed
            )
            == 1
            and await raw_count(pg_pool, doomed) == 0
        )

    await eventually(gone)
    # A click the edge had in flight when the link went is not counted.
    await publish(publisher, [click_event(doomed, owner.user_id), click_event(kept, owner.user_id)])
    await wait_for_clicks(pg_pool, kept, 2)

    for table in ("link_totals", "link_dim_totals", "link_hourly", "link_daily_dims", "visitors"):
        count = await pg_pool.fetchval(
            f"SELECT count(*) FROM analytics.{table} WHERE link_id = $1", doomed
        )
        assert count == 0, table
    assert await raw_count(pg_pool, doomed) == 0
    resp = await stats_api.get(f"/internal/stats/links/{doomed}?owner={owner.user_id}", owner)
    assert (await resp.json())["clicks"] == 0
    assert await raw_count(pg_pool, kept) == 2


async def test_a_deleted_user_loses_everything(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    doomed, other = user(), user()
    links = [new_link_id(), new_link_id()]
    other_link = new_link_id()
    await change_plan(publisher, pg_pool, doomed.user_id, BUSINESS_LIMITS)
    await publish(
        publisher,
        [click_event(link, doomed.user_id) for link in links]
        + [click_event(links[0], doomed.user_id, user_agent=GOOGLEBOT)]
        + [click_event(other_link, other.user_id)],
    )
    for link in [*links, other_link]:
        await wait_for_clicks(pg_pool, link, 1)
    await publisher.publish(new_event(USER_DELETED, {"user_id": doomed.user_id}))

    async def gone() -> bool:
        raw = await pg_pool.fetchval(
            "SELECT count(*) FROM analytics.clicks WHERE owner_id = $1", doomed.user_id
        )
        rollups = await pg_pool.fetchval(
            "SELECT count(*) FROM analytics.link_totals WHERE owner_id = $1", doomed.user_id
        )
        return bool(raw == 0 and rollups == 0)

    await eventually(gone)
    await publish(
        publisher,
        [click_event(links[1], doomed.user_id), click_event(other_link, other.user_id)],
    )
    await wait_for_clicks(pg_pool, other_link, 2)
    assert await link_clicks(pg_pool, links[1]) == 0
    for query in (
        "SELECT count(*) FROM analytics.usage WHERE owner_id = $1",
        "SELECT count(*) FROM analytics.user_plans WHERE user_id = $1",
        "SELECT count(*) FROM analytics.clicks WHERE owner_id = $1",
    ):
        assert await pg_pool.fetchval(query, doomed.user_id) == 0, query
    assert (
        await pg_pool.fetchval(
            "SELECT count(*) FROM analytics.link_hourly WHERE link_id = any($1::bigint[])", links
        )
        == 0
    )


async def test_malformed_lifecycle_messages_are_dead_lettered(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    analytics_settings: Settings,
) -> None:
    dead = DeadLetters(analytics_settings, LIFECYCLE_QUEUE)
    await dead.drain()
    bad = new_event(LINK_DELETED, {"link_id": "seven", "owner_id": 1})
    await publisher.publish(bad)
    await publisher.exchange.publish(
        aio_pika.Message(body=b"\x00garbage"), routing_key=USER_DELETED
    )
    owner = user()
    await change_plan(publisher, pg_pool, owner.user_id, STARTER_LIMITS)  # still handled

    parked = await dead.drain(expect=2)
    bodies = {m.body for m in parked}
    assert b"\x00garbage" in bodies
    assert any(b.startswith(b"[") and bad.id.encode() in b for b in bodies)
