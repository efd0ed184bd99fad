"""Consuming ``analytics.clicks``: manual acks, a prefetch window, batches.

Deliveries are parsed as they arrive (a body that is not a JSON array of
events is rejected at once, so the broker dead-letters it) and queued; one
loop takes up to ``analytics_batch_size`` events or whatever arrived within
``analytics_batch_wait`` seconds of the first, enriches them, and stores the
whole batch in one transaction (``ingest.record_clicks``). Only after the
commit are the messages acknowledged, and the malformed events of otherwise
good messages republished to the dead-letter queue.

Database trouble (Postgres restarting, connections cut) is retried with
backoff while the messages stay unacknowledged; a batch the database refuses
for what it holds is retried message by message, and the message at fault is
dead-lettered. A lost channel (broker restart) means the messages of that
channel are redelivered by the broker: they are dropped here, and their
events, if already stored, are recognised by their ids."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import aio_pika
import asyncpg
import orjson

from services.analytics.enrich import Click, Enricher
from services.analytics.ingest import Outcome, QuotaReached, record_clicks
from services.analytics.metrics import WorkerMetrics
from shared.amqp import CLICKS_QUEUE
from shared.events import (
    CLICK_RECORDED,
    QUOTA_REACHED,
    EventPublisher,
    MalformedEvent,
    decode_event,
    decode_message,
    new_event,
    parse_click,
)
from shared.events import QuotaReached as QuotaReachedPayload

log = logging.getLogger("services.analytics.consumer")

# Errors after which the same transaction may well succeed: the connection or
# the server went away, or the transaction lost a race.
TRANSIENT_DB_ERRORS: Final = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TransactionRollbackError,
    asyncpg.InsufficientResourcesError,
)
# An acknowledgement that cannot reach its channel any more.
LOST_CHANNEL_ERRORS: Final = (
    aio_pika.exceptions.AMQPError,
    aio_pika.exceptions.ChannelInvalidStateError,
    ConnectionError,
    RuntimeError,
)
MAX_BACKOFF: Final = 5.0

T = TypeVar("T")


async def retrying(action: Callable[[], Awaitable[T]], metrics: WorkerMetrics, what: str) -> T:
    """Run ``action`` until it does not fail with a transient database error."""
    delay = 0.1
    while True:
        try:
            return await action()
        except TRANSIENT_DB_ERRORS as exc:
            metrics.db_retries.inc()
            log.warning(
                "%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, delay
            )
            await asyncio.sleep(delay * (1 + random.random() / 2))
            delay = min(delay * 2, MAX_BACKOFF)


def channel_is_open(message: aio_pika.abc.AbstractIncomingMessage) -> bool:
    try:
        return not message.channel.is_closed
    except aio_pika.exceptions.ChannelInvalidStateError:
        return False


@dataclass(slots=True)
class Delivery:
    message: aio_pika.abc.AbstractIncomingMessage
    events: list[Any]
    clicks: list[Click] = field(default_factory=list)
    bad: list[Any] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


class ClickConsumer:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        enricher: Enricher,
        dead_letters: aio_pika.abc.AbstractExchange,
        metrics: WorkerMetrics,
        batch_size: int,
        batch_wait: float,
        events: EventPublisher | None = None,
    ) -> None:
        self.pool = pool
        self.events = events  # announces quota.reached (webhooks)
        self.enricher = enricher
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.batch_size = max(1, batch_size)
        self.batch_wait = max(0.0, batch_wait)
        self._inbox: asyncio.Queue[Delivery] = asyncio.Queue()
        self._writing: asyncio.Task[Outcome] | None = None

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            events = decode_message(message.body)
        except MalformedEvent as exc:
            await self._reject(message, str(exc))
            return
        self._inbox.put_nowait(Delivery(message, events))

    async def _announce(self, reached: Sequence[QuotaReached]) -> None:
        """``quota.reached`` after the commit, best effort (webhooks announce each
        owner and month once, however often it is reported)."""
        if self.events is None or not reached:
            return
        try:
            await self.events.publish(
                *(
                    new_event(
                        QUOTA_REACHED,
                        QuotaReachedPayload(
                            owner_id=r.owner_id, month=f"{r.month:%Y-%m}", limit=r.quota
                        ),
                    )
                    for r in reached
                )
            )
        except Exception as exc:
            log.warning("quota.reached not announced: %r", exc)

    async def _reject(self, message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        log.warning("dead-lettering message %s: %s", message.message_id, reason)
        try:
            await message.reject(requeue=False)
        except LOST_CHANNEL_ERRORS:
            self.metrics.ack_failures.inc()  # redelivered, and rejected again then
            return
        self.metrics.dead_lettered_messages.labels(CLICKS_QUEUE).inc()

    async def run(self) -> None:
        """Take batches until cancelled. While one batch is being written, the
        next is enriched in a thread, so Python and Postgres work side by side;
        one batch at a time is written."""
        try:
            while True:
                batch = await self._next_batch()
                live = await asyncio.to_thread(self.prepare, batch)
                if self._writing is not None:
                    await asyncio.shield(self._writing)
                self._writing = asyncio.create_task(self._commit_or_requeue(live))
        finally:
            if self._writing is not None and not self._writing.done():
                self._writing.cancel()

    async def _commit_or_requeue(self, live: Sequence[Delivery]) -> Outcome:
        """Never lets a failure stop the loop: what was not settled goes back to the queue."""
        try:
            return await self.commit(live)
        except Exception:
            log.exception("a batch failed unexpectedly; its messages go back to the queue")
            for delivery in live:
                if not delivery.message.processed:
                    with suppress(*LOST_CHANNEL_ERRORS):
                        await delivery.message.nack(requeue=True)
            await asyncio.sleep(1.0)
            return Outcome()

    async def wait_idle(self, within: float) -> None:
        """Let the batch being written finish (on shutdown)."""
        if self._writing is None or self._writing.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._writing), within)
        except TimeoutError:
            log.warning("a batch was still being stored at shutdown; it will be redelivered")

    async def _next_batch(self) -> list[Delivery]:
        batch = [await self._inbox.get()]
        events = len(batch[0].events)
        deadline = asyncio.get_running_loop().time() + self.batch_wait
        while events < self.batch_size:
            try:
                delivery = self._inbox.get_nowait()
            except asyncio.QueueEmpty:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    delivery = await asyncio.wait_for(self._inbox.get(), left)
                except TimeoutError:
                    break
            batch.append(delivery)
            events += len(delivery.events)
        return batch

    def _prepare(self, delivery: Delivery) -> None:
        for raw in delivery.events:
            try:
                event = decode_event(raw)
                if event.type != CLICK_RECORDED:
                    raise MalformedEvent(f"{event.type} does not belong on the clicks queue")
                delivery.clicks.append(self.enricher.enrich(event, parse_click(event.payload)))
            except MalformedEvent as exc:
                delivery.bad.append(raw)
                delivery.reasons.append(str(exc))
            except Exception as exc:  # a bug must park one event, not stop the worker
                log.exception("could not enrich an event")
                delivery.bad.append(raw)
                delivery.reasons.append(f"could not be enriched: {type(exc).__name__}")

    def prepare(self, batch: Sequence[Delivery]) -> list[Delivery]:
        """Validate and enrich (CPU only): the deliveries still worth writing."""
        live: list[Delivery] = []
        for delivery in batch:
            if channel_is_open(delivery.message):  # else the broker redelivers it
                self._prepare(delivery)
                live.append(delivery)
        return live

    async def process(self, batch: Sequence[Delivery]) -> Outcome:
        return await self.commit(self.prepare(batch))

    async def commit(self, prepared: Sequence[Delivery]) -> Outcome:
        """Write the batch in one transaction, then settle each message."""
        started = time.perf_counter()
        live: list[Delivery] = []
        for delivery in prepared:
            if delivery.bad and not delivery.clicks:
                await self._reject(delivery.message, "; ".join(sorted(set(delivery.reasons)))[:500])
            else:
                live.append(delivery)
        outcome = Outcome()
        clicks = [c for d in live for c in d.clicks]
        if clicks:
            try:
                outcome = await self._store(clicks)
            except Exception as exc:  # not transient (those are retried): find the culprit
                log.error("a batch was refused (%s); storing its messages one by one", exc)
                outcome = await self._store_one_by_one(live)
                live = [d for d in live if channel_is_open(d.message) and not d.message.processed]
        for delivery in live:
            await self._settle(delivery)
        self.metrics.record(outcome)
        for reached in outcome.quota_reached:  # after the commit: once per owner and month
            log.warning(
                "user %s reached their plan's quota of %s clicks for %s: "
                "their further clicks this month are not counted",
                reached.owner_id,
                reached.quota,
                f"{reached.month:%Y-%m}",
            )
        await self._announce(outcome.quota_reached)
        if clicks:
            newest = max(c.occurred_at for c in clicks)
            self.metrics.lag_seconds.set((datetime.now(UTC) - newest).total_seconds())
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        return outcome

    async def _store(self, clicks: list[Click]) -> Outcome:
        async def transaction() -> Outcome:
            async with self.pool.acquire() as conn, conn.transaction():
                return await record_clicks(conn, clicks)

        return await retrying(transaction, self.metrics, "storing a batch")

    async def _store_one_by_one(self, deliveries: list[Delivery]) -> Outcome:
        total = Outcome()
        for delivery in deliveries:
            if not delivery.clicks:
                continue
            try:
                total.merge(await self._store(delivery.clicks))
            except Exception as exc:
                log.exception("dead-lettering a message that could not be stored")
                await self._reject(delivery.message, f"could not be stored: {exc}"[:500])
        return total

    async def _settle(self, delivery: Delivery) -> None:
        """After the commit: park the malformed events, then acknowledge."""
        try:
            if delivery.bad:
                await self.dead_letters.publish(
                    aio_pika.Message(
                        body=orjson.dumps(delivery.bad),
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        type=CLICK_RECORDED,
                        headers={"x-reason": "; ".join(sorted(set(delivery.reasons)))[:500]},
                    ),
                    routing_key=CLICKS_QUEUE,
                )
                self.metrics.dead_lettered_events.inc(len(delivery.bad))
            await delivery.message.ack()
        except LOST_CHANNEL_ERRORS as exc:
            # Redelivered: its stored events are recognised, its bad ones parked again.
            self.metrics.ack_failures.inc()
            log.warning("could not settle message %s: %s", delivery.message.message_id, exc)
