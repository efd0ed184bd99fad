"""Typed application keys of the accounts service."""

from __future__ import annotations

import aiohttp
from aiohttp import web

# One pooled client for the analytics service (usage on the signed-in page).
ANALYTICS_HTTP = web.AppKey("analytics_http", aiohttp.ClientSession)
