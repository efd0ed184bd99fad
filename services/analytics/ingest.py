"""Writing a batch of enriched clicks: raw rows and every rollup in one
transaction, keyed by event id, so that a redelivered event counts once.

Inside the transaction, in this order:

1. lock the batch's owners (advisory, ascending): quota decisions and deletions
   of one owner never interleave across workers;
2. drop clicks of deleted links and owners (read after the lock, so a deletion
   that committed first is always seen);
3. insert the raw rows, ``ON CONFLICT DO NOTHING RETURNING``: only the rows that
   come back are new, everything else was counted before;
4. tracked clicks beyond the owner's monthly quota lose their raw row again
   and are counted in the owner's usage as left out (an admin has no quota);
5. the new visitors of the day (``ON CONFLICT DO NOTHING RETURNING``) are the
   unique clicks;
6. the rollups and the owner's usage grow by what is new (``ADD_ROLLUPS``).

The caller acknowledges the messages only after the commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from services.analytics import queries
from services.analytics.db import Conn
from services.analytics.enrich import Click


@dataclass(frozen=True, slots=True)
class QuotaReached:
    """An owner whose clicks of ``month`` began to be left out by this batch."""

    owner_id: int
    month: date
    quota: int


@dataclass(slots=True)
class Outcome:
    """What a batch did, for metrics, logs and tests."""

    counted: int = 0
    unique: int = 0
    bots: int = 0
    duplicates: int = 0
    over_quota: int = 0
    deleted: int = 0
    quota_reached: list[QuotaReached] = field(default_factory=list)

    def merge(self, other: Outcome) -> None:
        self.counted += other.counted
        self.unique += other.unique
        self.bots += other.bots
        self.duplicates += other.duplicates
        self.over_quota += other.over_quota
        self.deleted += other.deleted
        self.quota_reached.extend(other.quota_reached)


async def record_clicks(conn: Conn, batch: Sequence[Click]) -> Outcome:
    """Store ``batch``; the caller owns the transaction."""
    outcome = Outcome()
    unique_batch: dict[str, Click] = {}
    for click in batch:
        if click.event_id in unique_batch:
            outcome.duplicates += 1
        else:
            unique_batch[click.event_id] = click
    clicks = list(unique_batch.values())
    if not clicks:
        return outcome

    owners = sorted({c.owner_id for c in clicks})
    await conn.execute(queries.LOCK_BREAKDOWNS_SHARED)
    await conn.execute(queries.LOCK_OWNERS, owners)
    gone_links = {
        r[0] for r in await conn.fetch(queries.DELETED_LINKS, [c.link_id for c in clicks])
    }
    gone_owners = {r[0] for r in await conn.fetch(queries.DELETED_OWNERS, owners)}
    if gone_links or gone_owners:
        kept = [c for c in clicks if c.link_id not in gone_links and c.owner_id not in gone_owners]
        outcome.deleted += len(clicks) - len(kept)
        clicks = kept

    new = await _insert_raw(conn, clicks)
    outcome.duplicates += len(clicks) - len(new)
    tracked, bots = await _apply_quota(conn, new, outcome)
    outcome.bots += len(bots)
    outcome.counted += len(tracked)
    # A bio page's block clicks are counted per block, apart from the page's views.
    # (A crawler's block click keeps only its raw row.)
    block_clicks = [c for c in tracked if c.block_id is not None]
    if block_clicks:
        tracked = [c for c in tracked if c.block_id is None]
        await _add_block_clicks(conn, block_clicks)
    bots = [c for c in bots if c.block_id is None]
    first_visits = await _new_visitors(conn, tracked)
    outcome.unique += len(first_visits)
    await _add_rollups(conn, tracked, bots, first_visits)
    return outcome


async def _insert_raw(conn: Conn, clicks: list[Click]) -> list[Click]:
    rows = await conn.fetch(
        queries.INSERT_CLICKS,
        [
            [
                c.event_id,
                c.occurred_at,
                c.link_id,
                c.owner_id,
                c.source,
                c.qr_id,
                c.campaign_id,
                c.ip_prefix,
                c.visitor_hash.hex(),
                c.country,
                c.city,
                c.browser,
                c.os,
                c.device,
                c.referrer,
                c.social,
                c.language,
                c.is_bot,
                c.block_id,
            ]
            for c in clicks
        ],
    )
    inserted = {r[0] for r in rows}
    return [c for c in clicks if c.event_id in inserted]


async def _apply_quota(
    conn: Conn, new: list[Click], outcome: Outcome
) -> tuple[list[Click], list[Click]]:
    """Split new clicks into tracked ones (within quota) and bots; drop the rest,
    counting them in the owner's usage."""
    humans = [c for c in new if not c.is_bot]
    bots = [c for c in new if c.is_bot]
    if not humans:
        return [], bots
    keys = sorted({(c.owner_id, c.month) for c in humans})
    rows = await conn.fetch(queries.QUOTA_STATE, [k[0] for k in keys], [k[1] for k in keys])
    room: dict[tuple[int, date], int | None] = {
        (r["owner_id"], r["month"]): (max(0, r["quota"] - r["used"]) if r["quota"] > 0 else None)
        for r in rows
    }
    tracked: list[Click] = []
    over: list[Click] = []
    for click in sorted(humans, key=lambda c: (c.occurred_at, c.event_id)):
        key = (click.owner_id, click.month)
        left = room.get(key)
        if left is None:
            tracked.append(click)
        elif left > 0:
            room[key] = left - 1
            tracked.append(click)
        else:
            over.append(click)
    if over:
        await conn.execute(
            queries.DELETE_CLICKS, [c.event_id for c in over], [c.occurred_at for c in over]
        )
        outcome.over_quota += len(over)
        quotas = {(r["owner_id"], r["month"]): r["quota"] for r in rows}
        left_out = sorted(Counter((c.owner_id, c.month) for c in over).items())
        totals = await conn.fetch(
            queries.ADD_OVER_QUOTA,
            [k[0] for k, _ in left_out],
            [k[1] for k, _ in left_out],
            [n for _, n in left_out],
        )
        added = dict(left_out)
        for row in totals:
            key = (row["owner_id"], row["month"])
            if row["over_quota"] == added[key]:  # none left out before this batch
                outcome.quota_reached.append(QuotaReached(key[0], key[1], quotas[key]))
    usage = Counter((c.owner_id, c.month) for c in tracked)
    if usage:
        ordered = sorted(usage.items())
        await conn.execute(
            queries.ADD_USAGE,
            [k[0] for k, _ in ordered],
            [k[1] for k, _ in ordered],
            [n for _, n in ordered],
        )
    return tracked, bots


