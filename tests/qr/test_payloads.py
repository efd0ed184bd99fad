"""Every QR type: the exact string it carries, read back from the rendered
image the way a phone reads it, and the 400s for bad data."""

from __future__ import annotations

from typing import Any

import pytest

from services.links.qr.colors import DEFAULT_BACKGROUND, DEFAULT_FOREGROUND
from services.links.qr.payloads import build_payload, parse_type, url_payload
from services.links.qr.render import ensure_fits, render_png
from shared.envelope import BadRequest
from tests.qr import images
from tests.qr.scan import (
    assert_carries,
    parse_mailto,
    parse_vcard,
    parse_wifi,
    vcard_components,
    vcard_text,
)

LOGO = images.logo()

HOSTILE_SSID = 'My;Net,"5G":\\'
HOSTILE_PASSWORD = 'p@ss;w,rd:"\\x'
HOSTILE_VCARD: dict[str, Any] = {
    "name": 'Ada; "Countess", \\ Lovelace',
    "phone": "+44 (20) 7946-0958",
    "email": "ada.lovelace+qr@example.org",
    "company": "Analytical Engines; Babbage, & Co.",
    "title": "Mathematician: first programmer",
    "url": "https://example.org/ada?a=1,2;b=3",
    "address": "12 St James's Sq.\nLondon, SW1Y; UK",
    "note": "Line 1\r\nLine 2 \\n is no newline\rLine 3 — 東京 🚀",
}

CASES: list[tuple[str, Any, str]] = [
    ("text", "Grüße, 東京 🚀", "Grüße, 東京 🚀"),
    ("text", "  two\nlines\tand spaces  ", "  two\nlines\tand spaces  "),
    ("link", " https://example.com/päth?q=1&x=y#top ", "https://example.com/päth?q=1&x=y#top"),
    (
        "email",
        {
            "email": "ada@example.com",
            "subject": "Hi & welcome?",
            "body": "Line 1\nLine 2 + 50% = ok",
        },
        "mailto:ada@example.com?subject=Hi%20%26%20welcome%3F"
        "&body=Line%201%0D%0ALine%202%20%2B%2050%25%20%3D%20ok",
    ),
    (
        "email",
        {"email": "jörg+news@example.de", "subject": "Grüße 東京"},
        "mailto:j%C3%B6rg+news@example.de?subject=Gr%C3%BC%C3%9Fe%20%E6%9D%B1%E4%BA%AC",
    ),
    ("email", {"email": "a@b.co"}, "mailto:a@b.co"),
    ("phone", "+1 (555) 123-4567", "tel:+15551234567"),
    ("phone", 5551234, "tel:5551234"),
    (
        "sms",
        {"phone": "+44 20 7946 0958", "message": 'Reply: YES; or NO, "maybe"\nthanks 🙂'},
        'SMSTO:+442079460958:Reply: YES; or NO, "maybe"\nthanks 🙂',
    ),
    ("sms", {"phone": "112"}, "SMSTO:112:"),
    (
        "wifi",
        {
            "ssid": HOSTILE_SSID,
            "password": HOSTILE_PASSWORD,
            "encryption": "wpa",
            "hidden": True,
        },
        'WIFI:T:WPA;S:My\\;Net\\,\\"5G\\"\\:\\\\;P:p@ss\\;w\\,rd\\:\\"\\\\x;H:true;;',
    ),
    ("wifi", {"ssid": "Café Gäste"}, "WIFI:T:nopass;S:Café Gäste;;"),
    (
        "wifi",
        {"ssid": "old", "password": "12345", "encryption": "WEP", "hidden": "false"},
        "WIFI:T:WEP;S:old;P:12345;;",
    ),
    ("wifi", {"ssid": " home ", "password": " pw "}, "WIFI:T:WPA;S: home ;P: pw ;;"),
    (
        "vcard",
        HOSTILE_VCARD,
        "BEGIN:VCARD\r\n"
        "VERSION:3.0\r\n"
        'N:Lovelace;Ada\\; "Countess"\\, \\\\;;;\r\n'
        'FN:Ada\\; "Countess"\\, \\\\ Lovelace\r\n'
        "ORG:Analytical Engines\\; Babbage\\, & Co.\r\n"
        "TITLE:Mathematician: first programmer\r\n"
        "TEL:+442079460958\r\n"
        "EMAIL;TYPE=INTERNET:ada.lovelace+qr@example.org\r\n"
        "URL:https://example.org/ada?a=1,2;b=3\r\n"
        "ADR:;;12 St James's Sq.\\nLondon\\, SW1Y\\; UK;;;;\r\n"
        "NOTE:Line 1\\nLine 2 \\\\n is no newline\\nLine 3 — 東京 🚀\r\n"
        "END:VCARD\r\n",
    ),
    (
        "vcard",
        {"name": "Madonna"},
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:;Madonna;;;\r\nFN:Madonna\r\nEND:VCARD\r\n",
    ),
]


