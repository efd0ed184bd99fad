"""Which service owns an ``/api`` path (CONTRACTS.md, "Gateway routing").

A prefix ending in ``/`` owns everything below it; one without owns itself and
everything below ``prefix/`` (so ``/api/qr`` owns ``/api/qr/5`` but not
``/api/qrcodes``). The longest matching prefix wins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote

ACCOUNTS: Final = "accounts"
LINKS: Final = "links"
WEBHOOKS: Final = "webhooks"

ROUTES: Final[Mapping[str, str]] = {
    "/api/account": ACCOUNTS,
    "/api/plans": ACCOUNTS,
    "/api/plan/": ACCOUNTS,
    "/api/users": ACCOUNTS,
    "/api/user/": ACCOUNTS,
    "/api/contacts": ACCOUNTS,
    "/api/contact/": ACCOUNTS,
    "/api/team": ACCOUNTS,
    "/api/system/": ACCOUNTS,
    "/api/urls": LINKS,
    "/api/url/": LINKS,
    "/api/domains": LINKS,
    "/api/domain/": LINKS,
    "/api/qr": LINKS,
    "/api/campaigns": LINKS,
    "/api/campaign/": LINKS,
    "/api/channels": LINKS,
    "/api/channel/": LINKS,
    "/api/pixels": LINKS,
    "/api/pixel/": LINKS,
    "/api/splash": LINKS,
    "/api/overlay": LINKS,
    "/api/bio": LINKS,
    "/api/tags": LINKS,
    "/api/webhooks": WEBHOOKS,
    "/api/webhook/": WEBHOOKS,
}

# The add-contact compatibility API: no bearer key, the body authenticates itself.
# Only its documented paths reach the accounts service; any other ``/v1/`` path
# is answered here with the seed's 404 envelope ("the API has no such method"),
# so nothing the client makes up (dot segments, encoded dots) is ever forwarded.
COMPAT_PREFIX: Final = "/v1/"
COMPAT_PATHS: Final = frozenset({"/v1/add-contact/json"})
COMPAT_NOT_FOUND: Final = {
    "response": {"status": {"code": 404, "message": "API istek yapılan yönteme sahip değil"}}
}


class Router:
    def __init__(self, routes: Mapping[str, str] = ROUTES) -> None:
        self._by_length = sorted(routes.items(), key=lambda item: len(item[0]), reverse=True)

    def upstream(self, path: str) -> str | None:
        """The service owning ``path`` (raw, without query), or None."""
        if not _is_clean(path):
            return None
        for prefix, service in self._by_length:
            if path.startswith(prefix) and (
                prefix.endswith("/") or len(path) == len(prefix) or path[len(prefix)] == "/"
            ):
                return service
        return None


def is_compat(path: str) -> bool:
    """Whether ``path`` (raw, without query) is a documented ``/v1/`` compatibility path."""
    return path in COMPAT_PATHS


def _is_clean(path: str) -> bool:
    """No dot segments (raw or percent-encoded): what is routed is what the service serves."""
    if not path.startswith("/"):
        return False
    if "." not in path and "%" not in path:
        return True
    decoded = unquote(path)
    return not any(segment in {".", ".."} for segment in decoded.split("/"))
