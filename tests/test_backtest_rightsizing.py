"""A backtest's right-sizing advice from scripted answers: the report carries the engine's
advice at the window's end and the replica count the replay ends with, or the failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.test_backtest import scripted_scaling
from watchkeeper.backtest import runs
from watchkeeper.backtest.manifests import Bundle, documents
from watchkeeper.cli.backtest import render

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(minutes=30)
MI, GI = 1024**2, 1024**3
MANIFEST = """
kind: ScalingPolicy
metadata: {name: checkout, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: checkout}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - {name: rps, query: 'sum(rate(http[2m]))', target: {type: AverageValue, value: 100}}
  rightsizing: {costPerCpuCoreHour: 0.05}
"""


def _report(tmp_path, answers, error=""):
    path = tmp_path / "policy.yaml"
    path.write_text(MANIFEST)
    asked = []

    def advice(spec, namespace, at):
        asked.append((namespace, at, spec.rightsizing.percentile))
        return answers, error

    doc = Bundle.of(documents([str(path)]), "default").policies[0]
    report = runs.scaling_policy(doc, scripted_scaling, START, END, "default", 3, None, advice)
    assert asked == [("shop", END, 0.95)]
    return report


def test_the_advice_is_at_the_replay_s_final_replicas(tmp_path):
    answers = {
        "cpuUsage": {"app": 0.25},
        "memoryUsage": {"app": 200 * MI},
        "cpuRequests": {"app": 1.0},
        "memoryRequests": {"app": GI},
    }
    report = _report(tmp_path, answers)
    advice = report["rightsizing"]
    final = report["summary"]["finalReplicas"]
    assert advice["replicas"] == final == 2
    assert advice["containers"][0]["cpu"]["recommended"] == 0.288
    assert advice["savedCoreHoursPerDay"] == round((1 - 0.288) * final * 24, 3)
    assert advice["savedCostPerDay"] == round(advice["savedCoreHoursPerDay"] * 0.05, 3)
    text = render([report], "text")
    assert "Right-sizing advice at 2 replicas:" in text
    assert "  app  memory  request 1024Mi  usage 200Mi  recommended 230Mi  saves " in text


def test_a_failed_query_is_reported_not_advised(tmp_path):
    report = _report(tmp_path, {}, "query cpuUsage: Prometheus unreachable: ConnectionError")
    assert report["rightsizing"]["containers"] == []
    text = render([report], "text")
    assert "Right-sizing advice: not computed: query cpuUsage: Prometheus unreachable" in text


def test_a_policy_without_the_block_gets_no_advice(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(MANIFEST.replace("  rightsizing: {costPerCpuCoreHour: 0.05}\n", ""))
    doc = Bundle.of(documents([str(path)]), "default").policies[0]
    report = runs.scaling_policy(
        doc, scripted_scaling, START, END, "default", 3, None, lambda *_: ({}, "")
    )
    assert "rightsizing" not in report
    assert "Right-sizing" not in render([report], "text")
