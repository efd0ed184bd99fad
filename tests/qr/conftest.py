"""Fixtures for the QR tests: logos, a local web server that serves them, and
the links service (which serves the QR API) with or without the analytics service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from services.links.app import create_app
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.links.conftest import LinksApi, StartLinks
from tests.links.conftest import link_deleted_tap as link_deleted_tap  # a fixture, shared
from tests.qr import images
from tests.support.analytics_service import serve_analytics
from tests.support.service_client import service_starter

Handler = Callable[[web.Request], Awaitable[web.Response]]


@dataclass
class LogoServer:
    """A local HTTP server with good and bad logos; records what it was asked for."""

    base_url: str
    hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path


#: The logo server's paths that are no acceptable logo, and what a refusal says of each.
BAD_LOGOS = [
    ("/logo.gif", "must be a PNG or JPEG"),
    ("/fake.png", "must be a PNG or JPEG"),
    ("/page.html", "must be a PNG or JPEG"),
    ("/big.png", "at most 2 MB"),
    ("/big-streamed.png", "at most 2 MB"),
    ("/missing.png", "could not be fetched: The URL answered HTTP 404"),
]


def _logo_app(hits: list[str]) -> Callable[[Settings], web.Application]:
    png = images.logo("PNG")
    jpeg = images.logo("JPEG")
    gif = images.logo("GIF")
    oversize = images.noise_png(2 * 1024 * 1024 + 1)

    def factory(_: Settings) -> web.Application:
        def fixed(body: bytes, content_type: str) -> Handler:
            async def handler(request: web.Request) -> web.Response:
                hits.append(request.path)
                return web.Response(body=body, content_type=content_type)

            return handler

        async def streamed_oversize(request: web.Request) -> web.StreamResponse:
            # No Content-Length: the limit must hold while streaming.
            hits.append(request.path)
            response = web.StreamResponse(headers={"Content-Type": "image/png"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(oversize), 256 * 1024):
                await response.write(oversize[start : start + 256 * 1024])
            await response.write_eof()
            return response

        async def redirect(request: web.Request) -> web.Response:
            hits.append(request.path)
            raise web.HTTPFound(request.query["to"])

        async def missing(request: web.Request) -> web.Response:
            hits.append(request.path)
            raise web.HTTPNotFound()

        app = web.Application()
        app.router.add_get("/logo.png", fixed(png, "image/png"))
        app.router.add_get("/logo.jpg", fixed(jpeg, "image/jpeg"))
        app.router.add_get("/octet/logo", fixed(png, "application/octet-stream"))
        app.router.add_get("/logo.gif", fixed(gif, "image/gif"))
        app.router.add_get("/fake.png", fixed(b"<html>not a logo</html>", "image/png"))
        app.router.add_get("/page.html", fixed(b"<html><body>hi</body></html>", "text/html"))
        app.router.add_get("/big.png", fixed(oversize, "image/png"))
        app.router.add_get("/big-streamed.png", streamed_oversize)
        app.router.add_get("/redirect", redirect)
        app.router.add_get("/missing.png", missing)
        return app

    return factory


@pytest.fixture
async def logo_server(serve_app: ServeApp) -> LogoServer:
    hits: list[str] = []
    client = await serve_app(_logo_app(hits))
    return LogoServer(base_url=str(client.make_url("")).rstrip("/"), hits=hits)


@pytest.fixture
async def start_qr_api(serve_app: ServeApp, settings: Settings) -> StartLinks:
    """Start the links app; analytics points at a closed port unless overridden."""
    return service_starter(serve_app, settings, create_app, LinksApi)


@pytest.fixture
async def qr_api(start_qr_api: StartLinks) -> LinksApi:
    return await start_qr_api()


@pytest.fixture
async def qr_with_analytics(
    serve_app: ServeApp, settings: Settings, start_qr_api: StartLinks
) -> LinksApi:
    """The links app talking to the real analytics API, fed by the real worker."""
    return await start_qr_api(analytics_url=await serve_analytics(serve_app, settings))
