"""``limit``/``page`` pagination with the published body shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.envelope import BadRequest

DEFAULT_LIMIT = 15
MAX_LIMIT = 100


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
            limit=_positive(query.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT),
            page=_positive(query.get("page"), "page", 1, 1_000_000),
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


def _positive(raw: str | None, name: str, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    # isdigit() alone admits "²", which int() refuses
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise BadRequest(f"The parameter '{name}' must be a positive integer.")
    return min(int(raw), maximum)
