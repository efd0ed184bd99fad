"""The API's one date format: ``YYYY-MM-DD HH:MM:SS`` in UTC, in and out."""

from __future__ import annotations

import re
from datetime import UTC, datetime

API_FORMAT = "%Y-%m-%d %H:%M:%S"
# The common case, read without strptime (an import parses 100,000 of them).
_API_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_ACCEPTED = (API_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(API_FORMAT)


def parse_datetime(value: str) -> datetime | None:
    """Parse an API date (UTC); ``None`` if it is not one."""
    text = value.strip().removesuffix("Z")
    if _API_SHAPE.fullmatch(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            return None
    for fmt in _ACCEPTED:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
