"""What the cluster tests share: a link made through the API, its click count as
the API shows it once the workers caught up, propagation timing across every
edge, and a click load through HAProxy while replicas are killed."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import aiohttp

from tests.cluster.harness import FLUSH_INTERVAL, Cluster, wait_all_up
from tests.faults.harness import AGENT, ClickLoad, loss_bound, shown
from tests.support.api_calls import call

RATE = 50.0  # visits a second through HAProxy: steady and bounded (the machine is shared)


@dataclass(frozen=True)
class Link:
    id: int
    alias: str
    short: str
    destination: str


async def new_link(cluster: Cluster, http: aiohttp.ClientSession, label: str) -> Link:
    destination = f"https://example.com/{label}/{secrets.token_hex(4)}"
    status, body, _ = await call(
        http, "POST", f"{cluster.api}/url/add", cluster.load_key, {"url": destination}
    )
    assert status == 200, body
    short: str = body["shorturl"]
    return Link(body["id"], short.rsplit("/", 1)[1], short, destination)


async def clicks_of(cluster: Cluster, http: aiohttp.ClientSession, link_id: int) -> int | None:
    with suppress(aiohttp.ClientError, AssertionError):
        status, body, _ = await call(http, "GET", f"{cluster.api}/url/{link_id}", cluster.load_key)
        clicks = (body.get("data") or {}).get("clicks") if status == 200 else None
        return clicks if isinstance(clicks, int) else None
    return None


async def settled_clicks(
    cluster: Cluster, http: aiohttp.ClientSession, link_id: int, wanted: int, within: float = 60
) -> int:
    """The link's count once it reached ``wanted`` and held for 2 s (a redelivery
    would show), or once it stopped moving for 10 s, or at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen, since = None, loop.time()
    while loop.time() < deadline:
        now = await clicks_of(cluster, http, link_id)
        if now != seen:
            seen, since = now, loop.time()
        quiet = loop.time() - since
        if seen is not None and ((seen >= wanted and quiet >= 2) or quiet >= 10):
            return seen
        await asyncio.sleep(0.25)
    return seen or 0


async def until_every_edge(
    cluster: Cluster,
    http: aiohttp.ClientSession,
    link: Link,
    wanted: Callable[[int, str | None], bool],
    within: float,
) -> list[float]:
    """Seconds until each edge (asked directly, every 10 ms) answers as ``wanted``."""
    started = time.monotonic()

    async def one(edge: int) -> float:
        while True:
            status, location = await cluster.visit_edge(http, edge, link.alias, AGENT)
            if wanted(status, location):
                return time.monotonic() - started
            if time.monotonic() - started > within:
                return float("inf")
            await asyncio.sleep(0.01)

    return list(await asyncio.gather(*(one(i) for i in range(len(cluster.edges)))))


async def edge_buffered(cluster: Cluster, http: aiohttp.ClientSession, edge: int) -> float:
    """Clicks an edge holds in memory, not yet published nor spooled (its gauge)."""
    port = cluster.edges[edge].settings.edge_ops_port
    async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        text = await resp.text()
    for line in text.splitlines():
        if line.startswith("edge_clicks_in_buffer "):
            return float(line.split()[1])
    raise AssertionError("edge_clicks_in_buffer missing from /metrics")


@dataclass
class KillResult:
    answered: int
    counted: int
    buffered_at_kill: float
    bound: int
    load: ClickLoad
    per_edge: dict[str, int]

    @property
    def lost(self) -> int:
        return self.answered - self.counted

    def line(self, label: str) -> str:
        return (
            f"{label}: {self.answered:,} redirects answered through HAProxy, "
            f"{self.counted:,} counted, {self.lost} lost (killed edge held "
            f"{self.buffered_at_kill:.0f} unpublished at its last scrape before the kill; "
            f"bound {self.bound}: one {FLUSH_INTERVAL:g} s flush window at {RATE:g}/s "
            f"+ visits in flight); during: {shown(self.load.counts['during'])}; "
            f"requests per edge {self.per_edge}"
        )


Action = Callable[[], Awaitable[None]]


async def load_while(
    cluster: Cluster,
    http: aiohttp.ClientSession,
    label: str,
    fault: Action,
    repair: Action,
    *,
    before: float = 3.0,
    during: float = 4.0,
    after: float = 3.0,
    killed_edge: int | None = None,
) -> KillResult:
    """A steady click load through HAProxy on one link; ``fault`` after
    ``before`` s, ``repair`` ``during`` s later, ``after`` s more once HAProxy
    sees every replica UP again; the count once the workers caught up."""
    link = await new_link(cluster, http, label)
    load = ClickLoad(url=link.short, destination=link.destination, rate=RATE)
    stop = asyncio.Event()
    runner = asyncio.create_task(load.run(stop))
    buffered = 0.0
    try:
        await asyncio.sleep(before)
        if killed_edge is not None:
            buffered = await edge_buffered(cluster, http, killed_edge)
        load.enter("during")
        await fault()
        await asyncio.sleep(during)
        await repair()
        await wait_all_up(cluster, http)
        load.enter("after")
        await asyncio.sleep(after)
    finally:
        stop.set()
        await runner
    servers = await cluster.haproxy.servers(http)
    per_edge = {
        name.split("/")[1]: int(row["req_tot"] or 0)
        for name, row in servers.items()
        if name.startswith("edges/")
    }
    counted = await settled_clicks(cluster, http, link.id, load.redirects)
    return KillResult(
        answered=load.redirects,
        counted=counted,
        buffered_at_kill=buffered,
        bound=loss_bound(RATE, FLUSH_INTERVAL, load.concurrency),
        load=load,
        per_edge=per_edge,
    )


async def kill_edge_and_worker(
    cluster: Cluster, http: aiohttp.ClientSession, label: str
) -> KillResult:
    """Edge 2 and worker 1 killed with SIGKILL under load, then started again."""
    edge, worker = cluster.edges[1], cluster.workers[0]

    async def kill() -> None:
        await asyncio.gather(edge.stop(kill=True), worker.stop(kill=True))

    async def restart() -> None:
        await asyncio.gather(edge.start(), worker.start())

    return await load_while(cluster, http, label, kill, restart, killed_edge=1)
