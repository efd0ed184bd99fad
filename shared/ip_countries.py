"""Country of an address from the Regional Internet Registries' delegation data,
shipped inside the ``iptocc`` wheel (refreshed upstream nightly; no file, no key, no
network): what a fresh install uses when no MaxMind database (``GEOIP_DB``) is
configured. The registries record where a block was assigned, which agrees with
commercial databases for about 95 % of IPv4 addresses; a configured MaxMind
database is always asked first. Measured in tests/bench/bench_geo.py."""

from __future__ import annotations

import iptocc

from shared.countries import country_code


def registry_country(ip: str) -> str | None:
    """ISO code of ``ip``'s registry country; ``None`` for private, reserved,
    unassigned or malformed addresses."""
    try:
        found = iptocc.country_code(ip.strip())
    except (ValueError, TypeError):  # not an address (a unix socket peer, junk)
        return None
    return country_code(found) if found else None
