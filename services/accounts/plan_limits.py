"""A plan's ``limits`` in the published shape of ``GET /api/plans``.

Three numbers (``links``, ``clicks``, ``retention``; 0 = unlimited) and feature
entries whose values are strings, as published: ``{"enabled": "1"}``, plus
``"count": "5"`` for the features that are counted. Input may use numbers and
booleans; what is stored and served is always the published form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from shared.envelope import BadRequest

NUMBERS: Final = ("links", "clicks", "retention")
# Feature → whether it has a "count", in the published order.
FEATURES: Final[dict[str, bool]] = {
    "custom": False,
    "team": True,
    "splash": True,
    "overlay": True,
    "pixels": True,
    "domain": True,
    "multiple": False,
    "alias": False,
    "device": False,
    "geo": False,
    "bundle": False,
    "parameters": False,
    "export": False,
    "api": False,
    "webhooks": True,
}
MAX_NUMBER: Final = 2_000_000_000


def _flag(enabled: bool, count: int | None = None) -> dict[str, str]:
    entry = {"enabled": "1" if enabled else "0"}
    if count is not None:
        entry["count"] = str(count)
    return entry


# The most restrictive published plan (Starter): what a new plan starts from.
DEFAULT_LIMITS: Final[dict[str, Any]] = {
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
}


def canonical(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The limits in the published key order, with any missing entry at its default."""
    out: dict[str, Any] = {}
    for name in NUMBERS:
        out[name] = int(stored.get(name, DEFAULT_LIMITS[name]))
    for name, counted in FEATURES.items():
        entry = stored.get(name)
        default = DEFAULT_LIMITS[name]
        if not isinstance(entry, Mapping):
            entry = default
        flag = {"enabled": str(entry.get("enabled", default["enabled"]))}
        if counted:
            flag["count"] = str(entry.get("count", default["count"]))
        out[name] = flag
    return out


def _number(value: Any, where: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"\d{1,10}", value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"The limit '{where}' must be a whole number (0 = unlimited).")
    if not 0 <= value <= MAX_NUMBER:
        raise BadRequest(f"The limit '{where}' must be between 0 and {MAX_NUMBER}.")
    return value


def _enabled(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value in (0, 1) or (isinstance(value, str) and value.strip() in ("0", "1")):
        return str(value).strip()
    raise BadRequest(f'The limit \'{where}\' must be "1" or "0".')


def parse_limits(raw: Any, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the entries of ``raw`` applied; 400 on anything unknown or ill-typed."""
    if not isinstance(raw, Mapping):
        raise BadRequest("The field 'limits' must be an object.")
    limits = canonical(base)
    for name, value in raw.items():
        if name in NUMBERS:
            limits[name] = _number(value, name)
            continue
        counted = FEATURES.get(name)
        if counted is None:
            raise BadRequest(f"Unknown plan limit '{name}'.")
        if not isinstance(value, Mapping):
            raise BadRequest(f'The limit \'{name}\' must be an object like {{"enabled": "1"}}.')
        entry = dict(limits[name])
        for key, item in value.items():
            if key == "enabled":
                entry["enabled"] = _enabled(item, f"{name}.enabled")
            elif key == "count" and counted:
                entry["count"] = str(_number(item, f"{name}.count"))
            else:
                raise BadRequest(f"Unknown plan limit '{name}.{key}'.")
        limits[name] = entry
    return limits
