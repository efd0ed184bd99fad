"""The same cluster on RabbitMQ quorum queues (``AMQP_QUORUM_QUEUES=1``) and a
PRIVATE Redis (its own ``redis-server`` on its own port, a child of this test:
the machine's shared Redis is never restarted):

- the click load through an edge and a worker killed with SIGKILL counts as
  it does on classic queues;
- Redis restarted under load: visitors keep their redirects, every click is
  counted, and once the API takes a change again every edge serves it within
  a bounded time (edges that missed the invalidation resubscribe and clear
  their caches)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from services.links.edge.invalidation import RETRY_MAX
from shared import amqp
from shared.settings import Settings
from tests.cluster.harness import Cluster, environment_ok, running_cluster
from tests.cluster.load import (
    kill_edge_and_worker,
    load_while,
    new_link,
    until_every_edge,
)
from tests.faults.harness import AGENT, shown
from tests.support.api_calls import call
from tests.support.figures import report_figure
from tests.support.private_instances import PrivateRedis
from tests.support.queue_types import available as rabbitmqctl_available
from tests.support.queue_types import queue_types

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]

REDIS_DOWN = 3.0  # seconds
# An edge that missed an invalidation while its subscription was down clears
# its caches when it subscribes again: it retries at most RETRY_MAX apart.
STALE_LIMIT = RETRY_MAX + 2.0


@pytest.fixture(scope="module")
async def quorum_cluster(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Cluster, PrivateRedis]]:
    problem = environment_ok() or (
        None if PrivateRedis.available() else "redis-server is needed for a private Redis"
    )
    if problem:
        pytest.skip(problem)
    base: Path = tmp_path_factory.mktemp("cluster-quorum")
    redis = PrivateRedis(base / "redis")
    await redis.start()
    try:
        async with running_cluster(
            settings, base, tag="quorum", redis_url=redis.url, quorum_queues=True
        ) as running:
            yield running, redis
    finally:
        await redis.stop()


async def test_clicks_counted_through_kills_on_quorum_queues(
    quorum_cluster: tuple[Cluster, PrivateRedis], request: pytest.FixtureRequest
) -> None:
    cluster, _ = quorum_cluster
    if rabbitmqctl_available():
        types = await queue_types(cluster.settings)
        assert types[amqp.name(cluster.settings, amqp.CLICKS_QUEUE)] == "quorum", types
    async with aiohttp.ClientSession() as http:
        result = await kill_edge_and_worker(cluster, http, "quorum")
    report_figure(request.config, result.line("cluster, quorum queues, edge-2 + worker-1 SIGKILL"))
    assert result.answered > 0
    assert 0 <= result.lost <= result.bound, result.line("quorum")
    during = result.load.counts["during"]
    assert during["302"] >= 0.9 * (sum(during.values()) - during["skipped"]), during


async def test_redis_restarted_under_load(
    quorum_cluster: tuple[Cluster, PrivateRedis], request: pytest.FixtureRequest
) -> None:
    cluster, redis = quorum_cluster
    async with aiohttp.ClientSession() as http:
        watched = await new_link(cluster, http, "stale")
        for edge in range(len(cluster.edges)):  # cached on every edge
            assert await cluster.visit_edge(http, edge, watched.alias, AGENT) == (
                302,
                watched.destination,
            )
        missed = watched.destination + "/while-redis-was-down"
        changed = watched.destination + "/after-restart"
        timings: dict[str, float] = {}
        recovered: list[float] = []
        staleness: list[float] = []

        async def stop_redis_and_change_the_link_unannounced() -> None:
            await redis.stop()
            # A change whose invalidation could not be sent (Redis is down; no
            # API can change a link meanwhile, so it is written directly): every
            # edge still holds the old snapshot in its memory.
            await cluster.pool.execute(
                "UPDATE links.links SET long_url = $1 WHERE id = $2", missed, watched.id
            )
            for edge in range(len(cluster.edges)):
                assert await cluster.visit_edge(http, edge, watched.alias, AGENT) == (
                    302,
                    watched.destination,
                )

        async def restart_redis_then_change_the_link() -> None:
            await redis.start()
            back = time.monotonic()
            # Each edge resubscribes and clears its caches: the missed change shows.
            recovered.extend(
                await until_every_edge(
                    cluster,
                    http,
                    watched,
                    lambda s, loc: (s, loc) == (302, missed),
                    within=STALE_LIMIT + 10,
                )
            )
            # The first change the API takes once Redis is back (503 until then).
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while True:
                status, body, _ = await call(
                    http,
                    "PUT",
                    f"{cluster.api}/url/{watched.id}/update",
                    cluster.load_key,
                    {"url": changed},
                )
                if status == 200:
                    break
                assert status == 503, body
                assert loop.time() < deadline, body
                await asyncio.sleep(0.05)
            timings["api"] = time.monotonic() - back
            staleness.extend(
                await until_every_edge(
                    cluster,
                    http,
                    watched,
                    lambda s, loc: (s, loc) == (302, changed),
                    within=STALE_LIMIT + 10,
                )
            )

        result = await load_while(
            cluster,
            http,
            "redis",
            stop_redis_and_change_the_link_unannounced,
            restart_redis_then_change_the_link,
            during=REDIS_DOWN,
        )
    served = ", ".join(f"{t * 1000:.0f}" for t in staleness)
    cleared = ", ".join(f"{t * 1000:.0f}" for t in recovered)
    line = (
        f"cluster, private Redis restarted ({REDIS_DOWN:g} s down) under load: visits during "
        f"{shown(result.load.counts['during'])}; {result.answered:,} redirects, "
        f"{result.counted:,} counted; a change made while Redis was down (its invalidation "
        f"lost) served by each edge [{cleared}] ms after Redis was back; the API took a "
        f"change {timings['api']:.2f} s after, every edge served it within [{served}] ms "
        f"(limit {STALE_LIMIT:g} s)"
    )
    report_figure(request.config, line)
    # Cached links kept redirecting while Redis was down; nothing was lost.
    assert set(result.load.counts["during"]) <= {"302", "skipped"}, line
    assert result.counted == result.answered, line
    assert max(recovered) <= STALE_LIMIT, line
    assert max(staleness) <= STALE_LIMIT, line
