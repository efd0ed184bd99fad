"""Where the command line acts.

- **Local** (the default, on a machine that runs the platform): settings from
  the environment as every process reads them. Imports write through the
  links service's own bulk code straight to Postgres (and publish snapshots to
  Redis), as the user named by ``--user``; operator commands call the accounts
  service on its internal port, signed with ``INTERNAL_SECRET`` as the first
  admin.
- **Remote** (``--api URL --key KEY``): everything through the public API with
  that key; imports use ``POST /api/urls/bulk`` and wait out 429s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import orjson
import redis.asyncio as aioredis
from aiohttp import web

from services.accounts.plan_limits import canonical
from services.links.bulk import announce_bulk, create_links
from shared import identity
from shared.appkeys import PG_POOL, REDIS, SETTINGS
from shared.identity import Principal
from shared.postgres import create_pool
from shared.settings import Settings

USER_BY_NAME = """
SELECT id, username, role, effective_plan_id, limits FROM accounts.user_accounts
 WHERE username = $1
"""
FIRST_ADMIN = """
SELECT id, username, role, effective_plan_id, limits FROM accounts.user_accounts
 WHERE role = 'admin' ORDER BY id LIMIT 1
"""
MAX_RETRIES = 20


class CliError(Exception):
    """Something to tell the operator, then exit non-zero."""


def principal_of(row: Any) -> Principal:
    return Principal(
        user_id=row["id"],
        role=row["role"],
        username=row["username"],
        plan_id=row["effective_plan_id"],
        limits=canonical(row["limits"]),
    )


@dataclass
class Api:
    """``/api`` calls: remote through the gateway, or local to a service, signed."""

    session: aiohttp.ClientSession
    settings: Settings
    base: str | None = None  # remote: http://host:8000 (the API root without /api)
    key: str | None = None
    operator: Principal | None = None  # local: who the calls are signed as

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON answer); waits out rate limits."""
        data = orjson.dumps(body) if body is not None else b""
        if self.base is not None:
            url = self.base + path
        else:
            upstream = self.settings.links_url if path.startswith("/api/url") else None
            url = (upstream or self.settings.accounts_url) + path
        for _ in range(MAX_RETRIES):
            headers = self._headers(method, path, data)
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                async with self.session.request(
                    method, url, data=data or None, headers=headers
                ) as resp:
                    raw = await resp.read()
                    if resp.status == 429:
                        await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                        continue
                    try:
                        return resp.status, orjson.loads(raw)
                    except orjson.JSONDecodeError as exc:
                        raise CliError(f"{method} {url}: {resp.status}, not JSON") from exc
            except aiohttp.ClientConnectionError as exc:
                raise CliError(f"cannot reach {url}: {exc}") from exc
        raise CliError(f"{method} {url}: still rate-limited after {MAX_RETRIES} tries")

    def _headers(self, method: str, path: str, data: bytes) -> dict[str, str]:
        if self.base is not None:
            return {"Authorization": f"Bearer {self.key}"}
        assert self.operator is not None
        # Signed for this one request (a fresh nonce each time): the path with
        # its query as sent, and the body.
        return identity.signed_headers(
            self.operator, self.settings.internal_secret, method, path, data
        )

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = await self.call(method, path, body)
        if status != 200 or not isinstance(data, dict) or data.get("error"):
            message = data.get("message") if isinstance(data, dict) else data
            raise CliError(f"{method} {path}: {status} {message}")
        return data


@dataclass
class Local:
    settings: Settings
    pool: asyncpg.Pool  # search_path links
    app: web.Application  # what announce_bulk reads: settings, pool, Redis

    async def user(self, username: str) -> Principal:
        row = await self.pool.fetchrow(USER_BY_NAME, username)
        if row is None:
            raise CliError(f"no user named {username!r}")
        return principal_of(row)

    async def operator(self) -> Principal:
        row = await self.pool.fetchrow(FIRST_ADMIN)
        if row is None:
            raise CliError("there is no admin yet: start the platform once (make run)")
        return principal_of(row)

    async def bulk(self, who: Principal, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn, conn.transaction():
            outcome = await create_links(conn, who, self.settings, items)
        await announce_bulk(self.app, outcome.created)
        return outcome.results


@asynccontextmanager
async def local(settings: Settings) -> AsyncIterator[Local]:
    try:
        pool = await create_pool(
            settings.database_url,
            min_size=1,
            max_size=4,
            server_settings={"search_path": "links, public"},
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise CliError(f"cannot use the database of DATABASE_URL: {exc}") from exc
    redis = aioredis.Redis.from_url(settings.redis_url)
    app = web.Application()
    app[SETTINGS] = settings
    app[PG_POOL] = pool
    app[REDIS] = redis
    try:
        yield Local(settings, pool, app)
    finally:
        await redis.aclose()
        await pool.close()


def api_root(url: str) -> str:
    """``http://host:8000/api`` or ``http://host:8000`` → ``http://host:8000``."""
    return url.rstrip("/").removesuffix("/api")
