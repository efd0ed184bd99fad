"""Reading the rollups: the stats block of a link, its time series with
breakdowns over a range, click counts and ranking of an owner's links, and an
owner's usage. Nothing here reads raw clicks, so the cost of an answer depends
on the number of distinct values and time buckets, never on the number of clicks.

Every read is scoped to the owner: another owner's link reads as no clicks."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal

from services.analytics import queries
from services.analytics.db import Conn
from services.analytics.enrich import DIRECT, SOCIAL_NETWORKS
from services.analytics.maintenance import add_months
from shared.countries import country_name
from shared.dates import format_datetime

Interval = Literal["hour", "day", "month"]
INTERVALS: Final[tuple[Interval, ...]] = ("hour", "day", "month")
TOP: Final = 10
MAX_POINTS: Final = 1_000

# The breakdowns of the published stats block (socialCount apart).
BLOCK: Final = (
    ("topCountries", "country"),
    ("topReferrers", "referrer"),
    ("topBrowsers", "browser"),
    ("topOs", "os"),
)


def display(dim: str, value: str) -> str:
    if dim == "country":
        return country_name(value)
    if dim == "referrer":
        return value or DIRECT
    return value or "Unknown"


def breakdowns(
    rows: Iterable[tuple[str, str, int]], keys: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """``{"topCountries": {name: n}, ..., "socialCount": {...}}`` from (dim, value, clicks)."""
    by_dim: dict[str, Counter[str]] = defaultdict(Counter)
    for dim, value, clicks in rows:
        by_dim[dim][display(dim, value)] += clicks
    out: dict[str, Any] = {}
    for key, dim in keys:
        ranked = sorted(by_dim[dim].items(), key=lambda item: (-item[1], item[0]))[:TOP]
        out[key] = dict(ranked)
    social = by_dim["social"]
    out["socialCount"] = {network: social.get(network, 0) for network in SOCIAL_NETWORKS}
    return out


def empty_block() -> dict[str, Any]:
    return {"clicks": 0, "uniqueClicks": 0, "botClicks": 0, **breakdowns((), BLOCK)}


async def link_block(conn: Conn, link_id: int, owner_id: int) -> dict[str, Any]:
    """The stats block of API.md §3, plus ``botClicks`` (visits of crawlers: stored,
    flagged, in no other figure); all zero for a link without clicks or of another owner."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await conn.fetchrow(queries.LINK_TOTALS, link_id, owner_id)
        if totals is None:
            return empty_block()
        dims = [dim for _, dim in BLOCK] + ["social"]
        # "Unknown" may gather several stored values, so read a few more than shown.
        rows = await conn.fetch(queries.TOP_DIMS, link_id, dims, TOP + 2, totals["folded_before"])
    return {
        "clicks": totals["clicks"],
        "uniqueClicks": totals["unique_clicks"],
        "botClicks": totals["bot_clicks"],
        **breakdowns(((r["dim"], r["value"], r["clicks"]) for r in rows), BLOCK),
    }


def truncate(moment: datetime, interval: Interval) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if interval == "hour":
        return moment
    moment = moment.replace(hour=0)
    return moment if interval == "day" else moment.replace(day=1)


def step(moment: datetime, interval: Interval) -> datetime:
    if interval == "hour":
        return moment + timedelta(hours=1)
    if interval == "day":
        return moment + timedelta(days=1)
    nxt = add_months(moment.date(), 1)
    return moment.replace(year=nxt.year, month=nxt.month)


@dataclass(frozen=True, slots=True)
class Range:
    """Whole buckets: ``start`` is the first bucket, ``end`` the end of the last."""

    start: datetime
    end: datetime
    interval: Interval

    @classmethod
    def covering(cls, start: datetime, end: datetime, interval: Interval) -> Range:
        first = truncate(start, interval)
        last = truncate(end - timedelta(microseconds=1), interval)
        return cls(first, step(last, interval), interval)

    def buckets(self) -> list[datetime]:
        out: list[datetime] = []
        moment = self.start
        while moment < self.end and len(out) <= MAX_POINTS:
            out.append(moment)
            moment = step(moment, self.interval)
        return out

    @property
    def days(self) -> tuple[date, date]:
        """The days the breakdowns cover: every day that overlaps the range."""
        last = (self.end - timedelta(microseconds=1)).date()
        return self.start.date(), last + timedelta(days=1)


