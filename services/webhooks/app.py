"""The webhooks API service (behind the gateway): endpoints, pings and the
deliveries log. Sending happens in the delivery process (``delivery.py``)."""

from __future__ import annotations

from aiohttp import web

from services.webhooks import api
from services.webhooks.resources import sender_ctx
from shared.service import create_service_app
from shared.settings import Settings


def create_app(settings: Settings) -> web.Application:
    app = create_service_app(settings, name="webhooks", needs=("postgres",))
    app.cleanup_ctx.append(sender_ctx)  # pings are sent from here, answered at once
    app.add_routes(api.routes())
    return app