@pytest.mark.parametrize(("qr_type", "data", "expected"), CASES)
@pytest.mark.parametrize("with_logo", [False, True], ids=["plain", "logo"])
def test_every_type_decodes_back_to_exactly_its_payload(
    qr_type: str, data: Any, expected: str, with_logo: bool
) -> None:
    payload = build_payload(qr_type, data)
    assert payload == expected
    image = render_png(
        payload,
        size=500,
        fg=DEFAULT_FOREGROUND,
        bg=DEFAULT_BACKGROUND,
        logo=LOGO if with_logo else None,
    )
    barcode = assert_carries(image, expected)
    assert barcode.ec_level == ("H" if with_logo else "M")


def test_a_phone_reads_the_hostile_wifi_fields_back_unchanged() -> None:
    payload = build_payload(
        "wifi", {"ssid": HOSTILE_SSID, "password": HOSTILE_PASSWORD, "hidden": True}
    )
    assert parse_wifi(payload) == {
        "T": "WPA",
        "S": HOSTILE_SSID,
        "P": HOSTILE_PASSWORD,
        "H": "true",
    }


def test_a_phone_reads_the_hostile_vcard_fields_back_unchanged() -> None:
    props = parse_vcard(build_payload("vcard", HOSTILE_VCARD))
    assert props["VERSION"] == "3.0"
    assert vcard_text(props["FN"]) == HOSTILE_VCARD["name"]
    assert vcard_components(props["N"]) == ["Lovelace", 'Ada; "Countess", \\', "", "", ""]
    assert vcard_components(props["ORG"]) == [HOSTILE_VCARD["company"]]
    assert vcard_text(props["TITLE"]) == HOSTILE_VCARD["title"]
    assert props["TEL"] == "+442079460958"
    assert vcard_text(props["EMAIL"]) == HOSTILE_VCARD["email"]
    assert props["URL"] == HOSTILE_VCARD["url"]
    assert vcard_components(props["ADR"]) == ["", "", HOSTILE_VCARD["address"], "", "", "", ""]
    assert vcard_text(props["NOTE"]) == "Line 1\nLine 2 \\n is no newline\nLine 3 — 東京 🚀"


def test_a_mail_client_reads_the_email_fields_back_unchanged() -> None:
    data = {
        "email": "ada@example.com",
        "subject": "Q3 & Q4: 50% + more? #1 = ok",
        "body": "Hi,\nsee https://x.test/?a=1&b=2\n— Ada",
    }
    address, headers = parse_mailto(build_payload("email", data))
    assert address == "ada@example.com"
    assert headers == {"subject": data["subject"], "body": data["body"].replace("\n", "\r\n")}


def test_url_payload_is_the_plain_url_for_dynamic_codes() -> None:
    tracking = "http://localhost:8080/qr/a58f79"
    assert url_payload(tracking) == tracking
    assert_carries(
        render_png(tracking, size=300, fg=DEFAULT_FOREGROUND, bg=DEFAULT_BACKGROUND), tracking
    )
    with pytest.raises(BadRequest, match="'data'"):
        url_payload("mailto:someone@example.com")


@pytest.mark.parametrize(
    ("value", "expected"), [("text", "text"), (" VCard ", "vcard"), ("wifi", "wifi")]
)
def test_type_is_read_case_insensitively(value: str, expected: str) -> None:
    assert parse_type(value) == expected


@pytest.mark.parametrize("value", [None, "", "fax", 3, ["text"]])
def test_an_unknown_type_is_a_400_naming_the_field(value: Any) -> None:
    with pytest.raises(BadRequest, match="'type'") as info:
        parse_type(value)
    assert info.value.status == 400


