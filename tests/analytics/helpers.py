"""Building click events as the edge does, and waiting for the worker."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aio_pika
import asyncpg
import orjson

from shared.amqp import dead_queue, name
from shared.events import CLICK_RECORDED, EventPublisher, new_event
from shared.settings import Settings
from tests.support.waiting import eventually

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

_link_ids = itertools.count(secrets.randbelow(10**9) + 10**10)


def new_link_id() -> int:
    """A link id no other test uses."""
    return next(_link_ids)


def click_event(
    link_id: int,
    owner_id: int,
    *,
    ip: str = "203.0.113.7",
    user_agent: str = CHROME_WINDOWS,
    referrer: str | None = None,
    country: str | None = None,
    accept_language: str | None = "en-US,en;q=0.9",
    at: datetime | None = None,
    source: str = "link",
    qr_id: int | None = None,
) -> dict[str, Any]:
    """A ``click.recorded`` event exactly as the edge publishes it."""
    payload = {
        "link_id": link_id,
        "owner_id": owner_id,
        "alias": "abc123",
        "host": "localhost:8080",
        "destination": "https://example.com/landing",
        "source": source,
        "qr_id": qr_id,
        "campaign_id": None,
        "ip": ip,
        "user_agent": user_agent,
        "referrer": referrer,
        "accept_language": accept_language,
        "country": country,
    }
    return new_event(CLICK_RECORDED, payload, at=at).to_json()


async def publish(
    publisher: EventPublisher, events: Sequence[dict[str, Any]], *, per_message: int = 500
) -> None:
    """Publish like the edge: JSON arrays of up to ``per_message`` events, confirmed."""
    for start in range(0, len(events), per_message):
        await publisher.publish_raw(CLICK_RECORDED, events[start : start + per_message])


async def link_clicks(pool: asyncpg.Pool, link_id: int) -> int:
    value = await pool.fetchval(
        "SELECT clicks FROM analytics.link_totals WHERE link_id = $1", link_id
    )
    return int(value or 0)


async def raw_count(pool: asyncpg.Pool, link_id: int) -> int:
    value = await pool.fetchval("SELECT count(*) FROM analytics.clicks WHERE link_id = $1", link_id)
    return int(value)


async def wait_for_clicks(
    pool: asyncpg.Pool, link_id: int, expected: int, *, within: float = 30.0
) -> None:
    async def done() -> bool:
        return await link_clicks(pool, link_id) >= expected

    await eventually(done, within=within)


class DeadLetters:
    """Reads (and consumes) what landed in a dead-letter queue."""

    def __init__(self, settings: Settings, queue: str) -> None:
        self.settings = settings
        self.queue_name = name(settings, dead_queue(queue))

    async def drain(
        self, within: float = 10.0, *, expect: int = 0
    ) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Every message in the queue; waits until at least ``expect`` arrived."""
        found: list[aio_pika.abc.AbstractIncomingMessage] = []
        connection = await aio_pika.connect(self.settings.amqp_url)
        try:
            channel = await connection.channel()
            queue = await channel.get_queue(self.queue_name)
            async with asyncio.timeout(within):
                while True:
                    message = await queue.get(fail=False)
                    if message is None:
                        if len(found) >= expect:
                            return found
                        await asyncio.sleep(0.05)
                        continue
                    await message.ack()
                    found.append(message)
        finally:
            await connection.close()


def body_events(message: aio_pika.abc.AbstractIncomingMessage) -> Any:
    return orjson.loads(message.body)


def write_city_database(path: str) -> str:
    """A tiny MaxMind city database: 198.51.100.0/24 is Toronto, 2001:db8:beef::/48 France,
    8.8.8.0/24 London (the registries say US: the database must win)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet  # type: ignore[import-untyped]

    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en"]
    )
    writer.insert_network(
        IPSet(["198.51.100.0/24"]),
        {
            "country": {"iso_code": "CA", "names": {"en": "Canada"}},
            "city": {"names": {"en": "Toronto"}},
        },
    )
    writer.insert_network(
        IPSet(["8.8.8.0/24"]),
        {
            "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
            "city": {"names": {"en": "London"}},
        },
    )
    writer.insert_network(
        IPSet(["2001:db8:beef::/48"]), {"country": {"iso_code": "FR", "names": {"en": "France"}}}
    )
    writer.to_db_file(path)
    return path


async def broker_listing(*what: str) -> list[tuple[str, str]]:
    """The rows of a listing of the machine's broker (``what``: the ``rabbitmqctl``
    command and its columns), each split at its first tab."""
    listing = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        "--no-table-headers",
        *what,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await listing.communicate()
    rows: list[tuple[str, str]] = []
    for line in out.decode().splitlines():
        first, _, rest = line.partition("\t")
        rows.append((first, rest))
    return rows


async def close_broker_connections(connection_name: str) -> int:
    """Force-close (as a broker restart would) the connections carrying this exact name;
    every other connection on the machine's broker is left alone."""
    closed = 0
    for pid, properties in await broker_listing("list_connections", "pid", "client_properties"):
        if f'{{"connection_name","{connection_name}"}}' not in properties:
            continue
        close = await asyncio.create_subprocess_exec(
            "rabbitmqctl",
            "-q",
            "close_connection",
            pid,
            "test: connection interrupted",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if await close.wait() == 0:
            closed += 1
    return closed


async def queue_depth(queue: str) -> int:
    """Messages in a queue, ready and delivered-but-unacknowledged alike."""
    for found, count in await broker_listing("list_queues", "name", "messages"):
        if found == queue:
            return int(count)
    raise LookupError(f"no queue {queue}")
