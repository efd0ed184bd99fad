"""``EDGE_PROCESSES=2``: two edge processes share the public port (the kernel
spreads connections across them), each keeps its own ops port, every click of
either is counted, and stopping the first stops both."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from shared.settings import Settings
from tests.edge.conftest import BROWSER, ClickQueue, MakeLink, within
from tests.support.system import RunningSystem, with_free_ports


async def clicks_buffered(http: aiohttp.ClientSession, ops_url: str) -> float:
    async with http.get(ops_url + "/metrics") as resp:
        text = await resp.text()
    found = re.search(r'^edge_clicks_total\{fate="buffered"\} (\S+)$', text, re.M)
    assert found, text[:500]
    return float(found.group(1))


def edge_pids(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [parent, *map(int, children)]


async def test_two_processes_share_the_port_and_count_every_click(
    edge_settings: Settings, make_link: MakeLink, clicks: ClickQueue, tmp_path: Path
) -> None:
    settings = with_free_ports(edge_settings).with_overrides(edge_processes=2)
    system = RunningSystem(settings, names=("edge",), log_dir=tmp_path)
    await system.start()
    try:
        pids = edge_pids(system.procs["edge"].pid)
        assert len(pids) == 2
        assert system.settings.edge_ops_port is not None
        second_ops = f"http://127.0.0.1:{system.settings.edge_ops_port + 1}"
        assert await within(60.0, lambda: ready(second_ops), True), "the second process"
        link = await make_link("https://example.com/two")
        requests = 200
        # A new connection per request: the kernel picks a process for each.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            for _ in range(requests):
                async with http.get(
                    system.edge_url + link.path,
                    allow_redirects=False,
                    headers={"User-Agent": BROWSER},
                ) as resp:
                    assert resp.status == 302
            per_process = [
                await clicks_buffered(http, system.edge_ops_url),
                await clicks_buffered(http, second_ops),
            ]
        assert sum(per_process) == requests
        assert min(per_process) > 0, per_process
        await clicks.wait_for(link.id, requests)
        await clicks.settle(link.id)
        assert len(clicks.of(link.id)) == requests
    finally:
        await system.stop()
    assert await within(15.0, lambda: running(pids), []), "edge processes left running"


async def ready(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url + "/ready") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


async def running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
