"""What a QR code carries: the API's ``type`` and ``data`` turned into the exact
string a phone reads back, or a 400 naming the field that is wrong.

Formats, as phone readers (iOS camera, Android/ZXing) parse them:

- text: the string itself; link: the URL itself.
- email: ``mailto:`` per RFC 6068. Everything outside the unreserved set is
  percent-encoded as UTF-8 (always valid there, and it keeps ``+`` from being
  read as a space by form-style decoders); line breaks in the body are sent as
  ``%0D%0A`` as the RFC asks.
- phone: ``tel:`` (RFC 3966) with the visual separators removed: ``+`` and digits.
- sms: ``SMSTO:<number>:<message>``; the message is everything after the
  second colon, so it needs no escaping.
- wifi: ``WIFI:T:<WPA|WEP|nopass>;S:<ssid>;P:<password>;H:true;;`` (the ZXing
  "wifi network config" format), with ``\\ ; , : "`` escaped by a backslash.
- vcard: vCard 3.0 (RFC 2426) with CRLF line ends, text values escaped per
  RFC 2426 §4 / RFC 6350 §3.4 (backslash, comma, semicolon, newline). Long
  lines are not folded: folding is only a SHOULD, and several phone readers
  do not unfold, while every reader copes with a long line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, cast, get_args
from urllib.parse import quote

from services.links.destinations import validate_url
from shared.envelope import BadRequest
from shared.request_body import EMAIL_RE

QrType = Literal["text", "vcard", "link", "email", "phone", "sms", "wifi"]
QR_TYPES: Final[tuple[str, ...]] = get_args(QrType)

MAX_TEXT_LENGTH: Final = 2000
MAX_LINE_LENGTH: Final = 255
MAX_MESSAGE_LENGTH: Final = 1000
MAX_SSID_BYTES: Final = 32  # IEEE 802.11: an SSID is at most 32 octets
MAX_WIFI_PASSWORD_LENGTH: Final = 128
WIFI_ENCRYPTIONS: Final = {"wpa": "WPA", "wep": "WEP", "nopass": "nopass"}

EMAIL_FIELDS: Final = ("email", "subject", "body")
SMS_FIELDS: Final = ("phone", "message")
WIFI_FIELDS: Final = ("ssid", "password", "encryption", "hidden")
VCARD_FIELDS: Final = ("name", "phone", "email", "company", "title", "url", "address", "note")

_CONTROL_RE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE_RE: Final = re.compile(r"[\x00-\x1f\x7f]")
_NEWLINE_RE: Final = re.compile(r"\r\n|\r|\n")
_PHONE_RE: Final = re.compile(r"\+?[0-9 ().\-/]+")
_MIN_PHONE_DIGITS: Final = 3
_MAX_PHONE_DIGITS: Final = 20
_WIFI_SPECIAL_RE: Final = re.compile(r'([\\;,:"])')
CRLF: Final = "\r\n"


def parse_type(value: Any) -> QrType:
    """The ``type`` field of an add request."""
    if value is None or value == "":
        raise BadRequest("The field 'type' is required.")
    if not isinstance(value, str) or value.strip().lower() not in QR_TYPES:
        raise BadRequest(f"The field 'type' must be one of: {', '.join(QR_TYPES)}.")
    return cast(QrType, value.strip().lower())


def build_payload(qr_type: str, data: Any) -> str:
    """The exact string a code of ``qr_type`` with ``data`` must carry."""
    builder = _BUILDERS.get(qr_type)
    if builder is None:
        raise BadRequest(f"The field 'type' must be one of: {', '.join(QR_TYPES)}.")
    return builder(data)


def url_payload(value: Any, field: str = "data") -> str:
    """A plain http(s) URL: a static link code's content, or a dynamic code's
    destination (its image then carries the tracking URL on the edge)."""
    return validate_url(value, field, web_only=True)


def text_payload(value: Any) -> str:
    text = _string(value, "data", max_length=MAX_TEXT_LENGTH, strip=False, multiline=True)
    if not text.strip():
        raise BadRequest("The field 'data' must not be empty.")
    return text


def email_payload(data: Any) -> str:
    fields = _object(data, "email", EMAIL_FIELDS)
    address = _email(fields, "email", required=True)
    subject = _field(fields, "subject", max_length=MAX_LINE_LENGTH)
    body = _field(fields, "body", max_length=MAX_TEXT_LENGTH, multiline=True, strip=False)
    local, _, domain = address.rpartition("@")
    uri = "mailto:" + quote(local, safe="!$'*+") + "@" + domain
    headers = []
    if subject:
        headers.append(f"subject={quote(subject, safe='')}")
    if body.strip():
        headers.append(f"body={quote(_NEWLINE_RE.sub(CRLF, body), safe='')}")
    return uri + ("?" + "&".join(headers) if headers else "")


def phone_payload(value: Any) -> str:
    return "tel:" + _phone(value, "data")


def sms_payload(data: Any) -> str:
    fields = _object(data, "sms", SMS_FIELDS)
    number = _phone(fields.get("phone"), "data.phone")
    message = _field(fields, "message", max_length=MAX_MESSAGE_LENGTH, multiline=True, strip=False)
    return f"SMSTO:{number}:{message}"


def wifi_payload(data: Any) -> str:
    fields = _object(data, "wifi", WIFI_FIELDS)
    # SSIDs and passwords are sent exactly as given: spaces in them are real.
    ssid = _field(fields, "ssid", required=True, max_length=MAX_SSID_BYTES, strip=False)
    if len(ssid.encode("utf-8")) > MAX_SSID_BYTES:
        raise BadRequest(f"The field 'data.ssid' must be at most {MAX_SSID_BYTES} bytes.")
    password = _field(fields, "password", max_length=MAX_WIFI_PASSWORD_LENGTH, strip=False)
    encryption = _encryption(fields.get("encryption"), has_password=bool(password))
    if encryption == "nopass" and password:
        raise BadRequest(
            "The field 'data.password' must be empty when 'data.encryption' is nopass."
        )
    if encryption != "nopass" and not password:
        raise BadRequest(f"The field 'data.password' is required for a {encryption} network.")
    hidden = _boolean(fields.get("hidden"), "data.hidden")
    parts = [f"T:{encryption}", f"S:{_wifi_escape(ssid)}"]
    if encryption != "nopass":
        parts.append(f"P:{_wifi_escape(password)}")
    if hidden:
        parts.append("H:true")
    return "WIFI:" + "".join(part + ";" for part in parts) + ";"


def vcard_payload(data: Any) -> str:
    fields = _object(data, "vcard", VCARD_FIELDS)
    name = _field(fields, "name", required=True, max_length=MAX_LINE_LENGTH, multiline=True)
    phone = _phone(fields["phone"], "data.phone") if _present(fields, "phone") else ""
    email = _email(fields, "email", required=False)
    company = _field(fields, "company", max_length=MAX_LINE_LENGTH, multiline=True)
    title = _field(fields, "title", max_length=MAX_LINE_LENGTH, multiline=True)
    url = url_payload(fields["url"], "data.url") if _present(fields, "url") else ""
    address = _field(fields, "address", max_length=500, multiline=True)
    note = _field(fields, "note", max_length=MAX_TEXT_LENGTH, multiline=True)

    given, _, family = name.rpartition(" ")
    if not given:  # a single word is a given name ("Madonna"), not a family name
        given, family = family, ""
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{_vcard_escape(family.strip())};{_vcard_escape(given.strip())};;;",
        f"FN:{_vcard_escape(name)}",
    ]
    if company:
        lines.append(f"ORG:{_vcard_escape(company)}")
    if title:
        lines.append(f"TITLE:{_vcard_escape(title)}")
    if phone:
        lines.append(f"TEL:{phone}")
    if email:
        lines.append(f"EMAIL;TYPE=INTERNET:{_vcard_escape(email)}")
    if url:
        # A URI value, not text: RFC 2426 escapes only text values, and the
        # validated URL holds no line breaks.
        lines.append(f"URL:{url}")
    if address:
        # Free text, so it goes into the street component of ADR.
        lines.append(f"ADR:;;{_vcard_escape(address)};;;;")
    if note:
        lines.append(f"NOTE:{_vcard_escape(note)}")
    lines.append("END:VCARD")
    return "".join(line + CRLF for line in lines)


def _wifi_escape(value: str) -> str:
    return _WIFI_SPECIAL_RE.sub(r"\\\1", value)


def _vcard_escape(value: str) -> str:
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return _NEWLINE_RE.sub("\\\\n", value)


def _object(data: Any, qr_type: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest(
            f"The field 'data' must be an object for {_a(qr_type)} QR code, "
            f"with the fields {', '.join(allowed)}."
        )
    for key in data:
        if key not in allowed:
            raise BadRequest(
                f"The field 'data.{key}' is not part of {_a(qr_type)} QR code "
                f"(use {', '.join(allowed)})."
            )
    return data


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _present(fields: Mapping[str, Any], key: str) -> bool:
    value = fields.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _field(
    fields: Mapping[str, Any],
    key: str,
    *,
    required: bool = False,
    max_length: int,
    multiline: bool = False,
    strip: bool = True,
) -> str:
    name = f"data.{key}"
    value = fields.get(key)
    if value is None:
        if required:
            raise BadRequest(f"The field '{name}' is required.")
        return ""
    text = _string(value, name, max_length=max_length, strip=strip, multiline=multiline)
    if required and not text.strip():
        raise BadRequest(f"The field '{name}' must not be empty.")
    return text


def _string(raw: Any, name: str, *, max_length: int, strip: bool, multiline: bool) -> str:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise BadRequest(f"The field '{name}' must be a string.")
    value: str = raw.strip() if strip else raw
    if (_CONTROL_RE if multiline else _CONTROL_OR_NEWLINE_RE).search(value):
        what = "control characters" if multiline else "line breaks or control characters"
        raise BadRequest(f"The field '{name}' must not contain {what}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"The field '{name}' is not valid Unicode text.") from exc
    if len(value) > max_length:
        raise BadRequest(f"The field '{name}' must be at most {max_length} characters.")
    return value


def _email(fields: Mapping[str, Any], key: str, *, required: bool) -> str:
    address = _field(fields, key, required=required, max_length=254)
    if address and not EMAIL_RE.match(address):
        raise BadRequest(f"The field 'data.{key}' must be a valid email address.")
    return address


def _phone(value: Any, name: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRequest(f"The field '{name}' is required.")
    raw = _string(value, name, max_length=64, strip=True, multiline=False)
    if not _PHONE_RE.fullmatch(raw):
        raise BadRequest(
            f"The field '{name}' must be a phone number: digits, an optional leading +, "
            "and spaces, dashes, dots or brackets between them."
        )
    digits = re.sub(r"\D", "", raw)
    if not _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS:
        raise BadRequest(
            f"The field '{name}' must have {_MIN_PHONE_DIGITS} to {_MAX_PHONE_DIGITS} digits."
        )
    return ("+" if raw.startswith("+") else "") + digits


def _encryption(value: Any, *, has_password: bool) -> str:
    if value is None or value == "":
        return "WPA" if has_password else "nopass"
    if not isinstance(value, str) or value.strip().lower() not in WIFI_ENCRYPTIONS:
        raise BadRequest("The field 'data.encryption' must be one of: WPA, WEP, nopass.")
    return WIFI_ENCRYPTIONS[value.strip().lower()]


def _boolean(value: Any, name: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"0", "1", "true", "false"}:
        return value.strip().lower() in {"1", "true"}
    raise BadRequest(f"The field '{name}' must be a boolean.")


_BUILDERS: Final[Mapping[str, Callable[[Any], str]]] = {
    "text": text_payload,
    "link": url_payload,
    "email": email_payload,
    "phone": phone_payload,
    "sms": sms_payload,
    "wifi": wifi_payload,
    "vcard": vcard_payload,
}
