"""Fixtures for the edge: links and domains as rows (as the links service would
store them) or as snapshots written straight into Redis, an edge app on a real
port, and a temporary queue that receives its click events."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
import asyncpg
import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.links.app import create_app as create_links_app
from services.links.edge.app import create_app
from services.links.edge.keys import CLICKS, STATS
from services.links.snapshot import (
    domain_key_suffix,
    link_key_suffix,
    load_domain_snapshot,
    load_link_snapshot,
    publish_snapshots,
)
from shared.amqp import declare_events_exchange
from shared.events import CLICK_RECORDED
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi
from tests.support.service_client import service_starter
from tests.support.waiting import eventually

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)
LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
FACEBOOK_BOT = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
COUNTRY_HEADER = "X-Test-Country"

Client = TestClient[web.Request, web.Application]


async def within(seconds: float, probe: Callable[[], Awaitable[Any]], expected: Any) -> bool:
    """Whether ``probe()`` returns ``expected`` at some point in the next ``seconds``
    (a change must reach every edge replica within a second)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        if await probe() == expected:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)


def new_alias() -> str:
    return "t" + secrets.token_hex(5)


def new_owner() -> int:
    return 10**9 + secrets.randbelow(10**9)


@pytest.fixture(scope="session")
def edge_settings(settings: Settings) -> Settings:
    """The run's settings with a country header the tests can set, and fast flushes."""
    return settings.with_overrides(trusted_country_header=COUNTRY_HEADER, click_flush_interval=0.05)


@pytest.fixture
async def edge(serve_app: ServeApp, edge_settings: Settings) -> Client:
    return await serve_app(create_app, edge_settings)


@pytest.fixture
async def qr_api(serve_app: ServeApp, edge_settings: Settings) -> LinksApi:
    """The links service, which serves the QR API, on the edge's settings."""
    return await service_starter(serve_app, edge_settings, create_links_app, LinksApi)()


@dataclass
class Link:
    id: int
    owner: int
    alias: str
    host: str  # "_" for the default domain

    @property
    def path(self) -> str:
        return f"/{self.alias}"

    @property
    def key_suffix(self) -> str:
        return link_key_suffix(self.host, self.alias)


LINK_COLUMNS = {
    "long_url",
    "status",
    "type",
    "password_hash",
    "expires_at",
    "click_limit",
    "expiration_redirect",
    "meta_title",
    "meta_description",
    "meta_image",
    "deeplink",
    "geotarget",
    "devicetarget",
    "languagetarget",
    "parameters",
    "campaign_id",
}
JSON_COLUMNS = {"deeplink", "geotarget", "devicetarget", "languagetarget", "parameters"}

MakeLink = Callable[..., Awaitable[Link]]


@pytest.fixture
def make_link(pg_pool: asyncpg.Pool) -> MakeLink:
    """Insert a row into ``links.links`` (as the links service would) and return it."""

    async def make(
        url: str = "https://example.com/landing",
        *,
        alias: str | None = None,
        domain: tuple[int, str] | None = None,
        owner: int | None = None,
        **columns: Any,
    ) -> Link:
        unknown = set(columns) - LINK_COLUMNS
        assert not unknown, unknown
        values: dict[str, Any] = {"long_url": url, **columns}  # the pool encodes JSON itself
        names = list(values)
        placeholders = [
            f"${i + 5}::jsonb" if n in JSON_COLUMNS else f"${i + 5}" for i, n in enumerate(names)
        ]
        alias = alias or new_alias()
        owner = owner or new_owner()
        row_id = await pg_pool.fetchval(
            f"""INSERT INTO links.links (owner_id, domain_id, alias, updated_at, {", ".join(names)})
                VALUES ($1, $2, $3, $4, {", ".join(placeholders)}) RETURNING id""",
            owner,
            domain[0] if domain else None,
            alias,
            datetime.now().astimezone(),
            *values.values(),
        )
        return Link(row_id, owner, alias, domain[1] if domain else "_")

    return make


MakeDomain = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
def make_domain(pg_pool: asyncpg.Pool) -> MakeDomain:
    async def make(
        root: str | None = None,
        notfound: str | None = None,
        *,
        host: str | None = None,
        verified: bool = True,
    ) -> tuple[int, str]:
        host = host or f"go-{secrets.token_hex(4)}.example.com"
        domain_id = await pg_pool.fetchval(
            """INSERT INTO links.domains (owner_id, host, redirect_root, redirect_404, verified_at)
               VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END) RETURNING id""",
            new_owner(),
            host,
            root,
            notfound,
            verified,
        )
        return domain_id, host

    return make


Publish = Callable[[Link], Awaitable[None]]


