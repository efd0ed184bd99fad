"""OpenAPI fragment: links (API.md section 3) and branded domains (section 4),
served by the links service."""

from __future__ import annotations

from typing import Any, Final

from gateway.openapi.common import (
    PAGINATION_PARAMETERS,
    answer,
    get_operation,
    id_answer,
    json_body,
    list_operation,
    message,
    obj,
    operation,
    path_id,
    query,
    ref,
    success,
)

LINKS_TAG: Final = "Links"
DOMAINS_TAG: Final = "Branded domains"

TAGS: Final[list[dict[str, str]]] = [
    {"name": LINKS_TAG, "description": "Short links: create, list, inspect, change, delete."},
    {
        "name": DOMAINS_TAG,
        "description": "Your own domains for short links; one owner per domain.",
    },
]

_URL: Final = {"type": "string", "format": "uri", "maxLength": 8000}
_NULLABLE_URL: Final = {"type": ["string", "null"], "format": "uri", "maxLength": 8000}
_DATE: Final = {
    "type": ["string", "null"],
    "description": "`YYYY-MM-DD HH:MM:SS`, UTC.",
    "examples": ["2026-11-22 10:00:00"],
}


def _rules(key: str, description: str, example: dict[str, str]) -> dict[str, Any]:
    return {
        "type": ["array", "null"],
        "description": description + " `null` or `[]` clears the rules.",
        "maxItems": 100,
        "items": obj(
            {key: {"type": "string"}, "link": _URL}, required=[key, "link"], example=example
        ),
    }


LINK_EXAMPLE: Final = {
    "url": "https://www.example.com/spring-sale?ref=newsletter",
    "custom": "spring-sale",
    "status": "public",
    "type": "splash",
    "password": "letmein",
    "expiry": "2026-12-31 23:59:59",
    "clicklimit": 1000,
    "expirationredirect": "https://www.example.com/sale-over",
    "title": "Spring sale",
    "description": "Newsletter of March",
    "metatitle": "Spring sale: 30% off",
    "metadescription": "Only this week.",
    "metaimage": "https://cdn.example.com/sale.png",
    "pixels": [1, 2],
    "channel": 3,
    "campaign": 4,
    "deeplink": {
        "auto": True,
        "apple": "https://apps.apple.com/app/id123",
        "google": "https://play.google.com/store/apps/details?id=com.example",
    },
    "geotarget": [{"location": "Canada", "link": "https://www.example.ca"}],
    "devicetarget": [{"device": "iPhone", "link": "https://www.example.com/ios"}],
    "languagetarget": [{"language": "fr", "link": "https://www.example.com/fr"}],
    "parameters": [{"name": "utm_source", "value": "newsletter"}],
}

