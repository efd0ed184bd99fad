"""What the edge costs per redirect, against the machine's floor, in one run:
nginx ``return 302`` (one worker; Debian's package, installed when missing and
possible), a minimal uvloop + httptools server doing what the fast core must
(parse, look the alias up among 100,000 links, buffer the click, encode clicks
in batches, write a prebuilt 302), a bare aiohttp handler (uvloop, no
middleware) returning the same 302, our edge (its fast core on, clicks
published to RabbitMQ with confirms) and our edge with the fast core off. wrk at
64 connections on loopback; the servers alternate for a few rounds and each
ratio is the median of round-by-round ratios (the machine is shared: one
disturbed round must not decide); the server CPU time per request is printed.

Every click is counted: no worker runs, so after the load the queue is drained
and its events are compared with the redirects wrk saw (wrk does not count the
requests in flight when it stops: at most 64 per run more events than that).

Then the edge's resident memory once it has cached 100,000 distinct links: rows
COPYed into Postgres, each requested once. Most have a Redis snapshot, as the
links service writes on every change; the first ``VIA_POSTGRES`` have none, so
they take the Redis-miss → Postgres → Redis path, whose rate is printed apart.

Targets: edge ≥ 0.5 × nginx (stretch 0.8); edge p99 ≤ 5 ms; RSS ≤ 200 MB."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
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
TARGET_NGINX_RATIO = 0.5
TARGET_P99_MS = 5.0
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


# The floor: what a redirect with a counted click costs in Python on this machine.
FLOOR_APP = f"""
import sys, asyncio, time, uvloop, httptools, orjson
DEST = {DESTINATION!r}
LINKS = {{("/m%06d" % i).encode(): "https://example.com/articles/%d?ref=short" % i
         for i in range(100_000)}}
LINKS[b"/hot"] = DEST
HEADS = {{}}
CLICKS = []
def head(dest):
    return ("HTTP/1.1 302 Found\\r\\nLocation: " + dest + "\\r\\nCache-Control: private, "
            "no-store\\r\\nContent-Length: 0\\r\\n\\r\\n").encode()