@pytest.fixture
def publish_link(
    links_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> Publish:
    """What the links service does after a committed change: rewrite (or delete) the
    snapshot and announce it on the invalidation channel."""

    async def publish(link: Link) -> None:
        snapshot = await load_link_snapshot(links_pool, link.host, link.alias)
        await publish_snapshots(redis_client, settings, [(link.key_suffix, snapshot)])

    return publish


@pytest.fixture
def publish_domain(
    links_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> Callable[[str], Awaitable[None]]:
    async def publish(host: str) -> None:
        snapshot = await load_domain_snapshot(links_pool, host)
        await publish_snapshots(redis_client, settings, [(domain_key_suffix(host), snapshot)])

    return publish


WriteSnapshot = Callable[..., Awaitable[Link]]


@pytest.fixture
def write_snapshot(redis_client: aioredis.Redis, settings: Settings) -> WriteSnapshot:
    """Put a link snapshot straight into Redis, as the links service would write it,
    so that edge tests can set any field without going through the links API."""

    async def write(url: str = "https://example.com/landing", **fields: Any) -> Link:
        link = Link(10**12 + secrets.randbelow(10**9), new_owner(), new_alias(), "_")
        snapshot: dict[str, Any] = {
            "v": 1,
            "id": link.id,
            "owner": link.owner,
            "host": "_",
            "alias": link.alias,
            "url": url,
            "type": "direct",
            "private": False,
            "password": None,
            "expires": None,
            "clicklimit": None,
            "expiredirect": None,
            "meta": None,
            "deeplink": None,
            "geo": None,
            "device": None,
            "language": None,
            "parameters": None,
            "pixels": [],
            "campaign": None,
            "updated": 0,
            **fields,
        }
        await redis_client.set(settings.redis_prefix + link.key_suffix, orjson.dumps(snapshot))
        return link

    return write


@pytest.fixture(scope="session")
async def amqp(settings: Settings) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(settings.amqp_url)
    try:
        yield connection
    finally:
        await connection.close()


def shipped_everything(app: web.Application) -> bool:
    """True once the edge has published (confirmed) or spooled every click it
    buffered: nothing is left in its buffer or in flight."""
    stats = app[STATS]
    done = stats.clicks_published + stats.clicks_spooled + stats.clicks_unencodable
    return len(app[CLICKS]) == 0 and stats.clicks_buffered == done


@pytest.fixture
def edge_apps() -> list[web.Application]:
    """Every edge a test started (through ``serve_app``)."""
    return []


@pytest.fixture
async def serve_app(serve_app: ServeApp, edge_apps: list[web.Application]) -> ServeApp:
    """The shared ``serve_app``, remembering the edges it starts."""

    async def start(
        factory: Callable[[Settings], web.Application], settings_override: Settings | None = None
    ) -> Client:
        client = await serve_app(factory, settings_override)
        if CLICKS in client.app:
            edge_apps.append(client.app)
        return client

    return start


class ClickQueue:
    """A temporary queue bound to the events exchange for ``click.recorded``."""

    def __init__(
        self, queue: aio_pika.abc.AbstractQueue, edges: list[web.Application] | None = None
    ) -> None:
        self.queue = queue
        self.edges = edges if edges is not None else []
        self.events: list[dict[str, Any]] = []

    async def _drain(self) -> None:
        while True:
            message = await self.queue.get(no_ack=True, fail=False)
            if message is None:
                return
            assert message.routing_key == CLICK_RECORDED
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            self.events.extend(orjson.loads(message.body))

    def of(self, link_id: int) -> list[dict[str, Any]]:
        return [e for e in self.events if e["payload"]["link_id"] == link_id]

    async def wait_for(
        self, link_id: int, count: int, within: float = 15.0
    ) -> list[dict[str, Any]]:
        """The events of ``link_id`` once ``count`` have arrived (or what came in ``within``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.of(link_id)) < count and loop.time() < deadline:
            await self._drain()
            await asyncio.sleep(0.05)
        return self.of(link_id)

    async def arrived(self, link_id: int) -> list[dict[str, Any]]:
        """The events of ``link_id`` in the queue now."""
        await self._drain()
        return self.of(link_id)

    async def settle(self, link_id: int, within: float = 15.0) -> list[dict[str, Any]]:
        """The events of ``link_id`` once every edge of the test has shipped every
        click it buffered (a confirmed message is already in this queue): a click
        that should not exist cannot arrive after this returns."""

        async def all_shipped() -> bool:
            return all(shipped_everything(app) for app in self.edges)

        await eventually(all_shipped, within=within, every=0.01)
        await self._drain()
        return self.of(link_id)


@pytest.fixture
async def clicks(
    amqp: aio_pika.abc.AbstractRobustConnection,
    settings: Settings,
    edge_apps: list[web.Application],
) -> AsyncIterator[ClickQueue]:
    channel = await amqp.channel()
    exchange = await declare_events_exchange(channel, settings)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key=CLICK_RECORDED)
    try:
        yield ClickQueue(queue, edge_apps)
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await channel.close()