_LINK_PROPERTIES: Final[dict[str, Any]] = {
    "url": {
        **_URL,
        "description": (
            "Destination: http or https, or a deep-link scheme (`mailto:`, `tel:`, app schemes). "
            "`javascript:`, `data:`, `file:` and `vbscript:` are refused."
        ),
    },
    "custom": {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]{3,64}$",
        "description": (
            "Custom alias; unused on that domain (else 409) and not a reserved word "
            "(`api`, `qr`, `r`, `u`, `user`, `health`, `metrics`, `static`, …). Plan: `alias`."
        ),
    },
    "status": {"enum": ["public", "private", None], "default": "public"},
    "domain": {
        "type": ["integer", "string", "null"],
        "description": (
            "One of your branded domains, by id or URL; `null`: the default domain. Plan: `domain`."
        ),
    },
    "type": {
        "type": ["string", "null"],
        "pattern": "^(direct|frame|splash|splash-[0-9]+|overlay-[0-9]+)$",
        "default": "direct",
        "description": "`splash-<id>` needs plan `splash`, `overlay-<id>` plan `overlay`.",
    },
    "password": {
        "type": ["string", "null"],
        "maxLength": 128,
        "description": "Visitors must enter it first. Stored hashed.",
    },
    "expiry": {
        **_DATE,
        "description": "No redirects after this date (UTC); a date in the past is a 400.",
    },
    "clicklimit": {
        "type": ["integer", "null"],
        "minimum": 1,
        "description": "(extension) No redirects after this many clicks.",
    },
    "expirationredirect": {
        **_NULLABLE_URL,
        "description": "(extension) Where an expired link sends visitors instead of a 410 page.",
    },
    "title": {
        "type": ["string", "null"],
        "maxLength": 255,
        "description": "Your label; fetched from the page in the background when not given.",
    },
    "description": {"type": ["string", "null"], "maxLength": 2000},
    "metatitle": {"type": ["string", "null"], "maxLength": 255, "description": "Plan: `custom`."},
    "metadescription": {
        "type": ["string", "null"],
        "maxLength": 1000,
        "description": "Plan: `custom`.",
    },
    "metaimage": {
        **_NULLABLE_URL,
        "description": "A jpg or png URL for social previews. Plan: `custom`.",
    },
    "pixels": {
        "type": ["array", "null"],
        "items": {"type": "integer", "minimum": 1},
        "description": "Pixel ids fired on the way. Plan: `pixels`.",
    },
    "channel": {"type": ["integer", "null"], "minimum": 1},
    "campaign": {"type": ["integer", "null"], "minimum": 1, "description": "Plan: `bundle`."},
    "tags": {
        "type": ["array", "string", "null"],
        "items": {"type": "string", "minLength": 1, "maxLength": 50},
        "maxItems": 20,
        "description": (
            "Your tags (or one comma-separated string): compared case-insensitively, stored "
            "lower-cased; on update the list replaces the link's tags, `null` or `[]` clears them."
        ),
    },
    "deeplink": {
        "type": ["object", "null"],
        "description": "iOS and Android visitors go to the app link. Plan: `device`.",
        "properties": {
            "auto": {"type": "boolean"},
            "apple": _NULLABLE_URL,
            "google": _NULLABLE_URL,
        },
    },
    "geotarget": _rules(
        "location",
        "By visitor country: a country name or ISO code. Plan: `geo`.",
        {"location": "Canada", "link": "https://www.example.ca"},
    ),
    "devicetarget": _rules(
        "device",
        "By device: iPhone, iPad, iPod, iOS, Android, Windows, Windows Phone, Macintosh, Linux, "
        "BlackBerry, Chrome OS, Kindle. Plan: `device`.",
        {"device": "iPhone", "link": "https://www.example.com/ios"},
    ),
    "languagetarget": _rules(
        "language",
        "By the visitor's Accept-Language: 2-letter codes. Plan: `geo`.",
        {"language": "fr", "link": "https://www.example.com/fr"},
    ),
    "parameters": {
        "type": ["array", "null"],
        "description": "Added to the destination's query. Plan: `parameters`.",
        "maxItems": 50,
        "items": obj(
            {"name": {"type": "string", "maxLength": 100}, "value": {"type": "string"}},
            required=["name"],
        ),
    },
}

