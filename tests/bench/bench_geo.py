"""What resolving a visitor's country costs without a MaxMind database: the
registries' data of ``iptocc`` (shared/ip_countries.py), per lookup and in memory,
against the edge's budget. A redirect at the edge's measured 14–21k req/s on one
core takes 48–71 µs; a lookup is on a geo-targeted link's path and on the worker's
(once per click), never on a plain redirect's.

Targets: a lookup costs at most 5 µs (≤ 10 % of a redirect), and loading the data
adds at most 20 MB of RSS to a process (the edge's budget with 100,000 links
cached is 200 MB, it uses 133)."""

from __future__ import annotations

import random
import time

from tests.bench.harness import verdict

LOOKUPS = 200_000


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _addresses(count: int) -> list[str]:
    pick = random.Random(16)
    v4 = [
        ".".join(str(pick.randint(1, 223) if i == 0 else pick.randint(0, 255)) for i in range(4))
        for _ in range(count * 9 // 10)
    ]
    v6 = [
        f"2a0{pick.randint(0, 9)}:{pick.randint(0, 0xFFFF):x}::{pick.randint(1, 0xFFFF):x}"
        for _ in range(count - len(v4))
    ]
    return v4 + v6


async def main() -> None:
    addresses = _addresses(LOOKUPS)
    before = _rss_mb()
    started = time.perf_counter()
    from shared.ip_countries import registry_country  # imported here: its load is measured

    registry_country("8.8.8.8")
    loaded_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    found = sum(1 for ip in addresses if registry_country(ip) is not None)
    per_lookup_us = (time.perf_counter() - started) / LOOKUPS * 1e6
    added_mb = _rss_mb() - before
    print(
        f"iptocc: loaded in {loaded_ms:.1f} ms; {per_lookup_us:.2f} µs per lookup "
        f"({LOOKUPS:,} random addresses, 90 % IPv4, {found / LOOKUPS:.0%} with a country); "
        f"RSS +{added_mb:.1f} MB after every lookup"
    )
    print(verdict("lookup cost", per_lookup_us <= 5, f"{per_lookup_us:.2f} µs ≤ 5 µs"))
    print(verdict("memory added", added_mb <= 20, f"{added_mb:.1f} MB ≤ 20 MB"))
