"""``GET /api/system/queues`` (admins): the depth of every queue of the platform and
how far behind real time the click counts are, so ``shortener queues --api URL``
answers from anywhere, as it does on a machine of the platform."""

from __future__ import annotations

import logging
import time
from typing import Final

import aiohttp
import orjson
from aiohttp import web

from services.accounts.access import admin
from services.accounts.keys import ANALYTICS_HTTP
from shared import identity
from shared.amqp import queue_depths
from shared.appkeys import AMQP, SETTINGS
from shared.envelope import ok
from shared.identity import SERVICE

log = logging.getLogger("services.accounts.queue_report")

PROGRESS_PATH: Final = "/internal/worker/progress"
CLICKS_QUEUE: Final = "analytics.clicks"
ASK_TIMEOUT: Final = 1.0


async def newest_counted_click(app: web.Application) -> float | None:
    """When the newest counted click happened (epoch seconds), as analytics says;
    ``None`` when it cannot say."""
    settings = app[SETTINGS]
    headers = identity.signed_headers(SERVICE, settings.internal_secret, "GET", PROGRESS_PATH, b"")
    try:
        async with app[ANALYTICS_HTTP].get(
            settings.analytics_url + PROGRESS_PATH,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=ASK_TIMEOUT),
        ) as resp:
            if resp.status != 200:
                return None
            data = orjson.loads(await resp.read())
    except (aiohttp.ClientError, TimeoutError, OSError, orjson.JSONDecodeError) as exc:
        log.info("worker progress unavailable: %s", type(exc).__name__)
        return None
    newest = data.get("newest_counted_at") if isinstance(data, dict) else None
    return float(newest) if isinstance(newest, int | float) else None


def worker_lag(waiting: tuple[int, int] | None, newest: float | None, now: float) -> float | None:
    """Seconds the counts are behind: none while nothing waits; with clicks waiting,
    the age of the newest click counted (``None``: not known)."""
    if waiting is None:
        return None
    if waiting[0] == 0:
        return 0.0
    return None if newest is None else round(max(0.0, now - newest), 3)


async def queues(request: web.Request) -> web.Response:
    admin(request)
    app = request.app
    depths = await queue_depths(app[AMQP], app[SETTINGS])
    newest = await newest_counted_click(app)
    return ok(
        data={
            "queues": [
                {
                    "name": name,
                    "messages": None if depth is None else depth[0],
                    "consumers": None if depth is None else depth[1],
                }
                for name, depth in depths.items()
            ],
            "workerLag": worker_lag(depths.get(CLICKS_QUEUE), newest, time.time()),
        }
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/api/system/queues", queues)]
