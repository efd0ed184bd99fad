"""Cleanup contexts both webhooks processes use."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from services.webhooks.keys import SENDER
from services.webhooks.sender import Sender
from shared.appkeys import SETTINGS


async def sender_ctx(app: web.Application) -> AsyncIterator[None]:
    """The one client session for users' endpoints (SSRF-guarded)."""
    async with Sender(app[SETTINGS]) as sender:
        app[SENDER] = sender
        yield
