"""The operator's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

RECONCILES = Counter(
    "watchkeeper_reconciles_total",
    "Readiness checks of Watchkeeper objects, by kind and outcome.",
    ["kind", "outcome"],
)
NOT_READY = Gauge(
    "watchkeeper_objects_not_ready",
    "Watchkeeper objects whose Ready condition is False, by kind.",
    ["kind"],
)
