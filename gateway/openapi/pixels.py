"""OpenAPI fragment: tracking pixels (API.md section 9), served by the links service."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    PAGINATION_PARAMETERS,
    answer,
    json_body,
    message,
    obj,
    operation,
    paginated,
    path_id,
    ref,
    success,
)

TAG: Final = "Pixels"
SECURITY: Final[list[dict[str, list[str]]]] = [{"bearerAuth": []}]
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
_DATE: Final = {"type": "string", "description": "`YYYY-MM-DD HH:MM:SS`, UTC."}
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
            "date": _DATE,
        },
        required=["id", "type", "name", "tag", "date"],
        example=PIXEL_EXAMPLE,
    ),
}


def _op(summary: str, **kwargs: Any) -> dict[str, Any]:
    op = operation(summary, tag=TAG, **kwargs)
    op["security"] = SECURITY
    return op


PATHS: Final[dict[str, Any]] = {
    "/api/pixels": {
        "get": _op(
            "List pixels",
            operation_id="listPixels",
            parameters=list(PAGINATION_PARAMETERS),
            responses={
                "200": answer(
                    paginated("pixels", ref("Pixel")),
                    example={
                        "error": 0,
                        "data": {
                            "result": 1,
                            "perpage": 15,
                            "currentpage": 1,
                            "nextpage": None,
                            "maxpage": 1,
                            "pixels": [PIXEL_EXAMPLE],
                        },
                    },
                )
            },
            errors=(400,),
        )
    },
    "/api/pixel/{id}": {
        "get": _op(
            "Get a pixel (extension)",
            operation_id="getPixel",
            parameters=[path_id("pixel")],
            responses={
                "200": answer(
                    success({"data": ref("Pixel")}, required=["data"]),
                    example={"error": 0, "data": PIXEL_EXAMPLE},
                )
            },
            errors=(404,),
        )
    },
    "/api/pixel/add": {
        "post": _op(
            "Create a pixel",
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
            responses={
                "200": answer(
                    success({"id": {"type": "integer"}}, required=["id"]),
                    example={"error": 0, "id": 1},
                )
            },
            errors=(400, 403),
        )
    },
    "/api/pixel/{id}/update": {
        "put": _op(
            "Update a pixel",
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
        "delete": _op(
            "Delete a pixel",
            operation_id="deletePixel",
            description="Links that used it stop firing it.",
            parameters=[path_id("pixel")],
            responses={"200": message("Pixel has been deleted successfully.")},
            errors=(404,),
        )
    },
}
