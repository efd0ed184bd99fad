"""OpenAPI fragment: webhooks, served by the webhooks service."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    DATE,
    PAGINATION_PARAMETERS,
    answer,
    get_operation,
    json_body,
    list_operation,
    message,
    obj,
    operation,
    path_id,
    ref,
    success,
)

TAG: Final = "Webhooks"
TAGS: Final[list[dict[str, str]]] = [
    {
        "name": TAG,
        "description": (
            "Your own endpoints, called when links are created, updated, deleted, clicked, "
            "scanned or expire, and when the monthly click quota is reached. Each delivery is "
            'a POST of `{"id", "type", "created", "data"}` signed with the webhook\'s secret: '
            '`X-Webhook-Signature: sha256=<hex HMAC-SHA256 of timestamp + "." + body>` with '
            "`X-Webhook-Timestamp`; `X-Webhook-Id` is the event id, the same on every retry "
            "(de-duplicate by it). Failed deliveries (no 2xx within the timeout; redirects "
            "are not followed) are retried with exponential backoff for 24 hours; a webhook "
            "failing for 24 hours is disabled, with the reason in its answer. Targets must be "
            "public addresses. Plan: `webhooks`; `webhooks.count` limits how many."
        ),
    }
]

# What a webhook may subscribe to (services/webhooks/catalog.py; a test keeps them equal).
EVENT_TYPES: Final = (
    "link.created",
    "link.updated",
    "link.deleted",
    "link.clicked",
    "qr.scanned",
    "link.expired",
    "quota.reached",
)
_EVENTS: Final = {
    "type": "array",
    "items": {"enum": list(EVENT_TYPES)},
    "minItems": 1,
    "description": "The events to deliver.",
}
_BATCH: Final = {
    "type": "integer",
    "minimum": 0,
    "maximum": 3600,
    "description": (
        "`link.clicked` and `qr.scanned`: 0 (default) sends one delivery per event; N "
        "gathers them into one delivery of type `batch` (`data.events`) every N seconds."
    ),
}
_URL: Final = {
    "type": "string",
    "maxLength": 2048,
    "description": "http or https; must resolve to public addresses only.",
}
_SECRET: Final = {
    "type": "string",
    "minLength": 16,
    "maxLength": 128,
    "description": "The signing secret (default: one is generated and answered once).",
}
WEBHOOK_EXAMPLE: Final = {
    "id": 1,
    "url": "https://example.com/hooks/shortener",
    "events": ["link.created", "link.clicked"],
    "batch": 0,
    "enabled": True,
    "disabledreason": None,
    "disableddate": None,
    "failingsince": None,
    "date": "2026-12-01 10:00:00",
    "updated": "2026-12-01 10:00:00",
}
DELIVERY_EXAMPLE: Final = {
    "id": 41,
    "date": "2026-12-01 10:05:00",
    "event": "link.clicked",
    "eventid": "7f0c2a5e9d4b4c1e8a6f3b2d1c0e9f8a",
    "attempt": 2,
    "status": 500,
    "latency": 87,
    "error": "HTTP 500.",
}
_NULLABLE_DATE: Final = {**DATE, "type": ["string", "null"]}

SCHEMAS: Final[dict[str, Any]] = {
    "Webhook": obj(
        {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"enum": list(EVENT_TYPES)}},
            "batch": {"type": "integer"},
            "enabled": {"type": "boolean"},
            "disabledreason": {
                "type": ["string", "null"],
                "description": "Why it was disabled (failing for 24 hours, or by its owner).",
            },
            "disableddate": _NULLABLE_DATE,
            "failingsince": {
                **_NULLABLE_DATE,
                "description": "The first failed attempt since the last success.",
            },
            "date": DATE,
            "updated": DATE,
        },
        required=["id", "url", "events", "batch", "enabled", "date"],
        example=WEBHOOK_EXAMPLE,
    ),
    "WebhookDelivery": obj(
        {
            "id": {"type": "integer"},
            "date": DATE,
            "event": {"type": "string", "description": "The event type (`ping` for tests)."},
            "eventid": {"type": "string"},
            "attempt": {"type": "integer", "description": "1 for the first try."},
            "status": {"type": ["integer", "null"], "description": "null: no HTTP answer."},
            "latency": {"type": "integer", "description": "Milliseconds."},
            "error": {"type": ["string", "null"], "description": "null on success."},
        },
        required=["id", "date", "event", "eventid", "attempt", "status", "latency", "error"],
        example=DELIVERY_EXAMPLE,
    ),
}

PATHS: Final[dict[str, Any]] = {
    "/api/webhooks": {
        "get": list_operation(
            "List webhooks",
            tag=TAG,
            operation_id="listWebhooks",
            key="webhooks",
            item=ref("Webhook"),
            examples=[WEBHOOK_EXAMPLE],
            errors=(400, 403),
        )
    },
    "/api/webhook/add": {
        "post": operation(
            "Add a webhook",
            tag=TAG,
            operation_id="addWebhook",
            description="The answer holds the signing secret: it is not shown again.",
            body=json_body(
                obj(
                    {"url": _URL, "events": _EVENTS, "secret": _SECRET, "batch": _BATCH},
                    required=["url", "events"],
                ),
                example={
                    "url": "https://example.com/hooks/shortener",
                    "events": ["link.created", "link.clicked"],
                },
            ),
            responses={
                "200": answer(
                    success(
                        {
                            "message": {"type": "string"},
                            "id": {"type": "integer"},
                            "secret": {"type": "string"},
                            "data": ref("Webhook"),
                        },
                        required=["id", "secret", "data"],
                    ),
                    example={
                        "error": 0,
                        "message": "Webhook has been added. Keep its secret: it is not shown "
                        "again.",
                        "id": 1,
                        "secret": "whsec_5f1d0c…",
                        "data": WEBHOOK_EXAMPLE,
                    },
                )
            },
            errors=(400, 403),
        )
    },
    "/api/webhook/{id}": {
        "get": get_operation(
            "Get a webhook",
            tag=TAG,
            operation_id="getWebhook",
            what="webhook",
            schema=ref("Webhook"),
            example=WEBHOOK_EXAMPLE,
            description="A disabled webhook says why in `disabledreason`.",
            errors=(403, 404),
        )
    },
    "/api/webhook/{id}/update": {
        "put": operation(
            "Update a webhook",
            tag=TAG,
            operation_id="updateWebhook",
            description=(
                "Any of the fields; `enabled: true` turns a disabled webhook back on (its "
                "failure streak starts afresh), `enabled: false` turns it off."
            ),
            parameters=[path_id("webhook")],
            body=json_body(
                obj(
                    {
                        "url": _URL,
                        "events": _EVENTS,
                        "secret": _SECRET,
                        "batch": _BATCH,
                        "enabled": {"type": "boolean"},
                    }
                ),
                example={"enabled": True},
            ),
            responses={
                "200": answer(
                    success(
                        {"message": {"type": "string"}, "data": ref("Webhook")},
                        required=["message", "data"],
                    ),
                    example={
                        "error": 0,
                        "message": "Webhook has been updated successfully.",
                        "data": WEBHOOK_EXAMPLE,
                    },
                )
            },
            errors=(400, 403, 404),
        )
    },
    "/api/webhook/{id}/delete": {
        "delete": operation(
            "Delete a webhook",
            tag=TAG,
            operation_id="deleteWebhook",
            description="What it was still owed is not delivered.",
            parameters=[path_id("webhook")],
            responses={"200": message("Webhook has been deleted successfully.")},
            errors=(403, 404),
        )
    },
    "/api/webhook/{id}/test": {
        "post": operation(
            "Send a test ping",
            tag=TAG,
            operation_id="testWebhook",
            description=(
                'Sends `{"type": "ping"}` now, signed like every delivery, and answers how '
                "it went (also listed with the deliveries)."
            ),
            parameters=[path_id("webhook")],
            responses={
                "200": answer(
                    success(
                        {
                            "message": {"type": "string"},
                            "data": obj(
                                {
                                    "status": {"type": ["integer", "null"]},
                                    "latency": {"type": "integer"},
                                    "error": {"type": ["string", "null"]},
                                }
                            ),
                        },
                        required=["message", "data"],
                    ),
                    example={
                        "error": 0,
                        "message": "The ping was delivered.",
                        "data": {"status": 200, "latency": 42, "error": None},
                    },
                )
            },
            errors=(403, 404),
        )
    },
    "/api/webhook/{id}/deliveries": {
        "get": list_operation(
            "Recent delivery attempts",
            tag=TAG,
            operation_id="listWebhookDeliveries",
            description="Newest first: time, event, HTTP status, latency, error.",
            key="deliveries",
            item=ref("WebhookDelivery"),
            examples=[DELIVERY_EXAMPLE],
            parameters=[path_id("webhook"), *PAGINATION_PARAMETERS],
            errors=(400, 403, 404),
        )
    },
}
