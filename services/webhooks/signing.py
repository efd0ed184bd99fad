"""How a delivery proves where it comes from (README, "Webhooks").

Headers: ``X-Webhook-Id`` (the event id, the same on every retry: de-duplicate
by it), ``X-Webhook-Event`` (its type), ``X-Webhook-Timestamp`` (Unix seconds
of this attempt) and ``X-Webhook-Signature: sha256=<hex>``, the HMAC-SHA256
under the webhook's secret of ``timestamp + "." + body``. Signing the
timestamp lets a receiver refuse old replays."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

ID_HEADER: Final = "X-Webhook-Id"
EVENT_HEADER: Final = "X-Webhook-Event"
TIMESTAMP_HEADER: Final = "X-Webhook-Timestamp"
SIGNATURE_HEADER: Final = "X-Webhook-Signature"
SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(24)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, event_id: str, event_type: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        ID_HEADER: event_id,
        EVENT_HEADER: event_type,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
