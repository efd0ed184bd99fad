"""What the edge costs per redirect: one edge process serving a hot short link
(its click event buffered and published to RabbitMQ with confirms) versus a bare
aiohttp handler (uvloop, no middleware) returning the same 302 with the same
headers, same run, wrk at 64 connections on loopback. The two alternate for a
few rounds; each edge round is compared with the bare round just before it and
the median of those ratios counts (the machine is shared: one disturbed round
must not decide); the server CPU time per request is printed too.

Then the edge's resident memory once it has cached 100,000 distinct links: rows
COPYed into Postgres, each requested once. Most have a Redis snapshot, as the
links service writes on every change; the first ``VIA_POSTGRES`` have none, so
they take the Redis-miss → Postgres → Redis path, whose rate is printed apart.

Targets: edge throughput ≥ 0.75 × bare; edge p99 ≤ 10 ms; RSS ≤ 200 MB."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from contextlib import suppress
from pathlib import Path

import aio_pika
import aiohttp
import asyncpg
import orjson
import redis.asyncio as aioredis

from services.links.snapshot import link_key_suffix, link_snapshot
from shared.amqp import declare_events_exchange, name
from shared.events import CLICK_RECORDED
from shared.settings import Settings
from tests.bench.harness import LoadResult, bench_settings, verdict, wrk
from tests.support.system import ROOT, RunningSystem, free_port, with_free_ports

CONNECTIONS = 64
WARMUP_SECONDS = 2
SECONDS = 6
ROUNDS = 3  # bare and edge alternate; the median round-by-round ratio counts
CACHED_LINKS = 100_000
# Links requested without a Redis snapshot: each takes the Redis miss → Postgres
# (one probe of the (domain, alias) index, ~0.1 ms at 100k links) → Redis path.
VIA_POSTGRES = 10_000
FILL_CONCURRENCY = 32
TARGET_RATIO = 0.75
TARGET_P99_MS = 10.0
TARGET_RSS_MB = 200.0
DESTINATION = "https://example.com/landing/page?utm_source=bench"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)

# The physical limit of this stack: aiohttp on uvloop, one route, a constant 302.
BARE_APP = f"""
import sys, asyncio, uvloop
from aiohttp import web
async def redirect(request):
    return web.Response(status=302, headers={{"Location": {DESTINATION!r},
                                              "Cache-Control": "private, no-store"}})
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
app = web.Application()
app.router.add_get("/{{alias}}", redirect)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


async def _wait_http(url: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while True:
            with suppress(aiohttp.ClientError, OSError):
                async with http.get(url, allow_redirects=False) as resp:
                    if resp.status < 500:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


async def _insert_links(settings: Settings, count: int) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(
            "INSERT INTO links.links (owner_id, alias, long_url) VALUES (1, 'hot', $1)",
            DESTINATION,
        )
        await conn.copy_records_to_table(
            "links",
            schema_name="links",
            columns=["owner_id", "alias", "long_url"],
            records=(
                (2 + i % 1000, f"m{i:06d}", f"https://example.com/articles/{i}?ref=short")
                for i in range(count)
            ),
        )
    finally:
        await conn.close()


async def _write_snapshots(settings: Settings) -> None:
    """What the links service does when links are created: a Redis snapshot each
    (for all but the first ``VIA_POSTGRES`` cached links)."""
    conn = await asyncpg.connect(settings.database_url)
    redis = aioredis.Redis.from_url(settings.redis_url)
    try:
        rows = await conn.fetch(
            "SELECT l.* FROM links.links l WHERE l.alias >= $1 ORDER BY l.alias",
            f"m{VIA_POSTGRES:06d}",
        )
        for start in range(0, len(rows), 5000):
            async with redis.pipeline(transaction=False) as pipe:
                for row in rows[start : start + 5000]:
                    snapshot = link_snapshot(dict(row), "_")
                    key = settings.redis_prefix + link_key_suffix("_", row["alias"])
                    pipe.set(key, orjson.dumps(snapshot), ex=3600)
                await pipe.execute()
    finally:
        await redis.aclose()
        await conn.close()


async def _click_queue(settings: Settings) -> aio_pika.abc.AbstractRobustConnection:
    """A durable queue bound like the analytics worker's, so clicks are really persisted."""
    connection = await aio_pika.connect_robust(settings.amqp_url)
    channel = await connection.channel()
    exchange = await declare_events_exchange(channel, settings)
    queue = await channel.declare_queue(name(settings, "bench.clicks"), durable=True)
    await queue.bind(exchange, routing_key=CLICK_RECORDED)
    return connection


async def _metric(url: str, metric: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        text = await resp.text()
    for line in text.splitlines():
        if line.startswith(metric + " "):
            return float(line.split()[1])
    raise RuntimeError(f"{metric} not found in /metrics")


async def _request_each(base: str, first: int, count: int) -> int:
    """GET aliases ``first`` .. ``first + count - 1`` once each; returns how many answered 302."""
    aliases = iter(range(first, first + count))
    ok = 0
    connector = aiohttp.TCPConnector(limit=FILL_CONCURRENCY)
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": USER_AGENT}
    ) as http:

        async def worker() -> None:
            nonlocal ok
            for i in aliases:
                async with http.get(f"{base}/m{i:06d}", allow_redirects=False) as resp:
                    ok += resp.status == 302

        await asyncio.gather(*(worker() for _ in range(FILL_CONCURRENCY)))
    return ok


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _load(url: str, pid: int) -> tuple[LoadResult, float]:
    """wrk's figures, and the server's CPU microseconds per request."""
    headers = [f"User-Agent: {USER_AGENT}"]
    await wrk(url, connections=CONNECTIONS, duration=WARMUP_SECONDS, headers=headers)
    cpu = _cpu_seconds(pid)
    result = await wrk(url, connections=CONNECTIONS, duration=SECONDS, headers=headers)
    return result, (_cpu_seconds(pid) - cpu) / max(1, result.requests) * 1e6


async def _check(url: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, allow_redirects=False, headers={"User-Agent": USER_AGENT}) as resp,
    ):
        if resp.status != 302 or resp.headers["Location"] != DESTINATION:
            raise RuntimeError(f"{url} answered {resp.status} {dict(resp.headers)}")


