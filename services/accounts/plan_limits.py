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
    "bio": True,
}
MAX_NUMBER: Final = 2_000_000_000
# The seed's Starter counts for these even where the feature is off; every other count is 0.
_NEW_PLAN_COUNTS: Final = {"overlay": 10, "pixels": 10}


def _flag(enabled: bool, count: int | None = None) -> dict[str, str]:
    entry = {"enabled": "1" if enabled else "0"}
    if count is not None:
        entry["count"] = str(count)
    return entry


# What a limited plan's missing entries are filled with: the most restrictive
# published plan (Starter), every feature off.
RESTRICTED_LIMITS: Final[dict[str, Any]] = {
    "links": 10,
    "clicks": 1000,
    "retention": 7,
    **{
        name: _flag(False, _NEW_PLAN_COUNTS.get(name, 0) if counted else None)
        for name, counted in FEATURES.items()
    },
}

# What ``POST /api/plan/add`` starts from: the restricted limits with API access
# on. ``api`` gates every API key at the gateway and the API is the only way in
# (there is no dashboard), so a plan made without it would lock its users out;
# an admin turns it off deliberately.
NEW_PLAN_LIMITS: Final[dict[str, Any]] = {**RESTRICTED_LIMITS, "api": _flag(True)}

# The default plan of a self-hosted install (migration 0004): every feature on,
# no quota anywhere (0 = unlimited). Built from FEATURES, so a feature added
# there is on in it too.
ALL_FEATURES_LIMITS: Final[dict[str, Any]] = {
    **dict.fromkeys(NUMBERS, 0),
    **{name: _flag(True, 0 if counted else None) for name, counted in FEATURES.items()},
}


def unrestricted(stored: Mapping[str, Any]) -> bool:
    """Whether a plan limits nothing: every number 0 (unlimited), every feature it
    names on with no count. Such a plan gets features added since it was stored
    switched on as well; any other plan gets them off."""
    if any(str(stored.get(name)) != "0" for name in NUMBERS):
        return False
    for name in FEATURES:
        entry = stored.get(name)
        if entry is None:
            continue
        if not isinstance(entry, Mapping) or str(entry.get("enabled")) != "1":
            return False
        if str(entry.get("count", "0")) != "0":
            return False
    return True


def canonical(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The limits in the published key order, with any missing entry filled in:
    on for an :func:`unrestricted` plan, else off (RESTRICTED_LIMITS)."""
    defaults = ALL_FEATURES_LIMITS if unrestricted(stored) else RESTRICTED_LIMITS
    out: dict[str, Any] = {}
    for name in NUMBERS:
        out[name] = int(stored.get(name, defaults[name]))
    for name, counted in FEATURES.items():
        entry = stored.get(name)
        default = defaults[name]
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
