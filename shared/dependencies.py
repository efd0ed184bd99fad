"""What a process answers while something it depends on is down.

A request that fails because Postgres, Redis, RabbitMQ or another service
cannot be reached is not a bug: it gets the contract's envelope with 503 and
``Retry-After`` ("Service unavailable. Please retry later."), never a 500 and
never a traceback per request. The :class:`DependencyMonitor` keeps one state
per dependency: the first failure logs one line ("postgres unavailable"), the
probe that finds it back logs one more ("postgres available again after
12.3 s"); in between, failures only count in
``dependency_unavailable_answers_total``. ``dependency_up`` shows the state,
and ``/health`` reports it in its details.

:func:`unavailable_middleware` sits inside the error middleware of every
service and the gateway; handlers that answer their own errors (the edge's
HTML pages, the gateway's request ids) call :func:`note_unavailable` or
:func:`unavailable_response` instead."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from types import TracebackType
from typing import Final

import aiohttp
import aiormq.exceptions
import asyncpg
import redis.exceptions
from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.envelope import error_response

log = logging.getLogger("shared.dependencies")

UNAVAILABLE_MESSAGE: Final = "Service unavailable. Please retry later."
RETRY_AFTER_SECONDS: Final = 5
# How often the dependencies are probed: while all are up, and while one is down
# (the sooner a recovery is seen, the sooner its log line and metric say so).
PROBE_INTERVAL: Final = 5.0
PROBE_INTERVAL_DOWN: Final = 1.0
PROBE_TIMEOUT: Final = 2.0

POSTGRES: Final = "postgres"
REDIS: Final = "redis"
RABBITMQ: Final = "rabbitmq"

DependencyCheck = Callable[[web.Application], Awaitable[None]]


class DependencyUnavailable(Exception):
    """Raised by code that finds a dependency unavailable in its own way (an
    upstream service answering 503, a client library's own error type)."""

    def __init__(self, dependency: str, message: str = UNAVAILABLE_MESSAGE) -> None:
        self.dependency = dependency
        self.message = message
        super().__init__(f"{dependency} unavailable")


# Exception types that mean "could not talk to it", whatever the code path.
_BY_TYPE: Final[tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...]] = (
    ((redis.exceptions.ConnectionError, redis.exceptions.TimeoutError), REDIS),
    (
        (
            asyncpg.PostgresConnectionError,  # refused, lost, never established
            asyncpg.CannotConnectNowError,  # starting up or shutting down
            asyncpg.AdminShutdownError,
            asyncpg.CrashShutdownError,
            asyncpg.TooManyConnectionsError,
        ),
        POSTGRES,
    ),
    (
        (
            aiormq.exceptions.AMQPConnectionError,
            aiormq.exceptions.ChannelInvalidStateError,
            aiormq.exceptions.ConnectionClosed,
        ),
        RABBITMQ,
    ),
)
# Plain socket errors and timeouts carry no owner: the innermost frame of one of
# these modules in their traceback says whose call it was (an asyncpg pool's
# connect refused, our fair pool's acquire timing out).
_BY_MODULE: Final = (
    (("asyncpg", "shared.postgres"), POSTGRES),
    (("redis",), REDIS),
    (("aiormq", "aio_pika", "pamqp", "shared.amqp"), RABBITMQ),
)


def _module_owner(tb: TracebackType | None) -> str | None:
    owner = None
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        for prefixes, name in _BY_MODULE:
            if module == prefixes or module.startswith(prefixes):
                owner = name
        tb = tb.tb_next
    return owner


def classify(exc: BaseException) -> str | None:
    """The dependency whose unavailability ``exc`` shows, or ``None`` (a bug, bad input)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DependencyUnavailable):
            return current.dependency
        for types, name in _BY_TYPE:
            if isinstance(current, types):
                return name
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return POSTGRES  # the server went away in the middle of a transaction
        if isinstance(current, OSError | TimeoutError):
            owner = _module_owner(current.__traceback__)
            if owner is not None:
                return owner
        current = current.__cause__ or current.__context__
    return None


class RetryingLoopLog:
    """What a background loop that retries says: a dependency outage once when it
    starts and once when it ends, not on every retry; anything else (a bug) with
    its traceback every time."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._down_since: dict[str, float] = {}

    def failed(self, what: str, exc: BaseException) -> None:
        dependency = classify(exc)
        if dependency is None:
            self.logger.error("%s failed; retrying", what, exc_info=exc)
        elif dependency not in self._down_since:
            self._down_since[dependency] = time.monotonic()
            why = f"{type(exc).__name__}: {exc}".rstrip(": ")
            self.logger.error(
                "%s unavailable (%s): %s waits until it is back", dependency, why, what
            )

    def succeeded(self) -> None:
        while self._down_since:
            name, since = self._down_since.popitem()
            self.logger.warning("%s available again after %.1f s", name, time.monotonic() - since)


