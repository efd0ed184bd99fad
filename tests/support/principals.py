"""Principals for testing services directly (the gateway would normally build them).

The limits are the published seed plans (Starter, free; Business)."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from shared.identity import Principal


def _flag(enabled: bool, count: int | None = None) -> dict[str, str]:
    entry = {"enabled": "1" if enabled else "0"}
    if count is not None:
        entry["count"] = str(count)
    return entry


STARTER_LIMITS: dict[str, Any] = {
    "links": 10,
    "clicks": 1000,
    "retention": 7,
    "custom": _flag(False),
    "team": _flag(False, 0),
    "splash": _flag(False, 0),
    "overlay": _flag(False, 10),
    "pixels": _flag(False, 10),
    "domain": _flag(False, 0),
    "multiple": _flag(False),
    "alias": _flag(False),
    "device": _flag(False),
    "geo": _flag(False),
    "bundle": _flag(False),
    "parameters": _flag(False),
    "export": _flag(False),
    "api": _flag(False),
    "webhooks": _flag(False, 0),
    "bio": _flag(False, 0),
}
BUSINESS_LIMITS: dict[str, Any] = {
    "links": 100,
    "clicks": 100000,
    "retention": 60,
    "custom": _flag(False),
    "team": _flag(False, 0),
    "splash": _flag(True, 5),
    "overlay": _flag(True, 10),
    "pixels": _flag(True, 10),
    "domain": _flag(True, 1),
    "multiple": _flag(False),
    "alias": _flag(True),
    "device": _flag(False),
    "geo": _flag(False),
    "bundle": _flag(False),
    "parameters": _flag(False),
    "export": _flag(False),
    "api": _flag(False),
    "webhooks": _flag(False, 0),
    "bio": _flag(False, 0),
}
# Every feature on, no quotas: for tests of behaviour rather than of plan gates.
UNLIMITED_LIMITS: dict[str, Any] = {
    key: (
        {**value, "enabled": "1", **({"count": "0"} if "count" in value else {})}
        if isinstance(value, dict)
        else 0
    )
    for key, value in STARTER_LIMITS.items()
}

_ids = itertools.count(secrets.randbelow(10**9) + 10**9)


def user(
    limits: dict[str, Any] | None = None, *, role: str = "user", plan_id: int | None = 2
) -> Principal:
    """A fresh user id each call, so tests never see each other's objects."""
    uid = next(_ids)
    return Principal(
        user_id=uid,
        role=role,  # type: ignore[arg-type]
        username=f"user{uid}",
        plan_id=plan_id,
        limits=UNLIMITED_LIMITS if limits is None else limits,
    )


def admin() -> Principal:
    return user(UNLIMITED_LIMITS, role="admin", plan_id=None)
