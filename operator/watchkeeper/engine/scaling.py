"""The HPA v2 replica calculation, step for step as ``pkg/controller/podautoscaler`` does it.

Parity with the HPA controller is the point of this module, down to its float64 rounding:
the replica count of an external metric (``replica_calculator.go``), the stabilization
windows (``stabilizeRecommendationWithBehaviors``), the rate limits of the scaling
policies (``calculateScaleUpLimitWithScalingRules`` and its scale-down twin) and the
min/max clamps (``convertDesiredReplicasWithBehaviorRate``). Values and targets are
compared in thousandths, as the HPA sees an external metric that KEDA or
prometheus-adapter serves (value truncated to milli-units, target rounded up to them).

Where we differ on purpose (see README): Value targets multiply by the current replica
count (spec.replicas) and AverageValue divides by it, where the HPA uses ready pods and
status.replicas; and only what can still decide anything is kept of the recommendations
and scale events, which gives the same results with a bounded state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from watchkeeper.api.common import parse_duration
from watchkeeper.api.scalingpolicy import (
    Behavior,
    MetricTarget,
    PolicyType,
    Preset,
    ScalingDirection,
    SelectPolicy,
    TargetType,
)

MAX_REPLICAS = 2**31 - 1  # the HPA computes replicas in int32...
INT64_MAX = 2**63 - 1  # ...and metric values in int64 milli-units


@dataclass(frozen=True)
class Rate:
    """One scaling policy: at most `value` pods or percent within `period`."""

    type: PolicyType
    value: int
    period: timedelta


@dataclass(frozen=True)
class Rules:
    """HPAScalingRules of one direction, every field resolved."""

    stabilization: timedelta
    policies: tuple[Rate, ...]
    select: SelectPolicy

    @property
    def longest_period(self) -> timedelta:
        return max((p.period for p in self.policies), default=timedelta(0))


@dataclass(frozen=True)
class Behaviour:
    """Both directions, resolved from a preset and the spec's overrides."""

    up: Rules
    down: Rules


def _rules(window: float, select: SelectPolicy, *rates: tuple[PolicyType, int, float]) -> Rules:
    return Rules(
        timedelta(seconds=window),
        tuple(Rate(kind, value, timedelta(seconds=period)) for kind, value, period in rates),
        select,
    )


PODS, PERCENT = PolicyType.PODS, PolicyType.PERCENT
PRESETS: dict[Preset, Behaviour] = {
    # The HPA's defaults (autoscaling/v2 defaults.go; scale-down window: the controller's
    # --horizontal-pod-autoscaler-downscale-stabilization default).
    Preset.BALANCED: Behaviour(
        up=_rules(0, SelectPolicy.MAX, (PODS, 4, 15), (PERCENT, 100, 15)),
        down=_rules(300, SelectPolicy.MAX, (PERCENT, 100, 15)),
    ),
    # Up once a minute of recommendations agrees, by 2 pods or 50% (whichever is more) a
    # minute; down after 10 quiet minutes, by 1 pod or 10% (whichever is more) a minute.
    Preset.CONSERVATIVE: Behaviour(
        up=_rules(60, SelectPolicy.MAX, (PODS, 2, 60), (PERCENT, 50, 60)),
        down=_rules(600, SelectPolicy.MAX, (PODS, 1, 60), (PERCENT, 10, 60)),
    ),
    # Up at once by 8 pods or 200% (whichever is more) every 15s; down after one quiet
    # minute, as fast as the HPA's default.
    Preset.AGGRESSIVE: Behaviour(
        up=_rules(0, SelectPolicy.MAX, (PODS, 8, 15), (PERCENT, 200, 15)),
        down=_rules(60, SelectPolicy.MAX, (PERCENT, 100, 15)),
    ),
}


def _merge(rules: Rules, spec: ScalingDirection | None) -> Rules:
    """The HPA's copyHPAScalingRules: every field the spec sets replaces the default."""
    if spec is None:
        return rules
    return Rules(
        stabilization=rules.stabilization
        if spec.stabilization_window is None
        else parse_duration(spec.stabilization_window),
        policies=rules.policies
        if spec.policies is None
        else tuple(Rate(p.type, p.value, parse_duration(p.period)) for p in spec.policies),
        select=rules.select if spec.select_policy is None else SelectPolicy(spec.select_policy),
    )


def resolve_behaviour(preset: Preset, behavior: Behavior | None) -> Behaviour:
    """The preset's rules with the spec's fields on top."""
    base = PRESETS[Preset(preset)]
    if behavior is None:
        return base
    return Behaviour(_merge(base.up, behavior.scale_up), _merge(base.down, behavior.scale_down))


