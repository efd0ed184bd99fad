"""A campaign's public list page ``/u/<username>/<slug>-<id>``: its links' titles
and short URLs while the campaign is public, a 404 page otherwise, and nothing
its owner typed can run as script."""

from __future__ import annotations

from typing import Any

import pytest

from services.links.app import create_app as create_links_app
from shared.identity import Principal
from shared.settings import Settings
from tests.conftest import ServeApp
from tests.edge.conftest import BROWSER, Client, within
from tests.edge.test_rotator import LinksApi
from tests.support import principals

UA = {"User-Agent": BROWSER}
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture
async def links_api(serve_app: ServeApp, settings: Settings) -> LinksApi:
    client = await serve_app(
        create_links_app, settings.with_overrides(analytics_url="http://127.0.0.1:9")
    )
    return LinksApi(client, settings.internal_secret)


def list_path(campaign: dict[str, Any]) -> str:
    """The path of the published ``list`` URL."""
    url: str = campaign["list"]
    return "/u/" + url.split("/u/", 1)[1]


async def status_of(edge: Client, path: str) -> int:
    resp = await edge.get(path, allow_redirects=False, headers=UA)
    return resp.status


async def make_campaign(
    api: LinksApi, who: Principal, *, public: bool, name: str = "Spring launch"
) -> dict[str, Any]:
    body = {"name": name, "slug": f"list-{who.user_id}", "public": public}
    campaign: dict[str, Any] = await api.call("POST", "/api/campaign/add", who, body)
    return campaign


async def test_public_campaign_lists_its_links(
    edge: Client, links_api: LinksApi, settings: Settings
) -> None:
    alice = principals.user()
    campaign = await make_campaign(links_api, alice, public=True)
    for body in (
        {"url": "https://example.com/1", "title": "First offer", "custom": f"one-{alice.user_id}"},
        {"url": "https://example.com/2", "custom": f"two-{alice.user_id}"},
        {"url": "https://example.com/3", "title": "Hidden", "status": "private"},
    ):
        await links_api.call("POST", "/api/url/add", alice, {**body, "campaign": campaign["id"]})
    resp = await edge.get(list_path(campaign), headers=UA)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    html = await resp.text()
    base = settings.public_base_url
    assert "<h1>Spring launch</h1>" in html
    assert f'<a href="{base}/one-{alice.user_id}" rel="nofollow">First offer</a>' in html
    # Without a title, the short URL is the link text.
    two = f"{base}/two-{alice.user_id}"
    assert f'<a href="{two}" rel="nofollow">{two}</a>' in html
    # Private links are not listed.
    assert "Hidden" not in html
    assert "example.com/3" not in html


async def test_owner_text_is_escaped(edge: Client, links_api: LinksApi) -> None:
    alice = principals.user()
    campaign = await make_campaign(links_api, alice, public=True, name=HOSTILE)
    await links_api.call(
        "POST",
        "/api/url/add",
        alice,
        {"url": "https://example.com/x", "title": HOSTILE, "campaign": campaign["id"]},
    )
    resp = await edge.get(list_path(campaign), headers=UA)
    html = await resp.text()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.replace("&lt;script", "")


async def test_private_wrong_user_or_unknown_is_a_404_page(
    edge: Client, links_api: LinksApi
) -> None:
    alice, bob = principals.user(), principals.user()
    private = await make_campaign(links_api, alice, public=False)
    path = list_path(private)
    assert await status_of(edge, path) == 404
    public = await make_campaign(links_api, bob, public=True)
    good = list_path(public)
    assert await status_of(edge, good) == 200
    campaign_id = public["id"]
    for bad in (
        good.replace(bob.username, alice.username),  # another user's name
        good.replace(bob.username, bob.username.upper()),
        f"/u/{bob.username}/list-{campaign_id + 10_000_000}",
        f"/u/{bob.username}/list-abc",
        f"/u/{bob.username}/{campaign_id}",  # no slug part
        f"/u/{bob.username}/list-{'9' * 30}",
    ):
        assert await status_of(edge, bad) == 404, bad
    # The slug part is decoration: any text before the id shows the same page.
    assert await status_of(edge, f"/u/{bob.username}/anything-{campaign_id}") == 200


async def test_going_private_hides_the_page_at_once(edge: Client, links_api: LinksApi) -> None:
    alice = principals.user()
    campaign = await make_campaign(links_api, alice, public=True)
    path = list_path(campaign)
    assert await status_of(edge, path) == 200
    await links_api.call(
        "PUT",
        f"/api/campaign/{campaign['id']}/update",
        alice,
        {"name": "Spring launch", "public": False},
    )
    assert await within(1.0, lambda: status_of(edge, path), 404)
    await links_api.call("DELETE", f"/api/campaign/{campaign['id']}/delete", alice)
    assert await status_of(edge, path) == 404
