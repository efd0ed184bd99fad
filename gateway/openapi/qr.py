"""OpenAPI fragment: QR codes (API.md section 10), served by the links service.

The image itself (``GET /qr/<alias>``) is served by the public edge, not under
``/api``; the operations below describe it where they return its URL."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    DATE,
    answer,
    json_body,
    list_operation,
    message,
    obj,
    operation,
    path_id,
    ref,
    success,
)

QR_TAG: Final = "QR codes"

TAGS: Final[list[dict[str, str]]] = [
    {
        "name": QR_TAG,
        "description": (
            "Static codes (text, vCard, email, phone, SMS, Wi-Fi) and dynamic `link` codes "
            "whose scans are counted and whose destination can change after printing."
        ),
    }
]

_COLOUR: Final = {
    "type": ["string", "null"],
    "description": (
        "`rgb(r,g,b)` or `#RRGGBB`. The foreground must be darker than the background, "
        "with a contrast ratio of at least 3:1 (else 400: phones could not read it). "
        "`null` or empty: the default."
    ),
    "examples": ["rgb(0,0,0)", "#1E90FF"],
}
_TEXT: Final = {"type": "string", "maxLength": 255}

_DATA_DESCRIPTION: Final = (
    "What the code carries, by `type`: `text` a string (at most 2,000 characters); "
    "`link` an http(s) URL (the code carries a short tracking URL that redirects to it, "
    "so it can change later); `phone` a phone number; `email` `{email, subject, body}`; "
    "`sms` `{phone, message}`; `wifi` `{ssid, password, encryption: WPA|WEP|nopass, "
    "hidden}`; `vcard` `{name, phone, email, company, title, url, address, note}` "
    "(`name` required). Data too long for a QR code (with the logo, if any) → 400."
)

_DATA: Final = {
    "description": _DATA_DESCRIPTION,
    "oneOf": [
        {"type": "string", "title": "text, link or phone"},
        obj(
            {
                "email": {"type": "string", "format": "email"},
                "subject": _TEXT,
                "body": {"type": "string"},
            },
            required=["email"],
            description="email",
        ),
        obj(
            {"phone": {"type": "string"}, "message": {"type": "string", "maxLength": 1000}},
            required=["phone"],
            description="sms",
        ),
        obj(
            {
                "ssid": {"type": "string", "maxLength": 32},
                "password": {"type": "string", "maxLength": 128},
                "encryption": {"enum": ["WPA", "WEP", "nopass"]},
                "hidden": {"type": "boolean"},
            },
            required=["ssid"],
            description="wifi",
        ),
        obj(
            {
                name: {"type": "string"}
                for name in ("name", "phone", "email", "company", "title", "url", "address", "note")
            },
            required=["name"],
            description="vcard",
        ),
    ],
}

_LOGO: Final = {
    "type": ["string", "null"],
    "description": (
        "URL (http or https, public addresses only) or server path of a png or jpg logo, at "
        "most 2 MB; fetched once and kept with the code, drawn in the middle. A logo that "
        "cannot be fetched, is not png/jpg or is over 2 MB → 400. On update, `null` removes it."
    ),
}

_TYPES: Final = ["text", "vcard", "link", "email", "phone", "sms", "wifi"]
# What add and update take besides `type`.
_INPUT: Final[dict[str, Any]] = {
    "data": _DATA,
    "name": {"type": ["string", "null"], "maxLength": 255},
    "background": _COLOUR,
    "foreground": _COLOUR,
    "logo": _LOGO,
}

ADD_EXAMPLE: Final = {
    "type": "link",
    "data": "https://google.com",
    "name": "Google",
    "background": "rgb(255,255,255)",
    "foreground": "rgb(0,0,0)",
    "logo": "https://site.com/logo.png",
}
ITEM_EXAMPLE: Final = {
    "id": 1,
    "link": "https://sho.rt/qr/b9edfe",
    "scans": 5,
    "name": "Google Canada",
    "date": "2020-11-10 18:00:25",
}

SCHEMAS: Final[dict[str, Any]] = {
    "QrCode": obj(
        {
            "id": {"type": "integer"},
            "link": {
                "type": "string",
                "format": "uri",
                "description": (
                    "The image: PNG by default, `?format=svg`, `?size=` 100-2000 pixels."
                ),
            },
            "scans": {
                "type": ["integer", "null"],
                "description": "Scans of a `link` code (0 for static codes; `null` when "
                "the analytics service cannot say right now).",
            },
            "name": {"type": ["string", "null"]},
            "date": DATE,
        },
        required=["id", "link", "scans", "name", "date"],
        example=ITEM_EXAMPLE,
    ),
    "QrDetails": {
        "allOf": [
            ref("QrCode"),
            obj(
                {
                    "type": {"enum": _TYPES},
                    "data": {"description": "The `data` as sent."},
                    "shorturl": {
                        "type": ["string", "null"],
                        "description": "The tracking URL a `link` code carries; null for others.",
                    },
                    "background": {"type": "string"},
                    "foreground": {"type": "string"},
                    "logo": {"type": "boolean"},
                    "channel": {"type": ["integer", "null"]},
                    "updated": {"type": "string"},
                },
                description="(extension) What the owner set.",
            ),
        ]
    },
}


PATHS: Final[dict[str, Any]] = {
    "/api/qr": {
        "get": list_operation(
            "List QR codes",
            tag=QR_TAG,
            operation_id="listQrCodes",
            description="Newest first.",
            key="qrs",
            item=ref("QrCode"),
            examples=[{**ITEM_EXAMPLE, "id": 2, "scans": 0, "name": "Google"}, ITEM_EXAMPLE],
            perpage=2,
        )
    },
    "/api/qr/{id}": {
        "get": operation(
            "Get a QR code with its statistics",
            tag=QR_TAG,
            operation_id="getQrCode",
            description=(
                "`data` is the stats block of the code's scans. Static codes are not tracked: "
                "their counts are zero. `data` is `null` when the analytics service cannot answer."
            ),
            parameters=[path_id("QR code")],
            responses={
                "200": answer(
                    success(
                        {
                            "details": ref("QrDetails"),
                            "data": {"oneOf": [ref("LinkStats"), {"type": "null"}]},
                        },
                        required=["details", "data"],
                    ),
                    example={
                        "error": 0,
                        "details": ITEM_EXAMPLE,
                        "data": {
                            "clicks": 5,
                            "uniqueClicks": 4,
                            "topCountries": {"Canada": 5},
                            "topReferrers": {"Direct, email and other": 5},
                            "topBrowsers": {"Chrome": 3, "Safari": 2},
                            "topOs": {"iOS": 2, "Android": 3},
                            "socialCount": {
                                "facebook": 0,
                                "twitter": 0,
                                "instagram": 0,
                                "linkedin": 0,
                                "google": 0,
                            },
                        },
                    },
                )
            },
            errors=(404,),
        )
    },
    "/api/qr/add": {
        "post": operation(
            "Create a QR code",
            tag=QR_TAG,
            operation_id="addQrCode",
            description=(
                "Everything is checked before anything is stored. `link` answers the image URL. "
                "A dynamic (`link`) code is a redirector: it takes one of the plan's `links` "
                "(403 when they are all taken); static codes take none."
            ),
            body=json_body(
                obj(
                    {"type": {"enum": _TYPES, "description": "Case-insensitive."}, **_INPUT},
                    required=["type", "data"],
                ),
                example=ADD_EXAMPLE,
            ),
            responses={
                "200": answer(
                    success(
                        {"id": {"type": "integer"}, "link": {"type": "string", "format": "uri"}},
                        required=["id", "link"],
                    ),
                    example={"error": 0, "id": 3, "link": "https://sho.rt/qr/a58f79"},
                )
            },
            errors=(400, 403),
        )
    },
    "/api/qr/{id}/update": {
        "put": operation(
            "Update a QR code",
            tag=QR_TAG,
            operation_id="updateQrCode",
            description=(
                "`data` is required; other fields change only when sent. The type cannot "
                "change (sending the same `type` is allowed). A `link` code keeps its image "
                "and tracking URL: printed codes go to the new `data`."
            ),
            parameters=[path_id("QR code")],
            body=json_body(
                obj(
                    {
                        "type": {"enum": _TYPES, "description": "If sent, the code's own type."},
                        **_INPUT,
                    },
                    required=["data"],
                ),
                example={k: v for k, v in ADD_EXAMPLE.items() if k != "logo"},
            ),
            responses={"200": message("QR has been updated successfully.")},
            errors=(400, 404),
        )
    },
    "/api/qr/{id}/delete": {
        "delete": operation(
            "Delete a QR code",
            tag=QR_TAG,
            operation_id="deleteQrCode",
            description="A `link` code's tracking URL stops resolving at once.",
            parameters=[path_id("QR code")],
            responses={"200": message("QR Code has been deleted successfully.")},
            errors=(404,),
        )
    },
}
