"""What type (classic, quorum) the broker gave each queue of a namespace."""

from __future__ import annotations

import asyncio
import shutil

from shared.settings import Settings


def available() -> bool:
    return shutil.which("rabbitmqctl") is not None


async def queue_types(settings: Settings) -> dict[str, str]:
    """``rabbitmqctl list_queues name type`` for the queues under ``settings``'s
    AMQP prefix (on the machine's broker)."""
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        "list_queues",
        "--no-table-headers",
        "name",
        "type",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    found = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith(settings.amqp_prefix):
            found[parts[0]] = parts[1]
    return found
