"""Importing links with the command line: 100,000 links from a CSV file into
a fresh database (``shortener import csv``, local mode: the bulk code, 1,000
links per transaction, snapshots published to Redis), timed end to end in its
own process, with that process's peak RSS; and 10,000 links the same way, so
that the two peaks show whether memory stays flat as the file grows.

Target: 100,000 links in under 60 s; peak RSS at 100k within 1.25x of 10k."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from services.accounts.registration import register
from shared.passwords import hash_password_async
from shared.settings import Settings
from tests.bench.harness import bench_settings, verdict
from tests.support.system import ROOT, settings_env

LINKS = 100_000
SMALL = 10_000
TARGET_SECONDS = 60.0
FLAT_RATIO = 1.25


def _write_csv(path: Path, count: int, prefix: str) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("url,alias,title,tags,created\n")
        for i in range(count):
            out.write(
                f"https://www.example.com/{prefix}/articles/{i}?utm_source=import,"
                f"{prefix}-{i},Article number {i} of the old shortener,"
                f"imported|batch{i % 10},2021-06-{1 + i % 28:02d} 12:00:00\n"
            )


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of one command-line run."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "--quiet", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, proc.returncode


async def _user(settings: Settings) -> str:
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            made = await register(
                conn,
                username="importer",
                email="importer@example.com",
                password_hash=await hash_password_async("bench-pass"),
                role="admin",  # no plan quota: the benchmark measures the import itself
            )
    finally:
        await conn.close()
    return str(made.user["username"])


async def main() -> None:
    async with bench_settings() as settings:
        username = await _user(settings)
        env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT)}
        with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
            figures = {}
            for count, prefix in ((SMALL, "small"), (LINKS, "large")):
                file = Path(tmp) / f"{prefix}.csv"
                _write_csv(file, count, prefix)
                args = ["import", "csv", str(file), "--user", username,
                        "--failures", str(Path(tmp) / f"{prefix}-failures.csv")]  # fmt: skip
                seconds, peak_mb, code = await asyncio.to_thread(_run, args, env)
                if code != 0:
                    raise RuntimeError(f"the import of {count} links exited with {code}")
                figures[count] = (seconds, peak_mb)
                print(
                    f"import {count:>7,} links (csv, local)   {seconds:6.1f} s   "
                    f"{count / seconds:>8,.0f} links/s   peak RSS {peak_mb:6.1f} MB",
                    flush=True,
                )
            rerun, rerun_peak, _ = await asyncio.to_thread(_run, args, env)
            print(
                f"re-run of {LINKS:,} (all skipped)    {rerun:6.1f} s   "
                f"{LINKS / rerun:>8,.0f} links/s   peak RSS {rerun_peak:6.1f} MB"
            )
        stored = await _count(settings)
        seconds, peak = figures[LINKS]
        ratio = peak / figures[SMALL][1]
        print(verdict("100k links imported", stored == LINKS + SMALL, f"{stored:,} rows stored"))
        print(verdict("under 60 s", seconds < TARGET_SECONDS, f"{seconds:.1f} s"))
        print(verdict("memory flat", ratio <= FLAT_RATIO, f"peak RSS 100k / 10k = {ratio:.2f}"))


async def _count(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM links.links"))
    finally:
        await conn.close()