_BOT_CLICKS: Final = {
    "type": "integer",
    "description": "Visits of crawlers and bots: stored, flagged, and in no other figure.",
}
_BREAKDOWNS: Final = {
    "topCountries": {"type": "object", "additionalProperties": {"type": "integer"}},
    "topReferrers": {"type": "object", "additionalProperties": {"type": "integer"}},
    "topBrowsers": {"type": "object", "additionalProperties": {"type": "integer"}},
    "topOs": {"type": "object", "additionalProperties": {"type": "integer"}},
    "socialCount": obj(
        {
            name: {"type": "integer"}
            for name in ("facebook", "twitter", "instagram", "linkedin", "google")
        }
    ),
}
STATS_BLOCK: Final = obj(
    {
        "clicks": {"type": "integer"},
        "uniqueClicks": {"type": "integer"},
        "botClicks": _BOT_CLICKS,
        **_BREAKDOWNS,
    },
    description="Click statistics from the analytics service.",
)
# GET /api/url/{id}/stats: the analytics service's answer as it is.
STATS_SERIES: Final = obj(
    {
        "from": {"type": "string", "examples": ["2026-11-22 00:00:00"]},
        "to": {"type": "string", "examples": ["2026-11-24 00:00:00"]},
        "interval": {"enum": ["hour", "day", "month"]},
        "clicks": {"type": "integer"},
        "uniqueClicks": {"type": "integer"},
        "botClicks": _BOT_CLICKS,
        "series": {
            "type": "array",
            "items": obj(
                {
                    "date": {"type": "string"},
                    "clicks": {"type": "integer"},
                    "uniqueClicks": {"type": "integer"},
                },
                required=["date", "clicks", "uniqueClicks"],
            ),
        },
        **_BREAKDOWNS,
    },
    required=["from", "to", "interval", "clicks", "uniqueClicks", "botClicks", "series"],
    description="Clicks per bucket over the range, with the totals and breakdowns of the range.",
)

_MAP: Final = {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}

LIST_ITEM_EXAMPLE: Final = {
    "id": 1,
    "alias": "spring-sale",
    "shorturl": "https://sho.rt/spring-sale",
    "longurl": "https://www.example.com/spring-sale?ref=newsletter",
    "clicks": 42,
    "title": "Spring sale",
    "description": "Newsletter of March",
    "tags": ["spring", "email"],
    "date": "2026-11-22 10:00:00",
}
DETAILS_EXAMPLE: Final = {
    "error": 0,
    "id": 1,
    "details": {
        "id": 1,
        "shorturl": "https://sho.rt/spring-sale",
        "longurl": "https://www.example.com/spring-sale?ref=newsletter",
        "title": "Spring sale",
        "description": "Newsletter of March",
        "location": {"Canada": "https://www.example.ca"},
        "device": {"iPhone": "https://www.example.com/ios"},
        "language": {"fr": "https://www.example.com/fr"},
        "expiry": "2026-12-31 23:59:59",
        "date": "2026-11-22 10:00:00",
    },
    "data": {
        "clicks": 42,
        "uniqueClicks": 30,
        "botClicks": 5,
        "topCountries": {"Canada": 20, "France": 12},
        "topReferrers": {"news.example.com": 15},
        "topBrowsers": {"Firefox": 18, "Chrome": 16},
        "topOs": {"Windows": 20, "iOS": 10},
        "socialCount": {"facebook": 3, "twitter": 1, "instagram": 0, "linkedin": 0, "google": 5},
    },
}
DOMAIN_EXAMPLES: Final = [
    {
        "id": 1,
        "domain": "https://domain1.com",
        "redirectroot": "https://rootdomain.com",
        "redirect404": "https://rootdomain.com/404",
        "verified": True,
        "verification": {
            "record": "_shortener-verify.domain1.com",
            "value": "shortener-verify=5f0c2b8e9a1d4c3b8e7f6a5d4c3b2a19",
        },
    },
    {
        "id": 2,
        "domain": "https://domain2.com",
        "redirectroot": "https://rootdomain2.com",
        "redirect404": "https://rootdomain2.com/404",
        "verified": False,
        "verification": {
            "record": "_shortener-verify.domain2.com",
            "value": "shortener-verify=0a9b8c7d6e5f40312a3b4c5d6e7f8091",
        },
    },
]
_VERIFICATION: Final = {
    "type": "object",
    "description": (
        "The DNS TXT record that proves you control the domain: publish `value` as a TXT "
        "record named `record`, then call `POST /api/domain/{id}/verify` (unverified "
        "domains are also re-checked in the background)."
    ),
    "properties": {"record": {"type": "string"}, "value": {"type": "string"}},
    "required": ["record", "value"],
}

