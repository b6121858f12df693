"""A ScalingPolicy's schedules: while any TimeInterval a schedule names is active, its
minReplicas applies; the highest of those that apply wins. Pure: `now` is passed in.

TimeIntervals change state only on minute boundaries (their times are HH:MM in a zone
whose offset is a whole number of minutes), so the next change is found by looking at
each minute ahead, up to HORIZON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.api.scaling_limits import Schedule, ScheduleStatus
from watchkeeper.api.timestamps import format_time

from .timeintervals import TimeInterval

HORIZON = timedelta(days=1)
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Applied:
    """The minReplicas the schedules set at an instant and the active intervals that set it
    (None and () when no schedule applies)."""

    min_replicas: int | None = None
    time_intervals: tuple[str, ...] = ()


def applied(
    schedules: Sequence[Schedule], intervals: Mapping[str, TimeInterval], now: datetime
) -> Applied:
    """What the schedules set at `now`; a name that is not a valid TimeInterval is never
    active (the policy's Ready condition says so)."""
    best = Applied()
    for schedule in schedules:
        active = tuple(
            n for n in schedule.time_intervals if n in intervals and intervals[n].contains(now)
        )
        if active and (best.min_replicas is None or schedule.min_replicas > best.min_replicas):
            best = Applied(schedule.min_replicas, active)
    return best


def scheduled(
    schedules: Sequence[Schedule], intervals: Mapping[str, TimeInterval], now: datetime
) -> tuple[ScheduleStatus, datetime]:
    """The status of the schedules at `now`, and the instant until which it holds (the next
    change, or the end of the horizon searched)."""
    current = applied(schedules, intervals, now)
    edge = now.replace(second=0, microsecond=0)
    change = None
    while change is None and edge < now + HORIZON:
        edge += _MINUTE
        if applied(schedules, intervals, edge) != current:
            change = edge
    status = ScheduleStatus(
        min_replicas=current.min_replicas,
        time_intervals=list(current.time_intervals),
        next_change=None if change is None else format_time(change),
    )
    return status, edge


def raised_min(min_replicas: int, status: ScheduleStatus | None) -> int:
    """minReplicas raised by the schedules (the bound by maxReplicas comes later)."""
    if status is None or status.min_replicas is None:
        return min_replicas
    return max(min_replicas, status.min_replicas)
