"""The gateway in front of the real accounts and links services (Postgres,
Redis and RabbitMQ real): teams as a client sees them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse

from gateway.app import create_app as create_gateway
from services.accounts.app import create_app as create_accounts
from services.accounts.registration import register
from services.links.app import create_app as create_links
from shared.passwords import hash_password_async
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.gateway.conftest import Gateway, body_of, closed_port


@dataclass
class Answer:
    status: int
    body: Any


@dataclass
class Account:
    id: int
    username: str
    email: str
    key: str


@dataclass
class Teams:
    gateway: Gateway
    admin_key: str
    pg_pool: asyncpg.Pool

    async def call(
        self,
        method: str,
        path: str,
        key: str | None,
        body: Any = None,
        *,
        workspace: int | str | None = None,
    ) -> Answer:
        headers = {} if workspace is None else {"X-Workspace": str(workspace)}
        resp: ClientResponse = await self.gateway.call(
            method, path, key, json=body, headers=headers
        )
        return Answer(resp.status, await body_of(resp))

    async def plan(self, **limits: Any) -> int:
        """A plan with these limits over a new plan's defaults; its id."""
        got = await self.call(
            "POST",
            "/api/plan/add",
            self.admin_key,
            {
                "name": f"Team plan {secrets.token_hex(4)}",
                "free": True,
                "limits": {"links": 0, **limits},
                "rate": {"capacity": 10_000, "window": 60},
            },
        )
        assert got.status == 200, got.body
        plan_id: int = got.body["id"]
        return plan_id

    async def user(self, plan_id: int | None = None) -> Account:
        tag = secrets.token_hex(5)
        body: dict[str, Any] = {
            "username": f"t{tag}",
            "email": f"t{tag}@example.com",
            "password": "pass-123",
        }
        if plan_id is not None:
            body["planid"] = plan_id
        got = await self.call("POST", "/api/user/add", self.admin_key, body)
        assert got.status == 200, got.body
        data = got.body["data"]
        return Account(data["id"], data["username"], data["email"], data["apikey"])

    async def owner(self, count: int = 0) -> Account:
        """A user whose plan has teams of ``count`` seats (0: unlimited)."""
        return await self.user(await self.plan(team={"enabled": "1", "count": str(count)}))

    async def invite(
        self, owner: Account, email: str | None = None, permissions: list[str] | None = None
    ) -> Answer:
        email = email or f"m{secrets.token_hex(5)}@example.com"
        return await self.call(
            "POST",
            "/api/team/invite",
            owner.key,
            {"email": email, "permissions": permissions or ["links"]},
        )

    async def join(self, owner: Account, permissions: list[str]) -> tuple[Account, int]:
        """A new member of ``owner``'s team, joined through an invitation; and the
        membership's id."""
        invited = await self.invite(owner, permissions=permissions)
        assert invited.status == 200, invited.body
        accepted = await self.call(
            "POST",
            "/api/team/accept",
            None,
            {"token": invited.body["data"]["token"], "password": "member-pass"},
        )
        assert accepted.status == 200, accepted.body
        data = accepted.body["data"]
        member = Account(
            data["userid"], data["username"], invited.body["data"]["email"], data["apikey"]
        )
        return member, data["id"]


@pytest.fixture
async def teams(serve_app: ServeApp, settings: Settings, pg_pool: asyncpg.Pool) -> Teams:
    nowhere = f"http://127.0.0.1:{closed_port()}"  # analytics: not part of these tests
    accounts = await serve_app(
        create_accounts, settings.with_overrides(analytics_url=nowhere, links_url=nowhere)
    )
    links = await serve_app(create_links, settings.with_overrides(analytics_url=nowhere))
    gateway_settings = settings.with_overrides(
        accounts_url=str(accounts.make_url("")).rstrip("/"),
        links_url=str(links.make_url("")).rstrip("/"),
        auth_failure_limit=10_000,
        rate_limit_capacity=10_000,  # keyless acceptances are limited per address: all 127.0.0.1
    )
    gateway = Gateway(await serve_app(create_gateway, gateway_settings), gateway_settings)
    tag = secrets.token_hex(5)
    async with pg_pool.acquire() as conn, conn.transaction():
        made = await register(
            conn,
            username=f"tadmin{tag}",
            email=f"tadmin{tag}@example.com",
            password_hash=await hash_password_async("admin-pass"),
            role="admin",
        )
    return Teams(gateway, made.key.key, pg_pool)
