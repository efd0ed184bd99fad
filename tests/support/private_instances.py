"""Private Postgres, Redis and RabbitMQ instances for tests that stop them.

Each runs on its own free port with its own data directory under the test's
temporary directory, as a child of the test process, so a test can stop and
start it at will. The machine's shared instances are never touched."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.system import free_port


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def _until(check: object, what: str, within: float) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await asyncio.to_thread(check):
        if loop.time() > deadline:
            raise RuntimeError(f"{what} did not come up within {within:.0f}s")
        await asyncio.sleep(0.1)


async def _stop_process(proc: asyncio.subprocess.Process | None, sig: int, within: float) -> None:
    if proc is None or proc.returncode is not None:
        return
    with suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        await asyncio.wait_for(proc.wait(), within)
    except TimeoutError:
        with suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


@dataclass
class PrivateRedis:
    """``redis-server`` on its own port, no persistence."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
            "--logfile",
            str(self.workdir / "redis.log"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await _until(lambda: _port_open(self.port), "private Redis", 10)

    async def stop(self) -> None:
        await _stop_process(self.proc, signal.SIGTERM, 10)
        self.proc = None


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return found[0].parent if found else None


@dataclass
class PrivatePostgres:
    """A Postgres cluster made by ``initdb`` in the test's directory, on its own
    port, run as the ``postgres`` OS user when the tests run as root (Postgres
    refuses to run as root)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None
    # As root, the cluster lives in a directory of its own under the system's
    # temporary directory, owned by ``postgres`` (the test's own directories are
    # private to root); removed by :meth:`remove`.
    home: Path | None = None

    @property
    def datadir(self) -> Path:
        return (self.home or self.workdir) / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home or self.workdir

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    @staticmethod
    def available() -> bool:
        if _postgres_bin() is None:
            return False
        if os.geteuid() != 0:
            return True
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return True

    def _as_owner(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def _initdb(self) -> None:
        bin_dir = _postgres_bin()
        assert bin_dir is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and self.home is None:
            self.home = Path(tempfile.mkdtemp(prefix="sl-private-pg-"))
            owner = pwd.getpwnam("postgres")
            os.chown(self.home, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            self._as_owner(
                str(bin_dir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ),
            check=True,
            capture_output=True,
        )

    async def start(self) -> None:
        if not (self.datadir / "PG_VERSION").exists():
            await asyncio.to_thread(self._initdb)
        bin_dir = _postgres_bin()
        assert bin_dir is not None
        with (self.workdir / "postgres.log").open("ab") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                *self._as_owner(
                    str(bin_dir / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={self.socket_dir}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file,
                start_new_session=True,
            )
        await _until(lambda: _port_open(self.port), "private Postgres", 30)
        await self._accepting()

    async def _accepting(self) -> None:
        import asyncpg

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            try:
                conn = await asyncpg.connect(self.server_url + "/postgres")
            except (OSError, asyncpg.PostgresError):
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)
            else:
                await conn.close()
                return

    async def stop(self) -> None:
        """Stop the server (a fast shutdown: every session is cut at once)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        bin_dir = _postgres_bin()
        assert bin_dir is not None
        stopper = await asyncio.create_subprocess_exec(
            *self._as_owner(str(bin_dir / "pg_ctl"), "stop", "-m", "fast", "-D", str(self.datadir)),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await stopper.wait()
        await _stop_process(proc, signal.SIGTERM, 30)

    def remove(self) -> None:
        """Delete the cluster's files (once stopped)."""
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)


def _rabbitmq_server() -> str | None:
    for candidate in ("/usr/lib/rabbitmq/bin/rabbitmq-server",):
        if Path(candidate).exists():
            return candidate
    return shutil.which("rabbitmq-server")


@dataclass
class PrivateRabbitMQ:
    """A RabbitMQ node of its own: own node name, AMQP and distribution ports,
    mnesia and log directories, and no plugins (so no management port)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None

    @property
    def node(self) -> str:
        return f"sltest{self.port}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @staticmethod
    def available() -> bool:
        return _rabbitmq_server() is not None

    def env(self) -> dict[str, str]:
        plugins = self.workdir / "enabled_plugins"
        if not plugins.exists():
            self.workdir.mkdir(parents=True, exist_ok=True)
            plugins.write_text("[].\n")
            (self.workdir / "rabbitmq.conf").write_text(
                f"loopback_users = none\nlisteners.tcp.default = 127.0.0.1:{self.port}\n"
            )
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            "RABBITMQ_LOGS": str(self.workdir / "log" / "rabbit.log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq.conf"),
            "RABBITMQ_PID_FILE": str(self.workdir / "rabbit.pid"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.workdir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.workdir / "rabbitmq-env.conf"),
        }

    async def start(self, within: float = 90) -> None:
        server = _rabbitmq_server()
        assert server is not None
        env = self.env()
        with (self.workdir / "stdout.log").open("ab") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                server,
                env=env,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await self._answers():
            if self.proc.returncode is not None:
                raise RuntimeError(f"private RabbitMQ exited:\n{self.log_tail()}")
            if loop.time() > deadline:
                raise RuntimeError(f"private RabbitMQ did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.25)

    async def _answers(self) -> bool:
        import aio_pika

        if not _port_open(self.port):
            return False
        try:
            connection = await aio_pika.connect(self.url, timeout=2)
        except Exception:
            return False
        await connection.close()
        return True

    def log_tail(self, lines: int = 30) -> str:
        out = self.workdir / "stdout.log"
        text = out.read_text(errors="replace") if out.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> None:
        """Stop the node (SIGTERM: a clean shutdown of the Erlang VM)."""
        proc = self.proc
        self.proc = None
        if proc is None or proc.returncode is not None:
            return
        # The server script runs the VM as a child: signal the whole group.
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        await _until(lambda: not _port_open(self.port), "private RabbitMQ stop", 30)
