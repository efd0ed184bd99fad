"""Nothing lost, nothing doubled, when RabbitMQ itself stops and starts again.

Every real process runs; the machine's broker is stopped (``rabbitmqctl
stop_app``) in the middle of a stream of clicks and started again. Visitors
keep getting their redirects while it is down (the edge spools the events to
disk), and once it is back the stats read through the gateway show every
redirect exactly once. A link deleted while the broker is down still has its
clicks removed from analytics once it is back (the links service's outbox)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.e2e.conftest import add_user
from tests.support.api_calls import call
from tests.support.system import RunningSystem

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl for the local broker"
    ),
]

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
BEFORE, WHILE_DOWN, AFTER = 40, 40, 40


async def rabbitmqctl(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()


@pytest.fixture
async def broker() -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """``await broker("stop")`` / ``await broker("start")``; whatever happens,
    the broker is running again when the test ends."""
    state = {"stopped": False}

    async def switch(action: str) -> None:
        if action == "stop":
            state["stopped"] = True
            await rabbitmqctl("stop_app")
        else:
            await rabbitmqctl("start_app")
            await rabbitmqctl("await_startup")
            state["stopped"] = False

    try:
        yield switch
    finally:
        if state["stopped"]:
            await switch("start")


async def click(http: aiohttp.ClientSession, url: str, n: int, destination: str) -> None:
    for _ in range(n):
        async with http.get(url, headers={"User-Agent": AGENT}, allow_redirects=False) as resp:
            await resp.read()
            assert resp.status == 302
            assert resp.headers["Location"] == destination


async def until(read: Callable[[], Awaitable[Any]], wanted: Any, within: float = 90) -> Any:
    """Poll ``read`` until it answers ``wanted`` (or a higher count); its last answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen = None
    while loop.time() < deadline:
        seen = await read()
        if seen is not None and (seen == wanted or (wanted and seen > wanted)):
            return seen
        await asyncio.sleep(0.5)
    return seen


async def clicks_of(http: aiohttp.ClientSession, api: str, link_id: int, key: str) -> Any:
    status, body, _ = await call(http, "GET", f"{api}/url/{link_id}", key)
    if status != 200:
        return None  # a service still reconnecting: ask again
    return (body["data"] or {}).get("clicks")


async def analytics_rows(pg_pool: asyncpg.Pool, link_id: int) -> int:
    count: int = await pg_pool.fetchval(
        "SELECT (SELECT count(*) FROM analytics.clicks WHERE link_id = $1)"
        " + (SELECT count(*) FROM analytics.link_totals WHERE link_id = $1)",
        link_id,
    )
    return count


async def test_clicks_across_a_broker_restart_are_counted_exactly_once(
    system: RunningSystem,
    admin_key: str,
    broker: Callable[[str], Awaitable[None]],
    pg_pool: asyncpg.Pool,
) -> None:
    api = system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    destination = f"https://example.com/restart/{tag}"
    async with aiohttp.ClientSession() as http:
        # A plan whose bucket lets the test poll the stats as often as it likes.
        status, plan, _ = await call(
            http,
            "POST",
            f"{api}/plan/add",
            admin_key,
            {"name": f"Poll {tag}", "free": True, "rate": {"capacity": 10_000, "window": 60}},
        )
        assert status == 200, plan
        key = await add_user(http, api, admin_key, f"brk{tag}", plan["id"])
        status, body, _ = await call(http, "POST", f"{api}/url/add", key, {"url": destination})
        assert status == 200, body
        link_id, short = body["id"], body["shorturl"]
        status, body, _ = await call(http, "POST", f"{api}/url/add", key, {"url": destination})
        assert status == 200, body
        doomed_id, doomed = body["id"], body["shorturl"]

        await click(http, short, BEFORE, destination)
        await click(http, doomed, 5, destination)
        await until(lambda: clicks_of(http, api, doomed_id, key), 5)
        await broker("stop")
        await click(http, short, WHILE_DOWN, destination)  # redirects never wait for it
        status, body, _ = await call(http, "DELETE", f"{api}/url/{doomed_id}/delete", key)
        assert (status, body["error"]) == (200, 0)  # a delete does not wait for it either
        await broker("start")
        await click(http, short, AFTER, destination)

        expected = BEFORE + WHILE_DOWN + AFTER
        assert await until(lambda: clicks_of(http, api, link_id, key), expected) == expected
        # The deleted link's link.deleted, staged while the broker was down, arrived.
        assert await until(lambda: analytics_rows(pg_pool, doomed_id), 0) == 0
        # Spools replayed and redeliveries settled: still exactly that many.
        await asyncio.sleep(3)
        assert await clicks_of(http, api, link_id, key) == expected
