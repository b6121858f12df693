"""A ScalingPolicy's budget warnings as real Alerts, through the AlertPolicies' own path.

Each of `spec.budget.warnings` is one series (label `budget_percent`) whose value is the
percentage of the budget used: a Warning Alert fires while the spend reaches it and
resolves below it. The state machine, the Alert writer (owner: the ScalingPolicy; label
`watchkeeper.io/policy`: its name), the notifier and the escalation are the ones every
AlertPolicy uses, given the policy an AlertPolicy spec would be: `budget.routing` is its
routing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.api import SCALING_POLICY
from watchkeeper.api.alertpolicy import AlertPolicySpec, Comparison, Routing, Threshold
from watchkeeper.api.common import Severity
from watchkeeper.api.scaling_budget import BudgetStatus
from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.engine.alert_records import label_value
from watchkeeper.engine.alerts import Observation, evaluate, expired, rules_of
from watchkeeper.engine.levels import Levels
from watchkeeper.kube.calls import KubeError
from watchkeeper.runtime.alert_writer import AlertWriter
from watchkeeper.runtime.notifier import AlertNotifier
from watchkeeper.runtime.services import PolicyRef, Services

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


class BudgetWarnings:
    """The warning Alerts of one ScalingPolicy: from its first evaluation with a budget (or
    with a status saying some warning was reached), rebuilt from the watched Alerts."""

    def __init__(self, services: Services, namespace: str, name: str) -> None:
        self.services = services
        self.namespace, self.name = namespace, name
        self._alerts: tuple[AlertWriter, AlertNotifier] | None = None

    async def evaluate(
        self,
        body: Mapping[str, Any],
        spec: ScalingPolicySpec,
        before: BudgetStatus | None,
        shown: BudgetStatus | None,
    ) -> None:
        """Run the warnings' state machine on this evaluation's spend (`shown`, reported
        after `before`); write the Alerts and notify."""
        if self._alerts is None:
            if spec.budget is None and not (before and before.warnings):
                return
            uid = str(body["metadata"].get("uid") or "")
            policy = PolicyRef(self.namespace, self.name, uid, SCALING_POLICY.kind)
            writer = AlertWriter(self.services, policy)
            writer.load(self.services.objects.alerts_of(self.namespace, label_value(self.name)))
            self._alerts = writer, AlertNotifier(self.services, policy, writer)
        writer, notifier = self._alerts
        if spec.budget is None and not writer.records:
            return
        at = datetime.now(UTC).replace(microsecond=0)
        alerting = warning_spec(spec)
        result = evaluate(writer.instances, observed(spec, shown), rules_of(alerting), at)
        retention = timedelta(seconds=self.services.config.alert_retention)
        try:
            await writer.apply(alerting, result, expired(result.instances, retention, at), at)
        except KubeError as failure:  # held in the writer; the next evaluation writes it
            self.services.health.report("kubernetes", False, str(failure))
        if writer.instances:
            notifier.kick(alerting, at)

    @property
    def notifier(self) -> AlertNotifier | None:
        """The notifier of the warning Alerts (acknowledgements go to it), once there is one."""
        return None if self._alerts is None else self._alerts[1]

    async def stop(self) -> None:
        if self._alerts is not None:
            await self._alerts[1].stop()
