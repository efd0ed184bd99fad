"""The webhooks API: add, list, get, update, delete, test (a ping), deliveries.

Plan: the ``webhooks`` feature, ``webhooks.count`` limits how many. The secret
is shown once, in the answer that created (or replaced) it; the signing
scheme is in ``signing.py`` and the README."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from services.webhooks import queries
from services.webhooks.catalog import EVENT_TYPES, PING, encode, envelope
from services.webhooks.keys import SENDER
from services.webhooks.sender import check_target
from services.webhooks.signing import new_secret
from shared.appkeys import PG_POOL, SETTINGS
from shared.dates import format_datetime, utcnow
from shared.envelope import BadRequest, Forbidden, NotFound, ok
from shared.identity import Principal
from shared.pagination import Page
from shared.request_body import Body, path_id, read_body
from shared.safe_fetch import FetchError
from shared.service import principal

MAX_URL_LENGTH: Final = 2048
MIN_SECRET: Final = 16
MAX_SECRET: Final = 128
MAX_BATCH_SECONDS: Final = 3600
FEATURE: Final = "webhooks"
OWNER_DISABLED: Final = "Disabled by its owner."
NOT_FOUND: Final = "Webhook not found."


def caller(request: web.Request) -> Principal:
    """A signed-in user whose plan has webhooks."""
    found = principal(request)
    if found.role not in ("user", "admin") or found.user_id <= 0:
        raise Forbidden("This endpoint needs a signed-in user.")
    if not found.has_feature(FEATURE):
        raise Forbidden(f"Your plan does not include webhooks (the '{FEATURE}' feature).")
    return found


def webhook_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "events": list(row["events"]),
        "batch": row["batch_seconds"],
        "enabled": row["enabled"],
        "disabledreason": row["disabled_reason"],
        "disableddate": format_datetime(row["disabled_at"]),
        "failingsince": format_datetime(row["failing_since"]),
        "date": format_datetime(row["created_at"]),
        "updated": format_datetime(row["updated_at"]),
    }


@dataclass(slots=True)
class Fields:
    url: str | None = None
    events: list[str] | None = None
    secret: str | None = None
    batch: int | None = None
    enabled: bool | None = None


async def parse_fields(request: web.Request, body: Body, *, creating: bool) -> Fields:
    fields = Fields(
        url=body.text("url", required=creating, max_length=MAX_URL_LENGTH, allow_empty=False),
        secret=body.text("secret", min_length=MIN_SECRET, max_length=MAX_SECRET) or None,
        batch=body.integer("batch", min_value=0, max_value=MAX_BATCH_SECONDS),
        enabled=None if creating else body.boolean("enabled"),
    )
    if fields.secret is not None and not fields.secret.isprintable():
        raise BadRequest("The field 'secret' must be printable text.")
    raw_events = body.array("events", required=creating, max_items=len(EVENT_TYPES))
    if raw_events is not None:
        if not raw_events or not all(isinstance(e, str) for e in raw_events):
            raise BadRequest(
                f"The field 'events' must list one or more of: {', '.join(EVENT_TYPES)}."
            )
        unknown = [e for e in raw_events if e not in EVENT_TYPES]
        if unknown:
            raise BadRequest(f"Unknown event '{unknown[0][:64]}': use {', '.join(EVENT_TYPES)}.")
        fields.events = [e for e in EVENT_TYPES if e in raw_events]
    if fields.url is not None:
        try:
            await check_target(fields.url, request.app[SENDER].policy)
        except FetchError as exc:
            raise BadRequest(f"The webhook URL cannot be used: {exc}") from exc
    return fields


async def add_webhook(request: web.Request) -> web.Response:
    who = caller(request)
    fields = await parse_fields(request, await read_body(request), creating=True)
    secret = fields.secret or new_secret()
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        limit = who.quota(FEATURE)
        if limit > 0:
            await conn.execute(queries.LOCK_OWNER, who.user_id)
            if await conn.fetchval(queries.COUNT_OWNER_ENDPOINTS, who.user_id) >= limit:
                raise Forbidden(
                    f"You have reached your plan's limit of {limit} webhooks "
                    f"(the '{FEATURE}' limit)."
                )
        row = await conn.fetchrow(
            queries.INSERT_ENDPOINT,
            who.user_id,
            fields.url,
            fields.events,
            secret,
            fields.batch or 0,
        )
    assert row is not None
    return ok(
        message="Webhook has been added. Keep its secret: it is not shown again.",
        id=row["id"],
        secret=secret,
        data=webhook_json(row),
    )


async def list_webhooks(request: web.Request) -> web.Response:
    who = caller(request)
    page = Page.from_query(request.query)
    async with request.app[PG_POOL].acquire() as conn:
        total = await conn.fetchval(queries.COUNT_OWNER_ENDPOINTS, who.user_id)
        rows = await conn.fetch(queries.LIST_ENDPOINTS, who.user_id, page.limit, page.offset)
    return ok(data=page.body("webhooks", [webhook_json(r) for r in rows], total))


async def get_webhook(request: web.Request) -> web.Response:
    who = caller(request)
    row = await request.app[PG_POOL].fetchrow(queries.GET_ENDPOINT, path_id(request), who.user_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    return ok(data=webhook_json(row))


async def update_webhook(request: web.Request) -> web.Response:
    who = caller(request)
    webhook_id = path_id(request)
    fields = await parse_fields(request, await read_body(request), creating=False)
    async with request.app[PG_POOL].acquire() as conn, conn.transaction():
        current = await conn.fetchrow(queries.LOCK_ENDPOINT, webhook_id, who.user_id)
        if current is None:
            raise NotFound(NOT_FOUND)
        row = await conn.fetchrow(
            queries.UPDATE_ENDPOINT,
            webhook_id,
            who.user_id,
            fields.url if fields.url is not None else current["url"],
            fields.events if fields.events is not None else current["events"],
            fields.secret or current["secret"],
            fields.batch if fields.batch is not None else current["batch_seconds"],
            fields.enabled is True,
            OWNER_DISABLED if fields.enabled is False and current["enabled"] else None,
        )
    assert row is not None
    return ok(message="Webhook has been updated successfully.", data=webhook_json(row))


async def delete_webhook(request: web.Request) -> web.Response:
    who = caller(request)
    deleted = await request.app[PG_POOL].fetchval(
        queries.DELETE_ENDPOINT, path_id(request), who.user_id
    )
    if deleted is None:
        raise NotFound(NOT_FOUND)
    return ok(message="Webhook has been deleted successfully.")


async def test_webhook(request: web.Request) -> web.Response:
    """Send a ``ping`` now and answer how it went (also logged with the deliveries)."""
    who = caller(request)
    webhook_id = path_id(request)
    pool = request.app[PG_POOL]
    row = await pool.fetchrow(queries.GET_ENDPOINT_SECRET, webhook_id, who.user_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    event_id = uuid.uuid4().hex
    body = encode(envelope(event_id, PING, utcnow(), {"webhook": webhook_id}))
    # Answered before the gateway gives up on this request.
    deadline = request.app[SETTINGS].upstream_timeout / 2
    outcome = await request.app[SENDER].send(
        row["url"], row["secret"], event_id, PING, body, deadline=deadline
    )
    await pool.execute(
        queries.INSERT_ATTEMPT,
        webhook_id,
        event_id,
        PING,
        1,
        outcome.status,
        outcome.latency_ms,
        outcome.error,
    )
    return ok(
        message="The ping was delivered." if outcome.ok else f"The ping failed: {outcome.error}",
        data={"status": outcome.status, "latency": outcome.latency_ms, "error": outcome.error},
    )


async def list_deliveries(request: web.Request) -> web.Response:
    """The latest attempts, newest first."""
    who = caller(request)
    webhook_id = path_id(request)
    page = Page.from_query(request.query)
    async with request.app[PG_POOL].acquire() as conn:
        if await conn.fetchval(queries.GET_ENDPOINT, webhook_id, who.user_id) is None:
            raise NotFound(NOT_FOUND)
        total = await conn.fetchval(queries.COUNT_ATTEMPTS, webhook_id)
        rows = await conn.fetch(queries.LIST_ATTEMPTS, webhook_id, page.limit, page.offset)
    items = [
        {
            "id": r["id"],
            "date": format_datetime(r["attempted_at"]),
            "event": r["event_type"],
            "eventid": r["event_id"],
            "attempt": r["attempt"],
            "status": r["status_code"],
            "latency": r["latency_ms"],
            "error": r["error"],
        }
        for r in rows
    ]
    return ok(data=page.body("deliveries", items, total))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/webhooks", list_webhooks),
        web.post("/api/webhook/add", add_webhook),
        web.get(r"/api/webhook/{id:\d+}", get_webhook),
        web.put(r"/api/webhook/{id:\d+}/update", update_webhook),
        web.delete(r"/api/webhook/{id:\d+}/delete", delete_webhook),
        web.post(r"/api/webhook/{id:\d+}/test", test_webhook),
        web.get(r"/api/webhook/{id:\d+}/deliveries", list_deliveries),
    ]
