"""The skeleton every internal service shares: error envelope, identity check,
request metrics, ops endpoints, and the resources it needs as cleanup contexts."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import suppress

from aiohttp import web
from aiohttp.typedefs import Handler

from shared import identity
from shared.amqp import amqp_ctx
from shared.appkeys import REDIS, SERVICE_NAME, SETTINGS
from shared.dependencies import unavailable_middleware
from shared.envelope import error_middleware, error_response
from shared.identity import Principal
from shared.logs import configure_logging
from shared.nonces import SeenNonces
from shared.observability import OPS_PATHS, add_ops_routes, metrics_middleware, setup_metrics
from shared.postgres import postgres_ctx
from shared.redis_ctx import create_redis, redis_ctx
from shared.request_query import refuse_nul_middleware
from shared.settings import Settings

log = logging.getLogger("shared.service")

PRINCIPAL_KEY = web.RequestKey("principal", Principal)
NONCES = web.AppKey("seen_nonces", SeenNonces)
RESOURCE_CONTEXTS: dict[str, Callable[[web.Application], AsyncIterator[None]]] = {
    "postgres": postgres_ctx,
    "redis": redis_ctx,
    "amqp": amqp_ctx,
}


def principal(request: web.Request) -> Principal:
    """The verified caller of an internal service request."""
    return request[PRINCIPAL_KEY]


def identity_middleware(
    secret: str, public_prefixes: tuple[str, ...] = ()
) -> Callable[[web.Request, Handler], object]:
    """Refuse every request that does not carry a valid gateway signature for
    exactly this method, path, query and body, or that carries one already used."""

    @web.middleware
    async def check_identity(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in OPS_PATHS or path.startswith(public_prefixes):
            return await handler(request)
        # Bodies are bounded by client_max_size; the handler reads the cached bytes.
        body = await request.read() if request.body_exists else b""
        signed = identity.verify_signed(
            request.headers.get(identity.HEADER), secret, request.method, request.raw_path, body
        )
        if signed is None:
            if identity.HEADER in request.headers:  # a caller's bug more often than an attack
                log.warning(
                    "refused the identity header of %s %s: it must be signed over this method, "
                    "the path with its query as sent, and the exact body bytes, and be fresh",
                    request.method,
                    request.path,
                )
            return error_response(403, "This service only answers requests signed by the gateway.")
        if not await request.app[NONCES].first_use(signed):
            log.warning("refused a replayed identity header on %s %s", request.method, request.path)
            return error_response(403, "This signed request was already used.")
        request[PRINCIPAL_KEY] = signed.principal
        return await handler(request)

    return check_identity


async def nonces_ctx(app: web.Application) -> AsyncIterator[None]:
    """The seen-nonce store of the identity check, on the service's Redis client
    (or one of its own for services that use no Redis otherwise)."""
    own = REDIS not in app
    redis = create_redis(app[SETTINGS].redis_url) if own else app[REDIS]
    app[NONCES] = SeenNonces(redis, app[SETTINGS])
    try:
        yield
    finally:
        if own:
            await redis.aclose()


def create_service_app(
    settings: Settings,
    *,
    name: str,
    needs: Iterable[str] = ("postgres", "redis", "amqp"),
    verify_identity: bool = True,
    public_prefixes: tuple[str, ...] = (),
) -> web.Application:
    """A new application with the shared middlewares, ops routes and resources.

    ``needs`` names the resources to open (``postgres``, ``redis``, ``amqp``);
    each becomes a cleanup context and a watched dependency (``/health`` details,
    ``dependency_up``); a request that finds one down answers the envelope's 503."""
    middlewares: list[object] = [metrics_middleware, error_middleware, unavailable_middleware]
    if verify_identity:
        middlewares.append(identity_middleware(settings.internal_secret, public_prefixes))
    middlewares.append(refuse_nul_middleware)
    app = web.Application(
        middlewares=middlewares,  # type: ignore[arg-type]
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[SERVICE_NAME] = name
    setup_metrics(app)
    resources = frozenset(needs)
    for resource in ("postgres", "redis", "amqp"):  # opened in this order, closed in reverse
        if resource in resources:
            app.cleanup_ctx.append(RESOURCE_CONTEXTS[resource])
    if verify_identity:
        app.cleanup_ctx.append(nonces_ctx)
    add_ops_routes(app, resources)
    return app


def refuse_weak_secret(settings: Settings) -> None:
    """Exit (status 2, a clear message) when ``INTERNAL_SECRET`` is a default, a
    placeholder or too short, unless ``DEV_MODE`` is set (then only warn)."""
    problem = settings.internal_secret_problem()
    if problem is None:
        return
    if settings.dev_mode:
        log.warning("%s: fine for DEV_MODE, never in production", problem)
        return
    message = (
        f"{problem}. Refusing to start: anyone who knows it can act as any user.\n"
        "Set INTERNAL_SECRET to the same long random string for every process, e.g.\n"
        "    INTERNAL_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
        "(`make run` and the tests set DEV_MODE=1, which allows the development default.)"
    )
    log.critical("%s", message.splitlines()[0])
    print(message, file=sys.stderr, flush=True)
    raise SystemExit(2)


def install_uvloop() -> None:
    with suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve(
    app_factory: Callable[[Settings], web.Application],
    *,
    name: str,
    port: Callable[[Settings], int],
    settings: Settings | None = None,
) -> None:
    """Run one process: settings from the environment, uvloop, graceful shutdown."""
    settings = settings or Settings.from_env()
    configure_logging(name, settings.log_level, settings.log_format)
    refuse_weak_secret(settings)
    install_uvloop()
    app = app_factory(settings)
    log.info("starting %s on %s:%s", name, settings.host, port(settings))
    web.run_app(
        app,
        host=settings.host,
        port=port(settings),
        access_log=None,
        print=None,
        shutdown_timeout=10,
        handle_signals=True,
        reuse_port=True,
    )


async def serve_ops(runner: web.AppRunner, host: str, port: int) -> int:
    """Serve a background process's ops endpoints on ``port``; when another copy on
    this host has it already, on a free port instead (logged): a second copy never
    dies of it."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        await web.TCPSite(runner, host, 0).start()
        taken, port = port, int(runner.addresses[-1][1])
        log.warning("ops port %s is taken (another copy?): serving it on %s", taken, port)
    return port


async def run_in_background(app: web.Application, settings: Settings, ops_port: int | None) -> None:
    """Run ``app`` (its cleanup contexts own the work) until SIGTERM or SIGINT, its
    ops endpoints served on ``ops_port`` when one is set; then close it gracefully."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        port = await serve_ops(runner, settings.host, ops_port) if ops_port else None
        log.info("%s running (ops port: %s)", app[SERVICE_NAME], port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def serve_in_background(
    app_factory: Callable[[Settings], web.Application],
    *,
    name: str,
    ops_port: Callable[[Settings], int | None],
) -> None:
    """Run one background process (no public port): settings from the environment,
    uvloop, graceful shutdown."""
    settings = Settings.from_env()
    configure_logging(name, settings.log_level, settings.log_format)
    refuse_weak_secret(settings)
    install_uvloop()
    asyncio.run(run_in_background(app_factory(settings), settings, ops_port(settings)))
