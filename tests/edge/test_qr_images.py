"""``/qr/<alias>`` on the edge: the image of a code made through the QR API,
cached by content, revalidated by ETag, and redrawn after an update."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import redis.asyncio as aioredis
from PIL import Image

from services.links.qr.colors import DEFAULT_BACKGROUND
from tests.edge.conftest import Client
from tests.links.conftest import LinksApi
from tests.qr.scan import assert_carries, decode, rasterise_svg
from tests.support import principals
from tests.support.ops import metrics_text


async def add_code(api: LinksApi, **body: Any) -> tuple[int, str]:
    status, answer = await api.call("POST", "/api/qr/add", principals.user(), body)
    assert status == 200, answer
    prefix = f"{api.settings.public_base_url}/qr/"
    assert answer["link"].startswith(prefix)
    return answer["id"], answer["link"][len(prefix) :]


async def metric(edge: Client, outcome: str) -> float:
    text = await metrics_text(edge)
    match = re.search(rf'^edge_qr_images_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    assert match, text
    return float(match.group(1))


def corner(png: bytes) -> tuple[int, int, int]:
    pixel = Image.open(io.BytesIO(png)).convert("RGB").getpixel((1, 1))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


async def test_the_image_carries_the_tracking_url_and_is_cached(
    edge: Client, qr_api: LinksApi, redis_client: aioredis.Redis
) -> None:
    _, alias = await add_code(
        qr_api, type="link", data="https://example.com/menu", background="#FFF8E0"
    )
    rendered = await metric(edge, "rendered")
    cached = await metric(edge, "cached")

    first = await edge.get(f"/qr/{alias}")
    assert first.status == 200
    assert first.content_type == "image/png"
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    etag = first.headers["ETag"]
    body = await first.read()
    assert Image.open(io.BytesIO(body)).size == (300, 300)
    assert_carries(body, f"{qr_api.settings.public_base_url}/{alias}")
    assert corner(body) == (255, 248, 224)
    assert await metric(edge, "rendered") == rendered + 1

    second = await edge.get(f"/qr/{alias}")
    assert second.status == 200
    assert await second.read() == body
    assert second.headers["ETag"] == etag
    assert await metric(edge, "rendered") == rendered + 1  # not drawn again
    assert await metric(edge, "cached") == cached + 1
    key_hash = etag.strip('"')
    assert await redis_client.get(qr_api.settings.redis_key("qrimg", key_hash)) == body

    revalidated = await edge.get(f"/qr/{alias}", headers={"If-None-Match": etag})
    assert revalidated.status == 304
    assert await revalidated.read() == b""
    assert revalidated.headers["ETag"] == etag

    head = await edge.head(f"/qr/{alias}")
    assert head.status == 200
    assert head.headers["ETag"] == etag


async def test_size_and_svg(edge: Client, qr_api: LinksApi) -> None:
    _, alias = await add_code(qr_api, type="text", data="Grüße, 世界")
    big = await edge.get(f"/qr/{alias}?size=1000")
    assert big.status == 200
    png = await big.read()
    assert Image.open(io.BytesIO(png)).size == (1000, 1000)
    assert_carries(png, "Grüße, 世界")

    svg = await edge.get(f"/qr/{alias}?format=svg&size=400")
    assert svg.status == 200
    assert svg.content_type == "image/svg+xml"
    assert svg.headers["ETag"] != big.headers["ETag"]
    assert decode(rasterise_svg(await svg.read())).text == "Grüße, 世界"


@pytest.mark.parametrize(
    "query", ["size=99", "size=2001", "size=big", "format=gif", "size=300&format=jpeg"]
)
async def test_bad_size_or_format_is_a_400(edge: Client, qr_api: LinksApi, query: str) -> None:
    _, alias = await add_code(qr_api, type="text", data="size check")
    resp = await edge.get(f"/qr/{alias}?{query}")
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == 1
    assert "size" in body["message"] or "format" in body["message"]


@pytest.mark.parametrize("alias", ["nope1234", "a" * 200, "bad%20alias"])
async def test_an_unknown_code_is_a_404(edge: Client, alias: str) -> None:
    resp = await edge.get(f"/qr/{alias}")
    assert resp.status == 404


async def test_an_update_is_drawn_on_the_next_request(edge: Client, qr_api: LinksApi) -> None:
    who = principals.user()
    status, answer = await qr_api.call(
        "POST", "/api/qr/add", who, {"type": "link", "data": "https://example.com/a"}
    )
    assert status == 200
    qr_id, alias = answer["id"], answer["link"].rsplit("/", 1)[1]
    before = await edge.get(f"/qr/{alias}")
    old_etag, old_png = before.headers["ETag"], await before.read()
    assert corner(old_png) == DEFAULT_BACKGROUND

    status, _ = await qr_api.call(
        "PUT",
        f"/api/qr/{qr_id}/update",
        who,
        {"data": "https://example.com/b", "foreground": "#003366", "background": "#F0F8FF"},
    )
    assert status == 200
    after = await edge.get(f"/qr/{alias}", headers={"If-None-Match": old_etag})
    assert after.status == 200  # the client's copy is stale
    new_png = await after.read()
    assert after.headers["ETag"] != old_etag
    assert new_png != old_png
    assert corner(new_png) == (240, 248, 255)
    # Same tracking URL: codes already printed keep working.
    assert_carries(new_png, f"{qr_api.settings.public_base_url}/{alias}")

    status, _ = await qr_api.call("DELETE", f"/api/qr/{qr_id}/delete", who)
    assert status == 200
    gone = await edge.get(f"/qr/{alias}")
    assert gone.status == 404


async def test_a_static_code_shows_its_new_payload_after_an_update(
    edge: Client, qr_api: LinksApi
) -> None:
    who = principals.user()
    status, answer = await qr_api.call(
        "POST", "/api/qr/add", who, {"type": "phone", "data": "+1 555 0100"}
    )
    assert status == 200
    qr_id, alias = answer["id"], answer["link"].rsplit("/", 1)[1]
    assert_carries(await (await edge.get(f"/qr/{alias}")).read(), "tel:+15550100")
    status, _ = await qr_api.call(
        "PUT", f"/api/qr/{qr_id}/update", who, {"data": "+44 20 7946 0000"}
    )
    assert status == 200
    assert_carries(await (await edge.get(f"/qr/{alias}")).read(), "tel:+442079460000")
