"""What the API stored is what gets drawn: each code read back as the edge reads
it (by alias, logo by digest), rendered through the image cache, and decoded."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from PIL import Image

from services.links.qr.cache import LogoUnavailable, cache_key, get_or_render
from services.links.qr.images import image_options, load_code, logo_loader
from services.links.qr.payloads import build_payload
from shared.envelope import BadRequest
from shared.settings import Settings
from tests.links.conftest import LinksApi
from tests.qr.conftest import LogoServer
from tests.qr.scan import assert_carries, decode, parse_wifi, rasterise_svg
from tests.qr.test_api import STATIC_CODES, alias_of
from tests.support import principals


@pytest.mark.parametrize(("qr_type", "data"), STATIC_CODES)
async def test_a_static_code_decodes_to_its_payload(
    qr_api: LinksApi,
    pg_pool: asyncpg.Pool,
    links_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    logo_server: LogoServer,
    qr_type: str,
    data: Any,
) -> None:
    alice = principals.user()
    added = await qr_api.added(
        alice,
        "qr",
        type=qr_type,
        data=data,
        foreground="rgb(120,0,40)",
        background="#FFFDF0",
        logo=logo_server.url("/logo.jpg"),
    )
    code = await load_code(links_pool, qr_api.settings, alias_of(qr_api, added["link"]))
    assert code is not None
    assert code.id == added["id"]
    assert code.foreground == (120, 0, 40)
    assert code.background == (255, 253, 240)
    image, cached = await get_or_render(
        redis_client, settings, code.spec(size=600), load_logo=logo_loader(links_pool, code)
    )
    assert not cached
    barcode = assert_carries(image, build_payload(qr_type, data))
    assert barcode.ec_level == "H"  # the logo needs the highest correction
    if qr_type == "text":
        assert barcode.text == data  # non-ASCII comes back exactly
    if qr_type == "wifi":
        assert parse_wifi(barcode.text) == {"T": "WPA", "S": "Café;Net", "P": 'p"a:ss', "H": "true"}
    pixel = Image.open(io.BytesIO(image)).convert("RGB").getpixel((2, 2))
    assert pixel == (255, 253, 240)


async def test_a_dynamic_code_carries_its_tracking_url_in_png_and_svg(
    qr_api: LinksApi, links_pool: asyncpg.Pool, redis_client: aioredis.Redis, settings: Settings
) -> None:
    alice = principals.user()
    added = await qr_api.added(alice, "qr", type="link", data="https://example.com/far/away")
    alias = alias_of(qr_api, added["link"])
    code = await load_code(links_pool, qr_api.settings, alias)
    assert code is not None
    tracking = f"{qr_api.settings.public_base_url}/{alias}"
    assert code.payload == tracking
    png, _ = await get_or_render(redis_client, settings, code.spec(size=300))
    assert_carries(png, tracking)
    svg, _ = await get_or_render(redis_client, settings, code.spec(size=300, format="svg"))
    assert decode(rasterise_svg(svg)).text == tracking

    # New data: the image stays the same (printed codes keep working).
    status, _ = await qr_api.call(
        "PUT", f"/api/qr/{added['id']}/update", alice, {"data": "https://example.com/moved"}
    )
    assert status == 200
    after = await load_code(links_pool, qr_api.settings, alias)
    assert after is not None
    assert after.spec(size=300).digest() == code.spec(size=300).digest()


async def test_a_logo_named_by_digest_shares_the_cache_key_and_loads_only_on_a_miss(
    qr_api: LinksApi,
    pg_pool: asyncpg.Pool,
    links_pool: asyncpg.Pool,
    redis_client: aioredis.Redis,
    settings: Settings,
    logo_server: LogoServer,
) -> None:
    alice = principals.user()
    added = await qr_api.added(
        alice, "qr", type="text", data="by digest", logo=logo_server.url("/logo.png")
    )
    code = await load_code(links_pool, qr_api.settings, alias_of(qr_api, added["link"]))
    assert code is not None
    logo = await pg_pool.fetchval("SELECT logo FROM links.qr_codes WHERE id = $1", added["id"])
    assert code.logo_sha256 == hashlib.sha256(logo).hexdigest()
    spec = code.spec(size=500)
    with_bytes = replace(spec, logo=logo, logo_sha256=None)
    assert cache_key(settings, spec) == cache_key(settings, with_bytes)

    loads: list[int] = []
    loader = logo_loader(links_pool, code)

    async def counting() -> bytes | None:
        loads.append(1)
        return await loader()

    first, cached = await get_or_render(redis_client, settings, spec, load_logo=counting)
    assert (cached, len(loads)) == (False, 1)
    second, cached = await get_or_render(redis_client, settings, spec, load_logo=counting)
    assert (cached, len(loads)) == (True, 1)
    assert second == first

    async def other_logo() -> bytes | None:
        return b"\x89PNG not the same"

    # Bytes that are not the named logo (it changed meanwhile) are never drawn.
    with pytest.raises(LogoUnavailable):
        await get_or_render(redis_client, settings, replace(spec, size=501), load_logo=other_logo)
    assert await redis_client.exists(cache_key(settings, replace(spec, size=501))) == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (300, "png")),
        ({"size": "1200", "format": "SVG"}, (1200, "svg")),
        ({"size": ""}, (300, "png")),
    ],
)
def test_image_options(query: dict[str, str], expected: tuple[int, str]) -> None:
    assert image_options(query) == expected


@pytest.mark.parametrize(
    "query", [{"size": "99"}, {"size": "2001"}, {"size": "abc"}, {"format": "gif"}, {"size": "-5"}]
)
def test_bad_image_options_are_a_400(query: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        image_options(query)
