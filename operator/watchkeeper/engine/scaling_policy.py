"""One evaluation of a ScalingPolicy, from what was observed to the next status.

Inputs: the spec, the previous status (the whole memory of the policy: recommendations,
scale events, last scale time, failures) and an :class:`Observation` (the target's
replicas, the metrics, competing autoscalers, now). Output: a :class:`Plan` with the next
status, the replica count to set, and the Events worth posting. The HPA's arithmetic is in
``scaling.py``; this module adds what the HPA lacks (override, suspend, dry-run, fallback,
cooldown, forecasts, conflicts, a budget's cap) and conditions that explain each step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from watchkeeper.api.common import ConditionStatus
from watchkeeper.api.scaling_limits import ScheduleStatus
from watchkeeper.api.scalingpolicy import (
    Fallback,
    PredictiveMode,
    ScalingPolicySpec,
    ScalingPolicyStatus,
)
from watchkeeper.api.timestamps import format_time, parse_time

from .scaling import (
    Behaviour,
    Replicas,
    resolve_behaviour,
    resolve_cooldown,
    resolve_tolerance,
)
from .scaling_budget import budgeted
from .scaling_hold import hold
from .scaling_metrics import Forecast, Proposal, Reading, assess, combine, forecast_proposal
from .scaling_state import (
    ABLE_TO_SCALE,
    FALLBACK_ACTIVE,
    SCALING_ACTIVE,
    SCALING_LIMITED,
    TARGET_CONFLICT,
    Draft,
    Notice,
    changes_of,
    samples_of,
    transitions,
)
from .scaling_windows import Change, Sample, normalize, record_change

TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE


@dataclass(frozen=True)
class Conflict:
    """Why another object is in charge of the target."""

    reason: str
    message: str


@dataclass(frozen=True)
class Observation:
    """Everything one evaluation saw, read at `now`."""

    now: datetime
    generation: int | None = None
    current: int | None = None  # the target's spec.replicas; None when unreadable
    scale_error: str = ""
    status_replicas: int | None = None  # /scale status.replicas; None: spec.replicas's
    ready_pods: int | None = None  # Running+Ready pods of its selector; None: likewise
    pods_error: str = ""  # why the ready pods could not be counted
    conflict: Conflict | None = None
    readings: Mapping[str, Reading] = field(default_factory=dict)
    forecasts: Mapping[str, Forecast] = field(default_factory=dict)
    holding: tuple[str, ...] = ()  # firing Alerts that hold scale-down (spec.holdScaleDown)
    schedule: ScheduleStatus | None = None  # what spec.schedules make of minReplicas
    cost: Reading | None = None  # what spec.cost.query returned


@dataclass(frozen=True)
class ScaleAction:
    """Set the target's replicas."""

    before: int
    after: int
    reason: str
    rate_limited: bool = True  # an autoscaling decision the policies' periods count


@dataclass(frozen=True)
class Plan:
    """The next status (before any scale), the scale to make, the Events decided so far."""

    status: ScalingPolicyStatus
    action: ScaleAction | None
    notices: tuple[Notice, ...]
    generation: int | None


@dataclass(frozen=True)
class Outcome:
    """The final status of one evaluation and every Event it calls for."""

    status: ScalingPolicyStatus
    notices: tuple[Notice, ...]


def _plan(draft: Draft, action: ScaleAction | None) -> Plan:
    return Plan(draft.status, action, tuple(draft.notices), draft.generation)


def evaluate(spec: ScalingPolicySpec, previous: ScalingPolicyStatus, seen: Observation) -> Plan:
    """Decide what to do now."""
    draft = Draft(previous, seen.generation, seen.now)
    draft.status.schedule = seen.schedule
    if spec.suspend:
        draft.condition(
            SCALING_ACTIVE, FALSE, "Suspended", "spec.suspend is true: nothing is evaluated"
        )
        return _plan(draft, None)
    if seen.conflict is not None:
        return _refuse(draft, spec, seen.conflict)
    draft.condition(
        TARGET_CONFLICT,
        FALSE,
        "NoConflict",
        f"no HorizontalPodAutoscaler, ScaledObject or older ScalingPolicy scales "
        f"{spec.target_ref.kind} {spec.target_ref.name}",
    )
    if seen.current is None:
        draft.condition(
            ABLE_TO_SCALE, FALSE, "FailedGetScale", f"the target's scale: {seen.scale_error}"
        )
        return _plan(draft, None)
    current = seen.current
    draft.external_change(previous.current_replicas, current)
    draft.status.current_replicas = current
    draft.condition(ABLE_TO_SCALE, TRUE, "SucceededGetScale", "the target's current scale was read")
    if not draft.status.recommendations:  # the HPA's recordInitialRecommendation
        draft.set_samples((Sample(current, seen.now),))
    action = _decide(draft, spec, seen, current)
    wanted = current if action is None else action.after
    if (allowed := budgeted(draft, spec, seen.cost, current, wanted)) != wanted:
        action = _action(current, allowed, f"capped by budget: {wanted} → {allowed}", True)
    draft.status.desired_replicas = current if action is None else action.after
    if spec.dry_run and action is not None:
        _dry_run(draft, previous, action)
        action = None
    return _plan(draft, action)


