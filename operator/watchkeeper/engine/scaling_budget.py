"""The budget's cap on a ScalingPolicy's replicas, and the spend it reports. Pure.

The cap applies last, after the HPA's algorithm, the bounds, the fallback, the cooldown,
a hold and an override: the policy never sets more replicas than the budget pays for,
except that minReplicas (raised by schedules and escalation floors too) always wins; the
BudgetLimited condition then says the budget cannot be met. A replica's cost is the
spec's `perReplicaHourly`, or the cost query's result divided by the current replicas
(the last known one while the query fails or nothing runs). The warnings are an AlertPolicy
spec and its observations: one series per warning percentage, valued at the percentage
used, that breaches at its own percentage."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from watchkeeper.api.alertpolicy import AlertPolicySpec, Comparison, Routing, Threshold
from watchkeeper.api.common import INT32_MAX, ConditionStatus, Severity
from watchkeeper.api.scaling_budget import BudgetStatus, Cost
from watchkeeper.api.scalingpolicy import ScalingPolicySpec

from .alerts import Observation
from .levels import Levels
from .scaling_metrics import Reading
from .scaling_state import BUDGET_LIMITED, Draft

TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN
_MICROS = Decimal("0.000001")


def money(amount: Decimal) -> str:
    """An amount as status shows it: at most six decimals, no exponent, no trailing zeros."""
    return format(amount.quantize(_MICROS).normalize(), "f")


def per_replica_cost(
    cost: Cost, reading: Reading | None, current: int, last: str | None
) -> tuple[Decimal | None, str]:
    """What one replica costs per hour, and why it comes from `last` or is unknown."""
    if cost.per_replica_hourly is not None:
        return cost.per_replica_hourly, ""
    problem = "not queried yet" if reading is None else reading.problem()
    if not problem and current == 0:
        problem = "no replica runs to divide its result by"
    if not problem and reading is not None and reading.total is not None:
        return Decimal(repr(reading.total)) / current, ""
    if last is not None:
        return Decimal(last), f"no cost from the query ({problem}): using the last known one"
    return None, f"no cost from the query: {problem}"


def affordable(budget_per_hour: Decimal, per_replica: Decimal) -> int:
    """The most replicas the budget pays for."""
    if per_replica <= 0:
        return INT32_MAX
    return min(int(budget_per_hour // per_replica), INT32_MAX)


def cap(wanted: int, min_replicas: int, limit: int) -> int:
    """`wanted` bounded by the budget's `limit`; minReplicas wins over the budget."""
    return min(wanted, max(limit, min_replicas))


def crossed(percent: Decimal, warnings: Sequence[int]) -> list[int]:
    """The warning percentages the spend has reached."""
    return [w for w in warnings if percent >= w]


def budgeted(
    draft: Draft, spec: ScalingPolicySpec, reading: Reading | None, current: int, wanted: int
) -> int:
    """The replicas to set instead of `wanted` (spec.minReplicas is the effective one),
    with status.budget and the BudgetLimited condition."""
    cost, budget, min_replicas = spec.cost, spec.budget, spec.min_replicas
    if budget is None:
        draft.drop_condition(BUDGET_LIMITED)
    if cost is None:
        draft.status.budget = None
        return wanted
    last = draft.status.budget.per_replica_hourly if draft.status.budget else None
    per_replica, note = per_replica_cost(cost, reading, current, last)
    shown = BudgetStatus(budget_per_hour=money(budget.per_hour) if budget else None)
    draft.status.budget = shown
    if per_replica is None:
        if budget is not None:
            draft.condition(
                BUDGET_LIMITED, UNKNOWN, "CostUnknown", f"{note}; the budget caps nothing yet"
            )
        return wanted
    shown.per_replica_hourly = money(per_replica)
    if budget is None:
        shown.spend_per_hour = money(per_replica * wanted)
        return wanted
    limit = affordable(budget.per_hour, per_replica)
    allowed = cap(wanted, min_replicas, limit)
    percent = per_replica * allowed * 100 / budget.per_hour
    shown.spend_per_hour, shown.max_replicas = money(per_replica * allowed), limit
    shown.percent_used = float(round(percent, 2))
    shown.warnings = crossed(percent, budget.warnings)
    if allowed < wanted:
        shown.capped_from, shown.capped_to = wanted, allowed
    draft.condition(BUDGET_LIMITED, *_why(wanted, allowed, limit, min_replicas, note))
    return allowed


def _why(
    wanted: int, allowed: int, limit: int, min_replicas: int, note: str
) -> tuple[ConditionStatus, str, str]:
    pays = f"the budget pays for {limit} replica{'' if limit == 1 else 's'}"
    after = f" ({note})" if note else ""
    if limit < min_replicas:
        return (
            TRUE,
            "BudgetTooSmall",
            f"{pays}, fewer than minReplicas {min_replicas}: minReplicas wins and the "
            f"budget cannot be met{after}",
        )
    if allowed < wanted:
        return TRUE, "CappedByBudget", f"capped by budget: {wanted} → {allowed}; {pays}{after}"
    return FALSE, "WithinBudget", f"{pays}{after}"


PERCENT_LABEL = "budget_percent"
ALERTNAME = "BudgetWarning"
SUMMARY = (
    "ScalingPolicy {{ policy }} spends {{ value }}% of its budget "
    "(warning at {{ labels.budget_percent }}%)"
)


def warning_spec(spec: ScalingPolicySpec) -> AlertPolicySpec:
    """The AlertPolicy the budget warnings would be: one Warning per series at its own
    percentage (the threshold here is only the lowest, for the state machine's rules)."""
    budget = spec.budget
    lowest = min(budget.warnings, default=100) if budget else 100
    return AlertPolicySpec(
        query="the percentage of spec.budget the replicas spend",
        comparison=Comparison.GREATER_OR_EQUAL,
        thresholds=[Threshold(severity=Severity.WARNING, value=lowest)],
        labels={"alertname": ALERTNAME},
        annotations={"summary": SUMMARY},
        routing=(budget.routing if budget else None) or Routing(),
    )


def observed(spec: ScalingPolicySpec, shown: BudgetStatus | None) -> list[Observation] | None:
    """One series per warning percentage valued at the percentage used; None while the
    spend is unknown (the Alerts keep their state); none without a budget (all resolve)."""
    if spec.budget is None or spec.cost is None:
        return []
    if shown is None or shown.percent_used is None:
        return None
    return [
        Observation(
            {PERCENT_LABEL: str(w)},
            shown.percent_used,
            Levels(Comparison.GREATER_OR_EQUAL, ((Severity.WARNING, float(w)),)),
        )
        for w in spec.budget.warnings
    ]
