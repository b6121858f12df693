"""End to end: a ScalingPolicy's budget caps the replicas it sets (spec.replicas, status,
the BudgetLimited condition and Events), from a per-replica cost or a cost query a real
Prometheus answers; the API server rejects budgets and costs that make no sense."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.alerting import alerts, wait_states
from tests.alerting import events as alert_events
from tests.kubectl import kubectl, watchkeeper_object
from tests.test_scalingpolicy import (
    PLURAL,
    apply,
    deployment,
    replicas,
    scaling_policy,
    status,
    wait_condition,
    wait_event,
    wait_replicas,
)
from tests.waiting import condition, eventually, get_object, wait_ready

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

COST = {"perReplicaHourly": "0.5"}
# one metric per test: a value left in Prometheus by one test never steers the next
CAP_LOAD, WARN_LOAD, FLOOR_LOAD = "wk_budget_cap", "wk_budget_warn", "wk_budget_floor"
QUERY_LOAD, SPEND = "wk_budget_query", "wk_budget_spend"
FAST = {"scaleDown": {"stabilizationWindow": "0s"}}


def test_the_budget_caps_the_replicas_and_min_replicas_wins(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    exporter.set(CAP_LOAD, 600)  # 6 replicas' worth at 100 each
    deployment(apps_v1, namespace, "web", 3)
    budget = {"hourly": "2", "warnings": [50, 90]}  # 4 replicas at 0.5 an hour
    try:
        apply(
            kubeconfig,
            namespace,
            scaling_policy("web", CAP_LOAD, behavior=FAST, cost=COST, budget=budget),
        )
        capped = wait_condition(custom_objects, namespace, "web", "BudgetLimited", "CappedByBudget")
        expected = "capped by budget: 6 → 4; the budget pays for 4 replicas"
        assert condition(capped, "BudgetLimited")["message"] == expected
        assert condition(capped, "BudgetLimited")["status"] == "True"
        assert replicas(apps_v1, namespace, "web") == 4
        assert wait_event(core_v1, namespace, "web", "CappedByBudget")[:2] == (
            "Normal",
            "CappedByBudget",
        )
        rescale = wait_event(core_v1, namespace, "web", "SuccessfulRescale")
        assert rescale[2] == "New size: 4; reason: capped by budget: 6 → 4"
        shown = status(custom_objects, namespace, "web")
        assert shown["desiredReplicas"] == 4
        assert shown["budget"] == {
            "perReplicaHourly": "0.5",
            "spendPerHour": "2",
            "budgetPerHour": "2",
            "percentUsed": 100.0,
            "maxReplicas": 4,
            "cappedFrom": 6,
            "cappedTo": 4,
            "warnings": [50, 90],
        }

        exporter.set(CAP_LOAD, 300)  # 3 replicas: within the budget again
        wait_replicas(apps_v1, namespace, "web", 3, timeout=40)
        within = wait_condition(custom_objects, namespace, "web", "BudgetLimited", "WithinBudget")
        assert condition(within, "BudgetLimited")["status"] == "False"
        assert wait_event(core_v1, namespace, "web", "WithinBudget")[0] == "Normal"
        shown = eventually(
            lambda: status(custom_objects, namespace, "web")["budget"],
            lambda b: b.get("cappedFrom") is None,
        )
        assert (shown["spendPerHour"], shown["percentUsed"], shown["warnings"]) == (
            "1.5",
            75.0,
            [50],
        )

        apply(
            kubeconfig,
            namespace,
            scaling_policy("web", CAP_LOAD, behavior=FAST, minReplicas=5, cost=COST, budget=budget),
        )
        wait_replicas(apps_v1, namespace, "web", 5)
        small = wait_condition(custom_objects, namespace, "web", "BudgetLimited", "BudgetTooSmall")
        assert condition(small, "BudgetLimited")["message"] == (
            "the budget pays for 4 replicas, fewer than minReplicas 5: minReplicas wins and "
            "the budget cannot be met"
        )
        assert wait_event(core_v1, namespace, "web", "BudgetTooSmall")[0] == "Warning"
    finally:
        exporter.remove(CAP_LOAD)


def test_budget_warnings_are_alerts_that_notify_and_resolve(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter, receiver
):
    exporter.set(WARN_LOAD, 400)
    deployment(apps_v1, namespace, "web", 4)
    hook = watchkeeper_object(
        "NotificationChannel",
        "budget-hook",
        {
            "type": "Webhook",
            "webhook": {"url": f"{receiver.url}/budget"},
            "rateLimit": {"max": 100, "per": "1m"},
        },
    )
    budget = {"hourly": "5", "routing": {"channels": ["budget-hook"]}}  # 10 replicas
    policy = scaling_policy("web", WARN_LOAD, behavior=FAST, cost=COST, budget=budget)
    try:
        apply(kubeconfig, namespace, hook, policy)
        wait_condition(custom_objects, namespace, "web", "BudgetLimited", "WithinBudget")
        assert status(custom_objects, namespace, "web")["budget"]["percentUsed"] == 40.0
        assert alerts(custom_objects, namespace, "web") == []

        exporter.set(WARN_LOAD, 800)  # 8 replicas: 80% of the budget
        wait_replicas(apps_v1, namespace, "web", 8)
        [firing] = wait_states(custom_objects, namespace, "web", [("Firing", "Warning")])
        assert firing["metadata"]["ownerReferences"][0]["kind"] == "ScalingPolicy"
        shown = firing["status"]
        assert shown["labels"] == {"budget_percent": "75"}
        assert shown["summary"] == "ScalingPolicy web spends 80.0% of its budget (warning at 75%)"
        [sent] = receiver.wait_for(1, "/budget")
        message = sent.json()
        assert message["status"] == "firing"
        assert message["alerts"][0]["labels"]["alertname"] == "BudgetWarning"
        event = wait_event(core_v1, namespace, "web", "Firing")
        assert event[0] == "Warning" and firing["metadata"]["name"] in event[2]
        name = firing["metadata"]["name"]
        ack = {"metadata": {"annotations": {"watchkeeper.io/ack": "alice"}}}
        custom_objects.patch_namespaced_custom_object(
            "watchkeeper.io", "v1alpha1", namespace, "alerts", name, ack
        )
        eventually(
            lambda: get_object(custom_objects, "alerts", namespace, name)["status"],
            lambda found: (found.get("acknowledged") or {}).get("by") == "alice",
        )

        exporter.set(WARN_LOAD, 1000)  # 10 replicas: 100%, the 90% warning fires too
        wait_states(custom_objects, namespace, "web", [("Firing", "Warning")] * 2)
        exporter.set(WARN_LOAD, 500)  # 5 replicas: 50%, both resolve
        wait_states(custom_objects, namespace, "web", [("Resolved", "Warning")] * 2, timeout=40)
        eventually(
            lambda: [r.json()["status"] for r in receiver.to("/budget")],
            lambda found: found.count("resolved") == 2,
        )
    finally:
        exporter.remove(WARN_LOAD)


def test_a_budget_warning_escalates_but_raises_no_floor(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    exporter.set(FLOOR_LOAD, 400)
    deployment(apps_v1, namespace, "web", 4)
    scale_up = {"scale": {"scalingPolicyRef": "web", "minReplicas": 9}}
    oncall = watchkeeper_object(
        "EscalationPolicy", "oncall", {"steps": [{"after": "0s", "actions": [scale_up]}]}
    )
    budget = {"hourly": "5", "warnings": [30], "routing": {"escalationPolicyRef": "oncall"}}
    policy = scaling_policy("web", FLOOR_LOAD, behavior=FAST, cost=COST, budget=budget)
    try:
        apply(kubeconfig, namespace, oncall, policy)
        [firing] = wait_states(custom_objects, namespace, "web", [("Firing", "Warning")])
        name = firing["metadata"]["name"]
        eventually(
            lambda: [r for r, _ in alert_events(core_v1, namespace, name)],
            lambda reasons: "EscalationStep" in reasons,
        )
        time.sleep(3)
        assert status(custom_objects, namespace, "web").get("floors") in (None, [])
        assert replicas(apps_v1, namespace, "web") == 4
    finally:
        exporter.remove(FLOOR_LOAD)


def test_the_warnings_routing_must_exist(operator, kubeconfig, namespace, custom_objects, apps_v1):
    deployment(apps_v1, namespace, "web", 1)
    budget = {"hourly": "5", "routing": {"channels": ["nowhere"]}}
    apply(kubeconfig, namespace, scaling_policy("web", "x", cost=COST, budget=budget))
    missing = wait_ready(custom_objects, PLURAL, namespace, "web", "False", "ReferenceNotFound")
    assert "NotificationChannel nowhere" in condition(missing)["message"]


def test_a_cost_query_is_divided_by_the_current_replicas(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    exporter.set(QUERY_LOAD, 400)
    exporter.set(SPEND, 3)  # what the 4 replicas cost an hour, as OpenCost would say
    deployment(apps_v1, namespace, "web", 4)
    cost = {"query": f"sum({SPEND})"}
    try:
        apply(
            kubeconfig,
            namespace,
            scaling_policy("web", QUERY_LOAD, cost=cost, budget={"monthly": "4380"}),  # 6 an hour
        )
        within = wait_condition(custom_objects, namespace, "web", "BudgetLimited", "WithinBudget")
        assert condition(within, "BudgetLimited")["message"] == "the budget pays for 8 replicas"
        shown = status(custom_objects, namespace, "web")["budget"]
        assert (shown["perReplicaHourly"], shown["budgetPerHour"], shown["percentUsed"]) == (
            "0.75",
            "6",
            50.0,
        )
        assert replicas(apps_v1, namespace, "web") == 4
        wide = kubectl(kubeconfig, "get", "scalingpolicy", "web", "-n", namespace, "-o", "wide")
        assert "BUDGET%" in wide.stdout and " 50 " in wide.stdout
    finally:
        for metric in (QUERY_LOAD, SPEND):
            exporter.remove(metric)


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
