"""A ScalingPolicy's budget warnings as real Alerts, through the AlertPolicies' own path:
the state machine, the Alert writer (owner: the ScalingPolicy; label
`watchkeeper.io/policy`: its name), the notifier and the escalation every AlertPolicy
uses, given what `engine/scaling_budget.py` makes of the budget (the AlertPolicy spec the
warnings would be, one series per warning percentage)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.api import SCALING_POLICY
from watchkeeper.api.scaling_budget import BudgetStatus
from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.engine.alert_records import label_value
from watchkeeper.engine.alerts import evaluate, expired, rules_of
from watchkeeper.engine.scaling_budget import observed, warning_spec
from watchkeeper.kube.calls import KubeError
from watchkeeper.runtime.alert_writer import AlertWriter
from watchkeeper.runtime.notifier import AlertNotifier
from watchkeeper.runtime.services import PolicyRef, Services


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
