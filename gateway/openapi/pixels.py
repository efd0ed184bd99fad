"""OpenAPI fragment: tracking pixels (API.md section 9), served by the links service."""

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

TAG: Final = "Pixels"
TAGS: Final[list[dict[str, str]]] = [
    {
        "name": TAG,
        "description": (
            "Tracking pixels fired by links on the way to their destination. "
            "Plan: `pixels`; `pixels.count` limits how many."
        ),
    }
]

PIXEL_TYPES: Final = [
    "gtmpixel",
    "gapixel",
    "fbpixel",
    "adwordspixel",
    "linkedinpixel",
    "twitterpixel",
    "adrollpixel",
    "quorapixel",
    "pinterest",
    "bing",
    "snapchat",
    "reddit",
]
_TAG: Final = {
    "type": "string",
    "maxLength": 100,
    "description": (
        "The provider's id, never markup (anything else is a 400): gtmpixel `GTM-XXXXXXX`; "
        "gapixel `G-XXXXXXXXXX` or `UA-NNNNNNNN-N`; fbpixel, pinterest digits; adwordspixel "
        "`AW-NNNNNNNNN`; linkedinpixel, bing digits; twitterpixel letters and digits; "
        "adrollpixel `ADVERTISERID/PIXELID`; quorapixel hex; snapchat a UUID; reddit "
        "`t2_…` or `a2_…`."
    ),
}
PIXEL_EXAMPLE: Final = {
    "id": 1,
    "type": "gtmpixel",
    "name": "GTM Pixel",
    "tag": "GTM-ABCDE",
    "date": "2020-11-10 18:00:00",
}

SCHEMAS: Final[dict[str, Any]] = {
    "Pixel": obj(
        {
            "id": {"type": "integer"},
            "type": {"enum": PIXEL_TYPES},
            "name": {"type": "string"},
            "tag": {"type": "string"},
            "date": DATE,
        },
        required=["id", "type", "name", "tag", "date"],
        example=PIXEL_EXAMPLE,
    ),
}


PATHS: Final[dict[str, Any]] = {
    "/api/pixels": {
        "get": list_operation(
            "List pixels",
            tag=TAG,
            operation_id="listPixels",
            key="pixels",
            item=ref("Pixel"),
            examples=[PIXEL_EXAMPLE],
        )
    },
    "/api/pixel/{id}": {
        "get": get_operation(
            "Get a pixel (extension)",
            tag=TAG,
            operation_id="getPixel",
            what="pixel",
            schema=ref("Pixel"),
            example=PIXEL_EXAMPLE,
        )
    },
    "/api/pixel/add": {
        "post": operation(
            "Create a pixel",
            tag=TAG,
            operation_id="addPixel",
            body=json_body(
                obj(
                    {
                        "type": {"enum": PIXEL_TYPES},
                        "name": {"type": "string", "maxLength": 100},
                        "tag": _TAG,
                    },
                    required=["type", "name", "tag"],
                ),
                example={"type": "gtmpixel", "name": "My GTM", "tag": "GTM-ABCDE"},
            ),
            responses={"200": id_answer(1)},
            errors=(400, 403),
        )
    },
    "/api/pixel/{id}/update": {
        "put": operation(
            "Update a pixel",
            tag=TAG,
            operation_id="updatePixel",
            description=(
                "Links using the pixel fire the new tag at once. (extension) `type` may change "
                "too, with a `tag` in the new provider's format."
            ),
            parameters=[path_id("pixel")],
            body=json_body(
                obj(
                    {
                        "name": {"type": "string", "maxLength": 100},
                        "tag": _TAG,
                        "type": {"enum": PIXEL_TYPES},
                    }
                ),
                example={"name": "My GTM", "tag": "GTM-ABCDE"},
            ),
            responses={"200": message("Pixel has been updated successfully.")},
            errors=(400, 404),
        )
    },
    "/api/pixel/{id}/delete": {
        "delete": operation(
            "Delete a pixel",
            tag=TAG,
            operation_id="deletePixel",
            description="Links that used it stop firing it.",
            parameters=[path_id("pixel")],
            responses={"200": message("Pixel has been deleted successfully.")},
            errors=(404,),
        )
    },
}
