"""End to end: AlertPolicies evaluated by the operator against a real Prometheus and a
real API server; `kubectl get alerts` shows what is pending and firing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from devenv.operator import OperatorProcess
from tests.alerting import alerts, apply, events, policy, policy_condition, states, wait_states
from tests.kubectl import kubectl
from tests.waiting import eventually, get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_fire_change_severity_and_resolve(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter
):
    metric, labels = "wk_ap_fire", {"service": "checkout"}
    exporter.set(metric, 3, labels)
    annotations = {
        "summary": "{{ labels.service }} at {{ value }} ({{ severity }} over {{ threshold }})",
        "runbook": "https://rb/{{ policy }}",
    }
    apply(kubeconfig, namespace, policy("errors", metric, annotations=annotations))
    [alert] = wait_states(custom_objects, namespace, "errors", [("Firing", "Warning")])
    status = alert["status"]
    assert status["labels"] == {
        "service": "checkout",
        "job": "exporter",
        "instance": status["labels"]["instance"],
    }
    assert status["summary"] == "checkout at 3.0 (Warning over 2.0)"
    assert status["annotations"] == {"runbook": "https://rb/errors"}
    assert alert["metadata"]["labels"]["watchkeeper.io/severity"] == "Warning"
    assert alert["metadata"]["ownerReferences"][0]["name"] == "errors"
    assert alert["metadata"]["name"].startswith("errors-")

    exporter.set(metric, 7, labels)
    [alert] = wait_states(custom_objects, namespace, "errors", [("Firing", "Critical")])
    assert alert["status"]["threshold"] == 5
    listed = kubectl(
        kubeconfig, "get", "alerts", "-n", namespace, "-l", "watchkeeper.io/severity=Critical"
    ).stdout
    assert "Critical" in listed and "Firing" in listed and "errors" in listed
    header = listed.splitlines()[0].split()
    assert header == ["NAME", "SEVERITY", "STATE", "VALUE", "POLICY", "ACK", "AGE", "SILENCED"]

    exporter.set(metric, 3, labels)
    wait_states(custom_objects, namespace, "errors", [("Firing", "Warning")])
    exporter.set(metric, 1, labels)
    [alert] = wait_states(custom_objects, namespace, "errors", [("Resolved", "Warning")])
    assert alert["status"]["resolvedAt"] >= alert["status"]["firingSince"]

    def transitions():  # Events are posted asynchronously, and timestamps have 1 s resolution
        found = [r for r, _ in events(core_v1, namespace, "errors")]
        return Counter(r for r in found if r in ("Firing", "SeverityChanged", "Resolved"))

    eventually(transitions, lambda c: c == {"Firing": 1, "SeverityChanged": 2, "Resolved": 1})
    eventually(
        lambda: get_object(custom_objects, "alertpolicies", namespace, "errors")["status"],
        lambda s: (s["pending"], s["firing"]) == (0, 0),
    )


def test_for_is_reset_when_the_value_dips(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_ap_for"
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, policy("slow", metric, **{"for": "5s"}))
    [first] = wait_states(custom_objects, namespace, "slow", [("Pending", "Warning")])
    exporter.set(metric, 1)
    wait_states(custom_objects, namespace, "slow", [])  # pending dropped, not resolved
    exporter.set(metric, 3)
    [second] = wait_states(custom_objects, namespace, "slow", [("Pending", "Warning")])
    assert second["status"]["startsAt"] > first["status"]["startsAt"]
    [fired] = wait_states(custom_objects, namespace, "slow", [("Firing", "Warning")], timeout=40)
    held = _when(fired["status"]["firingSince"]) - _when(fired["status"]["startsAt"])
    assert held.total_seconds() >= 5
    assert fired["status"]["startsAt"] == second["status"]["startsAt"]


def test_keep_firing_for_holds_then_resolves(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_ap_keep"
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, policy("flappy", metric, keepFiringFor="4s"))
    wait_states(custom_objects, namespace, "flappy", [("Firing", "Warning")])
    exporter.set(metric, 1)
    [held] = eventually(
        lambda: alerts(custom_objects, namespace, "flappy"),
        lambda a: bool(a) and bool(a[0]["status"].get("keepFiringSince")),
    )
    assert held["status"]["state"] == "Firing"
    [resolved] = wait_states(custom_objects, namespace, "flappy", [("Resolved", "Warning")])
    gap = _when(resolved["status"]["resolvedAt"]) - _when(held["status"]["keepFiringSince"])
    assert gap.total_seconds() >= 4


def test_each_series_is_its_own_alert(operator, kubeconfig, namespace, custom_objects, exporter):
    metric = "wk_ap_series"
    exporter.set(metric, 3, {"pod": "a"})
    exporter.set(metric, 7, {"pod": "b"})
    exporter.set(metric, 1, {"pod": "c"})
    apply(kubeconfig, namespace, policy("pods", metric))
    found = eventually(
        lambda: {
            a["status"]["labels"]["pod"]: (a["status"]["state"], a["status"]["severity"])
            for a in alerts(custom_objects, namespace, "pods")
        },
        lambda s: s == {"a": ("Firing", "Warning"), "b": ("Firing", "Critical")},
    )
    assert found
    exporter.remove(metric, {"pod": "b"})  # a deleted pod: its alert must not live forever
    eventually(
        lambda: {
            a["status"]["labels"]["pod"]: a["status"]["state"]
            for a in alerts(custom_objects, namespace, "pods")
        },
        lambda s: s == {"a": "Firing", "b": "Resolved"},
    )
    eventually(
        lambda: get_object(custom_objects, "alertpolicies", namespace, "pods")["status"],
        lambda s: (s["pending"], s["firing"]) == (0, 1),
    )


def test_no_data_alerting_and_keep_state(operator, kubeconfig, namespace, custom_objects, exporter):
    apply(kubeconfig, namespace, policy("absent", "wk_ap_never_exported", noDataState="Alerting"))
    [alert] = wait_states(custom_objects, namespace, "absent", [("Firing", "Critical")])
    assert alert["status"]["labels"] == {"watchkeeper_reason": "NoData"}
    policy_condition(custom_objects, namespace, "absent", "NoData")

    metric = "wk_ap_keep_state"
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, policy("kept", metric, noDataState="KeepState"))
    wait_states(custom_objects, namespace, "kept", [("Firing", "Warning")])
    exporter.remove(metric)
    policy_condition(custom_objects, namespace, "kept", "NoData")
    time.sleep(2)
    assert states(custom_objects, namespace, "kept") == [("Firing", "Warning")]


def test_prometheus_outage_keeps_state_and_says_why(
    operator, kubeconfig, namespace, custom_objects, exporter, prometheus
):
    metric = "wk_ap_outage"
    exporter.set(metric, 7)
    apply(kubeconfig, namespace, policy("outage", metric))
    wait_states(custom_objects, namespace, "outage", [("Firing", "Critical")])
    prometheus.stop()
    try:
        cond = policy_condition(custom_objects, namespace, "outage", "PrometheusUnavailable")
        assert cond["status"] == "False" and "unreachable" in cond["message"]
        time.sleep(2)
        assert states(custom_objects, namespace, "outage") == [("Firing", "Critical")]
    finally:
        prometheus.start()
        prometheus.wait_for_scrape()
    policy_condition(custom_objects, namespace, "outage", "QuerySucceeded")
    assert states(custom_objects, namespace, "outage") == [("Firing", "Critical")]


def test_bad_promql_shows_prometheus_message(operator, kubeconfig, namespace, custom_objects):
    apply(kubeconfig, namespace, policy("broken", "sum(rate(http_requests_total[5m])"))
    cond = policy_condition(custom_objects, namespace, "broken", "QueryRejected")
    assert "parse error" in cond["message"]
    last = get_object(custom_objects, "alertpolicies", namespace, "broken")["status"][
        "lastEvaluation"
    ]
    assert "parse error" in last["error"]


def test_acknowledgement_three_ways_and_cleared_on_resolve(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_ap_ack"
    for pod in ("a", "b", "c"):
        exporter.set(metric, 3, {"pod": pod})
    apply(kubeconfig, namespace, policy("ack", metric))
    found = eventually(
        lambda: alerts(custom_objects, namespace, "ack"),
        lambda a: len(a) == 3 and all(x["status"]["state"] == "Firing" for x in a),
    )
    name = {a["status"]["labels"]["pod"]: a["metadata"]["name"] for a in found}

    kubectl(
        kubeconfig,
        "patch",
        "alert",
        name["a"],
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"acknowledgement":{"by":"alice","comment":"on it"}}}',
    )
    kubectl(kubeconfig, "annotate", "alert", name["b"], "-n", namespace, "watchkeeper.io/ack=bob")
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "watchkeeper",
            "ack",
            name["c"],
            "-n",
            namespace,
            "--by",
            "carol",
            "--comment",
            "rollback",
        ],
        env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "acknowledged by carol" in cli.stdout

    def acks():
        return {
            a["status"]["labels"]["pod"]: (a["status"].get("acknowledged") or {}).get("by")
            for a in alerts(custom_objects, namespace, "ack")
        }

    eventually(acks, lambda s: s == {"a": "alice", "b": "bob", "c": "carol"})
    listed = kubectl(kubeconfig, "get", "alert", name["a"], "-n", namespace).stdout
    assert "alice" in listed
    recorded = get_object(custom_objects, "alerts", namespace, name["a"])["status"]["acknowledged"]
    assert recorded["comment"] == "on it" and recorded["time"]

    exporter.set(metric, 1, {"pod": "a"})
    eventually(
        lambda: get_object(custom_objects, "alerts", namespace, name["a"]),
        lambda a: (
            a["status"]["state"] == "Resolved"
            and "acknowledged" not in a["status"]
            and not (a.get("spec") or {}).get("acknowledgement")
        ),
    )


def test_resolved_alerts_are_deleted_after_retention(
    operator, cluster, prometheus, kubeconfig, namespace, custom_objects, exporter, tmp_path
):
    operator.stop()
    short = OperatorProcess(
        kubeconfig=cluster.kubeconfig,
        prometheus_url=prometheus.url,
        log_path=tmp_path / "op.log",
        env={"WATCHKEEPER_ALERT_RETENTION": "3s", "WATCHKEEPER_RECHECK_INTERVAL": "1s"},
    )
    short.start()
    try:
        metric = "wk_ap_retention"
        exporter.set(metric, 3)
        apply(kubeconfig, namespace, policy("brief", metric))
        wait_states(custom_objects, namespace, "brief", [("Firing", "Warning")])
        exporter.set(metric, 1)
        wait_states(custom_objects, namespace, "brief", [("Resolved", "Warning")])
        wait_states(custom_objects, namespace, "brief", [], timeout=20)
    finally:
        short.stop()


def test_restart_during_pending_neither_restarts_nor_skips_for(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_ap_restart_pending"
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, policy("patient", metric, **{"for": "8s"}))
    [pending] = wait_states(custom_objects, namespace, "patient", [("Pending", "Warning")])
    operator.kill()
    time.sleep(3)
    operator.start()
    up = datetime.now(UTC)
    [fired] = wait_states(custom_objects, namespace, "patient", [("Firing", "Warning")], timeout=40)
    assert fired["status"]["startsAt"] == pending["status"]["startsAt"]
    since = _when(fired["status"]["firingSince"])
    assert (since - _when(fired["status"]["startsAt"])).total_seconds() >= 8  # for not skipped
    # nor restarted: a `for` counted again from the restart could not end before up + 8s
    assert (since - up).total_seconds() < 8


def test_restart_during_firing_keeps_the_alert(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter
):
    metric = "wk_ap_restart_firing"
    exporter.set(metric, 7)
    apply(kubeconfig, namespace, policy("steady", metric))
    [before] = wait_states(custom_objects, namespace, "steady", [("Firing", "Critical")])
    operator.restart()
    time.sleep(3)
    [after] = wait_states(custom_objects, namespace, "steady", [("Firing", "Critical")])
    assert after["status"]["firingSince"] == before["status"]["firingSince"]
    assert [r for r, _ in events(core_v1, namespace, "steady")].count("Firing") == 1


def test_suspend_stops_evaluation_and_keeps_state(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_ap_suspend"
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, policy("paused", metric))
    wait_states(custom_objects, namespace, "paused", [("Firing", "Warning")])
    apply(kubeconfig, namespace, policy("paused", metric, suspend=True))
    policy_condition(custom_objects, namespace, "paused", "Suspended")
    exporter.set(metric, 1)
    time.sleep(3)
    assert states(custom_objects, namespace, "paused") == [("Firing", "Warning")]
    apply(kubeconfig, namespace, policy("paused", metric))
    wait_states(custom_objects, namespace, "paused", [("Resolved", "Warning")])


def test_no_writes_while_nothing_changes(operator, kubeconfig, namespace, custom_objects, exporter):
    metric = "wk_ap_quiet"
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, policy("quiet", metric))
    wait_states(custom_objects, namespace, "quiet", [("Firing", "Warning")])
    time.sleep(2)
    policy_version = get_object(custom_objects, "alertpolicies", namespace, "quiet")["metadata"][
        "resourceVersion"
    ]
    alert_version = alerts(custom_objects, namespace, "quiet")[0]["metadata"]["resourceVersion"]
    time.sleep(4)  # four evaluations, same value: nothing to write
    assert (
        get_object(custom_objects, "alertpolicies", namespace, "quiet")["metadata"][
            "resourceVersion"
        ]
        == policy_version
    )
    assert (
        alerts(custom_objects, namespace, "quiet")[0]["metadata"]["resourceVersion"]
        == alert_version
    )


def test_adaptive_band_shows_the_threshold_used(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_ap_adaptive"
    exporter.set(metric, 10)
    adaptive = {
        "window": "1m",
        "step": "1s",
        "baselineGap": "10s",  # the band judges against the window ending 10 s back
        "minPoints": 3,  # learning until that window holds 3 points
        "sigmaFloor": {"absolute": 10},  # the series is flat: sigma is taken as 10
        "deviations": [{"severity": "Warning", "value": 2}, {"severity": "Critical", "value": 50}],
    }
    body = policy("anomaly", metric, adaptive=adaptive)
    del body["spec"]["thresholds"]
    apply(kubeconfig, namespace, body)
    policy_condition(custom_objects, namespace, "anomaly", "QuerySucceeded", timeout=60)
    assert alerts(custom_objects, namespace, "anomaly") == []
    exporter.set(metric, 50)
    [alert] = wait_states(custom_objects, namespace, "anomaly", [("Firing", "Warning")])
    assert alert["status"]["threshold"] == 30
    band = alert["status"]["band"]
    assert (band["state"], band["baseline"], band["sigma"], band["sigmaUsed"]) == (
        "Ready",
        10,
        0,
        10,
    )
    assert band["thresholds"] == [
        {"severity": "Warning", "value": 30},
        {"severity": "Critical", "value": 510},
    ]


def test_deleting_the_policy_deletes_its_alerts(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_ap_owned"
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, policy("owner", metric))
    wait_states(custom_objects, namespace, "owner", [("Firing", "Warning")])
    kubectl(kubeconfig, "delete", "alertpolicy", "owner", "-n", namespace)
    eventually(lambda: alerts(custom_objects, namespace, "owner"), lambda a: a == [], timeout=30)
