"""The worker against the real broker and database: every click counted exactly
once whatever the delivery does, bots and poison kept out of the numbers."""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta

import aio_pika
import asyncpg
import orjson
from aiohttp import web

from services.analytics.worker import connection_name
from shared.amqp import CLICKS_QUEUE, name
from shared.appkeys import METRICS_REGISTRY
from shared.events import CLICK_RECORDED, EventPublisher
from shared.settings import Settings
from tests.analytics.conftest import StartWorker
from tests.analytics.helpers import (
    FIREFOX_LINUX,
    GOOGLEBOT,
    SAFARI_IPHONE,
    DeadLetters,
    body_events,
    click_event,
    close_broker_connections,
    link_clicks,
    new_link_id,
    publish,
    queue_depth,
    raw_count,
    wait_for_clicks,
)
from tests.support.principals import user
from tests.support.waiting import eventually


async def totals(pool: asyncpg.Pool, link_id: int) -> tuple[int, int, int]:
    row = await pool.fetchrow(
        "SELECT clicks, unique_clicks, bot_clicks FROM analytics.link_totals WHERE link_id = $1",
        link_id,
    )
    return (row["clicks"], row["unique_clicks"], row["bot_clicks"]) if row else (0, 0, 0)


async def settle(publisher: EventPublisher, pool: asyncpg.Pool) -> None:
    """Publish a sentinel click and wait for it: a single worker has then handled
    every message published before it."""
    sentinel = new_link_id()
    await publish(publisher, [click_event(sentinel, user().user_id)])
    await wait_for_clicks(pool, sentinel, 1)


def metric(app: web.Application, name: str, labels: dict[str, str] | None = None) -> float:
    return float(app[METRICS_REGISTRY].get_sample_value(name, labels or {}) or 0)


async def drained(settings: Settings) -> None:
    """Wait until the clicks queue holds nothing, delivered-but-unacknowledged included."""

    async def empty() -> bool:
        return await queue_depth(name(settings, CLICKS_QUEUE)) == 0

    await eventually(empty)


