"""A line-by-line transliteration of the HPA controller (k8s.io/kubernetes v1.36.3,
pkg/controller/podautoscaler: horizontal.go's reconcileAutoscaler for one external metric,
normalizeDesiredReplicas and normalizeDesiredReplicasWithBehaviors with their bookkeeping,
replica_calculator.go's GetExternalMetricReplicas / GetExternalPerPodMetricReplicas with
getReadyPodsCount), kept naive on purpose: every recommendation in its slot, scale events
with outdated flags, the old slot reused. One clock per sync (the controller calls
time.Now() a few times per sync). The differential tests run it beside the engine."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from watchkeeper.api.scaling_behavior import PolicyType, SelectPolicy
from watchkeeper.engine.scaling import Behaviour, Rules

INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)
DOWNSCALE_STABILISATION = timedelta(minutes=5)  # the controller flag's default


@dataclass(frozen=True)
class Pods:
    """What the HPA's pod lister and /scale show: status.replicas, the pods matching the
    selector and how many of them are Running and Ready."""

    status_replicas: int
    listed: int
    ready: int


def reference_external(
    kind: str,
    values: list[float],
    target: float,
    current: int,
    tolerance: tuple[float, float],
    pods: Pods | None = None,
) -> int | None:
    """GetExternalMetricReplicas / GetExternalPerPodMetricReplicas for an adapter serving
    NewMilliQuantity(int64(v * 1000)) per series; None where the controller errors.
    tolerance: (scale-down, scale-up); pods None: ready pods and status equal `current`."""
    pods = pods or Pods(current, current, current)
    usage = sum(int(v * 1000.0) for v in values)
    goal = math.ceil(Decimal(str(target)) * 1000)  # Quantity.MilliValue() rounds up
    down, up = tolerance

    def within(ratio: float) -> bool:
        return (1.0 - down) <= ratio and ratio <= (1.0 + up)

    if kind == "Value":
        ratio = float(usage) / float(goal)
        if current == 0:
            return math.ceil(ratio)
        if within(ratio):
            return current
        if pods.listed == 0:  # getReadyPodsCount: "no pods returned by selector"
            return None
        count = ratio * float(pods.ready)
        return INT32_MAX if count > INT32_MAX else math.ceil(count)
    replicas = pods.status_replicas
    ratio = float(usage) / (float(goal) * float(replicas)) if replicas else math.nan
    if not within(ratio):
        result = math.ceil(float(usage) / float(goal))
        replicas = INT32_MAX if result > INT32_MAX else result
    return replicas


@dataclass
class _Event:
    change: int
    time: datetime
    outdated: bool = False


@dataclass
class ReferenceHPA:
    """One HPA's memory in the controller, synced with the HPA's spec of the moment:
    `behaviour` None is an HPA without spec.behavior."""

    recommendations: list[tuple[int, datetime]] | None = None
    up_events: list[_Event] = field(default_factory=list)
    down_events: list[_Event] = field(default_factory=list)

    def sync(
        self,
        now: datetime,
        behaviour: Behaviour | None,
        bounds: tuple[int, int],
        current: int,
        metric_desired: int | None,
    ) -> int:
        low, high = bounds
        if self.recommendations is None:  # recordInitialRecommendation
            self.recommendations = [(current, now)]
        if current == 0 and low != 0:
            return current
        if current > high:
            desired = high
        elif current < low:
            desired = low
        else:
            if metric_desired is None:  # computeReplicasForMetrics returned -1
                return current
            if behaviour is None:
                stabilized = self._stabilize_legacy(metric_desired, now)
                desired = self._convert_legacy(current, stabilized, low, high)
            else:
                stabilized = self._stabilize(behaviour, current, metric_desired, now)
                desired = self._convert(behaviour, current, stabilized, bounds, now)
        if desired != current and behaviour is not None:  # storeScaleEvent
            self._store(behaviour, current, desired, now)
        return desired

    # --- normalizeDesiredReplicas ------------------------------------------------------

    def _stabilize_legacy(self, desired: int, now: datetime) -> int:
        assert self.recommendations is not None
        highest, found_old, old_index = desired, False, 0
        cutoff = now - DOWNSCALE_STABILISATION
        for i, (rec, stamp) in enumerate(self.recommendations):
            if stamp < cutoff:
                found_old, old_index = True, i
            elif rec > highest:
                highest = rec
        if found_old:
            self.recommendations[old_index] = (desired, now)
        else:
            self.recommendations.append((desired, now))
        return highest

    @staticmethod
    def _convert_legacy(current: int, desired: int, low: int, high: int) -> int:
        scale_up_limit = int(max(2.0 * float(current), 4.0))
        maximum = scale_up_limit if high > scale_up_limit else high
        if desired < low:
            return low
        if desired > maximum:
            return maximum
        return desired

    # --- normalizeDesiredReplicasWithBehaviors -------------------------------------------

    def _stabilize(self, behaviour: Behaviour, current: int, desired: int, now: datetime) -> int:
        assert self.recommendations is not None
        found_old, old_index = False, 0
        up_rec, up_cutoff = desired, now - behaviour.up.stabilization
        down_rec, down_cutoff = desired, now - behaviour.down.stabilization
        for i, (rec, stamp) in enumerate(self.recommendations):
            if stamp > up_cutoff:
                up_rec = min(rec, up_rec)
            if stamp > down_cutoff:
                down_rec = max(rec, down_rec)
            if stamp < up_cutoff and stamp < down_cutoff:
                found_old, old_index = True, i
        recommendation = current
        if recommendation < up_rec:
            recommendation = up_rec
        if recommendation > down_rec:
            recommendation = down_rec
        if found_old:
            self.recommendations[old_index] = (desired, now)
        else:
            self.recommendations.append((desired, now))
        return recommendation

    @staticmethod
    def _changed(period: timedelta, events: list[_Event], now: datetime) -> int:
        return sum(e.change for e in events if e.time > now - period)

    def _limit(self, rules: Rules, current: int, now: datetime, up: bool) -> int:
        if rules.select == SelectPolicy.DISABLED:
            return current
        least_change = rules.select == SelectPolicy.MIN
        if up:
            result, pick = (INT32_MAX, min) if least_change else (INT32_MIN, max)
        else:
            result, pick = (INT32_MIN, max) if least_change else (INT32_MAX, min)
        for p in rules.policies:
            start = (
                current
                - self._changed(p.period, self.up_events, now)
                + self._changed(p.period, self.down_events, now)
            )
            if p.type == PolicyType.PODS:
                proposed = start + p.value if up else start - p.value
            elif up:
                proposed = math.ceil(float(start) * (1 + float(p.value) / 100))
            else:
                proposed = int(float(start) * (1 - float(p.value) / 100))
            result = pick(result, proposed)
        return result

    def _convert(
        self,
        behaviour: Behaviour,
        current: int,
        desired: int,
        bounds: tuple[int, int],
        now: datetime,
    ) -> int:
        low, high = bounds
        if desired > current:
            limit = max(self._limit(behaviour.up, current, now, True), current)
            return min(desired, min(high, limit))
        if desired < current:
            limit = min(self._limit(behaviour.down, current, now, False), current)
            return max(desired, max(low, limit))
        return desired

    def _store(self, behaviour: Behaviour, before: int, after: int, now: datetime) -> None:
        up = after > before
        rules, events = (behaviour.up, self.up_events) if up else (behaviour.down, self.down_events)
        longest = max((p.period for p in rules.policies), default=timedelta(0))
        for event in events:  # markScaleEventsOutdated
            if event.time < now - longest:
                event.outdated = True
        index = max((i for i, e in enumerate(events) if e.outdated), default=None)
        event = _Event(abs(after - before), now)
        if index is None:
            events.append(event)
        else:
            events[index] = event

    def events(self) -> list[tuple[int, datetime, bool]]:
        """Both directions' slots, scale-ups positive, in slot order per direction."""
        ups = [(e.change, e.time, e.outdated) for e in self.up_events]
        return ups + [(-e.change, e.time, e.outdated) for e in self.down_events]
