"""Typed application keys of the accounts service."""

from __future__ import annotations

import aiohttp
from aiohttp import web

# One pooled client per service asked for a user's usage (services/accounts/usage.py).
ANALYTICS_HTTP = web.AppKey("analytics_http", aiohttp.ClientSession)
LINKS_HTTP = web.AppKey("links_http", aiohttp.ClientSession)