BAD_DATA: list[tuple[str, Any, str]] = [
    ("text", "", "'data' must not be empty"),
    ("text", "   ", "'data' must not be empty"),
    ("text", None, "'data' must be a string"),
    ("text", ["a"], "'data' must be a string"),
    ("text", "x" * 2001, "'data' must be at most 2000 characters"),
    ("text", "bell\x07", "'data' must not contain control characters"),
    ("text", "\ud800", "'data' is not valid Unicode"),
    ("link", "ftp://example.com/file", "'data' must be an http or https URL"),
    ("link", "javascript:alert(1)", "'data' may not use the 'javascript:' scheme"),
    ("link", "https://exa mple.com", "'data' must not contain spaces"),
    ("link", "example.com", "'data' must be a full URL"),
    ("email", "ada@example.com", "'data' must be an object for an email QR code"),
    ("email", {}, "'data.email' is required"),
    ("email", {"email": "not-an-address"}, "'data.email' must be a valid email address"),
    ("email", {"email": "a@b.co", "subject": "two\nlines"}, "'data.subject' must not contain"),
    ("email", {"email": "a@b.co", "cc": "b@b.co"}, "'data.cc' is not part of an email QR code"),
    ("email", {"email": "a@b.co", "body": {"x": 1}}, "'data.body' must be a string"),
    ("phone", "call me", "'data' must be a phone number"),
    ("phone", "+1+2+3", "'data' must be a phone number"),
    ("phone", "12", "'data' must have 3 to 20 digits"),
    ("phone", "", "'data' is required"),
    ("phone", "555\n1234", "'data' must not contain line breaks"),
    ("sms", {"message": "hi"}, "'data.phone' is required"),
    ("sms", {"phone": "555-1234", "message": "x" * 1001}, "'data.message' must be at most"),
    ("sms", "555-1234", "'data' must be an object for a sms QR code"),
    ("wifi", {"password": "secret"}, "'data.ssid' is required"),
    ("wifi", {"ssid": ""}, "'data.ssid' must not be empty"),
    ("wifi", {"ssid": "é" * 17}, "'data.ssid' must be at most 32 bytes"),
    ("wifi", {"ssid": "net\nwork"}, "'data.ssid' must not contain line breaks"),
    (
        "wifi",
        {"ssid": "a", "password": "x", "encryption": "WPA2"},
        "'data.encryption' must be one of: WPA, WEP, nopass",
    ),
    ("wifi", {"ssid": "a", "encryption": "WPA"}, "'data.password' is required for a WPA network"),
    (
        "wifi",
        {"ssid": "a", "password": "x", "encryption": "nopass"},
        "'data.password' must be empty when 'data.encryption' is nopass",
    ),
    ("wifi", {"ssid": "a", "hidden": "maybe"}, "'data.hidden' must be a boolean"),
    ("wifi", {"ssid": "a", "psk": "x"}, "'data.psk' is not part of a wifi QR code"),
    ("vcard", {}, "'data.name' is required"),
    ("vcard", {"name": "  "}, "'data.name' must not be empty"),
    ("vcard", {"name": "A", "email": "nope"}, "'data.email' must be a valid email address"),
    ("vcard", {"name": "A", "url": "javascript:alert(1)"}, "'data.url' may not use"),
    ("vcard", {"name": "A", "phone": "ext. 5"}, "'data.phone' must be a phone number"),
    ("vcard", {"name": "A", "nickname": "B"}, "'data.nickname' is not part of a vcard QR code"),
    ("vcard", {"name": "A\x00B"}, "'data.name' must not contain control characters"),
    ("vcard", "Ada Lovelace", "'data' must be an object for a vcard QR code"),
    ("fax", "123", "'type' must be one of"),
]


@pytest.mark.parametrize(("qr_type", "data", "message"), BAD_DATA)
def test_bad_data_is_a_400_naming_the_field(qr_type: str, data: Any, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        build_payload(qr_type, data)
    assert info.value.status == 400
    assert message in info.value.message


def test_data_that_no_qr_code_can_hold_is_a_400() -> None:
    # 2000 characters is the API limit, but 2000 CJK characters are 6000 UTF-8
    # bytes: more than the 2331 a version 40-M symbol holds.
    payload = build_payload("text", "東" * 2000)
    with pytest.raises(BadRequest, match="too long to fit in a QR code"):
        ensure_fits(payload, with_logo=False)
    # 2000 ASCII characters fit at level M, but not at H (1273 bytes), which a logo needs.
    ascii_payload = build_payload("text", "a" * 2000)
    ensure_fits(ascii_payload, with_logo=False)
    with pytest.raises(BadRequest, match="too long for a QR code with a logo"):
        ensure_fits(ascii_payload, with_logo=True)
