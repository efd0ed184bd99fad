"""The API's one date format: ``YYYY-MM-DD HH:MM:SS`` in UTC, in and out."""

from __future__ import annotations

from datetime import UTC, datetime

API_FORMAT = "%Y-%m-%d %H:%M:%S"
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
    for fmt in _ACCEPTED:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
