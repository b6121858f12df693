"""Walks an alert through its EscalationPolicy during a notification round: advances the
schedule and writes the new position together with the pages its new steps owe (one
status write: a crash can neither lose a step nor run it twice), posts an Event per step,
expires acknowledgements, and raises or lifts ScalingPolicy floors (a floor whose round
never comes is lifted by runtime/floors.py)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime

from pydantic import ValidationError

from watchkeeper.api import ALERT_POLICY, ESCALATION_POLICY, SCALING_POLICY
from watchkeeper.api.alert import ESCALATION_LABEL, AlertState, NotificationEvent
from watchkeeper.api.escalationpolicy import EscalationPolicySpec
from watchkeeper.api.scaling_limits import Floor
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.escalation import AlertView, Chain, advance, position_of, saved_form
from watchkeeper.engine.notifications import Notice, owe
from watchkeeper.runtime.acknowledgement import clear_acknowledgement
from watchkeeper.runtime.alert_writer import AlertRecord, AlertWriter
from watchkeeper.runtime.objects import ObjectCache

__all__ = ["ESCALATION_LABEL", "FIELD_MANAGER", "Escalator", "chain_of", "floor_manager"]
LOGGER = logging.getLogger("watchkeeper.escalation")
FIELD_MANAGER = "watchkeeper-escalation"
"""Field manager of the EscalationPolicy's status.escalating (the position itself is
part of each Alert's ledger)."""


def floor_manager(namespace: str, alert: str) -> str:
    """One field manager per alert, so each alert's floor entry is its own to remove."""
    digest = hashlib.sha256(f"{namespace}/{alert}".encode()).hexdigest()[:16]
    return f"watchkeeper-floor-{digest}"


def chain_of(objects: ObjectCache, namespace: str, name: str) -> Chain | None:
    """An EscalationPolicy from the watch cache, parsed; None if missing or invalid."""
    obj = objects.get(ESCALATION_POLICY, namespace, name)
    if obj is None:
        return None
    try:
        return Chain.of(EscalationPolicySpec.model_validate(dict(obj.get("spec") or {})))
    except ValidationError:
        return None


class Escalator:
    """Escalation for the alerts of one policy."""

    def __init__(self, writer: AlertWriter) -> None:
        self.writer = writer
        self.services = writer.services
        self.namespace = writer.policy.namespace

    def chain(self, name: str) -> Chain | None:
        """The EscalationPolicy from the watch cache, parsed; None if missing or invalid
        (its Ready says why)."""
        return chain_of(self.services.objects, self.namespace, name)

    async def step(self, record: AlertRecord, policy: str, chain: Chain, now: datetime) -> None:
        """Advance the alert's escalation; owe the pages of the steps that fell due."""
        instance, ledger = record.instance, record.ledger
        since = instance.firing_since
        decision = advance(
            chain, position_of(ledger.escalation, since), AlertView.of(instance, ledger), now
        )
        position = decision.position
        if position is None:
            return
        saved = saved_form(policy, chain, position)
        ref = self.writer.alert_ref(record.name)
        if decision.unacknowledge:
            # the request goes first: the watch must not see it again and re-acknowledge
            await clear_acknowledgement(self.services.alerts, self.namespace, record.name)
            await self.writer.post_event(
                ref,
                "Warning",
                "AcknowledgementExpired",
                f"Still firing {chain.ack_timeout} after the acknowledgement: escalation resumes",
            )
        ledger = record.ledger  # as it is now, after the awaits
        if saved != ledger.escalation or decision.unacknowledge:
            severity = instance.severity.value if instance.severity else None
            for _, index, at in decision.new_runs:
                notice = Notice(NotificationEvent.FIRING, at, since, severity, step=index)
                ledger = ledger.owing(
                    owe(self.namespace, record.name, notice, chain.steps[index].channels)
                )
            acknowledged = None if decision.unacknowledge else ledger.acknowledged
            record.ledger = replace(ledger, escalation=saved, acknowledged=acknowledged)
            await self.writer.flush(record)
        await self._label(record, policy if position.next_at is not None else None)
        for loop, index, _ in decision.new_runs:
            channels = ", ".join(chain.steps[index].channels) or "no channels"
            message = (
                f"{policy} step {index + 1}/{len(chain.steps)} (run {loop + 1}): "
                f"notifying {channels}"
            )
            LOGGER.info("Alert %s/%s: %s", self.namespace, record.name, message)
            await self.writer.post_event(ref, "Warning", "EscalationStep", message)
        await self._floors(record, policy, chain, position.ran, now)

    async def _label(self, record: AlertRecord, escalating: str | None) -> None:
        if record.escalating != escalating:
            await self.services.alerts.patch(
                self.namespace,
                record.name,
                {"metadata": {"labels": {ESCALATION_LABEL: escalating}}},
            )
            record.escalating = escalating

    async def _floors(
        self,
        record: AlertRecord,
        policy: str,
        chain: Chain,
        ran: tuple[tuple[int, int, datetime], ...],
        now: datetime,
    ) -> None:
        """Raise the floors the run steps ask for while the alert fires; lift them after.
        A ScalingPolicy's budget warning raises none: capacity is not bought with money
        the budget says is running out (and runtime/floors.py keeps AlertPolicies' only)."""
        alert = record.name
        targets = {action.scaling_policy_ref for step in chain.steps for action in step.scale}
        wanted: dict[str, int] = {}
        if (
            record.instance.state == AlertState.FIRING
            and self.writer.policy.kind == ALERT_POLICY.kind
        ):
            for _, index, _ in ran:
                for action in chain.steps[index].scale:
                    ref = action.scaling_policy_ref
                    wanted[ref] = max(wanted.get(ref, 0), action.min_replicas)
        for target in sorted(targets):  # few: the ScalingPolicies the steps name
            obj = self.services.objects.get(SCALING_POLICY, self.namespace, target)
            if obj is None:
                continue
            floors = (obj.get("status") or {}).get("floors") or []
            current = next((f for f in floors if f.get("alert") == alert), None)
            if (current or {}).get("minReplicas") == wanted.get(target):
                continue
            entries = []
            if target in wanted:
                since = (current or {}).get("since") or format_time(now)
                floor = Floor(
                    alert=alert, min_replicas=wanted[target], escalation_policy=policy, since=since
                )
                entries.append(floor.to_api())
            await self.services.kube.apply_status(
                SCALING_POLICY,
                self.namespace,
                target,
                {"floors": entries},
                floor_manager(self.namespace, alert),
            )
