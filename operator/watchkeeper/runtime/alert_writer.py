"""Keeps a policy's Alert objects in step with the state machine, and holds each Alert's
ledger: what it is owed (the outbox), what it was told, its repeat watermark, escalation
position and acknowledgement. State and ledger are one status, written by one field
manager in one server-side apply, so a transition and the obligations it creates are
durable together, and an obligation settled is removed in the same write that records it.

This process's record is the only source of what is owed: the notifier reads it, never
the API. A write the API server does not take stays in memory and is retried at the next
write of that Alert; nothing is re-derived, so nothing is lost or owed twice."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, API_VERSION
from watchkeeper.api.alert import (
    ESCALATION_LABEL,
    POLICY_LABEL,
    SEVERITY_LABEL,
    AlertState,
    AlertStatus,
    Obligation,
)
from watchkeeper.api.alertpolicy import AlertPolicySpec, Comparison
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.alert_records import (
    alert_name,
    instance_from_status,
    label_value,
    proof,
    proven,
    status_from_instance,
)
from watchkeeper.engine.alerts import (
    Change,
    Evaluation,
    Instance,
    SeriesKey,
    Transition,
    series_key,
)
from watchkeeper.engine.levels import PROMQL_OPERATORS
from watchkeeper.engine.notifications import Ledger, after_evaluation, routing_of
from watchkeeper.engine.silences import alert_labels
from watchkeeper.kube.calls import KubeError, KubeRejected, KubeUnavailable
from watchkeeper.kube.events import ObjectRef
from watchkeeper.runtime.acknowledgement import clear_acknowledgement
from watchkeeper.runtime.metrics import ALERT_WRITES, TIME_TO_RESOLVE, observe_settling
from watchkeeper.runtime.muting import Muting, asking_for_resolved, held_channels, muted
from watchkeeper.runtime.policy_status import FIELD_MANAGER
from watchkeeper.runtime.services import PolicyRef, Services

LOGGER = logging.getLogger("watchkeeper.alerts")
VOLATILE = ("value", "band", "lastEvaluationTime")
REFRESHED = ("value", "band")
"""Volatile fields whose change is written once a heartbeat has passed."""
SHOWN = ("summary", "description")
LEDGER = ("outbox", "notifications", "told", "lastRepeatAt", "escalation", "acknowledged")
NOT_STATE = (*LEDGER, "proof")
"""Status fields that are not the state: the ledger, and the proof (computed at each write)."""


def _blank(value: Any) -> Any:
    """None, "", [] and {} all mean 'not set' in a status."""
    return value if value not in (None, "", {}, []) else None


@dataclass
class AlertRecord:
    """One Alert as this process knows it: the status it wants and the status it wrote."""

    name: str
    instance: Instance
    state: dict[str, Any]
    ledger: Ledger = field(default_factory=Ledger)
    written: dict[str, Any] | None = None
    written_at: datetime | None = None
    escalating: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def desired(self) -> dict[str, Any]:
        return {**self.state, **self.ledger.to_api()}

    def durable(self) -> list[Obligation]:
        """The obligations the API server has: only those are acted on."""
        ids = {o.get("id") for o in (self.written or {}).get("outbox") or []}
        return [o for o in self.ledger.outbox if o.id in ids]


class AlertWriter:
    """The Alert objects of one policy, as wanted and as last written."""

    def __init__(self, services: Services, policy: PolicyRef) -> None:
        self.services = services
        self.policy = policy
        self.heartbeat = timedelta(seconds=services.config.status_heartbeat)
        self.records: dict[SeriesKey, AlertRecord] = {}
        self.template_errors: list[str] = []
        self.write_errors: list[str] = []
        """Why Alert writes of the last evaluation were refused (for the policy's status)."""

    @property
    def instances(self) -> dict[SeriesKey, Instance]:
        return {key: record.instance for key, record in self.records.items()}

    def by_name(self, name: str) -> AlertRecord | None:
        return next((r for r in self.records.values() if r.name == name), None)

    def load(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Rebuild the state machine's memory and the ledgers from the policy's Alerts: only
        from those whose proof shows that this operator wrote their status. Any other is
        never notified; its Alert is overwritten only if its series becomes active."""
        ns, key = self.policy.namespace, self.services.alert_key
        for item in alerts:
            name = item["metadata"]["name"]
            owners = item["metadata"].get("ownerReferences") or []
            if owners and all(o.get("kind") != self.policy.kind for o in owners):
                continue  # another kind's policy of the same name
            raw = item.get("status") or {}
            if raw and not proven(key, ns, name, self.policy.uid, raw):
                LOGGER.warning(
                    "Alert %s/%s: status not written by this operator (its proof does not "
                    "verify): never notified",
                    ns,
                    name,
                )
                continue
            try:
                status = AlertStatus.model_validate(raw)
            except ValidationError:
                LOGGER.warning(
                    "Alert %s/%s: status not understood, left alone", self.policy.namespace, name
                )
                continue
            instance = instance_from_status(status)
            if instance is None or alert_name(self.policy.name, instance.labels) != name:
                continue
            written = status.to_api()
            state = {k: v for k, v in written.items() if k not in NOT_STATE}
            labels = item["metadata"].get("labels") or {}
            self.records[series_key(instance.labels)] = AlertRecord(
                name,
                instance,
                state,
                Ledger.of(status),
                written,
                escalating=labels.get(ESCALATION_LABEL),
            )

    def counts(self) -> tuple[int, int]:
        """(pending, firing)."""
        states = [r.instance.state for r in self.records.values()]
        return states.count(AlertState.PENDING), states.count(AlertState.FIRING)

    async def apply(
        self, spec: AlertPolicySpec, result: Evaluation, gone: list[SeriesKey], at: datetime
    ) -> None:
        """Write an evaluation: state, the obligations its transitions create, Events.
        Every Alert is tried; after all were, an outage (KubeUnavailable) is raised."""
        refused_before = self.write_errors
        self.template_errors, self.write_errors = [], []
        if not (self.records or result.instances or result.dropped or result.transitions or gone):
            return  # nothing fires, nothing to write (most policies, most of the time)
        routing = routing_of(spec)
        muting = Muting.of(self.services, self.policy.namespace)
        held = held_channels(self.services, self.policy.namespace, spec.routing, at)
        asks = asking_for_resolved(self.services, self.policy.namespace)
        changes: dict[SeriesKey, list[Transition]] = {}
        for transition in result.transitions:
            changes.setdefault(transition.key, []).append(transition)
        failures: list[KubeError] = []
        for key, instance in result.instances.items():
            record = self.records.get(key)
            state = await self._desired(spec, instance, at)
            if record is None:
                record = AlertRecord(alert_name(self.policy.name, instance.labels), instance, state)
                self.records[key] = record
            severity = instance.severity.value if instance.severity else None
            labels = alert_labels({**spec.labels, **instance.labels}, self.policy.name, severity)
            state.update(muting.fields(labels, at))
            record.instance, record.state = instance, state
            record.ledger = after_evaluation(
                record.ledger,
                self.policy.namespace,
                record.name,
                instance,
                changes.get(key, []),
                routing,
                at,
                muted=muted(state),
                held=held,
                asks=asks,
            )
        writes = [(self._delete, key) for key in [*result.dropped, *gone]]
        writes += [(self._flush_due, key) for key in list(self.records) if key not in gone]
        for write, key in writes:
            failures += await self._attempt(key, write, at, refused_before)
            if any(isinstance(f, KubeUnavailable) for f in failures):
                break  # an outage: the rest would wait out their timeouts too
        for transition in result.transitions:
            await self._event(spec, transition, result.instances.get(transition.key))
        outage = [f for f in failures if isinstance(f, KubeUnavailable)]
        if outage:  # the evaluation loop holds the state and says so; the next write retries
            raise outage[0]

    async def _attempt(
        self,
        key: SeriesKey,
        action: Callable[[SeriesKey, datetime], Awaitable[None]],
        at: datetime,
        refused_before: list[str],
    ) -> list[KubeError]:
        """Run one Alert's write; a refused write costs the other Alerts nothing (it is
        listed in `write_errors`, and logged when it is new), an outage is returned to be
        raised."""
        record = self.records.get(key)
        try:
            await action(key, at)
        except KubeRejected as error:
            refusal = f"Alert {record.name if record else '?'}: {error}"
            self.write_errors.append(refusal)
            if refusal not in refused_before:
                LOGGER.warning(
                    "%s %s/%s: a write was refused: %s",
                    self.policy.kind,
                    self.policy.namespace,
                    self.policy.name,
                    refusal,
                )
            return [error]
        except KubeError as error:
            return [error]
        return []

    async def _desired(
        self, spec: AlertPolicySpec, instance: Instance, at: datetime
    ) -> dict[str, Any]:
        context = {
            "value": instance.value,
            "labels": {**spec.labels, **instance.labels},
            "threshold": instance.threshold,
            "severity": instance.severity.value if instance.severity else None,
            "state": instance.state.value,
            "policy": self.policy.name,
        }
        rendered, errors = await self.services.render(spec.annotations, context)
        self.template_errors += errors
        status = status_from_instance(instance)
        status.update({name: rendered.pop(name, "") for name in SHOWN})
        status["annotations"] = rendered
        status["lastEvaluationTime"] = format_time(at)
        return status

    def _due(self, record: AlertRecord, at: datetime) -> bool:
        """Write when anything but the value and band changed, or those after a heartbeat."""
        before, desired = record.written, record.desired()
        if before is None:
            return True
        steady = [k for k in desired if k not in VOLATILE]
        if any(_blank(before.get(k)) != _blank(desired.get(k)) for k in steady):
            return True
        last = record.written_at
        return any(desired.get(k) != before.get(k) for k in REFRESHED) and (
            last is None or at - last >= self.heartbeat
        )

    async def _flush_due(self, key: SeriesKey, at: datetime) -> None:
        record = self.records[key]
        if self._due(record, at):
            await self.flush(record, at)

    async def flush(self, record: AlertRecord, at: datetime | None = None) -> None:
        """Write the record's whole status (state and ledger) in one apply; create the Alert
        first if it was never written. On failure the record keeps what it wants."""
        async with record.lock:
            desired, before, instance = record.desired(), record.written, record.instance
            if before is not None and all(
                _blank(before.get(k)) == _blank(desired[k]) for k in desired
            ):
                return
            store, ns = self.services.alerts, self.policy.namespace
            labels = {
                POLICY_LABEL: label_value(self.policy.name),
                SEVERITY_LABEL: desired["severity"] or "",
            }
            if before is None:
                owner = {"name": self.policy.name, "uid": self.policy.uid, "kind": self.policy.kind}
                await store.create(ns, record.name, labels, owner)
                ALERT_WRITES.labels("create").inc()
            elif before.get("severity") != desired["severity"]:
                await store.patch(ns, record.name, {"metadata": {"labels": labels}})
            key, uid = self.services.alert_key, self.policy.uid
            signed = {**desired, "proof": proof(key, ns, record.name, uid, desired)}
            await self.services.kube.apply_status(ALERT, ns, record.name, signed, FIELD_MANAGER)
            ALERT_WRITES.labels("status").inc()
            resolved_now = (
                desired["state"] == "Resolved" and (before or {}).get("state") != "Resolved"
            )
            record.written, record.written_at = signed, at or record.written_at
        if resolved_now:
            observe_settling(TIME_TO_RESOLVE, ns, instance, instance.resolved_at)
        if resolved_now and before is not None:
            await clear_acknowledgement(store, ns, record.name)

    async def _delete(self, key: SeriesKey, at: datetime) -> None:
        """Delete a dropped or expired Alert once it owes nothing."""
        record = self.records.get(key)
        if record is None or record.ledger.outbox:
            return
        await self.services.alerts.delete(self.policy.namespace, record.name)
        ALERT_WRITES.labels("delete").inc()
        self.records.pop(key, None)

    async def post_event(self, about: ObjectRef, type_: str, reason: str, message: str) -> None:
        """An Event; one that fails is a log line, never a failed round."""
        try:
            await self.services.events.post(about, type_, reason, message)
        except KubeError as error:
            LOGGER.warning(
                "%s %s/%s: Event %s not posted: %s",
                about.kind,
                about.namespace,
                about.name,
                reason,
                error,
            )

    def alert_ref(self, name: str) -> ObjectRef:
        return ObjectRef(API_VERSION, ALERT.kind, self.policy.namespace, name)

    async def _event(
        self, spec: AlertPolicySpec, transition: Transition, instance: Instance | None
    ) -> None:
        if instance is None or transition.change not in (
            Change.FIRING,
            Change.RESOLVED,
            Change.SEVERITY_CHANGED,
        ):
            return
        name = alert_name(self.policy.name, instance.labels)
        labels = ", ".join(f"{k}={v}" for k, v in sorted(instance.labels.items())) or "no labels"
        value = "no value" if instance.value is None else f"{instance.value:g}"
        comparison = PROMQL_OPERATORS.get(Comparison(spec.comparison), "?")
        bound = (
            ""
            if instance.threshold is None or math.isnan(instance.threshold)
            else f" {comparison} {instance.threshold:g}"
        )
        severity = instance.severity.value if instance.severity else "?"
        if transition.change == Change.RESOLVED:
            type_, message = "Normal", f"Alert {name} ({labels}) resolved; value {value}"
        elif transition.change == Change.FIRING:
            type_, message = (
                "Warning",
                f"Alert {name} ({labels}) is firing at {severity}: {value}{bound}",
            )
        else:
            previous = transition.previous_severity.value if transition.previous_severity else "?"
            type_ = "Warning"
            message = (
                f"Alert {name} ({labels}) changed from {previous} to {severity}: {value}{bound}"
            )
        policy = ObjectRef(
            API_VERSION, self.policy.kind, self.policy.namespace, self.policy.name, self.policy.uid
        )
        LOGGER.info("%s %s/%s: %s", policy.kind, policy.namespace, policy.name, message)
        await self.post_event(policy, type_, transition.change.value, message)
