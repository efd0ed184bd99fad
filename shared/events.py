"""The events that cross service lines, defined once.

Every message on the topic exchange ``<prefix>events`` carries a JSON array of
events of one type, routed by that type (``click.recorded``, ``link.deleted``,
``user.deleted``, ``plan.changed``, ``apikey.revoked``). Batching many events
into one persistent, confirmed message is what lets the edge publish every
click without slowing redirects. Each event is::

    {"id": "<32 hex>", "type": "click.recorded", "version": 1,
     "occurred_at": "2026-11-22T10:00:00.123456Z", "payload": {...}}

``id`` is unique per event: consumers use it to count a redelivered event once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, NotRequired, TypedDict

import aio_pika
import orjson

CLICK_RECORDED: Final = "click.recorded"
LINK_CREATED: Final = "link.created"
LINK_UPDATED: Final = "link.updated"
LINK_DELETED: Final = "link.deleted"
LINK_EXPIRED: Final = "link.expired"
QUOTA_REACHED: Final = "quota.reached"
USER_DELETED: Final = "user.deleted"
PLAN_CHANGED: Final = "plan.changed"
APIKEY_REVOKED: Final = "apikey.revoked"
TEAM_CHANGED: Final = "team.changed"
EVENT_TYPES: Final = frozenset(
    {
        CLICK_RECORDED,
        LINK_CREATED,
        LINK_UPDATED,
        LINK_DELETED,
        LINK_EXPIRED,
        QUOTA_REACHED,
        USER_DELETED,
        PLAN_CHANGED,
        APIKEY_REVOKED,
        TEAM_CHANGED,
    }
)

ClickSource = Literal["link", "qr", "rotator"]


class ClickRecorded(TypedDict):
    """A counted visit, as the edge saw it (v1). Enrichment happens in analytics."""

    link_id: int
    owner_id: int
    alias: str
    host: str
    destination: str
    source: ClickSource
    qr_id: int | None
    campaign_id: int | None
    ip: str
    user_agent: str
    referrer: str | None
    accept_language: str | None
    country: str | None  # from TRUSTED_COUNTRY_HEADER or GEOIP_DB at the edge, ISO code
    # A click on one block of a bio page (the link is the page's); absent in older
    # events and in every other click: None.
    block_id: NotRequired[int | None]


class LinkDeleted(TypedDict):
    link_id: int
    owner_id: int


class LinkChanged(TypedDict):
    """``link.created`` and ``link.updated``: the link as its owner now sees it."""

    link_id: int
    owner_id: int
    alias: str
    shorturl: str
    longurl: str


class LinkExpired(TypedDict):
    """The first visit the edge refused because the link expired (date or click limit)."""

    link_id: int
    owner_id: int
    alias: str
    host: str
    reason: Literal["expiry", "clicklimit"]


class QuotaReached(TypedDict):
    """The owner's monthly click quota is used up: further clicks are not tracked."""

    owner_id: int
    month: str  # YYYY-MM
    limit: int


class UserDeleted(TypedDict):
    user_id: int


UserRole = Literal["admin", "user"]
USER_ROLES: Final[frozenset[str]] = frozenset({"admin", "user"})


class PlanChanged(TypedDict):
    """A user moved to a plan (``user_id`` set), or a plan's limits changed (``user_id`` null).

    With a user, ``role`` says whether they are an admin: admins are never
    limited, whatever their plan (events from before it was sent lack it)."""

    plan_id: int
    user_id: int | None
    limits: dict[str, Any]
    role: NotRequired[UserRole]


class ApiKeyRevoked(TypedDict):
    user_id: int
    key_hash: str


class TeamChanged(TypedDict):
    """A member joined, left, or had their permissions changed in ``owner_id``'s workspace."""

    owner_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    occurred_at: datetime
    payload: Mapping[str, Any]
    version: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "payload": dict(self.payload),
        }