class Floor(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.p = httptools.HttpRequestParser(self)
        self.peer = transport.get_extra_info("peername")[0]
        self.h = {{}}
    def data_received(self, data):
        try:
            self.p.feed_data(data)
        except httptools.HttpParserError:
            self.t.close()
    def on_url(self, url):
        self.url = url
    def on_header(self, name, value):
        self.h[name.lower()] = value
    def on_message_complete(self):
        h, self.h = self.h, {{}}
        dest = LINKS.get(self.url)
        if dest is None:
            self.t.write(b"HTTP/1.1 404 Not Found\\r\\nContent-Length: 0\\r\\n\\r\\n")
            return
        CLICKS.append((self.url, time.time(), h.get(b"user-agent"), h.get(b"referer"),
                       h.get(b"accept-language"), self.peer))
        if len(CLICKS) >= 500:
            orjson.dumps([(u.decode(), t, a and a.decode(), r and r.decode(),
                           l and l.decode(), p) for u, t, a, r, l, p in CLICKS])
            CLICKS.clear()
        response = HEADS.get(dest)
        if response is None:
            response = HEADS[dest] = head(dest)
        self.t.write(response)
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Floor, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    await server.serve_forever()
uvloop.run(main())
"""

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            add_header Cache-Control "private, no-store" always;
            return 302 {destination};
        }}
    }}
}}
"""


def _nginx_binary() -> str | None:
    """nginx, installed from Debian when missing and possible (best effort: the
    bench runs without it). Only the binary is used, never the system service."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "install", "-y", "-q", "nginx"],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "nginx"],
    ):
        if subprocess.run(command, env=env, **quiet).returncode == 0 and command[1] == "install":  # type: ignore[call-overload]
            break
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


async def _start_nginx(directory: str, port: int) -> asyncio.subprocess.Process | None:
    binary = _nginx_binary()
    if binary is None:
        return None
    conf = Path(directory) / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, port=port, destination=DESTINATION))
    return await asyncio.create_subprocess_exec(
        binary, "-p", directory, "-c", str(conf), "-e", f"{directory}/error.log"
    )


def _worker_pid(master: int) -> int:
    """nginx's worker (it does the serving) for CPU accounting; the master if none yet."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0]) if children else master


async def _drain_events(settings: Settings) -> int:
    """Take every message off the bench's click queue; the events they held."""
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(name(settings, "bench.clicks"), durable=True)
        events = 0
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            events += message.body.count(b'"type":"click.recorded"')
        return events
    finally:
        await connection.close()


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


_LAST_WARMUP = [0]  # requests of the last warm-up run (they are clicks too)


async def _load(url: str, pid: int) -> tuple[LoadResult, float]:
    """wrk's figures, and the server's CPU microseconds per request."""
    headers = [f"User-Agent: {USER_AGENT}"]
    warmup = await wrk(url, connections=CONNECTIONS, duration=WARMUP_SECONDS, headers=headers)
    _LAST_WARMUP[0] = warmup.requests
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


SERVERS = (
    ("nginx", "nginx return 302"),
    ("floor", "uvloop+httptools floor"),
    ("bare", "bare aiohttp 302"),
    ("edge", "edge (fast core)"),
    ("aiohttp", "edge (fast core off)"),
)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


async def main() -> None:
    async with bench_settings() as base:
        settings = with_free_ports(base)
        await _insert_links(settings, CACHED_LINKS)
        await _write_snapshots(settings)
        broker = await _click_queue(settings)
        ports = {"bare": free_port(), "floor": free_port(), "nginx": free_port()}
        nginx_dir = tempfile.mkdtemp(prefix="bench-nginx-")
        procs = {
            "bare": await asyncio.create_subprocess_exec(
                sys.executable, "-c", BARE_APP, str(ports["bare"]), cwd=ROOT
            ),
            "floor": await asyncio.create_subprocess_exec(
                sys.executable, "-c", FLOOR_APP, str(ports["floor"]), cwd=ROOT
            ),
        }
        nginx = await _start_nginx(nginx_dir, ports["nginx"])
        if nginx is not None:
            procs["nginx"] = nginx
        system = RunningSystem(settings, names=("edge",))
        off = RunningSystem(
            with_free_ports(settings.with_overrides(edge_fast_core=False)), names=("edge",)
        )
        try:
            await system.start()
            await off.start()
            urls = {k: f"http://127.0.0.1:{port}" for k, port in ports.items() if k in procs}
            urls["edge"], urls["aiohttp"] = system.edge_url, off.edge_url
            for url in urls.values():
                await _wait_http(f"{url}/hot")
                await _check(f"{url}/hot")
            pids = {k: p.pid for k, p in procs.items()}
            pids["edge"], pids["aiohttp"] = system.procs["edge"].pid, off.procs["edge"].pid
            if "nginx" in pids:
                pids["nginx"] = _worker_pid(pids["nginx"])
            servers = [(k, label) for k, label in SERVERS if k in urls]
            if "nginx" not in urls:
                print("nginx not available (not installed and could not be): no nginx baseline")

            runs: dict[str, list[tuple[LoadResult, float]]] = {k: [] for k, _ in servers}
            served = 4  # each edge: one wait_http and one check above
            for _ in range(ROUNDS):
                for key, _label in servers:
                    runs[key].append(await _load(f"{urls[key]}/hot", pids[key]))
                    if key in ("edge", "aiohttp"):
                        served += _LAST_WARMUP[0] + runs[key][-1][0].requests
            await asyncio.sleep(1.5)  # the last batches are confirmed
            counted = await _drain_events(settings)
            spooled = sum(
                [
                    await _metric(edges.edge_ops_url, 'edge_clicks_total{fate="spooled"}')
                    for edges in (system, off)
                ]
            )

            for i in range(ROUNDS):
                for key, label in servers:
                    result, cpu = runs[key][i]
                    print(result.row(f"round {i + 1} {label}") + f"  {cpu:.1f} µs CPU/req")
            rate = {k: [r.requests_per_second for r, _ in rs] for k, rs in runs.items()}
            cpu_of = {k: _median([c for _, c in rs]) for k, rs in runs.items()}
            for key, label in servers:
                best = max((r for r, _ in runs[key]), key=lambda r: r.requests_per_second)
                print(
                    best.row(f"{label} (best round)") + f"  {cpu_of[key]:.1f} µs CPU/req (median)"
                )

            def ratio(a: str, b: str) -> float:
                # Round by round (each pair measured within seconds), the median counts.
                return _median([x / y for x, y in zip(rate[a], rate[b], strict=True)])

            baseline = "nginx" if "nginx" in rate else "floor"
            print("throughput ratios (median of round-by-round ratios, same run):")
            for key, label in servers:
                if key != baseline:
                    print(f"  {label} / {baseline}: {ratio(key, baseline):.2f}")
            print(f"  edge (fast core) / bare aiohttp: {ratio('edge', 'bare'):.2f}")
            print(f"  edge (fast core) / edge (fast core off): {ratio('edge', 'aiohttp'):.2f}")
            print(f"  edge (fast core) / floor: {ratio('edge', 'floor'):.2f}")
            print(
                "  CPU per request, edge fast core vs off: "
                f"{cpu_of['edge']:.1f} vs {cpu_of['aiohttp']:.1f} µs"
            )
            in_flight = 2 * ROUNDS * 2 * CONNECTIONS  # wrk's uncounted last requests, at most
            print(
                f"served vs counted: wrk saw {served:,} redirects from the two edges, "
                f"the queue holds {counted:,} click events (spooled: {spooled:,.0f}; "
                f"wrk leaves up to {in_flight} requests in flight uncounted)"
            )

            started = time.monotonic()
            edge_url, edge_pid = system.edge_url, system.procs["edge"].pid
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
            if baseline == "nginx":
                nginx_ratio = ratio("edge", "nginx")
                print(
                    verdict(
                        "edge / nginx",
                        nginx_ratio >= TARGET_NGINX_RATIO,
                        f"{nginx_ratio:.2f} ≥ {TARGET_NGINX_RATIO} (stretch 0.8)",
                    )
                )
            p99 = _median([r.p99_ms for r, _ in runs["edge"]])
            print(
                verdict(
                    "edge p99 (median of rounds)",
                    p99 <= TARGET_P99_MS,
                    f"{p99:.2f} ms ≤ {TARGET_P99_MS}",
                )
            )
            print(verdict("edge RSS", rss <= TARGET_RSS_MB, f"{rss:.1f} MB ≤ {TARGET_RSS_MB:.0f}"))
            print(
                verdict(
                    "every redirect counted",
                    served <= counted + spooled <= served + in_flight,
                    f"{served:,} ≤ {counted + spooled:,.0f} ≤ {served + in_flight:,}",
                )
            )
            errors = sum(r.errors for rs in runs.values() for r, _ in rs)
            print(verdict("errors", errors == 0, str(errors)))
            if via_postgres + via_redis != CACHED_LINKS:
                raise RuntimeError("not every cached link redirected")
        finally:
            await system.stop()
            await off.stop()
            for proc in procs.values():
                with suppress(ProcessLookupError):
                    proc.terminate()
                await proc.wait()
            await broker.close()
            shutil.rmtree(nginx_dir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
