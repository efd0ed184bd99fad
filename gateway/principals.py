"""Bearer key → principal, with the rate limit applied in the same Redis round trip.

The token bucket is the user's (``bucket:user:<id>``), shared by all their keys:
a regenerated key does not start with a full bucket.

The principal of a key is cached in Redis (``principal:<sha256 of the key>``, a
hash holding the principal's JSON and its bucket's capacity and window) for
``PRINCIPAL_CACHE_TTL`` seconds; on a miss the accounts service answers
``POST /internal/principal`` and the answer is stored by the same script that
takes the token. Unknown keys are cached as negative for a few seconds. Each
cached key is indexed under its user (``principal:user:<id>``) and plan
(``principal:plan:<id>``) so that an invalidation evicts exactly those entries.

A team member's key used in an owner's workspace (``X-Workspace``) is a
principal of its own, cached as ``principal:<key hash>:w<owner id>`` and indexed
under the member, the owner and the owner's plan: removing the member, changing
their permissions, or any change of the owner evicts it.

Evictions bump ``principal:epoch`` first: a lookup that started before an
eviction carries the old epoch and the script refuses to cache its (possibly
stale) answer."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import aiohttp
import orjson
import redis.asyncio as aioredis

from shared import identity
from shared.identity import Principal
from shared.script_batch import BatchedScript
from shared.settings import Settings

SCRIPT_SOURCE: Final = (Path(__file__).parent / "token_bucket.lua").read_text()
NEGATIVE_TTL: Final = 5  # seconds an unknown key stays known-unknown
FAILURE_WINDOW: Final = 60  # auth failures are counted per client address per minute
MAX_KEY_LENGTH: Final = 512
_ROLES: Final = frozenset({"admin", "user", "service", "anonymous"})


class AccountsUnavailable(Exception):
    """The accounts service could not say whether a key is valid."""


@dataclass(frozen=True, slots=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # unix seconds when the bucket is full again
    retry_after: int  # seconds until one token is available (0: allowed now)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }

    @classmethod
    def from_script(
        cls, allowed: Any, limit: Any, remaining: Any, reset: Any, retry: Any
    ) -> RateState:
        return cls(
            limit=int(limit),
            remaining=max(0, int(remaining)),
            reset=math.ceil(float(reset)),
            retry_after=0 if int(allowed) else max(1, math.ceil(float(retry))),
        )


@dataclass(frozen=True, slots=True)
class Granted:
    """A valid key; ``allowed`` is False when its bucket is empty."""

    principal_json: bytes
    allowed: bool
    rate: RateState

    def principal(self, request_id: str) -> Principal:
        return replace(_parsed(self.principal_json), request_id=request_id)


_PARSED: dict[bytes, Principal] = {}
_PARSED_MAX: Final = 10_000


def _parsed(principal_json: bytes) -> Principal:
    """Parsing the same cached JSON for every request of a key is wasted work."""
    found = _PARSED.get(principal_json)
    if found is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        found = _PARSED[principal_json] = Principal.from_json(orjson.loads(principal_json))
    return found


@dataclass(frozen=True, slots=True)
class Refused:
    """Missing, malformed, unknown, revoked or expired credentials."""

    failures: int  # this client address's failures in the current window
    limit: int
    reset_in: int  # seconds until the failure window ends

    @property
    def throttled(self) -> bool:
        return self.failures > self.limit

    def rate(self, now: float) -> RateState:
        return RateState(
            limit=self.limit,
            remaining=max(0, self.limit - self.failures),
            reset=math.ceil(now) + max(0, self.reset_in),
            retry_after=max(1, self.reset_in) if self.throttled else 0,
        )


@dataclass(frozen=True, slots=True)
class NotMember:
    """A valid key whose user is not a member of the workspace asked for."""

    message: str


@dataclass(frozen=True, slots=True)
class Resolved:
    """What the accounts service said about a key."""

    principal_json: bytes
    user_id: int  # whose bucket the requests take tokens from: the caller's own
    plan_id: int | None
    capacity: int
    window: int
    expires_at: int | None
    # Users whose changes evict this entry (the caller, and a workspace's owner).
    index_users: tuple[int, ...] = ()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def cache_id(digest: str, workspace: int | None) -> str:
    """The cache entry of a key, alone or in a workspace (``principal:<id>``)."""
    return digest if workspace is None else f"{digest}:w{workspace}"


def bearer_key(header: str | None) -> str | None:
    """The key of ``Authorization: Bearer <key>``, or None when absent or malformed."""
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or len(key) > MAX_KEY_LENGTH:
        return None
    if not key.isascii() or not key.isprintable() or " " in key:
        return None
    return key


def parse_principal(data: Any, settings: Settings) -> Resolved:
    """Validate the accounts service's answer (see CONTRACTS.md)."""
    if not isinstance(data, Mapping):
        raise ValueError("principal must be an object")
    user_id = data["user_id"]
    role = data["role"]
    plan_id = data.get("plan_id")
    limits = data.get("limits") or {}
    if not isinstance(user_id, int) or isinstance(user_id, bool) or role not in _ROLES:
        raise ValueError("bad user_id or role")
    if plan_id is not None and (not isinstance(plan_id, int) or isinstance(plan_id, bool)):
        raise ValueError("bad plan_id")
    if not isinstance(limits, Mapping):
        raise ValueError("bad limits")
    rate = data.get("rate") or {}
    capacity = _positive(rate.get("capacity"), settings.rate_limit_capacity)
    window = _positive(rate.get("window"), settings.rate_limit_window)
    expires = data.get("expires_at")
    expires_at = int(expires) if isinstance(expires, int | float) and expires else None
    actor_id = data.get("actor_id")
    if actor_id is not None and (not isinstance(actor_id, int) or isinstance(actor_id, bool)):
        raise ValueError("bad actor_id")
    permissions = data.get("permissions") or []
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise ValueError("bad permissions")
    principal = Principal(
        user_id=user_id,
        role=role,
        username=str(data.get("username") or ""),
        plan_id=plan_id,
        limits=limits,
        actor_id=actor_id,
        permissions=tuple(permissions),
    ).to_json()
    del principal["rid"]
    caller = user_id if actor_id is None else actor_id
    return Resolved(
        orjson.dumps(principal),
        caller,
        plan_id,
        capacity,
        window,
        expires_at,
        index_users=(caller,) if actor_id is None else (caller, user_id),
    )


