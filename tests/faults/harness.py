"""The fault suite's instruments: a steady, bounded click load on one short link,
an API prober, and the table of what each fault did.

Both record what they saw per phase (``before`` the fault, ``during`` it,
``after`` it was removed), so a test asserts what a visitor and an API client
got, and how long the system took to answer normally again."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.support.api_calls import call

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
PHASES = ("before", "during", "after")


@dataclass
class Phased:
    """Status counts per phase, and when each phase began (monotonic seconds)."""

    phase: str = "before"
    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {p: Counter[str]() for p in PHASES}
    )
    began: dict[str, float] = field(default_factory=lambda: {"before": time.monotonic()})

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.began[phase] = time.monotonic()

    def record(self, outcome: str) -> None:
        self.counts[self.phase][outcome] += 1


@dataclass
class ClickLoad(Phased):
    """``rate`` visits a second to ``url``, at most ``concurrency`` in flight; a
    visit that would exceed it is skipped (and counted as such), so the load
    stays bounded whatever the edge does."""

    url: str = ""
    destination: str = ""
    host: str | None = None  # a Host header other than the short domain's
    rate: float = 40.0
    concurrency: int = 8
    redirects: int = 0  # 302s to the right place: each must be counted once
    first_redirect_after: float | None = None  # since the "after" phase began
    in_flight: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            pending: set[asyncio.Task[None]] = set()
            interval = 1.0 / self.rate
            next_at = time.monotonic()
            while not stop.is_set():
                if self.in_flight >= self.concurrency:
                    self.record("skipped")
                else:
                    task = asyncio.create_task(self._visit(http))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if pending:
                await asyncio.gather(*pending)

    async def _visit(self, http: aiohttp.ClientSession) -> None:
        self.in_flight += 1
        phase = self.phase
        try:
            headers = {"User-Agent": AGENT}
            if self.host is not None:
                headers["Host"] = self.host
            async with http.get(self.url, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                status = resp.status
                location = resp.headers.get("Location")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.counts[phase][type(exc).__name__] += 1
            return
        finally:
            self.in_flight -= 1
        if status == 302 and location == self.destination:
            self.redirects += 1
            if phase == "after" and self.first_redirect_after is None:
                self.first_redirect_after = time.monotonic() - self.began["after"]
        self.counts[phase][str(status)] += 1


@dataclass
class ApiProbe(Phased):
    """Every ``every`` seconds: read a link (``GET /api/url/:id``) and create one
    (``POST /api/url/add``) through the gateway."""

    api: str = ""
    key: str = ""
    link_id: int = 0
    every: float = 0.5
    healthy_after: float | None = None  # both answered 200, since "after" began
    bodies: dict[str, list[Any]] = field(default_factory=lambda: {p: [] for p in PHASES})

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not stop.is_set():
                phase = self.phase
                read = await self._call(http, "GET", f"/url/{self.link_id}", None)
                write = await self._call(
                    http, "POST", "/url/add", {"url": "https://example.com/probe"}
                )
                self.record(f"read {read}")
                self.record(f"write {write}")
                if phase == "after" and self.healthy_after is None and read == write == "200":
                    self.healthy_after = time.monotonic() - self.began["after"]
                await asyncio.sleep(self.every)

    async def _call(self, http: aiohttp.ClientSession, method: str, path: str, body: Any) -> str:
        try:
            status, answer, headers = await call(http, method, self.api + path, self.key, body)
        except (aiohttp.ClientError, TimeoutError, AssertionError) as exc:
            return type(exc).__name__
        if status == 503:
            assert "Retry-After" in headers, answer
            assert answer == {"error": 1, "message": answer["message"]}
        self.bodies[self.phase].append((method, status, answer))
        return str(status)


def shown(counts: Counter[str]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in sorted(counts.items())) or "-"


@dataclass
class FaultRow:
    fault: str
    outage: float
    redirects_during: Counter[str]
    api_during: Counter[str]
    api_after: Counter[str]
    answered: int
    counted: int
    recovery: float | None
    log_lines: int = 0
    note: str = ""

    def cells(self) -> list[str]:
        lost = self.answered - self.counted
        return [
            self.fault,
            f"{self.outage:.1f} s",
            shown(self.redirects_during),
            shown(self.api_during),
            shown(self.api_after),
            f"{self.counted:,} = {self.answered:,}"
            if lost == 0
            else f"{self.counted:,} of {self.answered:,} ({lost} lost)",
            "-" if self.recovery is None else f"{self.recovery:.1f} s",
            str(self.log_lines),
            self.note,
        ]


HEADERS = [
    "fault",
    "outage",
    "visits during (status × n)",
    "API during",
    "API after",
    "clicks counted = redirects",
    "recovery",
    "log lines",
    "note",
]


def table(rows: list[FaultRow]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def loss_bound(rate: float, flush_interval: float, concurrency: int) -> int:
    """Clicks an edge killed with SIGKILL may lose: what it buffered within one
    flush window (twice the interval, for the flush in progress), plus the
    visits in flight."""
    return math.ceil(rate * 2 * flush_interval) + concurrency
