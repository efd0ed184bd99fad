"""Removing what a test run created: its database, Redis keys and AMQP names."""

from __future__ import annotations

import asyncio
import shutil

import aio_pika
import asyncpg
import redis.asyncio as aioredis

from shared.settings import Settings


async def drop_database(dsn: str) -> None:
    server, _, name = dsn.rpartition("/")
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def drop_redis_keys(settings: Settings) -> None:
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{settings.redis_prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.delete(*batch)
                batch.clear()
        if batch:
            await client.delete(*batch)
    finally:
        await client.aclose()


async def _rabbitmqctl_names(kind: str) -> list[str]:
    if shutil.which("rabbitmqctl") is None:
        return []
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        f"list_{kind}",
        "name",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    return [line.strip() for line in out.decode().splitlines() if line.strip()]


async def drop_amqp_names(settings: Settings) -> None:
    """Delete every queue and exchange under this run's prefix."""
    queues = [q for q in await _rabbitmqctl_names("queues") if q.startswith(settings.amqp_prefix)]
    exchanges = [
        e for e in await _rabbitmqctl_names("exchanges") if e.startswith(settings.amqp_prefix)
    ]
    if not queues and not exchanges:
        return
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()
