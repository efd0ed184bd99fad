"""``make run`` keeps its processes running: a child that exits is restarted
with a growing backoff and the log says so; stopping stops every child; and
``WORKERS``/``EDGES`` start several copies with ports that do not collide."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from deploy.processes import PROCESSES
from deploy.run_local import plan_children
from deploy.supervisor import Child, Supervisor
from tests.support.waiting import eventually


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def exited(child: Child) -> bool:
    return child.proc is not None and child.proc.returncode is not None


async def test_a_crashed_child_is_restarted_with_backoff_and_stop_stops_all(
    tmp_path: Path,
) -> None:
    starts = tmp_path / "starts"
    crashing = Child(
        "crashy",
        python(f"open({str(starts)!r}, 'a').write('x'); print('up', flush=True); exit(3)"),
        dict(os.environ),
    )
    steady = Child("steady", python("import time; print('up', flush=True); time.sleep(600)"), {})
    lines: list[str] = []
    supervisor = Supervisor(
        [crashing, steady], say=lines.append, backoff_min=0.05, backoff_max=0.2, grace=5
    )
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))

    async def restarted_thrice() -> bool:
        return crashing.restarts >= 4 and starts.exists() and len(starts.read_text()) >= 4

    await eventually(restarted_thrice, within=20)
    notes = [line for line in lines if line.startswith("crashy exited")]
    assert notes[:4] == [
        "crashy exited with code 3; restarting it in 0.05 s (restart 1)",
        "crashy exited with code 3; restarting it in 0.1 s (restart 2)",
        "crashy exited with code 3; restarting it in 0.2 s (restart 3)",
        "crashy exited with code 3; restarting it in 0.2 s (restart 4)",
    ]
    assert "crashy restarted" in lines
    assert any(line.startswith("crashy|") and line.endswith(" up") for line in lines)
    assert steady.restarts == 0
    assert not exited(steady)

    stop.set()  # what Ctrl-C does
    await asyncio.wait_for(running, 10)
    assert exited(steady)
    assert exited(crashing)


def test_workers_and_edges_can_run_several_times_on_one_host() -> None:
    env = {
        "WORKERS": "2",
        "EDGES": "3",
        "WORKER_METRICS_PORT": "8104",
        "EDGE_OPS_PORT": "9080",
        "EDGE_PORT": "8080",
    }
    ports = iter(range(40_000, 40_100))
    children = plan_children(list(PROCESSES), env, pick_port=lambda: next(ports))
    names = [c.name for c in children]
    assert names.count("accounts") == 1
    assert [n for n in names if n.startswith("worker")] == ["worker-1", "worker-2"]
    assert [n for n in names if n.startswith("edge")] == ["edge-1", "edge-2", "edge-3"]
    workers = [c for c in children if c.name.startswith("worker")]
    edges = [c for c in children if c.name.startswith("edge")]
    assert len({c.env["WORKER_METRICS_PORT"] for c in workers}) == 2
    assert workers[0].env["WORKER_METRICS_PORT"] == "8104"
    assert len({c.env["EDGE_OPS_PORT"] for c in edges}) == 3
    assert {c.env["EDGE_PORT"] for c in edges} == {"8080"}  # shared: SO_REUSEPORT


def test_a_bad_replica_count_is_refused() -> None:
    with pytest.raises(SystemExit, match="WORKERS must be a number"):
        plan_children(list(PROCESSES), {"WORKERS": "two"})
