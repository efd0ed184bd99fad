"""The ops endpoints of an internet-facing process on a port of their own.

The gateway and the edge face the internet: their public port answers
``/health`` and ``/ready`` (load balancers probe those) but not ``/metrics``,
which tells a stranger request rates, cache sizes and error counts. Metrics
are served, with ``/health`` and ``/ready`` again, on the ops port
(``GATEWAY_OPS_PORT`` / ``EDGE_OPS_PORT``; unset or 0: not served), which only
the internal network (Prometheus) reaches."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from shared.appkeys import SETTINGS
from shared.observability import health, metrics, ready
from shared.settings import Settings

log = logging.getLogger("shared.ops_port")

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def create_ops_app(app: web.Application) -> web.Application:
    """``/health``, ``/ready`` and ``/metrics`` of ``app`` (started), as an app of their own.

    The ops handlers read what they need (registry, dependency checks, pools)
    from the application state, so the ops app gets the same state: call this
    once every resource of ``app`` is open."""
    ops = web.Application()
    for key in app:
        ops[key] = app[key]
    ops.router.add_get("/health", health)
    ops.router.add_get("/ready", ready)
    ops.router.add_get("/metrics", metrics)
    return ops


def ops_port_ctx(port_of: Callable[[Settings], int | None]) -> CleanupContext:
    """A cleanup context serving :func:`create_ops_app` on ``port_of(settings)``;
    append it last, after the contexts that open the resources."""

    async def serve_ops(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        port = port_of(settings)
        if not port:
            yield
            return
        runner = web.AppRunner(create_ops_app(app), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, port, reuse_port=True).start()
            log.info("ops endpoints (/health, /ready, /metrics) on %s:%s", settings.host, port)
            yield
        finally:
            await runner.cleanup()

    return serve_ops
