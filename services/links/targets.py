"""Targeting rules of a link, validated into the stored (and snapshot) shape.

Stored forms (``links`` jsonb columns, copied as-is into snapshots):

- ``geotarget``      ``[{"location": "CA", "link": url}]``  ISO 3166-1 alpha-2, upper-case
- ``devicetarget``   ``[{"device": "iPhone", "link": url}]`` one of :data:`DEVICES`
- ``languagetarget`` ``[{"language": "en", "link": url}]``  ISO 639-1, lower-case
- ``parameters``     ``[{"name": "utm_source", "value": "x"}]``
- ``deeplink``       ``{"auto": bool, "apple": url or null, "google": url or null}``

An empty rule list is stored as NULL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from services.links.destinations import validate_url
from shared.countries import country_code
from shared.envelope import BadRequest

MAX_RULES: Final = 100
MAX_PARAMETERS: Final = 50

# The device names the edge matches a visitor's user agent against (canonical spelling).
DEVICES: Final = (
    "iPhone",
    "iPad",
    "iPod",
    "iOS",  # any of the three
    "Android",
    "Windows",
    "Windows Phone",
    "Macintosh",
    "Linux",
    "BlackBerry",
    "Chrome OS",
    "Kindle",
)
_DEVICE_BY_NAME: Final = {d.lower(): d for d in DEVICES} | {
    "mac": "Macintosh",
    "macos": "Macintosh",
    "mac os": "Macintosh",
    "os x": "Macintosh",
    "chromeos": "Chrome OS",
    "windowsphone": "Windows Phone",
}
_LANGUAGE_RE: Final = re.compile(r"[a-z]{2}")
_PARAM_NAME_RE: Final = re.compile(r"[^\x00-\x20\x7f&=#]{1,100}")


def _rules(
    value: Any, field: str, key: str, parse_key: Callable[[Any], str], limit: int = MAX_RULES
) -> list[dict[str, str]] | None:
    if not isinstance(value, list):
        raise BadRequest(f"The field '{field}' must be an array.")
    if len(value) > limit:
        raise BadRequest(f"The field '{field}' may hold at most {limit} items.")
    rules: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f"Each item of '{field}' must be an object with '{key}' and 'link'.")
        if item.get(key) is None or item.get("link") is None:
            raise BadRequest(f"The item '{where}' needs both '{key}' and 'link'.")
        parsed = parse_key(item[key])
        if parsed in seen:
            raise BadRequest(f"The field '{field}' names '{parsed}' more than once.")
        seen.add(parsed)
        rules.append({key: parsed, "link": validate_url(item["link"], f"{where}.link")})
    return rules or None


def _country(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise BadRequest("Each geotarget 'location' must be a country name or ISO code.")
    code = country_code(value.strip())
    if code is None:
        raise BadRequest(f"Unknown country '{value.strip()}' in 'geotarget'.")
    return code


def _device(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest("Each devicetarget 'device' must be a string.")
    device = _DEVICE_BY_NAME.get(" ".join(value.split()).lower())
    if device is None:
        raise BadRequest(
            f"Unknown device '{value.strip()[:50]}' in 'devicetarget'; use one of: "
            + ", ".join(DEVICES)
            + "."
        )
    return device


def _language(value: Any) -> str:
    if not isinstance(value, str) or not _LANGUAGE_RE.fullmatch(value.strip().lower()):
        raise BadRequest("Each languagetarget 'language' must be a 2-letter code such as 'en'.")
    return value.strip().lower()


def parse_geotarget(value: Any) -> list[dict[str, str]] | None:
    return _rules(value, "geotarget", "location", _country)


def parse_devicetarget(value: Any) -> list[dict[str, str]] | None:
    return _rules(value, "devicetarget", "device", _device)


def parse_languagetarget(value: Any) -> list[dict[str, str]] | None:
    return _rules(value, "languagetarget", "language", _language)


def parse_parameters(value: Any) -> list[dict[str, str]] | None:
    if not isinstance(value, list):
        raise BadRequest("The field 'parameters' must be an array.")
    if len(value) > MAX_PARAMETERS:
        raise BadRequest(f"The field 'parameters' may hold at most {MAX_PARAMETERS} items.")
    params: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise BadRequest("Each item of 'parameters' must be an object with 'name' and 'value'.")
        name, raw = item.get("name"), item.get("value", "")
        if not isinstance(name, str) or not _PARAM_NAME_RE.fullmatch(name.strip()):
            raise BadRequest(
                "Each parameter 'name' must be 1 to 100 characters without spaces, '&', '=' or '#'."
            )
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise BadRequest(f"The value of parameter '{name.strip()}' must be a string.")
        text = str(raw)
        if len(text) > 1000 or "\x00" in text:
            raise BadRequest(f"The value of parameter '{name.strip()}' is too long.")
        params.append({"name": name.strip(), "value": text})
    return params or None


def parse_deeplink(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        raise BadRequest("The field 'deeplink' must be an object with 'auto', 'apple', 'google'.")
    auto = value.get("auto", False)
    if auto in (0, 1, "0", "1", "true", "false"):
        auto = auto in (1, "1", "true")
    if not isinstance(auto, bool):
        raise BadRequest("The field 'deeplink.auto' must be a boolean.")
    links: dict[str, str | None] = {}
    for store in ("apple", "google"):
        raw = value.get(store)
        links[store] = None if raw is None or raw == "" else validate_url(raw, f"deeplink.{store}")
    if links["apple"] is None and links["google"] is None:
        if auto:
            raise BadRequest("The field 'deeplink' needs an 'apple' or a 'google' link.")
        return None
    return {"auto": auto, **links}


def rules_as_map(rules: list[dict[str, str]] | None, key: str) -> dict[str, str]:
    """``[{"device": "iPhone", "link": u}]`` → ``{"iPhone": u}`` (the published details shape)."""
    return {rule[key]: rule["link"] for rule in rules or []}
