"""The JSON envelope of every ``/api`` answer and the middleware that makes
sure a failure is always ``{"error": 1, "message": ...}`` with a meaningful
status — never a traceback, never an HTML page."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger("shared.envelope")

JSON_CONTENT_TYPE = "application/json"

_STATUS_MESSAGES = {
    400: "Bad request.",
    401: "Unauthorized.",
    403: "Forbidden.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    413: "Request body too large.",
    429: "Too Many Requests. Please retry later.",
    500: "Internal server error.",
    502: "Bad gateway: an upstream service failed.",
    503: "Service unavailable. Please retry later.",
    504: "Gateway timeout: an upstream service did not answer in time.",
}


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=dumps(data), status=status, content_type=JSON_CONTENT_TYPE, headers=headers
    )


def ok(**fields: Any) -> web.Response:
    """A success body: ``{"error": 0, **fields}``."""
    return json_response({"error": 0, **fields})


def error_body(message: str) -> dict[str, Any]:
    return {"error": 1, "message": message}


def error_response(
    status: int, message: str | None = None, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    text = message or _STATUS_MESSAGES.get(status, "Error.")
    return json_response(error_body(text), status=status, headers=headers)


class ApiError(Exception):
    """Raised anywhere in a handler to answer with the error envelope."""

    def __init__(
        self, status: int, message: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        self.status = status
        self.message = message or _STATUS_MESSAGES.get(status, "Error.")
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.message}")

    def response(self) -> web.Response:
        return error_response(self.status, self.message, headers=self.headers)


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class NotFound(ApiError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(404, message)


class Forbidden(ApiError):
    def __init__(self, message: str = "You do not have permission to do this.") -> None:
        super().__init__(403, message)


class Conflict(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects are answers, not errors
        if exc.status == 413:
            return error_response(413, "Request body too large.")
        message = _STATUS_MESSAGES.get(exc.status, exc.reason)
        if exc.status == 404:
            message = "No such endpoint."
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, message, headers=headers)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500)
