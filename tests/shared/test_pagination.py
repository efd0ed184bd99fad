"""``shared.pagination``: the published list body, as every seed example shows it."""

from __future__ import annotations

import pytest

from shared.envelope import BadRequest
from shared.pagination import Page


@pytest.mark.parametrize(
    ("limit", "page", "total", "nextpage", "maxpage"),
    [
        (2, 1, 5, 2, 3),
        (2, 2, 5, 3, 3),
        (2, 3, 5, 3, 3),  # the last page names itself, never null
        (15, 1, 0, 1, 1),  # an empty list is one empty page
        (15, 1, 15, 1, 1),
        (2, 9, 5, 3, 3),  # past the end: still a page that exists
    ],
)
def test_nextpage_is_always_a_number(
    limit: int, page: int, total: int, nextpage: int, maxpage: int
) -> None:
    body = Page(limit=limit, page=page).body("items", [], total)
    assert body == {
        "result": total,
        "perpage": limit,
        "currentpage": page,
        "nextpage": nextpage,
        "maxpage": maxpage,
        "items": [],
    }


def test_query_defaults_and_caps() -> None:
    assert Page.from_query({}) == Page(limit=15, page=1)
    assert Page.from_query({"limit": "1000", "page": "3"}) == Page(limit=100, page=3)


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1.5", "²", "1\x00"])
def test_bad_numbers_are_a_400(raw: str) -> None:
    for name in ("limit", "page"):
        with pytest.raises(BadRequest) as caught:
            Page.from_query({name: raw})
        assert caught.value.message == f"The parameter '{name}' must be a positive integer."
