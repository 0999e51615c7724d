"""``/metrics``: what ``watch`` did, in Prometheus's text format (prometheus_client).

Each Metrics has a registry of its own, not the library's global one, so several watchers (tests run
them side by side) never share counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From a second (a webhook and one reconcile) to an hour (a change caught only by the resync).
LAG_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)


class _ApiRequests(Collector):
    """API requests made so far, by HTTP method, read from the gateway at each scrape."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "reconcile_watch_api_requests", "Stripe API requests made (reads, writes and retries)", labels=["method"]
        )
        for method, count in sorted(self._counts().items()):
            family.add_metric([method], count)
        yield family


class Metrics:
    def __init__(self, api_requests: Callable[[], Mapping[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "reconcile_watch_events",
            "Stripe events received, by type and outcome (queued, duplicate, own_change, unmanaged, ignored, "
            "bad_signature, malformed)",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.reconciles = Counter(
            "reconcile_watch_reconciles",
            "Reconciles, by trigger (event, resync) and outcome (in_step, applied, failed, held)",
            ["trigger", "outcome"],
            registry=self.registry,
        )
        self.actions = Counter(
            "reconcile_watch_actions",
            "Plan actions applied, by kind and outcome (done, failed, skipped)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.lag = Histogram(
            "reconcile_watch_lag_seconds",
            "From an event's change (its created time) to the change that repaired it being applied",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.pending = Gauge(
            "reconcile_watch_pending_customers", "Customers waiting to be reconciled", registry=self.registry
        )
        self.last_resync = Gauge(
            "reconcile_watch_last_resync_timestamp_seconds",
            "When the last full resync finished (Unix time)",
            registry=self.registry,
        )
        self.held = Gauge(
            "reconcile_watch_held_customers",
            "Customers held back by a conflict or an unsafe plan, waiting for a person",
            registry=self.registry,
        )
        self.registry.register(_ApiRequests(api_requests))

    def text(self) -> bytes:
        return generate_latest(self.registry)
