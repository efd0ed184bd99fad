"""What a team member may call in an owner's workspace (``X-Workspace``).

One table, read top to bottom; the first rule whose method set and path pattern
match names the permissions any one of which allows the request. A path no rule
names is not available in a workspace (accounts, users, plans: the member's own
or the administrators' business). The services never see the difference: they
get the owner as the signed identity, the member as its ``actor_id``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

READ: Final = frozenset({"GET", "HEAD", "OPTIONS"})
ANY: Final = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
WRITE: Final = ANY - READ

# Published names (services/accounts/team_permissions.py) and what they read as.
LABELS: Final = {
    "analytics": "view analytics",
    "links": "manage links and QR codes",
    "assets": "manage domains, pixels and pages",
    "team": "manage the team",
}


@dataclass(frozen=True, slots=True)
class Rule:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    permissions: tuple[str, ...]  # any one of them allows the request


def _rule(methods: frozenset[str], pattern: str, *permissions: str) -> Rule:
    return Rule(methods, re.compile(pattern), permissions)


_LINKISH: Final = r"/api/(urls|url|qr|tags|campaigns?|channels?)"
_ASSETS: Final = r"/api/(domains?|pixels?|splash|overlay|bio|contacts?|webhooks?)"

RULES: Final[tuple[Rule, ...]] = (
    # statistics and raw clicks, of one link or of the whole workspace
    _rule(READ, r"/api/url/\d+/(stats|clicks)(/.*)?", "analytics"),
    _rule(READ, r"/api/urls/(stats|clicks)(/.*)?", "analytics"),
    _rule(READ, r"/api/(qr|bio)/\d+/stats(/.*)?", "analytics"),
    # links, QR codes, tags, campaigns and channels: analytics viewers may read them
    _rule(READ, _LINKISH + r"(/.*)?", "links", "analytics"),
    _rule(WRITE, _LINKISH + r"(/.*)?", "links"),
    # branded domains, pixels, splash and overlay pages, bio pages, contacts, webhooks
    _rule(ANY, _ASSETS + r"(/.*)?", "assets"),
    # the team itself (accepting an invitation is done as oneself, not in a workspace)
    _rule(ANY, r"/api/team(/(?!accept|workspaces)(.*))?", "team"),
)

NOT_IN_WORKSPACE: Final = (
    "This endpoint is not available in a team workspace: call it without X-Workspace."
)


def refusal(method: str, path: str, granted: tuple[str, ...]) -> str | None:
    """Why a member holding ``granted`` may not make this request, or None if they may."""
    for rule in RULES:
        if method in rule.methods and rule.pattern.fullmatch(path):
            if any(p in granted for p in rule.permissions):
                return None
            needed = " or ".join(f"the '{p}' ({LABELS[p]})" for p in rule.permissions)
            return f"Your role in this workspace does not allow this: it needs {needed} permission."
    return NOT_IN_WORKSPACE
