"""Many GET requests, fast and exactly counted: keep-alive connections with
pipelined HTTP/1.1 requests, written and read in batches over plain asyncio
streams (an order of magnitude cheaper per request than a full HTTP client,
so the server under test, not the client, sets the pace).

Only for answers without a body or with a ``Content-Length`` (redirects, small
pages); a closed connection or any other framing is an error, never a retry, so
the number of requests the server answered is always known exactly."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


class _Budget:
    """Requests not yet handed to a connection (one event loop: no lock needed)."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, most: int) -> int:
        taken = min(most, self.left)
        self.left -= taken
        return taken


async def _read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding":
            raise RuntimeError(f"unexpected Transfer-Encoding: {value.strip()}")
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, request: bytes, budget: _Budget, pipeline: int, result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while batch := budget.take(pipeline):
            writer.write(request * batch)
            await writer.drain()
            for _ in range(batch):
                result.statuses[await _read_answer(reader)] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def get_many(
    host: str,
    port: int,
    path: str,
    count: int,
    *,
    headers: dict[str, str],
    connections: int = 32,
    pipeline: int = 16,
) -> LoadResult:
    """Send ``GET path`` exactly ``count`` times to ``host:port``; the statuses seen."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    budget = _Budget(count)
    result = LoadResult()
    started = time.monotonic()
    await asyncio.gather(
        *(_connection(host, port, request, budget, pipeline, result) for _ in range(connections))
    )
    result.seconds = time.monotonic() - started
    return result
