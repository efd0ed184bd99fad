"""The signed internal-identity header.

The gateway resolves a bearer key to a :class:`Principal` and forwards it to
the owning service as ``X-Internal-Identity: <payload>.<signature>``, where
payload is base64url(JSON: the principal, ``ts`` the signing time and ``n`` a
random nonce) and signature is the hex HMAC-SHA256, under the shared
``INTERNAL_SECRET``, of ``payload \\n METHOD \\n TARGET \\n sha256(body)``
(TARGET: the raw path with its query string, as sent). Services refuse any
request without a valid signature younger than ``MAX_AGE_SECONDS``, and any
nonce they have already seen (``shared.nonces``), so a header vouches for one
request, once: a captured one cannot be replayed, nor moved to another query
or body. Services calling each other sign the same way with a ``service``
principal (or the user's, when acting for them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

HEADER = "X-Internal-Identity"
# A header is good this long either side of its signing time; its nonce is
# remembered until then, so a short window keeps that memory small.
MAX_AGE_SECONDS: Final = 30
NONCE_BYTES: Final = 12

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
    # A team member working in this user's workspace (services/accounts/team.py):
    # the member's id and what they may do there. None: the user acts themselves.
    actor_id: int | None = None
    permissions: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def acting_user_id(self) -> int:
        """Who is actually calling: the team member, or the user themselves.
        Objects are owned by ``user_id`` and record this as their creator."""
        return self.actor_id if self.actor_id is not None else self.user_id

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
        data: dict[str, Any] = {
            "uid": self.user_id,
            "role": self.role,
            "username": self.username,
            "plan": self.plan_id,
            "limits": dict(self.limits),
            "rid": self.request_id,
        }
        if self.actor_id is not None:
            data["actor"] = self.actor_id
            data["perms"] = list(self.permissions)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Principal:
        return cls(
            user_id=int(data["uid"]),
            role=data["role"],
            username=str(data.get("username", "")),
            plan_id=data.get("plan"),
            limits=data.get("limits") or {},
            request_id=str(data.get("rid", "")),
            actor_id=int(data["actor"]) if data.get("actor") is not None else None,
            permissions=tuple(str(p) for p in data.get("perms") or ()),
        )


SERVICE = Principal(user_id=0, role="service", username="service")
ANONYMOUS = Principal(user_id=0, role="anonymous")

_EMPTY_BODY_DIGEST: Final = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True, slots=True)
class Signed:
    """A header whose signature holds: who it vouches for, and its nonce, which
    the receiver must see only once before ``valid_until`` (unix seconds)."""

    principal: Principal
    nonce: str
    valid_until: float


def _signature(secret: str, payload: str, method: str, target: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest() if body else _EMPTY_BODY_DIGEST
    message = f"{payload}\n{method.upper()}\n{target}\n{digest}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(
    principal: Principal,
    secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    now: float | None = None,
) -> str:
    """The header value that vouches for ``principal`` on this one request:
    ``METHOD target`` (the raw path *with* its query string, exactly as sent)
    and ``body`` (the exact bytes sent). Each call carries a new nonce."""
    data = principal.to_json()
    data["ts"] = int(now if now is not None else time.time())
    data["n"] = secrets.token_urlsafe(NONCE_BYTES)
    payload = base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")
    return f"{payload}.{_signature(secret, payload, method, target, body)}"


def verify_signed(
    header: str | None,
    secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    now: float | None = None,
) -> Signed | None:
    """What a header vouches for, or ``None`` if it is missing, forged, stale, or
    signed for another method, path, query or body. Replays are the caller's to
    refuse (:mod:`shared.nonces`): the signature alone cannot tell."""
    if not header or "." not in header:
        return None
    payload, _, signature = header.rpartition(".")
    expected = _signature(secret, payload, method, target, body)
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        signed_at = int(data["ts"])
        nonce = data["n"]
        if not isinstance(nonce, str) or not nonce:
            return None
        if abs((now if now is not None else time.time()) - signed_at) > MAX_AGE_SECONDS:
            return None
        return Signed(Principal.from_json(data), nonce, signed_at + MAX_AGE_SECONDS)
    except (ValueError, KeyError, TypeError):
        return None


def verify(
    header: str | None,
    secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    now: float | None = None,
) -> Principal | None:
    """The principal of :func:`verify_signed` (signature and age only, no replay check)."""
    found = verify_signed(header, secret, method, target, body, now=now)
    return None if found is None else found.principal


def signed_headers(
    principal: Principal, secret: str, method: str, target: str, body: bytes = b""
) -> dict[str, str]:
    """``{HEADER: sign(...)}`` for a request to ``target`` (path and query, as sent)."""
    return {HEADER: sign(principal, secret, method, target, body)}