SCHEMAS: Final[dict[str, Any]] = {
    "LinkParameters": obj(
        _LINK_PROPERTIES,
        description=(
            "Parameters of `url/add` (only `url` required) and `url/:id/update` (all optional; "
            "only those sent change; `null` or `[]` clears an option)."
        ),
        example=LINK_EXAMPLE,
    ),
    "LinkListItem": obj(
        {
            "id": {"type": "integer"},
            "alias": {"type": "string"},
            "shorturl": {"type": "string", "format": "uri"},
            "longurl": {"type": "string"},
            "clicks": {
                "type": ["integer", "null"],
                "description": "`null` when the analytics service cannot say right now.",
            },
            "title": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "date": _DATE,
        },
        required=["id", "alias", "shorturl", "longurl", "clicks", "title", "description", "date"],
        example=LIST_ITEM_EXAMPLE,
    ),
    "LinkDetails": obj(
        {
            "id": {"type": "integer"},
            "shorturl": {"type": "string", "format": "uri"},
            "longurl": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]},
            "location": {**_MAP, "description": "Country name → destination."},
            "device": {**_MAP, "description": "Device → destination."},
            "language": {**_MAP, "description": "Language code → destination."},
            "expiry": _DATE,
            "date": _DATE,
        },
        required=["id", "shorturl", "longurl", "title", "description", "location", "device"],
        description=(
            "The published fields, plus (extension) the other options as set: `alias`, "
            "`domain`, `status`, `type`, `password` (true when set), `clicklimit`, "
            "`expirationredirect`, `metatitle`, `metadescription`, `metaimage`, `deeplink`, "
            "`parameters`, `pixels`, `channel`, `campaign`, `tags`, `updated`."
        ),
    ),
    "LinkStats": STATS_BLOCK,
    "Domain": obj(
        {
            "id": {"type": "integer"},
            "domain": {"type": "string", "format": "uri", "examples": ["https://go.example.com"]},
            "redirectroot": _NULLABLE_URL,
            "redirect404": _NULLABLE_URL,
            "verified": {
                "type": "boolean",
                "description": (
                    "(extension) Whether its owner has proven control of it by DNS. Only "
                    "verified domains are served: until then every path on it answers 404."
                ),
            },
            "verification": _VERIFICATION,
        },
        required=["id", "domain", "redirectroot", "redirect404", "verified", "verification"],
    ),
}

_LINK_ERRORS: Final = (400, 403, 404, 409)
_ADDED: Final = answer(
    success(
        {"id": {"type": "integer"}, "shorturl": {"type": "string", "format": "uri"}},
        required=["id", "shorturl"],
    ),
    example={"error": 0, "id": 1, "shorturl": "https://sho.rt/spring-sale"},
)
_PERIOD: Final = (
    query("from", "First day, `YYYY-MM-DD`."),
    query("to", "Last day, `YYYY-MM-DD`."),
)
_ANALYTICS_DOWN: Final = {
    "description": (
        "The analytics service is unreachable or did not answer within `ANALYTICS_TIMEOUT` "
        "(2 s by default); `Retry-After` says when to try again."
    ),
    "content": {"application/json": {"schema": ref("Error")}},
}


