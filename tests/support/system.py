"""Start the real processes (as ``make run`` does) for end-to-end tests.

Each process gets this test run's database, Redis prefix and AMQP prefix, and a
free port; :class:`RunningSystem` waits until each answers ``/ready``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from deploy.processes import PROCESSES, ProcessSpec, available
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# How long a process may take to answer /ready: a few seconds on a quiet machine,
# far longer while other test runs share its two cores.
STARTUP_WITHIN = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a process use ``settings``."""
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "AMQP_URL": settings.amqp_url,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "INTERNAL_SECRET": settings.internal_secret,
        "DEV_MODE": "1" if settings.dev_mode else "0",
        "REDIS_PREFIX": settings.redis_prefix,
        "AMQP_PREFIX": settings.amqp_prefix,
        "AMQP_QUORUM_QUEUES": "1" if settings.amqp_quorum_queues else "0",
        "TRUSTED_PROXY_HOPS": str(settings.trusted_proxy_hops),
        "GATEWAY_PORT": str(settings.gateway_port),
        "EDGE_PORT": str(settings.edge_port),
        "ACCOUNTS_PORT": str(settings.accounts_port),
        "LINKS_PORT": str(settings.links_port),
        "ANALYTICS_PORT": str(settings.analytics_port),
        "WEBHOOKS_PORT": str(settings.webhooks_port),
        "WORKER_METRICS_PORT": str(settings.worker_metrics_port or ""),
        "GATEWAY_OPS_PORT": str(settings.gateway_ops_port or ""),
        "EDGE_OPS_PORT": str(settings.edge_ops_port or ""),
        "WEBHOOK_DELIVERY_PORT": str(settings.webhook_delivery_port or ""),
        "ACCOUNTS_URL": settings.accounts_url,
        "LINKS_URL": settings.links_url,
        "ANALYTICS_URL": settings.analytics_url,
        "WEBHOOKS_URL": settings.webhooks_url,
        "SPOOL_DIR": settings.spool_dir,
        "ALLOW_PRIVATE_FETCH": "1" if settings.allow_private_fetch else "0",
        "ALLOW_PRIVATE_WEBHOOKS": "1" if settings.allow_private_webhooks else "0",
        "WEBHOOK_TIMEOUT": str(settings.webhook_timeout),
        "WEBHOOK_ENDPOINT_CONCURRENCY": str(settings.webhook_endpoint_concurrency),
        "WEBHOOK_RETRY_BASE": str(settings.webhook_retry_base),
        "WEBHOOK_RETRY_MAX": str(settings.webhook_retry_max),
        "WEBHOOK_RETRY_WINDOW": str(settings.webhook_retry_window),
        "WEBHOOK_POLL_INTERVAL": str(settings.webhook_poll_interval),
        "CLICK_FLUSH_INTERVAL": str(settings.click_flush_interval),
        "EDGE_FAST_CORE": "1" if settings.edge_fast_core else "0",
        "EDGE_PROCESSES": str(settings.edge_processes),
        "DOMAIN_VERIFICATION": "on" if settings.domain_verification else "off",
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
    }
    if settings.trusted_country_header:
        env["TRUSTED_COUNTRY_HEADER"] = settings.trusted_country_header
    if settings.geoip_db:
        env["GEOIP_DB"] = settings.geoip_db
    return env


def with_free_ports(settings: Settings) -> Settings:
    names = (
        "gateway",
        "edge",
        "accounts",
        "links",
        "analytics",
        "worker",
        "gw-ops",
        "edge-ops",
        "webhooks",
        "delivery",
    )
    ports = {name: free_port() for name in names}
    return settings.with_overrides(
        gateway_port=ports["gateway"],
        edge_port=ports["edge"],
        accounts_port=ports["accounts"],
        links_port=ports["links"],
        analytics_port=ports["analytics"],
        worker_metrics_port=ports["worker"],
        gateway_ops_port=ports["gw-ops"],
        edge_ops_port=ports["edge-ops"],
        webhooks_port=ports["webhooks"],
        webhook_delivery_port=ports["delivery"],
        webhooks_url=f"http://127.0.0.1:{ports['webhooks']}",
        accounts_url=f"http://127.0.0.1:{ports['accounts']}",
        links_url=f"http://127.0.0.1:{ports['links']}",
        analytics_url=f"http://127.0.0.1:{ports['analytics']}",
        public_base_url=f"http://127.0.0.1:{ports['edge']}",
    )


