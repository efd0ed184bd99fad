"""Evicting cached principals when accounts change, whichever way the change came.

Each gateway replica binds its own exclusive, auto-deleted queue to
``user.deleted``, ``plan.changed``, ``apikey.revoked`` and ``team.changed`` on the events
exchange; all replicas share one Redis cache, so any of them evicting is
enough, and all of them doing it is harmless."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web

from gateway.keys import PRINCIPALS
from gateway.principals import PrincipalStore
from shared import amqp, events
from shared.appkeys import AMQP, SETTINGS

log = logging.getLogger("gateway.invalidation")

CONSUMED: Final = (
    events.USER_DELETED,
    events.PLAN_CHANGED,
    events.APIKEY_REVOKED,
    events.TEAM_CHANGED,
)
RETRY_DELAY: Final = 1.0  # seconds before a message that failed (Redis down) comes back


@dataclass
class Evictions:
    users: set[int] = field(default_factory=set)
    plans: set[int] = field(default_factory=set)
    key_hashes: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.users or self.plans or self.key_hashes)

    def add(self, event: events.Event) -> None:
        payload = event.payload
        if event.type in (events.USER_DELETED, events.TEAM_CHANGED):
            # a team change: the member's principals in that workspace go
            self.users.add(_id(payload, "user_id"))
        elif event.type == events.PLAN_CHANGED:
            user_id = payload.get("user_id")
            if user_id is None:
                self.plans.add(_id(payload, "plan_id"))  # the plan's limits changed
            else:
                self.users.add(_id(payload, "user_id"))  # one user moved plans
        elif event.type == events.APIKEY_REVOKED:
            key_hash = payload.get("key_hash")
            if isinstance(key_hash, str) and len(key_hash) == 64:
                self.key_hashes.add(key_hash.lower())
            if payload.get("user_id") is not None:
                self.users.add(_id(payload, "user_id"))


def _id(payload: Any, name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise events.MalformedEvent(f"payload.{name} must be an integer")
    return value


def evictions_of(raw_events: Iterable[Any]) -> Evictions:
    found = Evictions()
    for raw in raw_events:
        try:
            event = events.decode_event(raw)
            if event.type in CONSUMED:
                found.add(event)
        except events.MalformedEvent as exc:
            log.warning("ignoring a malformed event: %s", exc)
    return found


async def handle(store: PrincipalStore, message: AbstractIncomingMessage) -> None:
    try:
        found = evictions_of(events.decode_message(message.body))
    except events.MalformedEvent as exc:
        log.warning("ignoring a malformed message: %s", exc)
        await message.ack()
        return
    try:
        if found:
            evicted = await store.evict(
                users=found.users, plans=found.plans, key_hashes=found.key_hashes
            )
            log.info("evicted %d cached principal(s) on %s", evicted, message.routing_key)
    except Exception:
        log.exception("could not evict cached principals; retrying the message")
        await asyncio.sleep(RETRY_DELAY)
        await message.nack(requeue=True)
        return
    await message.ack()


async def invalidation_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: this replica's consumer of account-change events."""
    settings = app[SETTINGS]
    store = app[PRINCIPALS]
    channel = await app[AMQP].channel()
    await channel.set_qos(prefetch_count=32)
    exchange = await amqp.declare_events_exchange(channel, settings)
    queue = await channel.declare_queue(
        amqp.name(settings, f"gateway.invalidate.{uuid.uuid4().hex[:12]}"),
        exclusive=True,
        auto_delete=True,
    )
    for routing_key in CONSUMED:
        await queue.bind(exchange, routing_key=routing_key)

    async def on_message(message: AbstractIncomingMessage) -> None:
        await handle(store, message)

    tag = await queue.consume(on_message)
    try:
        yield
    finally:
        try:
            await queue.cancel(tag)
        except aio_pika.exceptions.AMQPError:
            log.debug("consumer already gone")
        await channel.close()