async def main() -> None:
    async with bench_settings() as base:
        settings = with_free_ports(base)
        await _insert_links(settings, CACHED_LINKS)
        await _write_snapshots(settings)
        broker = await _click_queue(settings)
        bare_port = free_port()
        bare = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BARE_APP, str(bare_port), cwd=ROOT
        )
        system = RunningSystem(settings, names=("edge",))
        try:
            await system.start()
            await _wait_http(f"http://127.0.0.1:{bare_port}/hot")
            bare_url, edge_url = f"http://127.0.0.1:{bare_port}", system.edge_url
            edge_pid = system.procs["edge"].pid
            await _check(f"{bare_url}/hot")
            await _check(f"{edge_url}/hot")

            runs: dict[str, list[tuple[LoadResult, float]]] = {"bare": [], "edge": []}
            published_before = await _metric(
                system.edge_ops_url, 'edge_clicks_total{fate="published"}'
            )
            for _ in range(ROUNDS):
                runs["bare"].append(await _load(f"{bare_url}/hot", bare.pid))
                runs["edge"].append(await _load(f"{edge_url}/hot", edge_pid))
            await asyncio.sleep(1)  # the last batch is confirmed
            published = (
                await _metric(system.edge_ops_url, 'edge_clicks_total{fate="published"}')
                - published_before
            )
            spooled = await _metric(system.edge_ops_url, 'edge_clicks_total{fate="spooled"}')

            for i in range(ROUNDS):
                for label, name_ in (("bare aiohttp 302", "bare"), ("edge (hot link)", "edge")):
                    result, cpu = runs[name_][i]
                    print(result.row(f"round {i + 1} {label}") + f"  {cpu:.0f} µs CPU/req")
            # Each round's edge run follows its bare run within seconds: compare them in
            # pairs and take the median, so one disturbed round decides nothing.
            ratios = sorted(
                e.requests_per_second / b.requests_per_second
                for (b, _), (e, _) in zip(runs["bare"], runs["edge"], strict=True)
            )
            cpu_ratios = sorted(
                b_cpu / e_cpu
                for (_, b_cpu), (_, e_cpu) in zip(runs["bare"], runs["edge"], strict=True)
            )
            ratio, cpu_ratio = ratios[len(ratios) // 2], cpu_ratios[len(cpu_ratios) // 2]
            b = max((r for r, _ in runs["bare"]), key=lambda r: r.requests_per_second)
            e = max((r for r, _ in runs["edge"]), key=lambda r: r.requests_per_second)
            print(b.row("bare aiohttp 302 (best round)"))
            print(e.row("edge (best round)"))
            print(
                f"throughput ratio edge/bare (median of rounds): {ratio:.2f}; "
                f"by CPU per request: {cpu_ratio:.2f}"
            )
            p99 = sorted(r.p99_ms for r, _ in runs["edge"])[len(runs["edge"]) // 2]
            measured = sum(r.requests for r, _ in runs["edge"])
            print(
                f"click events published during the load: {published:,.0f} "
                f"(wrk's measured requests: {measured:,}, plus warm-ups); spooled: {spooled:,.0f}"
            )

            started = time.monotonic()
            via_postgres = await _request_each(edge_url, 0, VIA_POSTGRES)
            pg_took = time.monotonic() - started
            started = time.monotonic()
            via_redis = await _request_each(edge_url, VIA_POSTGRES, CACHED_LINKS - VIA_POSTGRES)
            redis_took = time.monotonic() - started
            await asyncio.sleep(1)
            cached = await _metric(system.edge_ops_url, "edge_link_cache_entries")
            rss = _rss_mb(edge_pid)
            print(
                f"first visits: {via_postgres:,} via Postgres at {via_postgres / pg_took:,.0f}/s, "
                f"{via_redis:,} via Redis at {via_redis / redis_took:,.0f}/s; "
                f"LRU holds {cached:,.0f} links; edge RSS {rss:.1f} MB"
            )
            print(
                verdict("throughput ratio", ratio >= TARGET_RATIO, f"{ratio:.2f} ≥ {TARGET_RATIO}")
            )
            print(
                verdict(
                    "edge p99 (median of rounds)",
                    p99 <= TARGET_P99_MS,
                    f"{p99:.2f} ms ≤ {TARGET_P99_MS}",
                )
            )
            print(verdict("edge RSS", rss <= TARGET_RSS_MB, f"{rss:.1f} MB ≤ {TARGET_RSS_MB:.0f}"))
            errors = sum(r.errors for rs in runs.values() for r, _ in rs)
            print(verdict("errors", errors == 0, str(errors)))
            if via_postgres + via_redis != CACHED_LINKS:
                raise RuntimeError("not every cached link redirected")
        finally:
            await system.stop()
            bare.terminate()
            await bare.wait()
            await broker.close()


if __name__ == "__main__":
    asyncio.run(main())
