"""A local cluster: HAProxy (its own process, generated configuration, loopback
ports) in front of 2 gateways and 3 edges, with 2 analytics workers and one
each of accounts, links and analytics, all started as ``make run`` starts them
(tests/support/system.py), each replica with its own ports, ops port, spool
directory and log file. Postgres, Redis and RabbitMQ are the machine's (or a
private Redis, for the test that restarts it), in a namespace of the test's
own: database, Redis prefix, AMQP prefix."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import secrets
import shutil
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from deploy.haproxy import Layout, Server, render
from services.accounts.registration import register
from shared.passwords import hash_password_async
from shared.settings import Settings
from tests.e2e.conftest import add_user
from tests.support.api_calls import call
from tests.support.namespace import private_namespace
from tests.support.system import RunningSystem, free_port, with_free_ports

GATEWAYS, EDGES, WORKERS = 2, 3, 2
# Each edge flushes its click buffer this often: an edge killed with SIGKILL
# loses at most what it buffered in one window.
FLUSH_INTERVAL = 0.05
# The plan of the user whose burst tests the token bucket: a window of an hour,
# so not one token refills during the burst and the count is exact.
BUCKET = {"capacity": 40, "window": 3600}
LOAD_RATE = {"capacity": 1_000_000, "window": 60}


@dataclass
class HAProxy:
    """``haproxy -db`` (foreground) with a configuration written for ``layout``."""

    workdir: Path
    layout: Layout
    proc: asyncio.subprocess.Process | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("haproxy") is not None

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "haproxy.cfg"
        config.write_text(render(self.layout))
        with (self.workdir / "haproxy.log").open("ab") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                "haproxy",
                "-db",
                "-f",
                str(config),
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "haproxy.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        with suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def servers(self, http: aiohttp.ClientSession) -> dict[str, dict[str, str]]:
        """HAProxy's own view of each server (``backend/server`` → CSV stats row):
        ``status`` (UP/DOWN), ``req_tot`` (requests sent to it), ..."""
        assert self.layout.stats_bind is not None
        async with http.get(f"http://{self.layout.stats_bind}/stats;csv") as resp:
            text = await resp.text()
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {
            f"{row['pxname']}/{row['svname']}": row
            for row in rows
            if row["svname"] not in {"FRONTEND", "BACKEND"}
        }


@dataclass
class Cluster:
    settings: Settings  # the namespace's, with the services' ports
    services: RunningSystem  # accounts, links, analytics
    gateways: list[RunningSystem]
    edges: list[RunningSystem]
    workers: list[RunningSystem]
    haproxy: HAProxy
    pool: asyncpg.Pool
    admin_key: str = ""
    load_key: str = ""  # a user whose plan never limits the test's API calls
    bucket_key: str = ""  # a user on BUCKET
    figures: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://{self.haproxy.layout.api_bind}/api"

    @property
    def public_host(self) -> str:
        return self.settings.public_host

    def replicas(self) -> dict[str, RunningSystem]:
        named = {f"gateway-{i + 1}": s for i, s in enumerate(self.gateways)}
        named |= {f"edge-{i + 1}": s for i, s in enumerate(self.edges)}
        named |= {f"worker-{i + 1}": s for i, s in enumerate(self.workers)}
        return named

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of every running process, in MB (from /proc)."""
        found: dict[str, float] = {}
        groups = {"": self.services, **self.replicas()}
        for label, system in groups.items():
            for name, proc in system.procs.items():
                status = Path(f"/proc/{proc.pid}/status")
                with suppress(OSError):
                    for line in status.read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            found[label or name] = int(line.split()[1]) / 1024
        return found

    async def visit_edge(
        self, http: aiohttp.ClientSession, edge: int, alias: str, agent: str
    ) -> tuple[int, str | None]:
        """``GET /alias`` straight to edge ``edge`` (0-based), as the public host."""
        port = self.edges[edge].settings.edge_port
        async with http.get(
            f"http://127.0.0.1:{port}/{alias}",
            headers={"Host": self.public_host, "User-Agent": agent},
            allow_redirects=False,
        ) as resp:
            await resp.read()
            return resp.status, resp.headers.get("Location")


def _replica(settings: Settings, log_dir: Path, name: str, **overrides: object) -> RunningSystem:
    log_dir.mkdir(parents=True, exist_ok=True)
    return RunningSystem(settings.with_overrides(**overrides), names=(name,), log_dir=log_dir)


async def _admin(pool: asyncpg.Pool) -> str:
    tag = secrets.token_hex(4)
    async with pool.acquire() as conn, conn.transaction():
        made = await register(
            conn,
            username=f"clusteradmin{tag}",
            email=f"clusteradmin{tag}@example.com",
            password_hash=await hash_password_async("admin-pass"),
            role="admin",
        )
    return made.key.key


