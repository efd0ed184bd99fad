"""Country codes and English names, both ways."""

from __future__ import annotations

import re

import pytest

from shared.countries import ALIASES, COUNTRIES, UNKNOWN, country_code, country_name


def test_every_assigned_code_is_present() -> None:
    assert len(COUNTRIES) >= 249
    assert "XK" in COUNTRIES


def test_codes_are_two_upper_case_letters() -> None:
    for code in COUNTRIES:
        assert re.fullmatch(r"[A-Z]{2}", code), code


def test_names_are_unique() -> None:
    names = [name.lower() for name in COUNTRIES.values()]
    assert len(names) == len(set(names))


def test_round_trip() -> None:
    for code in COUNTRIES:
        assert country_code(country_name(code)) == code


def test_aliases_are_normalised_and_point_at_known_codes() -> None:
    names = {name.lower(): code for code, name in COUNTRIES.items()}
    for alias, code in ALIASES.items():
        assert alias == " ".join(alias.split()).lower(), alias
        assert code in COUNTRIES, alias
        assert names.get(alias, code) == code, alias


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Canada", "CA"),
        ("ca", "CA"),
        ("CA", "CA"),
        ("  united   states ", "US"),
        ("United States of America", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Türkiye", "TR"),
        ("Côte d'Ivoire", "CI"),
        ("Democratic Republic of the Congo", "CD"),
        ("Macau", "MO"),
        ("Kosovo", "XK"),
    ],
)
def test_country_code(value: str, expected: str) -> None:
    assert country_code(value) == expected


@pytest.mark.parametrize("value", ["Atlantis", "", "   ", "ZZ", "U S"])
def test_country_code_unknown(value: str) -> None:
    assert country_code(value) is None


def test_country_name() -> None:
    assert country_name("de") == "Germany"
    assert country_name("GB") == "United Kingdom"
    assert country_name(None) == UNKNOWN == "Unknown"
    assert country_name("") == "Unknown"
    assert country_name("ZZ") == "Unknown"
