"""The worker's Prometheus metrics (served on ``WORKER_METRICS_PORT``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.analytics.ingest import Outcome


@dataclass(frozen=True, slots=True)
class WorkerMetrics:
    events: Counter
    dead_lettered_messages: Counter
    dead_lettered_events: Counter
    batch_seconds: Histogram
    db_retries: Counter
    ack_failures: Counter
    purged_rows: Counter
    lag_seconds: Gauge
    quota_reached: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> WorkerMetrics:
        return cls(
            events=Counter(
                "analytics_events_total",
                "Click events handled, by outcome",
                ["outcome"],
                registry=registry,
            ),
            dead_lettered_messages=Counter(
                "analytics_dead_lettered_messages_total",
                "Messages rejected to a dead-letter queue (cannot be parsed)",
                ["queue"],
                registry=registry,
            ),
            dead_lettered_events=Counter(
                "analytics_dead_lettered_events_total",
                "Malformed events of otherwise good messages, republished to the dead-letter queue",
                registry=registry,
            ),
            batch_seconds=Histogram(
                "analytics_batch_seconds",
                "Time to enrich and store one batch",
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            db_retries=Counter(
                "analytics_db_retries_total",
                "Batches or lifecycle events retried after a database error",
                registry=registry,
            ),
            ack_failures=Counter(
                "analytics_ack_failures_total",
                "Acknowledgements lost with their channel (the broker redelivers)",
                registry=registry,
            ),
            purged_rows=Counter(
                "analytics_purged_rows_total",
                "Rows removed by retention, deletion or visitor expiry",
                ["what"],
                registry=registry,
            ),
            lag_seconds=Gauge(
                "analytics_event_lag_seconds",
                "Age of the newest click of the last stored batch when it was committed",
                registry=registry,
            ),
            quota_reached=Counter(
                "analytics_quota_reached_total",
                "Owners whose clicks of a month began to be left out by their plan's quota"
                ' (each click left out: analytics_events_total{outcome="over_quota"})',
                registry=registry,
            ),
        )

    def record(self, outcome: Outcome) -> None:
        for name in ("counted", "unique", "bots", "duplicates", "over_quota", "deleted"):
            value = getattr(outcome, name)
            if value:
                self.events.labels(name).inc(value)
        if outcome.quota_reached:
            self.quota_reached.inc(len(outcome.quota_reached))
