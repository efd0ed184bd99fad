"""The parameters of ``url/add`` and ``url/:id/update``, validated into column values.

Each sent field becomes a column value; a field sent as ``null`` (or ``[]``,
``{}``, ``""``) is a request to clear it, which sets the column back to its
default. Fields that need a plan feature are recorded so the handler can
check them all against the caller's plan in one place."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from services.links import targets
from services.links.aliases import validate_custom_alias
from services.links.destinations import normalize_host, validate_image_url, validate_url
from services.links.tags import parse_tags
from shared.dates import utcnow
from shared.envelope import BadRequest, Forbidden
from shared.identity import Principal
from shared.request_body import Body, positive_id

_TYPE_RE: Final = re.compile(r"(direct|frame|splash)|(splash|overlay)-([1-9][0-9]{0,17})")
STATUSES: Final = ("public", "private")
MAX_CLICK_LIMIT: Final = 2**31 - 1
MAX_PASSWORD_LENGTH: Final = 128

# Plan feature flag → what it is called in the 403 message.
FEATURE_LABELS: Final = {
    "alias": "custom aliases",
    "domain": "branded domains",
    "geo": "geo and language targeting",
    "device": "device targeting and deep links",
    "parameters": "URL parameters",
    "pixels": "tracking pixels",
    "splash": "custom splash pages",
    "overlay": "CTA overlays",
    "bundle": "campaigns",
    "custom": "custom meta tags",
}


@dataclass(frozen=True, slots=True)
class DomainRef:
    """A ``domain`` parameter: a branded domain by id or by host; neither = the default domain."""

    id: int | None = None
    host: str | None = None

    @property
    def is_default(self) -> bool:
        return self.id is None and self.host is None


@dataclass(slots=True)
class LinkFields:
    columns: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None
    domain: DomainRef | None = None  # None: not sent
    password: str | None = None
    password_sent: bool = False
    features: set[str] = field(default_factory=set)

    def needs(self, flag: str) -> None:
        self.features.add(flag)


def check_plan(principal: Principal, fields: LinkFields) -> None:
    """403 naming the first feature the caller's plan lacks."""
    for flag in sorted(fields.features):
        if not principal.has_feature(flag):
            raise Forbidden(
                f"Your plan does not include {FEATURE_LABELS[flag]} (the '{flag}' feature)."
            )


def _cleared(body: Body, name: str) -> bool:
    value = body.raw(name)
    return body.has(name) and (value is None or value in ([], {}, ""))


def _parse_type(value: Any) -> tuple[str, str | None]:
    if not isinstance(value, str):
        raise BadRequest("The field 'type' must be a string.")
    text = value.strip().lower()
    match = _TYPE_RE.fullmatch(text)
    if match is None:
        raise BadRequest(
            "The field 'type' must be direct, frame, splash, splash-<id> or overlay-<id>."
        )
    return text, match.group(2)  # the feature a custom page needs: splash / overlay


def _parse_domain(value: Any, default_host: str) -> DomainRef:
    if isinstance(value, bool):
        raise BadRequest("The field 'domain' must be a domain id or URL.")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = positive_id(value)
        if number is None:  # "²" is a digit to isdigit(), not to int()
            raise BadRequest("The field 'domain' must be a domain id or URL.")
        return DomainRef(id=number)
    if not isinstance(value, str) or len(value) > 300:
        raise BadRequest("The field 'domain' must be a domain id or URL.")
    text = value.strip()
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme.lower() not in ("http", "https"):
            raise BadRequest("The field 'domain' must be an http or https URL.")
        text = rest
    host = normalize_host(text.split("/", 1)[0])
    if host is None:
        raise BadRequest("The field 'domain' must be a domain id or URL.")
    if host == default_host:
        return DomainRef()
    return DomainRef(host=host)


def _ids(value: Any, name: str, limit: int = 50) -> list[int]:
    if not isinstance(value, list):
        raise BadRequest(f"The field '{name}' must be an array of ids.")
    if len(value) > limit:
        raise BadRequest(f"The field '{name}' may hold at most {limit} ids.")
    ids: list[int] = []
    for item in value:
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**63:
            raise BadRequest(f"The field '{name}' must be an array of positive integer ids.")
        if item not in ids:
            ids.append(item)
    return ids


