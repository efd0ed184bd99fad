"""Fixtures for the accounts service: the app on a real port with a signing
client, real users created through its API, and a tap on the events exchange."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDictProxy

from services.accounts.app import create_app
from services.accounts.credentials import sha256_hex
from shared import amqp
from shared.identity import SERVICE, Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.service_client import closed_port, service_starter
from tests.support.signed_client import SignedClient


@dataclass
class Answer:
    status: int
    body: Any
    headers: CIMultiDictProxy[str]


@dataclass
class NewUser:
    id: int
    username: str
    email: str
    password: str
    apikey: str


@dataclass
class AccountsApi:
    client: TestClient[web.Request, web.Application]
    signed: SignedClient
    settings: Settings

    async def call(
        self, method: str, path: str, who: Principal | None, body: Any = None, **kwargs: Any
    ) -> Answer:
        if body is not None:
            kwargs["data"] = body if isinstance(body, bytes) else orjson.dumps(body)
            kwargs.setdefault("headers", {"Content-Type": "application/json"})
        resp = await self.signed.request(method, path, who, **kwargs)
        raw = await resp.read()
        is_json = raw and resp.content_type == "application/json"  # HEAD answers have no body
        data = orjson.loads(raw) if is_json else raw.decode()
        return Answer(resp.status, data, resp.headers)

    async def add_user(self, **fields: Any) -> NewUser:
        """A real user, created as an admin would (``POST /api/user/add``)."""
        tag = secrets.token_hex(5)
        body = {
            "username": f"u{tag}",
            "email": f"u{tag}@example.com",
            "password": "s3cret-pass",
            **fields,
        }
        got = await self.call("POST", "/api/user/add", principals.admin(), body)
        assert got.status == 200, got.body
        data = got.body["data"]
        return NewUser(
            data["id"], data["username"], data["email"], body["password"], data["apikey"]
        )

    async def resolve(self, key: str) -> Answer:
        """What the gateway would learn about a bearer key."""
        return await self.call(
            "POST", "/internal/principal", SERVICE, {"key_hash": sha256_hex(key)}
        )

    async def principal(self, key: str) -> Principal:
        """The principal the gateway would sign this key's requests with."""
        got = await self.resolve(key)
        assert got.status == 200, got.body
        data = got.body
        return Principal(
            user_id=data["user_id"],
            role=data["role"],
            username=data["username"],
            plan_id=data["plan_id"],
            limits=data["limits"],
        )

    async def new_principal(self, **fields: Any) -> tuple[NewUser, Principal]:
        user = await self.add_user(**fields)
        return user, await self.principal(user.apikey)


StartAccounts = Callable[..., Awaitable[AccountsApi]]

PLANS_DOC = Path(__file__).resolve().parents[2] / "docs" / "plans.md"


def documented_sample_plans() -> dict[str, dict[str, Any]]:
    """The seed's sample plans as docs/plans.md gives them for ``POST /api/plan/add``."""
    bodies = [
        orjson.loads(block)
        for block in re.findall(r"```json\n(.*?)```", PLANS_DOC.read_text(), re.S)
    ]
    return {body["name"]: body for body in bodies}


@dataclass(frozen=True)
class SamplePlans:
    """Ids of this test's copies of the seed's Starter (free) and Business plans."""

    starter: int
    business: int


async def add_sample_plans(api: AccountsApi) -> SamplePlans:
    """The documented sample plans, added as an admin would (names made unique:
    plan names are, and the test database is shared by the run)."""
    tag = secrets.token_hex(4)
    ids: dict[str, int] = {}
    for name, body in documented_sample_plans().items():
        got = await api.call(
            "POST", "/api/plan/add", principals.admin(), {**body, "name": f"{name} {tag}"}
        )
        assert got.status == 200, got.body
        ids[name] = got.body["id"]
    return SamplePlans(starter=ids["Starter"], business=ids["Business"])


@pytest.fixture
async def start_accounts(serve_app: ServeApp, settings: Settings) -> StartAccounts:
    """Start the accounts app; analytics and links (asked for usage) point at closed
    ports unless overridden."""
    start = service_starter(serve_app, settings, create_app, AccountsApi)

    async def start_without_links(**overrides: Any) -> AccountsApi:
        overrides.setdefault("links_url", f"http://127.0.0.1:{closed_port()}")
        return await start(**overrides)

    return start_without_links


@pytest.fixture
async def api(start_accounts: StartAccounts) -> AccountsApi:
    return await start_accounts()


@pytest.fixture
async def plans(api: AccountsApi) -> SamplePlans:
    return await add_sample_plans(api)


class EventTap:
    """An exclusive queue bound to every event type while a test runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.seen: list[dict[str, Any]] = []

    async def __aenter__(self) -> EventTap:
        self.connection = await aio_pika.connect(self.settings.amqp_url)
        channel = await self.connection.channel()
        exchange = await amqp.declare_events_exchange(channel, self.settings)
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self.queue.bind(exchange, routing_key="#")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def _drain(self) -> None:
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            self.seen.extend(orjson.loads(message.body))

    def matching(self, type_: str, **payload: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.seen
            if e["type"] == type_ and all(e["payload"].get(k) == v for k, v in payload.items())
        ]

    async def wait_for(self, type_: str, within: float = 5.0, **payload: Any) -> dict[str, Any]:
        """The first event of ``type_`` whose payload has these values."""
        async with asyncio.timeout(within):
            while True:
                await self._drain()
                found = self.matching(type_, **payload)
                if found:
                    return found[0]
                await asyncio.sleep(0.05)

    async def none_of(self, type_: str, **payload: Any) -> bool:
        """True if no such event arrived (publishing is confirmed before a handler answers)."""
        await self._drain()
        return not self.matching(type_, **payload)


@pytest.fixture
async def events(settings: Settings) -> AsyncIterator[EventTap]:
    async with EventTap(settings) as tap:
        yield tap
