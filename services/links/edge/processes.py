"""``EDGE_PROCESSES=N``: N edge processes on one host sharing the public port.

Every process binds the public port with ``SO_REUSEPORT`` (``serve`` always
does), so the kernel spreads new connections across them: one Python process
per core. The first process starts the other N - 1 as its children (each with
``EDGE_PROCESSES=1`` and, when ``EDGE_OPS_PORT`` is set, the next ops ports:
each copy's /metrics must stay its own) and stops them when it stops. ``make
run`` (deploy/run_local.py) starts its edge copies itself, under its
supervisor, and reads ``EDGE_PROCESSES`` as ``EDGES``."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from collections.abc import Mapping

from shared.settings import Settings


def copies_env(settings: Settings, env: Mapping[str, str]) -> list[dict[str, str]]:
    """The environments of the N - 1 extra processes."""
    extra = []
    for copy in range(1, max(1, settings.edge_processes)):
        child = {**env, "EDGE_PROCESSES": "1"}
        if settings.edge_ops_port:
            child["EDGE_OPS_PORT"] = str(settings.edge_ops_port + copy)
        extra.append(child)
    return extra


def start_copies(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """Start the extra edge processes; they are terminated when this one exits."""
    children = [
        subprocess.Popen([sys.executable, "-m", "services.links.edge"], env=env)
        for env in copies_env(settings, os.environ)
    ]

    def stop() -> None:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(stop)
    return children
