"""``GET /user/login/sso/<token>``: the single-use sign-in links the accounts
service issues live on the public short domain, so the edge relays them to
``/internal/sso/<token>`` (signed as a service) and passes the answer back:
the page, its status, its session cookie and its no-store/no-referrer headers.
A ``HEAD`` is relayed as a ``HEAD``, which accounts answers without using the
link up (mail scanners and link previews fetch links before people do)."""

from __future__ import annotations

import logging
import re
from typing import Final

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from services.links.edge import pages
from services.links.edge.keys import ACCOUNTS_HTTP
from shared import identity
from shared.appkeys import SETTINGS

log = logging.getLogger("edge.sso")

_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
RELAYED_HEADERS: Final = (
    "Content-Type",
    "Set-Cookie",
    "Cache-Control",
    "Referrer-Policy",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
)


async def sso_landing(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    if not _TOKEN_RE.fullmatch(token):
        return pages.not_found_page()
    settings = request.app[SETTINGS]
    path = f"/internal/sso/{token}"
    method = "HEAD" if request.method == "HEAD" else "GET"
    headers = identity.signed_headers(identity.SERVICE, settings.internal_secret, method, path)
    try:
        async with request.app[ACCOUNTS_HTTP].request(
            method, settings.accounts_url + path, headers=headers, allow_redirects=False
        ) as upstream:
            body = await upstream.read()
            relayed: CIMultiDict[str] = CIMultiDict()
            for name in RELAYED_HEADERS:
                for value in upstream.headers.getall(name, ()):
                    relayed.add(name, value)
            return web.Response(status=upstream.status, body=body, headers=relayed)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("accounts unreachable for a sign-in link: %r", exc)
        return pages.unavailable_page()
