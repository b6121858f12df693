"""Keeps a policy's Alert objects in step with the state machine: create, update, delete,
Events on the policy. Writes only what changed; values refresh at most once a heartbeat."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, ALERT_POLICY, API_VERSION
from watchkeeper.api.alert import POLICY_LABEL, SEVERITY_LABEL, AlertState, AlertStatus
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.alert_records import (
    alert_name,
    instances_by_key,
    label_value,
    status_from_instance,
)
from watchkeeper.engine.alerts import Change, Evaluation, Instance, SeriesKey, Transition
from watchkeeper.engine.levels import PROMQL_OPERATORS
from watchkeeper.engine.templating import render_all
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.events import ObjectRef
from watchkeeper.runtime.acknowledgement import clear_acknowledgement
from watchkeeper.runtime.metrics import ALERT_WRITES
from watchkeeper.runtime.policy_status import FIELD_MANAGER
from watchkeeper.runtime.services import PolicyRef, Services

LOGGER = logging.getLogger("watchkeeper.alerts")
VOLATILE = ("value", "lastEvaluationTime")
SHOWN = ("summary", "description")


def _blank(value: Any) -> Any:
    """None, "" and {} all mean 'not set' in a status."""
    return value if value not in (None, "", {}) else None


class AlertWriter:
    """The Alert objects of one policy, as last written."""

    def __init__(self, services: Services, policy: PolicyRef) -> None:
        self.ref = policy
        self.kube = services.kube
        self.store = services.alerts
        self.events = services.events
        self.namespace = policy.namespace
        self.policy = policy.name
        self.heartbeat = timedelta(seconds=services.config.status_heartbeat)
        self.instances: dict[SeriesKey, Instance] = {}
        self.written: dict[str, dict[str, Any]] = {}
        self.written_at: dict[str, datetime] = {}
        self.template_errors: list[str] = []

    def load(self, alerts: Iterable[Mapping[str, Any]]) -> None:
        """Rebuild the state machine's memory from the Alerts the policy owns."""
        statuses: dict[str, AlertStatus] = {}
        for item in alerts:
            try:
                statuses[item["metadata"]["name"]] = AlertStatus.model_validate(
                    item.get("status") or {}
                )
            except ValidationError:
                continue  # not ours to understand; left alone
        self.instances = instances_by_key(statuses)
        for name, status in statuses.items():
            self.written[name] = status.to_api()

    def counts(self) -> tuple[int, int]:
        """(pending, firing)."""
        states = [i.state for i in self.instances.values()]
        return states.count(AlertState.PENDING), states.count(AlertState.FIRING)

    async def apply(
        self, spec: AlertPolicySpec, result: Evaluation, gone: list[SeriesKey], at: datetime
    ) -> None:
        self.template_errors = []
        for key, instance in result.instances.items():
            if key not in gone:
                await self._write(spec, instance, at)
        for key in [*result.dropped, *gone]:
            labels = (result.instances.get(key) or self.instances[key]).labels
            await self._delete(alert_name(self.policy, labels))
        for transition in result.transitions:
            await self._event(spec, transition, result.instances.get(transition.key))
        self.instances = {k: v for k, v in result.instances.items() if k not in gone}

    def _desired(self, spec: AlertPolicySpec, instance: Instance, at: datetime) -> dict[str, Any]:
        context = {
            "value": instance.value,
            "labels": {**spec.labels, **instance.labels},
            "threshold": instance.threshold,
            "severity": instance.severity.value if instance.severity else None,
            "state": instance.state.value,
            "policy": self.policy,
        }
        rendered, errors = render_all(spec.annotations, context)
        self.template_errors += errors
        status = status_from_instance(instance)
        status.update({name: rendered.pop(name, "") for name in SHOWN})
        status["annotations"] = rendered
        status["lastEvaluationTime"] = format_time(at)
        return status

    def _due(self, name: str, desired: dict[str, Any], at: datetime) -> bool:
        """Write when anything but the value changed, or the value after a heartbeat."""
        before = self.written.get(name)
        if before is None:
            return True
        steady = [k for k in desired if k not in VOLATILE]
        if any(_blank(before.get(k)) != _blank(desired[k]) for k in steady):
            return True
        last = self.written_at.get(name)
        return desired.get("value") != before.get("value") and (
            last is None or at - last >= self.heartbeat
        )

    async def _write(self, spec: AlertPolicySpec, instance: Instance, at: datetime) -> None:
        name = alert_name(self.policy, instance.labels)
        desired = self._desired(spec, instance, at)
        if not self._due(name, desired, at):
            return
        before = self.written.get(name)
        labels = {
            POLICY_LABEL: label_value(self.policy),
            SEVERITY_LABEL: desired["severity"] or "",
        }
        if before is None:
            owner = {"name": self.policy, "uid": self.ref.uid}
            await self.store.create(self.namespace, name, labels, owner)
            ALERT_WRITES.labels("create").inc()
        elif before.get("severity") != desired["severity"]:
            await self.store.patch(self.namespace, name, {"metadata": {"labels": labels}})
        await self.kube.apply_status(ALERT, self.namespace, name, desired, FIELD_MANAGER)
        ALERT_WRITES.labels("status").inc()
        if instance.state == AlertState.RESOLVED and before and before.get("state") != "Resolved":
            await clear_acknowledgement(self.kube, self.store, self.namespace, name)
        self.written[name], self.written_at[name] = desired, at

    async def _delete(self, name: str) -> None:
        await self.store.delete(self.namespace, name)
        ALERT_WRITES.labels("delete").inc()
        self.written.pop(name, None)
        self.written_at.pop(name, None)

    async def _event(
        self, spec: AlertPolicySpec, transition: Transition, instance: Instance | None
    ) -> None:
        if instance is None or transition.change not in (
            Change.FIRING,
            Change.RESOLVED,
            Change.SEVERITY_CHANGED,
        ):
            return
        name = alert_name(self.policy, instance.labels)
        labels = ", ".join(f"{k}={v}" for k, v in sorted(instance.labels.items())) or "no labels"
        value = "no value" if instance.value is None else f"{instance.value:g}"
        comparison = PROMQL_OPERATORS.get(spec.comparison, "?")
        bound = (
            ""
            if instance.threshold is None or math.isnan(instance.threshold)
            else (f" {comparison} {instance.threshold:g}")
        )
        if transition.change == Change.RESOLVED:
            message = f"Alert {name} ({labels}) resolved; value {value}"
            await self._post("Normal", "Resolved", message)
            return
        severity = instance.severity.value if instance.severity else "?"
        if transition.change == Change.FIRING:
            message = f"Alert {name} ({labels}) is firing at {severity}: {value}{bound}"
        else:
            previous = transition.previous_severity.value if transition.previous_severity else "?"
            message = (
                f"Alert {name} ({labels}) changed from {previous} to {severity}: {value}{bound}"
            )
        await self._post("Warning", transition.change.value, message)

    async def _post(self, type_: str, reason: str, message: str) -> None:
        about = ObjectRef(API_VERSION, ALERT_POLICY.kind, self.namespace, self.policy, self.ref.uid)
        try:
            await self.events.post(about, type_, reason, message)
        except KubeError as error:  # an Event is worth a log line, not a failed evaluation
            LOGGER.warning(
                "AlertPolicy %s/%s: Event %s not posted: %s",
                self.namespace,
                self.policy,
                reason,
                error,
            )
