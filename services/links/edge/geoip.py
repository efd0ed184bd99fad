"""Country of a visitor's address from a MaxMind database (``GEOIP_DB``), when one
is configured; the reader is opened once per process."""

from __future__ import annotations

from typing import Any

import maxminddb

from services.links.edge.lru import LRU
from services.links.edge.visitor import country_code

CACHE_SIZE = 10_000


class CountryReader:
    def __init__(self, path: str) -> None:
        self._reader = maxminddb.open_database(path)
        self._cache: LRU[str, str] = LRU(CACHE_SIZE)

    def country(self, ip: str) -> str | None:
        cached = self._cache.get(ip)
        if cached is not None:
            return cached or None
        try:
            record: Any = self._reader.get(ip)
        except ValueError:  # not an IP address (e.g. a unix socket peer)
            record = None
        code = None
        if isinstance(record, dict):
            for key in ("country", "registered_country"):
                entry = record.get(key)
                if isinstance(entry, dict) and isinstance(entry.get("iso_code"), str):
                    code = country_code(entry["iso_code"])
                    break
        self._cache.put(ip, code or "")
        return code

    def close(self) -> None:
        self._reader.close()
