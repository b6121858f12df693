"""All AlertPolicies of the operator: their parsed specs (parsed once per generation), one
scheduler job each, and their evaluators (created when this replica starts leading,
dropped when it stops, so a new leader always starts from the watched Alerts)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT_POLICY
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.runtime.evaluation import PolicyEvaluator
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import PolicyRef, Services

LOGGER = logging.getLogger("watchkeeper.evaluation")
KIND = "AlertPolicy"


@dataclass
class _Policy:
    ref: PolicyRef
    generation: int | None
    spec: AlertPolicySpec | None
    evaluator: PolicyEvaluator | None = None


def job_key(namespace: str, name: str) -> str:
    return f"alertpolicy/{namespace}/{name}"


class AlertingService:
    """Keeps one evaluation job per valid AlertPolicy."""

    def __init__(self, services: Services, scheduler: Scheduler) -> None:
        self.services = services
        self.scheduler = scheduler
        self._policies: dict[str, _Policy] = {}

    def upsert(self, body: Mapping[str, Any]) -> None:
        """A policy was seen (created, changed, or listed at start)."""
        metadata = body["metadata"]
        key = job_key(metadata["namespace"], metadata["name"])
        generation = metadata.get("generation")
        known = self._policies.get(key)
        if known is not None and known.generation == generation:
            return
        ref = PolicyRef(metadata["namespace"], metadata["name"], metadata.get("uid", ""))
        try:
            spec: AlertPolicySpec | None = AlertPolicySpec.model_validate(
                dict(body.get("spec") or {})
            )
        except ValidationError:
            spec = None  # its Ready condition says why; nothing to evaluate
        if known is not None and known.ref.uid == ref.uid:
            known.generation, known.spec = generation, spec
        else:
            self._policies[key] = _Policy(ref, generation, spec)
        if spec is None:
            self.scheduler.remove(key)
            return

        async def run(due: datetime) -> None:
            await self._evaluate(key, due)

        interval = spec.evaluation_interval.delta
        self.scheduler.upsert(key, KIND, interval, run, offset_key=spec.query)
        if known is not None:
            self.scheduler.trigger(key)

    async def remove(self, namespace: str, name: str) -> None:
        """A policy was deleted (its Alerts go with it, by owner reference)."""
        key = job_key(namespace, name)
        self.scheduler.remove(key)
        policy = self._policies.pop(key, None)
        if policy is not None and policy.evaluator is not None:
            await policy.evaluator.stop()

    async def stand_down(self) -> None:
        """This replica stopped leading: forget in-memory state (a later lead reloads it)."""
        for policy in self._policies.values():
            if policy.evaluator is not None:
                await policy.evaluator.stop()
                policy.evaluator = None

    def evaluator(self, namespace: str, name: str) -> PolicyEvaluator | None:
        """The evaluator of a policy, if it has run on this replica."""
        policy = self._policies.get(job_key(namespace, name))
        return policy.evaluator if policy else None

    async def _evaluate(self, key: str, due: datetime) -> None:
        policy = self._policies.get(key)
        if policy is None or policy.spec is None:
            return
        lag = (datetime.now(UTC) - due).total_seconds()
        if policy.evaluator is None:
            body = self.services.objects.get(ALERT_POLICY, policy.ref.namespace, policy.ref.name)
            conditions = list(((body or {}).get("status") or {}).get("conditions") or [])
            policy.evaluator = PolicyEvaluator(self.services, policy.ref, conditions)
        await policy.evaluator.evaluate(policy.spec, due, lag)