async def test_the_same_event_delivered_twice_counts_once(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link = user(), new_link_id()
    events = [click_event(link, owner.user_id, ip=f"198.51.100.{i}") for i in range(5)]
    await publish(publisher, events)
    await publish(publisher, events)  # the whole message again (an edge retry)
    await publish(publisher, [events[0], events[0], events[1]])  # twice within one message
    await settle(publisher, pg_pool)

    assert await totals(pg_pool, link) == (5, 5, 0)
    assert await raw_count(pg_pool, link) == 5
    usage = await pg_pool.fetchval(
        "SELECT sum(clicks) FROM analytics.usage WHERE owner_id = $1", owner.user_id
    )
    assert usage == 5
    assert metric(worker, "analytics_events_total", {"outcome": "duplicates"}) >= 8


async def test_raw_rows_keep_networks_never_full_addresses(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link = user(), new_link_id()
    addresses = ["203.0.113.77", "2001:db8:abcd:12::1", "::ffff:192.0.2.200"]
    await publish(publisher, [click_event(link, owner.user_id, ip=ip) for ip in addresses])
    await wait_for_clicks(pg_pool, link, 3)

    rows = await pg_pool.fetch(
        "SELECT ip_prefix, row_to_json(c)::text AS everything FROM analytics.clicks c "
        "WHERE link_id = $1",
        link,
    )
    assert sorted(str(r["ip_prefix"]) for r in rows) == [
        "192.0.2.0/24",
        "2001:db8:abcd::/48",
        "203.0.113.0/24",
    ]
    for row in rows:
        for address in addresses:
            assert address not in row["everything"]
            assert str(ipaddress.ip_address(address)) not in row["everything"]


async def test_bots_are_stored_flagged_and_never_counted(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link = user(), new_link_id()
    events = [click_event(link, owner.user_id, ip=f"198.51.100.{i}") for i in range(3)]
    events += [
        click_event(link, owner.user_id, user_agent=GOOGLEBOT),
        click_event(link, owner.user_id, user_agent="curl/8.4.0"),
        click_event(link, owner.user_id, user_agent=""),
    ]
    await publish(publisher, events)
    await settle(publisher, pg_pool)

    assert await totals(pg_pool, link) == (3, 3, 3)
    flags = await pg_pool.fetch(
        "SELECT is_bot, count(*) AS n FROM analytics.clicks WHERE link_id = $1 GROUP BY is_bot",
        link,
    )
    assert {r["is_bot"]: r["n"] for r in flags} == {True: 3, False: 3}
    browsers = await pg_pool.fetch(
        "SELECT value, sum(clicks) AS clicks FROM analytics.link_daily_dims "
        "WHERE link_id = $1 AND dim = 'browser' GROUP BY value",
        link,
    )
    assert {r["value"]: r["clicks"] for r in browsers} == {"Chrome": 3}
    usage = await pg_pool.fetchval(
        "SELECT sum(clicks) FROM analytics.usage WHERE owner_id = $1", owner.user_id
    )
    assert usage == 3


async def test_a_visitor_counts_once_per_link_per_day(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link, other_link = user(), new_link_id(), new_link_id()
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    events = [
        click_event(link, owner.user_id, ip="203.0.113.5", at=today),
        click_event(link, owner.user_id, ip="203.0.113.5", at=today + timedelta(minutes=5)),
        click_event(link, owner.user_id, ip="203.0.113.5", at=today + timedelta(hours=1)),
        # same address, another browser: another visitor
        click_event(link, owner.user_id, ip="203.0.113.5", user_agent=FIREFOX_LINUX, at=today),
        # same network, another address: another visitor
        click_event(link, owner.user_id, ip="203.0.113.6", at=today),
        # the first visitor, the day before: counted for that day
        click_event(link, owner.user_id, ip="203.0.113.5", at=yesterday),
        # the first visitor on another link: unique there too
        click_event(other_link, owner.user_id, ip="203.0.113.5", at=today),
    ]
    await publish(publisher, events[:3])
    await publish(publisher, events[3:])
    await publish(publisher, events)  # redelivered: changes nothing
    await settle(publisher, pg_pool)

    assert await totals(pg_pool, link) == (6, 4, 0)
    assert await totals(pg_pool, other_link) == (1, 1, 0)
    hours = await pg_pool.fetch(
        "SELECT hour, clicks, unique_clicks FROM analytics.link_hourly WHERE link_id = $1 "
        "ORDER BY hour",
        link,
    )
    hour = today.replace(minute=0, second=0, microsecond=0)
    assert [(r["hour"], r["clicks"], r["unique_clicks"]) for r in hours] == [
        (hour - timedelta(days=1), 1, 1),
        (hour, 4, 3),
        (hour + timedelta(hours=1), 1, 0),
    ]


async def test_poison_messages_are_dead_lettered_while_the_rest_count(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    analytics_settings: Settings,
) -> None:
    dead = DeadLetters(analytics_settings, CLICKS_QUEUE)
    await dead.drain()  # what earlier tests left
    owner, link = user(), new_link_id()
    before = metric(worker, "analytics_dead_lettered_messages_total", {"queue": CLICKS_QUEUE})

    await publish(
        publisher, [click_event(link, owner.user_id, ip=f"198.51.100.{i}") for i in range(3)]
    )
    for body in (b"this is not json", b'{"not": "an event"}', b"42"):
        await publisher.exchange.publish(
            aio_pika.Message(body=body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=CLICK_RECORDED,
        )
    bad_id = click_event(link, owner.user_id)
    bad_id["id"] = "short"
    bad_payload = click_event(link, owner.user_id)
    bad_payload["payload"]["link_id"] = "not a number"
    nul_id = click_event(link, owner.user_id)
    nul_id["id"] = "abc\x00def12345"
    mixed = [
        click_event(link, owner.user_id, ip="198.51.100.50"),
        bad_id,
        bad_payload,
        nul_id,
        click_event(link, owner.user_id, ip="198.51.100.51", user_agent="Mozilla/5.0\x00 (X11)"),
    ]
    await publish(publisher, mixed)
    await publish(publisher, [click_event(link, owner.user_id, ip="198.51.100.60")])
    await settle(publisher, pg_pool)

    assert await totals(pg_pool, link) == (6, 6, 0)
    parked = await dead.drain(expect=4)
    bodies = sorted(m.body for m in parked)
    assert b"this is not json" in bodies
    assert b'{"not": "an event"}' in bodies
    assert b"42" in bodies
    partial = [m for m in parked if bad_id["id"].encode() in m.body]
    assert len(partial) == 1
    assert body_events(partial[0]) == orjson.loads(orjson.dumps([bad_id, bad_payload, nul_id]))
    assert partial[0].headers.get("x-reason")
    assert (
        metric(worker, "analytics_dead_lettered_messages_total", {"queue": CLICKS_QUEUE})
        >= before + 3
    )
    assert metric(worker, "analytics_dead_lettered_events_total") >= 3


async def test_two_workers_at_once_count_exactly(
    start_worker: StartWorker,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    analytics_settings: Settings,
) -> None:
    first = await start_worker(analytics_batch_size=300)
    second = await start_worker(analytics_batch_size=300)
    owner, link = user(), new_link_id()
    events = [
        click_event(link, owner.user_id, ip=f"10.{i % 7}.{i // 250}.{i % 250}") for i in range(3000)
    ]
    # Each message published twice in a row: the copies usually go to different workers.
    for start in range(0, len(events), 250):
        chunk = events[start : start + 250]
        await publish(publisher, chunk)
        await publish(publisher, chunk)
    await wait_for_clicks(pg_pool, link, 3000)
    for app in (first, second):  # both took part
        handled = metric(app, "analytics_events_total", {"outcome": "counted"})
        handled += metric(app, "analytics_events_total", {"outcome": "duplicates"})
        assert handled > 0

    await drained(analytics_settings)  # every copy handled by one worker or the other
    assert await totals(pg_pool, link) == (3000, 3000, 0)
    assert await raw_count(pg_pool, link) == 3000


async def test_a_lost_broker_connection_loses_and_duplicates_nothing(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link = user(), new_link_id()
    events = [
        click_event(link, owner.user_id, ip=f"10.1.{i // 250}.{i % 250}", user_agent=SAFARI_IPHONE)
        for i in range(6000)
    ]
    await publish(publisher, events[:2000], per_message=100)

    async def some_counted() -> bool:
        return await link_clicks(pg_pool, link) > 0

    await eventually(some_counted)
    # As a broker restart looks from the worker: its connection is cut, twice.
    assert await close_broker_connections(connection_name(worker)) == 1
    await publish(publisher, events[2000:4000], per_message=100)
    await asyncio.sleep(1.5)
    await close_broker_connections(connection_name(worker))
    await publish(publisher, events[4000:], per_message=100)
    await publish(publisher, events[:1000], per_message=100)  # and some redelivered

    await wait_for_clicks(pg_pool, link, 6000, within=60)
    await settle(publisher, pg_pool)
    assert await totals(pg_pool, link) == (6000, 6000, 0)
    assert await raw_count(pg_pool, link) == 6000


async def test_postgres_connections_cut_mid_stream_lose_and_duplicate_nothing(
    worker: web.Application, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    owner, link = user(), new_link_id()
    events = [
        click_event(link, owner.user_id, ip=f"10.2.{i // 250}.{i % 250}") for i in range(4000)
    ]
    cut = 0
    for start in range(0, len(events), 500):
        await publish(publisher, events[start : start + 500], per_message=100)
        # As a Postgres restart looks from the worker: its sessions are terminated.
        cut += await pg_pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            connection_name(worker),
        )
        await asyncio.sleep(0.1)
    assert cut > 0

    await wait_for_clicks(pg_pool, link, 4000, within=60)
    await settle(publisher, pg_pool)
    assert await totals(pg_pool, link) == (4000, 4000, 0)
    assert await raw_count(pg_pool, link) == 4000
