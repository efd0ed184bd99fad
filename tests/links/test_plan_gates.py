"""Plan gates on adding tracking pixels, splash pages and CTA overlays: the starter
plan has no such feature; the business plan may add its count of them, not one more.
Nothing refused is stored."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.links.conftest import LinksApi, owned_rows
from tests.links.test_overlays import MESSAGE
from tests.links.test_splash import FULL
from tests.support import principals


@pytest.mark.parametrize(
    ("kind", "body", "feature", "count", "limit"),
    [
        # count: the business plan's <feature>.count
        (
            "pixel",
            {"type": "bing", "name": "x", "tag": "12345"},
            "'pixels' feature",
            10,
            "limit of 10 tracking pixels",
        ),
        ("splash", FULL, "'splash' feature", 5, "limit of 5 custom splash pages"),
        ("overlay", MESSAGE, "'overlay' feature", 10, "limit of 10 CTA overlays"),
    ],
    ids=["pixel", "splash", "overlay"],
)
async def test_plan_gate_and_count(
    links: LinksApi,
    pg_pool: asyncpg.Pool,
    kind: str,
    body: dict[str, Any],
    feature: str,
    count: int,
    limit: str,
) -> None:
    rows = owned_rows(kind)
    starter = principals.user(principals.STARTER_LIMITS)
    assert feature in await links.refused(starter, kind, body, status=403)
    assert await rows(pg_pool, starter) == []

    business = principals.user(principals.BUSINESS_LIMITS)
    for _ in range(count):
        await links.create(business, kind, **body)
    assert limit in await links.refused(business, kind, body, status=403)
    assert len(await rows(pg_pool, business)) == count
