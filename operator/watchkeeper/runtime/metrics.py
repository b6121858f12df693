"""The operator's own Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from watchkeeper.api.scalingpolicy import ScalingPolicyStatus
from watchkeeper.engine.alert_records import alert_name
from watchkeeper.engine.alerts import Evaluation, Instance
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
SHARD_INFO = Gauge(
    "watchkeeper_shard_info",
    "1, labelled with the shard this replica carries and the number of shards (--shard, "
    "--shards; 0 of 1 when unsharded).",
    ["shard", "shards"],
)
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


_SCALING_SERIES: dict[tuple[str, str], dict[tuple[Gauge | Counter, tuple[str, ...]], Any]] = {}
"""Each ScalingPolicy's series (family and labels -> the series), so that they go with the
policy and are looked up in the family once."""


def _scaling_series(family: Gauge | Counter, *labels: str) -> Any:
    series = _SCALING_SERIES.setdefault((labels[0], labels[1]), {})
    found = series.get((family, labels))
    if found is None:
        found = series[(family, labels)] = family.labels(*labels)
    return found


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
    for family, labels in _SCALING_SERIES.pop((namespace, policy), {}):
        family.remove(*labels)


def observe_prometheus_client(client: PrometheusClient) -> None:
    """Export the Prometheus client's own queue and in-flight counts."""
    PROMETHEUS_IN_FLIGHT.set_function(lambda: client.sending)
    PROMETHEUS_WAITING.set_function(lambda: client.waiting)


ALERT_TRANSITIONS = Counter(
    "watchkeeper_alert_transitions_total",
    "Alert transitions (Pending, PendingCleared, Firing, SeverityChanged, Resolved), by "
    "the policy's namespace and name and the severity after the transition.",
    ["policy_namespace", "policy", "change", "severity"],
)
SETTLING_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400)
"""30 s to 24 h: how long people and problems take."""
TIME_TO_ACKNOWLEDGE = Histogram(
    "watchkeeper_alert_time_to_acknowledge_seconds",
    "From an alert's firing start to its first recorded acknowledgement, by the policy's "
    "namespace and the alert's severity.",
    ["namespace", "severity"],
    buckets=SETTLING_BUCKETS,
)
TIME_TO_RESOLVE = Histogram(
    "watchkeeper_alert_time_to_resolve_seconds",
    "From an alert's firing start to its resolution (as written to the Alert), by the "
    "policy's namespace and the alert's severity.",
    ["namespace", "severity"],
    buckets=SETTLING_BUCKETS,
)


def observe_settling(
    histogram: Histogram, namespace: str, instance: Instance, at: datetime | None
) -> None:
    """Time from the firing start to `at`, for an alert that fired (a pending one that
    cleared never started)."""
    since = instance.firing_since
    if since is None or at is None:
        return
    severity = instance.severity.value if instance.severity else ""
    histogram.labels(namespace, severity).observe(max((at - since).total_seconds(), 0.0))


OWN_LABELS = ("policy_namespace", "policy", "alert", "alertstate", "severity")
"""The labels watchkeeper_alert sets; a series label with one of these names is exported
as `series_<name>`."""


class AlertStates(Collector):
    """`watchkeeper_alert`, like Prometheus's ALERTS: one sample (value 1) per pending or
    firing alert of the policies this replica evaluates, with its state, severity, policy
    and the series' own labels. Resolved alerts have no sample, so the cardinality is the
    number of active alerts."""

    def __init__(self) -> None:
        self._policies: dict[tuple[str, str], list[dict[str, str]]] = {}

    def update(self, namespace: str, policy: str, result: Evaluation) -> None:
        """The policy's alerts after an evaluation; its transitions are counted."""
        samples = []
        for instance in result.instances.values():
            if not instance.active:
                continue
            labels = {
                (f"series_{k}" if k in OWN_LABELS else k): v for k, v in instance.labels.items()
            }
            samples.append(
                labels
                | {
                    "policy_namespace": namespace,
                    "policy": policy,
                    "alert": alert_name(policy, instance.labels),
                    "alertstate": instance.state.value.lower(),
                    "severity": instance.severity.value if instance.severity else "",
                }
            )
        self._policies[(namespace, policy)] = samples
        for transition in result.transitions:
            severity = transition.severity.value if transition.severity else ""
            ALERT_TRANSITIONS.labels(namespace, policy, transition.change.value, severity).inc()

    def forget(self, namespace: str, policy: str) -> None:
        """The policy is gone, or this replica stopped evaluating it."""
        self._policies.pop((namespace, policy), None)

    def collect(self) -> Iterator[Metric]:
        family = Metric("watchkeeper_alert", "Pending and firing alerts, like ALERTS.", "gauge")
        for samples in list(self._policies.values()):
            for labels in samples:
                family.add_sample("watchkeeper_alert", _valid(labels), 1.0)
        yield family


def _valid(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k and not k.startswith("__")}


ALERT_STATES = AlertStates()
REGISTRY.register(ALERT_STATES)
