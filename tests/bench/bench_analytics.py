"""Click analytics: one worker's sustained throughput, the lag from publish to
visible in the stats, and the stats query time for a link with 10 million
clicks versus one with 1,000.

1. Throughput: 200,000 click events published as the edge does (JSON arrays of
   500 events per persistent, confirmed message), then one worker process
   (``python -m services.analytics.worker``, production defaults) drains them.
   Zero loss: every event is in the rollups and the raw table, exactly once.
2. Lag: events published at a steady 2,500/s (half the target rate), one probe event (its own link)
   per message; the stats API (``POST /internal/stats/counts``) is polled
   until each probe shows. Lag = publish → visible.
3. Query time: rollups as the worker would have left them for a link with
   10,000,000 clicks over a year (8,760 hourly rows, ~7,000 breakdown values,
   ~280,000 daily breakdown rows), for one with 10,000,000 clicks and the
   breakdown shape of a small link, and for one with 1,000, written directly
   with generate_series; then ``GET /internal/stats/links/{id}`` (and a 30-day
   series) sequentially against the stats API process. The stats path reads no
   raw rows, so none are written for these links.

Targets: ≥ 5,000 events/s; zero loss; stats p99 ≤ 50 ms at 10M clicks; ratio ≈ 1."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from yarl import URL

from shared import amqp, identity
from shared.amqp import CLICKS_QUEUE, declare_queue
from shared.countries import COUNTRIES
from shared.events import CLICK_RECORDED, EventPublisher, new_event
from shared.identity import SERVICE
from shared.settings import Settings
from tests.bench.harness import bench_settings, verdict
from tests.support.system import RunningSystem, with_free_ports

TOTAL = 200_000
PER_MESSAGE = 500
LINKS = 2_000
OWNERS = 200
VISITORS = 50_000
LAG_RATE = 2_500  # events per second in the lag phase: a steady load, half the target
LAG_SECONDS = 15
LAG_FLUSH = 0.1  # the edge publishes a batch this often (or at 500 events)
BIG, SMALL = 10_000_000, 1_000
QUERY_ROUNDS = 300
TARGET_RATE = 5_000
TARGET_P99_MS = 50.0
OWNER_BASE = 7_000_000
PROBE_OWNER = 7_999_999
BIG_LINK, SMALL_LINK, BIG_NARROW_LINK = 9_000_000_001, 9_000_000_002, 9_000_000_003

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36 Edg/119.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
]
REFERRERS = [
    None,
    None,
    None,
    "https://www.facebook.com/",
    "https://t.co/abc",
    "https://www.google.com/",
    "https://www.linkedin.com/feed/",
    "https://www.instagram.com/",
    "https://news.ycombinator.com/",
    "https://www.reddit.com/r/python/",
    "https://mail.example.com/",
]
CODES = sorted(COUNTRIES)


def click(link_index: int, rng: random.Random) -> dict[str, Any]:
    visitor = rng.randrange(VISITORS)
    return new_event(
        CLICK_RECORDED,
        {
            "link_id": 8_000_000 + link_index,
            "owner_id": OWNER_BASE + link_index % OWNERS,
            "alias": f"l{link_index}",
            "host": "localhost:8080",
            "destination": "https://example.com/landing",
            "source": "link",
            "qr_id": None,
            "campaign_id": None,
            "ip": f"10.{visitor >> 16 & 255}.{visitor >> 8 & 255}.{visitor & 255}",
            "user_agent": USER_AGENTS[visitor % len(USER_AGENTS)],
            "referrer": rng.choice(REFERRERS),
            "accept_language": rng.choice(["en-US,en;q=0.9", "de-DE", "fr-FR,fr", None]),
            "country": rng.choice([*CODES[:40], None]),
        },
    ).to_json()


def batch(size: int, rng: random.Random) -> list[dict[str, Any]]:
    """Skewed like real traffic: a few links get most clicks."""
    return [click(int(LINKS * rng.random() ** 3), rng) for _ in range(size)]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class StatsApi:
    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session

    async def get(self, path: str) -> Any:
        url = URL(self.settings.analytics_url + path)
        headers = identity.signed_headers(
            SERVICE, self.settings.internal_secret, "GET", url.raw_path_qs
        )
        async with self.session.get(url, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def counts(self, owner: int, link_ids: list[int]) -> dict[str, int]:
        path = "/internal/stats/counts"
        body = orjson.dumps({"owner": owner, "link_ids": link_ids})
        headers = identity.signed_headers(
            SERVICE, self.settings.internal_secret, "POST", path, body
        )
        headers["Content-Type"] = "application/json"
        async with self.session.post(
            self.settings.analytics_url + path, data=body, headers=headers
        ) as resp:
            counts: dict[str, int] = (await resp.json())["counts"]
            return counts


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_of_worker(system: RunningSystem, pool: asyncpg.Pool) -> tuple[float, float]:
    """CPU seconds so far of the worker process and of its Postgres sessions."""
    pids = await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name LIKE '%analytics-worker%'"
    )
    return cpu_seconds(system.procs["worker"].pid), sum(cpu_seconds(r["pid"]) for r in pids)


async def counted(pool: asyncpg.Pool) -> int:
    value = await pool.fetchval(
        "SELECT coalesce(sum(clicks + bot_clicks), 0) FROM analytics.link_totals "
        "WHERE owner_id >= $1 AND owner_id < $2",
        OWNER_BASE,
        OWNER_BASE + OWNERS,
    )
    return int(value)


async def throughput(
    system: RunningSystem, publisher: EventPublisher, pool: asyncpg.Pool
) -> tuple[float, bool]:
    rng = random.Random(5)
    started = time.perf_counter()
    for _ in range(TOTAL // PER_MESSAGE):
        await publisher.publish_raw(CLICK_RECORDED, batch(PER_MESSAGE, rng))
    published = time.perf_counter() - started
    print(f"published {TOTAL:,} events in {TOTAL // PER_MESSAGE} messages in {published:.1f} s")

    await system.start(["worker"])
    first_at, first_count = 0.0, 0
    cpu_start = (0.0, 0.0)
    done_at = time.perf_counter() + 600
    while time.perf_counter() < done_at:
        count = await counted(pool)
        now = time.perf_counter()
        if count and not first_at:
            first_at, first_count = now, count
            cpu_start = await cpu_of_worker(system, pool)
        if count >= TOTAL:
            done_at = now
            break
        await asyncio.sleep(0.2)
    cpu_end = await cpu_of_worker(system, pool)
    rate = (TOTAL - first_count) / max(done_at - first_at, 1e-9)
    raw = await pool.fetchval(
        "SELECT count(*) FROM analytics.clicks WHERE owner_id >= $1 AND owner_id < $2",
        OWNER_BASE,
        OWNER_BASE + OWNERS,
    )
    final = await counted(pool)
    lossless = final == TOTAL and raw == TOTAL
    print(
        f"one worker: {rate:,.0f} events/s sustained "
        f"({TOTAL - first_count:,} events in {done_at - first_at:.1f} s after the first commit); "
        f"rollups {final:,}, raw rows {raw:,} of {TOTAL:,} published"
    )
    worker_us = (cpu_end[0] - cpu_start[0]) / (TOTAL - first_count) * 1e6
    postgres_us = (cpu_end[1] - cpu_start[1]) / (TOTAL - first_count) * 1e6
    print(
        f"CPU per event: worker process {worker_us:.0f} µs, its Postgres sessions "
        f"{postgres_us:.0f} µs (a core each would allow ~{1e6 / max(worker_us, postgres_us):,.0f}"
        " events/s; this machine's 2 cores are shared with everything else)"
    )
    return rate, lossless


async def lag(publisher: EventPublisher, api: StatsApi) -> list[float]:
    rng = random.Random(11)
    per_flush = int(LAG_RATE * LAG_FLUSH)
    published: dict[int, float] = {}
    seen: dict[int, float] = {}
    done = asyncio.Event()

    async def poll() -> None:
        while not (done.is_set() and len(seen) == len(published)):
            pending = [p for p in published if p not in seen]
            if pending:
                counts = await api.counts(PROBE_OWNER, pending)
                now = time.perf_counter()
                for probe in pending:
                    if counts.get(str(probe)):
                        seen[probe] = now - published[probe]
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    started = time.perf_counter()
    for tick in range(int(LAG_SECONDS / LAG_FLUSH)):
        probe = 9_100_000_000 + tick
        events = batch(per_flush - 1, rng)
        events.append(
            new_event(
                CLICK_RECORDED,
                {
                    **events[0]["payload"],
                    "link_id": probe,
                    "owner_id": PROBE_OWNER,
                    "user_agent": USER_AGENTS[0],  # a person, not a bot: counted in clicks
                },
            ).to_json()
        )
        published[probe] = time.perf_counter()
        await publisher.publish_raw(CLICK_RECORDED, events)
        await asyncio.sleep(max(0.0, started + (tick + 1) * LAG_FLUSH - time.perf_counter()))
    done.set()
    await asyncio.wait_for(poller, 600)
    return [seen[p] * 1000 for p in published]


POPULATE = [
    # link_totals: ($1 link, $2 owner, $3 clicks)
    """INSERT INTO analytics.link_totals
       VALUES ($1, $2, $3::bigint, $3::bigint * 65 / 100, $3::bigint / 100, now())""",
    # one row per hour over the last $3 hours: ($1 link, $2 clicks, $3 hours)
    """INSERT INTO analytics.link_hourly (link_id, hour, clicks, unique_clicks, bot_clicks)
       SELECT $1, date_trunc('hour', now()) - h * interval '1 hour',
              greatest(1, $2::bigint / $3::int), greatest(1, $2::bigint / $3::int * 2 / 3), 0
       FROM generate_series(0, $3::int - 1) h""",
    # all-time breakdowns, Zipf-like counts: ($1 link, $2 clicks, $3 values, $4 codes, $5 social)
    """INSERT INTO analytics.link_dim_totals (link_id, dim, value, clicks)
       SELECT $1, d.dim,
              CASE d.dim WHEN 'country' THEN ($4::text[])[1 + (i - 1) % array_length($4, 1)]
                         WHEN 'social' THEN ($5::text[])[i]
                         ELSE d.dim || '-' || i END,
              greatest(1, $2::bigint / (i * 4))
       FROM (VALUES ('country', 200), ('referrer', 5000), ('browser', 40), ('os', 30),
                    ('social', 5)) AS d(dim, n)
       CROSS JOIN LATERAL generate_series(1, least(d.n, $3::int)) AS i
       ON CONFLICT DO NOTHING""",
    # daily breakdowns, the top values on each of $6 days: (same, $6 days)
    """INSERT INTO analytics.link_daily_dims (link_id, day, dim, value, clicks)
       SELECT $1, current_date - day_offset, d.dim,
              CASE d.dim WHEN 'country' THEN ($4::text[])[1 + (i - 1) % array_length($4, 1)]
                         WHEN 'social' THEN ($5::text[])[i]
                         ELSE d.dim || '-' || i END,
              greatest(1, $2::bigint / $6::int / (i * 4))
       FROM generate_series(0, $6::int - 1) AS day_offset
       CROSS JOIN (VALUES ('country', 200), ('referrer', 500), ('browser', 40), ('os', 30),
                          ('social', 5)) AS d(dim, n)
       CROSS JOIN LATERAL generate_series(1, least(d.n, $3::int)) AS i
       ON CONFLICT DO NOTHING""",
]
SOCIAL = ["facebook", "twitter", "instagram", "linkedin", "google"]
SIZES = """
SELECT link_id,
       (SELECT count(*) FROM analytics.link_dim_totals d WHERE d.link_id = t.link_id) AS dims,
       (SELECT count(*) FROM analytics.link_daily_dims d WHERE d.link_id = t.link_id) AS daily,
       (SELECT count(*) FROM analytics.link_hourly h WHERE h.link_id = t.link_id) AS hours
