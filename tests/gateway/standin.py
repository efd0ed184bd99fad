"""A small stand-in for the services behind the gateway.

It speaks the accounts service's documented ``POST /internal/principal``
contract (CONTRACTS.md) from a table of keys the test controls, and answers
every ``/api`` path by echoing what it received, so a test sees exactly what
a service behind the gateway would see. Like a real service it is built on
``create_service_app``: a request only reaches a handler if its internal
signature verifies."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp import web

from shared.envelope import error_response, json_response
from shared.service import create_service_app, principal
from shared.settings import Settings
from tests.support.principals import STARTER_LIMITS
from tests.support.system import free_port

_user_ids = itertools.count(secrets.randbelow(10**8) + 5 * 10**8)


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Seen:
    """One request as a service behind the gateway received it."""

    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes
    principal: dict[str, Any]


@dataclass
class StandIn:
    name: str = "accounts"
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # key hash → principal body
    lookups: int = 0
    lookup_delay: float = 0.0  # seconds each principal lookup takes
    looked_up: asyncio.Event = field(default_factory=asyncio.Event)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def issue(
        self,
        *,
        rate: dict[str, int] | None = None,
        expires_at: int | None = None,
        role: str = "user",
        plan_id: int | None = 1,
        user_id: int | None = None,
        limits: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        """A new key for a new (or given) user; returns (key, user id). The
        limits are Starter's with API access on (the gateway refuses keys without it)."""
        uid = next(_user_ids) if user_id is None else user_id
        key = secrets.token_urlsafe(32)
        self.keys[sha256(key)] = {
            "user_id": uid,
            "username": f"user{uid}",
            "role": role,
            "plan_id": plan_id,
            "limits": limits if limits is not None else {**STARTER_LIMITS, "api": {"enabled": "1"}},
            "expires_at": expires_at,
            "rate": rate or {"capacity": 30, "window": 60},
        }
        return key, uid

    def forget_user(self, user_id: int) -> None:
        for digest in [d for d, p in self.keys.items() if p["user_id"] == user_id]:
            del self.keys[digest]

    def set_plan_rate(self, plan_id: int, rate: dict[str, int]) -> None:
        for body in self.keys.values():
            if body["plan_id"] == plan_id:
                body["rate"] = rate

    def hits(self, path_prefix: str = "/api") -> list[Seen]:
        return [s for s in self.seen if s.raw_path.startswith(path_prefix)]


def standin_app(settings: Settings, state: StandIn) -> web.Application:
    app = create_service_app(settings, name=f"standin-{state.name}", needs=())

    async def lookup(request: web.Request) -> web.Response:
        if principal(request).role != "service":
            return error_response(403, "Only services may look up principals.")
        state.lookups += 1
        body = await request.json()
        found = state.keys.get(body.get("key_hash", ""))
        state.looked_up.set()
        if state.lookup_delay:  # the answer is on its way for this long
            await asyncio.sleep(state.lookup_delay)
        if found is None:
            return error_response(404, "No such key.")
        return json_response(found)

    async def echo(request: web.Request) -> web.StreamResponse:
        who = principal(request)
        body = await request.read()
        state.seen.append(
            Seen(
                method=request.method,
                raw_path=request.raw_path,
                headers=dict(request.headers),
                body=body,
                principal=who.to_json(),
            )
        )
        path = request.path
        headers: dict[str, str] = {}
        if path == "/api/account/slow":
            await asyncio.sleep(float(request.query.get("delay", "1")))
        elif path == "/api/account/hop-by-hop":
            headers = {
                "Keep-Alive": "timeout=5",
                "Proxy-Authenticate": "Basic",
                "X-Upstream-Private": "hop",
                "Connection": "X-Upstream-Private",
                "X-Upstream-Kept": "yes",
            }
        elif path == "/api/account/unavailable":
            # A real dependency failure inside a real service: Postgres refusing.
            await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x")
        elif path == "/api/account/html-error":
            return web.Response(status=500, text="<html>boom</html>", content_type="text/html")
        elif path == "/api/account/big":
            stream = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            for i in range(48):
                await stream.write(bytes([i]) * 65536)
            await stream.write_eof()
            return stream
        elif path == "/api/account/apikey/regenerate":
            # Like the real service: the old key dies, a new one is born, and
            # the gateway is told to forget what it cached for this user.
            state.forget_user(who.user_id)
            key, _ = state.issue(user_id=who.user_id)
            headers = {"X-Principal-Invalidate": f"user:{who.user_id}"}
            return json_response({"error": 0, "apikey": key}, headers=headers)
        elif path.startswith("/api/plan/") and path.endswith("/rate"):
            plan_id = int(path.split("/")[3])
            data = await request.json() if body else {}
            state.set_plan_rate(plan_id, data["rate"])
            headers = {"X-Principal-Invalidate": f"plan:{plan_id}, user:0"}
        return json_response(
            {
                "error": 0,
                "service": state.name,
                "method": request.method,
                "raw_path": request.raw_path,
                "uid": who.user_id,
                "role": who.role,
            },
            headers=headers,
        )

    app.router.add_post("/internal/principal", lookup)
    app.router.add_route("*", "/api/{tail:.*}", echo)
    app.router.add_route("*", "/v1/add-contact/json", echo)
    return app
