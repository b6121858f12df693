"""The operator's own endpoints, scraped: the scheduler's metrics as promised in the README,
and /readyz saying which component is down while Prometheus is stopped."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.alerting import apply, policy, wait_states
from tests.kubectl import kubectl, watchkeeper_object
from tests.waiting import eventually, get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]
PROMISED = (
    "watchkeeper_scheduler_jobs",
    "watchkeeper_scheduler_queue_depth",
    "watchkeeper_scheduler_in_flight",
    "watchkeeper_scheduler_lag_seconds_bucket",
    "watchkeeper_scheduler_runs_total",
    "watchkeeper_scheduler_missed_total",
    "watchkeeper_prometheus_queries_in_flight",
    "watchkeeper_prometheus_queries_waiting",
    "watchkeeper_component_up",
    "watchkeeper_leader",
    "watchkeeper_alert_evaluations_total",
    "watchkeeper_alert",
    "watchkeeper_alert_transitions_total",
    "watchkeeper_alert_evaluation_seconds_count",
    "watchkeeper_reconciles_total",
)


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (r"\{" + labels + r"[^}]*\}" if labels else r"(\{[^}]*\})?")
    found = re.findall(r"^" + pattern + r" ([0-9.e+-]+)$", text, re.M)
    return sum(float(v[-1] if isinstance(v, tuple) else v) for v in found)


def test_scheduler_metrics_are_exported(operator, kubeconfig, namespace, exporter):
    exporter.set("wk_metrics_scrape", 1)
    apply(kubeconfig, namespace, policy("scraped", "wk_metrics_scrape"))
    text = eventually(
        lambda: httpx.get(operator.metrics_url).text,
        lambda text: _value(text, "watchkeeper_scheduler_runs_total", 'kind="AlertPolicy"') > 0,
    )
    for name in PROMISED:  # a labelled series appears once observed; its HELP line always
        assert re.search(
            rf"^# HELP {name.removesuffix('_bucket').removesuffix('_count')} ", text, re.M
        ), name
    assert _value(text, "watchkeeper_scheduler_jobs", 'kind="AlertPolicy"') >= 1
    assert _value(text, "watchkeeper_leader") == 1


def test_readiness_names_the_component_that_is_down(
    operator, prometheus, kubeconfig, namespace, exporter
):
    exporter.set("wk_metrics_ready", 1)
    apply(kubeconfig, namespace, policy("ready", "wk_metrics_ready"))
    eventually(lambda: httpx.get(operator.readiness_url).status_code, lambda code: code == 200)
    prometheus.stop()
    try:
        answer = eventually(
            lambda: httpx.get(operator.readiness_url), lambda r: r.status_code == 503
        )
        assert "prometheus" in answer.text
        metrics = httpx.get(operator.metrics_url).text
        assert _value(metrics, "watchkeeper_component_up", 'component="prometheus"') == 0
    finally:
        prometheus.start()
        prometheus.wait_for_scrape()
    eventually(lambda: httpx.get(operator.readiness_url).status_code, lambda code: code == 200)


def test_objects_not_ready_counts_a_policy_until_its_channel_exists(
    operator, kubeconfig, namespace, exporter
):
    def not_ready() -> float:
        text = httpx.get(operator.metrics_url).text
        return _value(text, "watchkeeper_objects_not_ready", 'kind="AlertPolicy"')

    exporter.set("wk_metrics_not_ready", 1)
    baseline = not_ready()
    routed = {"channels": ["later"]}
    apply(kubeconfig, namespace, policy("waiting", "wk_metrics_not_ready", routing=routed))
    broken = eventually(not_ready, lambda count: count >= baseline + 1)
    apply(
        kubeconfig,
        namespace,
        watchkeeper_object("NotificationChannel", "later", {"type": "Log", "log": {}}),
    )
    eventually(not_ready, lambda count: count <= broken - 1)


def test_time_to_acknowledge_and_resolve_are_observed_once_across_restarts(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    """Each is observed once, when its transition is written: not when the acknowledgement
    is handed to someone else, and not by a restarted operator that reads the acknowledged
    and resolved Alert back."""
    metric = "wk_metrics_settling"
    where = f'namespace="{namespace}",severity="Warning"'

    def observed(name: str) -> float:
        text = httpx.get(operator.metrics_url).text
        return _value(text, f"watchkeeper_alert_time_to_{name}_seconds_count", where)

    def restarted() -> None:
        operator.restart()
        eventually(  # the new process evaluated the policy again
            lambda: httpx.get(operator.metrics_url).text,
            lambda text: (
                _value(text, "watchkeeper_scheduler_runs_total", 'kind="AlertPolicy"') >= 3
            ),
        )

    exporter.set(metric, 3)
    try:
        apply(kubeconfig, namespace, policy("settling", metric))
        [alert] = wait_states(custom_objects, namespace, "settling", [("Firing", "Warning")])
        name = alert["metadata"]["name"]
        annotate = ("annotate", "--overwrite", "alert", name, "-n", namespace)
        kubectl(kubeconfig, *annotate, "watchkeeper.io/ack=bob")
        eventually(lambda: observed("acknowledge"), lambda count: count == 1)
        kubectl(kubeconfig, *annotate, "watchkeeper.io/ack=carol")
        eventually(
            lambda: get_object(custom_objects, "alerts", namespace, name)["status"],
            lambda status: (status.get("acknowledged") or {}).get("by") == "carol",
        )
        assert observed("acknowledge") == 1  # handed over, not acknowledged again
        restarted()
        assert observed("acknowledge") == 0

        exporter.set(metric, 1)
        eventually(lambda: observed("resolve"), lambda count: count == 1)
        restarted()
        assert (observed("acknowledge"), observed("resolve")) == (0, 0)
    finally:
        exporter.remove(metric)
