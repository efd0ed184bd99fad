"""The worker as its own process: ops endpoints, graceful stop, and a SIGKILL in
the middle of a stream of batches that loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from shared.amqp import CLICKS_QUEUE, name
from shared.events import EventPublisher
from shared.settings import Settings
from tests.analytics.helpers import (
    click_event,
    link_clicks,
    new_link_id,
    publish,
    queue_depth,
    raw_count,
    wait_for_clicks,
)
from tests.support.principals import user
from tests.support.system import ROOT, free_port, settings_env
from tests.support.waiting import eventually


class WorkerProcess:
    """``python -m services.analytics.worker`` with this test run's settings."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.port = free_port()
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {
            **os.environ,
            **settings_env(self.settings),
            "PYTHONPATH": str(ROOT),
            "WORKER_METRICS_PORT": str(self.port),
            "ANALYTICS_BATCH_SIZE": "2000",
            "ANALYTICS_BATCH_WAIT": "0.05",
        }
        with self.log_path.open("ab") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.analytics.worker",
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                assert self.proc is not None
                if self.proc.returncode is not None:
                    raise RuntimeError(self.log_path.read_text(errors="replace")[-3000:])
                with suppress(aiohttp.ClientError):
                    async with session.get(self.url + "/ready") as resp:
                        return resp.status == 200
                return False

            await eventually(ready, within=30, every=0.1)

    async def signal(self, signum: int) -> int:
        assert self.proc is not None
        with suppress(ProcessLookupError):
            self.proc.send_signal(signum)
        try:
            return await asyncio.wait_for(self.proc.wait(), 20)
        finally:
            self.proc = None

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self.signal(signal.SIGKILL)


@pytest.fixture
async def worker_process(
    analytics_settings: Settings, tmp_path: Path
) -> AsyncIterator[WorkerProcess]:
    process = WorkerProcess(analytics_settings, tmp_path / "worker.log")
    try:
        yield process
    finally:
        await process.close()


async def test_ops_endpoints_and_graceful_stop(
    worker_process: WorkerProcess, publisher: EventPublisher, pg_pool: asyncpg.Pool
) -> None:
    await worker_process.start()
    owner, link = user(), new_link_id()
    await publish(publisher, [click_event(link, owner.user_id)])
    await wait_for_clicks(pg_pool, link, 1)
    async with aiohttp.ClientSession() as session:
        async with session.get(worker_process.url + "/health") as resp:
            assert resp.status == 200
            assert (await resp.json())["service"] == "worker"
        async with session.get(worker_process.url + "/ready") as resp:
            assert await resp.json() == {
                "status": "ready",
                "checks": {},
                "dependencies": {"postgres": "up", "rabbitmq": "up"},
            }
        async with session.get(worker_process.url + "/metrics") as resp:
            text = await resp.text()
            counted = re.search(
                r'^analytics_events_total\{outcome="counted"\} ([\d.e+]+)$', text, re.M
            )
            assert counted is not None
            assert float(counted.group(1)) >= 1
            assert "analytics_dead_lettered_messages_total" in text
    assert await worker_process.signal(signal.SIGTERM) == 0


async def test_a_worker_killed_mid_stream_and_restarted_counts_exactly(
    worker_process: WorkerProcess,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
    analytics_settings: Settings,
) -> None:
    owner, link = user(), new_link_id()
    total = 20_000
    events = [
        click_event(link, owner.user_id, ip=f"10.3.{i // 250}.{i % 250}") for i in range(total)
    ]
    await publish(publisher, events)  # all queued before the worker starts
    await worker_process.start()

    async def some_counted() -> bool:
        return await link_clicks(pg_pool, link) > 0

    await eventually(some_counted, every=0.01)
    assert await worker_process.signal(signal.SIGKILL) == -signal.SIGKILL
    counted_at_kill = await link_clicks(pg_pool, link)
    assert 0 < counted_at_kill < total  # killed with work in hand

    await worker_process.start()
    await wait_for_clicks(pg_pool, link, total, within=90)

    async def drained() -> bool:
        return await queue_depth(name(analytics_settings, CLICKS_QUEUE)) == 0

    await eventually(drained)
    row = await pg_pool.fetchrow(
        "SELECT clicks, unique_clicks FROM analytics.link_totals WHERE link_id = $1", link
    )
    assert row is not None
    assert (row["clicks"], row["unique_clicks"]) == (total, total)
    assert await raw_count(pg_pool, link) == total


async def test_a_second_worker_on_the_same_ops_port_runs_on_a_free_one(
    analytics_settings: Settings,
    worker_process: WorkerProcess,
    tmp_path: Path,
    publisher: EventPublisher,
    pg_pool: asyncpg.Pool,
) -> None:
    """``make run``'s environment twice on one host: the second worker must not die
    of Errno 98; it says where its ops endpoints are, and both consume."""
    await worker_process.start()
    second = WorkerProcess(analytics_settings, tmp_path / "second.log")
    second.port = worker_process.port
    try:
        await second.start()  # its /ready check is answered by the first: wait for its log

        async def moved() -> bool:
            assert second.proc is not None
            assert second.proc.returncode is None
            return "is taken" in second.log_path.read_text(errors="replace")

        await eventually(moved, within=30, every=0.1)
        found = re.search(r"serving it on (\d+)", second.log_path.read_text(errors="replace"))
        assert found is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{found.group(1)}/ready") as resp,
        ):
            assert resp.status == 200
        owner, link = user(), new_link_id()
        await publish(publisher, [click_event(link, owner.user_id) for _ in range(20)])
        await wait_for_clicks(pg_pool, link, 20)
        assert second.proc is not None
        assert second.proc.returncode is None
    finally:
        await second.close()
