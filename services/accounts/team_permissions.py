"""What a team member may do in the owner's workspace.

The gateway maps every route to one of these (``gateway/permissions.py``);
the accounts service only stores and validates them."""

from __future__ import annotations

from typing import Final

from shared.envelope import BadRequest
from shared.request_body import Body

# In the order they are shown.
PERMISSIONS: Final = ("analytics", "links", "assets", "team")
# Shorthands for the usual sets.
ROLES: Final[dict[str, tuple[str, ...]]] = {
    "viewer": ("analytics",),
    "editor": ("analytics", "links"),
    "manager": PERMISSIONS,
}


def read_permissions(body: Body, *, required: bool) -> list[str] | None:
    """``permissions`` (a list of names) or ``role`` (a shorthand); one is required
    when ``required``. Returned in :data:`PERMISSIONS` order, without duplicates."""
    role = body.choice("role", ROLES)
    raw = body.array("permissions", max_items=len(PERMISSIONS) * 2)
    if role is not None and raw is not None:
        raise BadRequest("Send either 'permissions' or 'role', not both.")
    if role is not None:
        return list(ROLES[role])
    if raw is None:
        if required:
            raise BadRequest(
                "The field 'permissions' is required: a list of "
                f"{', '.join(PERMISSIONS)} (or 'role': {', '.join(ROLES)})."
            )
        return None
    names = set()
    for item in raw:
        if not isinstance(item, str) or item.strip().lower() not in PERMISSIONS:
            raise BadRequest(f"Each permission must be one of: {', '.join(PERMISSIONS)}.")
        names.add(item.strip().lower())
    if not names:
        raise BadRequest("The field 'permissions' must name at least one permission.")
    return [name for name in PERMISSIONS if name in names]
