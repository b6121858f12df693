"""The HPA's memory and what it does with it: stabilization windows over past
recommendations, rate limits over past scale events, then the min/max clamps.

Both paths of ``horizontal.go`` are here: ``normalizeDesiredReplicasWithBehaviors``
(``stabilizeRecommendationWithBehaviors``, ``calculateScaleUpLimitWithScalingRules`` and its
scale-down twin, ``convertDesiredReplicasWithBehaviorRate``) and, for the HPALegacy preset,
``normalizeDesiredReplicas`` (``stabilizeRecommendation``, ``convertDesiredReplicasWithRules``).
The recommendations and scale events are kept exactly as the controller keeps them: a
list of slots, an old slot reused by the next entry, outdated scale events still counted
by a period that grows. So a spec change that lengthens a window or a period gives the
HPA's answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from watchkeeper.api.scaling_behavior import PolicyType, SelectPolicy

from .scaling import Behaviour, Rules


@dataclass(frozen=True)
class Sample:
    """A recommendation and when it was made."""

    replicas: int
    time: datetime
    text: str = field(default="", compare=False)
    """`time` as the status wrote it, if it came from there (saves formatting it again)."""


@dataclass(frozen=True)
class Change:
    """A scale event the rate limits count: replicas added (> 0) or removed (< 0)."""

    replicas: int
    time: datetime
    outdated: bool = False


@dataclass(frozen=True)
class Stabilized:
    replicas: int
    reason: str
    message: str


_READY = ("ReadyForNewScale", "recommended size matches current size")
_DOWN_STABILIZED = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent "
    "recommendation",
)
_UP_STABILIZED = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
)


def stabilize(
    behaviour: Behaviour, samples: Sequence[Sample], current: int, desired: int, now: datetime
) -> Stabilized:
    """With a behavior: `desired` within the lowest recommendation of the scale-up window
    and the highest of the scale-down window (both exclusive of their far edge), starting
    from `current`. Legacy: the highest recommendation of the scale-down window, its far
    edge included, whatever `current` is."""
    down_cutoff = now - behaviour.down.stabilization
    if behaviour.legacy:
        replicas = max([desired, *(s.replicas for s in samples if s.time >= down_cutoff)])
        reason, message = _READY if replicas == desired else _DOWN_STABILIZED
        return Stabilized(replicas, reason, message)
    up_cutoff = now - behaviour.up.stabilization
    up = min([desired, *(s.replicas for s in samples if s.time > up_cutoff)])
    down = max([desired, *(s.replicas for s in samples if s.time > down_cutoff)])
    replicas = min(max(current, up), down)
    if replicas == desired:
        return Stabilized(replicas, *_READY)
    return Stabilized(replicas, *(_UP_STABILIZED if desired >= current else _DOWN_STABILIZED))


def record_sample(
    behaviour: Behaviour, samples: Sequence[Sample], desired: int, now: datetime
) -> tuple[Sample, ...]:
    """The recommendation takes the slot of the last sample older than every window
    (strictly), or a new slot."""
    cutoffs = [now - behaviour.down.stabilization]
    if not behaviour.legacy:
        cutoffs.append(now - behaviour.up.stabilization)
    slots = list(samples)
    for index in reversed(range(len(slots))):
        if all(slots[index].time < cutoff for cutoff in cutoffs):
            slots[index] = Sample(desired, now)
            return tuple(slots)
    return (*slots, Sample(desired, now))


def deciding(samples: Sequence[Sample]) -> tuple[Sample, ...]:
    """The samples that decide every window ending now, whatever its length, oldest
    first: each is strictly above or below every later one (a window's highest and its
    lowest recommendation are always among them)."""
    ordered = sorted(samples, key=lambda s: s.time)
    if not ordered:
        return ()
    kept = [ordered[-1]]
    high = low = ordered[-1].replicas
    for sample in reversed(ordered[:-1]):
        if sample.replicas > high or sample.replicas < low:
            kept.append(sample)
        high, low = max(high, sample.replicas), min(low, sample.replicas)
    return tuple(reversed(kept))


# --- rate limits: calculateScale{Up,Down}Limit... ---------------------------------------


def _changed_within(period: timedelta, changes: Sequence[Change], now: datetime) -> tuple[int, int]:
    """Replicas added and removed by scale events strictly inside the last `period`
    (outdated ones included, as the HPA counts them)."""
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
    """storeScaleEvent: the events of the change's direction older than its longest
    period are marked outdated (for good); the new event takes the slot of the last
    outdated one, or a new slot. The legacy path keeps no events."""
    if behaviour.legacy:
        return tuple(changes)
    up = change.replicas > 0
    rules = behaviour.up if up else behaviour.down
    cutoff = change.time - rules.longest_period
    slots = [
        replace(c, outdated=True) if (c.replicas > 0) == up and c.time < cutoff else c
        for c in changes
    ]
    for index in reversed(range(len(slots))):
        if (slots[index].replicas > 0) == up and slots[index].outdated:
            slots[index] = change
            return tuple(slots)
    return (*slots, change)


# --- normalization: normalizeDesiredReplicas[WithBehaviors] ------------------------------


@dataclass(frozen=True)
class Normalized:
    """The HPA's answer for one evaluation, with the reasons of its two conditions."""

    replicas: int
    samples: tuple[Sample, ...]
    stabilized: Stabilized
    limited: bool
    limit_reason: str
    limit_message: str


_UP_LIMIT = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
)
_DOWN_LIMIT = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
)
_TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
_TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
_WITHIN = ("DesiredWithinRange", "the desired count is within the acceptable range")


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
        (reason, message), allowed = (_UP_LIMIT, limit) if high > limit else (_TOO_MANY, high)
        if desired > allowed:
            return allowed, reason, message
    elif desired < current:
        limit = min(scale_down_limit(behaviour.down, changes, current, now), current)
        (reason, message), allowed = (_DOWN_LIMIT, limit) if low < limit else (_TOO_FEW, low)
        if desired < allowed:
            return allowed, reason, message
    return desired, *_WITHIN


def _legacy_limit(current: int, desired: int, bounds: tuple[int, int]) -> tuple[int, str, str]:
    """convertDesiredReplicasWithRules: at most max(2 x current, 4), then min/max."""
    low, high = bounds
    limit = int(max(2.0 * float(current), 4.0))
    (reason, message), allowed = (_UP_LIMIT, limit) if high > limit else (_TOO_MANY, high)
    if desired < low:
        return low, *_TOO_FEW
    if desired > allowed:
        return allowed, reason, message
    return desired, *_WITHIN


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
    if behaviour.legacy:
        replicas, reason, message = _legacy_limit(current, stabilized.replicas, bounds)
    else:
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