def _positive(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


class PrincipalStore:
    def __init__(
        self, redis: aioredis.Redis, settings: Settings, accounts: aiohttp.ClientSession
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.accounts = accounts
        self.script = BatchedScript(redis, SCRIPT_SOURCE)
        self.epoch_key = settings.redis_key("principal", "epoch")
        # One accounts lookup per key at a time in this process: a burst of
        # requests with a key nobody has cached yet asks once.
        # Keyed by the epoch too: a lookup that began before an eviction must
        # not be shared with requests that arrive after it.
        self._lookups: dict[tuple[str, bytes], asyncio.Future[Resolved | NotMember | None]] = {}

    def _keys(self, digest: str, ip: str) -> list[str]:
        s = self.settings
        return [
            s.redis_key("principal", digest),
            "-",  # the user's bucket: named by the cached principal, or set by 'store'
            s.redis_key("authfail", ip),
            self.epoch_key,
        ]

    def _limits(self) -> list[Any]:
        return [self.settings.auth_failure_limit, FAILURE_WINDOW]

    async def authenticate(
        self, authorization: str | None, ip: str, workspace: int | None = None
    ) -> Granted | Refused | NotMember:
        """Resolve the key (in ``workspace``, an owner's id, when given) and take a
        token; raises :class:`AccountsUnavailable`."""
        key = bearer_key(authorization)
        if key is None:
            reply = await self.script(keys=self._keys("-", ip), args=["fail", *self._limits()])
            return self._outcome(reply)
        digest = key_hash(key)
        entry = cache_id(digest, workspace)
        keys = self._keys(entry, ip)
        reply = await self.script(keys=keys, args=["auth", *self._limits()])
        if not reply.startswith(b"miss\n"):
            return self._outcome(reply)
        epoch = reply[5:]
        resolved = await self._lookup(digest, workspace, epoch)
        if isinstance(resolved, NotMember):
            return resolved  # not cached: joining must work at once
        if resolved is None:
            reply = await self.script(keys=keys, args=["deny", *self._limits(), NEGATIVE_TTL])
            return self._outcome(reply)
        keys[1] = self.settings.redis_key("bucket", "user", resolved.user_id)
        keys += [self.settings.redis_key("principal", "user", u) for u in resolved.index_users]
        if resolved.plan_id is not None:
            keys.append(self.settings.redis_key("principal", "plan", resolved.plan_id))
        args = [
            "store",
            *self._limits(),
            epoch,
            resolved.principal_json,
            resolved.capacity,
            resolved.window,
            "" if resolved.expires_at is None else resolved.expires_at,
            self.settings.principal_cache_ttl,
            entry,
        ]
        return self._outcome(await self.script(keys=keys, args=args))

    def _outcome(self, reply: bytes) -> Granted | Refused:
        fields = reply.split(b"\n", 6)
        if fields[0] == b"ok":
            return Granted(fields[6], fields[1] == b"1", RateState.from_script(*fields[1:6]))
        return Refused(
            failures=int(fields[1]), limit=self.settings.auth_failure_limit, reset_in=int(fields[2])
        )

    async def _lookup(
        self, digest: str, workspace: int | None, epoch: bytes
    ) -> Resolved | NotMember | None:
        key = (cache_id(digest, workspace), epoch)
        task = self._lookups.get(key)
        if task is None:
            # Not tied to the request that started it: one caller going away
            # must not cancel the answer the others are waiting for.
            task = asyncio.ensure_future(self._ask_accounts(digest, workspace))
            self._lookups[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(
        self, key: tuple[str, bytes], task: asyncio.Future[Resolved | NotMember | None]
    ) -> None:
        if self._lookups.get(key) is task:
            del self._lookups[key]
        if not task.cancelled():
            task.exception()  # every waiter re-raises it; mark it retrieved

    async def _ask_accounts(
        self, digest: str, workspace: int | None
    ) -> Resolved | NotMember | None:
        path = "/internal/principal"
        asked: dict[str, Any] = {"key_hash": digest}
        if workspace is not None:
            asked["workspace"] = workspace
        body = orjson.dumps(asked)
        headers = identity.signed_headers(
            identity.SERVICE, self.settings.internal_secret, "POST", path, body
        )
        headers["Content-Type"] = "application/json"
        try:
            async with self.accounts.post(
                self.settings.accounts_url + path, data=body, headers=headers
            ) as resp:
                body = await resp.read()
                if resp.status == 404:
                    return None
                if resp.status == 403 and workspace is not None:
                    return NotMember(str(orjson.loads(body).get("message") or "Forbidden."))
                if resp.status != 200:
                    raise AccountsUnavailable(f"accounts answered {resp.status}")
                return parse_principal(orjson.loads(body), self.settings)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AccountsUnavailable(str(exc) or type(exc).__name__) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise AccountsUnavailable(f"accounts answered an unreadable principal: {exc}") from exc

    async def limit_address(self, ip: str, capacity: int, window: int) -> RateState:
        """Take a token from the bucket of a client address (unauthenticated endpoints)."""
        reply = await self.script(
            keys=["-", self.settings.redis_key("bucket", "ip", ip)],
            args=["ip", 0, 0, capacity, window],
        )
        return RateState.from_script(*reply.split(b"\n")[1:6])

    async def charge(
        self, authorization: str | None, cost: int, workspace: int | None = None
    ) -> RateState:
        """Take ``cost`` more tokens from the bucket of an authenticated key (all or none)."""
        key = bearer_key(authorization)
        assert key is not None  # authenticate() granted it
        entry = cache_id(key_hash(key), workspace)
        reply = await self.script(keys=self._keys(entry, "-")[:1], args=["charge", 0, 0, cost])
        return RateState.from_script(*reply.split(b"\n")[1:6])

    async def evict(
        self,
        *,
        users: Iterable[int] = (),
        plans: Iterable[int] = (),
        key_hashes: Iterable[str] = (),
    ) -> int:
        """Forget the cached principals of these users, plans and keys; returns how many."""
        s = self.settings
        indexes = [s.redis_key("principal", "user", u) for u in users]
        indexes += [s.redis_key("principal", "plan", p) for p in plans]
        digests = set(key_hashes)
        await self.redis.incr(self.epoch_key)
        if indexes:
            async with self.redis.pipeline(transaction=False) as pipe:
                for index in indexes:
                    pipe.smembers(index)
                members = await pipe.execute()
            for found in members:
                digests.update(m.decode() for m in found)
        doomed = [s.redis_key("principal", d) for d in digests]
        if doomed or indexes:
            await self.redis.delete(*doomed, *indexes)
        return len(digests)
