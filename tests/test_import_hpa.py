"""`watchkeeper import hpa`: HorizontalPodAutoscalers become ScalingPolicies with the same
target, bounds and behaviour; what has no PromQL equal is reported. From files, and live
from the cluster (`--from-cluster`), each result accepted by the real API server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.kubectl import kubectl
from watchkeeper.backtest.manifests import documents
from watchkeeper.cli import main
from watchkeeper.importers.hpa import convert_hpa, quantity

HPAS = Path(__file__).parent / "rules" / "hpa.yaml"


def _hpas():
    return documents([str(HPAS)])


@pytest.mark.parametrize(("text", "value"), [("150", 150), ("500m", 0.5), ("512Mi", 512 * 2**20)])
def test_quantities(text, value):
    assert quantity(text) == value


def test_an_hpa_carries_over_with_what_cannot_reported():
    result = convert_hpa(_hpas()[0])
    [policy] = result.policies
    spec = policy["spec"]
    assert spec["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 20)
    assert [m["name"] for m in spec["metrics"]] == ["http_requests_per_second", "memory"]
    assert spec["metrics"][0] == {
        "name": "http_requests_per_second",
        "query": 'sum(http_requests_per_second{job="checkout"})',
        "target": {"type": "AverageValue", "value": 150.0},
    }
    assert spec["behavior"]["scaleDown"] == {
        "stabilizationWindow": "600s",
        "policies": [{"type": "Percent", "value": 10, "period": "60s"}],
    }
    assert spec["behavior"]["scaleUp"]["selectPolicy"] == "Max"
    notes = result.notes["checkout"]
    assert any("Utilization target needs the pods' requests" in n for n in notes)
    assert any("must be deleted" in n for n in notes)


def test_an_hpa_with_nothing_in_promql_is_refused_with_the_reason():
    result = convert_hpa(_hpas()[1])
    assert not result.policies
    assert "Utilization" in result.refused["cpu-only"]


def _accepted(kubeconfig, namespace, policy):
    policy = {**policy, "metadata": {"name": policy["metadata"]["name"]}}
    applied = kubectl(
        kubeconfig,
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        manifest=policy,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr


@pytest.mark.cluster
def test_from_the_cluster_and_accepted_by_the_api_server(kubeconfig, namespace, capsys):
    hpa = {**_hpas()[0], "metadata": {"name": "checkout", "namespace": namespace}}
    kubectl(kubeconfig, "apply", "-f", "-", manifest=hpa)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    command = [sys.executable, "-m", "watchkeeper", "import", "hpa", "--from-cluster"]
    ran = subprocess.run(
        [*command, "-n", namespace], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    printed = ran.stdout
    [policy] = [d for d in yaml.safe_load_all(printed) if d]
    assert policy["kind"] == "ScalingPolicy" and policy["metadata"]["namespace"] == namespace
    assert "# not carried over: Resource metric cpu" in printed
    _accepted(kubeconfig, namespace, policy)
    assert main(["import", "hpa", str(HPAS), "-n", namespace]) == 0
    from_file = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    [file_spec] = [p["spec"] for p in from_file]
    live_spec = policy["spec"]
    # the API server fills in the HPA's defaults (e.g. scaleDown.selectPolicy: Max)
    for direction in ("scaleUp", "scaleDown"):
        written, served = file_spec["behavior"][direction], live_spec["behavior"][direction]
        assert served["policies"] == written["policies"]
        assert written.items() <= served.items()
    assert {k: v for k, v in file_spec.items() if k != "behavior"} == {
        k: v for k, v in live_spec.items() if k != "behavior"
    }