def _behaviour(spec: ScalingPolicySpec) -> Behaviour:
    return resolve_behaviour(spec.preset, spec.behavior)


def _refuse(draft: Draft, spec: ScalingPolicySpec, conflict: Conflict) -> Plan:
    draft.condition(TARGET_CONFLICT, TRUE, conflict.reason, conflict.message)
    draft.condition(
        SCALING_ACTIVE,
        FALSE,
        "TargetConflict",
        f"not scaling {spec.target_ref.kind} {spec.target_ref.name}: {conflict.message}",
    )
    return _plan(draft, None)


def _decide(
    draft: Draft, spec: ScalingPolicySpec, seen: Observation, current: int
) -> ScaleAction | None:
    """The scale to make, with every condition set on the way."""
    replicas = Replicas(current, seen.status_replicas, seen.ready_pods, seen.pods_error)
    tolerance = resolve_tolerance(spec.tolerance, _behaviour(spec))
    proposals, draft.status.metrics = assess(
        spec, seen.readings, seen.forecasts, draft.status.metrics, replicas, tolerance
    )
    override = spec.override
    if override and (override.until is None or seen.now < parse_time(override.until)):
        until = f" until {override.until}" if override.until else ""
        draft.condition(
            SCALING_ACTIVE,
            FALSE,
            "ManualOverride",
            f"spec.override holds {override.replicas} replicas{until}: {override.reason}",
        )
        return _action(current, override.replicas, f"override: {override.reason}", False)
    bounds = (spec.min_replicas, spec.max_replicas)
    if current == 0 and spec.min_replicas != 0:
        draft.condition(
            SCALING_ACTIVE,
            FALSE,
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
        )
        return None
    if not bounds[0] <= current <= bounds[1]:
        return _enforce_bounds(draft, current, bounds)
    return _autoscale(draft, spec, seen, current, proposals)


def _action(before: int, after: int, reason: str, rate_limited: bool) -> ScaleAction | None:
    return None if before == after else ScaleAction(before, after, reason, rate_limited)


def _enforce_bounds(draft: Draft, current: int, bounds: tuple[int, int]) -> ScaleAction | None:
    low, high = bounds
    word, target = ("above maxReplicas", high) if current > high else ("below minReplicas", low)
    draft.condition(
        SCALING_ACTIVE, TRUE, "ReplicasOutOfBounds", f"current replicas {word}; scaling to {target}"
    )
    draft.condition(
        SCALING_LIMITED,
        TRUE,
        "TooManyReplicas" if current > high else "TooFewReplicas",
        f"the current replica count is {word}",
    )
    return _action(current, target, f"current number of replicas {word}", True)


def _autoscale(
    draft: Draft,
    spec: ScalingPolicySpec,
    seen: Observation,
    current: int,
    proposals: Sequence[Proposal],
) -> ScaleAction | None:
    """The HPA's path, then fallback and cooldown."""
    valid = [p for p in proposals if p.replicas is not None]
    failed = [p for p in proposals if p.replicas is None]
    tolerance = resolve_tolerance(spec.tolerance, _behaviour(spec))
    desired, name = combine(spec.combine, valid, current, tolerance)
    fallback = spec.fallback or Fallback()
    failures = min(draft.status.consecutive_failures + 1, fallback.failure_threshold)
    draft.status.consecutive_failures = failures if failed else 0
    if not valid or (failed and desired < current):
        first = failed[0]
        partial = f" ({len(failed)} of {len(proposals)} failed; no scale-down)" if valid else ""
        draft.condition(
            SCALING_ACTIVE,
            FALSE,
            "InvalidQuery" if first.rejected else "FailedGetExternalMetric",
            f"the replica count could not be computed: metric {first.name}: "
            f"{first.problem}{partial}",
        )
        target = current
        reason = ""
    else:
        desired, name = _with_forecast(spec, draft, desired, name)
        reason = (
            f"{name} above target"
            if desired > current
            else ("all metrics below target" if desired < current else "")
        )
        target = _normalize(draft, spec, seen, current, desired)
        note = f"; metric {failed[0].name} failed: {failed[0].problem}" if failed else ""
        draft.condition(
            SCALING_ACTIVE,
            TRUE,
            "ValidMetricFound",
            f"the replica count was computed from {name or 'the metrics'}{note}",
        )
    target, reason = _fallback(draft, fallback, current, target, reason)
    target = hold(draft, current, _cooldown(draft, spec, seen.now, current, target), seen.holding)
    return _action(current, target, reason, True)


