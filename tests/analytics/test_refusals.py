"""When the database refuses or stalls a batch, deterministically: a trigger in
the test database refuses (or holds) the rollup row of one chosen link.

- A batch the database refuses for what it holds is retried message by
  message; the message at fault is dead-lettered, the others are counted.
- The worker acknowledges a message only after its batch committed: a worker
  killed while its write is held loses nothing, the broker redelivers it to the
  next worker, which counts it once."""

from __future__ import annotations

import secrets
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from shared.amqp import CLICKS_QUEUE, name
from shared.appkeys import METRICS_REGISTRY
from shared.events import EventPublisher
from shared.settings import Settings
from tests.analytics.helpers import (
    DeadLetters,
    body_events,
    click_event,
    link_clicks,
    new_link_id,
    publish,
    queue_depth,
    raw_count,
    wait_for_clicks,
)
from tests.analytics.test_worker_process import WorkerProcess
from tests.support.principals import user
from tests.support.waiting import eventually


async def install(pool: asyncpg.Pool, link_id: int, action: str) -> str:
    """A trigger doing ``action`` (PL/pgSQL) when the rollup of ``link_id`` is
    written; returns the SQL that removes it."""
    tag = secrets.token_hex(4)
    function, trigger = f"analytics.test_refuse_{tag}", f"test_refuse_{tag}"
    await pool.execute(
        f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.link_id = {int(link_id)} THEN {action} END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON analytics.link_totals
            FOR EACH ROW EXECUTE FUNCTION {function}();
        """
    )
    return f"DROP TRIGGER IF EXISTS {trigger} ON analytics.link_totals; DROP FUNCTION {function}();"


REFUSE = "RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'check_violation';"
HOLD = "PERFORM pg_sleep(600);"


def dead_lettered(app: web.Application) -> float:
    value = app[METRICS_REGISTRY].get_sample_value(
        "analytics_dead_lettered_messages_total", {"queue": CLICKS_QUEUE}
    )
    return float(value or 0)


async def test_a_message_the_database_refuses_is_dead_lettered_and_the_rest_count(
    worker: web.Application,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    analytics_settings: Settings,
) -> None:
    dead = DeadLetters(analytics_settings, CLICKS_QUEUE)
    await dead.drain()  # what earlier tests left
    owner, refused, fine = user(), new_link_id(), new_link_id()
    before = dead_lettered(worker)
    drop = await install(pg_pool, refused, REFUSE)
    try:
        refused_events = [click_event(refused, owner.user_id, ip=f"198.51.100.{i}") for i in (1, 2)]
        fine_events = [click_event(fine, owner.user_id, ip=f"198.51.100.{i}") for i in (3, 4, 5)]
        # Two messages, one batch (they arrive within the worker's batch wait).
        await publish(publisher, refused_events)
        await publish(publisher, fine_events)
        await wait_for_clicks(pg_pool, fine, 3)
        parked = await dead.drain(expect=1)
    finally:
        await pg_pool.execute(drop)
    assert [body_events(m) for m in parked] == [refused_events]
    assert await link_clicks(pg_pool, fine) == 3
    assert await raw_count(pg_pool, refused) == 0  # nothing of it half-stored
    assert await link_clicks(pg_pool, refused) == 0
    assert dead_lettered(worker) == before + 1


@pytest.fixture
async def held_worker() -> AsyncIterator[list[WorkerProcess]]:
    """Worker processes a test starts; killed at the end whatever happened."""
    processes: list[WorkerProcess] = []
    try:
        yield processes
    finally:
        for process in processes:
            await process.close()


async def test_a_worker_killed_while_its_write_is_held_loses_nothing(
    analytics_settings: Settings,
    held_worker: list[WorkerProcess],
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    owner, link = user(), new_link_id()
    drop = await install(pg_pool, link, HOLD)
    try:
        first = WorkerProcess(analytics_settings, tmp_path / "first.log")
        held_worker.append(first)
        await first.start()
        events = [click_event(link, owner.user_id, ip=f"198.51.100.{i}") for i in range(1, 4)]
        await publish(publisher, events)

        async def holding() -> list[int]:
            return [
                r["pid"]
                for r in await pg_pool.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
                    " AND datname = current_database() AND query LIKE '%link_totals%'"
                )
            ]

        async def write_is_held() -> bool:
            return bool(await holding())

        await eventually(write_is_held, within=30)
        await first.signal(signal.SIGKILL)
        # Not acknowledged: the messages are back in the queue, nothing was stored.
        assert await queue_depth(name(analytics_settings, CLICKS_QUEUE)) >= 1
        for pid in await holding():
            await pg_pool.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await pg_pool.execute(drop)
    assert await raw_count(pg_pool, link) == 0

    second = WorkerProcess(analytics_settings, tmp_path / "second.log")
    held_worker.append(second)
    await second.start()
    await wait_for_clicks(pg_pool, link, 3)
    assert await raw_count(pg_pool, link) == 3
    assert await link_clicks(pg_pool, link) == 3
