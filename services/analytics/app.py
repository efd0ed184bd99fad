"""The analytics stats API: reads the rollups the worker writes
(``python -m services.analytics.worker`` is the other half)."""

from __future__ import annotations

from aiohttp import web

from services.analytics import account_stats, click_export
from services.analytics.db import postgres_ctx
from services.analytics.handlers import routes
from shared.dependencies import DEPENDENCY_CHECKS
from shared.observability import CHECKS_BY_RESOURCE
from shared.service import create_service_app
from shared.settings import Settings


def create_app(settings: Settings) -> web.Application:
    app = create_service_app(settings, name="analytics", needs=())
    app.cleanup_ctx.append(postgres_ctx(lambda _: "analytics-api", by_key=True))
    app[DEPENDENCY_CHECKS] = {"postgres": CHECKS_BY_RESOURCE["postgres"][1]}
    app.router.add_routes(routes)
    app.router.add_routes(click_export.ROUTES + account_stats.ROUTES)
    return app
