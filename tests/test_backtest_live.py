"""The backtest is the operator: a policy runs live (operator, real Prometheus, scripted
exporter) for about a minute of metric changes; `watchkeeper backtest` then replays the
same window against the same Prometheus, and every transition (series, change, severity,
instant) is identical.

Every metric change lands a quarter interval after an evaluation instant, so each scrape
that an instant can see already holds the new value (scrapes are every second, the
interval is 2s): the live query and the range query read the same samples."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.alerting import alerts, apply, policy, policy_condition
from tests.test_scalingpolicy import apply as apply_scaling
from tests.test_scalingpolicy import deployment, scaling_policy, wait_condition
from tests.test_scalingpolicy import status as scaling_status
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.cli import main
from watchkeeper.engine.schedule import next_due, offset_of

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRIC = "wk_backtest_live"
INTERVAL = timedelta(seconds=2)
# (intervals to hold, value of pod a, value of pod b; None removes the series)
SCRIPT = [
    (3, 1, 1),
    (4, 7, 1),  # a: Pending, then Firing Warning after `for`
    (3, 12, 7),  # a: SeverityChanged to Critical; b: Pending
    (1, 1, 7),  # a: below, kept firing by keepFiringFor; b: Firing
    (3, 1, 7),  # a: Resolved
    (1, 7, 1),  # a: Pending that clears before `for`; b: kept firing
    (3, 1, None),  # b: gone, Resolved
    (4, 12, 12),  # both: Pending, then Firing Critical
    (3, 1, 1),  # both: Resolved
]
CHANGES = ("startsAt", "Pending"), ("firingSince", "Firing"), ("resolvedAt", "Resolved")


class AlertRecorder(threading.Thread):
    """Every version of the policy's Alerts, polled far faster than they are written."""

    def __init__(self, api, namespace: str, policy_name: str) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace, self.policy = api, namespace, policy_name
        self.seen: list[dict] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.seen += [
                a.get("status") or {} for a in alerts(self.api, self.namespace, self.policy)
            ]
            time.sleep(0.2)

    def transitions(self) -> set[tuple[str, str, str | None, str]]:
        """What the versions show: each stamp once; a firing's severity as first written
        (a later version of the same firing may carry a changed severity)."""
        found: dict[tuple[str, str, str], str | None] = {}
        for status in self.seen:
            pod = status["labels"]["pod"]
            for field, change in CHANGES:
                if status.get(field):
                    severity = status["severity"] if change != "Pending" else None
                    found.setdefault((pod, change, status[field]), severity)
            if status.get("severityChangedAt"):
                key = (pod, "SeverityChanged", status["severityChangedAt"])
                found.setdefault(key, status["severity"])
        return {(pod, change, severity, at) for (pod, change, at), severity in found.items()}


def _backtested(report: dict) -> set[tuple[str, str, str | None, str]]:
    kept = {"Pending", "Firing", "SeverityChanged", "Resolved"}
    return {
        (
            t["labels"]["pod"],
            t["change"],
            t["severity"] if t["change"] != "Pending" else None,
            t["time"],
        )
        for t in report["transitions"]
        if t["change"] in kept
    }


def _set(exporter, a: float | None, b: float | None) -> None:
    for pod, value in (("a", a), ("b", b)):
        if value is None:
            exporter.remove(METRIC, {"pod": pod})
        else:
            exporter.set(METRIC, value, {"pod": pod})


