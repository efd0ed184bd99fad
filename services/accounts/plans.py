"""Plans (API.md §11, admin only): the published list, admins' own plans
(extension: get one, add, update) and subscribing a user to a plan."""

from __future__ import annotations

import calendar
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import asyncpg
from aiohttp import web

from services.accounts import queries
from services.accounts.access import admin
from services.accounts.notices import announce, invalidate, plan_changed
from services.accounts.plan_limits import NEW_PLAN_LIMITS, canonical, parse_limits
from services.accounts.rows import Row
from shared import outbox
from shared.appkeys import PG_POOL, SETTINGS
from shared.dates import utcnow
from shared.envelope import BadRequest, Conflict, NotFound, json_response, ok
from shared.request_body import INT_MAX, Body, path_id, read_body
from shared.settings import Settings

PRICE_KEYS: Final = ("monthly", "yearly", "lifetime")
MAX_PRICE: Final = Decimal("1000000000")
MAX_RATE_CAPACITY: Final = 1_000_000
MAX_RATE_WINDOW: Final = 86_400
NAME_TAKEN: Final = "A plan with this name already exists."


def _price(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def plan_json(row: Row) -> dict[str, Any]:
    """A plan in the published shape of ``GET /api/plans``."""
    prices = None
    if not row["free"]:
        prices = {key: _price(row[f"price_{key}"]) for key in PRICE_KEYS}
    return {
        "id": row["id"],
        "name": row["name"],
        "free": row["free"],
        "prices": prices,
        "limits": canonical(row["limits"]),
    }


def plan_detail_json(row: Row, settings: Settings) -> dict[str, Any]:
    """The published shape plus the plan's API rate (``null`` fields: the default)."""
    return {
        **plan_json(row),
        "rate": {
            "capacity": row["rate_capacity"] or settings.rate_limit_capacity,
            "window": row["rate_window"] or settings.rate_limit_window,
            "default": row["rate_capacity"] is None and row["rate_window"] is None,
        },
    }


def _parse_price(value: Any, key: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest(f"The price '{key}' must be a number.")
    try:
        price = Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise BadRequest(f"The price '{key}' must be a number.") from exc
    if not price.is_finite() or not Decimal(0) <= price < MAX_PRICE:
        raise BadRequest(f"The price '{key}' must be a number from 0 to {MAX_PRICE}.")
    return price.quantize(Decimal("0.01"))


def _parse_prices(body: Body, current: Row | None) -> dict[str, Decimal | None]:
    prices = {key: (current[f"price_{key}"] if current else None) for key in PRICE_KEYS}
    if body.is_null("prices"):
        return dict.fromkeys(PRICE_KEYS)
    raw = body.mapping("prices")
    if raw is None:
        return prices
    unknown = set(raw) - set(PRICE_KEYS)
    if unknown:
        raise BadRequest(f"Unknown price '{sorted(unknown)[0]}': use monthly, yearly, lifetime.")
    for key, value in raw.items():
        prices[key] = _parse_price(value, key)
    return prices


def _parse_rate(body: Body, current: Row | None) -> tuple[int | None, int | None]:
    if body.is_null("rate"):
        return None, None
    rate = (
        current["rate_capacity"] if current else None,
        current["rate_window"] if current else None,
    )
    raw = body.mapping("rate")
    if raw is None:
        return rate
    unknown = set(raw) - {"capacity", "window"}
    if unknown:
        raise BadRequest(f"Unknown rate setting '{sorted(unknown)[0]}': use capacity, window.")
    sub = Body(raw)
    capacity = sub.integer("capacity", min_value=1, max_value=MAX_RATE_CAPACITY)
    window = sub.integer("window", min_value=1, max_value=MAX_RATE_WINDOW)
    return (
        capacity if capacity is not None else rate[0],
        window if window is not None else rate[1],
    )


def _plan_values(body: Body, current: Row | None) -> list[Any]:
    """Column values in the order of INSERT_PLAN (UPDATE_PLAN after its id)."""
    name = body.text("name", required=current is None, max_length=64, allow_empty=False)
    free = body.boolean("free")
    limits = NEW_PLAN_LIMITS if current is None else current["limits"]
    if body.has("limits"):
        limits = parse_limits(body.raw("limits"), limits)
    prices = _parse_prices(body, current)
    capacity, window = _parse_rate(body, current)
    return [
        name if name is not None else current["name"] if current else None,
        free if free is not None else (current["free"] if current else False),
        prices["monthly"],
        prices["yearly"],
        prices["lifetime"],
        canonical(limits),
        capacity,
        window,
    ]


async def list_plans(request: web.Request) -> web.Response:
    admin(request)
    async with request.app[PG_POOL].acquire() as conn:
        rows = await conn.fetch(queries.LIST_PLANS)
    return ok(data=[plan_json(r) for r in rows])


async def get_plan(request: web.Request) -> web.Response:
    admin(request)
    plan_id = path_id(request, maximum=INT_MAX)
    async with request.app[PG_POOL].acquire() as conn:
        row = await conn.fetchrow(queries.GET_PLAN, plan_id)
    if row is None:
        raise NotFound("Plan not found.")
    return ok(data=plan_detail_json(row, request.app[SETTINGS]))


async def add_plan(request: web.Request) -> web.Response:
    admin(request)
    values = _plan_values(await read_body(request), None)
    async with request.app[PG_POOL].acquire() as conn:
        try:
            row = await conn.fetchrow(queries.INSERT_PLAN, *values)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(NAME_TAKEN) from exc
    assert row is not None
    return ok(
        message="Plan has been created.",
        id=row["id"],
        data=plan_detail_json(row, request.app[SETTINGS]),
    )


async def update_plan(request: web.Request) -> web.Response:
    admin(request)
    plan_id = path_id(request, maximum=INT_MAX)
    body = await read_body(request)
    async with outbox.transaction(request.app) as conn:
        current = await conn.fetchrow(queries.LOCK_PLAN, plan_id)
        if current is None:
            raise NotFound("Plan not found.")
        values = _plan_values(body, current)
        try:
            row = await conn.fetchrow(queries.UPDATE_PLAN, plan_id, *values)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(NAME_TAKEN) from exc
        assert row is not None
        await announce(conn, plan_changed(plan_id, None, canonical(row["limits"])))
    return json_response(
        {
            "error": 0,
            "message": "Plan has been updated.",
            "data": plan_detail_json(row, request.app[SETTINGS]),
        },
        headers=invalidate(f"plan:{plan_id}"),
    )


def add_months(when: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the month's last day if it is shorter)."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def subscription_end(kind: str, expiration: datetime | None) -> datetime | None:
    if expiration is not None:
        return expiration
    now = utcnow()
    if kind == "monthly":
        return add_months(now, 1)
    if kind == "yearly":
        return add_months(now, 12)
    return None  # lifetime


async def subscribe(request: web.Request) -> web.Response:
    admin(request)
    plan_id = path_id(request, "planid", maximum=INT_MAX)
    user_id = path_id(request, "userid")
    body = await read_body(request)
    kind = body.choice("type", ("monthly", "yearly", "lifetime"), required=True)
    assert kind is not None
    expiration = body.when("expiration")
    async with outbox.transaction(request.app) as conn:
        plan = await conn.fetchrow(queries.GET_PLAN, plan_id)
        if plan is None:
            raise NotFound("Plan not found.")
        if plan["free"]:
            stored_kind, expires_at = None, None
        else:
            stored_kind, expires_at = kind, subscription_end(kind, expiration)
        if (
            await conn.fetchval(queries.SUBSCRIBE_USER, user_id, plan_id, stored_kind, expires_at)
            is None
        ):
            raise NotFound("User not found.")
        row = await conn.fetchrow(queries.GET_USER, user_id)
        assert row is not None
        await announce(
            conn,
            plan_changed(
                row["effective_plan_id"], user_id, canonical(row["limits"]), role=row["role"]
            ),
        )
    return json_response(
        {"error": 0, "message": "User has been subscribed to this plan."},
        headers=invalidate(f"user:{user_id}"),
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/plans", list_plans),
        web.post("/api/plan/add", add_plan),
        web.get(r"/api/plan/{id:\d+}", get_plan),
        web.put(r"/api/plan/{id:\d+}/update", update_plan),
        web.put(r"/api/plan/{planid:\d+}/user/{userid:\d+}", subscribe),
    ]
