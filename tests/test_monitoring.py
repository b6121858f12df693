"""Watching Watchkeeper: the chart's ServiceMonitor and PrometheusRule against
prometheus-operator's real CRDs (from the pinned Go module), and every Grafana dashboard
panel's PromQL run against a real Prometheus scraping a running operator during a scripted
scenario: each parses and returns data. The PrometheusRule's groups load into that
Prometheus too."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from devenv.crds import wait_established
from devenv.names import namespace_name
from devenv.operator import OperatorProcess
from devenv.prometheus import LocalPrometheus
from tests.alerting import apply, wait_states
from tests.helm import CHART, ROOT, helm, needs_helm, objects, template
from tests.kubectl import create_deployment, kubectl, watchkeeper_object
from tests.receivers import Reply
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, needs_helm]

MONITORING = {
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True, "alertLabels": {"team": "platform"}},
    "dashboards": {"enabled": True},
}
SCRAPED_HERE = 'job="exporter"'  # LocalPrometheus's job name, instead of a ServiceMonitor's
SELF_MONITORING = {
    **MONITORING,
    "selfMonitoring": {
        "enabled": True,
        "channels": ["ok"],
        "for": "0s",
        "evaluationInterval": "1s",
        "metricsSelector": SCRAPED_HERE,
    },
}
ACKNOWLEDGED = "watchkeeper_alert_time_to_acknowledge_seconds"
RESOLVED = "watchkeeper_alert_time_to_resolve_seconds"
GRAFANA_VARIABLES = {'job=~"$job"': 'job=~".+"', "$__rate_interval": "30s"}


def _prometheus_operator_crds() -> Path:
    result = subprocess.run(
        ["bash", str(ROOT / "hack" / "prometheus-operator-crds.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.skip(f"prometheus-operator CRDs unavailable: {result.stderr.strip()}")
    return Path(result.stdout.strip())


def dashboards(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    boards = {}
    for config_map in objects(docs, "ConfigMap"):
        if config_map["metadata"]["labels"].get("grafana_dashboard") == "1":
            [(name, text)] = config_map["data"].items()
            boards[name] = json.loads(text)
    return boards


def panel_queries(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(dashboard / panel title, PromQL with Grafana's variables filled in)."""
    queries = []
    for board in dashboards(docs).values():
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                queries.append((f"{board['title']} / {panel['title']}", expr))
    return queries


def test_dashboards_are_sidecar_configmaps(tmp_path: Path) -> None:
    docs = template(tmp_path, MONITORING)
    boards = dashboards(docs)
    assert {b["title"] for b in boards.values()} == {
        "Watchkeeper / Alerts",
        "Watchkeeper / Notifications",
        "Watchkeeper / Scaling",
        "Watchkeeper / Operator health",
    }
    for board in boards.values():
        assert [v["name"] for v in board["templating"]["list"]] == ["datasource", "job"]
        assert all(p["targets"] for p in board["panels"])
    metric_names = {
        m for _, expr in panel_queries(docs) for m in re.findall(r"watchkeeper_\w+", expr)
    }
    assert metric_names, "the dashboards query the operator's metrics"
    [alerts_board] = [b for b in boards.values() if b["title"] == "Watchkeeper / Alerts"]
    alert_metrics = {
        m
        for panel in alerts_board["panels"]
        for target in panel["targets"]
        for m in re.findall(r"watchkeeper_\w+", target["expr"])
    }
    assert {
        "watchkeeper_alert",
        "watchkeeper_alert_transitions_total",
        f"{ACKNOWLEDGED}_bucket",
        f"{RESOLVED}_bucket",
    } <= alert_metrics


