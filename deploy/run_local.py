"""``make run``: check the backing services, migrate, bootstrap an admin on an
empty database, then run every process in the foreground with one merged log
stream. Ctrl-C stops them all cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from contextlib import suppress
from urllib.parse import urlsplit

from deploy.processes import ProcessSpec, available
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
LOCAL_DEFAULTS = {**OPS_PORTS, "DOMAIN_VERIFICATION": "off"}
COLOURS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m", "\033[37m")
RESET = "\033[0m"

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


async def pump(name: str, colour: str, stream: asyncio.StreamReader) -> None:
    width = 9
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip("\n")
        sys.stdout.write(f"{colour}{name:<{width}}|{RESET} {text}\n")
        sys.stdout.flush()


async def start(spec: ProcessSpec, colour: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        spec.module,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
    )
    assert proc.stdout is not None
    asyncio.get_running_loop().create_task(pump(spec.name, colour, proc.stdout))
    return proc


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

    procs: list[tuple[ProcessSpec, asyncio.subprocess.Process]] = []
    for index, spec in enumerate(available()):
        procs.append((spec, await start(spec, COLOURS[index % len(COLOURS)], env)))
    print(
        f"\nrunning {', '.join(s.name for s, _ in procs)}\n"
        f"  API:         http://localhost:{settings.gateway_port}/api  "
        f"(docs at /api/docs)\n"
        f"  short links: {settings.public_base_url}/<alias>\n"
        f"  metrics:     http://localhost:{env['GATEWAY_OPS_PORT']}/metrics (gateway), "
        f"http://localhost:{env['EDGE_OPS_PORT']}/metrics (edge)\n"
        "  Ctrl-C stops everything.\n"
    )
    waiters = [asyncio.ensure_future(p.wait()) for _, p in procs]
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
    exit_code = 0
    if stopper not in done:
        for (spec, proc), waiter in zip(procs, waiters, strict=True):
            if waiter in done:
                print(f"{spec.name} exited with code {proc.returncode}; stopping the rest")
                exit_code = 1
    # Stop in reverse start order: the gateway and edge first, so they drain.
    for _spec, proc in reversed(procs):
        if proc.returncode is None:
            with suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*waiters), timeout=15)
    except TimeoutError:
        for _spec, proc in procs:
            if proc.returncode is None:
                with suppress(ProcessLookupError):
                    proc.kill()
    stopper.cancel()
    print("all processes stopped")
    return exit_code


def main() -> int:
    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
