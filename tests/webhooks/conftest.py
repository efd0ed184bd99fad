"""Fixtures of the webhooks tests: a real receiving HTTP server in the test
process, the webhooks API behind a signing client, the delivery process's
application in this process, and a publisher speaking like the services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.webhooks.app import create_app
from services.webhooks.delivery import create_delivery_app
from services.webhooks.fanout import declare_queue
from shared import amqp
from shared.events import EventPublisher
from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.signed_client import SignedClient

# Behaviour of one receiving path: answer this status (a list: one per request,
# the last repeated) after this many seconds.
Behaviour = dict[str, Any]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server standing in for users' endpoints: records every request as it
    arrives (before any delay it was told to take)."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, **behaviour: Any) -> str:
        """The URL of ``path``; ``status`` (an int or a list), ``delay`` (seconds or a
        list), ``location`` (a redirect's) say how it answers."""
        self.behaviours[path] = behaviour
        return self.base + path

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path
        body = await request.read()
        n = self.counts.get(path, 0)
        self.counts[path] = n + 1
        behaviour = self.behaviours.get(path, {})
        self.received.append(Received(path, dict(request.headers), body, time.time()))
        delay = _nth(behaviour.get("delay", 0), n)
        if delay:
            await asyncio.sleep(delay)
        status = _nth(behaviour.get("status", 200), n)
        headers = {"Location": behaviour["location"]} if "location" in behaviour else None
        return web.Response(status=status, text="ok", headers=headers)


def _nth(value: Any, n: int) -> Any:
    if isinstance(value, list):
        return value[min(n, len(value) - 1)]
    return value


@pytest.fixture
async def receiver(serve_app: ServeApp) -> Receiver:
    found = Receiver()

    def factory(_: Settings) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", found.handle)
        return app

    client = await serve_app(factory)
    found.base = str(client.make_url("")).rstrip("/")
    return found


@pytest.fixture(scope="session")
def hook_settings(settings: Settings) -> Settings:
    """Loopback targets allowed; short deadlines, backoff and polls."""
    return settings.with_overrides(
        allow_private_webhooks=True,
        webhook_timeout=1.0,
        webhook_retry_base=0.1,
        webhook_retry_max=0.4,
        webhook_retry_window=60.0,
        webhook_poll_interval=0.05,
        webhook_endpoint_concurrency=4,
    )


@dataclass
class WebhooksApi:
    client: TestClient[web.Request, web.Application]
    signed: SignedClient

    async def call(
        self, method: str, path: str, who: Principal | None, body: Any = None
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["data"] = orjson.dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        resp = await self.signed.request(method, path, who, **kwargs)
        return resp.status, orjson.loads(await resp.read())

    async def add(self, who: Principal, **body: Any) -> dict[str, Any]:
        status, data = await self.call("POST", "/api/webhook/add", who, body)
        assert status == 200, data
        return dict(data)

    async def get(self, who: Principal, webhook_id: int) -> dict[str, Any]:
        status, data = await self.call("GET", f"/api/webhook/{webhook_id}", who)
        assert status == 200, data
        return dict(data["data"])

    async def deliveries(self, who: Principal, webhook_id: int) -> list[dict[str, Any]]:
        status, data = await self.call(
            "GET", f"/api/webhook/{webhook_id}/deliveries?limit=100", who
        )
        assert status == 200, data
        return list(data["data"]["deliveries"])


StartApi = Callable[..., Awaitable[WebhooksApi]]


@pytest.fixture
def start_api(serve_app: ServeApp, hook_settings: Settings) -> StartApi:
    async def start(**overrides: Any) -> WebhooksApi:
        client = await serve_app(create_app, hook_settings.with_overrides(**overrides))
        return WebhooksApi(client, SignedClient(client, hook_settings.internal_secret))

    return start


@pytest.fixture
async def api(start_api: StartApi) -> WebhooksApi:
    return await start_api()


StartDelivery = Callable[..., Awaitable[web.Application]]


@pytest.fixture
async def start_delivery(hook_settings: Settings) -> AsyncIterator[StartDelivery]:
    """The delivery process's application in this process (each its own pool and
    connection, as a replica would)."""
    runners: list[web.AppRunner] = []

    async def start(**overrides: Any) -> web.Application:
        runner = web.AppRunner(create_delivery_app(hook_settings.with_overrides(**overrides)))
        await runner.setup()
        runners.append(runner)
        return runner.app

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[EventPublisher]:
    """Publishes as the services do; the webhooks queue exists first, as in a running system."""
    connection = await amqp.connect(settings)
    try:
        await declare_queue(await connection.channel(), settings)
        yield await amqp.open_publisher(connection, settings)
    finally:
        await connection.close()


@pytest.fixture
def user() -> Principal:
    """A user whose plan has webhooks (every feature on, no quotas)."""
    return principals.user()
