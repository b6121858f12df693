"""Walks an alert through its EscalationPolicy during a notification round: advances the
schedule, persists the position on the Alert (before anything is sent, so a crash can
only repeat a delivery, never lose a step), posts an Event per step, expires
acknowledgements, and says which pages the steps owe."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, API_VERSION, ESCALATION_POLICY, SCALING_POLICY
from watchkeeper.api.alert import AlertStatus
from watchkeeper.api.common import Severity
from watchkeeper.api.escalationpolicy import EscalationPolicySpec
from watchkeeper.api.scalingpolicy import Floor
from watchkeeper.api.timestamps import format_time, parse_optional_time
from watchkeeper.engine.escalation import AlertView, Chain, advance, position_of, saved_form
from watchkeeper.engine.notifications import FIRING, Intent
from watchkeeper.kube.alerts import AlertStore
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.events import ObjectRef
from watchkeeper.runtime.acknowledgement import clear_acknowledgement
from watchkeeper.runtime.services import Services

LOGGER = logging.getLogger("watchkeeper.escalation")
FIELD_MANAGER = "watchkeeper-escalation"
ESCALATION_LABEL = "watchkeeper.io/escalation"


def _about(alert: Mapping[str, Any]) -> ObjectRef:
    """The Alert, as the object an Event is about."""
    metadata = alert["metadata"]
    return ObjectRef(
        API_VERSION, ALERT.kind, metadata["namespace"], metadata["name"], metadata.get("uid", "")
    )


def floor_manager(namespace: str, alert: str) -> str:
    """One field manager per alert, so each alert's floor entry is its own to remove."""
    digest = hashlib.sha256(f"{namespace}/{alert}".encode()).hexdigest()[:16]
    return f"watchkeeper-floor-{digest}"


class Escalator:
    """Escalation for the alerts of one policy."""

    def __init__(self, services: Services, store: AlertStore, namespace: str) -> None:
        self.services = services
        self.kube = services.kube
        self.store = store
        self.namespace = namespace

    async def chain(self, name: str) -> Chain | None:
        """The EscalationPolicy, parsed; None if missing or invalid (its Ready says why)."""
        obj = self.services.objects.get(ESCALATION_POLICY, self.namespace, name)
        if obj is None:
            return None
        try:
            return Chain.of(EscalationPolicySpec.model_validate(dict(obj.get("spec") or {})))
        except ValidationError:
            return None

    async def step(
        self, alert: dict[str, Any], status: AlertStatus, policy: str, chain: Chain, now: datetime
    ) -> list[Intent]:
        """Advance the alert's escalation; the pages its steps owe while it fires."""
        name = alert["metadata"]["name"]
        since = parse_optional_time(status.firing_since)
        view = AlertView(
            state=status.state,
            severity=Severity(status.severity) if status.severity else None,
            firing_since=since,
            severity_changed_at=parse_optional_time(status.severity_changed_at),
            acknowledged_at=parse_optional_time(status.acknowledged.time)
            if status.acknowledged
            else None,
        )
        decision = advance(chain, position_of(status.escalation, since), view, now)
        position = decision.position
        if position is None:
            return []
        saved = saved_form(policy, chain, position)
        if saved != status.escalation:
            await self.kube.apply_status(
                ALERT, self.namespace, name, {"escalation": saved.to_api()}, FIELD_MANAGER
            )
            escalating = policy if position.next_at is not None else None
            labels = alert["metadata"].get("labels") or {}
            if labels.get(ESCALATION_LABEL) != escalating:
                await self.store.patch(
                    self.namespace, name, {"metadata": {"labels": {ESCALATION_LABEL: escalating}}}
                )
        if decision.unacknowledge:
            await clear_acknowledgement(self.kube, self.store, self.namespace, name)
            await self._post(
                alert,
                "AcknowledgementExpired",
                f"Still firing {chain.ack_timeout} after the acknowledgement: escalation resumes",
            )
        for loop, index, _ in decision.new_runs:
            channels = ", ".join(chain.steps[index].channels) or "no channels"
            await self._post(
                alert,
                "EscalationStep",
                f"{policy} step {index + 1}/{len(chain.steps)} (run {loop + 1}): "
                f"notifying {channels}",
            )
        await self._floors(name, status, policy, chain, position.ran, now)
        if status.state != "Firing":
            return []
        return [
            Intent(channel, FIRING, at, step=index)
            for _, index, at in position.ran
            for channel in chain.steps[index].channels
        ]

    async def _post(self, alert: Mapping[str, Any], reason: str, message: str) -> None:
        try:
            await self.services.events.post(_about(alert), "Warning", reason, message)
        except KubeError as error:
            LOGGER.warning("Alert %s: Event %s not posted: %s", _about(alert).name, reason, error)

    async def _floors(
        self,
        alert: str,
        status: AlertStatus,
        policy: str,
        chain: Chain,
        ran: tuple[tuple[int, int, datetime], ...],
        now: datetime,
    ) -> None:
        """Raise the floors the run steps ask for while the alert fires; lift them after."""
        targets = {action.scaling_policy_ref for step in chain.steps for action in step.scale}
        wanted: dict[str, int] = {}
        if status.state == "Firing":
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
            await self.kube.apply_status(
                SCALING_POLICY,
                self.namespace,
                target,
                {"floors": entries},
                floor_manager(self.namespace, alert),
            )