PATHS: Final[dict[str, Any]] = {
    "/api/urls": {
        "get": list_operation(
            "List links",
            tag=LINKS_TAG,
            operation_id="listLinks",
            parameters=[
                *PAGINATION_PARAMETERS,
                query(
                    "order",
                    "`date` (newest first) or `clicks` (most clicked first).",
                    {"enum": ["date", "clicks"], "default": "date"},
                ),
                query(
                    "short",
                    "A short URL or alias: just that link (other filters ignored).",
                ),
                query(
                    "q",
                    "Search in long URL, alias, title and description.",
                    {"type": "string", "maxLength": 255},
                ),
                query("tag", "Only links with this tag.", {"type": "string", "maxLength": 50}),
            ],
            key="urls",
            item=ref("LinkListItem"),
            examples=[LIST_ITEM_EXAMPLE],
        )
    },
    "/api/url/{id}": {
        "get": operation(
            "Get a link with its statistics",
            tag=LINKS_TAG,
            operation_id="getLink",
            description="`data` is `null` when the analytics service cannot answer.",
            parameters=[path_id("link")],
            responses={
                "200": answer(
                    success(
                        {
                            "id": {"type": "integer"},
                            "details": ref("LinkDetails"),
                            "data": {"oneOf": [ref("LinkStats"), {"type": "null"}]},
                        },
                        required=["id", "details", "data"],
                    ),
                    example=DETAILS_EXAMPLE,
                )
            },
            errors=(404,),
        )
    },
    "/api/url/add": {
        "post": operation(
            "Shorten a link",
            tag=LINKS_TAG,
            operation_id="addLink",
            description=(
                "More links than the plan's `links` quota, or an option the plan lacks: 403."
            ),
            body=json_body(
                {"allOf": [ref("LinkParameters"), {"required": ["url"]}]}, example=LINK_EXAMPLE
            ),
            responses={"200": _ADDED},
            errors=_LINK_ERRORS,
        )
    },
    "/api/url/{id}/update": {
        "put": operation(
            "Update a link",
            tag=LINKS_TAG,
            operation_id="updateLink",
            parameters=[path_id("link")],
            body=json_body(
                ref("LinkParameters"),
                example={"url": "https://www.example.com/new", "geotarget": None, "pixels": []},
            ),
            responses={"200": _ADDED},
            errors=_LINK_ERRORS,
        )
    },
    "/api/url/{id}/delete": {
        "delete": operation(
            "Delete a link",
            tag=LINKS_TAG,
            operation_id="deleteLink",
            description="The alias stops resolving at once.",
            parameters=[path_id("link")],
            responses={"200": message("Link has been deleted successfully.")},
            errors=(404,),
        )
    },
    "/api/url/{id}/stats": {
        "get": operation(
            "Clicks over time (extension)",
            tag=LINKS_TAG,
            operation_id="linkStatsSeries",
            parameters=[
                path_id("link"),
                *_PERIOD,
                query("interval", "Bucket size.", {"enum": ["hour", "day", "month"]}),
            ],
            responses={
                "200": answer(
                    STATS_SERIES,
                    example={
                        "from": "2026-11-22 00:00:00",
                        "to": "2026-11-24 00:00:00",
                        "interval": "day",
                        "clicks": 42,
                        "uniqueClicks": 30,
                        "botClicks": 5,
                        "series": [
                            {"date": "2026-11-22 00:00:00", "clicks": 12, "uniqueClicks": 9},
                            {"date": "2026-11-23 00:00:00", "clicks": 30, "uniqueClicks": 21},
                        ],
                        "topCountries": {"Canada": 20, "France": 12},
                        "topReferrers": {"news.example.com": 15},
                        "topBrowsers": {"Firefox": 18, "Chrome": 16},
                        "topOs": {"Windows": 20, "iOS": 10},
                        "socialCount": {
                            "facebook": 3,
                            "twitter": 1,
                            "instagram": 0,
                            "linkedin": 0,
                            "google": 5,
                        },
                    },
                ),
                "503": _ANALYTICS_DOWN,
            },
            errors=(400, 404),
        )
    },
    "/api/url/{id}/stats/export": {
        "get": operation(
            "Export clicks as CSV (extension)",
            tag=LINKS_TAG,
            operation_id="linkStatsExport",
            description="Needs the plan feature `export`.",
            parameters=[
                path_id("link"),
                *_PERIOD,
            ],
            responses={
                "200": {
                    "description": "CSV, one row per click.",
                    "content": {
                        "text/csv": {
                            "schema": {"type": "string"},
                            "example": "date,country,referrer,browser,os\n",
                        }
                    },
                },
                "503": _ANALYTICS_DOWN,
            },
            errors=(400, 403, 404),
        )
    },
    "/api/domains": {
        "get": list_operation(
            "List branded domains",
            tag=DOMAINS_TAG,
            operation_id="listDomains",
            key="domains",
            item=ref("Domain"),
            examples=DOMAIN_EXAMPLES,
            perpage=2,
        )
    },
    "/api/domain/{id}": {
        "get": get_operation(
            "Get a branded domain (extension)",
            tag=DOMAINS_TAG,
            operation_id="getDomain",
            what="domain",
            schema=ref("Domain"),
            example=DOMAIN_EXAMPLES[0],
        )
    },
    "/api/domain/add": {
        "post": operation(
            "Add a branded domain",
            tag=DOMAINS_TAG,
            operation_id="addDomain",
            description=(
                "Point the domain at the short-link server first. A domain has one owner: "
                "adding one that is taken answers 409 (`name`, `NAME.` and `name:443` are one "
                "domain; IDNA names are stored in their ASCII form). IP addresses and the "
                "service's own hosts cannot be added. The new domain is served once verified: "
                "publish the TXT record its `verification` names (see `GET /api/domain/{id}`) "
                "and call `POST /api/domain/{id}/verify`. Needs plan `domain`; "
                "`domain.count` limits how many."
            ),
            body=json_body(
                obj(
                    {
                        "domain": {
                            "type": "string",
                            "format": "uri",
                            "description": "The domain with http:// or https://, no path.",
                        },
                        "redirectroot": _NULLABLE_URL,
                        "redirect404": _NULLABLE_URL,
                    },
                    required=["domain"],
                ),
                example={
                    k: v
                    for k, v in DOMAIN_EXAMPLES[0].items()
                    if k in ("domain", "redirectroot", "redirect404")
                },
            ),
            responses={"200": id_answer(1)},
            errors=(400, 403, 409),
        )
    },
    "/api/domain/{id}/update": {
        "put": operation(
            "Update a branded domain",
            tag=DOMAINS_TAG,
            operation_id="updateDomain",
            parameters=[path_id("domain")],
            body=json_body(
                obj({"redirectroot": _NULLABLE_URL, "redirect404": _NULLABLE_URL}),
                example={
                    "redirectroot": "https://rootdomain-new.com",
                    "redirect404": "https://rootdomain-new.com/404",
                },
            ),
            responses={"200": message("Domain has been updated successfully.")},
            errors=(400, 404),
        )
    },
    "/api/domain/{id}/verify": {
        "post": operation(
            "Verify a branded domain (extension)",
            tag=DOMAINS_TAG,
            operation_id="verifyDomain",
            description=(
                "Looks up the domain's TXT record now. `verified: false` (with a message "
                "naming the record) when it is not there yet; 503 when DNS cannot be asked."
            ),
            parameters=[path_id("domain")],
            responses={
                "200": answer(
                    success(
                        {
                            "verified": {"type": "boolean"},
                            "message": {"type": "string"},
                            "verification": _VERIFICATION,
                        },
                        required=["verified", "message", "verification"],
                    ),
                    example={
                        "error": 0,
                        "verified": True,
                        "message": "Domain has been verified: it is served now.",
                        "verification": DOMAIN_EXAMPLES[0]["verification"],
                    },
                )
            },
            errors=(404,),
        )
    },
    "/api/domain/{id}/delete": {
        "delete": operation(
            "Delete a branded domain",
            tag=DOMAINS_TAG,
            operation_id="deleteDomain",
            description=(
                "Its links are deleted too (`deletedLinks` says how many) and stop resolving at "
                "once: the host then answers 404 on the short-link server (never the default "
                "domain's link of the same alias) until it is added again."
            ),
            parameters=[path_id("domain")],
            responses={
                "200": answer(
                    success(
                        {
                            "message": {"type": "string"},
                            "deletedLinks": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "How many of its links were deleted with it.",
                            },
                        },
                        required=["message", "deletedLinks"],
                    ),
                    example={
                        "error": 0,
                        "message": "Domain has been deleted successfully.",
                        "deletedLinks": 3,
                    },
                )
            },
            errors=(404,),
        )
    },
}
