"""Short-link aliases: what a custom one may be, and how generated ones are made."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any, Final

from shared.envelope import BadRequest

ALIAS_RE: Final = re.compile(r"[A-Za-z0-9_-]{3,64}")
GENERATED_LENGTH: Final = 7  # 62**7 ≈ 3.5e12: unguessable enough to scan, short enough to type
_ALPHABET: Final = string.ascii_letters + string.digits

# Paths the edge (or a future page) serves itself, and words that would look
# like part of the product. Compared case-insensitively.
RESERVED: Final = frozenset(
    {
        "api", "qr", "r", "u", "user", "users", "health", "ready", "metrics", "static",
        "docs", "doc", "admin", "login", "logout", "register", "signup", "signin", "sso",
        "auth", "oauth", "account", "accounts", "dashboard", "settings", "assets", "media",
        "public", "robots", "sitemap", "favicon", "well-known", "www", "mail", "help",
        "support", "about", "terms", "privacy", "contact", "contacts", "page", "pages",
        "blog", "bio", "links", "link", "url", "urls", "domain", "domains", "pixel",
        "pixels", "splash", "overlay", "overlays", "campaign", "campaigns", "channel",
        "channels", "plan", "plans", "pricing", "stats", "analytics", "password",
        "expired", "notfound", "404", "410", "500", "openapi", "v1", "v2", "v3",
    }
)  # fmt: skip


def is_reserved(alias: str) -> bool:
    return alias.lower() in RESERVED


def validate_custom_alias(value: Any, field: str = "custom") -> str:
    """A custom alias as sent by a user; 400 with the rule it breaks."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise BadRequest(f"The field '{field}' must be a string.")
    alias = value.strip()
    if is_reserved(alias):
        raise BadRequest(f"The alias '{alias}' is reserved. Please choose another one.")
    if not ALIAS_RE.fullmatch(alias):
        raise BadRequest(
            f"The field '{field}' must be 3 to 64 characters: letters, digits, '-' or '_'."
        )
    return alias


def generate_alias(length: int = GENERATED_LENGTH) -> str:
    """A random alias from a CSPRNG: no sequence to walk, nothing to guess."""
    while True:
        alias = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if not is_reserved(alias):
            return alias
