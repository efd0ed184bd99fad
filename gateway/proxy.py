"""Forwarding a request to the service that owns it, over one pooled
keep-alive session per service, and turning every way that can fail into a
JSON 502, 503 or 504."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote

import aiohttp
from aiohttp import web
from redis.exceptions import RedisError
from yarl import URL

from gateway.forwarding import (
    REQUEST_ID_HEADER,
    Client,
    client_response_headers,
    invalidations,
    upstream_request_headers,
)
from gateway.keys import PRINCIPALS
from gateway.upstreams import Upstream
from shared import identity
from shared.appkeys import SETTINGS
from shared.dependencies import unavailable_response
from shared.envelope import error_response
from shared.identity import Principal

log = logging.getLogger("gateway.proxy")

# Answers up to this size are read whole (so a broken one becomes a clean 502);
# bigger or unsized ones (exports, images) are streamed through.
BUFFER_LIMIT: Final = 1 << 20
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def gateway_error(
    status: int, message: str | None, rid: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    return error_response(status, message, headers={**(headers or {}), REQUEST_ID_HEADER: rid})


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


async def forward(
    request: web.Request,
    upstream: Upstream,
    *,
    principal: Principal,
    client: Client,
    rid: str,
    body: bytes,
    extra_headers: Mapping[str, str],
) -> web.StreamResponse:
    """Relay ``request`` to ``upstream``, signed for ``principal``.

    Upstream faults become JSON answers, never exceptions."""
    settings = request.app[SETTINGS]
    # Signed over the path exactly as it goes out (yarl may tidy the escapes).
    url = URL(upstream.base_url + request.raw_path)
    if unquote(url.raw_path) != unquote(request.raw_path.split("?", 1)[0]):
        # yarl resolved dot segments: the service would get another path than
        # the one routed. The router refuses those already; never sign one.
        return gateway_error(404, "No such endpoint.", rid, extra_headers)
    # Signed for this one request: method, path and query as they go out, and the body.
    signature = identity.sign(
        principal, settings.internal_secret, request.method, url.raw_path_qs, body
    )
    headers = upstream_request_headers(request, client, rid, signature)
    attempts = 2 if request.method in _IDEMPOTENT else 1
    for attempt in range(attempts):
        try:
            async with upstream.session.request(
                request.method, url, headers=headers, data=body or None, allow_redirects=False
            ) as resp:
                return await _relay(request, resp, upstream, rid, extra_headers)
        except aiohttp.ConnectionTimeoutError:
            return _failed(
                request, 503, upstream, rid, extra_headers, "did not accept a connection"
            )
        except aiohttp.ClientConnectorError:
            return _failed(request, 503, upstream, rid, extra_headers, "refused the connection")
        except TimeoutError:
            return _failed(request, 504, upstream, rid, extra_headers, "timed out")
        except aiohttp.ServerDisconnectedError:
            # A pooled connection the service closed as we reused it: safe to
            # retry once when the method is idempotent.
            if attempt + 1 < attempts:
                continue
            return _failed(request, 502, upstream, rid, extra_headers, "closed the connection")
        except aiohttp.ClientError as exc:
            return _failed(request, 502, upstream, rid, extra_headers, f"answered badly ({exc!r})")
    raise AssertionError("unreachable")  # pragma: no cover


_MESSAGES: Final = {
    502: "Bad gateway: the {name} service sent a broken answer.",
    503: "The {name} service is unavailable. Please retry later.",
    504: "Gateway timeout: the {name} service did not answer in time.",
}


def _failed(
    request: web.Request,
    status: int,
    upstream: Upstream,
    rid: str,
    extra: Mapping[str, str],
    why: str,
) -> web.Response:
    message = _MESSAGES[status].format(name=upstream.name)
    if status == 503:  # logged when the outage starts and ends, not per request
        return unavailable_response(
            request, upstream.name, why, message=message, headers={**extra, REQUEST_ID_HEADER: rid}
        )
    log.warning("upstream %s %s (request %s)", upstream.name, why, rid)
    return gateway_error(status, message, rid, extra)


async def _relay(
    request: web.Request,
    resp: aiohttp.ClientResponse,
    upstream: Upstream,
    rid: str,
    extra: Mapping[str, str],
) -> web.StreamResponse:
    users, plans = invalidations(resp.headers)
    if users or plans:
        # Before answering: the client's next request must already see the change.
        try:
            await request.app[PRINCIPALS].evict(users=users, plans=plans)
        except RedisError:  # the change's event evicts again; the TTL bounds the rest
            log.exception("could not evict principals of users %s, plans %s", users, plans)
    if resp.status >= 400 and not _is_json(resp.content_type):
        await resp.read()
        # /api never answers HTML: an unexpected error page becomes the envelope.
        status = 502 if resp.status >= 500 else resp.status
        message = _MESSAGES[502].format(name=upstream.name) if status == 502 else None
        return gateway_error(status, message, rid, extra)
    headers = client_response_headers(resp.headers, [*extra.items(), (REQUEST_ID_HEADER, rid)])
    length = resp.content_length
    if request.method == "HEAD" or (length is not None and length <= BUFFER_LIMIT):
        payload = await resp.read()
        return web.Response(status=resp.status, reason=resp.reason, body=payload, headers=headers)
    stream = web.StreamResponse(status=resp.status, reason=resp.reason, headers=headers)
    if length is not None:
        stream.content_length = length
    await stream.prepare(request)
    try:
        async for chunk in resp.content.iter_chunked(1 << 16):
            await stream.write(chunk)
    except (aiohttp.ClientError, TimeoutError) as exc:
        # Too late for an error answer: cut the connection so the client
        # cannot mistake a truncated body for a whole one.
        log.warning(
            "upstream %s broke off a streamed answer (%r), request %s", upstream.name, exc, rid
        )
        if request.transport is not None:
            request.transport.abort()
        return stream
    await stream.write_eof()
    return stream
