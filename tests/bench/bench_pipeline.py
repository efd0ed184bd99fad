"""The whole click pipeline on this machine: edge (fast core) → RabbitMQ →
analytics worker → Postgres, every part sharing the same cores with the load
generator. wrk offers a paced load (each of 64 connections pauses between its
requests) at rising rates; a step is sustained when the worker counted, by a
second after it, at least 95 % of what the edge served in it (from the
rollups) and the queue did not grow. Printed: each step, the highest sustained rate, and
served vs counted once the queue is drained."""

from __future__ import annotations

import asyncio
import time

import aio_pika
import asyncpg

from shared.amqp import CLICKS_QUEUE, declare_queue, name
from tests.bench.bench_edge import DESTINATION, USER_AGENT, _wait_http
from tests.bench.harness import bench_settings, verdict, wrk
from tests.support.system import RunningSystem, with_free_ports

CONNECTIONS = 64
STEP_SECONDS = 10
RATES = (2_000, 4_000, 8_000, 12_000, 16_000, 24_000, 32_000, 64_000)  # 64k: unpaced
DRAIN_SECONDS = 120


async def _queue_depth(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    count = declared.declaration_result.message_count
    return int(count or 0)


async def _counted(pool: asyncpg.Pool, link_id: int) -> int:
    value = await pool.fetchval(
        "SELECT coalesce(sum(clicks + bot_clicks), 0) FROM analytics.link_totals "
        "WHERE link_id = $1",
        link_id,
    )
    return int(value)


async def main() -> None:
    async with bench_settings() as base:
        settings = with_free_ports(base)
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
        assert pool is not None
        link_id = await pool.fetchval(
            "INSERT INTO links.links (owner_id, alias, long_url) VALUES (1, 'hot', $1) "
            "RETURNING id",
            DESTINATION,
        )
        connection = await aio_pika.connect(settings.amqp_url)
        channel = await connection.channel()
        await declare_queue(channel, settings, CLICKS_QUEUE)
        queue = name(settings, CLICKS_QUEUE)
        system = RunningSystem(settings, names=("edge", "worker"))
        try:
            await system.start()
            url = f"{system.edge_url}/hot"
            await _wait_http(url)
            served = 1
            sustained = 0
            print(f"{'offered':>8} {'served/s':>9} {'counted/s':>10} {'queue':>6}  p99")
            for rate in RATES:
                pause = max(0, round(CONNECTIONS * 1000 / rate) - 1)
                depth_before = await _queue_depth(channel, queue)
                counted_before = await _counted(pool, link_id)
                started = time.monotonic()
                result = await wrk(
                    url,
                    connections=CONNECTIONS,
                    duration=STEP_SECONDS,
                    threads=2,
                    headers=[f"User-Agent: {USER_AGENT}"],
                    pause_ms=pause,
                )
                took = time.monotonic() - started
                served += result.requests
                await asyncio.sleep(1.0)  # the step's last batches reach the worker
                counted = await _counted(pool, link_id) - counted_before
                counted_rate = counted / (took + 1.0)
                depth = await _queue_depth(channel, queue)
                ok = (
                    counted >= 0.95 * result.requests
                    and depth <= depth_before + 2
                    and result.errors == 0
                )
                print(
                    f"{rate:>8,} {result.requests_per_second:>9,.0f} {counted_rate:>10,.0f} "
                    f"{depth:>6}  {result.p99_ms:.1f} ms  {'sustained' if ok else 'falls behind'}"
                )
                if not ok:
                    break
                sustained = max(sustained, int(result.requests_per_second))
            for _ in range(DRAIN_SECONDS * 2):
                counted = await _counted(pool, link_id)
                if counted >= served:
                    break
                await asyncio.sleep(0.5)
            print(f"sustained click rate, whole pipeline on this machine: {sustained:,}/s")
            print(
                verdict(
                    "every click counted",
                    served <= counted <= served + CONNECTIONS * len(RATES),
                    f"wrk saw {served:,} redirects, the rollups count {counted:,} "
                    f"(wrk leaves up to {CONNECTIONS} per step in flight uncounted)",
                )
            )
        finally:
            await system.stop()
            await connection.close()
            await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
