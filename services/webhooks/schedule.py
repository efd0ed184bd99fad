"""Sending what is due, from the Postgres schedule.

Every delivery is a row with ``next_attempt_at``; nothing about a retry lives in
a process's memory. The dispatcher claims due rows (``FOR UPDATE SKIP LOCKED``,
so replicas share the work) and moves each claimed row's next attempt past the
send's deadline: if the process dies mid-send, the row comes due again
(at-least-once; receivers de-duplicate by event id). After the attempt the
outcome is written in batches: delivered, retried at ``now + backoff``
(exponential from ``WEBHOOK_RETRY_BASE`` to ``WEBHOOK_RETRY_MAX``, with jitter),
or given up once the delivery is older than ``WEBHOOK_RETRY_WINDOW``. An
endpoint failing for the whole window (its failure streak, from the first
failure after a success, is that long, or a delivery is given up with no success
since) is disabled with the reason, and what it was still owed is abandoned.

Fairness: at most ``WEBHOOK_ENDPOINT_CONCURRENCY`` requests per endpoint are in
flight in a process (the claim query itself leaves the rest of a busy
endpoint's rows alone), each with a deadline, out of ``WEBHOOK_CONCURRENCY``:
a slow or dead endpoint holds a few slots, never the others' deliveries.

Clicks and scans of webhooks that want batches wait in ``batched_events``; once
the oldest is ``batch_seconds`` old they become one delivery of type ``batch``
(``data.events`` holds the events, each with its own id)."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import asyncpg

from services.webhooks import queries
from services.webhooks.catalog import BATCH, encode, envelope
from services.webhooks.sender import Outcome, Sender
from shared.dates import utcnow
from shared.dependencies import RetryingLoopLog
from shared.settings import Settings

log = logging.getLogger("services.webhooks.schedule")
# One per process: the loops below share their outages (one line each way).
OUTAGES: Final = RetryingLoopLog(log)

LEASE_MARGIN: Final = 30.0  # seconds past the sends' deadlines before a claimed row is due again
QUEUE_DEPTH: Final = 4  # an endpoint's claimed rows per process: this many times its concurrency
RECORD_BATCH: Final = 500
RECORD_WAIT: Final = 0.02  # outcomes are written at most this long after the attempt
MAX_BATCH_EVENTS: Final = 1000
FINISHED_KEPT: Final = 86_400.0  # delivered and given-up rows, seconds
ATTEMPTS_KEPT: Final = 7 * 86_400.0  # the log the owner sees, seconds
HOUSEKEEPING_INTERVAL: Final = 600.0


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: base·2^(n-1), capped, ±20 %."""
    delay = min(settings.webhook_retry_base * 2 ** max(0, attempts - 1), settings.webhook_retry_max)
    return float(delay * random.uniform(0.8, 1.2))


def disabled_reason(settings: Settings, error: str | None) -> str:
    hours = settings.webhook_retry_window / 3600
    span = f"{hours:g} hours" if hours >= 1 else f"{settings.webhook_retry_window:g} seconds"
    return f"Every delivery failed for {span}; the last error: {error or 'unknown'}"


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: int
    endpoint_id: int
    event_id: str
    event_type: str
    attempt: int
    created_at: datetime
    outcome: Outcome


@dataclass(slots=True)
class Recorder:
    """Writes attempts' outcomes in batches (one transaction per batch)."""

    pool: asyncpg.Pool
    settings: Settings
    pending: list[Attempt] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, attempt: Attempt) -> None:
        self.pending.append(attempt)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(RECORD_WAIT)  # let a few more finish
            self._wake.clear()
            try:
                await self.flush()
                OUTAGES.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                OUTAGES.failed(f"recording {len(self.pending)} attempt(s)", exc)
                await asyncio.sleep(1.0)
                self._wake.set()

    async def flush(self) -> None:
        while self.pending:
            batch = self.pending[:RECORD_BATCH]
            await record(self.pool, self.settings, batch)
            del self.pending[: len(batch)]


