"""ScalingPolicy: one kopf daemon per policy evaluates it every evaluationInterval.

Each evaluation observes (competing autoscalers, the target's /scale, the metrics and their
forecasts), lets the engine decide, sets the replicas, applies its part of the status when
something that matters changed (values that move at every evaluation wait for the
--status-heartbeat), and posts the Events the engine asks for. The policy's memory is its
status: a restarted daemon starts from it.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from watchkeeper.api import GROUP, SCALING_POLICY, VERSION
from watchkeeper.api.common import parse_duration
from watchkeeper.api.scalingpolicy import PredictiveMode, ScalingPolicySpec, ScalingPolicyStatus
from watchkeeper.engine.scaling_metrics import Forecast, Reading, forecast_query
from watchkeeper.engine.scaling_policy import (
    Conflict,
    Observation,
    conclude,
    conflict_of,
    evaluate,
)
from watchkeeper.engine.scaling_state import OWN_CONDITIONS, Notice, resume, significant
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.events import Events, ObjectRef
from watchkeeper.kube.scale import ClaimCheckFailed, Scale, ScaleChanged, ScaleError, Scales
from watchkeeper.kube.secrets import SecretUnavailable
from watchkeeper.prometheus.client import (
    Connection,
    PrometheusClient,
    PrometheusUnavailable,
    QueryRejected,
)
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.connections import resolve_connection

FIELD_MANAGER = "watchkeeper-scaling"
WAKE = 0.5  # seconds between looks for a spec change while waiting for the next evaluation


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    """One daemon per ScalingPolicy."""

    async def scaling_policy(
        body: kopf.Body,
        memo: kopf.Memo,
        stopped: kopf.DaemonStopped,
        logger: kopf.Logger,
        **_: Any,
    ) -> None:
        daemon = PolicyDaemon(body, memo, config, logger)
        while not stopped:
            generation = body.metadata.get("generation")
            interval = await daemon.evaluate_once()
            await _sleep(stopped, body, interval, generation)
        if stopped.reason and stopped.reason & kopf.DaemonStoppingReason.OPERATOR_EXITING:
            await daemon.flush()

    kopf.daemon(
        GROUP,
        VERSION,
        SCALING_POLICY.plural,
        registry=registry,
        id="scaling",
        backoff=5,
        cancellation_backoff=3,  # time to flush the status before kopf cancels the daemon
        cancellation_timeout=10,
    )(scaling_policy)


async def _sleep(stopped: kopf.DaemonStopped, body: kopf.Body, seconds: float, gen: Any) -> None:
    """Wait `seconds`, or less if the daemon is stopped or the spec changes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not stopped and body.metadata.get("generation") == gen:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        await stopped.wait(min(WAKE, remaining))


def _own(status: ScalingPolicyStatus) -> ScalingPolicyStatus:
    """The part of a status this daemon writes (Ready and observedGeneration are not)."""
    conditions = [c for c in status.conditions if c.type in OWN_CONDITIONS]
    return status.model_copy(
        update={"observed_generation": None, "conditions": conditions, "floors": []}
    )


def _scales(memo: kopf.Memo) -> Scales:
    if "scales" not in memo:
        memo["scales"] = Scales(memo.kube.api_client)
    scales: Scales = memo["scales"]
    return scales


