"""``make run`` as a test starts it: ``python -m deploy.run_local`` (migrations,
the first admin's bootstrap, every process under its supervisor) with a test
namespace's environment and free ports, its output kept for the test to read."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import aiohttp

from shared.settings import Settings
from tests.support.system import ROOT, settings_env

API_KEY_LINE: Final = re.compile(r"API key:\s+(\S+)")
STOP_WITHIN: Final = 30.0


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _children_of(pid: int) -> dict[int, bytes]:
    """The processes whose parent is ``pid`` (from /proc), with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            # "pid (name) state ppid ...": the name may hold spaces, so split after ')'
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                cmdline = _cmdline(int(entry.name))
                if cmdline is not None:
                    found[int(entry.name)] = cmdline
    return found


@dataclass
class MakeRun:
    settings: Settings
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    output: list[str] = field(default_factory=list)
    children: dict[int, bytes] = field(default_factory=dict)
    _pump: asyncio.Task[None] | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.edge_port}"

    async def start(self, within: float = 120.0) -> None:
        env = {**os.environ, **settings_env(self.settings), "PYTHONPATH": str(ROOT)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "deploy.run_local",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._pump = asyncio.create_task(self._keep_output())
        await self._wait_ready(within)
        self.children = _children_of(self.proc.pid)

    async def _keep_output(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        with self.log_path.open("a") as log:
            while line := await self.proc.stdout.readline():
                text = line.decode(errors="replace").rstrip("\n")
                self.output.append(text)
                log.write(text + "\n")
                log.flush()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output[-lines:])

    def admin_key(self) -> str:
        """The API key the bootstrap printed for the first admin."""
        keys = [m.group(1) for line in self.output if (m := API_KEY_LINE.search(line))]
        assert len(keys) == 1, f"expected one printed API key:\n{self.tail()}"
        return keys[0]

    async def _wait_ready(self, within: float) -> None:
        assert self.proc is not None
        deadline = asyncio.get_running_loop().time() + within
        urls = [f"{self.gateway_url}/ready", f"{self.edge_url}/ready"]
        async with aiohttp.ClientSession() as http:
            while urls:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"make run exited early:\n{self.tail()}")
                with suppress(aiohttp.ClientError, OSError):
                    async with http.get(urls[0]) as resp:
                        if resp.status == 200:
                            urls.pop(0)
                            continue
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"{urls[0]} not ready:\n{self.tail()}")
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Ctrl-C, as a user would; whatever is left after the grace period is killed."""
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_WITHIN)
            except TimeoutError:
                with suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        # Never left behind, even when the supervisor had to be killed: each child
        # it started, if that same process (same command line) still runs.
        for pid, cmdline in self.children.items():
            if _cmdline(pid) == cmdline:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self._pump is not None:
            await self._pump