# --- one metric: replica_calculator.go ------------------------------------------------


def milli_value(value: float) -> int:
    """A metric value as KEDA and prometheus-adapter hand it to the HPA: int64(v * 1000)."""
    scaled = value * 1000.0
    return INT64_MAX if scaled >= INT64_MAX else int(scaled)


def milli_target(target: float) -> int:
    """A target quantity's MilliValue(): thousandths, rounded up."""
    return math.ceil(Decimal(repr(target)) * 1000)


def _within(ratio: float, tolerance: float) -> bool:
    return (1.0 - tolerance) <= ratio <= (1.0 + tolerance)


def _clamp_int32(replicas: float) -> int:
    return MAX_REPLICAS if replicas > MAX_REPLICAS else math.ceil(replicas)


def replicas_for_metric(
    target: MetricTarget, values: Sequence[float], current: int, tolerance: float
) -> int:
    """The replica count one metric asks for (values: one per series, all non-negative)."""
    usage = min(sum(milli_value(v) for v in values), INT64_MAX)
    goal = milli_target(target.value)
    if target.type == TargetType.VALUE:
        ratio = float(usage) / float(goal)
        if current == 0:  # getUsageRatioReplicaCount: scale from zero ignores the tolerance
            return _clamp_int32(ratio)
        if _within(ratio, tolerance):
            return current
        return _clamp_int32(ratio * float(current))
    # GetExternalPerPodMetricReplicas: usage / (target * replicas); with no replicas the
    # ratio is infinite (or NaN) and never within the tolerance.
    if current and _within(float(usage) / (float(goal) * float(current)), tolerance):
        return current
    return _clamp_int32(float(usage) / float(goal))


# --- stabilization: stabilizeRecommendationWithBehaviors -------------------------------


@dataclass(frozen=True)
class Sample:
    """A recommendation and when it was made."""

    replicas: int
    time: datetime


@dataclass(frozen=True)
class Change:
    """A scale event the rate limits count: replicas added (> 0) or removed (< 0)."""

    replicas: int
    time: datetime


@dataclass(frozen=True)
class Stabilized:
    replicas: int
    reason: str
    message: str


def stabilize(
    behaviour: Behaviour, samples: Sequence[Sample], current: int, desired: int, now: datetime
) -> Stabilized:
    """Bring `desired` within the lowest recommendation of the scale-up window and the
    highest of the scale-down window (both windows exclusive of their far edge)."""
    up_cutoff, down_cutoff = now - behaviour.up.stabilization, now - behaviour.down.stabilization
    up = min([desired, *(s.replicas for s in samples if s.time > up_cutoff)])
    down = max([desired, *(s.replicas for s in samples if s.time > down_cutoff)])
    replicas = min(max(current, up), down)
    if replicas == desired:
        return Stabilized(replicas, "ReadyForNewScale", "recommended size matches current size")
    if desired >= current:
        return Stabilized(
            replicas,
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent "
            "recommendation",
        )
    return Stabilized(
        replicas,
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent "
        "recommendation",
    )


def record_sample(
    behaviour: Behaviour, samples: Sequence[Sample], desired: int, now: datetime
) -> tuple[Sample, ...]:
    """Append `desired` and keep only samples that can still decide a future evaluation:
    those inside a window that no later sample dominates (a later one at least as high for
    the scale-down maximum and one at least as low for the scale-up minimum)."""
    oldest = now - max(behaviour.up.stabilization, behaviour.down.stabilization)
    kept: list[Sample] = [Sample(desired, now)]
    high = low = desired
    for sample in reversed(samples):
        if sample.time <= oldest:
            break  # samples are in time order: everything earlier is outside both windows
        if sample.replicas > high or sample.replicas < low:
            kept.append(sample)
        high, low = max(high, sample.replicas), min(low, sample.replicas)
    return tuple(reversed(kept))


# --- rate limits: calculateScale{Up,Down}Limit... ---------------------------------------


def _changed_within(period: timedelta, changes: Sequence[Change], now: datetime) -> tuple[int, int]:
    """Replicas added and removed by scale events strictly inside the last `period`."""
    cutoff = now - period
    recent = [c.replicas for c in changes if c.time > cutoff]
    return sum(r for r in recent if r > 0), -sum(r for r in recent if r < 0)


