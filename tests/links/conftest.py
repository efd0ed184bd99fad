"""Fixtures for the links service: the app on a real port with a signing client,
and helpers to read what it stored (Postgres, Redis) and published (RabbitMQ)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.accounts.app import create_app as create_accounts_app
from services.links.app import create_app
from services.links.keys import TITLES
from services.links.snapshot import invalidate_channel, redis_key
from shared import amqp
from shared.identity import Principal
from shared.settings import Settings
from tests.accounts.conftest import AccountsApi
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.service_client import service_starter
from tests.support.signed_client import SignedClient

#: The kinds whose add answers only the error and the id (the others answer what they stored).
ID_ONLY = frozenset({"domain", "overlay", "pixel", "splash"})
#: How the answers name each kind.
LABELS = {
    "campaign": "Campaign",
    "channel": "Channel",
    "domain": "Domain",
    "overlay": "CTA overlay",
    "pixel": "Pixel",
    "splash": "Splash page",
}
#: Where each kind is stored (``links.<table>``, with an ``owner_id``).
TABLES = {
    "campaign": "campaigns",
    "channel": "channels",
    "domain": "domains",
    "overlay": "overlays",
    "pixel": "pixels",
    "splash": "splash_pages",
}


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
        """Add a link: the answer."""
        return await self.added(who, "url", **body)

    async def added(self, who: Principal, kind: str, /, **body: Any) -> dict[str, Any]:
        """``POST /api/<kind>/add`` (url, pixel, splash, channel, campaign, qr, ...) that
        succeeds: the answer (only the error and the id for the kinds in ``ID_ONLY``)."""
        status, data = await self.call("POST", f"/api/{kind}/add", who, body)
        assert status == 200, data
        assert data["error"] == 0
        if kind in ID_ONLY:
            assert set(data) == {"error", "id"}
        result: dict[str, Any] = data
        return result

    async def create(self, who: Principal, kind: str, /, **body: Any) -> int:
        """Add a ``kind`` (pixel, splash, channel, campaign, ...) and answer its id."""
        created: int = (await self.added(who, kind, **body))["id"]
        return created

    async def refused(
        self, who: Principal, kind: str, body: Any, status: int = 400, item_id: int | None = None
    ) -> str:
        """Adding a ``kind`` (or updating the one of ``item_id``) that is refused with
        ``status``: the message."""
        if item_id is None:
            got, answer = await self.call("POST", f"/api/{kind}/add", who, body)
        else:
            got, answer = await self.call("PUT", f"/api/{kind}/{item_id}/update", who, body)
        assert got == status, answer
        assert answer["error"] == 1
        message: str = answer["message"]
        return message

    async def assert_updated(
        self, who: Principal, kind: str, item_id: int, change: dict[str, Any]
    ) -> None:
        """``change`` to the ``kind`` of ``item_id`` succeeds, with the published message."""
        status, body = await self.call("PUT", f"/api/{kind}/{item_id}/update", who, change)
        message = f"{LABELS[kind]} has been updated successfully."
        assert (status, body) == (200, {"error": 0, "message": message})

    async def assert_deleted(self, who: Principal, kind: str, item_id: int) -> None:
        """Deleting the ``kind`` of ``item_id`` succeeds, with the published message."""
        status, body = await self.call("DELETE", f"/api/{kind}/{item_id}/delete", who)
        message = f"{LABELS[kind]} has been deleted successfully."
        assert (status, body) == (200, {"error": 0, "message": message})

    async def assert_not_found(
        self, who: Principal, kind: str, item_id: int, change: dict[str, Any] | None = None
    ) -> None:
        """Reading, updating (with ``change``) and deleting the ``kind`` of ``item_id``
        are 404s for ``who``."""
        for method, path, body in (
            ("GET", f"/api/{kind}/{item_id}", None),
            ("PUT", f"/api/{kind}/{item_id}/update", change or {"name": "mine"}),
            ("DELETE", f"/api/{kind}/{item_id}/delete", None),
        ):
            status, answer = await self.call(method, path, who, body)
            assert (status, answer) == (404, {"error": 1, "message": f"{LABELS[kind]} not found."})

    async def fetch(self, who: Principal, path: str) -> Any:
        """A GET that answers 200: the answer."""
        status, data = await self.call("GET", path, who)
        assert status == 200, data
        return data

    async def details(self, who: Principal, link_id: int) -> dict[str, Any]:
        status, data = await self.call("GET", f"/api/url/{link_id}", who)
        assert status == 200, data
        details: dict[str, Any] = data["details"]
        return details

    async def titles_done(self) -> None:
        await self.app[TITLES].join()


StartLinks = Callable[..., Awaitable[LinksApi]]


@dataclass
class ContactGroups:
    """The real accounts service, which owns contact groups (an overlay's ``group``),
    and the links service pointed at it."""

    accounts: AccountsApi
    links: LinksApi

    async def owner(self) -> Principal:
        """A real accounts user, signed in with every feature (no quotas)."""
        user = await self.accounts.add_user()
        found = principals.user(principals.UNLIMITED_LIMITS)
        return replace(found, user_id=user.id, username=user.username)

    async def group(self, who: Principal, name: str = "Leads") -> int:
        """A contact group of ``who``, added through the accounts API."""
        got = await self.accounts.call("POST", "/api/contact/group/add", who, {"name": name})
        assert got.status == 200, got.body
        group_id: int = got.body["id"]
        return group_id


@pytest.fixture
async def start_links(serve_app: ServeApp, settings: Settings) -> StartLinks:
    """Start the links app; analytics points at a closed port unless overridden."""
    return service_starter(serve_app, settings, create_app, LinksApi)


@pytest.fixture
async def links(start_links: StartLinks) -> LinksApi:
    return await start_links()


@pytest.fixture
async def contact_groups(
    serve_app: ServeApp, settings: Settings, start_links: StartLinks
) -> ContactGroups:
    accounts = await service_starter(serve_app, settings, create_accounts_app, AccountsApi)()
    accounts_url = str(accounts.client.make_url("")).rstrip("/")
    return ContactGroups(accounts, await start_links(accounts_url=accounts_url))


OwnedRows = Callable[[asyncpg.Pool, Principal], Awaitable[list[asyncpg.Record]]]


def owned_rows(kind: str) -> OwnedRows:
    """``rows(pg_pool, who)``: the ``kind``s ``who`` has stored, oldest first."""

    async def rows(pg_pool: asyncpg.Pool, who: Principal) -> list[asyncpg.Record]:
        found: list[asyncpg.Record] = await pg_pool.fetch(
            f"SELECT * FROM links.{TABLES[kind]} WHERE owner_id = $1 ORDER BY id", who.user_id
        )
        return found

    return rows


def published_dates(rows: list[asyncpg.Record]) -> dict[int, str]:
    """Each row's ``created_at`` as the API publishes it, by id."""
    return {r["id"]: r["created_at"].strftime("%Y-%m-%d %H:%M:%S") for r in rows}


def only_page(key: str, items: list[Any]) -> dict[str, Any]:
    """The answer of a list endpoint asked for ``?limit=2&page=1`` when all fits that page."""
    return {
        "error": 0,
        "data": {
            "result": len(items),
            "perpage": 2,
            "currentpage": 1,
            "nextpage": 1,
            "maxpage": 1,
            key: items,
        },
    }


async def assert_refused_on_add_and_update(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    kind: str,
    valid: dict[str, Any],
    change: dict[str, Any],
    message: str,
) -> None:
    """``valid`` with ``change`` is refused (400, ``message``) as a new ``kind``, and
    ``change`` as an update of a stored one; nothing is stored or changed."""
    rows = owned_rows(kind)
    alice = principals.user()
    assert message in await links.refused(alice, kind, {**valid, **change})
    assert await rows(pg_pool, alice) == []

    item_id = await links.create(alice, kind, **valid)
    before = await rows(pg_pool, alice)
    await links.refused(alice, kind, change, item_id=item_id)
    assert await rows(pg_pool, alice) == before


async def snapshot(
    redis_client: aioredis.Redis, settings: Settings, suffix: str
) -> dict[str, Any] | None:
    raw = await redis_client.get(redis_key(settings, suffix))
    return None if raw is None else orjson.loads(raw)


class Invalidations:
    """Collects the invalidation channel's messages while a test runs."""

    def __init__(self, redis_client: aioredis.Redis, settings: Settings) -> None:
        self.redis_client = redis_client
        self.settings = settings
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

    async def snapshot_after(self, suffix: str, times: int = 1) -> dict[str, Any]:
        """The snapshot at ``suffix``, once it has been announced ``times`` times."""
        await self.wait_for(suffix, times)
        snap = await snapshot(self.redis_client, self.settings, suffix)
        assert snap is not None
        return snap

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
