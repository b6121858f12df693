"""A ScalingPolicy's right-sizing advice: Prometheus is asked only when the engine says the
advice is due (every recheckInterval, after a spec change, or to retry a failure), never
at every evaluation. The advice goes into status; the workload is never touched."""

from __future__ import annotations

import asyncio
from datetime import datetime

from watchkeeper.api.common import Condition, ConditionStatus
from watchkeeper.api.scalingpolicy import ScalingPolicySpec, ScalingPolicyStatus
from watchkeeper.engine.rightsizing import (
    RIGHTSIZING_AVAILABLE,
    advise,
    by_container,
    due,
    failed,
    found_usage,
    queries,
    record,
)
from watchkeeper.engine.scaling_state import Notice
from watchkeeper.kube.secrets import SecretUnavailable
from watchkeeper.prometheus.client import PrometheusError
from watchkeeper.runtime.connections import resolve_connection
from watchkeeper.runtime.services import Services


class RightsizingClock:
    """One policy's advice; remembers only when an attempt last failed (the advice and
    when it was computed are in status, so a restart does not query again early)."""

    def __init__(self, services: Services, namespace: str) -> None:
        self.services = services
        self.namespace = namespace
        self._failed_at: datetime | None = None

    async def update(
        self,
        spec: ScalingPolicySpec,
        status: ScalingPolicyStatus,
        generation: int | None,
        now: datetime,
    ) -> tuple[ScalingPolicyStatus, list[Notice]]:
        """The status with fresh advice when it is due (otherwise as it was), and an Event
        when what its condition says changed (new savings, a failure, a recovery)."""
        after = await self._advised(spec, status, generation, now)
        old, new = _condition(status), _condition(after)
        if new is None or (
            old is not None and (old.reason, old.message) == (new.reason, new.message)
        ):
            return after, []
        kind = "Normal" if new.status == ConditionStatus.TRUE else "Warning"
        return after, [Notice(kind, new.reason, new.message)]

    async def _advised(
        self,
        spec: ScalingPolicySpec,
        status: ScalingPolicyStatus,
        generation: int | None,
        now: datetime,
    ) -> ScalingPolicyStatus:
        block = spec.rightsizing
        if block is None:
            self._failed_at = None
            return record(status, None, generation, now)
        replicas = status.current_replicas
        previous = status.rightsizing
        if spec.suspend or replicas is None:
            return status
        if not due(block, previous, generation, now, self._failed_at):
            return status
        exprs = queries(block, self.namespace, spec.target_ref)
        try:
            answers = await self._ask(spec, exprs, now)
        except (PrometheusError, SecretUnavailable) as failure:
            self._failed_at = now
            return record(status, failed(previous, str(failure)), generation, now)
        advice = advise(block, answers, replicas, generation, now)
        self._failed_at = None if found_usage(advice) else now
        return record(status, advice, generation, now)

    async def _ask(
        self, spec: ScalingPolicySpec, exprs: dict[str, str], now: datetime
    ) -> dict[str, dict[str, float]]:
        services = self.services
        conn = await resolve_connection(
            services.kube, services.config, self.namespace, spec.prometheus
        )
        results = await asyncio.gather(
            *(services.prometheus.query(conn, expr, at=now) for expr in exprs.values()),
            return_exceptions=True,
        )
        answers: dict[str, dict[str, float]] = {}
        for name, result in zip(exprs, results, strict=True):
            if isinstance(result, PrometheusError):
                raise type(result)(f"query {name}: {result}")
            if isinstance(result, BaseException):
                raise result
            answers[name] = by_container((s.labels, s.value) for s in result)
        return answers


def _condition(status: ScalingPolicyStatus) -> Condition | None:
    return next((c for c in status.conditions if c.type == RIGHTSIZING_AVAILABLE), None)