async def record(pool: asyncpg.Pool, settings: Settings, batch: list[Attempt]) -> None:
    now = utcnow()
    window = settings.webhook_retry_window
    delivered = [a for a in batch if a.outcome.ok]
    failed = [a for a in batch if not a.outcome.ok]
    expired = [a for a in failed if (now - a.created_at).total_seconds() >= window]
    retried = [a for a in failed if (now - a.created_at).total_seconds() < window]
    last_error = {a.endpoint_id: a.outcome.error for a in failed}
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            queries.INSERT_ATTEMPTS,
            [a.endpoint_id for a in batch],
            [a.event_id for a in batch],
            [a.event_type for a in batch],
            [a.attempt for a in batch],
            [a.outcome.status for a in batch],
            [a.outcome.latency_ms for a in batch],
            [a.outcome.error for a in batch],
        )
        if delivered:
            await conn.execute(queries.MARK_DELIVERED, [a.delivery_id for a in delivered])
            await conn.execute(
                queries.ENDPOINTS_SUCCEEDED, sorted({a.endpoint_id for a in delivered})
            )
        if expired:
            await conn.execute(queries.MARK_FAILED, [a.delivery_id for a in expired])
        if retried:
            await conn.execute(
                queries.RESCHEDULE,
                [a.delivery_id for a in retried],
                [backoff(settings, a.attempt) for a in retried],
            )
        if failed:
            # An endpoint that also succeeded in this batch is not failing.
            succeeded = {a.endpoint_id for a in delivered}
            streaks = await conn.fetch(
                queries.ENDPOINTS_FAILED,
                sorted({a.endpoint_id for a in failed} - succeeded),
                window,
            )
            # Disabled when the failure streak is as long as the window, or when a
            # delivery that failed for the whole window is given up mid-streak.
            gave_up = {a.endpoint_id for a in expired}
            for row in streaks:
                if row["expired"] or row["id"] in gave_up:
                    await disable(conn, row["id"], disabled_reason(settings, last_error[row["id"]]))


async def disable(conn: asyncpg.Connection[Any] | Any, endpoint_id: int, reason: str) -> None:
    await conn.execute(queries.DISABLE_ENDPOINT, endpoint_id, reason)
    await conn.execute(queries.ABANDON_DELIVERIES, endpoint_id)
    await conn.execute(queries.DROP_BATCHED, endpoint_id)
    log.warning("webhook %s disabled: %s", endpoint_id, reason)


async def make_batches(pool: asyncpg.Pool) -> int:
    """Turn every endpoint's waiting clicks into a batch delivery once the oldest
    is old enough; returns how many batches were made."""
    made = 0
    for row in await pool.fetch(queries.DUE_BATCHES):
        endpoint_id = row["endpoint_id"]
        async with pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(queries.LOCK_BATCHING_ENDPOINT, endpoint_id) is None:
                continue  # another replica is on it (or it was just disabled)
            taken = await conn.fetch(queries.TAKE_BATCH, endpoint_id, MAX_BATCH_EVENTS)
            if not taken:
                continue
            batch_id = uuid.uuid4().hex
            first = min(r["occurred_at"] for r in taken)
            body = envelope(batch_id, BATCH, utcnow(), {"events": [r["event"] for r in taken]})
            await conn.execute(
                queries.INSERT_DELIVERY, endpoint_id, batch_id, BATCH, encode(body), first
            )
            made += 1
    return made


