"""The operator's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
EVALUATIONS = Counter(
    "watchkeeper_alert_evaluations_total",
    "AlertPolicy evaluations, by outcome (QuerySucceeded, NoData, QueryRejected, ...).",
    ["outcome"],
)
EVALUATION_SECONDS = Histogram(
    "watchkeeper_alert_evaluation_seconds",
    "Time to evaluate one AlertPolicy: queries, state machine and writes.",
)
ALERT_WRITES = Counter(
    "watchkeeper_alert_writes_total",
    "API writes for Alert objects, by operation (create, status, delete).",
    ["operation"],
)
