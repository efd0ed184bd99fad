"""Reacting to other services' events: a deleted user's links and domains go.

Consumes ``user.deleted`` from the durable queue ``<prefix>links.lifecycle``
with manual acks: a message is acknowledged only after the user's objects are
deleted and their snapshots removed, so a crash mid-way redelivers it (and
deleting again is harmless)."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import aio_pika
import asyncpg
from aiohttp import web

from services.links import queries
from services.links.effects import Effects, apply_effects
from services.links.resources import RESOURCES
from shared.amqp import LINKS_LIFECYCLE_QUEUE
from shared.appkeys import PG_POOL, SETTINGS
from shared.events import USER_DELETED, MalformedEvent, decode_event, decode_message

log = logging.getLogger("services.links.lifecycle")

QUEUE: Final = LINKS_LIFECYCLE_QUEUE  # declared as shared.amqp.QUEUES defines it
RETRY_DELAY: Final = 1.0


async def purge_user(app: web.Application, user_id: int) -> int:
    """Delete every link and resource of a user; returns how many links went."""
    settings = app[SETTINGS]
    async with app[PG_POOL].acquire() as conn, conn.transaction():
        links = await conn.fetch(queries.DELETE_OWNER_LINKS, user_id)
        effects = Effects().removed_links(links)
        for resource in RESOURCES:
            effects.merge(await resource.purge_owner(conn, user_id, settings))
        await effects.stage(conn)
    await apply_effects(app, effects)
    return len(links)


class LifecycleConsumer:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._busy: set[asyncio.Task[object]] = set()

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._busy.add(task)
        try:
            await self._handle(message)
        finally:
            if task is not None:
                self._busy.discard(task)

    async def _handle(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            user_ids: list[int] = []
            for raw in decode_message(message.body):
                event = decode_event(raw)
                if event.type != USER_DELETED:
                    continue
                user_id = event.payload.get("user_id")
                if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
                    raise MalformedEvent("user.deleted needs a positive integer user_id")
                user_ids.append(user_id)
        except MalformedEvent as exc:
            log.error("dropping a malformed lifecycle message: %s", exc)
            await message.reject(requeue=False)
            return
        try:
            for user_id in user_ids:
                removed = await purge_user(self.app, user_id)
                log.info("deleted user %s: %s link(s) removed", user_id, removed)
        except (asyncpg.PostgresError, OSError):
            log.exception("could not remove a deleted user's links; will retry")
            await asyncio.sleep(RETRY_DELAY)
            await message.nack(requeue=True)
            return
        await message.ack()

    async def drain(self, within: float = 10.0) -> None:
        """Let messages being handled finish (they are acked only when done)."""
        if self._busy:
            await asyncio.wait(list(self._busy), timeout=within)
