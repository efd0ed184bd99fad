"""Sign-in links live on the short domain: the edge relays them to accounts."""

from __future__ import annotations

from services.accounts.app import create_app as create_accounts_app
from services.links.edge.app import create_app
from shared.settings import Settings
from tests.accounts.conftest import AccountsApi
from tests.conftest import ServeApp
from tests.support import principals
from tests.support.service_client import closed_port, service_starter


async def start_accounts(serve_app: ServeApp, settings: Settings) -> AccountsApi:
    """The real accounts service, which the edge relays sign-in links to."""
    return await service_starter(serve_app, settings, create_accounts_app, AccountsApi)()


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


async def test_head_through_the_edge_leaves_the_link_usable(
    serve_app: ServeApp, settings: Settings
) -> None:
    """A mail scanner's HEAD is relayed as a HEAD: the person's visit still signs in."""
    accounts = await start_accounts(serve_app, settings)
    user = await accounts.add_user()
    got = await accounts.call("GET", f"/api/user/login/{user.id}", principals.admin())
    assert got.status == 200, got.body
    token = got.body["url"].rsplit("/", 1)[1]
    accounts_url = str(accounts.client.make_url("")).rstrip("/")
    edge = await serve_app(create_app, settings.with_overrides(accounts_url=accounts_url))

    for _ in range(2):
        peek = await edge.head(f"/user/login/sso/{token}")
        assert peek.status == 200
        assert "Set-Cookie" not in peek.headers
        assert peek.headers["Cache-Control"] == "no-store"
    visit = await edge.get(f"/user/login/sso/{token}")
    assert visit.status == 200
    assert f"Signed in as {user.username}" in await visit.text()
    assert "sl_session=" in visit.headers["Set-Cookie"]
    assert (await edge.head(f"/user/login/sso/{token}")).status == 410
    assert (await edge.get(f"/user/login/sso/{token}")).status == 410
