"""``/health`` (liveness), ``/ready`` (dependencies reachable) and ``/metrics``
(Prometheus) for every process, plus request metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from shared.appkeys import AMQP, METRICS_REGISTRY, PG_POOL, REDIS, SERVICE_NAME
from shared.envelope import json_response

OPS_PATHS = frozenset({"/health", "/ready", "/metrics"})

ReadinessCheck = Callable[[web.Application], Awaitable[None]]

REQUESTS = web.AppKey("http_requests", Counter)
LATENCY = web.AppKey("http_latency", Histogram)


def setup_metrics(app: web.Application) -> CollectorRegistry:
    registry = CollectorRegistry()
    app[METRICS_REGISTRY] = registry
    app[REQUESTS] = Counter(
        "http_requests_total",
        "HTTP requests answered",
        ["method", "route", "status"],
        registry=registry,
    )
    app[LATENCY] = Histogram(
        "http_request_duration_seconds",
        "HTTP request latency",
        ["route"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )
    return registry


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        app = request.app
        app[REQUESTS].labels(request.method, route, str(status)).inc()
        app[LATENCY].labels(route).observe(time.perf_counter() - started)


async def _check_postgres(app: web.Application) -> None:
    async with app[PG_POOL].acquire() as conn:
        await conn.fetchval("SELECT 1")


async def _check_redis(app: web.Application) -> None:
    await app[REDIS].ping()


async def _check_amqp(app: web.Application) -> None:
    if app[AMQP].is_closed:
        raise ConnectionError("AMQP connection is closed")


READY_CHECKS = web.AppKey("ready_checks", dict)

CHECKS_BY_RESOURCE: dict[str, tuple[str, ReadinessCheck]] = {
    "postgres": ("postgres", _check_postgres),
    "redis": ("redis", _check_redis),
    "amqp": ("rabbitmq", _check_amqp),
}


def add_ops_routes(
    app: web.Application, needs: frozenset[str], *, public_metrics: bool = True
) -> None:
    """Register /health, /ready and /metrics; /ready checks each resource in ``needs``.

    ``public_metrics=False``: no /metrics here (internet-facing processes serve
    it on their ops port, :mod:`shared.ops_port`)."""
    app[READY_CHECKS] = dict(
        CHECKS_BY_RESOURCE[r] for r in sorted(needs) if r in CHECKS_BY_RESOURCE
    )
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    if public_metrics:
        app.router.add_get("/metrics", metrics)


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "service": request.app[SERVICE_NAME]})


async def ready(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, ReadinessCheck] = app[READY_CHECKS]
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(app), timeout=2)
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"unavailable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in results.values())
    return json_response(
        {"status": "ready" if healthy else "not ready", "checks": results},
        status=200 if healthy else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
