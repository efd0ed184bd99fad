"""Figures a test measured (cases run, clicks counted, seconds taken), printed in
one section at the end of the pytest run (tests/conftest.py), so they show in
``make test`` output without ``-s``."""

from __future__ import annotations

from typing import Final

import pytest

FIGURES: Final = pytest.StashKey[list[str]]()


def report_figure(config: pytest.Config, text: str) -> None:
    config.stash.setdefault(FIGURES, []).append(text)


def figures(config: pytest.Config) -> list[str]:
    return config.stash.get(FIGURES, [])
