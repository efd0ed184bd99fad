"""Keeping ``make run``'s processes running: each child that exits is started
again after a backoff (1 s, doubling up to 30 s, back to 1 s once it has run
for a minute), and the log says so; stopping stops them all, in reverse start
order (the gateway and edges first, so they drain), killing what is still
running after a grace period. Every line a child writes comes out prefixed
with its name, in one stream."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Final

RESET: Final = "\033[0m"


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    colour: str = ""
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    pumps: list[asyncio.Task[None]] = field(default_factory=list)


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        *,
        say: Callable[[str], None] = print,
        backoff_min: float = 1.0,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
        grace: float = 15.0,
    ) -> None:
        self.children = children
        self.say = say
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.grace = grace
        self.width = max((len(c.name) for c in children), default=0)

    async def run(self, stop: asyncio.Event) -> None:
        """Start every child, keep them running until ``stop`` is set, then stop them."""
        for child in self.children:
            await self._start(child)
        keepers = [asyncio.create_task(self._keep(child, stop)) for child in self.children]
        try:
            await stop.wait()
        finally:
            for keeper in keepers:
                keeper.cancel()
            for keeper in keepers:
                with suppress(asyncio.CancelledError):
                    await keeper
            await self.stop_all()

    async def _start(self, child: Child) -> None:
        child.proc = await asyncio.create_subprocess_exec(
            *child.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=child.env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        assert child.proc.stdout is not None
        child.pumps = [t for t in child.pumps if not t.done()]
        child.pumps.append(asyncio.create_task(self._pump(child, child.proc.stdout)))

    async def _pump(self, child: Child, stream: asyncio.StreamReader) -> None:
        prefix = f"{child.colour}{child.name:<{self.width}}|{RESET if child.colour else ''}"
        while line := await stream.readline():
            self.say(f"{prefix} {line.decode(errors='replace').rstrip()}")

    async def _keep(self, child: Child, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff_min
        while True:
            started = loop.time()
            assert child.proc is not None
            code = await child.proc.wait()
            if stop.is_set():
                return
            if loop.time() - started >= self.stable_after:
                delay = self.backoff_min  # it ran fine for a while: a fresh failure
            child.restarts += 1
            self.say(
                f"{child.name} exited with code {code}; restarting it in {delay:g} s "
                f"(restart {child.restarts})"
            )
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
            delay = min(delay * 2, self.backoff_max)
            await self._start(child)
            self.say(f"{child.name} restarted")

    async def stop_all(self) -> None:
        for child in reversed(self.children):
            if child.proc is not None and child.proc.returncode is None:
                with suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
        running = [c.proc for c in self.children if c.proc is not None]
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), self.grace)
        except TimeoutError:
            for proc in running:
                if proc.returncode is None:
                    with suppress(ProcessLookupError):
                        proc.kill()
            await asyncio.gather(*(p.wait() for p in running))
        for child in self.children:  # the last lines they wrote
            for pump in child.pumps:
                with suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(pump, 2)