def scale_up_limit(rules: Rules, changes: Sequence[Change], current: int, now: datetime) -> int:
    """The most replicas the scale-up policies allow now."""
    if rules.select == SelectPolicy.DISABLED:
        return current
    proposals = []
    for rate in rules.policies:
        added, removed = _changed_within(rate.period, changes, now)
        start = current - added + removed
        if rate.type == PolicyType.PODS:
            proposals.append(start + rate.value)
        else:  # rounded up, or a small percentage of few pods would never add one
            proposals.append(math.ceil(float(start) * (1 + float(rate.value) / 100)))
    return (min if rules.select == SelectPolicy.MIN else max)(proposals)


def scale_down_limit(rules: Rules, changes: Sequence[Change], current: int, now: datetime) -> int:
    """The fewest replicas the scale-down policies allow now."""
    if rules.select == SelectPolicy.DISABLED:
        return current
    proposals = []
    for rate in rules.policies:
        added, removed = _changed_within(rate.period, changes, now)
        start = current - added + removed
        if rate.type == PolicyType.PODS:
            proposals.append(start - rate.value)
        else:  # int32(float64) truncates toward zero
            proposals.append(int(float(start) * (1 - float(rate.value) / 100)))
    # Min selects the smallest change, i.e. the highest floor.
    return (max if rules.select == SelectPolicy.MIN else min)(proposals)


def record_change(
    behaviour: Behaviour, changes: Sequence[Change], change: Change
) -> tuple[Change, ...]:
    """storeScaleEvent: the new event takes the slot of the last event of its direction that
    is older than the direction's longest period, or a new slot (the order of the slots of
    one direction matters: it decides which old event is replaced next)."""
    rules = behaviour.up if change.replicas > 0 else behaviour.down
    cutoff = change.time - rules.longest_period
    slots = list(changes)
    for index in reversed(range(len(slots))):
        if (slots[index].replicas > 0) == (change.replicas > 0) and slots[index].time < cutoff:
            slots[index] = change
            return tuple(slots)
    return (*slots, change)


def prune_changes(
    behaviour: Behaviour, changes: Sequence[Change], now: datetime
) -> tuple[Change, ...]:
    """Drop events no policy of either direction can count again, except the last such slot
    of each direction: the HPA would replace that one first, so keeping it keeps the
    choice of the replaced slot, and with it the results, exactly the HPA's."""
    reach = max(behaviour.up.longest_period, behaviour.down.longest_period)
    keep = [True] * len(changes)
    last_stale: dict[bool, int] = {}
    for index, change in enumerate(changes):
        if change.time < now - reach:
            up = change.replicas > 0
            if up in last_stale:
                keep[last_stale[up]] = False
            last_stale[up] = index
    return tuple(c for c, kept in zip(changes, keep, strict=True) if kept)


# --- normalization: normalizeDesiredReplicasWithBehaviors ------------------------------


@dataclass(frozen=True)
class Normalized:
    """The HPA's answer for one evaluation, with the reasons of its two conditions."""

    replicas: int
    samples: tuple[Sample, ...]
    stabilized: Stabilized
    limited: bool
    limit_reason: str
    limit_message: str


def _limit(
    behaviour: Behaviour,
    changes: Sequence[Change],
    current: int,
    desired: int,
    bounds: tuple[int, int],
    now: datetime,
) -> tuple[int, str, str]:
    """convertDesiredReplicasWithBehaviorRate: rate limits, then min/max."""
    low, high = bounds
    if desired > current:
        limit = max(scale_up_limit(behaviour.up, changes, current, now), current)
        if high > limit:
            reason, message, allowed = (
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
                limit,
            )
        else:
            reason, message, allowed = (
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
                high,
            )
        if desired > allowed:
            return allowed, reason, message
    elif desired < current:
        limit = min(scale_down_limit(behaviour.down, changes, current, now), current)
        if low < limit:
            reason, message, allowed = (
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
                limit,
            )
        else:
            reason, message, allowed = (
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
                low,
            )
        if desired < allowed:
            return allowed, reason, message
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


def normalize(
    behaviour: Behaviour,
    samples: Sequence[Sample],
    changes: Sequence[Change],
    *,
    current: int,
    desired: int,
    bounds: tuple[int, int],
    now: datetime,
) -> Normalized:
    """Stabilize the metrics' recommendation, record it, then apply rates and bounds."""
    stabilized = stabilize(behaviour, samples, current, desired, now)
    replicas, reason, message = _limit(
        behaviour, changes, current, stabilized.replicas, bounds, now
    )
    return Normalized(
        replicas=replicas,
        samples=record_sample(behaviour, samples, desired, now),
        stabilized=stabilized,
        limited=replicas != stabilized.replicas,
        limit_reason=reason,
        limit_message=message,
    )
