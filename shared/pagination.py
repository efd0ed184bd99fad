"""``limit``/``page`` pagination with the published body shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.request_query import positive_param

DEFAULT_LIMIT = 15
MAX_LIMIT = 100
MAX_PAGE = 1_000_000


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Page:
        return cls(
            limit=positive_param(query, "limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT),
            page=positive_param(query, "page", default=1, maximum=MAX_PAGE),
        )

    def body(self, items_key: str, items: Sequence[Any], total: int) -> dict[str, Any]:
        """The published ``data`` object: result, perpage, currentpage, nextpage, maxpage, items.

        ``nextpage`` is always a number, ``min(page + 1, maxpage)``, as in every
        published example: clients written against them decode an integer."""
        maxpage = max(1, -(-total // self.limit))
        return {
            "result": total,
            "perpage": self.limit,
            "currentpage": self.page,
            "nextpage": min(self.page + 1, maxpage),
            "maxpage": maxpage,
            items_key: list(items),
        }
