"""Running the ``shortener`` command line as a user would: a real process with
the environment of a given settings object (its database, Redis and AMQP names)."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

import orjson

from shared.settings import Settings
from tests.support.system import ROOT, settings_env

FIXTURES = ROOT / "tests" / "fixtures" / "import"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def summary(self) -> dict[str, int]:
        """The JSON summary an import prints last."""
        start = self.out.rindex('{\n  "summary"')
        found: dict[str, int] = orjson.loads(self.out[start:])["summary"]
        return found


async def run_cli(settings: Settings, *args: str, stdin: str = "") -> Ran:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", *args,
        cwd=ROOT,
        env={**os.environ, **settings_env(settings), "COLUMNS": "200"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate(stdin.encode())
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())
