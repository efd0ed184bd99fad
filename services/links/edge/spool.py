"""Click batches the broker could not take, kept on local disk until it can.

Each process appends to its own file (``clicks-<pid>-<random>.jsonl``), one
batch (a JSON array of events) per line, fsynced. Every access holds an
exclusive ``flock`` on the file, so any process sharing the directory (this
one later, a sibling replica, or the next run after a crash) can claim a file,
publish its lines and delete it while writers wait, and a writer that finds
its file gone starts a new one. A line torn by a crash is skipped."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

import orjson

log = logging.getLogger("edge.spool")

PREFIX: Final = "clicks-"
SUFFIX: Final = ".jsonl"

Publish = Callable[[bytes], Awaitable[None]]


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / f"{PREFIX}{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}"

    def writable(self) -> bool:
        """True when a batch could be spooled now (the directory exists or can be made)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return os.access(self.directory, os.W_OK | os.X_OK)

    # -- writing ---------------------------------------------------------------

    async def append(self, batch: bytes) -> None:
        """Append one batch (a JSON array of events on one line) durably: returns
        after fsync."""
        await asyncio.to_thread(self._append, batch + b"\n")

    def _append(self, line: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _still_at(fd, self.path):
                    continue  # a replayer took the file while we waited: start a new one
                _write_all(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.directory)
            return

    # -- replaying -------------------------------------------------------------

    def files(self) -> list[Path]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(
            self.directory / n for n in names if n.startswith(PREFIX) and n.endswith(SUFFIX)
        )

    async def replay(self, publish: Publish) -> int:
        """Publish every spooled batch that no other process is busy with; returns
        the number of events published. Stops at the first failure (the batches
        not yet published stay spooled)."""
        published = 0
        for path in self.files():
            claimed = await asyncio.to_thread(_claim, path)
            if claimed is None:
                continue
            fd, lines = claimed
            done = 0
            try:
                for line in lines:
                    count = _count(line, path)
                    if count:
                        await publish(line)
                        published += count
                    done += 1
            finally:
                await asyncio.to_thread(_release, fd, path, lines[done:])
            if done < len(lines):
                break
        return published


def _still_at(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _claim(path: Path) -> tuple[int, list[bytes]] | None:
    """Lock ``path`` without waiting and read its lines, or ``None`` if it is busy or gone."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    if not _still_at(fd, path):
        os.close(fd)
        return None
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return fd, [line for line in b"".join(chunks).split(b"\n") if line.strip()]


def _release(fd: int, path: Path, remaining: list[bytes]) -> None:
    """Delete a fully replayed file, or keep only its unpublished lines; then unlock."""
    try:
        if remaining:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            _write_all(fd, b"".join(line + b"\n" for line in remaining))
            os.fsync(fd)
        else:
            os.unlink(path)
    finally:
        os.close(fd)


def _count(line: bytes, path: Path) -> int:
    """How many events a spooled line holds (0: a torn or malformed line, skipped)."""
    try:
        events = orjson.loads(line)
    except orjson.JSONDecodeError:
        log.warning("skipping a torn line in %s", path.name)
        return 0
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        log.warning("skipping a malformed line in %s", path.name)
        return 0
    return len(events)