async def link_series(conn: Conn, link_id: int, owner_id: int, span: Range) -> dict[str, Any]:
    """Clicks per bucket over ``span`` and the breakdowns of the days it covers."""
    rows: list[Any] = []
    dim_rows: list[Any] = []
    if await conn.fetchrow(queries.LINK_TOTALS, link_id, owner_id) is not None:
        rows = await conn.fetch(queries.SERIES, link_id, span.interval, span.start, span.end)
        first_day, end_day = span.days
        dim_rows = await conn.fetch(queries.RANGE_DIMS, link_id, first_day, end_day)
    return series_answer(span, rows, dim_rows)


def series_answer(span: Range, rows: Iterable[Any], dim_rows: Iterable[Any]) -> dict[str, Any]:
    """The series body from rows of (bucket, clicks, unique_clicks, bot_clicks) and of
    (dim, value, clicks): every bucket of ``span``, the totals and the breakdowns."""
    found: Mapping[datetime, Any] = {r["bucket"].astimezone(UTC): r for r in rows}
    series = []
    clicks = unique = bots = 0
    for bucket in span.buckets():
        row = found.get(bucket)
        point = (row["clicks"], row["unique_clicks"], row["bot_clicks"]) if row else (0, 0, 0)
        clicks, unique, bots = clicks + point[0], unique + point[1], bots + point[2]
        series.append(
            {"date": format_datetime(bucket), "clicks": point[0], "uniqueClicks": point[1]}
        )
    return {
        "from": format_datetime(span.start),
        "to": format_datetime(span.end),
        "interval": span.interval,
        "clicks": clicks,
        "uniqueClicks": unique,
        "botClicks": bots,
        "series": series,
        **breakdowns(((r["dim"], r["value"], r["clicks"]) for r in dim_rows), BLOCK),
    }


async def link_counts(conn: Conn, owner_id: int, link_ids: list[int]) -> dict[str, int]:
    rows = await conn.fetch(queries.COUNTS, owner_id, link_ids)
    found = {r["link_id"]: r["clicks"] for r in rows}
    return {str(link_id): found.get(link_id, 0) for link_id in link_ids}


async def ranking(conn: Conn, owner_id: int) -> list[list[int]]:
    return [[r["link_id"], r["clicks"]] for r in await conn.fetch(queries.RANKING, owner_id)]


async def usage_this_month(conn: Conn, owner_id: int, today: date) -> dict[str, int]:
    """Clicks counted this month, and those left out by the plan's monthly quota."""
    return (await usage_by_owner(conn, [owner_id], today))[owner_id]


async def usage_by_owner(
    conn: Conn, owner_ids: Sequence[int], today: date
) -> dict[int, dict[str, int]]:
    """:func:`usage_this_month` of several owners in one query."""
    rows = await conn.fetch(queries.USAGE_BY_OWNER, list(owner_ids), today.replace(day=1))
    found = {r["owner_id"]: r for r in rows}
    return {
        owner: {
            "clicks_this_month": int(found[owner]["clicks"]) if owner in found else 0,
            "clicks_over_quota_this_month": int(found[owner]["over_quota"])
            if owner in found
            else 0,
        }
        for owner in owner_ids
    }


async def bio_block(
    conn: Conn, link_id: int, owner_id: int, blocks: Sequence[int | None]
) -> dict[str, Any]:
    """A bio page's stats: its views are its link's clicks (a block's click is not a
    view), the breakdowns those of its views, and the clicks of each of ``blocks``."""
    page = await link_block(conn, link_id, owner_id)
    clicked = {
        r["block_id"]: r["clicks"]
        for r in await conn.fetch(queries.BLOCK_CLICKS, link_id, owner_id)
    }
    devices = await conn.fetch(queries.VIEW_DEVICES, link_id, owner_id)
    return {
        "views": page["clicks"],
        "uniqueViews": page["uniqueClicks"],
        "botViews": page["botClicks"],
        "blocks": {str(b): clicked.get(b, 0) for b in blocks if b is not None},
        "countries": page["topCountries"],
        "referrers": page["topReferrers"],
        "browsers": page["topBrowsers"],
        "os": page["topOs"],
        "devices": {r["device"]: r["clicks"] for r in sorted(devices, key=lambda r: -r["clicks"])},
    }
