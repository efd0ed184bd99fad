"""The signed internal-identity header.

The gateway resolves a bearer key to a :class:`Principal` and forwards it to
the owning service as ``X-Internal-Identity: <payload>.<signature>``, where
payload is base64url(JSON) and signature is the hex HMAC-SHA256, under the
shared ``INTERNAL_SECRET``, of ``payload \\n METHOD \\n PATH``. Services refuse
any request without a valid, fresh signature, so nothing reaches them around
the gateway. Services calling each other sign the same way with a
``service`` principal (or the user's, when acting for them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

HEADER = "X-Internal-Identity"
MAX_AGE_SECONDS = 60

Role = Literal["admin", "user", "service", "anonymous"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user (with their plan's limits), a service, or nobody."""

    user_id: int
    role: Role
    username: str = ""
    plan_id: int | None = None
    # The plan's limits in the published shape: {"links": 10, "clicks": 1000,
    # "retention": 7, "custom": {"enabled": "0"}, "splash": {"enabled": "1", "count": "5"}, ...}
    limits: Mapping[str, Any] = field(default_factory=dict)
    request_id: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def has_feature(self, name: str) -> bool:
        """Plan feature flag (``"enabled": "1"``); admins bypass plan limits."""
        if self.is_admin:
            return True
        entry = self.limits.get(name)
        return isinstance(entry, Mapping) and str(entry.get("enabled", "0")) == "1"

    def quota(self, name: str) -> int:
        """A numeric limit (top-level like ``links`` or ``count`` of a feature); 0 = unlimited."""
        if self.is_admin:
            return 0
        entry = self.limits.get(name)
        if isinstance(entry, Mapping):
            entry = entry.get("count", 0)
        try:
            return max(0, int(entry or 0))
        except (TypeError, ValueError):
            return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.user_id,
            "role": self.role,
            "username": self.username,
            "plan": self.plan_id,
            "limits": dict(self.limits),
            "rid": self.request_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Principal:
        return cls(
            user_id=int(data["uid"]),
            role=data["role"],
            username=str(data.get("username", "")),
            plan_id=data.get("plan"),
            limits=data.get("limits") or {},
            request_id=str(data.get("rid", "")),
        )


SERVICE = Principal(user_id=0, role="service", username="service")
ANONYMOUS = Principal(user_id=0, role="anonymous")


def _signature(secret: str, payload: str, method: str, path: str) -> str:
    message = f"{payload}\n{method.upper()}\n{path}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(
    principal: Principal, secret: str, method: str, path: str, *, now: float | None = None
) -> str:
    """The header value that vouches for ``principal`` on ``METHOD path`` (path without query)."""
    body = principal.to_json()
    body["ts"] = int(now if now is not None else time.time())
    payload = base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")
    return f"{payload}.{_signature(secret, payload, method, path)}"


def verify(
    header: str | None, secret: str, method: str, path: str, *, now: float | None = None
) -> Principal | None:
    """The principal a header vouches for, or ``None`` if it is missing, forged or stale."""
    if not header or "." not in header:
        return None
    payload, _, signature = header.rpartition(".")
    expected = _signature(secret, payload, method, path)
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        body = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        age = (now if now is not None else time.time()) - int(body["ts"])
        if abs(age) > MAX_AGE_SECONDS:
            return None
        return Principal.from_json(body)
    except (ValueError, KeyError, TypeError):
        return None


def signed_headers(principal: Principal, secret: str, method: str, path: str) -> dict[str, str]:
    return {HEADER: sign(principal, secret, method, path)}
