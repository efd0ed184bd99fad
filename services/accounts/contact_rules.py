"""The address book's rules, shared by the REST API, the add-contact
compatibility endpoint and overlay submissions.

From the seed: at least one of name, surname, gsm, email is filled; every
group id exists (and is the owner's); every custom field id exists (and is
the owner's). Values are also checked: an email looks like one, a gsm like a
phone number, a number field holds a number and a date field a date.

A broken rule raises :class:`ContactError`; each caller maps its ``kind`` to
its own answer (a JSON 400/404, or the seed's 400/463/472/473)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from services.accounts import queries
from services.accounts.rows import Conn, Row
from shared.dates import format_datetime, parse_datetime
from shared.request_body import EMAIL_RE

Kind = Literal["invalid", "identity", "group", "field"]
TEXT_FIELDS: Final = ("name", "surname", "email", "gsm")
MAX_LENGTH: Final = {"name": 100, "surname": 100, "email": 254, "gsm": 32}
MAX_VALUE_LENGTH: Final = 1000
MAX_ITEMS: Final = 100
FIELD_TYPES: Final = ("text", "number", "date")
_GSM_RE: Final = re.compile(r"\+?[0-9 ()./-]{3,32}")
_DATE_FORMATS: Final = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")

IDENTITY_MESSAGE: Final = "At least one of 'name', 'surname', 'gsm' or 'email' must be filled in."


class ContactError(Exception):
    def __init__(self, kind: Kind, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(message)


def invalid(message: str) -> ContactError:
    return ContactError("invalid", message)


@dataclass(slots=True)
class ContactInput:
    """What a request asks for. Text fields: absent = keep, ``None`` = clear.
    ``groups``: ``None`` = keep, else the new membership. ``fields``: field id →
    value to set, or ``None`` to remove it; fields not named are kept."""

    texts: dict[str, str | None] = field(default_factory=dict)
    groups: list[int] | None = None
    fields: dict[int, str | None] = field(default_factory=dict)


# --- reading values -------------------------------------------------------------


def clean_text(name: str, value: Any) -> str | None:
    """A trimmed, checked value of name/surname/email/gsm; ``None`` when empty."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise invalid(f"The field '{name}' must be a string.")
    text: str = value.strip()
    return _checked_text(name, text) if text else None


def _checked_text(name: str, value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise invalid(f"The field '{name}' must not contain control characters.")
    limit = MAX_LENGTH[name]
    if len(value) > limit:
        raise invalid(f"The field '{name}' must be at most {limit} characters.")
    if name == "email":
        if not EMAIL_RE.match(value):
            raise invalid("The field 'email' must be a valid email address.")
        return value.lower()
    if name == "gsm" and (not _GSM_RE.fullmatch(value) or sum(ch.isdigit() for ch in value) < 3):
        raise invalid("The field 'gsm' must be a phone number (digits, spaces, + - ( ) .).")
    return value


def field_value(value: Any) -> str | None:
    """A custom field's raw value as text; ``None`` (empty, null) means "no value"."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise invalid("A custom field's value must be a string or a number.")
    value = value.strip()
    if len(value) > MAX_VALUE_LENGTH:
        raise invalid(f"A custom field's value must be at most {MAX_VALUE_LENGTH} characters.")
    if "\x00" in value:
        raise invalid("A custom field's value contains a NUL character.")
    return value or None


def _is_date(value: str) -> bool:
    for fmt in _DATE_FORMATS:
        try:
            datetime.strptime(value, fmt)
        except ValueError:
            continue
        return True
    return parse_datetime(value) is not None


def _is_number(value: str) -> bool:
    try:
        number = float(value.replace(",", ".") if value.count(",") == 1 else value)
    except ValueError:
        return False
    return math.isfinite(number)


def check_typed(field_id: int, kind: str, value: str) -> None:
    if kind == "number" and not _is_number(value):
        raise invalid(f"The value of custom field {field_id} must be a number.")
    if kind == "date" and not _is_date(value):
        raise invalid(
            f"The value of custom field {field_id} must be a date (YYYY-MM-DD or DD/MM/YYYY)."
        )


# --- checking and saving -----------------------------------------------------------


async def check_rules(
    conn: Conn,
    owner_id: int,
    contact: ContactInput,
    current: Row | None = None,
) -> None:
    """The seed's rules against the stored state (``current``: the row being updated)."""
    final = {name: (current[name] if current else None) for name in TEXT_FIELDS}
    final.update(contact.texts)
    if not any(final.values()):
        raise ContactError("identity", IDENTITY_MESSAGE)
    if contact.groups:
        owned = {
            r["id"] for r in await conn.fetch(queries.OWNED_GROUP_IDS, owner_id, contact.groups)
        }
        missing = [g for g in contact.groups if g not in owned]
        if missing:
            raise ContactError("group", f"Group {missing[0]} not found.")
    if contact.fields:
        ids = list(contact.fields)
        types = {r["id"]: r["type"] for r in await conn.fetch(queries.OWNED_FIELDS, owner_id, ids)}
        missing = [f for f in ids if f not in types]
        if missing:
            raise ContactError("field", f"Custom field {missing[0]} not found.")
        for field_id, value in contact.fields.items():
            if value is not None:
                check_typed(field_id, types[field_id], value)


async def _write_links(conn: Conn, contact_id: int, contact: ContactInput) -> None:
    if contact.groups is not None:
        await conn.execute(queries.CLEAR_MEMBERSHIPS, contact_id)
        if contact.groups:
            await conn.execute(queries.ADD_MEMBERSHIPS, contact_id, contact.groups)
    to_set = {k: v for k, v in contact.fields.items() if v is not None}
    to_clear = [k for k, v in contact.fields.items() if v is None]
    if to_set:
        await conn.execute(
            queries.SET_FIELD_VALUES, contact_id, list(to_set), list(to_set.values())
        )
    if to_clear:
        await conn.execute(queries.DELETE_FIELD_VALUES, contact_id, to_clear)


async def create_contact(conn: Conn, owner_id: int, contact: ContactInput) -> int:
    """Check the rules and store one contact; call inside a transaction."""
    await check_rules(conn, owner_id, contact)
    values = [contact.texts.get(name) for name in TEXT_FIELDS]
    contact_id: int = await conn.fetchval(queries.INSERT_CONTACT, owner_id, *values)
    await _write_links(conn, contact_id, contact)
    return contact_id


async def update_contact(conn: Conn, owner_id: int, contact_id: int, contact: ContactInput) -> bool:
    """Apply a partial change; ``False`` when the owner has no such contact."""
    current = await conn.fetchrow(queries.LOCK_CONTACT, contact_id, owner_id)
    if current is None:
        return False
    await check_rules(conn, owner_id, contact, current)
    values = [contact.texts.get(name, current[name]) for name in TEXT_FIELDS]
    await conn.execute(queries.UPDATE_CONTACT, contact_id, owner_id, *values)
    await _write_links(conn, contact_id, contact)
    return True


def contact_json(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "surname": row["surname"],
        "email": row["email"],
        "gsm": row["gsm"],
        "groups": list(row["group_ids"]),
        "custom_fields": list(row["field_values"]),
        "date": format_datetime(row["created_at"]),
        "updated": format_datetime(row["updated_at"]),
    }