def new_event(type_: str, payload: Mapping[str, Any], *, at: datetime | None = None) -> Event:
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    return Event(
        id=uuid.uuid4().hex, type=type_, occurred_at=at or datetime.now(UTC), payload=payload
    )


def encode_batch(events: Sequence[Mapping[str, Any]]) -> bytes:
    """Serialise already-JSON-shaped events (``Event.to_json()`` or the edge's dicts)."""
    return orjson.dumps(list(events))


class MalformedEvent(ValueError):
    """An event (or message) that can never be processed: dead-letter it."""


def _parse_time(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise MalformedEvent("occurred_at must be a string")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedEvent(f"bad occurred_at {raw!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def decode_event(raw: Any) -> Event:
    """Validate one event's envelope; raises :class:`MalformedEvent`."""
    if not isinstance(raw, dict):
        raise MalformedEvent("event must be an object")
    event_id, type_, payload = raw.get("id"), raw.get("type"), raw.get("payload")
    if not isinstance(event_id, str) or not 8 <= len(event_id) <= 64:
        raise MalformedEvent("event id must be a string of 8-64 characters")
    if type_ not in EVENT_TYPES:
        raise MalformedEvent(f"unknown event type {type_!r}")
    if not isinstance(payload, dict):
        raise MalformedEvent("payload must be an object")
    version = raw.get("version", 1)
    if version != 1:
        raise MalformedEvent(f"unsupported version {version!r}")
    return Event(
        id=event_id, type=type_, occurred_at=_parse_time(raw.get("occurred_at")), payload=payload
    )


def decode_message(body: bytes) -> list[Any]:
    """The raw events of one message; raises :class:`MalformedEvent` if it is not a JSON array."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent("message body is not JSON") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise MalformedEvent("message body must be a JSON array of events")
    return data


def _require(payload: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = payload.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedEvent(f"payload.{name} must be {kind}")
    return value


def parse_click(payload: Mapping[str, Any]) -> ClickRecorded:
    """Validate a ``click.recorded`` payload; raises :class:`MalformedEvent`."""
    link_id = _require(payload, "link_id", int)
    owner_id = _require(payload, "owner_id", int)
    source = payload.get("source", "link")
    if source not in ("link", "qr", "rotator"):
        raise MalformedEvent(f"bad source {source!r}")

    def opt_str(name: str, limit: int = 2048) -> str | None:
        value = payload.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise MalformedEvent(f"payload.{name} must be a string")
        return value[:limit]

    def opt_int(name: str) -> int | None:
        value = payload.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedEvent(f"payload.{name} must be an integer")
        return value

    return ClickRecorded(
        link_id=link_id,
        owner_id=owner_id,
        alias=opt_str("alias", 255) or "",
        host=opt_str("host", 255) or "",
        destination=opt_str("destination", 8192) or "",
        source=source,
        qr_id=opt_int("qr_id"),
        campaign_id=opt_int("campaign_id"),
        ip=opt_str("ip", 64) or "",
        user_agent=opt_str("user_agent", 1024) or "",
        referrer=opt_str("referrer"),
        accept_language=opt_str("accept_language", 256),
        country=opt_str("country", 64),
        block_id=opt_int("block_id"),
    )


class EventPublisher:
    """Publishes events to the topic exchange: persistent, with publisher confirms.

    ``publish`` returns once the broker has confirmed the message, so a caller
    that got no exception knows the events are safe."""

    def __init__(self, exchange: aio_pika.abc.AbstractExchange) -> None:
        self.exchange = exchange

    async def publish_raw(self, routing_key: str, events: Sequence[Mapping[str, Any]]) -> None:
        message = aio_pika.Message(
            body=encode_batch(events),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=uuid.uuid4().hex,
            type=routing_key,
        )
        await self.exchange.publish(message, routing_key=routing_key, mandatory=False)

    async def publish(self, *events: Event) -> None:
        by_type: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_type.setdefault(event.type, []).append(event.to_json())
        for routing_key, batch in by_type.items():
            await self.publish_raw(routing_key, batch)
