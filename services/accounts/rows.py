"""Type names for database access in the accounts service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection as the pool hands it out, or a plain one (tests, scripts).
Conn: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
# A row: what asyncpg returns, or a dict of the same columns.
Row: TypeAlias = "asyncpg.Record | Mapping[str, Any]"
