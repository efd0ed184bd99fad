"""The accounts service: users, API keys, plans, single sign-on and the
address book (API.md §2, §11, §12), plus the internal endpoints the gateway
and the edge call (shared/CONTRACTS.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from services.accounts import (
    account,
    add_contact_v1,
    contact_lists,
    contacts,
    operators,
    plans,
    principals,
    queue_report,
    sso,
    team,
    team_accept,
    users,
)
from services.accounts.keys import ANALYTICS_HTTP, LINKS_HTTP
from services.accounts.notices import SCHEMA
from shared.appkeys import SETTINGS
from shared.outbox import outbox_ctx
from shared.service import create_service_app
from shared.settings import Settings


def http_client_ctx(
    key: web.AppKey[aiohttp.ClientSession],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """One pooled client for one upstream service, under ``key``."""

    async def client_ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        connector = aiohttp.TCPConnector(limit=32, keepalive_timeout=30)
        timeout = aiohttp.ClientTimeout(
            total=settings.upstream_timeout, sock_connect=settings.upstream_connect_timeout
        )
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            app[key] = session
            yield

    return client_ctx


def create_app(settings: Settings) -> web.Application:
    # No Redis: nothing here is cached; the gateway caches principals.
    app = create_service_app(settings, name="accounts", needs=("postgres", "amqp"))
    app.cleanup_ctx.append(outbox_ctx(SCHEMA))
    app.cleanup_ctx.append(http_client_ctx(ANALYTICS_HTTP))
    app.cleanup_ctx.append(http_client_ctx(LINKS_HTTP))
    for module in (
        account,
        plans,
        users,
        operators,
        queue_report,
        sso,
        principals,
        contacts,
        contact_lists,
        team,
        team_accept,
    ):
        app.add_routes(module.routes())
    app.add_routes(add_contact_v1.routes())  # last: it ends with a catch-all under /v1
    return app
