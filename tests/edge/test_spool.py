"""The broker is never in a visitor's way: while it cannot be reached, redirects
still succeed and their click events are spooled to disk; a process with a
broker publishes the spool (its own, a sibling's or a crashed run's) and
deletes it. On shutdown the buffer is shipped too."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.links.edge.app import create_app
from services.links.edge.keys import BROKER, CLICKS
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, ClickQueue, MakeLink, within
from tests.support.system import free_port

UA = {"User-Agent": BROWSER}


def spooled_events(directory: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in sorted(directory.glob("clicks-*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                events.extend(orjson.loads(line))
    return events


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    path = tmp_path / "spool"
    path.mkdir()
    return path


async def test_broker_down_spools_then_replays(
    serve_app: ServeApp,
    edge_settings: Settings,
    make_link: MakeLink,
    clicks: ClickQueue,
    spool_dir: Path,
) -> None:
    no_broker = edge_settings.with_overrides(
        amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/", spool_dir=str(spool_dir)
    )
    down = await serve_app(create_app, no_broker)
    assert (await down.get("/ready")).status == 200  # still in rotation without a broker
    link = await make_link("https://example.com/offline")
    responses = await asyncio.gather(
        *(down.get(link.path, allow_redirects=False, headers=UA) for _ in range(30))
    )
    assert [r.status for r in responses] == [302] * 30
    assert {r.headers["Location"] for r in responses} == {"https://example.com/offline"}

    async def spooled() -> int:
        return sum(1 for e in spooled_events(spool_dir) if e["payload"]["link_id"] == link.id)

    assert await within(10.0, spooled, 30)
    assert await clicks.settle(link.id) == []

    # A process that reaches the broker publishes the spool and deletes it.
    await serve_app(create_app, edge_settings.with_overrides(spool_dir=str(spool_dir)))
    events = await clicks.wait_for(link.id, 30)
    assert len(events) == 30
    assert len({e["id"] for e in events}) == 30
    assert {e["payload"]["destination"] for e in events} == {"https://example.com/offline"}

    async def spool_left() -> int:
        return len(spooled_events(spool_dir))

    assert await within(10.0, spool_left, 0)
    assert len(await clicks.settle(link.id)) == 30


async def test_spool_of_a_crashed_run_is_replayed_at_start(
    serve_app: ServeApp, edge_settings: Settings, clicks: ClickQueue, spool_dir: Path
) -> None:
    link_id = 10**12 + secrets.randbelow(10**9)
    event = {
        "id": secrets.token_hex(16),
        "type": "click.recorded",
        "version": 1,
        "occurred_at": "2026-01-02T03:04:05.000006Z",
        "payload": {"link_id": link_id, "owner_id": 7, "alias": "old", "source": "link"},
    }
    crashed = spool_dir / "clicks-999999-deadbeef.jsonl"
    # The crash tore the last line in half: it is skipped, the rest replayed.
    crashed.write_bytes(orjson.dumps([event]) + b"\n" + b'[{"id": "torn')
    await serve_app(create_app, edge_settings.with_overrides(spool_dir=str(spool_dir)))
    (replayed,) = await clicks.wait_for(link_id, 1)
    assert replayed == event

    async def gone() -> bool:
        return not crashed.exists()

    assert await within(10.0, gone, True)


async def test_shutdown_ships_the_buffer(
    serve_app: ServeApp,
    edge_settings: Settings,
    make_link: MakeLink,
    clicks: ClickQueue,
    spool_dir: Path,
) -> None:
    slow = edge_settings.with_overrides(
        click_flush_interval=3600.0, click_batch_size=10_000, spool_dir=str(spool_dir)
    )
    edge = await serve_app(create_app, slow)
    # Connected first (it connects in the background): this is the broker-up case.
    await asyncio.wait_for(edge.app[BROKER].became_ready.wait(), 10)
    link = await make_link("https://example.com/at-shutdown")
    for _ in range(5):
        assert (await edge.get(link.path, allow_redirects=False, headers=UA)).status == 302
    assert len(edge.app[CLICKS]) == 5  # still buffered: nothing published yet
    assert await clicks.arrived(link.id) == []
    await edge.close()
    assert len(await clicks.wait_for(link.id, 5)) == 5
    assert spooled_events(spool_dir) == []


async def test_shutdown_without_broker_spools_the_buffer(
    serve_app: ServeApp, edge_settings: Settings, make_link: MakeLink, spool_dir: Path
) -> None:
    slow = edge_settings.with_overrides(
        amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/",
        click_flush_interval=3600.0,
        click_batch_size=10_000,
        spool_dir=str(spool_dir),
    )
    edge = await serve_app(create_app, slow)
    link = await make_link("https://example.com/spool-at-shutdown")
    for _ in range(4):
        assert (await edge.get(link.path, allow_redirects=False, headers=UA)).status == 302
    await edge.close()
    events = spooled_events(spool_dir)
    assert len(events) == 4
    assert {e["payload"]["link_id"] for e in events} == {link.id}
