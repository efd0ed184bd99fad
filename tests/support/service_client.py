"""Starting a service's app on a real port behind a client that signs as the gateway."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.settings import Settings
from tests.conftest import AppFactory, ServeApp
from tests.support.signed_client import SignedClient

Api = TypeVar("Api")
MakeApi = Callable[[TestClient[web.Request, web.Application], SignedClient, Settings], Api]


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def service_starter(
    serve_app: ServeApp, settings: Settings, factory: AppFactory, make: MakeApi[Api]
) -> Callable[..., Awaitable[Api]]:
    """``start(**overrides)``: ``factory``'s app on a real port with the test settings
    and ``overrides`` (analytics points at a closed port unless overridden), answered
    as ``make(client, signing client, settings it runs with)``."""

    async def start(**overrides: Any) -> Api:
        overrides.setdefault("analytics_url", f"http://127.0.0.1:{closed_port()}")
        run_settings = settings.with_overrides(**overrides)
        client = await serve_app(factory, run_settings)
        return make(client, SignedClient(client, settings.internal_secret), run_settings)

    return start
