"""The edge's counters: plain integers bumped on the redirect path (a Prometheus
``Counter.labels().inc()`` costs a lock and a dict lookup per request) and turned
into metric families only when ``/metrics`` is scraped."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class EdgeStats:
    """What happened to visitors and clicks since the process started."""

    __slots__ = (
        "cache_lru",
        "cache_negative",
        "cache_postgres",
        "cache_redis",
        "clicks_buffered",
        "clicks_published",
        "clicks_replayed",
        "clicks_spooled",
        "clicks_unencodable",
        "expired",
        "invalidations",
        "not_counted",
        "not_found",
        "pages",
        "publish_failures",
        "spool_failures",
        "stale_misses",
    )

    def __init__(self) -> None:
        # Counted visits are clicks_buffered; those answered with a page (frame,
        # splash, pixels...) are counted here, the rest were redirects.
        self.pages = 0
        self.not_counted = 0  # crawlers, HEAD, password forms
        self.not_found = 0
        self.expired = 0
        self.cache_lru = 0  # lookups past the redirect's own fast path that the LRU answered
        self.cache_negative = 0
        self.cache_redis = 0
        self.cache_postgres = 0
        self.stale_misses = 0  # known misses kept while Postgres could not be asked
        self.invalidations = 0
        self.clicks_buffered = 0
        self.clicks_published = 0
        self.clicks_spooled = 0
        self.clicks_replayed = 0
        self.clicks_unencodable = 0  # events dropped alone: they could not be encoded
        self.publish_failures = 0
        self.spool_failures = 0


class EdgeCollector(Collector):
    """Exposes :class:`EdgeStats` (and a few gauges read at scrape time) to Prometheus."""

    def __init__(self, stats: EdgeStats, gauges: dict[str, Callable[[], float]]) -> None:
        self.stats = stats
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        visits = CounterMetricFamily(
            "edge_visits", "Visitor requests by outcome", labels=["outcome"]
        )
        for outcome, value in (
            ("redirect", s.clicks_buffered - s.pages),
            ("page", s.pages),
            ("not_counted", s.not_counted),
            ("not_found", s.not_found),
            ("expired", s.expired),
        ):
            visits.add_metric([outcome], value)
        yield visits
        lookups = CounterMetricFamily(
            "edge_snapshot_lookups",
            "Snapshot lookups by where they were answered",
            labels=["source"],
        )
        for source, value in (
            ("lru", s.cache_lru),
            ("negative", s.cache_negative),
            ("redis", s.cache_redis),
            ("postgres", s.cache_postgres),
            ("stale_negative", s.stale_misses),
        ):
            lookups.add_metric([source], value)
        yield lookups
        yield CounterMetricFamily(
            "edge_invalidations", "Invalidation messages received", value=s.invalidations
        )
        clicks = CounterMetricFamily("edge_clicks", "Click events by fate", labels=["fate"])
        for fate, value in (
            ("buffered", s.clicks_buffered),
            ("published", s.clicks_published),
            ("spooled", s.clicks_spooled),
            ("replayed", s.clicks_replayed),
            ("unencodable", s.clicks_unencodable),
        ):
            clicks.add_metric([fate], value)
        yield clicks
        yield CounterMetricFamily(
            "edge_publish_failures", "Batches the broker did not confirm", value=s.publish_failures
        )
        yield CounterMetricFamily(
            "edge_spool_failures",
            "Batches that could not be written to the spool",
            value=s.spool_failures,
        )
        for name, read in self.gauges.items():
            yield GaugeMetricFamily(name, name.replace("_", " "), value=read())