def _with_forecast(
    spec: ScalingPolicySpec, draft: Draft, desired: int, name: str
) -> tuple[int, str]:
    if not spec.predictive or spec.predictive.mode != PredictiveMode.ACTIVE:
        return desired, name
    predicted, metric = forecast_proposal(
        [(m.name, m.prediction) for m in draft.status.metrics if m.prediction]
    )
    return (predicted, f"forecast of metric {metric}") if predicted > desired else (desired, name)


def _normalize(
    draft: Draft, spec: ScalingPolicySpec, seen: Observation, current: int, desired: int
) -> int:
    result = normalize(
        _behaviour(spec),
        samples_of(draft.status),
        changes_of(draft.status),
        current=current,
        desired=desired,
        bounds=(spec.min_replicas, spec.max_replicas),
        now=seen.now,
    )
    draft.set_samples(result.samples)
    stable = result.stabilized
    draft.condition(ABLE_TO_SCALE, TRUE, stable.reason, stable.message)
    draft.condition(
        SCALING_LIMITED,
        TRUE if result.limited else FALSE,
        result.limit_reason,
        result.limit_message,
    )
    return result.replicas


def _fallback(
    draft: Draft, fallback: Fallback, current: int, target: int, reason: str
) -> tuple[int, str]:
    failures, threshold = draft.status.consecutive_failures, fallback.failure_threshold
    if failures < threshold:
        draft.condition(
            FALLBACK_ACTIVE,
            FALSE,
            "FailuresBelowThreshold" if failures else "MetricsAvailable",
            f"{failures} of {threshold} failed evaluations in a row before the fallback applies",
        )
        return target, reason
    floor = fallback.replicas
    draft.condition(
        FALLBACK_ACTIVE,
        TRUE,
        "MetricsUnavailable",
        f"{failures} evaluations in a row failed; "
        + ("holding the current replicas" if floor is None else f"keeping at least {floor}"),
    )
    if floor is not None and target < floor:
        return floor, f"fallback: {failures} failed evaluations in a row"
    return target, reason


def _cooldown(
    draft: Draft, spec: ScalingPolicySpec, now: datetime, current: int, target: int
) -> int:
    last = draft.status.last_scale_time
    if target >= current or last is None:
        return target
    ends = parse_time(last) + resolve_cooldown(spec.preset, spec.cooldown)
    if now >= ends:
        return target
    draft.condition(
        SCALING_LIMITED,
        TRUE,
        "ScaleDownCooldown",
        f"the last scale event was at {last}; no scale-down before {format_time(ends)}",
    )
    return current


def _dry_run(draft: Draft, previous: ScalingPolicyStatus, action: ScaleAction) -> None:
    message = f"would scale from {action.before} to {action.after}: {action.reason}"
    draft.condition(ABLE_TO_SCALE, TRUE, "DryRun", f"spec.dryRun is true: {message}")
    if previous.desired_replicas != action.after:
        draft.history(action.before, action.after, f"dry run: {action.reason}")
        draft.notice("Normal", "DryRun", message)


def conclude(
    spec: ScalingPolicySpec,
    previous: ScalingPolicyStatus,
    plan: Plan,
    error: str | None,
    now: datetime,
) -> Outcome:
    """The status after the plan's scale was made (`error` None) or failed, and the Events:
    those the plan decided on plus one per condition that changed in a way that matters."""
    draft = Draft(plan.status, plan.generation, now)
    draft.notices = list(plan.notices)
    action = plan.action
    if action is not None and error is None:
        if action.rate_limited:
            change = Change(action.after - action.before, now)
            draft.set_changes(record_change(_behaviour(spec), changes_of(draft.status), change))
        draft.status.current_replicas = action.after
        draft.status.last_scale_time = format_time(now)
        draft.history(action.before, action.after, action.reason)
        draft.condition(
            ABLE_TO_SCALE, TRUE, "SucceededRescale", f"the target's scale was set to {action.after}"
        )
        draft.notice(
            "Normal", "SuccessfulRescale", f"New size: {action.after}; reason: {action.reason}"
        )
    elif action is not None:
        draft.condition(
            ABLE_TO_SCALE,
            FALSE,
            "FailedUpdateScale",
            f"the target's scale could not be set to {action.after}: {error}",
        )
    notices = [*draft.notices, *transitions(previous.conditions, draft.status.conditions)]
    return Outcome(draft.status, tuple(notices))


def conflict_of(claims: Sequence[tuple[str, str]]) -> Conflict | None:
    """The conflict other autoscalers of the target cause: (kind, name) of each."""
    if not claims:
        return None
    kind = claims[0][0]
    reasons = {
        "HorizontalPodAutoscaler": "HorizontalPodAutoscalerFound",
        "ScaledObject": "ScaledObjectFound",
        "ScalingPolicy": "AnotherScalingPolicy",
    }
    others = ", ".join(f"{k} {n}" for k, n in claims)
    return Conflict(reasons.get(kind, "AnotherAutoscaler"), f"{others} already scales it")