def test_servicemonitor_and_rule_install_against_prometheus_operator_crds(
    kubeconfig, namespace, tmp_path: Path
) -> None:
    crds = _prometheus_operator_crds()
    for kind in ("servicemonitors", "prometheusrules"):
        kubectl(
            kubeconfig,
            "apply",
            "--server-side",
            "-f",
            str(crds / f"monitoring.coreos.com_{kind}.yaml"),
        )
        wait_established(kubeconfig, [f"{kind}.monitoring.coreos.com"])
    release = namespace_name("wkmon")
    values = tmp_path / "values.json"
    values.write_text(json.dumps({**MONITORING, "rbac": {"userRoles": False}}))
    helm(
        "install",
        release,
        str(CHART),
        "-n",
        namespace,
        "-f",
        str(values),
        "--kubeconfig",
        str(kubeconfig),
    )
    try:
        name = f"{release}-watchkeeper"
        monitor = json.loads(
            kubectl(kubeconfig, "get", "servicemonitor", name, "-n", namespace, "-o", "json").stdout
        )
        assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
        rule = json.loads(
            kubectl(kubeconfig, "get", "prometheusrule", name, "-n", namespace, "-o", "json").stdout
        )
        alerts = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
        assert {"WatchkeeperDown", "WatchkeeperPrometheusUnreachable"} <= alerts.keys()
        assert all(r["labels"]["team"] == "platform" for r in alerts.values())
        listed = kubectl(
            kubeconfig,
            "get",
            "configmap",
            "-n",
            namespace,
            "-l",
            "grafana_dashboard=1",
            "-o",
            "name",
        ).stdout.split()
        assert len(listed) == 4
    finally:
        helm("uninstall", release, "-n", namespace, "--kubeconfig", str(kubeconfig), check=False)


def _scenario(kubeconfig: Path, namespace: str, receiver_url: str) -> list[dict[str, Any]]:
    """Deliveries that succeed, fail and are skipped; evaluations that fire and that are
    rejected; a ScalingPolicy that scales."""
    channel = lambda name, spec: watchkeeper_object("NotificationChannel", name, spec)  # noqa: E731
    policy = lambda name, spec: watchkeeper_object("AlertPolicy", name, spec)  # noqa: E731
    fires = {"comparison": "GreaterThan", "thresholds": [{"severity": "Warning", "value": 1}]}
    return [
        channel("ok", {"type": "Webhook", "webhook": {"url": f"{receiver_url}/ok"}}),
        channel(
            "broken",
            {
                "type": "Webhook",
                "webhook": {"url": f"{receiver_url}/broken"},
                "retry": {"maxAttempts": 1},
            },
        ),
        channel(
            "critical-only", {"type": "Log", "log": {"level": "INFO"}, "minSeverity": "Critical"}
        ),
        policy(
            "fires",
            {
                **fires,
                "query": "vector(5)",
                "evaluationInterval": "1s",
                "routing": {"channels": ["ok", "broken", "critical-only"]},
            },
        ),
        policy("rejected", {**fires, "query": "sum(", "evaluationInterval": "1s"}),
        watchkeeper_object(
            "ScalingPolicy",
            "web",
            {
                "targetRef": {"kind": "Deployment", "name": "web"},
                "maxReplicas": 3,
                "evaluationInterval": "1s",
                "metrics": [
                    {
                        "name": "q",
                        "query": "vector(2)",
                        "target": {"type": "AverageValue", "value": 1},
                    }
                ],
            },
        ),
    ]


def _series(*pods: str) -> str:
    return " or ".join(f'label_replace(vector(5), "pod", "{pod}", "", "")' for pod in pods)


