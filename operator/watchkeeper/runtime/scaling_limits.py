"""What limits a ScalingPolicy besides its metrics, read from the watch cache (no API
call per evaluation): the firing Alerts that hold its scale-down, and the schedules that
raise its minReplicas."""

from __future__ import annotations

from datetime import datetime

from watchkeeper.api.scaling_limits import ScheduleStatus
from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.engine.scaling_hold import firing
from watchkeeper.engine.scaling_schedule import scheduled
from watchkeeper.engine.timeintervals import TimeInterval
from watchkeeper.runtime.muting import firing_sources
from watchkeeper.runtime.services import Services


def holding(services: Services, namespace: str, spec: ScalingPolicySpec) -> tuple[str, ...]:
    """The namespace's firing Alerts (whose status the operator wrote) that hold the
    policy's scale-down, sorted by name."""
    if spec.hold_scale_down is None:
        return ()
    matchers = spec.hold_scale_down.while_alerts_fire.matchers
    return firing(matchers, firing_sources(services, namespace))


class ScheduleClock:
    """One policy's schedules; the search for their next change runs again only once that
    instant is reached or the schedules or their TimeIntervals changed."""

    def __init__(self) -> None:
        self._known: tuple[object, dict[str, TimeInterval], datetime, ScheduleStatus] | None = None

    def status(
        self, services: Services, namespace: str, spec: ScalingPolicySpec, now: datetime
    ) -> ScheduleStatus | None:
        """What the schedules make of minReplicas at `now` (None: the policy has none)."""
        if not spec.schedules:
            self._known = None
            return None
        names = {n for s in spec.schedules for n in s.time_intervals}
        parsed = services.time_intervals.in_namespace(services.objects, namespace)
        intervals = {i.name: i for i in parsed if i.name in names}
        key = [(tuple(s.time_intervals), s.min_replicas) for s in spec.schedules]
        known = self._known
        if known is not None and (known[0], known[1]) == (key, intervals) and now < known[2]:
            return known[3]
        status, until = scheduled(spec.schedules, intervals, now)
        self._known = (key, intervals, until, status)
        return status
