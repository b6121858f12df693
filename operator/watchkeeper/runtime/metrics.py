"""The operator's own Prometheus metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from watchkeeper.api.scalingpolicy import ScalingPolicyStatus
from watchkeeper.prometheus.client import PrometheusClient

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
SCHEDULER_JOBS = Gauge(
    "watchkeeper_scheduler_jobs",
    "Periodic jobs the scheduler keeps, by kind (AlertPolicy, ScalingPolicy, Readiness, ...).",
    ["kind"],
)
SCHEDULER_QUEUE = Gauge(
    "watchkeeper_scheduler_queue_depth",
    "Jobs that are due and wait for a free worker slot, by kind. Persistently above zero: "
    "this replica is saturated (add replicas or raise --max-concurrent-jobs).",
    ["kind"],
)
SCHEDULER_IN_FLIGHT = Gauge(
    "watchkeeper_scheduler_in_flight", "Jobs running now (bounded by --max-concurrent-jobs)."
)
SCHEDULER_LAG = Histogram(
    "watchkeeper_scheduler_lag_seconds",
    "How late a job started after its due instant, by kind.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SCHEDULER_RUNS = Counter(
    "watchkeeper_scheduler_runs_total", "Job runs, by kind and outcome.", ["kind", "outcome"]
)
SCHEDULER_MISSED = Counter(
    "watchkeeper_scheduler_missed_total",
    "Due instants skipped because the job's previous run had not finished, by kind.",
    ["kind"],
)
PROMETHEUS_IN_FLIGHT = Gauge(
    "watchkeeper_prometheus_queries_in_flight",
    "Queries sent to Prometheus and not yet answered (bounded by --max-prometheus-queries).",
)
PROMETHEUS_WAITING = Gauge(
    "watchkeeper_prometheus_queries_waiting",
    "Queries waiting inside the operator for a free Prometheus slot (the operator's own "
    "queue, not Prometheus's).",
)
COMPONENT_UP = Gauge(
    "watchkeeper_component_up",
    "Whether the operator can reach a component now (1) or not (0): kubernetes, prometheus.",
    ["component"],
)
LEADER = Gauge("watchkeeper_leader", "1 while this replica leads (does the work), else 0.")
SCALING_REPLICAS = Gauge(
    "watchkeeper_scaling_replicas",
    "A ScalingPolicy's target replicas at its last evaluation: current (what the target "
    "had) and desired (what the policy decided). One series pair per policy.",
    ["namespace", "policy", "replicas"],
)
SCALING_METRIC = Gauge(
    "watchkeeper_scaling_metric",
    "A ScalingPolicy metric at its last evaluation: its value and its target.",
    ["namespace", "policy", "metric", "of"],
)
SCALE_EVENTS = Counter(
    "watchkeeper_scale_events_total",
    "Replica changes a ScalingPolicy wrote to its target, by direction (up, down).",
    ["namespace", "policy", "direction"],
)


_SCALING_SERIES: dict[tuple[str, str], set[tuple[Gauge | Counter, tuple[str, ...]]]] = {}
"""Each ScalingPolicy's series, so that they go with the policy."""


def _scaling_series(family: Gauge | Counter, *labels: str) -> Any:
    _SCALING_SERIES.setdefault((labels[0], labels[1]), set()).add((family, labels))
    return family.labels(*labels)


def export_scaling(namespace: str, policy: str, status: ScalingPolicyStatus) -> None:
    """Set a ScalingPolicy's gauges from the status its evaluation concluded."""
    for which, count in (
        ("current", status.current_replicas),
        ("desired", status.desired_replicas),
    ):
        if count is not None:
            _scaling_series(SCALING_REPLICAS, namespace, policy, which).set(count)
    for metric in status.metrics:
        _scaling_series(SCALING_METRIC, namespace, policy, metric.name, "target").set(metric.target)
        if metric.value is not None:
            _scaling_series(SCALING_METRIC, namespace, policy, metric.name, "value").set(
                metric.value
            )


def count_scale_event(namespace: str, policy: str, before: int, after: int) -> None:
    direction = "up" if after > before else "down"
    _scaling_series(SCALE_EVENTS, namespace, policy, direction).inc()


def forget_scaling(namespace: str, policy: str) -> None:
    """Drop a deleted ScalingPolicy's series (a label value per policy stays bounded)."""
    for family, labels in _SCALING_SERIES.pop((namespace, policy), set()):
        family.remove(*labels)


def observe_prometheus_client(client: PrometheusClient) -> None:
    """Export the Prometheus client's own queue and in-flight counts."""
    PROMETHEUS_IN_FLIGHT.set_function(lambda: client.sending)
    PROMETHEUS_WAITING.set_function(lambda: client.waiting)