FROM analytics.link_totals t WHERE link_id = any($1::bigint[])
"""


async def populate(
    pool: asyncpg.Pool, link_id: int, clicks: int, hours: int, values: int, days: int
) -> None:
    owner = PROBE_OWNER + 1
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(POPULATE[0], link_id, owner, clicks)
        await conn.execute(POPULATE[1], link_id, clicks, hours)
        await conn.execute(POPULATE[2], link_id, clicks, values, CODES, SOCIAL)
        await conn.execute(POPULATE[3], link_id, clicks, values, CODES, SOCIAL, days)
    async with pool.acquire() as conn:
        # As autovacuum leaves them in a running system (hint bits set, statistics fresh).
        await conn.execute(
            "VACUUM (ANALYZE) analytics.link_dim_totals, analytics.link_daily_dims, "
            "analytics.link_hourly, analytics.link_totals"
        )


async def timed(api: StatsApi, path: str) -> list[float]:
    for _ in range(20):  # warm: connections, caches, plans
        await api.get(path)
    times: list[float] = []
    for _ in range(QUERY_ROUNDS):
        started = time.perf_counter()
        await api.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def query_time(pool: asyncpg.Pool, api: StatsApi) -> dict[str, tuple[float, float]]:
    """p50 and p99 (ms) of the stats block and of a 30-day series, per link."""
    started = time.perf_counter()
    links = {
        # 10M clicks over a year, thousands of distinct referrers and countries
        "10M": (BIG_LINK, BIG, 8760, 5000, 365),
        # 10M clicks with the breakdown shape of the small link: only the count differs
        "10M-narrow": (BIG_NARROW_LINK, BIG, 720, 12, 30),
        "1k": (SMALL_LINK, SMALL, 720, 12, 30),
    }
    for link, clicks, hours, values, days in links.values():
        await populate(pool, link, clicks, hours, values, days)
    for row in await pool.fetch(SIZES, [spec[0] for spec in links.values()]):
        print(
            f"  link {row['link_id']}: {row['hours']:,} hourly rows, "
            f"{row['dims']:,} breakdown values, {row['daily']:,} daily breakdown rows"
        )
    print(f"populated the rollups in {time.perf_counter() - started:.1f} s")
    owner = PROBE_OWNER + 1
    out: dict[str, tuple[float, float]] = {}
    for label, (link, clicks, *_) in links.items():
        block = await api.get(f"/internal/stats/links/{link}?owner={owner}")
        assert block["clicks"] == clicks
        times = await timed(api, f"/internal/stats/links/{link}?owner={owner}")
        out[f"block {label}"] = (statistics.median(times), percentile(times, 0.99))
        times = await timed(api, f"/internal/stats/links/{link}/series?owner={owner}&interval=day")
        out[f"series {label}"] = (statistics.median(times), percentile(times, 0.99))
    return out


async def main() -> None:
    async with bench_settings() as base:
        settings = with_free_ports(base)
        system = RunningSystem(settings, names=("analytics", "worker"))
        connection = await amqp.connect(settings)
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2)
        assert pool is not None
        try:
            channel = await connection.channel()
            await declare_queue(channel, settings, CLICKS_QUEUE)
            publisher = await amqp.open_publisher(connection, settings)
            await system.start(["analytics"])
            rate, lossless = await throughput(system, publisher, pool)
            async with aiohttp.ClientSession() as session:
                api = StatsApi(settings, session)
                lags = await lag(publisher, api)
                print(
                    f"lag publish → visible at {LAG_RATE:,} events/s ({len(lags)} probes): "
                    f"p50 {statistics.median(lags):.0f} ms, p99 {percentile(lags, 0.99):.0f} ms, "
                    f"max {max(lags):.0f} ms"
                )
                times = await query_time(pool, api)
            for label, (p50, p99) in times.items():
                print(f"GET stats {label:<17} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
            ratio = times["block 10M-narrow"][0] / times["block 1k"][0]
            diverse = times["block 10M"][0] / times["block 1k"][0]
            print(
                f"stats block p50 ratio, 10M / 1k clicks: {ratio:.2f} with the same breakdown "
                f"shape, {diverse:.2f} with thousands of distinct values"
            )
            print(
                verdict(
                    "worker throughput",
                    rate >= TARGET_RATE,
                    f"{rate:,.0f} events/s (target ≥ {TARGET_RATE:,})",
                )
            )
            print(verdict("zero loss", lossless, "every published event counted exactly once"))
            p99 = times["block 10M"][1]
            print(
                verdict(
                    "stats p99 at 10M clicks",
                    p99 <= TARGET_P99_MS,
                    f"{p99:.1f} ms (target ≤ {TARGET_P99_MS:.0f} ms)",
                )
            )
            print(verdict("query time independent of clicks", ratio <= 1.5, f"ratio {ratio:.2f}"))
        finally:
            await system.stop()
            await pool.close()
            await connection.close()
