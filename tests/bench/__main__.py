"""Run every ``tests/bench/bench_*.py`` module (or those named on the command line).

Each module exposes ``async def main() -> None`` that sets up what it needs
(its own database and prefixes via :mod:`tests.bench.harness`), prints its
figures, and cleans up."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover(selected: list[str]) -> list[str]:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if n.removeprefix("bench_") in selected or n in selected]
    return names


def main() -> int:
    names = discover(sys.argv[1:])
    if not names:
        print("no benchmark matched", sys.argv[1:])
        return 1
    failed = 0
    for name in names:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            asyncio.run(module.main())
        except Exception as exc:
            failed += 1
            print(f"{name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
