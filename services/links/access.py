"""Who may use the links API, and the plan checks every resource shares."""

from __future__ import annotations

from aiohttp import web

from services.links import queries
from services.links.rows import Conn
from shared.envelope import Forbidden
from shared.identity import Principal
from shared.service import principal


def caller(request: web.Request) -> Principal:
    """The signed-in user a request acts for (the gateway only sends users and admins)."""
    found = principal(request)
    if found.role not in ("user", "admin") or found.user_id <= 0:
        raise Forbidden("This endpoint needs a signed-in user.")
    return found


def require_feature(who: Principal, flag: str, label: str) -> None:
    if not who.has_feature(flag):
        raise Forbidden(f"Your plan does not include {label} (the '{flag}' feature).")


def quota_refusal(who: Principal, quota: str, label: str) -> Forbidden:
    return Forbidden(
        f"You have reached your plan's limit of {who.quota(quota)} {label} (the '{quota}' limit)."
    )


async def quota_room(conn: Conn, who: Principal, quota: str, count_sql: str) -> int | None:
    """How many more objects the owner may add (None: unlimited).

    Takes a transaction-scoped lock per owner and kind first, so concurrent
    adds cannot all pass the check: call it inside the inserting transaction."""
    limit = who.quota(quota)
    if limit <= 0:
        return None
    await conn.execute(queries.LOCK_OWNER, quota, str(who.user_id))
    count: int = await conn.fetchval(count_sql, who.user_id)
    return max(0, limit - count)


async def check_quota(conn: Conn, who: Principal, quota: str, count_sql: str, label: str) -> None:
    """403 when the owner already has as many objects as the plan allows (see quota_room)."""
    if await quota_room(conn, who, quota, count_sql) == 0:
        raise quota_refusal(who, quota, label)
