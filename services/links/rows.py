"""Type names for database access in the links service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import asyncpg

from shared.postgres import Conn

__all__ = ["Conn", "Row"]

# A row: what asyncpg returns, or a dict of the same columns.
Row: TypeAlias = "asyncpg.Record | Mapping[str, Any]"
