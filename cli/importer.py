"""Running an import: links from a source, in batches of up to 1,000 through
the bulk code (local) or endpoint (remote), with a progress bar and a summary.

Re-running an import creates nothing twice: each link carries its source key
(``bitly:bit.ly/3xYz``, ...), and a link whose key this user already imported
is reported as skipped. An alias that is free is kept; a taken one is reported
as a collision (a failure, or with ``--rename-taken`` the link is created with a
new alias). Every failure is written with its reason to the failures file."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from cli.sources import SourceLink
from services.links.link_store import ALIAS_TAKEN

BATCH: Final = 1_000
# Batches in flight at once: one is validated here while the other is written.
PARALLEL: Final = 2
# Sends one batch of bulk items; answers the bulk results, in order.
Sink = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


@dataclass
class Summary:
    created: int = 0
    skipped: int = 0  # imported before (same source key)
    failed: int = 0
    renamed: int = 0  # created with a new alias: theirs was taken
    collisions: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "skipped": self.skipped,
            "failed": self.failed,
            "renamed": self.renamed,
            "collisions": self.collisions,
        }


class Failures:
    """The failures file: one row per link not imported (or renamed), with the reason."""

    COLUMNS: Final = ("source", "url", "alias", "outcome", "reason")

    def __init__(self, handle: TextIO) -> None:
        self.writer = csv.writer(handle)
        self.writer.writerow(self.COLUMNS)

    def write(self, link: SourceLink, outcome: str, reason: str) -> None:
        self.writer.writerow([link.source, link.url, link.alias or "", outcome, reason])


async def _aiter(
    links: Iterable[SourceLink] | AsyncIterator[SourceLink],
) -> AsyncIterator[SourceLink]:
    if isinstance(links, AsyncIterator):
        async for link in links:
            yield link
    else:
        for link in links:
            yield link


async def _send(
    sink: Sink, batch: list[SourceLink], summary: Summary, failures: Failures, rename: bool
) -> None:
    results = await sink([link.item() for link in batch])
    retry: list[SourceLink] = []
    for link, result in zip(batch, results, strict=True):
        if not result["error"]:
            if result.get("existing"):
                summary.skipped += 1
            else:
                summary.created += 1
            continue
        message = str(result.get("message"))
        if message == ALIAS_TAKEN:
            summary.collisions += 1
            if rename:
                retry.append(link)
                continue
        summary.failed += 1
        summary.reasons[message] = summary.reasons.get(message, 0) + 1
        failures.write(link, "failed", message)
    if retry:
        again = await sink([link.item(keep_alias=False) for link in retry])
        for link, result in zip(retry, again, strict=True):
            if result["error"]:
                summary.failed += 1
                failures.write(link, "failed", str(result.get("message")))
            else:
                summary.renamed += 1
                summary.created += 1
                failures.write(link, "renamed", f"alias taken; now {result['shorturl']}")


async def run_import(
    links: Iterable[SourceLink] | AsyncIterator[SourceLink],
    sink: Sink,
    *,
    failures_path: Path,
    total: int | None = None,
    rename_taken: bool = False,
    label: str = "Importing",
    show_progress: bool = True,
) -> Summary:
    summary = Summary()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("created {task.fields[created]} · skipped {task.fields[skipped]} · "
                   "failed {task.fields[failed]}"),
        TimeElapsedColumn(),
    )  # fmt: skip
    with (
        failures_path.open("w", newline="", encoding="utf-8") as handle,
        Progress(*columns, disable=not show_progress, transient=False) as progress,
    ):
        failures = Failures(handle)
        task = progress.add_task(label, total=total, created=0, skipped=0, failed=0)
        in_flight: list[asyncio.Task[None]] = []

        async def send(batch: list[SourceLink]) -> None:
            await _send(sink, batch, summary, failures, rename_taken)
            progress.update(
                task,
                advance=len(batch),
                created=summary.created,
                skipped=summary.skipped,
                failed=summary.failed,
            )

        async def flush(batch: list[SourceLink]) -> None:
            if len(in_flight) >= PARALLEL:
                await in_flight.pop(0)
            in_flight.append(asyncio.create_task(send(batch)))

        batch: list[SourceLink] = []
        try:
            async for link in _aiter(links):
                batch.append(link)
                if len(batch) >= BATCH:
                    await flush(batch)
                    batch = []
            if batch:
                await flush(batch)
            for pending in in_flight:
                await pending
        finally:
            for pending in in_flight:
                pending.cancel()
    return summary
