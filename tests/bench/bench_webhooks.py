"""Webhooks: click events delivered to a local receiver by one delivery process.

The delivery process runs as in production (``python -m services.webhooks.delivery``,
its own process); the receiving HTTP server runs in this process and notes when
each event arrives. Click events are published as the edge does (JSON arrays,
persistent, confirmed messages), for one owner with one webhook on
``link.clicked``:

1. Burst: 10,000 events published at once, one delivery per click: events/s
   from the first publish to the last delivery, and the delay from each click
   (its ``occurred_at``) to its arrival.
2. Paced: 10,000 events at a steady 500/s (published every 0.1 s, as the
   edge flushes): the click-to-delivery delay below saturation.
3. Batched (``batch: 1``): 10,000 events at 1,000/s gathered into one delivery
   per second: deliveries made and the click-to-delivery delay.

Targets: ≥ 1,000 events/s one per click; paced p99 ≤ 1 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from services.webhooks.fanout import declare_queue
from shared import amqp
from shared.events import CLICK_RECORDED, EventPublisher, new_event
from shared.settings import Settings
from tests.bench.bench_analytics import cpu_seconds
from tests.bench.harness import bench_settings, verdict
from tests.support.system import RunningSystem, free_port, with_free_ports

TOTAL = 10_000
BURST_PER_MESSAGE = 500
PACED_RATE = 500
BATCHED_RATE = 1_000
FLUSH = 0.1
TARGET_RATE = 1_000
TARGET_P99_S = 1.0
OWNER_PER_CLICK, OWNER_BATCHED = 8_100_001, 8_100_002


class Receiver:
    """Notes when each event id arrived (batches: each event inside)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.requests = 0
        self.done = asyncio.Event()
        self.expected = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        now = time.time()
        self.requests += 1
        events = body["data"]["events"] if body["type"] == "batch" else [body]
        for event in events:
            self.arrived.setdefault(event["id"], now)
        if len(self.arrived) >= self.expected:
            self.done.set()
        return web.Response(text="ok")

    def reset(self, expected: int) -> None:
        self.arrived.clear()
        self.requests = 0
        self.expected = expected
        self.done.clear()


def clicks(owner: int, n: int) -> list[dict[str, Any]]:
    return [
        new_event(
            CLICK_RECORDED,
            {
                "link_id": 1 + i % 50,
                "owner_id": owner,
                "alias": f"b{i % 50}",
                "host": "localhost:8080",
                "destination": "https://example.com/",
                "source": "link",
                "qr_id": None,
                "campaign_id": None,
                "ip": "203.0.113.7",
                "user_agent": "Mozilla/5.0",
                "referrer": None,
                "accept_language": "en",
                "country": "DE",
            },
        ).to_json()
        for i in range(n)
    ]


def occurred(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).timestamp()


async def publish_paced(
    publisher: EventPublisher, owner: int, total: int, rate: int
) -> dict[str, float]:
    """``total`` events at ``rate``/s, one message every FLUSH seconds; id → click time."""
    per_flush = max(1, int(rate * FLUSH))
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for n in range(0, total, per_flush):
        due = started + (n / per_flush) * FLUSH
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        batch = clicks(owner, min(per_flush, total - n))
        sent.update({e["id"]: occurred(e) for e in batch})
        await publisher.publish_raw(CLICK_RECORDED, batch)
    return sent


def delays(sent: dict[str, float], arrived: dict[str, float]) -> list[float]:
    return sorted(arrived[i] - sent[i] for i in sent if i in arrived)


def pct(values: Sequence[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))]


async def add_webhook(pool: asyncpg.Pool, owner: int, url: str, batch: int) -> None:
    await pool.execute(
        "INSERT INTO webhooks.endpoints (owner_id, url, events, secret, batch_seconds) "
        "VALUES ($1, $2, $3, $4, $5)",
        owner,
        url,
        ["link.clicked"],
        "bench-secret-0123456789",
        batch,
    )


