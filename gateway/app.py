"""The API gateway: bearer key → principal, token bucket, forwarding.

Not built on :func:`shared.service.create_service_app`: the gateway is the
public door, so it checks bearer keys rather than internal signatures; it
shares the error envelope, the ops endpoints and metrics, and the Redis and
AMQP contexts with every other process."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Final

import orjson
from aiohttp import web
from redis.exceptions import RedisError

from gateway.docs import render_docs
from gateway.forwarding import REQUEST_ID_HEADER, client_of, request_id
from gateway.invalidation import invalidation_ctx
from gateway.keys import DOCS_HTML, OPENAPI_JSON, PRINCIPALS, ROUTER, UPSTREAMS
from gateway.openapi import build_document
from gateway.permissions import refusal
from gateway.principals import (
    AccountsUnavailable,
    Granted,
    NotMember,
    PrincipalStore,
    Refused,
    bearer_key,
)
from gateway.proxy import forward, gateway_error
from gateway.request_cost import request_cost
from gateway.routing import (
    ACCOUNTS,
    COMPAT_NOT_FOUND,
    COMPAT_PREFIX,
    LINKS,
    WEBHOOKS,
    Router,
    is_compat,
)
from gateway.upstreams import Upstream, new_session
from shared import identity
from shared.amqp import amqp_ctx
from shared.appkeys import REDIS, SERVICE_NAME, SETTINGS
from shared.dependencies import (
    DEPENDENCY_CHECKS,
    http_check,
    unavailable_middleware,
    unavailable_response,
)
from shared.dependencies import REDIS as REDIS_DEPENDENCY
from shared.envelope import JSON_CONTENT_TYPE, dumps, error_middleware
from shared.observability import add_ops_routes, metrics_middleware, setup_metrics
from shared.ops_port import ops_port_ctx
from shared.redis_ctx import redis_ctx
from shared.settings import Settings

log = logging.getLogger("gateway")

MISSING_KEY: Final = "Missing API key: send it as 'Authorization: Bearer <API key>'."
INVALID_KEY: Final = "Invalid API key: it is unknown, revoked or expired."
ACCOUNTS_DOWN: Final = "The API key cannot be checked right now. Please retry later."
WORKSPACE_HEADER: Final = "X-Workspace"
BAD_WORKSPACE: Final = (
    f"The {WORKSPACE_HEADER} header must be a workspace id (its owner's user id)."
)
NO_API: Final = (
    "API access is not part of {whose} plan (the 'api' feature): its API keys are refused. "
    "An administrator can turn it on."
)
# Joining a team needs no key: a new member gets their account (and key) from it.
TEAM_ACCEPT: Final = "/api/team/accept"
_MAX_ID: Final = 2**63 - 1


def workspace_of(request: web.Request) -> int | None:
    """The owner id of ``X-Workspace`` (None: the caller's own workspace);
    ValueError when it is not an id."""
    raw = request.headers.get(WORKSPACE_HEADER)
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= _MAX_ID:
        raise ValueError(value)
    return int(value)


async def upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: one pooled session per service, and the principal store
    (which asks the accounts service over the same pool)."""
    settings = app[SETTINGS]
    upstreams = {
        ACCOUNTS: Upstream(ACCOUNTS, settings.accounts_url, new_session(settings)),
        LINKS: Upstream(LINKS, settings.links_url, new_session(settings)),
        WEBHOOKS: Upstream(WEBHOOKS, settings.webhooks_url, new_session(settings)),
    }
    app[UPSTREAMS] = upstreams
    app[PRINCIPALS] = PrincipalStore(app[REDIS], settings, upstreams[ACCOUNTS].session)
    try:
        yield
    finally:
        for upstream in upstreams.values():
            await upstream.session.close()


async def too_large(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        return None


async def api(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[SETTINGS]
    rid = request_id(request)
    client = client_of(request, settings.trusted_proxy_hops)
    authorization = request.headers.get("Authorization")
    path = request.raw_path.split("?", 1)[0]
    try:
        workspace = workspace_of(request)
    except ValueError:
        return gateway_error(400, BAD_WORKSPACE, rid)
    if path == TEAM_ACCEPT and authorization is None and workspace is None:
        return await _keyless(request, ACCOUNTS, rid)
    try:
        outcome = await app[PRINCIPALS].authenticate(authorization, client.ip, workspace)
        if isinstance(outcome, NotMember):
            # The refusal costs a token from the caller's own bucket like any
            # request: guessing workspaces is rate-limited too.
            own = await app[PRINCIPALS].authenticate(authorization, client.ip)
            if isinstance(own, Granted):
                limits = own.rate.headers()
                if not own.allowed:
                    retry = {"Retry-After": str(own.rate.retry_after)}
                    return gateway_error(429, None, rid, {**limits, **retry})
                return gateway_error(403, outcome.message, rid, limits)
    except AccountsUnavailable as exc:
        return unavailable_response(
            request, ACCOUNTS, exc, message=ACCOUNTS_DOWN, headers={REQUEST_ID_HEADER: rid}
        )
    except RedisError as exc:
        return unavailable_response(
            request, REDIS_DEPENDENCY, exc, headers={REQUEST_ID_HEADER: rid}
        )
    if isinstance(outcome, NotMember):  # the key went meanwhile
        return gateway_error(403, outcome.message, rid)
    if isinstance(outcome, Refused):
        rate = outcome.rate(time.time())
        if outcome.throttled:
            headers = {**rate.headers(), "Retry-After": str(rate.retry_after)}
            return gateway_error(429, None, rid, headers)
        headers = {**rate.headers(), "WWW-Authenticate": 'Bearer realm="api"'}
        message = MISSING_KEY if bearer_key(authorization) is None else INVALID_KEY
        return gateway_error(401, message, rid, headers)
    limits = outcome.rate.headers()
    if not outcome.allowed:
        return gateway_error(
            429, None, rid, {**limits, "Retry-After": str(outcome.rate.retry_after)}
        )
    name = app[ROUTER].upstream(path)
    if name is None:
        return gateway_error(404, "No such endpoint.", rid, limits)
    principal = outcome.principal(rid)
    if principal.actor_id is not None:
        refused = refusal(request.method, path, principal.permissions)
        if refused is not None:
            return gateway_error(403, refused, rid, limits)
    if not principal.has_feature("api"):
        whose = "your" if principal.actor_id is None else "this workspace's"
        return gateway_error(403, NO_API.format(whose=whose), rid, limits)
    body = await too_large(request, settings.max_body_bytes)
    if body is None:
        return gateway_error(413, None, rid, limits)
    cost = request_cost(request.method, path, body)
    if cost > 1:  # one token was taken with the key check
        try:
            rate = await app[PRINCIPALS].charge(authorization, cost - 1, workspace)
        except RedisError as exc:
            log.error("Redis unavailable: %r (request %s)", exc, rid)
            return gateway_error(503, None, rid)
        limits = rate.headers()
        if rate.retry_after:
            return gateway_error(429, None, rid, {**limits, "Retry-After": str(rate.retry_after)})
    return await forward(
        request,
        app[UPSTREAMS][name],
        principal=principal,
        client=client,
        rid=rid,
        body=body,
        extra_headers=limits,
    )


def in_seed_envelope(answer: web.StreamResponse) -> web.StreamResponse:
    """The gateway's own refusals (429, 413, a service down) in the add-contact
    seed's envelope, the only one its clients read; other answers as they are."""
    if not isinstance(answer, web.Response) or answer.status < 400:
        return answer
    try:
        parsed = orjson.loads(answer.body) if isinstance(answer.body, bytes) else None
    except orjson.JSONDecodeError:
        return answer
    if isinstance(parsed, dict) and parsed.get("error") == 1:
        status = {"code": answer.status, "message": parsed.get("message")}
        answer.body = orjson.dumps({"response": {"status": status}})
    return answer


async def add_contact(request: web.Request) -> web.StreamResponse:
    """The seed's compatibility endpoint: the body carries the key and an HMAC,
    which the accounts service checks; the gateway only limits each address.
    Only the documented paths are forwarded; the rest get the seed's 404 here."""
    return in_seed_envelope(await _add_contact(request))


async def _add_contact(request: web.Request) -> web.StreamResponse:
    rid = request_id(request)
    if not is_compat(request.raw_path.split("?", 1)[0]):
        return web.Response(
            body=dumps(COMPAT_NOT_FOUND),
            status=404,
            content_type=JSON_CONTENT_TYPE,
            charset="utf-8",  # the seed's message is Turkish
            headers={REQUEST_ID_HEADER: rid},
        )
    return await _keyless(request, ACCOUNTS, rid)


async def _keyless(request: web.Request, upstream: str, rid: str) -> web.StreamResponse:
    """An endpoint that needs no key (its body proves who may call it): limited
    per client address, forwarded as ``anonymous``."""
    app = request.app
    settings = app[SETTINGS]
    client = client_of(request, settings.trusted_proxy_hops)
    try:
        rate = await app[PRINCIPALS].limit_address(
            client.ip, settings.rate_limit_capacity, settings.rate_limit_window
        )
    except RedisError as exc:
        return unavailable_response(
            request, REDIS_DEPENDENCY, exc, headers={REQUEST_ID_HEADER: rid}
        )
    limits = rate.headers()
    if rate.retry_after:
        return gateway_error(429, None, rid, {**limits, "Retry-After": str(rate.retry_after)})
    body = await too_large(request, settings.max_body_bytes)
    if body is None:
        return gateway_error(413, None, rid, limits)
    return await forward(
        request,
        app[UPSTREAMS][upstream],
        principal=replace(identity.ANONYMOUS, request_id=rid),
        client=client,
        rid=rid,
        body=body,
        extra_headers=limits,
    )


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[OPENAPI_JSON],
        content_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def docs(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[DOCS_HTML],
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[metrics_middleware, error_middleware, unavailable_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[SERVICE_NAME] = "gateway"
    setup_metrics(app)
    app[ROUTER] = Router()
    document = build_document()
    app[OPENAPI_JSON] = orjson.dumps(document)
    app[DOCS_HTML] = render_docs(document).encode()
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(amqp_ctx)
    app.cleanup_ctx.append(upstreams_ctx)
    app.cleanup_ctx.append(invalidation_ctx)
    app.cleanup_ctx.append(ops_port_ctx(lambda s: s.gateway_ops_port))  # last: sees them all
    add_ops_routes(app, frozenset({"redis", "amqp"}), public_metrics=False)
    # The services behind it are dependencies too: /health shows them, and an
    # outage of one is logged when it starts and ends (its 503s pass through).
    checks = app[DEPENDENCY_CHECKS]
    checks[ACCOUNTS] = http_check(lambda a: a[SETTINGS].accounts_url)
    checks[LINKS] = http_check(lambda a: a[SETTINGS].links_url)
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/docs", docs)
    # The /v1/ compatibility prefix: its documented paths go to accounts, any
    # other answers the seed's own 404 envelope.
    app.router.add_route("*", COMPAT_PREFIX + "{tail:.*}", add_contact)
    app.router.add_route("*", "/api", api)
    app.router.add_route("*", "/api/{tail:.*}", api)
    return app
