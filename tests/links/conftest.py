"""Fixtures for the links service: the app on a real port with a signing client,
and helpers to read what it stored (Postgres, Redis) and published (RabbitMQ)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aio_pika
import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.links.app import create_app
from services.links.keys import TITLES
from services.links.snapshot import invalidate_channel, redis_key
from shared import amqp
from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support.signed_client import SignedClient


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class LinksApi:
    client: TestClient[web.Request, web.Application]
    signed: SignedClient
    settings: Settings

    @property
    def app(self) -> web.Application:
        return self.client.app

    async def call(
        self, method: str, path: str, who: Principal | None, body: Any = None, **kwargs: Any
    ) -> tuple[int, Any]:
        if body is not None:
            kwargs["data"] = body if isinstance(body, bytes) else orjson.dumps(body)
            kwargs.setdefault("headers", {"Content-Type": "application/json"})
        resp = await self.signed.request(method, path, who, **kwargs)
        raw = await resp.read()
        data = orjson.loads(raw) if resp.content_type == "application/json" else raw
        return resp.status, data

    async def add(self, who: Principal, **body: Any) -> dict[str, Any]:
        status, data = await self.call("POST", "/api/url/add", who, body)
        assert status == 200, data
        assert data["error"] == 0
        result: dict[str, Any] = data
        return result

    async def create(self, who: Principal, kind: str, **body: Any) -> int:
        """Add a ``kind`` (pixel, splash, channel, campaign, ...) and answer its id."""
        status, data = await self.call("POST", f"/api/{kind}/add", who, body)
        assert status == 200, data
        created: int = data["id"]
        return created

    async def details(self, who: Principal, link_id: int) -> dict[str, Any]:
        status, data = await self.call("GET", f"/api/url/{link_id}", who)
        assert status == 200, data
        details: dict[str, Any] = data["details"]
        return details

    async def titles_done(self) -> None:
        await self.app[TITLES].join()


StartLinks = Callable[..., Awaitable[LinksApi]]


@pytest.fixture
async def start_links(serve_app: ServeApp, settings: Settings) -> StartLinks:
    """Start the links app; analytics points at a closed port unless overridden."""

    async def start(**overrides: Any) -> LinksApi:
        overrides.setdefault("analytics_url", f"http://127.0.0.1:{closed_port()}")
        run_settings = settings.with_overrides(**overrides)
        client = await serve_app(create_app, run_settings)
        return LinksApi(client, SignedClient(client, settings.internal_secret), run_settings)

    return start


@pytest.fixture
async def links(start_links: StartLinks) -> LinksApi:
    return await start_links()


async def snapshot(
    redis_client: aioredis.Redis, settings: Settings, suffix: str
) -> dict[str, Any] | None:
    raw = await redis_client.get(redis_key(settings, suffix))
    return None if raw is None else orjson.loads(raw)


class Invalidations:
    """Collects the invalidation channel's messages while a test runs."""

    def __init__(self, redis_client: aioredis.Redis, settings: Settings) -> None:
        self.pubsub = redis_client.pubsub()
        self.channel = invalidate_channel(settings)
        self.seen: list[str] = []

    async def start(self) -> None:
        await self.pubsub.subscribe(self.channel)
        while await self.pubsub.get_message(timeout=1.0) is None:  # the subscribe confirmation
            pass

    async def wait_for(self, suffix: str, times: int = 1, within: float = 5.0) -> list[str]:
        """The messages so far, once ``suffix`` has been announced ``times`` times."""
        async with asyncio.timeout(within):
            while self.seen.count(suffix) < times:
                message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if message is not None:
                    self.seen.append(message["data"].decode())
        return self.seen

    async def close(self) -> None:
        await self.pubsub.unsubscribe()
        await self.pubsub.aclose()  # type: ignore[no-untyped-call]


@pytest.fixture
async def invalidations(
    redis_client: aioredis.Redis, settings: Settings
) -> AsyncIterator[Invalidations]:
    watcher = Invalidations(redis_client, settings)
    await watcher.start()
    yield watcher
    await watcher.close()


class EventTap:
    """An exclusive queue bound to the events exchange, to see what was published."""

    def __init__(self, settings: Settings, routing_key: str) -> None:
        self.settings = settings
        self.routing_key = routing_key
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None
        self.queue: aio_pika.abc.AbstractQueue | None = None

    async def start(self) -> None:
        self.connection = await amqp.connect(self.settings)
        channel = await self.connection.channel()
        exchange = await amqp.declare_events_exchange(channel, self.settings)
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self.queue.bind(exchange, routing_key=self.routing_key)

    async def events(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """At least ``count`` events (all that arrived by then)."""
        assert self.queue is not None
        found: list[dict[str, Any]] = []
        async with asyncio.timeout(within):
            while len(found) < count:
                message = await self.queue.get(fail=False)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                await message.ack()
                found += orjson.loads(message.body)
        return found

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


@pytest.fixture
async def link_deleted_tap(settings: Settings) -> AsyncIterator[EventTap]:
    tap = EventTap(settings, "link.deleted")
    await tap.start()
    yield tap
    await tap.close()