def test_backtest_transitions_equal_the_live_operators(
    operator, prometheus, exporter, kubeconfig, custom_objects, namespace, tmp_path, capsys
):
    manifest = policy(
        "live",
        METRIC,
        thresholds=[{"severity": "Warning", "value": 5}, {"severity": "Critical", "value": 10}],
        evaluationInterval="2s",
        **{"for": "4s", "keepFiringFor": "2s"},
    )
    _set(exporter, 1, 1)
    prometheus.wait_for(METRIC, timeout=20)
    started = datetime.now(UTC)
    apply(kubeconfig, namespace, manifest)
    policy_condition(custom_objects, namespace, "live", "QuerySucceeded")
    recorder = AlertRecorder(custom_objects, namespace, "live")
    recorder.start()
    offset = offset_of(METRIC, INTERVAL)
    try:
        for hold, a, b in SCRIPT:
            change_at = next_due(datetime.now(UTC), INTERVAL, offset) + INTERVAL / 4
            time.sleep(max((change_at - datetime.now(UTC)).total_seconds(), 0))
            _set(exporter, a, b)
            time.sleep(hold * INTERVAL.total_seconds() - INTERVAL.total_seconds() / 2)
        time.sleep(3 * INTERVAL.total_seconds())  # the last evaluations get written
    finally:
        recorder.done.set()
        recorder.join()
        exporter.remove(METRIC, {"pod": "a"})
        exporter.remove(METRIC, {"pod": "b"})
    ended = datetime.now(UTC) - INTERVAL

    source = tmp_path / "policy.yaml"
    source.write_text(
        yaml.safe_dump({**manifest, "metadata": {"name": "live", "namespace": namespace}})
    )
    capsys.readouterr()
    code = main(
        [
            "backtest",
            "-f",
            str(source),
            "--from",
            format_time(started),
            "--to",
            format_time(ended),
            "--prometheus",
            prometheus.url,
            "-o",
            "json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)["reports"][0]
    ours = _backtested(report)
    live = {t for t in recorder.transitions() if parse_time(t[3]) <= ended}
    changes = {t[1] for t in ours}
    assert changes == {"Pending", "Firing", "SeverityChanged", "Resolved"}, ours
    assert len(ours) >= 10
    assert ours == live, f"backtest only: {sorted(ours - live)}; live only: {sorted(live - ours)}"
    assert not report["dataProblems"]["failedQueries"]


SCALE_METRIC = "wk_backtest_scale"
# (intervals to hold, total load; the target is 100 per replica)
LOAD = [(3, 150), (5, 700), (4, 1200), (5, 50), (3, 50)]
STEP_LIMITED = {
    "stabilizationWindow": "0s",
    "policies": [{"type": "Pods", "value": 3, "period": "3s"}],
}


def test_backtest_scale_events_equal_the_live_operators(
    operator, prometheus, exporter, kubeconfig, custom_objects, apps_v1, namespace, tmp_path, capsys
):
    exporter.set(SCALE_METRIC, 150)
    prometheus.wait_for(SCALE_METRIC, timeout=20)
    deployment(apps_v1, namespace, "web", 2)
    manifest = scaling_policy(
        "live",
        SCALE_METRIC,
        minReplicas=1,
        maxReplicas=8,
        evaluationInterval="2s",
        behavior={"scaleUp": STEP_LIMITED, "scaleDown": STEP_LIMITED},
    )
    started = datetime.now(UTC)
    apply_scaling(kubeconfig, namespace, manifest)
    created = wait_condition(custom_objects, namespace, "live", "ScalingActive", "ValidMetricFound")
    uid = created["metadata"]["uid"]
    offset = offset_of(uid, INTERVAL)
    try:
        for hold, load in LOAD:
            change_at = next_due(datetime.now(UTC), INTERVAL, offset) + INTERVAL / 4
            time.sleep(max((change_at - datetime.now(UTC)).total_seconds(), 0))
            exporter.set(SCALE_METRIC, load)
            time.sleep(hold * INTERVAL.total_seconds() - INTERVAL.total_seconds() / 2)
        time.sleep(INTERVAL.total_seconds())
    finally:
        exporter.remove(SCALE_METRIC)
    ended = datetime.now(UTC) - INTERVAL
    live = [
        h
        for h in scaling_status(custom_objects, namespace, "live").get("history", [])
        if parse_time(h["time"]) <= ended
    ]

    source = tmp_path / "scaling.yaml"
    metadata = {"name": "live", "namespace": namespace, "uid": uid}
    source.write_text(yaml.safe_dump({**manifest, "metadata": metadata}))
    capsys.readouterr()
    code = main(
        [
            "backtest",
            "-f",
            str(source),
            "--from",
            format_time(started),
            "--to",
            format_time(ended),
            "--prometheus",
            prometheus.url,
            "--replicas",
            "2",
            "-o",
            "json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)["reports"][0]
    ours = report["scaleEvents"]
    assert len(ours) >= 4 and max(e["to"] for e in ours) == 8 and ours[-1]["to"] == 1
    # each evaluation, live and replayed, is made at its due instant on the policy's grid
    assert [(e["time"], e["from"], e["to"], e["reason"]) for e in ours] == [
        (h["time"], h["from"], h["to"], h["reason"]) for h in live
    ]
