"""OpenAPI fragment: bio pages (link-in-bio), served by the links service and, at
their alias, by the edge."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    DATE,
    answer,
    data_answer,
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

TAG: Final = "Bio pages"
TAGS: Final[list[dict[str, str]]] = [
    {
        "name": TAG,
        "description": (
            "Link-in-bio pages served by the edge at their alias (the same alias namespace "
            "as links, per domain). A view of the page is a click of it; a click on a link, "
            "email, phone or vCard block goes through `/<alias>/b/<block id>` and is counted "
            "for that block. Pages are rendered with every text escaped, under a strict "
            "Content-Security-Policy: no script, nothing loaded from a third party but the "
            "YouTube/Vimeo players of the video blocks added. Plan: `bio`; `bio.count` "
            "limits how many pages one may have (a page is not one of the plan's `links`)."
        ),
    }
]

_URL: Final = {"type": "string", "format": "uri"}
_COLOR: Final = {"type": "string", "pattern": "^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$"}
_TEXT: Final = {"type": "string", "maxLength": 200}
BLOCK_TYPES: Final = [
    "link",
    "heading",
    "text",
    "image",
    "social",
    "email",
    "phone",
    "vcard",
    "video",
    "form",
]
BLOCK: Final[dict[str, Any]] = obj(
    {
        "id": {
            "type": "integer",
            "description": "Answered for every block; send it back to keep a block (and its "
            "counted clicks) when updating. A block without a known id gets a new one.",
        },
        "type": {"enum": BLOCK_TYPES},
        "text": {
            "type": "string",
            "maxLength": 2000,
            "description": "link, heading, text (up to 2000), email, phone, vcard, form.",
        },
        "url": {
            "type": "string",
            "description": "link: the destination (http(s), mailto:, tel:, app schemes; never "
            "javascript:, data:, file: or vbscript:). image: an http(s) URL of a png or jpg "
            "(fetched once, through the SSRF guard) or an upload as data:image/png;base64,... "
            "vcard: a web site.",
        },
        "alt": {**_TEXT, "description": "image: its text alternative."},
        "links": {
            "type": "array",
            "description": "social: the profiles, each {network, url}.",
            "items": obj(
                {
                    "network": {
                        "enum": [
                            "facebook",
                            "instagram",
                            "x",
                            "twitter",
                            "linkedin",
                            "youtube",
                            "tiktok",
                            "github",
                            "pinterest",
                            "snapchat",
                            "telegram",
                            "whatsapp",
                            "mastodon",
                            "twitch",
                            "discord",
                            "spotify",
                        ]
                    },
                    "url": _URL,
                },
                required=["network", "url"],
            ),
        },
        "email": {"type": "string", "description": "email, vcard."},
        "phone": {"type": "string", "description": "phone, vcard."},
        "name": {**_TEXT, "description": "vcard: the contact's full name (required)."},
        "org": _TEXT,
        "title": _TEXT,
        "provider": {"enum": ["youtube", "vimeo"], "description": "video."},
        "video": {
            "type": "string",
            "description": "video: the video's id (YouTube: 11 characters; Vimeo: digits).",
        },
        "button": {"type": "string", "maxLength": 50, "description": "form: its button."},
        "group": {
            "type": ["integer", "null"],
            "description": "form: the contact group its entries join (one of yours).",
        },
        "image": {"type": "boolean", "description": "Answers only: an image block has one."},
    },
    required=["type"],
    description="One block; which fields apply depends on its type.",
)
FIELDS: Final[dict[str, Any]] = {
    "name": {"type": "string", "maxLength": 200, "description": "Shown as the page's heading."},
    "alias": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]{3,64}$",
        "description": "Where the page lives (default: generated); must not be a link's "
        "alias on that domain, nor a reserved word.",
    },
    "domain": {
        "type": ["integer", "string"],
        "description": "One of your branded domains (id or host); default: the public one.",
    },
    "description": {"type": ["string", "null"], "maxLength": 1000},
    "avatar": {
        "type": ["string", "null"],
        "description": "An http(s) URL of a png or jpg (fetched once, through the SSRF "
        "guard) or an upload as data:image/png;base64,...; stored as a small PNG with the "
        "page. null removes it.",
    },
    "theme": obj(
        {
            "background": _COLOR,
            "text": _COLOR,
            "button": _COLOR,
            "buttontext": _COLOR,
            "shape": {"enum": ["square", "rounded", "pill"]},
            "font": {"enum": ["system", "serif", "mono", "rounded", "humanist"]},
        },
        description="Only the keys sent change.",
    ),
    "seo": obj(
        {
            "title": {"type": ["string", "null"], "maxLength": 200},
            "description": {"type": ["string", "null"], "maxLength": 500},
            "image": {**_URL, "description": "The social preview image."},
        }
    ),
    "blocks": {
        "type": "array",
        "maxItems": 50,
        "items": ref("BioBlock"),
        "description": "In display order; sending them replaces them all.",
    },
}
EXAMPLE: Final = {
    "name": "Ana's links",
    "alias": "ana",
    "description": "Designer in Lisbon.",
    "theme": {"background": "#FDF6E3", "button": "#268BD2", "shape": "pill", "font": "serif"},
    "seo": {"title": "Ana Silva", "description": "Portfolio, shop and contact."},
    "blocks": [
        {"type": "heading", "text": "Latest"},
        {"type": "link", "text": "My portfolio", "url": "https://ana.example.com"},
        {"type": "video", "provider": "youtube", "video": "dQw4w9WgXcQ"},
        {"type": "form", "text": "Get in touch", "group": 2},
    ],
}
LIST_ITEM: Final = {
    "id": 1,
    "name": "Ana's links",
    "alias": "ana",
    "shorturl": "https://sho.rt/ana",
    "views": 120,
    "date": "2026-06-01 10:00:00",
}
_COUNTS: Final = {"type": "object", "additionalProperties": {"type": "integer"}}

SCHEMAS: Final[dict[str, Any]] = {
    "BioBlock": BLOCK,
    "BioListItem": obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "alias": {"type": "string"},
            "shorturl": _URL,
            "views": {
                "type": ["integer", "null"],
                "description": "null while the analytics service cannot say.",
            },
            "date": DATE,
        },
        required=["id", "name", "alias", "shorturl", "views", "date"],
    ),
    "BioPage": obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "alias": {"type": "string"},
            "shorturl": _URL,
            "domain": {"type": ["integer", "null"]},
            "description": {"type": ["string", "null"]},
            "avatar": {"type": "boolean"},
            "theme": FIELDS["theme"],
            "seo": FIELDS["seo"],
            "blocks": {"type": "array", "items": ref("BioBlock")},
            "channel": {"type": ["integer", "null"]},
            "date": DATE,
            "updated": DATE,
        },
        required=["id", "name", "alias", "shorturl", "blocks", "date"],
    ),
    "BioStats": obj(
        {
            "views": {"type": "integer", "description": "Counted views (bots apart)."},
            "uniqueViews": {"type": "integer", "description": "Visitors, once a day each."},
            "botViews": {"type": "integer"},
            "blocks": {**_COUNTS, "description": "Clicks per block id (every block listed)."},
            "countries": _COUNTS,
            "referrers": _COUNTS,
            "browsers": _COUNTS,
            "os": _COUNTS,
            "devices": {**_COUNTS, "description": "Desktop, Mobile, Tablet."},
        },
        required=["views", "uniqueViews", "blocks", "countries", "referrers", "devices"],
    ),
}

PATHS: Final[dict[str, Any]] = {
    "/api/bio": {
        "get": list_operation(
            "List bio pages",
            tag=TAG,
            operation_id="listBioPages",
            key="bios",
            item=ref("BioListItem"),
            examples=[LIST_ITEM],
        )
    },
    "/api/bio/{id}": {
        "get": get_operation(
            "Get a bio page",
            tag=TAG,
            operation_id="getBioPage",
            what="bio page",
            schema=ref("BioPage"),
            example={
                **{k: v for k, v in LIST_ITEM.items() if k != "views"},
                "domain": None,
                "description": "Designer in Lisbon.",
                "avatar": False,
                "theme": {
                    "background": "#FDF6E3",
                    "text": "#111111",
                    "button": "#268BD2",
                    "buttontext": "#FFFFFF",
                    "shape": "pill",
                    "font": "serif",
                },
                "seo": {"title": "Ana Silva", "description": None, "image": None},
                "blocks": [{"id": 1, "type": "link", "text": "Portfolio", "url": "https://a.pt"}],
                "channel": None,
                "updated": "2026-06-01 10:00:00",
            },
        )
    },
    "/api/bio/add": {
        "post": operation(
            "Create a bio page",
            tag=TAG,
            operation_id="addBioPage",
            description="Plan feature `bio`; `bio.count` limits how many pages one may have.",
            body=json_body(obj(FIELDS, required=["name"]), example=EXAMPLE),
            responses={
                "200": answer(
                    success({"id": {"type": "integer"}, "shorturl": _URL}, required=["id"]),
                    example={"error": 0, "id": 1, "shorturl": "https://sho.rt/ana"},
                )
            },
            errors=(400, 403, 404, 409),
        )
    },
    "/api/bio/{id}/update": {
        "put": operation(
            "Update a bio page",
            tag=TAG,
            operation_id="updateBioPage",
            description="Only the fields sent change; the edge serves the new page at once.",
            parameters=[path_id("bio page")],
            body=json_body(obj(FIELDS), example={"name": "Ana Silva"}),
            responses={"200": message("Bio page has been updated successfully.")},
            errors=(400, 404, 409),
        )
    },
    "/api/bio/{id}/delete": {
        "delete": operation(
            "Delete a bio page",
            tag=TAG,
            operation_id="deleteBioPage",
            description="Its alias stops resolving at once; its statistics go with it.",
            parameters=[path_id("bio page")],
            responses={"200": message("Bio page has been deleted successfully.")},
            errors=(404,),
        )
    },
    "/api/bio/{id}/stats": {
        "get": operation(
            "A bio page's statistics",
            tag=TAG,
            operation_id="bioPageStats",
            parameters=[path_id("bio page")],
            responses={
                "200": data_answer(
                    ref("BioStats"),
                    {
                        "views": 120,
                        "uniqueViews": 97,
                        "botViews": 4,
                        "blocks": {"1": 31, "2": 0},
                        "countries": {"Portugal": 80, "Brazil": 40},
                        "referrers": {"instagram.com": 100, "Direct, email and other": 20},
                        "browsers": {"Mobile Safari": 70, "Chrome": 50},
                        "os": {"iOS": 70, "Android": 50},
                        "devices": {"Mobile": 110, "Desktop": 10},
                    },
                )
            },
            errors=(404, 503),
        )
    },
}
