"""``make run``: check the backing services, migrate, bootstrap an admin on an
empty database, then run every process in the foreground with one merged log
stream. A process that exits is restarted with backoff (deploy/supervisor.py);
``WORKERS=N`` and ``EDGES=N`` start several workers and edges. Ctrl-C stops
them all cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from urllib.parse import urlsplit

from deploy.processes import ProcessSpec, available
from deploy.supervisor import Child, Supervisor
from shared.migrations import migrate_all
from shared.settings import Settings

# Where the processes serve their ops endpoints; the gateway's and the edge's
# /metrics are only there (their public ports face the internet).
OPS_PORTS = {
    "WORKER_METRICS_PORT": "8104",
    "WEBHOOK_DELIVERY_PORT": "8106",
    "GATEWAY_OPS_PORT": "9000",
    "EDGE_OPS_PORT": "9080",
}
# A local run serves branded domains without DNS proof of ownership (nothing
# local can publish a TXT record); the environment can still turn it on.
# DEV_MODE: a developer's machine, where the development INTERNAL_SECRET is fine
# (every process refuses it outside DEV_MODE).
LOCAL_DEFAULTS = {**OPS_PORTS, "DOMAIN_VERIFICATION": "off", "DEV_MODE": "1"}
COLOURS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m", "\033[37m")

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
    "RabbitMQ": "rabbitmq-server -detached",
}


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def check_backing_services(settings: Settings) -> list[str]:
    """A human sentence per unreachable dependency (empty when all are up)."""
    problems = []
    for name, url, port, env in (
        ("PostgreSQL", settings.database_url, 5432, "DATABASE_URL"),
        ("Redis", settings.redis_url, 6379, "REDIS_URL"),
        ("RabbitMQ", settings.amqp_url, 5672, "AMQP_URL"),
    ):
        if not reachable(url, port):
            shown = urlsplit(url)._replace(netloc=urlsplit(url).netloc.split("@")[-1]).geturl()
            problems.append(
                f"{name} is not reachable at {shown} ({env}).\n"
                f"    Start it with:  {HOW_TO_START[name]}\n"
                f"    or with Docker: docker compose up -d {name.lower()}"
            )
    return problems


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Processes that may run several times on one host (``WORKERS=2 EDGES=2 make run``):
# the environment variable that says how many, and the ops port each copy needs of
# its own. Edges share their public port (SO_REUSEPORT: the kernel spreads the
# connections); a worker has no other port.
REPLICAS = {"worker": ("WORKERS", "WORKER_METRICS_PORT"), "edge": ("EDGES", "EDGE_OPS_PORT")}


def replicas(spec: ProcessSpec, env: Mapping[str, str]) -> int:
    variable = REPLICAS.get(spec.name, ("", ""))[0]
    raw = env.get(variable, "") if variable else ""
    if spec.name == "edge" and not raw and env.get("EDGE_PROCESSES"):
        # The edge's own EDGE_PROCESSES means EDGES here: the supervisor starts
        # (and restarts) every copy, each told to be one process.
        variable, raw = "EDGE_PROCESSES", env["EDGE_PROCESSES"]
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{variable} must be a number of processes (1 or more), got {raw!r}")
    return int(raw)


def plan_children(
    specs: list[ProcessSpec], env: Mapping[str, str], pick_port: Callable[[], int] = free_port
) -> list[Child]:
    """One child per process, N for the replicated ones: each copy after the first
    gets a free ops port of its own (shown in the banner)."""
    children: list[Child] = []
    for spec in specs:
        count = replicas(spec, env)
        for copy in range(count):
            child_env = dict(env)
            if spec.name == "edge":
                child_env["EDGE_PROCESSES"] = "1"
            if copy and spec.name in REPLICAS:
                child_env[REPLICAS[spec.name][1]] = str(pick_port())
            children.append(
                Child(
                    name=spec.name if count == 1 else f"{spec.name}-{copy + 1}",
                    argv=[sys.executable, "-m", spec.module],
                    env=child_env,
                    colour=COLOURS[len(children) % len(COLOURS)],
                )
            )
    return children


async def bootstrap(env: dict[str, str]) -> None:
    """Create the first admin (and print its key) when the database has no user."""
    with suppress(ModuleNotFoundError):
        import importlib.util

        if importlib.util.find_spec("services.accounts.bootstrap") is None:
            return
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.accounts.bootstrap", env=env
        )
        await proc.wait()


async def run() -> int:
    settings = Settings.from_env()
    problems = check_backing_services(settings)
    if problems:
        print("Cannot start: a backing service is down.\n", file=sys.stderr)
        for problem in problems:
            print("  - " + problem, file=sys.stderr)
        return 2
    applied = await migrate_all(settings.database_url)
    print(f"migrations: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ""))
    env = {**LOCAL_DEFAULTS, **os.environ, "PYTHONUNBUFFERED": "1"}
    await bootstrap(env)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    children = plan_children(available(), env)
    ops = [
        f"{c.name} http://localhost:{c.env[port]}/metrics"
        for c in children
        for name, (_, port) in REPLICAS.items()
        if c.name.startswith(name) and c.env.get(port)
    ]
    print(
        f"\nrunning {', '.join(c.name for c in children)}\n"
        f"  API:         http://localhost:{settings.gateway_port}/api  "
        f"(docs at /api/docs)\n"
        f"  short links: {settings.public_base_url}/<alias>\n"
        f"  metrics:     http://localhost:{env['GATEWAY_OPS_PORT']}/metrics (gateway), "
        + ", ".join(ops)
        + "\n  A process that exits is restarted; Ctrl-C stops everything.\n"
    )

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    await Supervisor(children, say=say).run(stop)
    print("all processes stopped")
    return 0


def main() -> int:
    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
