"""End to end: a ScalingPolicy's budget caps the replicas it sets (spec.replicas, status,
the BudgetLimited condition and Events), from a per-replica cost or a cost query a real
Prometheus answers; the API server rejects budgets and costs that make no sense."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kubectl import kubectl
from tests.test_scalingpolicy import scaling_policy

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

COST = {"perReplicaHourly": "0.5"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"budget": {"hourly": 3}}, "budget needs cost"),
        ({"cost": {"perReplicaHourly": 0}}, "more than 0"),
        ({"cost": {"perReplicaHourly": "-0.5"}}, "more than 0"),
        ({"cost": {"perReplicaHourly": 10**12}}, "at most 1e9"),
        ({"cost": {"perReplicaHourly": 0.35}}, "must be of type integer,string"),
        ({"cost": {"perReplicaHourly": "cheap"}}, "decimal string"),
        ({"cost": COST, "budget": {"hourly": "0"}}, "more than 0"),
        ({"cost": COST, "budget": {"monthly": "5e10"}}, "at most 1e9"),
        ({"cost": COST, "budget": {"hourly": 3, "monthly": 2000}}, "exactly one of"),
        ({"cost": COST, "budget": {}}, "exactly one of"),
        ({"cost": {"perReplicaHourly": 1, "query": "x"}}, "exactly one of"),
        ({"cost": COST, "budget": {"hourly": 3, "warnings": [0, 90]}}, "warnings[0]"),
        ({"cost": COST, "budget": {"hourly": 3, "warnings": [101]}}, "warnings[0]"),
        ({"cost": COST, "budget": {"hourly": 3, "warnings": [75, 75]}}, "Duplicate value"),
    ],
    ids=[
        "no-cost",
        "zero-cost",
        "negative-cost",
        "huge-cost",
        "float",
        "word",
        "zero-budget",
        "huge-budget",
        "both",
        "neither",
        "two-costs",
        "warning-0",
        "warning-101",
        "warning-twice",
    ],
)
def test_the_api_server_rejects(kubeconfig, namespace, changes: dict[str, Any], message: str):
    manifest = scaling_policy("bad", "x", **changes)
    result = kubectl(
        kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=manifest, check=False
    )
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(
    "changes",
    [
        {"cost": {"perReplicaHourly": 1}, "budget": {"hourly": 3}},
        {"cost": {"perReplicaHourly": "0.35"}, "budget": {"monthly": "2000.50"}},
        {"cost": {"query": "sum(x)"}, "budget": {"hourly": 10**9, "warnings": [50, 100]}},
        {"cost": {"perReplicaHourly": 2}},
    ],
    ids=["integers", "strings", "query", "cost-alone"],
)
def test_the_api_server_accepts(kubeconfig, namespace, changes: dict[str, Any]):
    manifest = scaling_policy("good", "x", **changes)
    kubectl(kubeconfig, "apply", "--dry-run=server", "-n", namespace, "-f", "-", manifest=manifest)