class Dispatcher:
    """Claims due deliveries and sends them, within the concurrency limits.

    A claim takes up to ``QUEUE_DEPTH`` times an endpoint's concurrency of its due
    rows at once, so a busy endpoint's next request starts as soon as one ends,
    without a round trip; the claimed rows' lease covers that wait."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: Sender,
        settings: Settings,
        *,
        on_sent: Callable[[Attempt, datetime], None] | None = None,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.settings = settings
        self.recorder = Recorder(pool, settings)
        self.on_sent = on_sent
        self.per_endpoint = max(1, settings.webhook_endpoint_concurrency)
        self.depth = self.per_endpoint * QUEUE_DEPTH  # rows one endpoint may hold here
        self.capacity = max(self.per_endpoint, settings.webhook_concurrency)
        # A held row waits for at most QUEUE_DEPTH sends before it, each with a deadline.
        self.lease = settings.webhook_timeout * (QUEUE_DEPTH + 1) + LEASE_MARGIN
        self.in_flight: Counter[int] = Counter()
        self.queued: dict[int, deque[asyncpg.Record]] = {}
        self.held = 0  # claimed rows not finished yet (queued or in flight)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """New deliveries were stored (or room freed): look now, not at the next poll."""
        self._wake.set()

    @property
    def busy(self) -> int:
        return len(self._tasks)

    async def run(self) -> None:
        recorder = asyncio.create_task(self.recorder.run(), name="webhooks-recorder")
        batches = asyncio.create_task(self._batch_loop(), name="webhooks-batches")
        try:
            while True:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_interval)
                self._wake.clear()
                try:
                    await self.dispatch()
                    OUTAGES.succeeded()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    OUTAGES.failed("claiming due deliveries", exc)
                    await asyncio.sleep(1.0)
        finally:
            for task in (batches, recorder):
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task

    def _held_by(self, endpoint_id: int) -> int:
        return self.in_flight[endpoint_id] + len(self.queued.get(endpoint_id, ()))

    async def dispatch(self) -> int:
        """Claim due deliveries while there is room; returns how many were claimed."""
        claimed = 0
        while True:
            free = self.capacity - self.held
            if free <= 0:
                return claimed
            held = {eid: self._held_by(eid) for eid in set(self.in_flight) | set(self.queued)}
            full = [eid for eid, n in held.items() if n >= self.depth]
            partial = [(eid, n) for eid, n in held.items() if 0 < n < self.depth]
            rows = await self.pool.fetch(
                queries.CLAIM_DUE,
                full,
                free,
                self.depth,
                [eid for eid, _ in partial],
                [n for _, n in partial],
                self.lease,
                free,
            )
            for row in rows:
                self.held += 1
                self.queued.setdefault(row["endpoint_id"], deque()).append(row)
            for endpoint_id in {row["endpoint_id"] for row in rows}:
                self._pump(endpoint_id)
            claimed += len(rows)
            if not rows:
                return claimed

    def _pump(self, endpoint_id: int) -> None:
        """Start this endpoint's held rows while it has a free slot."""
        waiting = self.queued.get(endpoint_id)
        while waiting and self.in_flight[endpoint_id] < self.per_endpoint:
            row = waiting.popleft()
            self.in_flight[endpoint_id] += 1
            task = asyncio.create_task(self._send(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not waiting:
            self.queued.pop(endpoint_id, None)

    async def _send(self, row: asyncpg.Record) -> None:
        endpoint_id = row["endpoint_id"]
        try:
            outcome = await self.sender.send(
                row["url"], row["secret"], row["event_id"], row["event_type"], row["body"]
            )
            attempt = Attempt(
                delivery_id=row["id"],
                endpoint_id=endpoint_id,
                event_id=row["event_id"],
                event_type=row["event_type"],
                attempt=row["attempts"],
                created_at=row["created_at"],
                outcome=outcome,
            )
            self.recorder.add(attempt)
            if self.on_sent is not None:
                self.on_sent(attempt, row["occurred_at"])
        finally:
            self.held -= 1
            self.in_flight[endpoint_id] -= 1
            if self.in_flight[endpoint_id] <= 0:
                del self.in_flight[endpoint_id]
            self._pump(endpoint_id)
            if self._held_by(endpoint_id) <= self.depth // 2:
                self._wake.set()  # refill before this endpoint runs dry

    async def _batch_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.webhook_poll_interval)
            try:
                if await make_batches(self.pool):
                    self.wake()
                OUTAGES.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                OUTAGES.failed("making click batches", exc)

    async def stop(self, grace: float) -> None:
        """Let the requests in flight finish (a while), then write their outcomes.
        Rows held but not started come due again when their lease ends."""
        self.queued.clear()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        with suppress(Exception):
            await self.recorder.flush()


async def every(interval: float, action: Callable[[], Awaitable[Any]], what: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await action()
            OUTAGES.succeeded()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            OUTAGES.failed(what, exc)


async def housekeeping(pool: asyncpg.Pool) -> None:
    await pool.execute(queries.PURGE_FINISHED, FINISHED_KEPT)
    await pool.execute(queries.PURGE_ATTEMPTS, ATTEMPTS_KEPT)
