"""What a bio page may hold: every refusal is a 400 naming the field, before anything
is stored (no network here: image blocks and avatars are covered end to end)."""

from __future__ import annotations

from typing import Any

import pytest

from services.links.bio_fields import parse_blocks, parse_seo, parse_theme
from shared.envelope import BadRequest
from shared.events import MalformedEvent, parse_click
from shared.safe_fetch import SafeFetcher
from shared.settings import Settings


async def blocks(raw: Any, current: list[dict[str, Any]] | None = None, last: int = 0) -> Any:
    return await parse_blocks(raw, current or [], last, Settings(), SafeFetcher())


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ({"type": "link", "text": "x", "url": "javascript:alert(1)"}, "blocks[0].url"),
        ({"type": "link", "text": "x", "url": "JavaScript:alert(1)"}, "blocks[0].url"),
        (
            {"type": "link", "text": "x", "url": "data:text/html,<script>1</script>"},
            "blocks[0].url",
        ),
        ({"type": "link", "text": "x", "url": "vbscript:msgbox"}, "blocks[0].url"),
        ({"type": "link", "text": "", "url": "https://e.org"}, "blocks[0].text"),
        ({"type": "social", "links": [{"network": "x", "url": "javascript:1"}]}, "url"),
        ({"type": "social", "links": [{"network": "myspace", "url": "https://e.org"}]}, "network"),
        (
            {"type": "video", "provider": "youtube", "video": "https://youtu.be/dQw4w9WgXcQ"},
            "video",
        ),
        ({"type": "video", "provider": "dailymotion", "video": "x7"}, "provider"),
        ({"type": "email", "email": "not-an-address"}, "email"),
        ({"type": "phone", "phone": "call me"}, "phone"),
        ({"type": "vcard", "name": "A", "url": "javascript:1"}, "blocks[0].url"),
        ({"type": "form", "group": "2"}, "group"),
        ({"type": "image", "url": "file:///etc/passwd"}, "blocks[0].url"),
        ({"type": "script"}, "type"),
        ({"type": ["link"]}, "type"),
        ({"type": "video", "provider": ["youtube"], "video": "x"}, "provider"),
        ({"type": "social", "links": [{"network": {}, "url": "https://e.org"}]}, "network"),
    ],
)
async def test_refused_blocks_name_their_field(block: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        await blocks([block])
    assert field in refused.value.message


async def test_blocks_get_ids_that_are_kept_and_never_reused() -> None:
    first, last = await blocks(
        [{"type": "heading", "text": "A"}, {"type": "link", "text": "B", "url": "mailto:a@b.co"}]
    )
    assert [(b["id"], b["type"]) for b in first] == [(1, "heading"), (2, "link")]
    # Block 1 removed, block 2 kept (sent back with its id), a new one gets 3, not 1.
    second, last = await blocks(
        [
            {"id": 2, "type": "link", "text": "B2", "url": "https://e.org"},
            {"type": "text", "text": "C"},
        ],
        first,
        last,
    )
    assert [(b["id"], b["type"]) for b in second] == [(2, "link"), (3, "text")]
    assert last == 3
    with pytest.raises(BadRequest):
        await blocks([{"id": 2, "type": "text", "text": "x"}] * 2, second, last)


def test_theme_and_seo() -> None:
    theme = parse_theme({"background": "#abc", "shape": "pill"}, None)
    assert theme["background"] == "#AABBCC"
    assert theme["shape"] == "pill"
    assert parse_theme({"font": "mono"}, theme)["shape"] == "pill"  # only what is sent changes
    bad: Any
    for bad in ({"font": "Comic Sans"}, {"font": []}, {"shape": {}}, {"background": "red"}, "x"):
        with pytest.raises(BadRequest):
            parse_theme(bad, None)
    with pytest.raises(BadRequest):
        parse_seo({"image": "javascript:alert(1)"})


def test_click_events_with_and_without_a_block() -> None:
    old = {"link_id": 1, "owner_id": 2, "ip": "8.8.8.8", "user_agent": "x"}
    assert parse_click(old)["block_id"] is None  # events from before bio pages stay valid
    assert parse_click({**old, "block_id": 7})["block_id"] == 7
    with pytest.raises(MalformedEvent):
        parse_click({**old, "block_id": "7"})
