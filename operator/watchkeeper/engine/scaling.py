"""The HPA v2 replica calculation, step for step as ``pkg/controller/podautoscaler`` does it.

Parity with the HPA controller is the point of this module and of ``scaling_windows.py``,
down to its float64 rounding: the replica count of an external metric
(``replica_calculator.go``: a Value target multiplies the usage ratio by the ready pods,
an AverageValue target divides by ``status.replicas``, each direction has its own
tolerance), the presets standing in for the HPA's defaults and the resolution of a
partial ``behavior``. Values and targets are compared in thousandths, as the HPA sees an
external metric that KEDA or prometheus-adapter serves (value truncated to milli-units,
target rounded up to them).

Where we differ on purpose (see README): a target whose ``/scale`` reports no selector
has its ``spec.replicas`` stand in for ready pods and ``status.replicas`` (the HPA
refuses to scale it); negative values are missing data (``scaling_metrics.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from watchkeeper.api.common import Duration
from watchkeeper.api.scaling_behavior import (
    Behavior,
    PolicyType,
    Preset,
    ScalingDirection,
    SelectPolicy,
)
from watchkeeper.api.scalingpolicy import MetricTarget, TargetType

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
    """HPAScalingRules of one direction, every field resolved (tolerance None: the
    policy-wide one)."""

    stabilization: timedelta
    policies: tuple[Rate, ...]
    select: SelectPolicy
    tolerance: float | None = None

    @property
    def longest_period(self) -> timedelta:
        return max((p.period for p in self.policies), default=timedelta(0))


@dataclass(frozen=True)
class Behaviour:
    """Both directions, resolved from a preset and the spec's overrides. `legacy`: the
    HPA without spec.behavior (normalizeDesiredReplicas): a scale-up limit of
    max(2 x current, 4) per evaluation, the scale-down window only (its far edge
    included), no rate limits and no scale events."""

    up: Rules
    down: Rules
    legacy: bool = False

    @property
    def horizon(self) -> timedelta:
        """The longest stabilization window: older recommendations decide nothing."""
        return max(self.up.stabilization, self.down.stabilization)


def _rules(window: float, select: SelectPolicy, *rates: tuple[PolicyType, int, float]) -> Rules:
    return Rules(
        timedelta(seconds=window),
        tuple(Rate(kind, value, timedelta(seconds=period)) for kind, value, period in rates),
        select,
    )


PODS, PERCENT = PolicyType.PODS, PolicyType.PERCENT
# The controller's --horizontal-pod-autoscaler-downscale-stabilization default.
HPA_DOWNSCALE_WINDOW = 300
PRESETS: dict[Preset, Behaviour] = {
    # The HPA's defaults (autoscaling/v2 defaults.go; scale-down window: the controller's
    # --horizontal-pod-autoscaler-downscale-stabilization default).
    Preset.BALANCED: Behaviour(
        up=_rules(0, SelectPolicy.MAX, (PODS, 4, 15), (PERCENT, 100, 15)),
        down=_rules(HPA_DOWNSCALE_WINDOW, SelectPolicy.MAX, (PERCENT, 100, 15)),
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
    # Pay for capacity only once it is needed for a while, give it back soon: up after a
    # minute of recommendations agrees, by 1 pod or 25% (whichever is more) a minute; down
    # after one quiet minute, as fast as the HPA's default.
    Preset.COST_OPTIMIZED: Behaviour(
        up=_rules(60, SelectPolicy.MAX, (PODS, 1, 60), (PERCENT, 25, 60)),
        down=_rules(60, SelectPolicy.MAX, (PERCENT, 100, 15)),
    ),
    # Capacity first: up at once by 10 pods or 100% (whichever is more) every 15s; down
    # only after 15 quiet minutes, by 1 pod or 5% (whichever is more) every 2 minutes.
    Preset.PERFORMANCE: Behaviour(
        up=_rules(0, SelectPolicy.MAX, (PODS, 10, 15), (PERCENT, 100, 15)),
        down=_rules(900, SelectPolicy.MAX, (PODS, 1, 120), (PERCENT, 5, 120)),
    ),
    # The HPA without spec.behavior: only the scale-down window is a rule of its own.
    Preset.HPA_LEGACY: Behaviour(
        up=_rules(0, SelectPolicy.MAX),
        down=_rules(HPA_DOWNSCALE_WINDOW, SelectPolicy.MAX),
        legacy=True,
    ),
}
# The cooldown when spec.cooldown is unset: none where the preset is the HPA's own rules.
PRESET_COOLDOWNS: dict[Preset, timedelta] = {
    Preset.BALANCED: timedelta(minutes=5),
    Preset.CONSERVATIVE: timedelta(minutes=5),
    Preset.AGGRESSIVE: timedelta(minutes=5),
    Preset.COST_OPTIMIZED: timedelta(minutes=1),
    Preset.PERFORMANCE: timedelta(minutes=10),
    Preset.HPA_LEGACY: timedelta(0),
}


def _merge(rules: Rules, spec: ScalingDirection | None) -> Rules:
    """The HPA's copyHPAScalingRules: every field the spec sets replaces the default."""
    if spec is None:
        return rules
    return Rules(
        stabilization=rules.stabilization
        if spec.stabilization_window is None
        else spec.stabilization_window.delta,
        policies=rules.policies
        if spec.policies is None
        else tuple(Rate(p.type, p.value, p.period.delta) for p in spec.policies),
        select=rules.select if spec.select_policy is None else SelectPolicy(spec.select_policy),
        tolerance=rules.tolerance if spec.tolerance is None else spec.tolerance,
    )


