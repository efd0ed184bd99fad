"""What benchmarks share: an isolated environment, a load generator, and a table."""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.migrations import migrate_all
from shared.settings import Settings
from tests.support.cleanup import drop_amqp_names, drop_database, drop_redis_keys


@asynccontextmanager
async def bench_settings(**overrides: object) -> AsyncIterator[Settings]:
    """A migrated database and private Redis/AMQP namespaces for one benchmark."""
    run = secrets.token_hex(4)
    base = Settings.from_env()
    server, _, _ = base.database_url.rpartition("/")
    spool = tempfile.mkdtemp(prefix="bench-spool-")
    settings = base.with_overrides(
        database_url=f"{server}/sl_bench_{run}",
        redis_prefix=f"b{run}:",
        amqp_prefix=f"b{run}.",
        internal_secret=secrets.token_hex(16),
        dev_mode=True,
        spool_dir=spool,
        log_level="WARNING",
        **overrides,
    )
    await migrate_all(settings.database_url)
    try:
        yield settings
    finally:
        await drop_redis_keys(settings)
        await drop_amqp_names(settings)
        await drop_database(settings.database_url)
        shutil.rmtree(spool, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def row(self, label: str) -> str:
        return (
            f"{label:<34} {self.requests_per_second:>10,.0f} req/s   "
            f"p50 {self.p50_ms:>6.2f} ms   p99 {self.p99_ms:>6.2f} ms   "
            f"({self.requests:,} requests, {self.errors} errors)"
        )


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


async def wrk(
    url: str,
    *,
    connections: int = 64,
    duration: float = 10,
    threads: int = 2,
    headers: Sequence[str] = (),
    pause_ms: int = 0,
    each_request: tuple[str, Sequence[str]] | None = None,
) -> LoadResult:
    """Load ``url`` with wrk (Debian package ``wrk``) and read its latency report.

    With ``pause_ms`` each connection waits that long between its requests
    (wrk's ``delay()`` hook, not counted in the latency): a paced load, for
    latencies below saturation, where they are not just queueing."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for header in headers:
        args += ["-H", header]
    with (
        tempfile.NamedTemporaryFile("w", suffix=".lua") as script,
        tempfile.NamedTemporaryFile("w", suffix=".txt") as values,
    ):
        if pause_ms:
            script.write(f"function delay()\n  return {int(pause_ms)}\nend\n")
        if each_request is not None:
            name, given = each_request
            values.write("\n".join(given) + "\n")
            values.flush()
            script.write(_EACH_REQUEST.format(threads=threads, name=name, path=values.name))
        if pause_ms or each_request is not None:
            script.flush()
            args += ["-s", script.name]
        proc = await asyncio.create_subprocess_exec(
            *args, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out_bytes, _ = await proc.communicate()
    out = out_bytes.decode()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"\s50%\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult(
        float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)), errors
    )


# Header ``name`` takes the next of ``values`` on every request, never one twice
# (thread i of n sends values i, i + n, ...): what a signed identity header needs,
# since a service accepts each only once.
_EACH_REQUEST = """
local count = 0
function setup(thread)
  count = count + 1
  thread:set("index", count)
end
function init(args)
  values = {{}}
  for line in io.lines("{path}") do values[#values + 1] = line end
end
function request()
  local value = values[index]
  index = index + {threads}
  if value == nil then value = "exhausted" end
  return wrk.format(nil, nil, {{["{name}"] = value}})
end
"""


def verdict(label: str, ok: bool, detail: str) -> str:
    return f"{'PASS' if ok else 'MISS'}  {label}: {detail}"
