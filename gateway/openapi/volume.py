"""OpenAPI fragment: links at volume (bulk create, tags, export, account-level
stats), served by the links service (stats computed by analytics)."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    PAGINATION_PARAMETERS,
    answer,
    json_body,
    list_operation,
    obj,
    operation,
    path_id,
    query,
    ref,
    success,
)

VOLUME_TAG: Final = "Links at volume"

TAGS: Final[list[dict[str, str]]] = [
    {
        "name": VOLUME_TAG,
        "description": (
            "Bulk creation, tags, exports and account-wide statistics; what the `shortener` "
            "command line uses to import from other shorteners."
        ),
    }
]

BULK_EXAMPLE: Final = {
    "urls": [
        {"url": "https://www.example.com/spring", "custom": "spring", "tags": ["spring"]},
        {"url": "javascript:alert(1)"},
        {
            "url": "https://www.example.com/old",
            "source": "bitly:bit.ly/3xYz",
            "created": "2021-03-04 10:00:00",
        },
    ]
}
BULK_ANSWER: Final = {
    "error": 0,
    "created": 2,
    "existing": 0,
    "failed": 1,
    "results": [
        {"index": 0, "error": 0, "id": 41, "shorturl": "https://sho.rt/spring"},
        {
            "index": 1,
            "error": 1,
            "message": "The field 'url' may not use the 'javascript:' scheme.",
        },
        {"index": 2, "error": 0, "id": 42, "shorturl": "https://sho.rt/Xb3kQ9z"},
    ],
}

SCHEMAS: Final[dict[str, Any]] = {
    "BulkItem": {
        "allOf": [
            ref("LinkParameters"),
            obj(
                {
                    "source": {
                        "type": "string",
                        "maxLength": 255,
                        "description": (
                            "Where the link comes from (an import's source id, e.g. "
                            "`bitly:bit.ly/3xYz`). An item whose source you imported before "
                            "answers the existing link with `existing: true`; nothing is created."
                        ),
                    },
                    "created": {
                        "type": "string",
                        "description": "The original creation date, `YYYY-MM-DD HH:MM:SS` UTC.",
                    },
                },
                required=["url"],
            ),
        ]
    },
    "BulkResult": obj(
        {
            "index": {"type": "integer", "description": "The item's position in `urls`."},
            "error": {"enum": [0, 1]},
            "id": {"type": "integer"},
            "shorturl": {"type": "string", "format": "uri"},
            "existing": {"const": True, "description": "Imported before from this `source`."},
            "message": {"type": "string", "description": "Why this item was refused."},
        },
        required=["index", "error"],
    ),
    "TagCount": obj(
        {"name": {"type": "string"}, "links": {"type": "integer"}},
        required=["name", "links"],
        example={"name": "spring", "links": 12},
    ),
}

PATHS: Final[dict[str, Any]] = {
    "/api/urls/bulk": {
        "post": operation(
            "Shorten up to 1,000 links at once",
            tag=VOLUME_TAG,
            operation_id="addLinksInBulk",
            description=(
                "Each item takes the parameters of `url/add` and is validated, checked against "
                "the plan and refused with the same messages. Items are independent: the answer "
                "has one result per item, in order. The `links` quota is exact: with room for 10 "
                "more links, 15 items create 10 and the other 5 are refused with the quota "
                "message. **Rate limit**: a bulk request costs one token per started 100 items "
                "(1,000 items: 10 tokens of the key's bucket), at most the bucket's capacity."
            ),
            body=json_body(
                obj(
                    {
                        "urls": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 1000,
                            "items": ref("BulkItem"),
                        }
                    },
                    required=["urls"],
                ),
                example=BULK_EXAMPLE,
            ),
            responses={
                "200": answer(
                    success(
                        {
                            "created": {"type": "integer"},
                            "existing": {"type": "integer"},
                            "failed": {"type": "integer"},
                            "results": {"type": "array", "items": ref("BulkResult")},
                        },
                        required=["created", "existing", "failed", "results"],
                    ),
                    example=BULK_ANSWER,
                )
            },
            errors=(400,),
        )
    },
    "/api/tags": {
        "get": list_operation(
            "List your tags with their link counts",
            tag=VOLUME_TAG,
            operation_id="listTags",
            description="Most used first. Filter links by one with `GET /api/urls?tag=`.",
            key="tags",
            item=ref("TagCount"),
            examples=[{"name": "spring", "links": 12}, {"name": "email", "links": 3}],
            parameters=PAGINATION_PARAMETERS,
        )
    },
}


_EXPORT_COLUMNS: Final = (
    "url,alias,title,tags,created,id,shorturl,domain,description,status,type,password,expiry,"
    "clicklimit,expirationredirect,metatitle,metadescription,metaimage,deeplink,geotarget,"
    "devicetarget,languagetarget,parameters,pixels,channel,campaign,updated,clicks"
)
_CLICK_COLUMNS: Final = (
    "date,link,source,qr,campaign,ip,country,city,browser,os,device,referrer,social,language,bot"
)
_CLICK_RANGE: Final = (
    query("from", "Start, `YYYY-MM-DD[ HH:MM:SS]` UTC; default: 30 days before `to`."),
    query("to", "End (excluded); default: now."),
)


def _csv_download(description: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
    }


PATHS.update(
    {
        "/api/urls/export": {
            "get": operation(
                "Export every link (CSV or JSON lines)",
                tag=VOLUME_TAG,
                operation_id="exportLinks",
                description=(
                    "Streamed (chunked) from a server-side cursor: any number of links in "
                    "constant memory. Every option of each link and its click total (empty / "
                    "`null` when analytics cannot say). Tags and pixels are comma-separated, "
                    "structured options JSON; text that a spreadsheet would run as a formula "
                    "starts with `'`. The first five columns are what `shortener import csv` "
                    "reads."
                ),
                parameters=[
                    query(
                        "format",
                        "`csv` or `jsonl` (one JSON object per line).",
                        {"enum": ["csv", "jsonl"], "default": "csv"},
                    )
                ],
                responses={
                    "200": {
                        "description": "The links, oldest first.",
                        "content": {
                            "text/csv": {
                                "schema": {"type": "string"},
                                "example": _EXPORT_COLUMNS + "\r\n",
                            },
                            "application/x-ndjson": {"schema": {"type": "string"}},
                        },
                    }
                },
                errors=(400,),
            )
        },
        "/api/urls/clicks/export": {
            "get": operation(
                "Export your raw clicks (CSV)",
                tag=VOLUME_TAG,
                operation_id="exportAccountClicks",
                description=(
                    "Every click of all your links in a date range, streamed. Addresses only "
                    "as stored (a /24 or /48 prefix); bots included, flagged. Plan: `export`."
                ),
                parameters=list(_CLICK_RANGE),
                responses={"200": _csv_download("One row per click.", _CLICK_COLUMNS + "\r\n")},
                errors=(400, 403),
            )
        },
        "/api/url/{id}/clicks/export": {
            "get": operation(
                "Export a link's raw clicks (CSV)",
                tag=VOLUME_TAG,
                operation_id="exportLinkClicks",
                description="As the account export, for one link. Plan: `export`.",
                parameters=[path_id("link"), *_CLICK_RANGE],
                responses={"200": _csv_download("One row per click.", _CLICK_COLUMNS + "\r\n")},
                errors=(400, 403, 404),
            )
        },
    }
)

_STATS_RANGE: Final = (
    query("from", "Start, `YYYY-MM-DD[ HH:MM:SS]` UTC; default: one span before `to`."),
    query("to", "End; default: now."),
)
_GROUP_TOTALS: Final = {
    "links": {"type": "integer"},
    "clicks": {"type": "integer"},
    "uniqueClicks": {"type": "integer"},
    "botClicks": {"type": "integer"},
}
_ACCOUNT_STATS_EXAMPLE: Final = {
    "error": 0,
    "from": "2026-11-01 00:00:00",
    "to": "2026-11-03 00:00:00",
    "interval": "day",
    "clicks": 42,
    "uniqueClicks": 30,
    "botClicks": 3,
    "series": [
        {"date": "2026-11-01 00:00:00", "clicks": 12, "uniqueClicks": 9},
        {"date": "2026-11-02 00:00:00", "clicks": 30, "uniqueClicks": 21},
    ],
    "topCountries": {"Canada": 20, "France": 12},
    "topReferrers": {"news.example.com": 15},
    "topBrowsers": {"Firefox": 18},
    "topOs": {"Windows": 20},
    "socialCount": {"facebook": 3, "twitter": 1, "instagram": 0, "linkedin": 0, "google": 5},
}

PATHS.update(
    {
        "/api/urls/stats": {
            "get": operation(
                "Account stats: all your links, or those of a tag, domain or campaign",
                tag=VOLUME_TAG,
                operation_id="accountStats",
                description=(
                    "The shape of a link's `stats`: totals, one point per bucket, breakdowns. "
                    "Filters combine."
                ),
                parameters=[
                    *_STATS_RANGE,
                    query("interval", "Bucket size.", {"enum": ["hour", "day", "month"]}),
                    query("tag", "Only links with this tag."),
                    query("domain", "Only links on this domain (`_`: the default domain)."),
                    query("campaign", "Only links in this campaign (id).", {"type": "integer"}),
                ],
                responses={
                    "200": answer(
                        success(
                            {
                                "clicks": {"type": "integer"},
                                "uniqueClicks": {"type": "integer"},
                                "botClicks": {"type": "integer"},
                                "series": {"type": "array"},
                            },
                            required=["clicks", "uniqueClicks", "botClicks", "series"],
                        ),
                        example=_ACCOUNT_STATS_EXAMPLE,
                    )
                },
                errors=(400, 503),
            )
        },
        "/api/urls/stats/{by}": {
            "get": operation(
                "Account stats per tag, per domain or per campaign",
                tag=VOLUME_TAG,
                operation_id="groupedStats",
                description=(
                    "Totals over the range for each of your tags, domains (`_`: the default "
                    "one) or campaigns, most clicked first."
                ),
                parameters=[
                    {
                        "name": "by",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["tags", "domains", "campaigns"]},
                    },
                    *_STATS_RANGE,
                ],
                responses={
                    "200": answer(
                        success(
                            {
                                "tags": {"type": "array", "items": obj(_GROUP_TOTALS)},
                                "domains": {"type": "array", "items": obj(_GROUP_TOTALS)},
                                "campaigns": {"type": "array", "items": obj(_GROUP_TOTALS)},
                            }
                        ),
                        example={
                            "error": 0,
                            "from": "2026-10-04 00:00:00",
                            "to": "2026-11-03 00:00:00",
                            "tags": [
                                {
                                    "tag": "spring",
                                    "links": 2,
                                    "clicks": 3,
                                    "uniqueClicks": 3,
                                    "botClicks": 0,
                                }
                            ],
                        },
                    )
                },
                errors=(400, 404, 503),
            )
        },
    }
)