def parse_link_fields(body: Body, *, creating: bool, default_host: str) -> LinkFields:
    """Validate every link parameter that was sent; 400 on the first bad one."""
    out = LinkFields()
    cols = out.columns

    def sent(name: str) -> bool:
        return body.has(name)

    # The destination.
    if creating or sent("url"):
        if _cleared(body, "url"):
            raise BadRequest("The field 'url' is required.")
        cols["long_url"] = validate_url(body.raw("url"), "url")

    if sent("custom"):
        if _cleared(body, "custom"):
            if not creating:
                raise BadRequest("A link's alias can be changed but not removed.")
        else:
            out.alias = validate_custom_alias(body.raw("custom"))
            out.needs("alias")

    if sent("domain"):
        out.domain = (
            DomainRef()
            if _cleared(body, "domain")
            else _parse_domain(body.raw("domain"), default_host)
        )
        if not out.domain.is_default:
            out.needs("domain")

    if sent("status"):
        status = "public" if _cleared(body, "status") else body.choice("status", STATUSES)
        if status is None:  # blank after trimming: not a status either
            raise BadRequest(f"The field 'status' must be one of: {', '.join(STATUSES)}.")
        cols["status"] = status

    if sent("type"):
        if _cleared(body, "type"):
            cols["type"] = "direct"
        else:
            cols["type"], feature = _parse_type(body.raw("type"))
            if feature:
                out.needs(feature)

    if sent("password"):
        out.password_sent = True
        if not _cleared(body, "password"):
            out.password = body.text("password", max_length=MAX_PASSWORD_LENGTH, strip=False)

    if sent("expiry"):
        expiry: datetime | None = None if _cleared(body, "expiry") else body.when("expiry")
        if expiry is not None and expiry <= utcnow():
            raise BadRequest("The field 'expiry' must be a date in the future.")
        cols["expires_at"] = expiry

    if sent("clicklimit"):
        cols["click_limit"] = (
            None
            if _cleared(body, "clicklimit") or body.raw("clicklimit") == 0
            else body.integer("clicklimit", min_value=1, max_value=MAX_CLICK_LIMIT)
        )

    _optional(body, out, "expirationredirect", "expiration_redirect", validate_url)

    for name, limit in (("title", 255), ("description", 2000)):
        if sent(name):
            cols[name] = body.text(name, max_length=limit) or None

    for name, column, limit in (
        ("metatitle", "meta_title", 255),
        ("metadescription", "meta_description", 1000),
    ):
        if sent(name):
            cols[column] = body.text(name, max_length=limit) or None
            if cols[column]:
                out.needs("custom")
    _optional(body, out, "metaimage", "meta_image", validate_image_url, feature="custom")

    if sent("pixels"):
        cols["pixel_ids"] = [] if _cleared(body, "pixels") else _ids(body.raw("pixels"), "pixels")
        if cols["pixel_ids"]:
            out.needs("pixels")

    ids: tuple[tuple[str, str, str | None], ...] = (
        ("channel", "channel_id", None),
        ("campaign", "campaign_id", "bundle"),
    )
    for name, column, feature in ids:
        if sent(name):
            cols[column] = (
                None
                if _cleared(body, name)
                else body.integer(name, min_value=1, max_value=2**63 - 1)
            )
            if cols[column] is not None and feature:
                out.needs(feature)

    if sent("tags"):
        cols["tags"] = [] if _cleared(body, "tags") else parse_tags(body.raw("tags"))

    _rules(body, out, "deeplink", targets.parse_deeplink, "device")
    _rules(body, out, "geotarget", targets.parse_geotarget, "geo")
    _rules(body, out, "devicetarget", targets.parse_devicetarget, "device")
    _rules(body, out, "languagetarget", targets.parse_languagetarget, "geo")
    _rules(body, out, "parameters", targets.parse_parameters, "parameters")
    return out


def _optional(
    body: Body,
    out: LinkFields,
    name: str,
    column: str,
    parse: Callable[[Any, str], str],
    *,
    feature: str | None = None,
) -> None:
    if not body.has(name):
        return
    out.columns[column] = None if _cleared(body, name) else parse(body.raw(name), name)
    if out.columns[column] is not None and feature:
        out.needs(feature)


def _rules(
    body: Body, out: LinkFields, name: str, parse: Callable[[Any], Any], feature: str
) -> None:
    if not body.has(name):
        return
    out.columns[name] = None if _cleared(body, name) else parse(body.raw(name))
    if out.columns[name] is not None:
        out.needs(feature)
