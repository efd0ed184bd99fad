"""What every part of the OpenAPI document shares, and helpers for fragments.

A fragment is a module ``gateway/openapi/<area>.py`` defining ``PATHS`` (path →
path item, as in OpenAPI 3.1) and optionally ``SCHEMAS`` (name → schema, placed
under ``components.schemas``) and ``TAGS`` (``[{"name", "description"}]``).
:func:`operation` requires bearer authentication unless told otherwise; the
gateway merges every fragment at startup and adds to each authenticated ``/api``
operation what the gateway itself guarantees: the rate-limit headers and the
401/413/429/502/503/504 answers. A fragment only describes its own endpoints,
e.g.::

    from gateway.openapi.common import message, operation, path_id

    PATHS = {
        "/api/pixel/{id}/delete": {
            "delete": operation(
                "Delete a pixel",
                tag="Pixels",
                parameters=[path_id("pixel")],
                responses={"200": message("Pixel has been deleted successfully.")},
                errors=(404,),
            )
        }
    }
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

OPENAPI_VERSION: Final = "3.1.0"

INFO: Final[dict[str, Any]] = {
    "title": "Short links API",
    "version": "3.0.0",
    "summary": "Short links, QR codes, branded domains, campaigns and click analytics.",
    "description": (
        "Every `/api` request carries `Authorization: Bearer <API key>`. Answers are JSON: "
        'success bodies have `"error": 0`, failures `{"error": 1, "message": "..."}` with an '
        "HTTP status saying what went wrong. Each key has a token bucket (30 requests per "
        "60 seconds unless the plan sets another rate); every answer carries "
        "`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`, and an empty "
        "bucket answers 429 with `Retry-After`. Lists take `limit` (default 15, at most 100) "
        "and `page` (from 1). Dates are `YYYY-MM-DD HH:MM:SS` in UTC."
    ),
    "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
}

SERVERS: Final[list[dict[str, Any]]] = [
    {"url": "/", "description": "This server (the gateway answers under /api)."}
]

# Areas in the order a reader meets them; fragments' other tags follow, sorted.
TAG_ORDER: Final = (
    "Account",
    "Links",
    "Branded domains",
    "QR codes",
    "Campaigns",
    "Channels",
    "Pixels",
    "Splash pages",
    "CTA overlays",
    "Bio pages",
    "Contacts",
    "Plans",
    "Users",
    "Documentation",
)

TAGS: Final[list[dict[str, str]]] = [
    {"name": "Documentation", "description": "This reference, as HTML and as OpenAPI 3.1."},
]

RATE_LIMIT_HEADERS: Final[dict[str, Any]] = {
    "X-RateLimit-Limit": {
        "description": "Requests the key's bucket holds when full.",
        "schema": {"type": "integer", "examples": [30]},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the bucket now.",
        "schema": {"type": "integer", "examples": [29]},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (seconds) when the bucket is full again.",
        "schema": {"type": "integer", "examples": [1764000000]},
    },
}
HEADER_REFS: Final[dict[str, Any]] = {
    name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS
}

SCHEMAS: Final[dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "Every failure.",
        "required": ["error", "message"],
        "properties": {
            "error": {"const": 1, "description": "Always 1 on failure."},
            "message": {"type": "string", "description": "What went wrong, for humans."},
        },
        "examples": [{"error": 1, "message": "An error occurred"}],
    },
    "Message": {
        "type": "object",
        "description": "A success that only says so.",
        "required": ["error", "message"],
        "properties": {
            "error": {"const": 0, "description": "Always 0 on success."},
            "message": {"type": "string"},
        },
    },
    "Pagination": {
        "type": "object",
        "description": (
            "The `data` of every list, plus one array of items under a key named by the endpoint."
        ),
        "required": ["result", "perpage", "currentpage", "nextpage", "maxpage"],
        "properties": {
            "result": {"type": "integer", "description": "Items in total."},
            "perpage": {"type": "integer", "description": "The `limit` in force."},
            "currentpage": {"type": "integer"},
            "nextpage": {
                "type": "integer",
                "description": "`min(currentpage + 1, maxpage)`: on the last page, the last page.",
            },
            "maxpage": {"type": "integer"},
        },
    },
}

_ERROR_CONTENT: Final = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

_ERRORS: Final[dict[int, tuple[str, str]]] = {
    400: ("BadRequest", "Malformed JSON, a field of the wrong type, or an invalid value."),
    401: ("Unauthorized", "Missing, unknown, revoked or expired API key."),
    403: ("Forbidden", "Admin-only endpoint, or the plan lacks the feature or its quota is used."),
    404: ("NotFound", "No such object for this user (another user's object is not found either)."),
    409: ("Conflict", "The name, alias or domain is taken."),
    410: ("Gone", "A single-use token (an invitation) was used already or has expired."),
    413: ("PayloadTooLarge", "The request body is too large."),
    429: ("TooManyRequests", "The key's bucket is empty (or too many failed authentications)."),
    502: ("BadGateway", "A service behind the gateway answered badly."),
    503: ("ServiceUnavailable", "A service behind the gateway is down."),
    504: ("GatewayTimeout", "A service behind the gateway did not answer in time."),
}
# What the gateway may answer to any authenticated request, whatever the endpoint.
GATEWAY_ERRORS: Final = (401, 413, 429, 502, 503, 504)


def _error_response(status: int, description: str) -> dict[str, Any]:
    headers: dict[str, Any] = dict(HEADER_REFS)
    if status == 429:
        headers["Retry-After"] = {
            "description": "Seconds to wait before the next request can succeed.",
            "schema": {"type": "integer"},
        }
    return {"description": description, "headers": headers, "content": _ERROR_CONTENT}


COMPONENTS: Final[dict[str, Any]] = {
    "securitySchemes": {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "The user's API key: `Authorization: Bearer <API key>`.",
        }
    },
    "headers": RATE_LIMIT_HEADERS,
    "responses": {name: _error_response(code, text) for code, (name, text) in _ERRORS.items()},
    "parameters": {
        "limit": {
            "name": "limit",
            "in": "query",
            "description": "Items per page (default 15, at most 100).",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 15},
        },
        "page": {
            "name": "page",
            "in": "query",
            "description": "Page number, from 1.",
            "schema": {"type": "integer", "minimum": 1, "default": 1},
        },
    },
}


# What every /api operation requires unless it says otherwise.
BEARER_AUTH: Final[Sequence[Mapping[str, Sequence[str]]]] = ({"bearerAuth": ()},)

# `YYYY-MM-DD HH:MM:SS` dates as answered.
DATE: Final[dict[str, Any]] = {"type": "string", "description": "`YYYY-MM-DD HH:MM:SS`, UTC."}


def ref(name: str) -> dict[str, str]:
    """A reference to ``components.schemas[name]``."""
    return {"$ref": f"#/components/schemas/{name}"}


def error_ref(status: int) -> dict[str, str]:
    """The shared answer for an error status (400, 401, 403, 404, 409, 413, 429, 50x)."""
    return {"$ref": f"#/components/responses/{_ERRORS[status][0]}"}


def path_id(what: str, name: str = "id") -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what}'s id.",
        "schema": {"type": "integer", "minimum": 1},
    }


def query(name: str, description: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": dict(schema or {"type": "string"}),
    }


PAGINATION_PARAMETERS: Final = (
    {"$ref": "#/components/parameters/limit"},
    {"$ref": "#/components/parameters/page"},
)


def obj(
    properties: Mapping[str, Any],
    *,
    required: Iterable[str] = (),
    description: str | None = None,
    example: Any = None,
) -> dict[str, Any]:
    """An object schema."""
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    if example is not None:
        schema["examples"] = [example]
    return schema


def success(
    properties: Mapping[str, Any], *, required: Iterable[str] = (), example: Any = None
) -> dict[str, Any]:
    """A success body: ``{"error": 0, **properties}``."""
    return obj(
        {"error": {"const": 0}, **properties},
        required=["error", *required],
        example=example,
    )


def paginated(items_key: str, item: Mapping[str, Any], *, example: Any = None) -> dict[str, Any]:
    """``{"error": 0, "data": {pagination..., items_key: [item]}}``."""
    data = {
        "allOf": [
            ref("Pagination"),
            obj({items_key: {"type": "array", "items": dict(item)}}, required=[items_key]),
        ]
    }
    return success({"data": data}, required=["data"], example=example)


def page_example(key: str, items: Sequence[Any], *, perpage: int = 15) -> dict[str, Any]:
    """The example of a one-page list answer holding ``items`` under ``key``."""
    return {
        "error": 0,
        "data": {
            "result": len(items),
            "perpage": perpage,
            "currentpage": 1,
            "nextpage": 1,
            "maxpage": 1,
            key: list(items),
        },
    }


def json_body(
    schema: Mapping[str, Any], *, required: bool = True, example: Any = None
) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": dict(schema)}
    if example is not None:
        media["example"] = example
    return {"required": required, "content": {"application/json": media}}


def answer(
    schema: Mapping[str, Any], description: str = "Success.", *, example: Any = None
) -> dict[str, Any]:
    """A JSON answer (the rate-limit headers are added by the document builder)."""
    media: dict[str, Any] = {"schema": dict(schema)}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {"application/json": media}}


def message(text: str) -> dict[str, Any]:
    """A 200 answer ``{"error": 0, "message": text}``."""
    return answer(ref("Message"), text, example={"error": 0, "message": text})


def data_answer(schema: Mapping[str, Any], example: Any) -> dict[str, Any]:
    """A 200 answer ``{"error": 0, "data": <schema>}``; ``example`` is the ``data``."""
    return answer(
        success({"data": dict(schema)}, required=["data"]), example={"error": 0, "data": example}
    )


def id_answer(example: int) -> dict[str, Any]:
    """A 200 answer ``{"error": 0, "id": <the new object's id>}``."""
    return answer(
        success({"id": {"type": "integer"}}, required=["id"]), example={"error": 0, "id": example}
    )


def operation(
    summary: str,
    *,
    tag: str,
    responses: Mapping[str, Any],
    description: str | None = None,
    parameters: Sequence[Mapping[str, Any]] = (),
    body: Mapping[str, Any] | None = None,
    errors: Iterable[int] = (),
    operation_id: str | None = None,
    security: Sequence[Mapping[str, Sequence[str]]] = BEARER_AUTH,
) -> dict[str, Any]:
    """One operation; ``errors`` names the endpoint's own failure statuses
    (the gateway's 401/413/429/502/503/504 are added for every authenticated
    endpoint). ``security=()`` makes an endpoint public."""
    op: dict[str, Any] = {"summary": summary, "tags": [tag]}
    if operation_id:
        op["operationId"] = operation_id
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = [dict(p) for p in parameters]
    if body is not None:
        op["requestBody"] = dict(body)
    op["responses"] = dict(responses)
    for status in errors:
        op["responses"].setdefault(str(status), error_ref(status))
    op["security"] = [
        {scheme: list(scopes) for scheme, scopes in requirement.items()} for requirement in security
    ]
    return op


def list_operation(
    summary: str,
    *,
    tag: str,
    operation_id: str,
    key: str,
    item: Mapping[str, Any],
    examples: Sequence[Any],
    perpage: int = 15,
    description: str | None = None,
    parameters: Sequence[Mapping[str, Any]] = PAGINATION_PARAMETERS,
    errors: Iterable[int] = (400,),
) -> dict[str, Any]:
    """A paginated list: ``data`` holds the pagination and the ``item``s under ``key``;
    its example is one page of ``examples``."""
    return operation(
        summary,
        tag=tag,
        operation_id=operation_id,
        description=description,
        parameters=parameters,
        responses={
            "200": answer(
                paginated(key, item), example=page_example(key, examples, perpage=perpage)
            )
        },
        errors=errors,
    )


def get_operation(
    summary: str,
    *,
    tag: str,
    operation_id: str,
    what: str,
    schema: Mapping[str, Any],
    example: Any,
    description: str | None = None,
    errors: Iterable[int] = (404,),
) -> dict[str, Any]:
    """One object by its id (the path parameter ``id``): ``{"error": 0, "data": <schema>}``."""
    return operation(
        summary,
        tag=tag,
        operation_id=operation_id,
        description=description,
        parameters=[path_id(what)],
        responses={"200": data_answer(schema, example)},
        errors=errors,
    )


# The gateway's own endpoints.
PATHS: Final[dict[str, Any]] = {
    "/api/openapi.json": {
        "get": {
            "summary": "This document (OpenAPI 3.1)",
            "tags": ["Documentation"],
            "operationId": "openapi",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/api/docs": {
        "get": {
            "summary": "This reference as a web page",
            "tags": ["Documentation"],
            "operationId": "docs",
            "security": [],
            "responses": {
                "200": {
                    "description": "HTML.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
        }
    },
}
