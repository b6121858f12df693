"""ScalingPolicy: one scheduler job per policy evaluates it every evaluationInterval.

Each evaluation observes (competing autoscalers, the target's /scale, the metrics, their
forecasts, the cost), lets the engine decide, sets the replicas, applies its part of the
status when something that matters changed (values that move at every evaluation wait for
the --status-heartbeat), posts the Events the engine asks for and runs the budget warnings
(runtime/scaling_warnings.py). The policy's memory is its status: a new leader starts from
it. The policy, the other ScalingPolicies, the HPAs and ScaledObjects, and the workloads
that opted in come from watches (runtime/workloads.py): a steady evaluation sends
Prometheus its queries and the API server nothing but real changes."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import API_VERSION, SCALING_POLICY
from watchkeeper.api.scalingpolicy import (
    PredictiveMode,
    ScalingPolicySpec,
    ScalingPolicyStatus,
    TargetRef,
)
from watchkeeper.engine.scaling import resolve_behaviour
from watchkeeper.engine.scaling_metrics import Forecast, Reading, forecast_query
from watchkeeper.engine.scaling_policy import Observation, conclude, conflict_of, evaluate
from watchkeeper.engine.scaling_schedule import raised_min
from watchkeeper.engine.scaling_state import (
    OWN_CONDITIONS,
    Notice,
    persisted,
    resume,
    significant,
    significant_part,
    worth_refreshing,
)
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.events import ObjectRef
from watchkeeper.kube.scale import Scale, ScaleChanged, ScaleError, Scales, claims_on
from watchkeeper.kube.secrets import SecretUnavailable
from watchkeeper.prometheus.client import Connection, PrometheusUnavailable, QueryRejected
from watchkeeper.runtime.connections import resolve_connection
from watchkeeper.runtime.metrics import count_scale_event, export_scaling, forget_scaling
from watchkeeper.runtime.rightsizing import RightsizingClock
from watchkeeper.runtime.scaling_limits import ScheduleClock, holding
from watchkeeper.runtime.scaling_warnings import BudgetWarnings
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import Services
from watchkeeper.runtime.workloads import scale_status

LOGGER = logging.getLogger("watchkeeper.scaling")
FIELD_MANAGER = "watchkeeper-scaling"
KIND = "ScalingPolicy"


def job_key(namespace: str, name: str) -> str:
    return f"scalingpolicy/{namespace}/{name}"


class ScalingService:
    """One job per ScalingPolicy; a policy whose spec changed is evaluated at once."""

    def __init__(self, services: Services, scheduler: Scheduler) -> None:
        self.services = services
        self.scheduler = scheduler
        config = services.config
        self.scales = Scales(
            services.kube.api_client, config.reference_policy, config.recheck_interval
        )
        self._specs: dict[str, tuple[Any, ScalingPolicySpec]] = {}
        """key -> (generation, spec): parsed once per generation."""
        self._daemons: dict[str, PolicyDaemon] = {}
        self._claimants: dict[tuple[str, str, str, str], set[str]] = {}
        """(namespace, apiVersion, kind, name) of a target -> the policies that target it."""
        self._target_of: dict[str, tuple[str, str, str, str]] = {}

    def upsert(self, body: Mapping[str, Any]) -> None:
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        key = job_key(namespace, name)
        generation = body["metadata"].get("generation")
        known = self._specs.get(key)
        if known is not None and known[0] == generation:
            return
        try:
            spec = ScalingPolicySpec.model_validate(dict(body.get("spec") or {}))
        except ValidationError:  # the Ready condition says what is wrong
            self._forget(namespace, name)
            return
        self._specs[key] = (generation, spec)
        ref = spec.target_ref
        self._claim(key, name, (namespace, ref.api_version, ref.kind, ref.name))
        interval = spec.evaluation_interval.delta

        async def run(due: datetime) -> None:
            await self._evaluate(namespace, name, key, due)

        self.scheduler.upsert(key, KIND, interval, run, offset_key=body["metadata"].get("uid"))
        self.scheduler.trigger(key)

    def _forget(self, namespace: str, name: str) -> PolicyDaemon | None:
        key = job_key(namespace, name)
        self.scheduler.remove(key)
        self._specs.pop(key, None)
        self._claim(key, name, None)
        forget_scaling(namespace, name)
        return self._daemons.pop(key, None)

    async def remove(self, namespace: str, name: str) -> None:
        daemon = self._forget(namespace, name)
        if daemon is not None:
            await daemon.warnings.stop()

    def warnings(self, namespace: str, name: str) -> BudgetWarnings | None:
        """The budget warnings of a policy, if it has run on this replica."""
        daemon = self._daemons.get(job_key(namespace, name))
        return daemon.warnings if daemon else None

    def spec(self, key: str) -> ScalingPolicySpec | None:
        """The policy's spec as parsed, if it is valid."""
        known = self._specs.get(key)
        return None if known is None else known[1]

    def rivals(self, namespace: str, name: str, target: TargetRef) -> list[Mapping[str, Any]]:
        """The other ScalingPolicies (as watched) that target the same workload."""
        names = self._claimants.get((namespace, target.api_version, target.kind, target.name))
        bodies = (self.services.objects.get(SCALING_POLICY, namespace, n) for n in names or ())
        return [b for b in bodies if b is not None and b["metadata"]["name"] != name]

    def _claim(self, key: str, name: str, target: tuple[str, str, str, str] | None) -> None:
        """Record that policy `key` targets `target` (None: nothing any more)."""
        old = self._target_of.pop(key, None)
        if old is not None:
            self._claimants.get(old, set()).discard(name)
        if target is not None:
            self._target_of[key] = target
            self._claimants.setdefault(target, set()).add(name)

    async def stand_down(self) -> None:
        daemons, self._daemons = list(self._daemons.values()), {}
        for daemon in daemons:
            await daemon.warnings.stop()

    async def _evaluate(self, namespace: str, name: str, key: str, due: datetime) -> None:
        body = self.services.objects.get(SCALING_POLICY, namespace, name)
        if body is None:
            return
        spec = self.spec(key)
        if spec is None:  # invalid: the Ready condition says what is wrong
            return
        daemon = self._daemons.get(key)
        if daemon is None:
            daemon = self._daemons[key] = PolicyDaemon(self, namespace, name)
        if await daemon.evaluate_once(body, spec, due) == 0.0:
            self.scheduler.trigger(key)  # the target changed under us: look again now


