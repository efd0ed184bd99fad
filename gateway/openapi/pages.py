"""OpenAPI fragment: custom splash pages (API.md section 5) and CTA overlays
(section 6), served by the links service."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    DATE,
    get_operation,
    id_answer,
    json_body,
    list_operation,
    message,
    obj,
    operation,
    path_id,
    ref,
)

SPLASH_TAG: Final = "Splash pages"
OVERLAY_TAG: Final = "CTA overlays"
TAGS: Final[list[dict[str, str]]] = [
    {
        "name": SPLASH_TAG,
        "description": (
            "Interstitial pages shown before a link's destination (links of type "
            "`splash-<id>`). Plan: `splash`; `splash.count` limits how many."
        ),
    },
    {
        "name": OVERLAY_TAG,
        "description": (
            "A message or a contact / newsletter form over the framed destination (links of "
            "type `overlay-<id>`). Plan: `overlay`; `overlay.count` limits how many."
        ),
    },
]

_TEXT: Final = {"type": ["string", "null"]}
_WEB_URL: Final = {
    "type": ["string", "null"],
    "format": "uri",
    "description": "An http or https URL.",
}
_COLOR: Final = {"type": "string", "pattern": "^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$"}
OVERLAY_TYPES: Final = ["message", "contact", "newsletter"]
POSITIONS: Final = ["bottom", "top", "top-left", "top-right", "bottom-left", "bottom-right"]

SPLASH_FIELDS: Final[dict[str, Any]] = {
    "name": {"type": "string", "maxLength": 100, "description": "Your label for it."},
    "title": {**_TEXT, "maxLength": 200},
    "message": {**_TEXT, "maxLength": 5000},
    "image": {**_WEB_URL, "description": "An http or https URL of a jpg or png image."},
    "button_text": {**_TEXT, "maxLength": 100},
    "button_url": _WEB_URL,
    "delay": {
        "type": "integer",
        "minimum": 0,
        "maximum": 30,
        "default": 5,
        "description": "Seconds before the visitor is sent on.",
    },
}
SPLASH_EXAMPLE: Final = {
    "name": "Product 1 Promo",
    "title": "Spring sale",
    "message": "Thirty percent off, this week only.",
    "image": "https://cdn.example.com/promo.png",
    "button_text": "Shop now",
    "button_url": "https://shop.example.com/sale",
    "delay": 10,
}
OVERLAY_FIELDS: Final[dict[str, Any]] = {
    "type": {"enum": OVERLAY_TYPES, "default": "message"},
    "name": {"type": "string", "maxLength": 100},
    "text": {**_TEXT, "maxLength": 5000},
    "button_text": {**_TEXT, "maxLength": 100},
    "button_url": _WEB_URL,
    "position": {"enum": POSITIONS, "default": "bottom"},
    "colors": {
        "type": ["object", "null"],
        "description": "Colours as #RRGGBB.",
        "properties": dict.fromkeys(("bg", "text", "button", "button_text"), _COLOR),
        "additionalProperties": False,
    },
    "group": {
        "type": ["integer", "null"],
        "minimum": 1,
        "description": (
            "contact and newsletter overlays: the contact group submissions join "
            "(one of your groups, see Contacts; another user's or a missing one is a 404)."
        ),
    },
}
OVERLAY_EXAMPLE: Final = {
    "type": "contact",
    "name": "Contact Page",
    "text": "Leave your details and we call you back.",
    "button_text": "Send",
    "position": "bottom-right",
    "colors": {"bg": "#FFFFFF", "text": "#000000", "button": "#FF0000", "button_text": "#FFFFFF"},
    "group": 3,
}

SCHEMAS: Final[dict[str, Any]] = {
    "SplashListItem": obj(
        {"id": {"type": "integer"}, "name": {"type": "string"}, "date": DATE},
        required=["id", "name", "date"],
    ),
    "Splash": obj(
        {"id": {"type": "integer"}, **SPLASH_FIELDS, "date": DATE},
        required=["id", *SPLASH_FIELDS, "date"],
    ),
    "OverlayListItem": obj(
        {
            "id": {"type": "integer"},
            "type": {"enum": OVERLAY_TYPES},
            "name": {"type": "string"},
            "date": DATE,
        },
        required=["id", "type", "name", "date"],
    ),
    "Overlay": obj(
        {"id": {"type": "integer"}, **OVERLAY_FIELDS, "date": DATE},
        required=["id", *OVERLAY_FIELDS, "date"],
    ),
}


def _crud(
    name: str,
    what: str,
    tag: str,
    fields: dict[str, Any],
    example: dict[str, Any],
    schema: str,
    *,
    add_errors: tuple[int, ...] = (400, 403),
) -> dict[str, Any]:
    """get / add / update / delete of one kind of page (extension endpoints)."""
    op = what.replace(" ", "").replace("CTA", "Cta")
    label = what[0].upper() + what[1:]
    return {
        f"/api/{name}/{{id}}": {
            "get": get_operation(
                f"Get a {what} (extension)",
                tag=tag,
                operation_id=f"get{op}",
                what=what,
                schema=ref(schema),
                example={"id": 1, **example, "date": "2020-11-10 18:00:00"},
            )
        },
        f"/api/{name}/add": {
            "post": operation(
                f"Create a {what} (extension)",
                tag=tag,
                operation_id=f"add{op}",
                body=json_body(obj(fields, required=["name"]), example=example),
                responses={"200": id_answer(1)},
                errors=add_errors,
            )
        },
        f"/api/{name}/{{id}}/update": {
            "put": operation(
                f"Update a {what} (extension)",
                tag=tag,
                operation_id=f"update{op}",
                description="Only the fields sent change; `null` clears one. Links follow at once.",
                parameters=[path_id(what)],
                body=json_body(obj(fields), example={"name": example["name"]}),
                responses={"200": message(f"{label} has been updated successfully.")},
                errors=(400, 404),
            )
        },
        f"/api/{name}/{{id}}/delete": {
            "delete": operation(
                f"Delete a {what} (extension)",
                tag=tag,
                operation_id=f"delete{op}",
                parameters=[path_id(what)],
                responses={"200": message(f"{label} has been deleted successfully.")},
                errors=(404,),
            )
        },
    }


PATHS: Final[dict[str, Any]] = {
    "/api/splash": {
        "get": list_operation(
            "List custom splash pages",
            tag=SPLASH_TAG,
            operation_id="listSplash",
            key="splash",
            item=ref("SplashListItem"),
            examples=[{"id": 1, "name": "Product 1 Promo", "date": "2020-11-10 18:00:00"}],
        )
    },
    **_crud("splash", "splash page", SPLASH_TAG, SPLASH_FIELDS, SPLASH_EXAMPLE, "Splash"),
    "/api/overlay": {
        "get": list_operation(
            "List CTA overlays",
            tag=OVERLAY_TAG,
            operation_id="listOverlays",
            key="cta",
            item=ref("OverlayListItem"),
            examples=[
                {
                    "id": 1,
                    "type": "message",
                    "name": "Product 1 Promo",
                    "date": "2020-11-10 18:00:00",
                }
            ],
        )
    },
    **_crud(
        "overlay",
        "CTA overlay",
        OVERLAY_TAG,
        OVERLAY_FIELDS,
        OVERLAY_EXAMPLE,
        "Overlay",
        add_errors=(400, 403, 404),
    ),
}
