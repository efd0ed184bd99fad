"""Typed application keys of the gateway."""

from __future__ import annotations

from aiohttp import web

from gateway.principals import PrincipalStore
from gateway.routing import Router
from gateway.upstreams import Upstream

UPSTREAMS = web.AppKey("gateway_upstreams", dict[str, Upstream])
PRINCIPALS = web.AppKey("gateway_principals", PrincipalStore)
ROUTER = web.AppKey("gateway_router", Router)
OPENAPI_JSON = web.AppKey("gateway_openapi_json", bytes)
DOCS_HTML = web.AppKey("gateway_docs_html", bytes)
