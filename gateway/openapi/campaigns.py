"""OpenAPI fragment: campaigns (API.md section 7), served by the links service."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
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

TAG: Final = "Campaigns"
TAGS: Final[list[dict[str, str]]] = [
    {
        "name": TAG,
        "description": (
            "Groups of links with a rotator (`/r/<slug>`: each visit goes to the next link in "
            "turn) and a public list page. Plan: `bundle`."
        ),
    }
]

_ROTATOR: Final = {
    "oneOf": [{"type": "string", "format": "uri"}, {"const": False}],
    "description": "`https://<host>/r/<slug>`, or `false` when the campaign has no slug.",
}
_LIST: Final = {
    "type": "string",
    "format": "uri",
    "description": (
        "`https://<host>/u/<username>/<slug-or-name>-<id>`: a page listing the campaign's "
        "links while `public` is true (404 otherwise)."
    ),
}
_FIELDS: Final[dict[str, Any]] = {
    "name": {
        "type": "string",
        "maxLength": 100,
        "description": "Unique among your campaigns, ignoring case (else 409).",
    },
    "slug": {
        "type": ["string", "null"],
        "pattern": "^[A-Za-z0-9_-]{3,64}$",
        "description": (
            "The rotator's slug, unique across the service ignoring case (else 409); "
            '`null` or `""` removes the rotator.'
        ),
    },
    "public": {"type": "boolean", "default": False, "description": "Whether the list page shows."},
}
ITEM_EXAMPLE: Final = {
    "id": 2,
    "name": "Facebook Campaign",
    "public": True,
    "rotator": "https://sho.rt/r/test",
    "list": "https://sho.rt/u/admin/test-2",
}
SAVED_EXAMPLE: Final = {
    "error": 0,
    "id": 3,
    "name": "New Campaign",
    "domain": "New Campaign",
    "public": True,
    "rotator": "https://sho.rt/r/new-campaign",
    "list": "https://sho.rt/u/admin/new-campaign-3",
}

SCHEMAS: Final[dict[str, Any]] = {
    "Campaign": obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "public": {"type": "boolean"},
            "rotator": _ROTATOR,
            "list": _LIST,
        },
        required=["id", "name", "public", "rotator", "list"],
        example=ITEM_EXAMPLE,
    ),
}
_SAVED: Final = success(
    {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "domain": {"type": "string", "description": "The name again, as published."},
        "public": {"type": "boolean"},
        "rotator": _ROTATOR,
        "list": _LIST,
    },
    required=["id", "name", "domain", "public", "rotator", "list"],
)


PATHS: Final[dict[str, Any]] = {
    "/api/campaigns": {
        "get": list_operation(
            "List campaigns",
            tag=TAG,
            operation_id="listCampaigns",
            key="campaigns",
            item=ref("Campaign"),
            examples=[ITEM_EXAMPLE],
        )
    },
    "/api/campaign/{id}": {
        "get": get_operation(
            "Get a campaign (extension)",
            tag=TAG,
            operation_id="getCampaign",
            what="campaign",
            schema=ref("Campaign"),
            example=ITEM_EXAMPLE,
        )
    },
    "/api/campaign/add": {
        "post": operation(
            "Create a campaign",
            tag=TAG,
            operation_id="addCampaign",
            body=json_body(
                obj(_FIELDS, required=["name"]),
                example={"name": "New Campaign", "slug": "new-campaign", "public": True},
            ),
            responses={"200": answer(_SAVED, example=SAVED_EXAMPLE)},
            errors=(400, 403, 409),
        )
    },
    "/api/campaign/{campaignid}/assign/{linkid}": {
        "post": operation(
            "Assign a link to a campaign",
            tag=TAG,
            operation_id="assignCampaignLink",
            description=(
                "A link is in one campaign at a time (assigning moves it). Another user's "
                "campaign or link: 404."
            ),
            parameters=[path_id("campaign", "campaignid"), path_id("link", "linkid")],
            body=json_body(obj({}), required=False, example={}),
            responses={"200": message("Link successfully added to the campaign.")},
            errors=(403, 404),
        )
    },
    "/api/campaign/{id}/update": {
        "put": operation(
            "Update a campaign",
            tag=TAG,
            operation_id="updateCampaign",
            parameters=[path_id("campaign")],
            body=json_body(
                obj(_FIELDS, required=["name"]),
                example={"name": "Twitter Campaign", "slug": "twitter-campaign", "public": True},
            ),
            responses={
                "200": answer(
                    _SAVED,
                    example={
                        **SAVED_EXAMPLE,
                        "name": "Twitter Campaign",
                        "domain": "Twitter Campaign",
                        "rotator": "https://sho.rt/r/twitter-campaign",
                        "list": "https://sho.rt/u/admin/twitter-campaign-3",
                    },
                )
            },
            errors=(400, 404, 409),
        )
    },
    "/api/campaign/{id}/delete": {
        "delete": operation(
            "Delete a campaign",
            tag=TAG,
            operation_id="deleteCampaign",
            description="Its links stay, unassigned; its rotator and list page stop at once.",
            parameters=[path_id("campaign")],
            responses={"200": message("Campaign has been deleted successfully.")},
            errors=(404,),
        )
    },
}
