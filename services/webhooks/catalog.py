"""The events a webhook can subscribe to, and how each is built from the
system's own events (``shared/events.py``).

A delivery's body is ``{"id", "type", "created", "data"}``: ``id`` is the source
event's id (so a redelivered source event is the same delivery, and a receiver
can de-duplicate by it), ``created`` when it happened (ISO 8601, UTC), ``data``
the object. Clicks carry neither the visitor's address nor the owner's id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson

from shared.amqp import QUEUES, WEBHOOKS_QUEUE
from shared.events import (
    CLICK_RECORDED,
    LINK_CREATED,
    LINK_DELETED,
    LINK_EXPIRED,
    LINK_UPDATED,
    QUOTA_REACHED,
    Event,
)

LINK_CLICKED: Final = "link.clicked"
QR_SCANNED: Final = "qr.scanned"
PING: Final = "ping"
BATCH: Final = "batch"
# What a webhook may subscribe to, in the order the API lists them.
EVENT_TYPES: Final = (
    LINK_CREATED,
    LINK_UPDATED,
    LINK_DELETED,
    LINK_CLICKED,
    QR_SCANNED,
    LINK_EXPIRED,
    QUOTA_REACHED,
)
# Delivered one by one, or gathered per N seconds when the webhook asks for batches.
BATCHABLE: Final = frozenset({LINK_CLICKED, QR_SCANNED})
# The system's events the delivery process consumes (its queue's bindings).
SOURCE_TYPES: Final = QUEUES[WEBHOOKS_QUEUE].routing_keys
_HIDDEN: Final = frozenset({"owner_id", "ip"})


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    type: str
    owner_id: int
    occurred_at: datetime
    data: Mapping[str, Any]

    def envelope(self) -> dict[str, Any]:
        return envelope(self.id, self.type, self.occurred_at, self.data)


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(event_id: str, type_: str, when: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "created": iso(when), "data": dict(data)}


def encode(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body)


def from_source(event: Event) -> WebhookEvent | None:
    """The webhook event a system event becomes (None: not one users see)."""
    payload = event.payload
    owner = payload.get("owner_id")
    if not isinstance(owner, int) or isinstance(owner, bool):
        return None
    type_ = event.type
    if type_ == CLICK_RECORDED:
        type_ = QR_SCANNED if payload.get("source") == "qr" else LINK_CLICKED
    elif type_ not in SOURCE_TYPES:
        return None
    data = {key: value for key, value in payload.items() if key not in _HIDDEN}
    return WebhookEvent(event.id, type_, owner, event.occurred_at, data)
