"""``/health`` (liveness, with the state of each dependency), ``/ready`` (can
serve now) and ``/metrics`` (Prometheus) for every process, plus request metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from shared.appkeys import AMQP, METRICS_REGISTRY, PG_POOL, REDIS, SERVICE_NAME
from shared.dependencies import (
    DEPENDENCIES,
    DEPENDENCY_CHECKS,
    POSTGRES,
    RABBITMQ,
    DependencyCheck,
    setup_dependencies,
)
from shared.dependencies import REDIS as REDIS_NAME
from shared.envelope import json_response

OPS_PATHS = frozenset({"/health", "/ready", "/metrics"})

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


# The dependencies /health reports and the monitor probes (shared.dependencies).
# Services that open their own resources set their own; the old name stays for
# code written when these checks decided /ready.
READY_CHECKS = DEPENDENCY_CHECKS

CHECKS_BY_RESOURCE: dict[str, tuple[str, DependencyCheck]] = {
    "postgres": (POSTGRES, _check_postgres),
    "redis": (REDIS_NAME, _check_redis),
    "amqp": (RABBITMQ, _check_amqp),
}

# What this process needs to do its job, beyond having started: each check
# answers "ok" or what is wrong. Unset: a started process that is not shutting
# down is ready (it answers 503 for what a down dependency prevents).
Readiness = Callable[[web.Application], Awaitable[dict[str, str]]]
READINESS: web.AppKey[Readiness] = web.AppKey("readiness")


def add_ops_routes(
    app: web.Application,
    needs: frozenset[str],
    *,
    readiness: Readiness | None = None,
    public_metrics: bool = True,
) -> None:
    """Register /health, /ready and /metrics, and the monitor of the dependencies in
    ``needs`` (their state is in /health's details and in ``dependency_up``).

    ``public_metrics=False``: no /metrics here (internet-facing processes serve
    it on their ops port, :mod:`shared.ops_port`)."""
    setup_dependencies(
        app,
        app[METRICS_REGISTRY],
        dict(CHECKS_BY_RESOURCE[r] for r in sorted(needs) if r in CHECKS_BY_RESOURCE),
    )
    if readiness is not None:
        app[READINESS] = readiness
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    if public_metrics:
        app.router.add_get("/metrics", metrics)


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. Its dependencies' state is a detail, not a failure."""
    app = request.app
    return json_response(
        {
            "status": "ok",
            "service": app[SERVICE_NAME],
            "dependencies": app[DEPENDENCIES].states(),
        }
    )


async def ready(request: web.Request) -> web.Response:
    """Readiness: the process can serve now (see README, "Operating it")."""
    app = request.app
    monitor = app[DEPENDENCIES]
    checks: dict[str, str] = {}
    if monitor.stopping:
        checks["process"] = "shutting down"
    else:
        readiness = app.get(READINESS)
        if readiness is not None:
            checks.update(await readiness(app))
    healthy = all(v == "ok" for v in checks.values())
    return json_response(
        {
            "status": "ready" if healthy else "not ready",
            "checks": checks,
            "dependencies": monitor.states(),
        },
        status=200 if healthy else 503,
    )


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