async def _user_on_plan(cluster: Cluster, http: aiohttp.ClientSession, rate: dict[str, int]) -> str:
    tag = secrets.token_hex(4)
    status, plan, _ = await call(
        http,
        "POST",
        f"{cluster.api}/plan/add",
        cluster.admin_key,
        {
            "name": f"Cluster {tag}",
            "free": True,
            "limits": {"links": 0, "clicks": 0, "retention": 0},
            "rate": rate,
        },
    )
    assert status == 200, plan
    return await add_user(http, cluster.api, cluster.admin_key, f"cluster{tag}", plan["id"])


@asynccontextmanager
async def running_cluster(
    settings: Settings,
    base: Path,
    *,
    tag: str,
    redis_url: str | None = None,
    quorum_queues: bool = False,
) -> AsyncIterator[Cluster]:
    """The whole cluster, ready (every replica answers /ready and HAProxy sees
    every server UP); stopped and its namespace removed afterwards."""
    async with private_namespace(settings, tag) as own:
        api_port, visitors_port, stats_port = free_port(), free_port(), free_port()
        shared = with_free_ports(own).with_overrides(
            public_base_url=f"http://127.0.0.1:{visitors_port}",  # short links: via HAProxy
            trusted_proxy_hops=1,  # HAProxy appends X-Forwarded-For
            click_flush_interval=FLUSH_INTERVAL,
            amqp_quorum_queues=quorum_queues,
            **({"redis_url": redis_url} if redis_url else {}),
        )
        (base / "services").mkdir(parents=True, exist_ok=True)
        services = RunningSystem(
            shared, names=("accounts", "links", "analytics"), log_dir=base / "services"
        )
        gateways = [
            _replica(
                shared,
                base / f"gateway-{i}",
                "gateway",
                gateway_port=free_port(),
                gateway_ops_port=free_port(),
            )
            for i in range(1, GATEWAYS + 1)
        ]
        edges = [
            _replica(
                shared,
                base / f"edge-{i}",
                "edge",
                edge_port=free_port(),
                edge_ops_port=free_port(),
                spool_dir=str(base / f"edge-{i}" / "spool"),
            )
            for i in range(1, EDGES + 1)
        ]
        workers = [
            _replica(shared, base / f"worker-{i}", "worker", worker_metrics_port=free_port())
            for i in range(1, WORKERS + 1)
        ]
        layout = Layout(
            api_bind=f"127.0.0.1:{api_port}",
            visitors_bind=f"127.0.0.1:{visitors_port}",
            gateways=[
                Server(f"gateway-{i + 1}", f"127.0.0.1:{g.settings.gateway_port}")
                for i, g in enumerate(gateways)
            ],
            edges=[
                Server(f"edge-{i + 1}", f"127.0.0.1:{e.settings.edge_port}")
                for i, e in enumerate(edges)
            ],
            stats_bind=f"127.0.0.1:{stats_port}",
            check_interval_ms=250,
            maxconn=1000,
        )
        haproxy = HAProxy(base / "haproxy", layout)
        pool = await asyncpg.create_pool(own.database_url, min_size=1, max_size=2)
        cluster = Cluster(shared, services, gateways, edges, workers, haproxy, pool)
        started: list[RunningSystem] = []
        try:
            await haproxy.start()
            await services.start()
            started.append(services)
            for group in (gateways, edges, workers):
                await asyncio.gather(*(replica.start() for replica in group))
                started.extend(group)
            async with aiohttp.ClientSession() as http:
                await wait_all_up(cluster, http)
                cluster.admin_key = await _admin(pool)
                cluster.load_key = await _user_on_plan(cluster, http, LOAD_RATE)
                cluster.bucket_key = await _user_on_plan(cluster, http, BUCKET)
            yield cluster
        finally:
            await haproxy.stop()
            for system in reversed(started):
                await system.stop()
            await pool.close()


async def wait_all_up(cluster: Cluster, http: aiohttp.ClientSession, within: float = 30) -> None:
    """Until HAProxy's health checks see every gateway and edge UP."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    servers: dict[str, dict[str, str]] = {}
    while True:
        proc = cluster.haproxy.proc
        if proc is None or proc.returncode is not None:
            raise RuntimeError(f"haproxy exited:\n{cluster.haproxy.log_tail()}")
        with suppress(aiohttp.ClientError):
            servers = await cluster.haproxy.servers(http)
        if servers and all(row["status"] == "UP" for row in servers.values()):
            return
        if loop.time() > deadline:
            raise RuntimeError({k: v["status"] for k, v in servers.items()})
        await asyncio.sleep(0.1)


def environment_ok() -> str | None:
    """Why the cluster cannot run here, or ``None``."""
    if not HAProxy.available():
        return "haproxy is not installed (apt-get install haproxy; .ci/run does)"
    if not os.path.exists("/proc/self/status"):
        return "no /proc to read memory from"
    return None