def _acknowledge_and_resolve(
    kubeconfig: Path, namespace: str, custom_objects: Any, prometheus: LocalPrometheus
) -> None:
    """Two alerts of one policy are acknowledged, then resolve, one at a time: each
    observation in its own scrape, so the Alerts dashboard's rates are above zero."""
    fires = {"comparison": "GreaterThan", "thresholds": [{"severity": "Warning", "value": 1}]}

    def settles(*pods: str) -> None:
        query = _series(*pods) if pods else "vector(0)"
        spec = {**fires, "query": query, "evaluationInterval": "1s"}
        apply(kubeconfig, namespace, watchkeeper_object("AlertPolicy", "settles", spec))

    def count(metric: str) -> float:  # this namespace's: the operator may carry others
        found = prometheus.query(f'sum({metric}_count{{namespace="{namespace}"}})')
        return float(found[0]["value"][1]) if found else 0.0

    settles("a", "b")
    firing = wait_states(custom_objects, namespace, "settles", [("Firing", "Warning")] * 2)
    for n, alert in enumerate(firing, start=1):
        name = alert["metadata"]["name"]
        kubectl(kubeconfig, "annotate", "alert", name, "-n", namespace, "watchkeeper.io/ack=ann")
        eventually(lambda: count(ACKNOWLEDGED), lambda seen, n=n: seen >= n, timeout=30)
    for n, pods in enumerate([("b",), ()], start=1):
        settles(*pods)
        eventually(lambda: count(RESOLVED), lambda seen, n=n: seen >= n, timeout=30)


def test_every_dashboard_panel_and_rule_runs_against_a_scraped_operator(
    operator, cluster, kubeconfig, namespace, custom_objects, receiver, tmp_path: Path
) -> None:
    docs = template(tmp_path, SELF_MONITORING)
    operator.stop()  # this test's operator is the one its Prometheus scrapes
    prometheus = LocalPrometheus(tmp_path / "prometheus", "pending")
    watched = OperatorProcess(
        kubeconfig=cluster.kubeconfig,
        prometheus_url=prometheus.url,
        log_path=tmp_path / "operator.log",
        env={"WATCHKEEPER_RECHECK_INTERVAL": "1s"},
    )
    prometheus.scrape_target = urlparse(watched.metrics_url).netloc
    [rule] = objects(docs, "PrometheusRule")
    prometheus.set_rule_file("watchkeeper.yml", {"groups": rule["spec"]["groups"]})
    prometheus.start()
    try:
        watched.start()
        receiver.route("/broken", Reply(500))
        create_deployment(kubeconfig, namespace, "web")
        kubectl(
            kubeconfig,
            "apply",
            "-n",
            namespace,
            "-f",
            "-",
            manifest=_scenario(kubeconfig, namespace, receiver.url),
        )
        receiver.wait_for(1, "/ok")
        receiver.wait_for(1, "/broken")
        _acknowledge_and_resolve(kubeconfig, namespace, custom_objects, prometheus)
        # the alerts about the alerter, as AlertPolicies, reach the channel the user chose
        self_alerts = objects(docs, "AlertPolicy")
        for policy in self_alerts:
            policy["metadata"].pop("namespace")
        kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=self_alerts)
        eventually(
            lambda: {r.json()["alerts"][0]["labels"].get("alertname") for r in receiver.to("/ok")},
            lambda names: "watchkeeper-notifications-failing" in names,
            timeout=60,
        )

        loaded = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()
        [group] = loaded["data"]["groups"]
        assert {r["name"] for r in group["rules"]} == {
            r["alert"] for r in rule["spec"]["groups"][0]["rules"]
        }
        for rule_ in group["rules"]:
            assert rule_["health"] in ("ok", "unknown"), rule_  # unknown: not evaluated yet
            prometheus.query(rule_["query"])  # parses

        queries = panel_queries(docs)
        assert len(queries) >= 20

        def empty() -> list[str]:
            return [f"{title}: {expr}" for title, expr in queries if not prometheus.query(expr)]

        eventually(empty, lambda missing: not missing, timeout=90)
        # the Alerts dashboard's quantiles are numbers, not NaN from a rate of zero (for
        # this test's severity: alerts left in other namespaces may resolve once, unseen)
        for title, expr in queries:
            if title.startswith("Watchkeeper / Alerts / Time to"):
                found = prometheus.query(expr)
                values = [s["value"][1] for s in found if s["metric"].get("severity") == "Warning"]
                assert values and "NaN" not in values, (title, expr, found)
    finally:
        watched.stop()
        prometheus.stop()