async def wait_all(receiver: Receiver, within: float) -> None:
    try:
        await asyncio.wait_for(receiver.done.wait(), within)
    except TimeoutError:
        got = len(receiver.arrived)
        print(f"  only {got:,} of {receiver.expected:,} arrived in {within:.0f} s")


async def run(settings: Settings, pool: asyncpg.Pool, publisher: EventPublisher) -> None:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/hook"
    await add_webhook(pool, OWNER_PER_CLICK, url, 0)
    await add_webhook(pool, OWNER_BATCHED, url, 1)
    system = RunningSystem(settings, names=("webhook-delivery",))
    try:
        await system.start()
        pid = system.procs["webhook-delivery"].pid
        # 1. burst
        receiver.reset(TOTAL)
        cpu = cpu_seconds(pid)
        events = clicks(OWNER_PER_CLICK, TOTAL)
        sent = {e["id"]: occurred(e) for e in events}
        started = time.time()
        for n in range(0, TOTAL, BURST_PER_MESSAGE):
            await publisher.publish_raw(CLICK_RECORDED, events[n : n + BURST_PER_MESSAGE])
        await wait_all(receiver, 120)
        took = max(receiver.arrived.values()) - started
        rate = len(receiver.arrived) / took
        burst_cpu = cpu_seconds(pid) - cpu
        burst = delays(sent, receiver.arrived)
        print(
            f"burst, one delivery per click     {rate:>8,.0f} events/s   "
            f"delay p50 {pct(burst, 0.5):.2f} s  p99 {pct(burst, 0.99):.2f} s   "
            f"({len(receiver.arrived):,}/{TOTAL:,} delivered, {receiver.requests:,} requests; "
            f"delivery process CPU {burst_cpu:.1f} s of {took:.1f} s)"
        )
        # 2. paced
        receiver.reset(TOTAL)
        sent = await publish_paced(publisher, OWNER_PER_CLICK, TOTAL, PACED_RATE)
        await wait_all(receiver, 60)
        paced = delays(sent, receiver.arrived)
        print(
            f"paced {PACED_RATE}/s, one per click       "
            f"delay p50 {pct(paced, 0.5) * 1000:.0f} ms  p99 {pct(paced, 0.99) * 1000:.0f} ms  "
            f"max {paced[-1] * 1000:.0f} ms   ({len(receiver.arrived):,}/{TOTAL:,} delivered)"
        )
        # 3. batched per second
        receiver.reset(TOTAL)
        sent = await publish_paced(publisher, OWNER_BATCHED, TOTAL, BATCHED_RATE)
        await wait_all(receiver, 60)
        batched = delays(sent, receiver.arrived)
        print(
            f"batched per 1 s at {BATCHED_RATE}/s          "
            f"delay p50 {pct(batched, 0.5):.2f} s  p99 {pct(batched, 0.99):.2f} s   "
            f"({len(receiver.arrived):,}/{TOTAL:,} in {receiver.requests} deliveries)"
        )
        print(
            verdict(
                "one delivery per click, events/s",
                rate >= TARGET_RATE,
                f"{rate:,.0f} (target ≥ {TARGET_RATE:,})",
            )
        )
        p99 = pct(paced, 0.99)
        print(
            verdict(
                f"click → delivery p99 at {PACED_RATE}/s",
                p99 <= TARGET_P99_S,
                f"{p99 * 1000:.0f} ms (target ≤ {TARGET_P99_S * 1000:.0f} ms)",
            )
        )
        lost = TOTAL - len(receiver.arrived)
        if lost:
            print(f"MISS  {lost} batched events not delivered")
    finally:
        await system.stop()
        await runner.cleanup()


async def main() -> None:
    async with bench_settings(allow_private_webhooks=True, webhook_poll_interval=0.1) as base:
        settings = with_free_ports(base)
        connection = await amqp.connect(settings)
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
        assert pool is not None
        try:
            await declare_queue(await connection.channel(), settings)
            publisher = await amqp.open_publisher(connection, settings)
            await run(settings, pool, publisher)
        finally:
            await pool.close()
            await connection.close()
