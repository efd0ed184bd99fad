"""A bio page at the edge, from its snapshot: escaped, strict CSP (frames only for the
embeds it has), counted views and block clicks (with the block's id in the event),
and nothing served from a snapshot's content the edge would not have accepted."""

from __future__ import annotations

from typing import Any

from tests.edge.conftest import BROWSER, ClickQueue, Client, WriteSnapshot

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def bio(blocks: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "name": HOSTILE,
        "description": "</style><style>body{display:none}",
        "avatar": None,
        "theme": {"background": "red;}</style><script>", "font": "serif", "shape": "pill"},
        "seo": {"title": None, "description": None, "image": "javascript:alert(1)"},
        "blocks": blocks,
        **fields,
    }


async def test_page_is_escaped_and_its_policy_allows_no_script_and_no_frame(
    edge: Client, write_snapshot: WriteSnapshot, clicks: ClickQueue
) -> None:
    link = await write_snapshot(
        "https://localhost/placeholder",
        type="bio",
        bio=bio(
            [
                {"id": 1, "type": "text", "text": HOSTILE},
                {"id": 2, "type": "link", "text": "Go", "url": "javascript:alert(1)"},
                {"id": 3, "type": "link", "text": "Shop", "url": "https://shop.example.com/"},
                {"id": 4, "type": "video", "provider": "youtube", "video": "x' onload='1"},
                {"id": 5, "type": "image", "png": '" onerror="alert(1)'},
            ]
        ),
    )
    resp = await edge.get(link.path, headers={"User-Agent": BROWSER})
    assert resp.status == 200
    html = await resp.text()
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-src" not in policy  # no valid embed, no frame at all
    assert "script-src" not in policy
    nonce = policy.split("style-src 'nonce-", 1)[1].split("'", 1)[0]
    assert f'<style nonce="{nonce}">' in html
    assert "<script" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "red;}" not in html  # a colour that is not #RRGGBB is the default one
    assert "javascript:" not in html  # the unsafe link and preview image are left out
    assert "/b/3" in html
    assert "/b/2" not in html
    assert "onerror" not in html.replace("onerror=alert(2)&gt;", "")
    (event,) = await clicks.wait_for(link.id, 1)
    assert "block_id" not in event["payload"]  # a view: the event as it always was

    resp = await edge.get(
        f"{link.path}/b/3", headers={"User-Agent": BROWSER}, allow_redirects=False
    )
    assert (resp.status, resp.headers["Location"]) == (302, "https://shop.example.com/")
    events = await clicks.wait_for(link.id, 2)
    assert sorted(e["payload"].get("block_id") or 0 for e in events) == [0, 3]
    resp = await edge.get(f"{link.path}/b/2", allow_redirects=False)
    assert resp.status == 404  # dropped at the edge: never a javascript: Location


async def test_frames_only_for_the_embeds_the_page_has(
    edge: Client, write_snapshot: WriteSnapshot
) -> None:
    link = await write_snapshot(
        "https://localhost/placeholder",
        type="bio",
        bio=bio([{"id": 1, "type": "video", "provider": "vimeo", "video": "76979871"}]),
    )
    resp = await edge.head(link.path)
    policy = resp.headers["Content-Security-Policy"]
    assert "frame-src https://player.vimeo.com;" in policy + ";"
    assert "youtube" not in policy
