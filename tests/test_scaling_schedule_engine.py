"""Schedules of a ScalingPolicy: which applies at an instant (the highest minReplicas of
those whose TimeIntervals are active), when that next changes, and how it raises
minReplicas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper.api.scaling_limits import Schedule, ScheduleStatus
from watchkeeper.api.timeinterval import TimeIntervalSpec
from watchkeeper.engine.scaling_schedule import HORIZON, raised_min, scheduled
from watchkeeper.engine.timeintervals import TimeInterval


def _interval(name: str, **period) -> TimeInterval:
    return TimeInterval.of(name, TimeIntervalSpec.model_validate({"intervals": [period]}))


INTERVALS = {
    i.name: i
    for i in (
        # 09:00-17:00 on weekdays in Berlin (UTC+1 in December)
        _interval(
            "office",
            times=[{"startTime": "09:00", "endTime": "17:00"}],
            weekdays=["monday:friday"],
            location="Europe/Berlin",
        ),
        _interval("black-friday", daysOfMonth=["27:28"], months=["november"]),
        _interval("lunch", times=[{"startTime": "12:00", "endTime": "13:00"}]),
        _interval("month-end", daysOfMonth=["-1"]),
        _interval("always", years=["2026:2027"]),
    )
}


def _schedule(min_replicas: int, *names: str) -> Schedule:
    return Schedule.model_validate({"timeIntervals": list(names), "minReplicas": min_replicas})


FRIDAY = datetime(2026, 12, 4, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("schedules", "now", "expected"),
    [
        # 15:30Z is 16:30 in Berlin: office applies until 17:00 Berlin, 16:00Z
        ([_schedule(4, "office")], FRIDAY.replace(hour=15, minute=30), (4, ["office"], "16:00")),
        # 07:59:30Z is 08:59:30 in Berlin: nothing applies until 09:00 Berlin
        (
            [_schedule(4, "office")],
            FRIDAY.replace(hour=7, minute=59, second=30),
            (None, [], "08:00"),
        ),
        # the highest of those that apply wins; lunch starts at 12:00Z and raises it
        (
            [_schedule(4, "office"), _schedule(6, "lunch")],
            FRIDAY.replace(hour=11, minute=15),
            (4, ["office"], "12:00"),
        ),
        (
            [_schedule(4, "office"), _schedule(6, "lunch")],
            FRIDAY.replace(hour=12, minute=15),
            (6, ["lunch"], "13:00"),
        ),
        # a schedule applies while any of its intervals does; the active ones are named
        (
            [_schedule(5, "black-friday", "office", "lunch")],
            FRIDAY.replace(hour=12, minute=15),
            (5, ["office", "lunch"], "13:00"),
        ),
        # a missing (or invalid) TimeInterval is never active
        ([_schedule(9, "missing"), _schedule(2, "always")], FRIDAY, (2, ["always"], None)),
        # nothing changes within the horizon: no next change
        ([_schedule(3, "always")], FRIDAY, (3, ["always"], None)),
        # negative days of the month: the 31st of December
        (
            [_schedule(3, "month-end")],
            datetime(2026, 12, 30, 23, 30, tzinfo=UTC),
            (None, [], "2026-12-31T00:00"),
        ),
        ([_schedule(3, "month-end")], FRIDAY, (None, [], None)),  # beyond the horizon
        ([_schedule(3, "black-friday")], FRIDAY, (None, [], None)),
    ],
)
def test_what_the_schedules_apply_and_when_it_changes(schedules, now, expected):
    status, until = scheduled(schedules, INTERVALS, now)
    minimum, active, change = expected
    assert (status.min_replicas, status.time_intervals) == (minimum, active)
    if change is None:
        assert status.next_change is None
        assert until >= now + HORIZON - timedelta(minutes=1)
    else:
        text = change if "T" in change else f"2026-12-04T{change}"
        assert status.next_change == f"{text}:00Z"
        assert until == datetime.fromisoformat(status.next_change)


@pytest.mark.parametrize(
    ("min_replicas", "status", "expected"),
    [
        (2, None, 2),
        (2, ScheduleStatus(), 2),
        (2, ScheduleStatus(min_replicas=5, time_intervals=["office"]), 5),
        (6, ScheduleStatus(min_replicas=5, time_intervals=["office"]), 6),
    ],
)
def test_schedules_only_raise_min_replicas(min_replicas, status, expected):
    assert raised_min(min_replicas, status) == expected