def _own(status: ScalingPolicyStatus) -> ScalingPolicyStatus:
    """The part of a status this daemon writes (Ready and observedGeneration are not)."""
    conditions = [c for c in status.conditions if c.type in OWN_CONDITIONS]
    return status.model_copy(
        update={"observed_generation": None, "conditions": conditions, "floors": []}
    )


class PolicyDaemon:
    """The evaluations of one policy; keeps only the last status it computed (whose values
    that change at every evaluation may not be written yet)."""

    def __init__(self, service: ScalingService, namespace: str, name: str) -> None:
        self.service = service
        self.kube = service.services.kube
        self.prometheus = service.services.prometheus
        self.scales = service.scales
        self.config = service.services.config
        self.namespace = namespace
        self.name = name
        self.body: Mapping[str, Any] = {}
        self.status: ScalingPolicyStatus | None = None
        self.written_at = -math.inf
        self._parsed: tuple[str | None, ScalingPolicyStatus, dict[str, Any]] | None = None
        """(resourceVersion, status, its significant part) of the body last parsed."""
        self._horizon = timedelta(0)
        """The longest stabilization window of the spec last evaluated."""
        self._conflicted: str | None = None
        """The resourceVersion of the last scale a write conflicted with: while the watch
        still shows it, the watch lags behind and /scale is read instead."""
        self.schedules = ScheduleClock()
        self.rightsizing = RightsizingClock(service.services, namespace)
        self.warnings = BudgetWarnings(service.services, namespace, name)

    async def evaluate_once(
        self, body: Mapping[str, Any], spec: ScalingPolicySpec, now: datetime
    ) -> float:
        """One evaluation at the due instant `now` (queries read Prometheus at that instant,
        as an AlertPolicy's do, so a backtest replays the same instants); returns the
        seconds until the next one (0: evaluate again now)."""
        self.body = body
        self._horizon = resolve_behaviour(spec.preset, spec.behavior).horizon
        schedule = self.schedules.status(self.service.services, self.namespace, spec, now)
        low = raised_min(spec.min_replicas, schedule)
        floor = self._live().effective_min(low, spec.max_replicas)
        if floor != spec.min_replicas:  # schedules, escalation floors
            spec = spec.model_copy(update={"min_replicas": floor})
        previous = self.status or resume(self._live(), now)
        seen, scale, opted_in = await self._observe(spec, now)
        seen = replace(seen, schedule=schedule)
        plan = evaluate(spec, previous, seen)
        error = None
        if plan.action is not None and scale is not None:
            try:
                await self.scales.set_replicas(
                    self.namespace, spec.target_ref, scale, plan.action.after, opted_in
                )
            except ScaleChanged as changed:
                self._conflicted = scale.body["metadata"].get("resourceVersion")
                LOGGER.info(
                    "ScalingPolicy %s/%s: not scaling: %s; evaluating again.",
                    self.namespace,
                    self.name,
                    changed,
                )
                return 0.0
            except ScaleError as failure:
                error = str(failure)
        outcome = conclude(spec, previous, plan, error, now)
        generation = body["metadata"].get("generation")
        self.status, advised = await self.rightsizing.update(spec, outcome.status, generation, now)
        export_scaling(self.namespace, self.name, self.status)
        if plan.action is not None and scale is not None and error is None:
            count_scale_event(self.namespace, self.name, plan.action.before, plan.action.after)
        await self._write()
        await self.warnings.evaluate(self.body, spec, previous.budget, outcome.status.budget)
        for notice in [*outcome.notices, *advised]:
            await self._post(notice)
        return spec.evaluation_interval.delta.total_seconds()

    async def flush(self) -> None:
        """Write what has not been written yet (the operator is stopping)."""
        await self._write(force=True)

    def _live(self) -> ScalingPolicyStatus:
        """The status as last watched, parsed once per resourceVersion."""
        return self._parsed_status()[1]

    def _parsed_status(self) -> tuple[str | None, ScalingPolicyStatus, dict[str, Any]]:
        version = self.body["metadata"].get("resourceVersion")
        if self._parsed is None or self._parsed[0] != version:
            try:
                live = ScalingPolicyStatus.model_validate(dict(self.body.get("status") or {}))
            except ValidationError:
                LOGGER.warning(
                    "ScalingPolicy %s/%s: ignoring an unreadable status", self.namespace, self.name
                )
                live = ScalingPolicyStatus()
            self._parsed = (version, live, significant(_own(live), self._horizon))
        return self._parsed

    async def _observe(
        self, spec: ScalingPolicySpec, now: datetime
    ) -> tuple[Observation, Scale | None, bool]:
        """What this evaluation sees; the scale to write over, if any; whether the target's
        opt-in is known (it came from the filtered watch)."""
        generation = self.body["metadata"].get("generation")
        if spec.suspend:
            return Observation(now, generation), None, False
        created = str(self.body["metadata"].get("creationTimestamp") or "")
        services = self.service.services
        peers = self.service.rivals(self.namespace, self.name, spec.target_ref)
        autoscalers = services.workloads.autoscalers(self.namespace)
        claims = claims_on(spec.target_ref, self.name, created, autoscalers, peers)
        conflict = conflict_of([(c.kind, c.name) for c in claims])
        if conflict is not None:
            return Observation(now, generation, conflict=conflict), None, False
        workload = services.workloads.workload(self.namespace, spec.target_ref)
        try:
            if workload is not None and workload.resource_version != self._conflicted:
                scale = workload.scale(self.namespace, spec.target_ref.name)
            else:  # not watched, absent from the watch (the API says why), or the watch lags
                scale = await self.scales.get(self.namespace, spec.target_ref)
        except ScaleError as failure:
            return Observation(now, generation, scale_error=str(failure)), None, False
        readings, forecasts, cost = await self._query(spec, now)
        status_replicas, selector = scale_status(scale, workload)
        ready, pods_error = None, ""
        if selector is not None:  # the HPA's ready pods: through the /scale selector
            pods = services.workloads.pods(self.namespace, selector)
            ready = pods.ready if pods.listed else None
            pods_error = "" if pods.listed else f"no pods match the selector {selector.text}"
        observation = Observation(
            now,
            generation,
            scale.replicas,
            status_replicas=status_replicas,
            ready_pods=ready,
            pods_error=pods_error,
            readings=readings,
            forecasts=forecasts,
            cost=cost,
            holding=holding(services, self.namespace, spec),
        )
        return observation, scale, workload is not None

    async def _query(
        self, spec: ScalingPolicySpec, now: datetime
    ) -> tuple[dict[str, Reading], dict[str, Forecast], Reading | None]:
        """Every metric's value, the cost query's and, with predictive on, the metrics'
        forecasts, concurrently."""
        cost_query = spec.cost.query if spec.cost else None
        try:
            conn = await resolve_connection(self.kube, self.config, self.namespace, spec.prometheus)
        except SecretUnavailable as failure:
            unread = Reading(error=str(failure))
            return {m.name: unread for m in spec.metrics}, {}, unread if cost_query else None
        values = [self._read(conn, m.query, now) for m in spec.metrics]
        if cost_query:
            values.append(self._read(conn, cost_query, now))
        # One query (the common case) is awaited as it is: a gather would make it a task.
        answers = [await values[0]] if len(values) == 1 else await asyncio.gather(*values)
        names = [m.name for m in spec.metrics]
        readings = dict(zip(names, answers[: len(names)], strict=True))
        cost = answers[-1] if cost_query else None
        predictive = spec.predictive
        if predictive is None or predictive.mode == PredictiveMode.OFF:
            return readings, {}, cost
        horizon = predictive.horizon.delta
        step = spec.evaluation_interval.delta
        exprs = [
            forecast_query(m.query, predictive.lookback.delta, horizon, step) for m in spec.metrics
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
        return readings, forecasts, cost

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
        heartbeat (or `force`) is due and a value changed (see `worth_refreshing`)."""
        if self.status is None:
            return
        _, live, live_significant = self._parsed_status()
        new = persisted(_own(self.status), self._horizon)
        due = force or time.monotonic() - self.written_at >= self.config.status_heartbeat
        changed = significant_part(new) != live_significant
        if not changed and not (due and worth_refreshing(new, _own(live))):
            return
        exclude = {"observed_generation", "floors"}
        fields = new.model_dump(by_alias=True, mode="json", exclude_none=True, exclude=exclude)
        try:
            await self.kube.apply_status(
                SCALING_POLICY, self.namespace, self.name, fields, manager=FIELD_MANAGER
            )
        except KubeError as failure:  # the next evaluation writes again
            self.service.services.health.report("kubernetes", False, str(failure))
            return
        self.written_at = time.monotonic()

    async def _post(self, notice: Notice) -> None:
        LOGGER.info(
            "ScalingPolicy %s/%s %s %s: %s",
            self.namespace,
            self.name,
            notice.type,
            notice.reason,
            notice.message,
        )
        uid = str(self.body["metadata"].get("uid") or "")
        about = ObjectRef(API_VERSION, SCALING_POLICY.kind, self.namespace, self.name, uid)
        try:
            await self.service.services.events.post(
                about, notice.type, notice.reason, notice.message
            )
        except KubeError as failure:  # an Event is worth a log line, not a failed evaluation
            LOGGER.warning(
                "ScalingPolicy %s/%s: Event not posted: %s", self.namespace, self.name, failure
            )
