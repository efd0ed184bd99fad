"""Rows of a MySQL dump's ``INSERT`` statements (as ``mysqldump`` writes them:
extended inserts, backslash escapes), read a statement at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

_INSERT: Final = re.compile(
    r"INSERT\s+(?:IGNORE\s+)?INTO\s+`?(\w+)`?\s*(\(([^)]*)\))?\s*VALUES\s*", re.IGNORECASE
)
_ESCAPES: Final = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "b": "\b"}
# YOURLS's yourls_url table, for dumps written without column names.
YOURLS_COLUMNS: Final = ("keyword", "url", "title", "timestamp", "ip", "clicks")


def statements(path: Path) -> Iterator[str]:
    """Each statement of the dump (``;`` outside quotes ends one)."""
    pending: list[str] = []
    quoted = escaped = False
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not pending and not quoted and line.lstrip().startswith(("--", "/*", "#")):
                continue
            start = 0
            for i, ch in enumerate(line):
                if escaped:
                    escaped = False
                elif ch == "\\" and quoted:
                    escaped = True
                elif ch == "'":
                    quoted = not quoted
                elif ch == ";" and not quoted:
                    pending.append(line[start:i])
                    yield "".join(pending)
                    pending, start = [], i + 1
            pending.append(line[start:])
    tail = "".join(pending).strip()
    if tail:
        yield tail


def _values(text: str) -> Iterator[list[Any]]:
    """The tuples of ``(..), (..)``: strings unescaped, NULL as None, numbers as text."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] != "(":
            i += 1
        if i >= n:
            return
        i += 1
        row: list[Any] = []
        while i < n:
            while text[i] in " \t\r\n":
                i += 1
            if text[i] == "'":
                i += 1
                out: list[str] = []
                while True:
                    ch = text[i]
                    if ch == "\\":
                        out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                        i += 2
                    elif ch == "'" and i + 1 < n and text[i + 1] == "'":
                        out.append("'")
                        i += 2
                    elif ch == "'":
                        i += 1
                        break
                    else:
                        out.append(ch)
                        i += 1
                row.append("".join(out))
            else:
                j = i
                while text[j] not in ",)":
                    j += 1
                word = text[i:j].strip()
                row.append(None if word.upper() == "NULL" else word)
                i = j
            while text[i] in " \t\r\n":
                i += 1
            if text[i] == ",":
                i += 1
                continue
            i += 1  # ")"
            break
        yield row


def insert_rows(path: Path, *, table_suffix: str) -> Iterator[dict[str, Any]]:
    """Rows inserted into a table whose name ends with ``table_suffix`` (any prefix)."""
    for statement in statements(path):
        match = _INSERT.search(statement)
        if match is None or not match.group(1).endswith(table_suffix):
            continue
        columns = (
            [c.strip().strip("`") for c in match.group(3).split(",")]
            if match.group(3)
            else list(YOURLS_COLUMNS)
        )
        for values in _values(statement[match.end() :]):
            yield dict(zip(columns, values, strict=False))
