"""Bio pages across the real processes: created through the gateway, served by the
edge at their alias (escaped, under a strict CSP), viewed and clicked, every view
and block click counted exactly by the worker and read back through the gateway;
channels and QR codes take them; the plan's count holds under concurrency."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from tests.e2e.conftest import add_user, admin_key, e2e_settings  # noqa: F401 - fixtures
from tests.e2e.test_click_pipeline import FIREFOX_LINUX, SAFARI_IPHONE
from tests.support.api_calls import call
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e

HOSTILE = '</h2><script>alert(1)</script><img src=x onerror="alert(2)">'


def page_body(alias: str) -> dict[str, Any]:
    return {
        "name": "Ana <b>Silva</b>",
        "alias": alias,
        "description": "Designer & maker",
        "theme": {"background": "#fdf6e3", "button": "#268BD2", "shape": "pill", "font": "serif"},
        "seo": {"title": "Ana's page", "description": "Portfolio"},
        "blocks": [
            {"type": "heading", "text": HOSTILE},
            {"type": "link", "text": "Portfolio", "url": "https://example.com/portfolio"},
            {"type": "email", "email": "ana@example.com", "text": "Write to me"},
            {"type": "text", "text": 'Say "hi" <3'},
            {"type": "video", "provider": "youtube", "video": "dQw4w9WgXcQ"},
            {"type": "vcard", "name": "Ana Silva", "phone": "+351 912 345 678"},
            {"type": "form", "text": "Get in touch"},
        ],
    }


async def visit(
    http: aiohttp.ClientSession, url: str, address: str, agent: str = FIREFOX_LINUX
) -> tuple[int, str, CIMultiDictProxy[str]]:
    async with http.get(
        url, headers={"User-Agent": agent, "X-Forwarded-For": address}, allow_redirects=False
    ) as resp:
        return resp.status, await resp.text(), resp.headers


async def wait_for_stats(
    http: aiohttp.ClientSession, url: str, key: str, views: int, blocks: dict[str, int]
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for _ in range(20):
        status, body, _ = await call(http, "GET", url, key)
        assert status == 200, body
        data = body["data"]
        if data["views"] >= views and all(data["blocks"].get(k, 0) >= n for k, n in blocks.items()):
            return data
        await asyncio.sleep(1.5)
    raise AssertionError(f"stats never reached {views} views and {blocks}: {data}")


async def test_bio_page_served_counted_and_managed(
    fresh_system: RunningSystem,
    admin_key: str,  # noqa: F811
) -> None:
    api = fresh_system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    alias = f"bio{tag}"
    async with aiohttp.ClientSession() as http:
        key = await add_user(http, api, admin_key, f"bio{tag}", 1)

        # A javascript: link is refused, and nothing is stored.
        bad = page_body(f"bad{tag}")
        bad["blocks"][1]["url"] = "javascript:alert(document.cookie)"
        status, body, _ = await call(http, "POST", f"{api}/bio/add", key, bad)
        assert (status, body["error"]) == (400, 1), body
        assert "javascript:" in body["message"]

        status, body, _ = await call(http, "POST", f"{api}/bio/add", key, page_body(alias))
        assert status == 200, body
        page_id, shorturl = body["id"], body["shorturl"]
        assert shorturl == f"{fresh_system.settings.public_base_url}/{alias}"
        status, body, _ = await call(http, "GET", f"{api}/bio/{page_id}", key)
        assert status == 200, body
        blocks = {b["type"]: b["id"] for b in body["data"]["blocks"]}
        assert [b["id"] for b in body["data"]["blocks"]] == [1, 2, 3, 4, 5, 6, 7]

        # One alias namespace with links, both ways.
        status, body, _ = await call(
            http, "POST", f"{api}/url/add", key, {"url": "https://example.com", "custom": alias}
        )
        assert status == 409, body
        status, body, _ = await call(
            http, "POST", f"{api}/url/add", key, {"url": "https://example.com", "custom": f"l{tag}"}
        )
        assert status == 200, body
        status, body, _ = await call(http, "POST", f"{api}/bio/add", key, page_body(f"l{tag}"))
        assert status == 409, body
        status, body, _ = await call(http, "GET", f"{api}/bio", key)
        assert body["data"]["result"] == 1, body  # neither refused page was stored
        assert isinstance(body["data"]["nextpage"], int)

        # The page at the edge: escaped, strict CSP, nothing from elsewhere.
        status, html, headers = await visit(http, shorturl, "8.8.8.8")
        assert status == 200
        policy = headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy
        assert "frame-src https://www.youtube-nocookie.com" in policy
        assert "img-src 'self' data:" in policy
        assert "<script" not in html
        assert "onerror=" not in html.replace("onerror=&#34;", "")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "Ana &lt;b&gt;Silva&lt;/b&gt;" in html
        assert f'href="/{alias}/b/{blocks["link"]}"' in html
        assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in html
        for _ in range(2):
            status, _, _ = await visit(http, shorturl, "8.8.4.4", SAFARI_IPHONE)
            assert status == 200

        # Block clicks: through the edge, a 302 (or the vCard), each counted for its block.
        for _ in range(2):
            status, _, headers = await visit(http, f"{shorturl}/b/{blocks['link']}", "8.8.8.8")
            assert (status, headers["Location"]) == (302, "https://example.com/portfolio")
        status, _, headers = await visit(http, f"{shorturl}/b/{blocks['email']}", "8.8.8.8")
        assert (status, headers["Location"]) == (302, "mailto:ana@example.com")
        status, card, headers = await visit(http, f"{shorturl}/b/{blocks['vcard']}", "8.8.8.8")
        assert status == 200
        assert headers["Content-Type"].startswith("text/vcard")
        assert "FN:Ana Silva" in card
        status, _, _ = await visit(http, f"{shorturl}/b/{blocks['heading']}", "8.8.8.8")
        assert status == 404  # not a clickable block
        status, _, _ = await visit(http, f"{shorturl}/b/999", "8.8.8.8")
        assert status == 404

        expected_blocks = {str(blocks["link"]): 2, str(blocks["email"]): 1}
        expected_blocks[str(blocks["vcard"])] = 1
        data = await wait_for_stats(
            http, f"{api}/bio/{page_id}/stats", key, views=3, blocks=expected_blocks
        )
        assert data["views"] == 3  # block clicks are not views
        assert data["uniqueViews"] == 2
        assert data["blocks"] == {
            **{str(i): 0 for i in blocks.values()},
            **expected_blocks,
        }
        assert data["countries"] == {"United States": 3}
        assert data["devices"] == {"Mobile": 2, "Desktop": 1}

        # Channels take it, in the seed's item shape; a QR code can point at it.
        status, body, _ = await call(http, "POST", f"{api}/channel/add", key, {"name": "Bio"})
        channel = body["id"]
        status, body, _ = await call(
            http, "POST", f"{api}/channel/{channel}/assign/bio/{page_id}", key
        )
        assert status == 200, body
        status, body, _ = await call(http, "GET", f"{api}/channel/{channel}", key)
        assert status == 200, body
        item = body["data"]["items"][0]
        assert {k: item[k] for k in ("type", "id", "title", "preview", "link")} == {
            "type": "bio",
            "id": page_id,
            "title": "Ana <b>Silva</b>",
            "preview": shorturl,
            "link": shorturl,
        }
        status, body, _ = await call(
            http, "POST", f"{api}/qr/add", key, {"type": "link", "data": shorturl, "name": "Bio"}
        )
        assert status == 200, body
        status, body, _ = await call(http, "GET", f"{api}/qr/{body['id']}", key)
        status, _, headers = await visit(http, body["details"]["shorturl"], "8.8.8.8")
        assert (status, headers["Location"]) == (302, shorturl)

        # The contact form block feeds the owner's contacts book (CSRF-protected).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as visitor:
            status, html, _ = await visit(visitor, shorturl, "8.8.8.8")
            token = html.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            async with visitor.post(
                f"{shorturl}/b/{blocks['form']}",
                data={"csrf": token, "name": "Bo", "email": f"bo{tag}@example.com"},
                headers={"User-Agent": FIREFOX_LINUX, "X-Forwarded-For": "8.8.8.8"},
            ) as resp:
                assert resp.status == 200, await resp.text()
            async with visitor.post(
                f"{shorturl}/b/{blocks['form']}",
                data={"csrf": "forged", "email": "mallory@example.com"},
                headers={"User-Agent": FIREFOX_LINUX},
            ) as resp:
                assert resp.status == 403
        status, body, _ = await call(http, "GET", f"{api}/contacts", key)
        assert status == 200, body
        emails = [c["email"] for c in body["data"]["contacts"]]
        assert emails == [f"bo{tag}@example.com"]

        # A change is served at once; a deleted page stops resolving at once.
        status, body, _ = await call(
            http,
            "PUT",
            f"{api}/bio/{page_id}/update",
            key,
            {
                "blocks": [
                    {"id": blocks["link"], "type": "link", "text": "New", "url": "https://e.org"}
                ]
            },
        )
        assert status == 200, body
        status, html, _ = await visit(http, shorturl, "8.8.8.8")
        assert ">New</a>" in html
        assert ">Portfolio</a>" not in html
        status, body, _ = await call(http, "DELETE", f"{api}/bio/{page_id}/delete", key)
        assert status == 200, body
        status, _, _ = await visit(http, shorturl, "8.8.8.8")
        assert status == 404


async def test_plan_count_is_exact_under_concurrency(
    fresh_system: RunningSystem,
    admin_key: str,  # noqa: F811
) -> None:
    api = fresh_system.gateway_url + "/api"
    tag = secrets.token_hex(4)
    async with aiohttp.ClientSession() as http:
        status, body, _ = await call(
            http,
            "POST",
            f"{api}/plan/add",
            admin_key,
            {"name": f"Bio three {tag}", "limits": {"bio": {"enabled": "1", "count": "3"}}},
        )
        assert status == 200, body
        key = await add_user(http, api, admin_key, f"bq{tag}", body["id"])
        answers = await asyncio.gather(
            *(call(http, "POST", f"{api}/bio/add", key, {"name": f"Page {n}"}) for n in range(8))
        )
        statuses = sorted(status for status, _, _ in answers)
        assert statuses == [200] * 3 + [403] * 5, answers
        refused = next(body for status, body, _ in answers if status == 403)
        assert "'bio'" in refused["message"]
        status, body, _ = await call(http, "GET", f"{api}/bio", key)
        assert body["data"]["result"] == 3