async def _add_block_clicks(conn: Conn, clicks: list[Click]) -> None:
    await conn.execute(
        queries.ADD_BLOCK_CLICKS,
        [c.link_id for c in clicks],
        [c.block_id for c in clicks],
        [c.owner_id for c in clicks],
    )


async def _new_visitors(conn: Conn, tracked: list[Click]) -> set[str]:
    """Event ids of the clicks that are a visitor's first on that link that day."""
    first: dict[tuple[int, date, bytes], Click] = {}
    for click in tracked:  # already in time order
        first.setdefault((click.link_id, click.day, click.visitor_hash), click)
    if not first:
        return set()
    keys = sorted(first)
    rows = await conn.fetch(queries.INSERT_VISITORS, [[k[0], k[1], k[2].hex()] for k in keys])
    return {
        first[(r["link_id"], r["day"], bytes.fromhex(r["visitor_hash"]))].event_id for r in rows
    }


async def _add_rollups(
    conn: Conn, tracked: list[Click], bots: list[Click], first_visits: set[str]
) -> None:
    clicks = tracked + bots
    if not clicks:
        return
    await conn.execute(
        queries.ADD_ROLLUPS,
        [
            [
                c.link_id,
                c.owner_id,
                c.occurred_at,
                c.event_id in first_visits,
                c.is_bot,
                c.country,
                c.referrer,
                c.browser,
                c.os,
                c.social,
            ]
            for c in clicks
        ],
    )