def port_of(spec: ProcessSpec, settings: Settings) -> int | None:
    return {
        "GATEWAY_PORT": settings.gateway_port,
        "EDGE_PORT": settings.edge_port,
        "ACCOUNTS_PORT": settings.accounts_port,
        "LINKS_PORT": settings.links_port,
        "ANALYTICS_PORT": settings.analytics_port,
        "WORKER_METRICS_PORT": settings.worker_metrics_port,
        "WEBHOOKS_PORT": settings.webhooks_port,
        "WEBHOOK_DELIVERY_PORT": settings.webhook_delivery_port,
    }.get(spec.port_env or "")


@dataclass
class RunningSystem:
    settings: Settings
    names: tuple[str, ...] | None = None  # None: every process that exists
    procs: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    log_dir: Path = field(default_factory=lambda: Path(os.environ.get("TMPDIR", "/tmp")))

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.edge_port}"

    @property
    def gateway_ops_url(self) -> str:
        """Where the gateway serves /metrics (not on its public port)."""
        return f"http://127.0.0.1:{self.settings.gateway_ops_port}"

    @property
    def edge_ops_url(self) -> str:
        """Where the edge serves /metrics (not on its public port)."""
        return f"http://127.0.0.1:{self.settings.edge_ops_port}"

    def specs(self) -> list[ProcessSpec]:
        chosen = available()
        if self.names is not None:
            chosen = [s for s in chosen if s.name in self.names]
        return chosen

    async def start(
        self, names: Iterable[str] | None = None, *, within: float = STARTUP_WITHIN
    ) -> None:
        specs = [s for s in self.specs() if names is None or s.name in set(names)]
        env = {**os.environ, **settings_env(self.settings), "PYTHONPATH": str(ROOT)}
        for spec in specs:
            log_path = self.log_dir / f"{self.settings.amqp_prefix}{spec.name}.log"
            self.logs[spec.name] = log_path
            with log_path.open("ab") as log_file:
                self.procs[spec.name] = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    spec.module,
                    cwd=ROOT,
                    env=env,
                    stdout=log_file,
                    stderr=asyncio.subprocess.STDOUT,
                )
        await asyncio.gather(*(self.wait_ready(spec, within) for spec in specs))

    async def wait_ready(self, spec: ProcessSpec, within: float = STARTUP_WITHIN) -> None:
        port = port_of(spec, self.settings)
        deadline = asyncio.get_running_loop().time() + within
        async with aiohttp.ClientSession() as session:
            while True:
                proc = self.procs[spec.name]
                if proc.returncode is not None:
                    raise RuntimeError(f"{spec.name} exited early:\n{self.log_tail(spec.name)}")
                if port is None:
                    await asyncio.sleep(1.0)  # no HTTP port: alive after a second is enough
                    return
                with suppress(aiohttp.ClientError, OSError):
                    async with session.get(f"http://127.0.0.1:{port}/ready") as resp:
                        if resp.status == 200:
                            return
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"{spec.name} not ready:\n{self.log_tail(spec.name)}")
                await asyncio.sleep(0.1)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs.get(name)
        if path is None or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self, names: Iterable[str] | None = None, *, kill: bool = False) -> None:
        chosen = list(self.procs) if names is None else list(names)
        for name in reversed(chosen):
            proc = self.procs.get(name)
            if proc is not None and proc.returncode is None:
                with suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        for name in chosen:
            proc = self.procs.get(name)
            if proc is None:
                continue
            try:
                await asyncio.wait_for(proc.wait(), timeout=15)
            except TimeoutError:
                with suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
            del self.procs[name]


__all__ = ["PROCESSES", "RunningSystem", "free_port", "settings_env", "with_free_ports"]