class DependencyMonitor:
    """The up/down state of each dependency of one process, its metrics and its log lines."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "dependency_up",
            "1 while the dependency answers, 0 while it is down",
            ["dependency"],
            registry=registry,
        )
        self.answers = Counter(
            "dependency_unavailable_answers",
            "Requests answered 503 because a dependency was unavailable",
            ["dependency"],
            registry=registry,
        )
        self.changes = Counter(
            "dependency_state_changes",
            "Times a dependency went down or came back",
            ["dependency", "state"],
            registry=registry,
        )
        self.checks: dict[str, DependencyCheck] = {}
        self._down_since: dict[str, float] = {}
        self._known: set[str] = set()
        self._last_failure: dict[str, float] = {}
        self._wake = asyncio.Event()
        self.prober: asyncio.Task[None] | None = None
        self.stopping = False  # shutting down: no longer ready

    def watch(self, checks: Mapping[str, DependencyCheck]) -> None:
        self.checks = dict(checks)
        for name in self.checks:
            self._known.add(name)
            if name not in self._down_since:
                self.up.labels(name).set(1)

    def is_down(self, name: str) -> bool:
        return name in self._down_since

    def states(self) -> dict[str, str]:
        """Each known dependency: ``up`` or ``down``."""
        return {n: "down" if n in self._down_since else "up" for n in sorted(self._known)}

    def mark_down(self, name: str, exc: BaseException | str) -> None:
        self._known.add(name)
        if name in self._down_since:
            return
        self._down_since[name] = time.monotonic()
        self.up.labels(name).set(0)
        self.changes.labels(name, "down").inc()
        why = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}".rstrip(": ")
        log.error("%s unavailable (%s): answering 503 until it is back", name, why)
        self._wake.set()

    def mark_up(self, name: str) -> None:
        self._known.add(name)
        since = self._down_since.pop(name, None)
        self.up.labels(name).set(1)
        if since is not None:
            self.changes.labels(name, "up").inc()
            log.warning("%s available again after %.1f s", name, time.monotonic() - since)

    def answered_unavailable(self, name: str, exc: BaseException | str) -> None:
        """A request was answered 503 because of ``name``."""
        self._last_failure[name] = time.monotonic()
        self.mark_down(name, exc)
        self.answers.labels(name).inc()

    async def probe(self, app: web.Application) -> None:
        """Check every watched dependency once."""

        async def one(name: str, check: DependencyCheck) -> None:
            try:
                await asyncio.wait_for(check(app), PROBE_TIMEOUT)
            except Exception as exc:
                self.mark_down(name, exc)
            else:
                self.mark_up(name)

        await asyncio.gather(*(one(n, c) for n, c in self.checks.items()))
        # A dependency no probe can check is taken as back once requests stopped
        # failing on it for a while (the next failure says otherwise, once).
        quiet = time.monotonic() - RETRY_AFTER_SECONDS
        for name in [n for n, t in self._last_failure.items() if t < quiet]:
            if name not in self.checks and name in self._down_since:
                self.mark_up(name)

    async def run(self, app: web.Application) -> None:
        while True:
            await self.probe(app)
            self._wake.clear()
            interval = PROBE_INTERVAL_DOWN if self._down_since else PROBE_INTERVAL
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)


DEPENDENCIES = web.AppKey("dependencies", DependencyMonitor)
# The checks the monitor runs, by dependency name; a service that opens its own
# resources sets its own (the checks of the ``needs`` of create_service_app by default).
DEPENDENCY_CHECKS: web.AppKey[dict[str, DependencyCheck]] = web.AppKey("dependency_checks")


def setup_dependencies(
    app: web.Application, registry: CollectorRegistry, checks: Mapping[str, DependencyCheck]
) -> DependencyMonitor:
    """Attach a monitor to ``app``; it probes ``app[DEPENDENCY_CHECKS]`` once started."""
    monitor = DependencyMonitor(registry)
    app[DEPENDENCIES] = monitor
    app[DEPENDENCY_CHECKS] = dict(checks)
    # on_startup handlers run after the cleanup contexts opened the resources, and
    # on_shutdown ones before they close them: no probe sees a half-open process.
    app.on_startup.append(_start_probing)
    app.on_shutdown.append(_stop_probing)
    return monitor


async def _start_probing(app: web.Application) -> None:
    monitor = app[DEPENDENCIES]
    checks = app[DEPENDENCY_CHECKS]
    monitor.watch(checks)
    monitor.prober = asyncio.get_running_loop().create_task(monitor.run(app))


async def _stop_probing(app: web.Application) -> None:
    monitor = app[DEPENDENCIES]
    monitor.stopping = True
    task, monitor.prober = monitor.prober, None
    if task is not None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def unavailable_response(
    request: web.Request,
    dependency: str,
    exc: BaseException | str,
    *,
    message: str = UNAVAILABLE_MESSAGE,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The 503 answer for a request that found ``dependency`` unavailable (counted,
    and logged when it is the first)."""
    note(request.app, dependency, exc)
    return error_response(
        503, message, headers={**(headers or {}), "Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def note(app: web.Application, dependency: str, exc: BaseException | str) -> None:
    monitor = app.get(DEPENDENCIES)
    if monitor is not None:
        monitor.answered_unavailable(dependency, exc)
    else:  # an app without a monitor still says it, once per request
        log.error("%s unavailable: %s", dependency, exc)


def note_unavailable(app: web.Application, exc: BaseException) -> str | None:
    """When ``exc`` shows a dependency down: record it and name it (else ``None``)."""
    dependency = classify(exc)
    if dependency is not None:
        note(app, dependency, exc)
    return dependency


def report_failure(
    app: web.Application, exc: BaseException, logger: logging.Logger, message: str, *args: object
) -> None:
    """For a handler that answers its own error page: a dependency down is noted
    (one log line per outage), anything else is logged with its traceback."""
    if note_unavailable(app, exc) is None:
        logger.error(message, *args, exc_info=exc)


@web.middleware
async def unavailable_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A handler that fails because a dependency is down answers the envelope's 503."""
    try:
        return await handler(request)
    except DependencyUnavailable as exc:
        return unavailable_response(request, exc.dependency, exc, message=exc.message)
    except Exception as exc:
        dependency = classify(exc)
        if dependency is None:
            raise
        return unavailable_response(request, dependency, exc)


def http_check(base_url: Callable[[web.Application], str]) -> DependencyCheck:
    """A check that another service answers its ``/health``."""

    async def check(app: web.Application) -> None:
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(base_url(app) + "/health") as resp,
        ):
            if resp.status != 200:
                raise ConnectionError(f"/health answered {resp.status}")

    return check
