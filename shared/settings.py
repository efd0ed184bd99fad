"""One settings object per process, read from the environment once and passed
into ``create_app``. Nothing else in the code base reads ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

DEFAULT_INTERNAL_SECRET = "dev-internal-secret-change-me"  # noqa: S105 - dev default, refused outside DEV_MODE
# Secrets everyone can read (this file, docker-compose.yml, the k8s manifests):
# outside DEV_MODE a process refuses to start with one of them, or a short one.
PLACEHOLDER_SECRETS: Final = frozenset(
    {DEFAULT_INTERNAL_SECRET, "change-me-in-production", "CHANGE-ME-long-random-string"}
)
MIN_SECRET_LENGTH: Final = 32


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _opt(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw if raw else None


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "postgresql://postgres@127.0.0.1:5432/shortener"
    redis_url: str = "redis://127.0.0.1:6379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    public_base_url: str = "http://localhost:8080"
    internal_secret: str = DEFAULT_INTERNAL_SECRET
    # Development and tests (`make run`, the test fixtures): the well-known
    # default secret is allowed. Never set it in production.
    dev_mode: bool = False

    host: str = "127.0.0.1"
    gateway_port: int = 8000
    edge_port: int = 8080
    accounts_port: int = 8101
    links_port: int = 8102
    analytics_port: int = 8103
    # /metrics of the two internet-facing processes is served only here, with
    # /health and /ready again (None: not served); see shared/ops_port.py.
    gateway_ops_port: int | None = None
    edge_ops_port: int | None = None
    webhooks_port: int = 8105

    # Where the gateway (and services calling each other) find the services.
    accounts_url: str = "http://127.0.0.1:8101"
    links_url: str = "http://127.0.0.1:8102"
    analytics_url: str = "http://127.0.0.1:8103"
    webhooks_url: str = "http://127.0.0.1:8105"

    # Namespaces, so that test runs (or two deployments) sharing one Redis or
    # one broker never see each other's keys, exchanges or queues.
    redis_prefix: str = "sl:"
    amqp_prefix: str = "sl."
    # Durable queues as RabbitMQ quorum queues (replicated across a cluster's
    # nodes; a single node works too). A queue cannot change its type once it
    # exists: switch with a new AMQP_PREFIX, or delete the drained queues first.
    amqp_quorum_queues: bool = False

    geoip_db: str | None = None
    trusted_country_header: str | None = None

    log_level: str = "INFO"
    log_format: str = "json"  # "json" or "text"

    max_body_bytes: int = 1024 * 1024
    upstream_connect_timeout: float = 2.0
    upstream_timeout: float = 10.0
    rate_limit_capacity: int = 30
    rate_limit_window: int = 60
    # Admins are never held back by a plan: their bucket is at least this big per
    # window (lower it to have a leaked admin key throttled).
    admin_rate_limit_capacity: int = 1_000_000
    principal_cache_ttl: int = 60
    auth_failure_limit: int = 20  # failed authentications per client IP per minute
    # Proxies in front of the gateway whose X-Forwarded-For entries are trusted
    # (0: the peer address is the client, e.g. when the gateway faces the internet).
    trusted_proxy_hops: int = 0

    # The edge's click buffer: flushed when it holds this many events or this
    # many seconds after the first buffered one, whichever comes first.
    click_batch_size: int = 500
    click_flush_interval: float = 0.2
    spool_dir: str = "var/spool"
    link_cache_size: int = 200_000
    # The edge answers cached direct redirects on its own HTTP core (httptools on
    # the event loop's protocol API) and hands every other request to aiohttp;
    # off: aiohttp answers everything. EDGE_PROCESSES: edge processes sharing the
    # public port (SO_REUSEPORT), one per core to use.
    edge_fast_core: bool = True
    edge_processes: int = 1
    negative_cache_ttl: float = 2.0
    # "No such link/domain" answers the edge remembers (per kind, least recently
    # used dropped first), and how long an unknown Host stays unknown: a load
    # balancer's health check or a stray name costs one lookup per this many
    # seconds, not one per visit (adding the domain invalidates it at once).
    negative_cache_size: int = 50_000
    domain_miss_ttl: float = 60.0

    # Outbound fetches (page titles, QR logos) refuse private and loopback
    # addresses unless this is set (tests serve fixtures on loopback).
    allow_private_fetch: bool = False

    # QR codes: logos given as a path are read only from inside this directory
    # (unset: only URLs); rendered images stay cached this many seconds.
    qr_logo_dir: str | None = None
    qr_cache_ttl: int = 86_400

    # The links service: how long a stats request waits for the analytics service
    # before answering 503 (well under the gateway's upstream timeout); whether a
    # branded domain must prove its owner by a DNS TXT record before it is served
    # (off for local runs and tests), the resolver that checks it (host:port; unset:
    # the system's) and how often unverified domains are checked again.
    analytics_timeout: float = 2.0
    domain_verification: bool = True
    dns_resolver: str | None = None
    domain_verify_interval: float = 300.0

    # The analytics worker: /health, /ready and /metrics on this port (unset: no
    # HTTP server); a batch is written once it holds this many events or this many
    # seconds after its first message; at most this many unacknowledged messages
    # in flight; raw clicks past their plan's retention are purged this often.
    worker_metrics_port: int | None = None
    analytics_batch_size: int = 2000
    analytics_batch_wait: float = 0.25
    analytics_prefetch: int = 32
    analytics_purge_interval: float = 3600.0

    # Webhooks (services/webhooks): the delivery process's ops port (unset: no HTTP
    # server); each request's deadline; requests in flight per process and per
    # endpoint (so one slow endpoint holds a few slots, never the others'); retries
    # back off exponentially from the base to the cap, for the window, after which
    # a webhook still failing is disabled; the schedule is polled this often when
    # nothing new arrives. Private and loopback targets only when allowed (tests).
    webhook_delivery_port: int | None = None
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 256
    webhook_endpoint_concurrency: int = 8
    webhook_retry_base: float = 10.0
    webhook_retry_max: float = 3600.0
    webhook_retry_window: float = 86_400.0
    webhook_poll_interval: float = 0.5
    allow_private_webhooks: bool = False

    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e: Mapping[str, str] = os.environ if env is None else env
        d = cls()
        host = e.get("SERVICE_HOST", d.host)
        accounts_port = _int(e, "ACCOUNTS_PORT", d.accounts_port)
        links_port = _int(e, "LINKS_PORT", d.links_port)
        analytics_port = _int(e, "ANALYTICS_PORT", d.analytics_port)
        webhooks_port = _int(e, "WEBHOOKS_PORT", d.webhooks_port)
        return cls(
            database_url=e.get("DATABASE_URL", d.database_url),
            redis_url=e.get("REDIS_URL", d.redis_url),
            amqp_url=e.get("AMQP_URL", d.amqp_url),
            public_base_url=e.get("PUBLIC_BASE_URL", d.public_base_url).rstrip("/"),
            internal_secret=e.get("INTERNAL_SECRET", d.internal_secret),
            dev_mode=_bool(e, "DEV_MODE", d.dev_mode),
            host=host,
            gateway_port=_int(e, "GATEWAY_PORT", d.gateway_port),
            edge_port=_int(e, "EDGE_PORT", d.edge_port),
            accounts_port=accounts_port,
            links_port=links_port,
            analytics_port=analytics_port,
            gateway_ops_port=_int(e, "GATEWAY_OPS_PORT", 0) or None,
            edge_ops_port=_int(e, "EDGE_OPS_PORT", 0) or None,
            webhooks_port=webhooks_port,
            accounts_url=e.get("ACCOUNTS_URL", f"http://127.0.0.1:{accounts_port}").rstrip("/"),
            links_url=e.get("LINKS_URL", f"http://127.0.0.1:{links_port}").rstrip("/"),
            analytics_url=e.get("ANALYTICS_URL", f"http://127.0.0.1:{analytics_port}").rstrip("/"),
            webhooks_url=e.get("WEBHOOKS_URL", f"http://127.0.0.1:{webhooks_port}").rstrip("/"),
            redis_prefix=e.get("REDIS_PREFIX", d.redis_prefix),
            amqp_prefix=e.get("AMQP_PREFIX", d.amqp_prefix),
            amqp_quorum_queues=_bool(e, "AMQP_QUORUM_QUEUES", d.amqp_quorum_queues),
            geoip_db=_opt(e, "GEOIP_DB"),
            trusted_country_header=_opt(e, "TRUSTED_COUNTRY_HEADER"),
            log_level=e.get("LOG_LEVEL", d.log_level).upper(),
            log_format=e.get("LOG_FORMAT", d.log_format),
            max_body_bytes=_int(e, "MAX_BODY_BYTES", d.max_body_bytes),
            upstream_connect_timeout=_float(
                e, "UPSTREAM_CONNECT_TIMEOUT", d.upstream_connect_timeout
            ),
            upstream_timeout=_float(e, "UPSTREAM_TIMEOUT", d.upstream_timeout),
            rate_limit_capacity=_int(e, "RATE_LIMIT_CAPACITY", d.rate_limit_capacity),
            rate_limit_window=_int(e, "RATE_LIMIT_WINDOW", d.rate_limit_window),
            admin_rate_limit_capacity=_int(
                e, "ADMIN_RATE_LIMIT_CAPACITY", d.admin_rate_limit_capacity
            ),
            principal_cache_ttl=_int(e, "PRINCIPAL_CACHE_TTL", d.principal_cache_ttl),
            auth_failure_limit=_int(e, "AUTH_FAILURE_LIMIT", d.auth_failure_limit),
            trusted_proxy_hops=_int(e, "TRUSTED_PROXY_HOPS", d.trusted_proxy_hops),
            click_batch_size=_int(e, "CLICK_BATCH_SIZE", d.click_batch_size),
            click_flush_interval=_float(e, "CLICK_FLUSH_INTERVAL", d.click_flush_interval),
            spool_dir=e.get("SPOOL_DIR", d.spool_dir),
            link_cache_size=_int(e, "LINK_CACHE_SIZE", d.link_cache_size),
            edge_fast_core=_bool(e, "EDGE_FAST_CORE", d.edge_fast_core),
            edge_processes=_int(e, "EDGE_PROCESSES", d.edge_processes),
            negative_cache_ttl=_float(e, "NEGATIVE_CACHE_TTL", d.negative_cache_ttl),
            negative_cache_size=_int(e, "NEGATIVE_CACHE_SIZE", d.negative_cache_size),
            domain_miss_ttl=_float(e, "DOMAIN_MISS_TTL", d.domain_miss_ttl),
            allow_private_fetch=_bool(e, "ALLOW_PRIVATE_FETCH", d.allow_private_fetch),
            qr_logo_dir=_opt(e, "QR_LOGO_DIR"),
            qr_cache_ttl=_int(e, "QR_CACHE_TTL", d.qr_cache_ttl),
            analytics_timeout=_float(e, "ANALYTICS_TIMEOUT", d.analytics_timeout),
            domain_verification=_bool(e, "DOMAIN_VERIFICATION", d.domain_verification),
            dns_resolver=_opt(e, "DNS_RESOLVER"),
            domain_verify_interval=_float(e, "DOMAIN_VERIFY_INTERVAL", d.domain_verify_interval),
            worker_metrics_port=_int(e, "WORKER_METRICS_PORT", 0) or None,
            analytics_batch_size=_int(e, "ANALYTICS_BATCH_SIZE", d.analytics_batch_size),
            analytics_batch_wait=_float(e, "ANALYTICS_BATCH_WAIT", d.analytics_batch_wait),
            analytics_prefetch=_int(e, "ANALYTICS_PREFETCH", d.analytics_prefetch),
            analytics_purge_interval=_float(
                e, "ANALYTICS_PURGE_INTERVAL", d.analytics_purge_interval
            ),
            webhook_delivery_port=_int(e, "WEBHOOK_DELIVERY_PORT", 0) or None,
            webhook_timeout=_float(e, "WEBHOOK_TIMEOUT", d.webhook_timeout),
            webhook_concurrency=_int(e, "WEBHOOK_CONCURRENCY", d.webhook_concurrency),
            webhook_endpoint_concurrency=_int(
                e, "WEBHOOK_ENDPOINT_CONCURRENCY", d.webhook_endpoint_concurrency
            ),
            webhook_retry_base=_float(e, "WEBHOOK_RETRY_BASE", d.webhook_retry_base),
            webhook_retry_max=_float(e, "WEBHOOK_RETRY_MAX", d.webhook_retry_max),
            webhook_retry_window=_float(e, "WEBHOOK_RETRY_WINDOW", d.webhook_retry_window),
            webhook_poll_interval=_float(e, "WEBHOOK_POLL_INTERVAL", d.webhook_poll_interval),
            allow_private_webhooks=_bool(e, "ALLOW_PRIVATE_WEBHOOKS", d.allow_private_webhooks),
            extra={k: v for k, v in e.items() if k.startswith("SL_")},
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def internal_secret_problem(self) -> str | None:
        """Why ``internal_secret`` must not be used outside development, or ``None``.

        Anyone who knows it can sign as any user to any service (and forge the
        edge's form tokens), so a default, a placeholder or a short one is refused."""
        secret = self.internal_secret
        lowered = secret.lower()
        if secret in PLACEHOLDER_SECRETS or "change-me" in lowered or "changeme" in lowered:
            return "INTERNAL_SECRET is the development default or a placeholder"
        if len(secret) < MIN_SECRET_LENGTH:
            return f"INTERNAL_SECRET is shorter than {MIN_SECRET_LENGTH} characters"
        return None

    @property
    def public_host(self) -> str:
        """The default short domain's host (with port), e.g. ``localhost:8080``."""
        return self.public_base_url.split("://", 1)[-1].split("/", 1)[0].lower()

    @property
    def spool_path(self) -> Path:
        return Path(self.spool_dir)

    def redis_key(self, *parts: str | int) -> str:
        return self.redis_prefix + ":".join(str(p) for p in parts)
