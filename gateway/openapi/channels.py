"""OpenAPI fragment: channels (API.md section 8), served by the links service."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    DATE,
    PAGINATION_PARAMETERS,
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

TAG: Final = "Channels"
TAGS: Final[list[dict[str, str]]] = [
    {"name": TAG, "description": "Named, coloured folders of your links and QR codes."}
]

_COLOR: Final = {
    "type": ["string", "null"],
    "pattern": "^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$",
    "description": "Badge colour, #RRGGBB (answered upper-case; #RGB is expanded).",
}
CHANNEL_FIELDS: Final[dict[str, Any]] = {
    "name": {
        "type": "string",
        "maxLength": 100,
        "description": "Unique among your channels, ignoring case (else 409).",
    },
    "description": {"type": ["string", "null"], "maxLength": 1000},
    "color": _COLOR,
    "starred": {"type": "boolean", "default": False},
}
CHANNEL_EXAMPLE: Final = {
    "id": 1,
    "name": "Channel 1",
    "description": "Description of channel 1",
    "color": "#000000",
    "starred": True,
}
ITEM_EXAMPLES: Final = [
    {
        "type": "links",
        "id": 1,
        "title": "My Sample Link",
        "preview": "https://google.com",
        "link": "https://sho.rt/google",
        "date": "2022-05-12 10:00:00",
    },
    {
        "type": "qr",
        "id": 2,
        "title": "Menu",
        "preview": "https://sho.rt/qr/Ab3dE9x",
        "link": "https://sho.rt/qr/Ab3dE9x",
        "date": "2022-06-01 09:30:00",
    },
]

SCHEMAS: Final[dict[str, Any]] = {
    "Channel": obj(
        {"id": {"type": "integer"}, **CHANNEL_FIELDS},
        required=["id", *CHANNEL_FIELDS],
        example=CHANNEL_EXAMPLE,
    ),
    "ChannelItem": obj(
        {
            "type": {"enum": ["links", "bio", "qr"]},
            "id": {"type": "integer"},
            "title": {"type": ["string", "null"]},
            "preview": {
                "type": "string",
                "description": "A link's destination; a QR code's image URL; a bio page's URL.",
            },
            "link": {
                "type": "string",
                "description": "A link's short URL; a QR code's image URL; a bio page's URL.",
            },
            "date": DATE,
        },
        required=["type", "id", "title", "preview", "link", "date"],
    ),
}


PATHS: Final[dict[str, Any]] = {
    "/api/channels": {
        "get": list_operation(
            "List channels",
            tag=TAG,
            operation_id="listChannels",
            key="channels",
            item=ref("Channel"),
            examples=[CHANNEL_EXAMPLE],
        )
    },
    "/api/channel/{id}": {
        "get": list_operation(
            "List a channel's items",
            tag=TAG,
            operation_id="listChannelItems",
            description="Its links, QR codes and bio pages, newest first.",
            parameters=[path_id("channel"), *PAGINATION_PARAMETERS],
            key="items",
            item=ref("ChannelItem"),
            examples=ITEM_EXAMPLES,
            errors=(400, 404),
        )
    },
    "/api/channel/add": {
        "post": operation(
            "Create a channel",
            tag=TAG,
            operation_id="addChannel",
            body=json_body(
                obj(CHANNEL_FIELDS, required=["name"]),
                example={
                    "name": "New Channel",
                    "description": "my new channel",
                    "color": "#000000",
                    "starred": True,
                },
            ),
            responses={
                "200": answer(
                    success(
                        {"id": {"type": "integer"}, **CHANNEL_FIELDS},
                        required=["id", *CHANNEL_FIELDS],
                    ),
                    example={"error": 0, **CHANNEL_EXAMPLE},
                )
            },
            errors=(400, 409),
        )
    },
    "/api/channel/{channelid}/assign/{type}/{itemid}": {
        "post": operation(
            "Assign an item to a channel",
            tag=TAG,
            operation_id="assignChannelItem",
            description=(
                "An item (a link, a QR code or a bio page) is in one channel at a time. "
                "Another user's channel or item: 404."
            ),
            parameters=[
                path_id("channel", "channelid"),
                {
                    "name": "type",
                    "in": "path",
                    "required": True,
                    "description": "The item's kind.",
                    "schema": {"enum": ["links", "bio", "qr"]},
                },
                path_id("item", "itemid"),
            ],
            body=json_body(obj({}), required=False, example={}),
            responses={"200": message("Item successfully added to the channel.")},
            errors=(400, 404),
        )
    },
    "/api/channel/{id}/update": {
        "put": operation(
            "Update a channel",
            tag=TAG,
            operation_id="updateChannel",
            parameters=[path_id("channel")],
            body=json_body(
                obj(CHANNEL_FIELDS),
                example={
                    "name": "Acme Corp",
                    "description": "channel for items for Acme Corp",
                    "color": "#FFFFFF",
                    "starred": False,
                },
            ),
            responses={"200": message("Channel has been updated successfully.")},
            errors=(400, 404, 409),
        )
    },
    "/api/channel/{id}/delete": {
        "delete": operation(
            "Delete a channel",
            tag=TAG,
            operation_id="deleteChannel",
            description="Its items stay, unassigned.",
            parameters=[path_id("channel")],
            responses={"200": message("Channel has been deleted successfully.")},
            errors=(404,),
        )
    },
}
