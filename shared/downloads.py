"""Streamed downloads (CSV and JSON lines) written a chunk at a time, so that
an export of any size holds one chunk in memory, never the whole file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Final

import orjson
from aiohttp import web

CSV_TYPE: Final = "text/csv"
JSONL_TYPE: Final = "application/x-ndjson"
# Cells a spreadsheet would run as a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet shows as text (a leading ``'`` before a formula character)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def jsonl_bytes(objects: Iterable[Any]) -> bytes:
    return b"".join(orjson.dumps(o) + b"\n" for o in objects)


async def start_download(
    request: web.Request, content_type: str, filename: str
) -> web.StreamResponse:
    """A chunked 200 answer, headers sent: write the body with ``await resp.write()``."""
    resp = web.StreamResponse(
        headers={
            "Content-Type": f"{content_type}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        }
    )
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    return resp