def resolve_behaviour(preset: Preset, behavior: Behavior | None) -> Behaviour:
    """The preset's rules with the spec's fields on top."""
    base = PRESETS[Preset(preset)]
    if behavior is None:
        return base
    return Behaviour(_merge(base.up, behavior.scale_up), _merge(base.down, behavior.scale_down))


def resolve_cooldown(preset: Preset, cooldown: Duration | None) -> timedelta:
    """spec.cooldown, or the preset's when unset."""
    return PRESET_COOLDOWNS[Preset(preset)] if cooldown is None else cooldown.delta


# --- one metric: replica_calculator.go ------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """The HPA's Tolerances: how far below and above 1 a usage ratio changes nothing."""

    down: float
    up: float

    def within(self, ratio: float) -> bool:
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)


def resolve_tolerance(tolerance: float, behaviour: Behaviour) -> Tolerance:
    """tolerancesForHpa: each direction's own tolerance, else the policy-wide one."""
    down, up = behaviour.down.tolerance, behaviour.up.tolerance
    return Tolerance(tolerance if down is None else down, tolerance if up is None else up)


@dataclass(frozen=True)
class Replicas:
    """What one evaluation saw of the target: spec.replicas of /scale (`current`), its
    status.replicas and the pods Running and Ready through its selector (None: not
    known, `current` stands in), or why the ready pods could not be counted."""

    current: int
    status: int | None = None
    ready: int | None = None
    ready_problem: str = ""


class UnknownReadyPods(ValueError):
    """A Value target outside its tolerance needs the ready pods, and they are unknown."""


def milli_value(value: float) -> int:
    """A metric value as KEDA and prometheus-adapter hand it to the HPA: int64(v * 1000)."""
    scaled = value * 1000.0
    return INT64_MAX if scaled >= INT64_MAX else int(scaled)


def milli_target(target: float) -> int:
    """A target quantity's MilliValue(): thousandths, rounded up."""
    return math.ceil(Decimal(repr(target)) * 1000)


def _clamp_int32(replicas: float) -> int:
    return MAX_REPLICAS if replicas > MAX_REPLICAS else math.ceil(replicas)


def _usage(target: MetricTarget, values: Sequence[float]) -> tuple[int, int]:
    """The series' sum and the target, in thousandths."""
    return min(sum(milli_value(v) for v in values), INT64_MAX), milli_target(target.value)


def replicas_for_metric(
    target: MetricTarget, values: Sequence[float], replicas: Replicas, tolerance: Tolerance
) -> int:
    """The replica count one metric asks for (values: one per series, all non-negative).
    Raises UnknownReadyPods when a Value target needs ready pods that could not be counted."""
    usage, goal = _usage(target, values)
    current = replicas.current
    if target.type == TargetType.VALUE:  # GetExternalMetricReplicas
        ratio = float(usage) / float(goal)
        if current == 0:  # getUsageRatioReplicaCount: scale from zero ignores the tolerance
            return _clamp_int32(ratio)
        if tolerance.within(ratio):
            return current
        if replicas.ready_problem:
            raise UnknownReadyPods(replicas.ready_problem)
        ready = current if replicas.ready is None else replicas.ready
        return _clamp_int32(ratio * float(ready))
    # GetExternalPerPodMetricReplicas: usage / (target * status.replicas); with none the
    # ratio is infinite (or NaN) and never within the tolerance.
    counted = current if replicas.status is None else replicas.status
    if counted and tolerance.within(float(usage) / (float(goal) * float(counted))):
        return counted
    return _clamp_int32(float(usage) / float(goal))


# --- several metrics: combine WeightedAverage (the HPA has Max only) ----------------------


@dataclass(frozen=True)
class Share:
    """One metric's usage ratio and the replica count it asks for, before rounding."""

    ratio: float
    replicas: float


def share_of(target: MetricTarget, values: Sequence[float], replicas: Replicas) -> Share:
    """What replicas_for_metric computes before its tolerance and rounding: a Value
    target's ratio times the ready pods (from zero: the ratio), an AverageValue target's
    ratio to status.replicas and usage over the target."""
    usage, goal = _usage(target, values)
    current = replicas.current
    if target.type == TargetType.VALUE:
        ratio = float(usage) / float(goal)
        if current == 0:
            return Share(ratio, ratio)
        if replicas.ready_problem:
            raise UnknownReadyPods(replicas.ready_problem)
        return Share(ratio, ratio * float(current if replicas.ready is None else replicas.ready))
    counted = current if replicas.status is None else replicas.status
    ratio = float(usage) / (float(goal) * float(counted)) if counted else math.inf
    return Share(ratio, float(usage) / float(goal))


def weighted_replicas(
    shares: Sequence[tuple[Share, float]], current: int, tolerance: Tolerance
) -> int:
    """The weighted mean of the metrics' ratios decides whether to change (the tolerance);
    the weighted mean of their unrounded replica counts, rounded up, says to what."""
    total = math.fsum(weight for _, weight in shares)
    ratio = math.fsum(share.ratio * weight for share, weight in shares) / total
    if current and tolerance.within(ratio):
        return current
    return _clamp_int32(math.fsum(share.replicas * weight for share, weight in shares) / total)
