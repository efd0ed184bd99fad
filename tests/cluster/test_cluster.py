"""Replicas keep the guarantees: HAProxy in front of 2 gateways and 3 edges, with
2 workers, on the machine's Postgres, Redis and RabbitMQ (a namespace of
the test's own).

- The token bucket is one bucket across both gateways.
- A link changed or deleted through the API is served changed, or not at all,
  by every edge within a second.
- A steady click load through HAProxy while an edge and a worker are killed
  with SIGKILL and started again: every redirect is counted once, but for what
  the killed edge had not yet published (one flush window, measured)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from shared.settings import Settings
from tests.cluster.harness import BUCKET, Cluster, environment_ok, running_cluster
from tests.cluster.load import kill_edge_and_worker, new_link, until_every_edge
from tests.faults.harness import AGENT
from tests.support.api_calls import call
from tests.support.figures import report_figure

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]

TOO_MANY = {"error": 1, "message": "Too Many Requests. Please retry later."}
PROPAGATION_LIMIT = 1.0  # seconds, for every edge


@pytest.fixture(scope="module")
async def cluster(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Cluster]:
    problem = environment_ok()
    if problem:
        pytest.skip(problem)
    base: Path = tmp_path_factory.mktemp("cluster")
    started = time.monotonic()
    async with running_cluster(settings, base, tag="cluster") as running:
        report_figure(
            request.config,
            f"cluster: 2 gateways, 3 edges, 2 workers behind HAProxy up in "
            f"{time.monotonic() - started:.1f} s",
        )
        yield running
        rss = ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(running.rss_mb().items()))
        report_figure(request.config, f"cluster: RSS after the tests (MB): {rss}")


async def test_the_token_bucket_is_exact_across_two_gateways(
    cluster: Cluster, request: pytest.FixtureRequest
) -> None:
    capacity = BUCKET["capacity"]
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as http:
        before = await cluster.haproxy.servers(http)
        answers = await asyncio.gather(
            *(call(http, "GET", f"{cluster.api}/account", cluster.bucket_key) for _ in range(100))
        )
        after = await cluster.haproxy.servers(http)
    passed = [headers for status, _, headers in answers if status == 200]
    refused = [(body, headers) for status, body, headers in answers if status == 429]
    assert (len(passed), len(refused)) == (capacity, 100 - capacity), [a[0] for a in answers]
    # Each token was taken exactly once, whichever gateway took it.
    remaining = sorted(int(h["X-RateLimit-Remaining"]) for h in passed)
    assert remaining == list(range(capacity))
    now = int(time.time())
    for body, headers in refused:
        assert body == TOO_MANY
        assert headers["X-RateLimit-Limit"] == str(capacity)
        assert headers["X-RateLimit-Remaining"] == "0"
        # one token refills every window/capacity seconds (90 s here)
        assert 1 <= int(headers["Retry-After"]) <= BUCKET["window"] // capacity + 1
        assert now <= int(headers["X-RateLimit-Reset"]) <= now + BUCKET["window"] + 2
    assert all(h["X-RateLimit-Limit"] == str(capacity) for h in passed)
    # Both gateways took part (HAProxy's own count of what it sent each).
    sent = {
        name: int(after[name]["req_tot"] or 0) - int(before[name]["req_tot"] or 0)
        for name in after
        if name.startswith("gateways/")
    }
    assert all(count >= 20 for count in sent.values()), sent
    report_figure(
        request.config,
        f"cluster: 100 concurrent requests, one key, capacity {capacity}: "
        f"{len(passed)} passed, {len(refused)} × 429; per gateway {sent}",
    )


async def test_a_changed_or_deleted_link_reaches_every_edge_within_a_second(
    cluster: Cluster, request: pytest.FixtureRequest
) -> None:
    async with aiohttp.ClientSession() as http:
        link = await new_link(cluster, http, "propagation")
        for edge in range(len(cluster.edges)):  # every edge has it cached
            for _ in range(2):
                assert await cluster.visit_edge(http, edge, link.alias, AGENT) == (
                    302,
                    link.destination,
                )
        changed = link.destination + "/changed"
        status, body, _ = await call(
            http,
            "PUT",
            f"{cluster.api}/url/{link.id}/update",
            cluster.load_key,
            {"url": changed},
        )
        assert status == 200, body
        updated = await until_every_edge(
            cluster, http, link, lambda s, loc: (s, loc) == (302, changed), within=5
        )
        async with http.get(
            link.short, headers={"User-Agent": AGENT}, allow_redirects=False
        ) as resp:  # and through HAProxy
            assert (resp.status, resp.headers["Location"]) == (302, changed)

        status, body, _ = await call(
            http, "DELETE", f"{cluster.api}/url/{link.id}/delete", cluster.load_key
        )
        assert status == 200, body
        deleted = await until_every_edge(cluster, http, link, lambda s, _: s == 404, within=5)
        async with http.get(link.short, headers={"User-Agent": AGENT}, allow_redirects=False) as r:
            assert r.status == 404
    shown = ", ".join(f"{t * 1000:.0f}" for t in updated)
    gone = ", ".join(f"{t * 1000:.0f}" for t in deleted)
    report_figure(
        request.config,
        f"cluster: after the API's answer, new target served by each edge in [{shown}] ms; "
        f"deleted link 404 on each edge in [{gone}] ms",
    )
    assert max(updated) <= PROPAGATION_LIMIT, updated
    assert max(deleted) <= PROPAGATION_LIMIT, deleted


async def test_clicks_counted_through_an_edge_and_a_worker_killed(
    cluster: Cluster, request: pytest.FixtureRequest
) -> None:
    async with aiohttp.ClientSession() as http:
        result = await kill_edge_and_worker(cluster, http, "kill")
    report_figure(request.config, result.line("cluster, classic queues, edge-2 + worker-1 SIGKILL"))
    assert result.answered > 0
    assert 0 <= result.lost <= result.bound, result.line("kill")
    # Visitors kept being redirected: HAProxy sent them to the other edges.
    during = result.load.counts["during"]
    assert during["302"] >= 0.9 * (sum(during.values()) - during["skipped"]), during
    assert all(count > 0 for count in result.per_edge.values()), result.per_edge
