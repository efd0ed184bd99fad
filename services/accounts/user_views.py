"""How a user is shown: the account of ``GET /api/account``, the admin's view of
``/api/users``, and the principal the gateway caches."""

from __future__ import annotations

import hashlib
from typing import Any

from services.accounts.plan_limits import canonical
from services.accounts.rows import Row
from services.accounts.usage import Usage, usage_json
from shared.dates import format_datetime
from shared.settings import Settings


def avatar(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=identicon"


def status(row: Row) -> str:
    """``free`` when the effective plan (an expired paid plan counts as free) is free."""
    return "free" if row["plan_free"] else "pro"


def account_json(row: Row, usage: Usage) -> dict[str, Any]:
    """The published account, and (extension) its ``usage`` against the plan's limits."""
    return {
        "id": row["id"],
        "email": row["email"],
        "username": row["username"],
        "avatar": avatar(row["email"]),
        "status": status(row),
        "expires": format_datetime(row["expires_at"]),
        "registered": format_datetime(row["created_at"]),
        "usage": usage_json(row, usage),
    }


def user_json(row: Row, usage: Usage) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "username": row["username"],
        "avatar": avatar(row["email"]),
        "status": status(row),
        "planid": row["effective_plan_id"],
        "expires": format_datetime(row["expires_at"]),
        "registered": format_datetime(row["created_at"]),
        # keys are stored hashed: only the display prefix is known
        "apikey": row["key_prefix"],
        "usage": usage_json(row, usage),
    }


def rate_json(row: Row, settings: Settings) -> dict[str, int]:
    capacity = row["rate_capacity"] or settings.rate_limit_capacity
    if row["role"] == "admin":  # admins are never limited by a plan, this one included
        capacity = max(capacity, settings.admin_rate_limit_capacity)
    return {"capacity": capacity, "window": row["rate_window"] or settings.rate_limit_window}


def principal_json(row: Row, settings: Settings) -> dict[str, Any]:
    """The body of ``POST /internal/principal`` (shared/CONTRACTS.md)."""
    expires = row["key_expires_at"]
    return {
        "user_id": row["id"],
        "username": row["username"],
        "role": row["role"],
        "plan_id": row["effective_plan_id"],
        "limits": canonical(row["limits"]),
        "expires_at": int(expires.timestamp()) if expires is not None else None,
        "rate": rate_json(row, settings),
    }
