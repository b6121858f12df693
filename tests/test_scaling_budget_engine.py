"""The budget's cap, pure: how many replicas a budget pays for, the cap (minReplicas wins),
the warning percentages reached, a replica's cost from a cost query, and a policy driven
evaluation after evaluation into a cap, a budget it cannot meet, and back; the budget
warnings as the AlertPolicy state machine sees them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.test_scaling_engine import T0, Policy, make_spec
from watchkeeper.api.common import INT32_MAX
from watchkeeper.api.scaling_budget import Budget, BudgetStatus, Cost
from watchkeeper.backtest.history import scaling_answers
from watchkeeper.backtest.scaling import replay_scaling
from watchkeeper.engine.alerts import evaluate, rules_of
from watchkeeper.engine.scaling_budget import (
    affordable,
    cap,
    crossed,
    money,
    observed,
    per_replica_cost,
    warning_spec,
)
from watchkeeper.engine.scaling_metrics import Reading
from watchkeeper.prometheus.client import Sample
from watchkeeper.prometheus.ranges import RangeData, to_millis

D = Decimal


@pytest.mark.parametrize(
    ("budget", "per_replica", "expected"),
    [
        (D("4.5"), D("0.5"), 9),
        (D("4.99"), D("0.5"), 9),  # a part of a replica is no replica
        (D("0.4"), D("0.5"), 0),
        (D("1"), D("0.333333"), 3),
        (D(2000) / D(730), D("0.35"), 7),  # a monthly budget of 2000: 2.7397/h
        (D("1e9"), D("0.000001"), INT32_MAX),
        (D(5), D(0), INT32_MAX),  # a free replica: no limit
    ],
)
def test_replicas_a_budget_pays_for(budget, per_replica, expected):
    assert affordable(budget, per_replica) == expected


@pytest.mark.parametrize(
    ("wanted", "min_replicas", "limit", "expected"),
    [
        (12, 1, 9, 9),  # capped by budget: 12 → 9
        (8, 1, 9, 8),  # within the budget
        (9, 1, 9, 9),
        (12, 3, 2, 3),  # minReplicas wins over the budget
        (2, 3, 2, 2),  # below minReplicas already: the cap never raises
        (0, 0, 0, 0),
    ],
)
def test_cap(wanted, min_replicas, limit, expected):
    assert cap(wanted, min_replicas, limit) == expected


@pytest.mark.parametrize(
    ("percent", "warnings", "expected"),
    [
        (D(74.99), [75, 90], []),
        (D(75), [75, 90], [75]),
        (D(95), [75, 90], [75, 90]),
        (D(130), [75, 90, 100], [75, 90, 100]),
        (D(50), [], []),
    ],
)
def test_warnings_reached(percent, warnings, expected):
    assert crossed(percent, warnings) == expected


QUERY = Cost(query="sum(cost)")


@pytest.mark.parametrize(
    ("cost", "reading", "current", "last", "expected"),
    [
        (Cost(perReplicaHourly="0.35"), None, 0, None, (D("0.35"), "")),
        (QUERY, Reading((1.5, 0.5)), 4, None, (D("0.5"), "")),  # series added up, / 4
        (QUERY, Reading((0.0,)), 4, None, (D(0), "")),
        (
            QUERY,
            Reading(error="Prometheus is unavailable"),
            4,
            "0.4",
            (
                D("0.4"),
                "no cost from the query (Prometheus is unavailable): using the last known one",
            ),
        ),
        (
            QUERY,
            Reading(()),
            4,
            None,
            (None, "no cost from the query: the query returned no data"),
        ),
        (
            QUERY,
            Reading((3.0,)),
            0,
            None,
            (None, "no cost from the query: no replica runs to divide its result by"),
        ),
        (QUERY, Reading((-1.0,)), 4, "0.25", (D("0.25"), pytest.approx)),
    ],
)
def test_cost_of_a_replica(cost, reading, current, last, expected):
    found = per_replica_cost(cost, reading, current, last)
    if expected[1] is pytest.approx:
        assert found[0] == expected[0] and "negative value" in found[1]
    else:
        assert found == expected


def test_money_is_shown_plainly():
    assert [money(D(x)) for x in ("4.50", "1e3", "2.73972602739726")] == [
        "4.5",
        "1000",
        "2.739726",
    ]
    assert Budget(monthly=730).per_hour == 1


def test_capped_by_budget_then_within_it_again():
    spec = make_spec(
        behavior={"scaleDown": {"stabilizationWindow": "0s"}},
        cost={"perReplicaHourly": "0.5"},
        budget={"hourly": "4.5"},
    )
    policy = Policy(spec, current=6)
    events = policy.step(15, 600)
    assert policy.current == 6
    assert policy.condition("BudgetLimited") == ("False", "WithinBudget")
    assert policy.message("BudgetLimited") == "the budget pays for 9 replicas"
    assert events == []
    budget = policy.status.budget
    assert (budget.spend_per_hour, budget.budget_per_hour, budget.percent_used) == (
        "3",
        "4.5",
        66.67,
    )
    assert budget.warnings == [] and budget.capped_from is None

    events = policy.step(15, 1200)  # the metrics ask for 12
    assert policy.current == 9
    assert policy.condition("BudgetLimited") == ("True", "CappedByBudget")
    message = "capped by budget: 12 → 9; the budget pays for 9 replicas"
    assert policy.message("BudgetLimited") == message
    assert ("Normal", "CappedByBudget") in events and ("Normal", "SuccessfulRescale") in events
    assert policy.status.history[-1].reason == "capped by budget: 12 → 9"
    budget = policy.status.budget
    assert (budget.capped_from, budget.capped_to, budget.max_replicas) == (12, 9, 9)
    assert (budget.spend_per_hour, budget.percent_used, budget.warnings) == ("4.5", 100.0, [75, 90])
    assert policy.status.desired_replicas == 9
    assert policy.step(15, 1300) == []  # still capped: one Event per cap

    events = policy.step(15, 700)
    assert policy.current == 7
    assert policy.condition("BudgetLimited") == ("False", "WithinBudget")
    assert events.count(("Normal", "WithinBudget")) == 1
    assert policy.status.budget.warnings == [75]  # 3.5 of 4.5: 77.78%


def test_a_lowered_budget_scales_down_without_the_metrics():
    spec = make_spec(cost={"perReplicaHourly": 1}, budget={"hourly": 10})
    policy = Policy(spec, current=8)
    policy.step(15, 800)
    assert policy.current == 8
    policy.spec = make_spec(cost={"perReplicaHourly": 1}, budget={"hourly": 5})
    policy.step(15, 800)
    assert policy.current == 5
    assert policy.status.history[-1].reason == "capped by budget: 8 → 5"


def test_min_replicas_wins_and_the_condition_says_the_budget_cannot_be_met():
    spec = make_spec(minReplicas=3, cost={"perReplicaHourly": 1}, budget={"monthly": 1460})
    policy = Policy(spec, current=3)
    events = policy.step(15, 1000)
    assert policy.current == 3
    assert policy.condition("BudgetLimited") == ("True", "BudgetTooSmall")
    assert policy.message("BudgetLimited") == (
        "the budget pays for 2 replicas, fewer than minReplicas 3: minReplicas wins and "
        "the budget cannot be met"
    )
    assert ("Warning", "BudgetTooSmall") in events
    assert policy.status.budget.percent_used == 150.0


def test_a_cost_query_divides_by_the_current_replicas_and_remembers_the_last_cost():
    spec = make_spec(cost={"query": "sum(cost)"}, budget={"hourly": 3})
    policy = Policy(spec, current=4)
    policy.step(15, 1000, cost=Reading((2.0,)))  # 0.5 a replica: 6 pay for 3/h
    assert policy.current == 6
    assert policy.condition("BudgetLimited") == ("True", "CappedByBudget")
    assert policy.status.budget.per_replica_hourly == "0.5"
    events = policy.step(15, 1000, cost=Reading(error="Prometheus is unavailable"))
    assert policy.current == 6
    assert policy.status.budget.per_replica_hourly == "0.5"
    assert "using the last known one" in policy.message("BudgetLimited")
    assert events == []


def test_an_unknown_cost_caps_nothing_and_says_so():
    spec = make_spec(cost={"query": "sum(cost)"}, budget={"hourly": 3})
    policy = Policy(spec, current=5)
    events = policy.step(15, 1000, cost=Reading(()))
    assert policy.current == 10
    assert policy.condition("BudgetLimited") == ("Unknown", "CostUnknown")
    assert policy.message("BudgetLimited") == (
        "no cost from the query: the query returned no data; the budget caps nothing yet"
    )
    assert ("Warning", "CostUnknown") in events


def test_a_cost_without_a_budget_reports_the_spend_only():
    policy = Policy(make_spec(cost={"perReplicaHourly": "0.25"}), current=6)
    policy.step(15, 1200)
    assert policy.current == 12
    assert policy.status.budget.spend_per_hour == "3"
    assert policy.status.budget.budget_per_hour is None
    assert all(c.type != "BudgetLimited" for c in policy.status.conditions)


def test_dry_run_reports_the_cap_and_patches_nothing():
    spec = make_spec(dryRun=True, cost={"perReplicaHourly": 1}, budget={"hourly": 5})
    policy = Policy(spec, current=6)
    policy.step(15, 1200)
    assert policy.current == 6
    assert policy.status.desired_replicas == 5
    assert policy.status.history[-1].reason == "dry run: capped by budget: 12 → 5"


# --- budget warnings: an AlertPolicy's state machine over one series per percentage ----


def _warnings(spec, steps):
    """The (budget_percent, state) of each Alert after each step's percentage used
    (None: the spend is unknown); `spec` may change between steps as (spec, percent)."""
    instances: dict = {}
    seen = []
    for i, step in enumerate(steps):
        current, percent = step if isinstance(step, tuple) else (spec, step)
        shown = None if percent is None else BudgetStatus(percentUsed=percent)
        rules = rules_of(warning_spec(current))
        result = evaluate(instances, observed(current, shown), rules, T0 + timedelta(seconds=i))
        instances = result.instances
        seen.append(
            sorted((dict(x.labels)["budget_percent"], x.state.value) for x in instances.values())
        )
    return seen


BUDGETED = make_spec(cost={"perReplicaHourly": 1}, budget={"hourly": 10})


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([50.0], [[]]),
        ([75.0], [[("75", "Firing")]]),  # reaching a percentage fires at once
        ([95.0], [[("75", "Firing"), ("90", "Firing")]]),
        (
            [80.0, 60.0],
            [[("75", "Firing")], [("75", "Resolved")]],  # below it: resolved
        ),
        (
            [95.0, 80.0, None, 120.0],
            [
                [("75", "Firing"), ("90", "Firing")],
                [("75", "Firing"), ("90", "Resolved")],
                [("75", "Firing"), ("90", "Resolved")],  # unknown spend keeps the state
                [("75", "Firing"), ("90", "Firing")],
            ],
        ),
        (
            [80.0, (make_spec(cost={"perReplicaHourly": 1}), None)],
            [[("75", "Firing")], [("75", "Resolved")]],  # no budget any more: all resolve
        ),
    ],
    ids=["below", "at", "above-both", "resolve", "unknown-keeps", "budget-removed"],
)
def test_budget_warnings_fire_and_resolve_per_percentage(steps, expected):
    assert _warnings(BUDGETED, steps) == expected


def test_the_warnings_are_routed_and_labelled_as_an_alert_policy():
    routing = {"channels": ["oncall"], "escalationPolicyRef": "platform"}
    spec = make_spec(cost={"perReplicaHourly": 1}, budget={"hourly": 10, "routing": routing})
    alerting = warning_spec(spec)
    assert alerting.routing.channels == ["oncall"]
    assert alerting.routing.escalation_policy_ref == "platform"
    assert alerting.labels == {"alertname": "BudgetWarning"}
    assert warning_spec(BUDGETED).routing.channels == []
    refs = {(r.kind, r.name) for r in spec.references()}
    assert {("NotificationChannel", "oncall"), ("EscalationPolicy", "platform")} <= refs


class _History:
    """A range reader answering the cost query with 2 an hour and the metric with 1000."""

    def fetch(self, expr: str, instants, step) -> RangeData:
        value = 2.0 if expr == "sum(cost)" else 1000.0
        return RangeData(expr, {to_millis(at): [Sample({}, value)] for at in instants})


def test_a_backtest_replays_the_cost_query():
    spec = make_spec(cost={"query": "sum(cost)"}, budget={"hourly": 3})
    grid = [T0 + timedelta(seconds=15 * k) for k in range(2)]
    answers, failures = scaling_answers(_History(), spec, grid)  # type: ignore[arg-type]
    assert failures == [] and answers[0].cost == Reading((2.0,))
    replay = replay_scaling(spec, answers, 4)
    first = replay.events[0]
    # 2 an hour over 4 replicas: 6 pay for 3; the metric asks for 10, the rate limit 8
    assert (first.before, first.after, first.reason) == (4, 6, "capped by budget: 8 → 6")
