"""Who may call what: signed-in users, admins, and the other processes."""

from __future__ import annotations

from aiohttp import web

from shared.envelope import Forbidden
from shared.identity import Principal
from shared.service import principal


def caller(request: web.Request) -> Principal:
    """The signed-in user a request acts for (the gateway sends users and admins)."""
    found = principal(request)
    if found.role not in ("user", "admin") or found.user_id <= 0:
        raise Forbidden("This endpoint needs a signed-in user.")
    return found


def admin(request: web.Request) -> Principal:
    found = caller(request)
    if not found.is_admin:
        raise Forbidden("Only administrators may use this endpoint.")
    return found


def service(request: web.Request) -> Principal:
    """Internal endpoints answer only the other processes, never a user's request."""
    found = principal(request)
    if found.role != "service":
        raise Forbidden("This endpoint is internal.")
    return found