class PolicyDaemon:
    """The evaluations of one policy; keeps only the last status it computed (whose values
    that change at every evaluation may not be written yet)."""

    def __init__(
        self, body: kopf.Body, memo: kopf.Memo, config: OperatorConfig, logger: kopf.Logger
    ) -> None:
        self.body = body
        self.kube = memo.kube
        self.prometheus: PrometheusClient = memo.prometheus
        self.scales = _scales(memo)
        self.events = Events(memo.kube.api_client)
        self.config = config
        self.logger = logger
        self.namespace = str(body.metadata.namespace)
        self.name = str(body.metadata.name)
        self.status: ScalingPolicyStatus | None = None
        self.written_at = -math.inf

    async def evaluate_once(self) -> float:
        """One evaluation; returns the seconds until the next one."""
        try:
            spec = ScalingPolicySpec.model_validate(dict(self.body.get("spec") or {}))
        except ValidationError:  # the Ready condition says what is wrong
            return self.config.recheck_interval
        now = datetime.now(UTC)
        floor = self._live().effective_min(spec.min_replicas, spec.max_replicas)
        spec = spec.model_copy(update={"min_replicas": floor})  # escalation floors
        previous = self.status or resume(self._live(), now)
        seen, scale = await self._observe(spec, now)
        plan = evaluate(spec, previous, seen)
        error = None
        if plan.action is not None and scale is not None:
            try:
                await self.scales.set_replicas(
                    self.namespace, spec.target_ref, scale, plan.action.after
                )
            except ScaleChanged as changed:
                self.logger.info("Not scaling %s: %s; evaluating again.", self.name, changed)
                return 0.0
            except ScaleError as failure:
                error = str(failure)
        outcome = conclude(spec, previous, plan, error, now)
        self.status = outcome.status
        await self._write()
        for notice in outcome.notices:
            await self._post(notice)
        return parse_duration(spec.evaluation_interval).total_seconds()

    async def flush(self) -> None:
        """Write what has not been written yet (the operator is stopping)."""
        await self._write(force=True)

    def _live(self) -> ScalingPolicyStatus:
        try:
            return ScalingPolicyStatus.model_validate(dict(self.body.get("status") or {}))
        except ValidationError:
            self.logger.warning("Ignoring an unreadable status of %s.", self.name)
            return ScalingPolicyStatus()

    async def _observe(
        self, spec: ScalingPolicySpec, now: datetime
    ) -> tuple[Observation, Scale | None]:
        generation = self.body.metadata.get("generation")
        if spec.suspend:
            return Observation(now, generation), None
        created = str(self.body.metadata.get("creationTimestamp") or "")
        try:
            claims = await self.scales.claims(self.namespace, spec.target_ref, self.name, created)
            conflict = conflict_of([(c.kind, c.name) for c in claims])
        except ClaimCheckFailed as failure:
            conflict = Conflict("ConflictCheckFailed", str(failure), certain=False)
        if conflict is not None:
            return Observation(now, generation, conflict=conflict), None
        try:
            scale = await self.scales.get(self.namespace, spec.target_ref)
        except ScaleError as failure:
            return Observation(now, generation, scale_error=str(failure)), None
        readings, forecasts = await self._query(spec, now)
        observation = Observation(
            now, generation, scale.replicas, readings=readings, forecasts=forecasts
        )
        return observation, scale

    async def _query(
        self, spec: ScalingPolicySpec, now: datetime
    ) -> tuple[dict[str, Reading], dict[str, Forecast]]:
        """Every metric's value and, with predictive on, its forecasts, concurrently."""
        try:
            conn = await resolve_connection(self.kube, self.config, self.namespace, spec.prometheus)
        except SecretUnavailable as failure:
            unread = Reading(error=str(failure))
            return {m.name: unread for m in spec.metrics}, {}
        values = [self._read(conn, m.query, now) for m in spec.metrics]
        names = [m.name for m in spec.metrics]
        readings = dict(zip(names, await asyncio.gather(*values), strict=True))
        predictive = spec.predictive
        if predictive is None or predictive.mode == PredictiveMode.OFF:
            return readings, {}
        horizon = parse_duration(predictive.horizon)
        step = parse_duration(spec.evaluation_interval)
        exprs = [
            forecast_query(m.query, parse_duration(predictive.lookback), horizon, step)
            for m in spec.metrics
        ]
        answers = await asyncio.gather(
            *(self._read(conn, e, now) for e in exprs),
            *(self._read(conn, e, now - horizon) for e in exprs),
        )
        count = len(exprs)
        forecasts = {
            m.name: Forecast(ahead=answers[i], past=answers[count + i])
            for i, m in enumerate(spec.metrics)
        }
        return readings, forecasts

    async def _read(self, conn: Connection, expr: str, at: datetime) -> Reading:
        try:
            samples = await self.prometheus.query(conn, expr, at=at)
        except QueryRejected as rejected:
            return Reading(error=f"Prometheus rejected the query: {rejected}", rejected=True)
        except PrometheusUnavailable as unavailable:
            return Reading(error=str(unavailable))
        return Reading(values=tuple(s.value for s in samples))

    async def _write(self, force: bool = False) -> None:
        """Apply our part of the status when a significant part changed, or when the
        heartbeat (or `force`) is due and anything at all changed."""
        if self.status is None:
            return
        new, live = _own(self.status), _own(self._live())
        loop = asyncio.get_running_loop()
        due = force or loop.time() - self.written_at >= self.config.status_heartbeat
        if significant(new) == significant(live) and (new == live or not due):
            return
        fields = new.model_dump(
            by_alias=True,
            mode="json",
            exclude_none=True,
            exclude={"observed_generation", "floors"},
        )
        try:
            await self.kube.apply_status(
                SCALING_POLICY, self.namespace, self.name, fields, manager=FIELD_MANAGER
            )
        except KubeError as failure:  # the next evaluation writes again
            self.logger.warning("Could not write the status of %s: %s", self.name, failure)
            return
        self.written_at = loop.time()

    async def _post(self, notice: Notice) -> None:
        self.logger.info("%s %s: %s", notice.type, notice.reason, notice.message)
        about = ObjectRef(
            f"{GROUP}/{VERSION}",
            SCALING_POLICY.kind,
            self.namespace,
            self.name,
            str(self.body.metadata.get("uid") or ""),
        )
        try:
            await self.events.post(about, notice.type, notice.reason, notice.message)
        except KubeError as failure:  # an Event is worth a log line, not a failed evaluation
            self.logger.warning("Could not post an Event on %s: %s", self.name, failure)
