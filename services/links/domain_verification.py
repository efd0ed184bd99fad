"""Proof that whoever adds a branded domain controls it: a DNS TXT record
``_shortener-verify.<domain>`` holding ``shortener-verify=<token>``, the token
being the domain's own. Until it is seen the edge does not serve the domain
(its snapshot is not live), so nobody can capture another site's visitors by
claiming its name.

Checked on ``POST /api/domain/{id}/verify`` and, for every domain still
unverified, every ``DOMAIN_VERIFY_INTERVAL`` seconds in the background. With
``DOMAIN_VERIFICATION=off`` (local runs, tests) a domain is verified when added.
``DNS_RESOLVER`` (``host:port``) names the resolver to ask; unset, the system's."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import asyncpg
import dns.asyncresolver
import dns.exception
import dns.resolver
from aiohttp import web

from services.links import queries
from services.links.effects import Effects, apply_effects
from services.links.rows import Row
from shared.appkeys import PG_POOL
from shared.settings import Settings

log = logging.getLogger("services.links.domain_verification")

RECORD_PREFIX: Final = "_shortener-verify."
VALUE_PREFIX: Final = "shortener-verify="
DNS_TIMEOUT: Final = 2.0
RECHECK_BATCH: Final = 100


class DnsUnavailable(Exception):
    """The resolver could not be asked (timeout, no server): nothing is known."""


def record_name(host: str) -> str:
    """Where the TXT record goes: the domain's name without its port."""
    name = host.rpartition(":")[0] if ":" in host and not host.startswith("[") else host
    return RECORD_PREFIX + name


def record_value(token: str) -> str:
    return VALUE_PREFIX + token


def verification(row: Row) -> dict[str, str]:
    """The record its owner publishes, as the domain answers show it."""
    return {"record": record_name(row["host"]), "value": record_value(row["verify_token"])}


def _resolver(settings: Settings) -> dns.asyncresolver.Resolver:
    if settings.dns_resolver:
        address, _, port = settings.dns_resolver.rpartition(":")
        if not address or not port.isdigit():
            raise ValueError(f"DNS_RESOLVER must be host:port, got {settings.dns_resolver!r}")
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [address.strip("[]")]
        resolver.port = int(port)
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.timeout = DNS_TIMEOUT
    resolver.lifetime = DNS_TIMEOUT
    return resolver


class DomainVerifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._resolver: dns.asyncresolver.Resolver | None = None

    async def has_proof(self, host: str, token: str) -> bool:
        """Whether the domain's TXT record holds its token (raises DnsUnavailable)."""
        try:
            if self._resolver is None:
                self._resolver = _resolver(self.settings)
            answer = await self._resolver.resolve(record_name(host), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return False
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(f"{type(exc).__name__}: {exc}") from exc
        expected = record_value(token).encode()
        return any(b"".join(rdata.strings).strip() == expected for rdata in answer)

    async def check(self, app: web.Application, row: Row) -> bool:
        """Check one unverified domain, record the check, and serve it once proven
        (with verification off, no proof is asked for: it is served at once)."""
        proven = not self.settings.domain_verification or await self.has_proof(
            row["host"], row["verify_token"]
        )
        pool: asyncpg.Pool = app[PG_POOL]
        if not proven:
            await pool.execute(queries.DOMAIN_CHECKED, row["id"])
            return False
        host = await pool.fetchval(queries.DOMAIN_VERIFIED, row["id"])
        if host is not None:
            log.info("domain %s verified", host)
            await apply_effects(app, Effects(domains=[host]))
        return True

    async def recheck(self, app: web.Application) -> int:
        """One round over the unverified domains not checked recently; how many passed."""
        interval = self.settings.domain_verify_interval
        rows = await app[PG_POOL].fetch(queries.DOMAINS_TO_VERIFY, interval, RECHECK_BATCH)
        passed = 0
        for row in rows:
            try:
                passed += await self.check(app, row)
            except DnsUnavailable as exc:
                log.warning("DNS unavailable while verifying domains: %s", exc)
                break
        return passed


async def recheck_loop(app: web.Application, verifier: DomainVerifier) -> None:
    """Every ``DOMAIN_VERIFY_INTERVAL``: a round of :meth:`DomainVerifier.recheck`."""
    while True:
        await asyncio.sleep(verifier.settings.domain_verify_interval)
        try:
            await verifier.recheck(app)
        except Exception:  # never let the loop die: the next round retries
            log.exception("domain re-check failed")
