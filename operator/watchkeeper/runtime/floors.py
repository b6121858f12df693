"""Escalation floors reconciled from what exists. A floor (a ScalingPolicy's
`status.floors` entry, one field manager per alert) is raised and lifted by the escalator
during the notification rounds of its alert; a round may never come again (the AlertPolicy
was deleted, its escalation reference removed, the EscalationPolicy became invalid or lost
its scale action). A scheduler job, every --recheck-interval, lifts each floor that what
exists no longer justifies. It reads only the watch cache and writes only removals."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, ALERT_POLICY, SCALING_POLICY
from watchkeeper.api.alert import AlertState
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.timestamps import parse_optional_time
from watchkeeper.engine.alert_records import proven
from watchkeeper.kube.calls import KubeRejected, KubeUnavailable
from watchkeeper.runtime.escalator import chain_of, floor_manager
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import Services

LOGGER = logging.getLogger("watchkeeper.escalation")
JOB_KEY = "escalation/floors"
GRACE = timedelta(seconds=10)
"""A floor younger than this is left to the round that raised it: the watch may not have
delivered the Alert's Firing status yet."""


def register_floor_reconciliation(services: Services, scheduler: Scheduler) -> None:
    """The reconciliation as a scheduler job (it runs while this replica leads)."""
    interval = timedelta(seconds=services.config.recheck_interval)
    scheduler.upsert(JOB_KEY, "EscalationFloors", interval, FloorReconciler(services).run)


class FloorReconciler:
    """Lifts the floors nothing justifies any more."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._lifted: dict[tuple[str, str, str], str] = {}
        """(namespace, ScalingPolicy, alert) -> the ScalingPolicy's resourceVersion when its
        floor was lifted: not lifted again before the watch shows the result."""

    async def run(self, due: datetime) -> None:
        lifted: dict[tuple[str, str, str], str] = {}
        for scaling in self.services.objects.all(SCALING_POLICY):
            metadata = scaling["metadata"]
            namespace, name = str(metadata["namespace"]), str(metadata["name"])
            version = str(metadata.get("resourceVersion"))
            for floor in (scaling.get("status") or {}).get("floors") or []:
                alert = str(floor.get("alert") or "")
                key = (namespace, name, alert)
                if self._lifted.get(key) == version:
                    lifted[key] = version
                    continue
                why = self.unjustified(namespace, name, floor, due)
                if why is None:
                    continue
                try:
                    await self.services.kube.apply_status(
                        SCALING_POLICY,
                        namespace,
                        name,
                        {"floors": []},
                        floor_manager(namespace, alert),
                    )
                except KubeUnavailable as error:  # the next run tries again
                    self.services.health.report("kubernetes", False, str(error))
                    self._lifted = lifted
                    return
                except KubeRejected as error:
                    LOGGER.warning(
                        "ScalingPolicy %s/%s: floor of Alert %s not lifted: %s",
                        namespace,
                        name,
                        alert,
                        error,
                    )
                    continue
                lifted[key] = version
                LOGGER.info(
                    "ScalingPolicy %s/%s: floor of Alert %s lifted: %s", namespace, name, alert, why
                )
        self._lifted = lifted

    def unjustified(
        self, namespace: str, scaling: str, floor: Mapping[str, Any], now: datetime
    ) -> str | None:
        """Why the floor should go, or None while it is justified (or too young to judge)."""
        since = parse_optional_time(floor.get("since"))
        if since is not None and now - since < GRACE:
            return None
        objects = self.services.objects
        name, escalation = str(floor.get("alert")), str(floor.get("escalationPolicy"))
        alert = objects.get(ALERT, namespace, name)
        if alert is None:
            return f"Alert {name} no longer exists"
        owner: Mapping[str, Any] = next(
            (
                o
                for o in alert["metadata"].get("ownerReferences") or []
                if o.get("kind") == ALERT_POLICY.kind
            ),
            {},
        )
        policy = objects.get(ALERT_POLICY, namespace, str(owner.get("name")))
        uid = str(owner.get("uid"))
        if policy is None or policy["metadata"].get("uid") != uid:
            return f"the AlertPolicy of Alert {name} no longer exists"
        status = alert.get("status") or {}
        if not proven(self.services.alert_key, namespace, name, uid, status):
            return f"the status of Alert {name} was not written by the operator"
        if status.get("state") != AlertState.FIRING.value:
            return f"Alert {name} no longer fires"
        try:
            spec = AlertPolicySpec.model_validate(dict(policy.get("spec") or {}))
        except ValidationError:
            return f"AlertPolicy {owner.get('name')} is invalid"
        if spec.routing.escalation_policy_ref != escalation:
            return f"AlertPolicy {owner.get('name')} no longer routes to {escalation}"
        chain = chain_of(objects, namespace, escalation)
        if chain is None:
            return f"EscalationPolicy {escalation} is missing or invalid"
        if not any(a.scaling_policy_ref == scaling for step in chain.steps for a in step.scale):
            return f"EscalationPolicy {escalation} no longer scales {scaling}"
        return None
