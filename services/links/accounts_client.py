"""Calls to the accounts service's internal API (shared/CONTRACTS.md), signed as
the service: references from a links object to an accounts object (an
overlay's contact group) are checked there, like every other foreign reference."""

from __future__ import annotations

import logging
from typing import Final

import aiohttp

from shared import identity
from shared.envelope import ApiError
from shared.settings import Settings

log = logging.getLogger("services.links.accounts")

UNAVAILABLE_MESSAGE: Final = "The accounts service is unavailable right now. Please retry later."
RETRY_AFTER_SECONDS: Final = 5


class AccountsClient:
    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session

    async def owns_group(self, owner_id: int, group_id: int) -> bool:
        """Whether contact group ``group_id`` is ``owner_id``'s; a 503 when accounts
        cannot say (the change that names it is then refused, nothing stored)."""
        path = f"/internal/users/{owner_id}/groups/{group_id}"
        settings = self.settings
        headers = identity.signed_headers(identity.SERVICE, settings.internal_secret, "GET", path)
        timeout = aiohttp.ClientTimeout(
            total=settings.analytics_timeout, sock_connect=settings.upstream_connect_timeout
        )
        try:
            async with self.session.get(
                settings.accounts_url + path, headers=headers, timeout=timeout
            ) as resp:
                if resp.status in (200, 404):
                    return resp.status == 200
                log.warning("accounts answered %s to GET %s", resp.status, path)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("accounts unavailable for GET %s: %s", path, type(exc).__name__)
        raise ApiError(503, UNAVAILABLE_MESSAGE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
