"""Reading and validating JSON request bodies.

``await read_body(request)`` returns a :class:`Body`, whose typed accessors turn
wrong input into a 400 with a message naming the field, so handlers never see
a value of the wrong type — nor one Postgres would refuse: no string anywhere
in a body may hold a NUL character, and every integer fits the column it is
meant for (``bigint`` unless the caller says ``INT_MAX``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import orjson
from aiohttp import web

from shared.dates import parse_datetime
from shared.envelope import ApiError, BadRequest

EMAIL_RE: Final = re.compile(
    r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_MISSING: Final = object()
# The ranges of Postgres's integer (serial) and bigint (bigserial) columns.
INT_MAX: Final = 2**31 - 1
BIGINT_MIN: Final = -(2**63)
BIGINT_MAX: Final = 2**63 - 1
_DIGITS_RE: Final = re.compile(r"[0-9]{1,19}")
_INTEGER_RE: Final = re.compile(r"-?[0-9]{1,19}")


async def read_body(request: web.Request, *, allow_empty: bool = True) -> Body:
    """Parse the request body as a JSON object.

    An empty body is an empty object (the published examples send GET-like
    requests with no body); anything that is not a JSON object is a 400."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "Request body too large.") from exc
    if not raw.strip():
        if allow_empty:
            return Body({})
        raise BadRequest("A JSON body is required.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("Malformed JSON body.") from exc
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    if b"\\u0000" in raw:  # the only way JSON can carry a NUL; then find where
        where = nul_field(data)
        if where is not None:
            raise BadRequest(f"The field '{where}' contains a NUL character.")
    return Body(data)


def nul_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding a NUL character (Postgres
    refuses them in text and jsonb), else ``None``."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return inner.replace("\x00", "\\0")
            found = nul_field(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_field(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def positive_id(value: Any, maximum: int = BIGINT_MAX) -> int | None:
    """A positive integer id (a JSON number, or a string of ASCII digits) up to
    ``maximum`` (``INT_MAX`` for a serial column), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DIGITS_RE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 < value <= maximum:
        return value
    return None


class Body:
    """Typed, validating access to the fields of a JSON object."""

    __slots__ = ("data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return name in self.data

    def is_null(self, name: str) -> bool:
        """True when the field was sent as ``null`` (or an empty list): a request to clear it."""
        return name in self.data and (self.data[name] is None or self.data[name] == [])

    def raw(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise BadRequest(f"The field '{name}' is required.")
            return _MISSING
        return value

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int = 255,
        min_length: int = 0,
        strip: bool = True,
        allow_empty: bool = True,
    ) -> str | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise BadRequest(f"The field '{name}' must be a string.")
        if strip:
            value = value.strip()
        if "\x00" in value:
            raise BadRequest(f"The field '{name}' contains a NUL character.")
        if not value and (required or not allow_empty):
            raise BadRequest(f"The field '{name}' must not be empty.")
        if len(value) > max_length:
            raise BadRequest(f"The field '{name}' must be at most {max_length} characters.")
        if value and len(value) < min_length:
            raise BadRequest(f"The field '{name}' must be at least {min_length} characters.")
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        min_value: int = BIGINT_MIN,
        max_value: int = BIGINT_MAX,
    ) -> int | None:
        """An integer within ``min_value``..``max_value`` (by default, what a bigint holds)."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool):
            raise BadRequest(f"The field '{name}' must be an integer.")
        if isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 1e30 too: the range check below refuses it
        if not isinstance(value, int):
            raise BadRequest(f"The field '{name}' must be an integer.")
        if value < min_value:
            raise BadRequest(f"The field '{name}' must be at least {min_value}.")
        if value > max_value:
            raise BadRequest(f"The field '{name}' must be at most {max_value}.")
        return value

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in {"0", "1", "true", "false"}:
            return value.strip().lower() in {"1", "true"}
        raise BadRequest(f"The field '{name}' must be a boolean.")

    def choice(self, name: str, choices: Iterable[str], *, required: bool = False) -> str | None:
        options = tuple(choices)
        value = self.text(name, required=required, max_length=64)
        if value is None or value == "":
            if required:
                raise BadRequest(f"The field '{name}' is required.")
            return None
        if value not in options:
            raise BadRequest(f"The field '{name}' must be one of: {', '.join(options)}.")
        return value

    def email(self, name: str, *, required: bool = False) -> str | None:
        value = self.text(name, required=required, max_length=254)
        if value is None or value == "":
            return None
        if not EMAIL_RE.match(value):
            raise BadRequest(f"The field '{name}' must be a valid email address.")
        return value.lower()

    def when(self, name: str, *, required: bool = False) -> datetime | None:
        value = self.text(name, required=required, max_length=32)
        if not value:
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            raise BadRequest(f"The field '{name}' must be a date as YYYY-MM-DD HH:MM:SS.")
        return parsed

    def array(self, name: str, *, required: bool = False, max_items: int = 100) -> list[Any] | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            raise BadRequest(f"The field '{name}' must be an array.")
        if len(value) > max_items:
            raise BadRequest(f"The field '{name}' may hold at most {max_items} items.")
        return value

    def mapping(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            raise BadRequest(f"The field '{name}' must be an object.")
        return value


def path_id(request: web.Request, name: str = "id", maximum: int = BIGINT_MAX) -> int:
    """A positive integer id from the URL, up to ``maximum`` (``INT_MAX`` for a serial
    column); anything else is a 404 (no such object could exist)."""
    found = positive_id(request.match_info.get(name, ""), maximum)
    if found is None:
        raise ApiError(404, "Not found.")
    return found
