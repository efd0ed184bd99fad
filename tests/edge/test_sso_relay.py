"""Sign-in links live on the short domain: the edge relays them to accounts."""

from __future__ import annotations

from services.links.edge.app import create_app
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.support.service_client import closed_port


async def test_malformed_token_is_a_404_page(serve_app: ServeApp, settings: Settings) -> None:
    edge = await serve_app(create_app, settings)
    resp = await edge.get("/user/login/sso/<script>")
    assert resp.status == 404
    assert resp.content_type == "text/html"
    assert "<script>" not in await resp.text()


async def test_accounts_down_is_a_503_page_not_a_hang(
    serve_app: ServeApp, settings: Settings
) -> None:
    edge = await serve_app(
        create_app, settings.with_overrides(accounts_url=f"http://127.0.0.1:{closed_port()}")
    )
    resp = await edge.get("/user/login/sso/" + "a" * 32)
    assert resp.status == 503
    assert resp.content_type == "text/html"
    assert resp.headers["Retry-After"] == "5"
