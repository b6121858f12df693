"""Time windows without a cluster: Alertmanager's time_intervals semantics (times of day,
weekdays, days of month incl. negative ones, months, years, IANA zones incl. DST), and
what a window does to what a channel is owed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from watchkeeper.api.alert import AlertState, NotificationEvent
from watchkeeper.api.timeinterval import TimeIntervalSpec
from watchkeeper.engine.alerts import Change, Instance, Transition
from watchkeeper.engine.notifications import Ledger, Routing, after_evaluation
from watchkeeper.engine.timeintervals import TimeInterval, sends_now


def interval(**period) -> TimeInterval:
    return TimeInterval.of("w", TimeIntervalSpec.model_validate({"intervals": [period]}))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


OFFICE = {"times": [{"startTime": "09:00", "endTime": "17:00"}], "weekdays": ["monday:friday"]}


@pytest.mark.parametrize(
    ("period", "moment", "inside"),
    [
        (OFFICE, "2026-12-04T09:00:00+00:00", True),  # Friday, start inclusive
        (OFFICE, "2026-12-04T16:59:59+00:00", True),
        (OFFICE, "2026-12-04T17:00:00+00:00", False),  # end exclusive
        (OFFICE, "2026-12-05T10:00:00+00:00", False),  # Saturday
        # read in the window's zone: 09:00 in Berlin is 08:00 UTC in winter
        ({**OFFICE, "location": "Europe/Berlin"}, "2026-12-04T08:00:00+00:00", True),
        ({**OFFICE, "location": "Europe/Berlin"}, "2026-12-04T16:00:00+00:00", False),
        # half-hour zone
        ({**OFFICE, "location": "Asia/Kolkata"}, "2026-12-04T03:30:00+00:00", True),
        ({**OFFICE, "location": "Asia/Kolkata"}, "2026-12-04T03:29:00+00:00", False),
        # the weekday is the local one: Saturday 00:30 in Tokyo is Friday in UTC
        ({"weekdays": ["saturday"], "location": "Asia/Tokyo"}, "2026-12-04T15:30:00+00:00", True),
        # summer time: 09:00 in New York is 13:00 UTC in July, 14:00 UTC in December
        ({**OFFICE, "location": "America/New_York"}, "2026-07-06T13:00:00+00:00", True),
        ({**OFFICE, "location": "America/New_York"}, "2026-12-07T13:00:00+00:00", False),
        (
            {"times": [{"startTime": "22:00", "endTime": "24:00"}]},
            "2026-12-04T23:59:00+00:00",
            True,
        ),
        ({"daysOfMonth": ["-1"]}, "2026-02-28T12:00:00+00:00", True),  # last day of February
        ({"daysOfMonth": ["-1"]}, "2026-03-30T12:00:00+00:00", False),
        ({"daysOfMonth": ["-7:-1"]}, "2026-12-25T00:00:00+00:00", True),
        ({"daysOfMonth": ["1:-1"]}, "2026-12-15T00:00:00+00:00", True),
        ({"daysOfMonth": ["31"]}, "2026-11-30T00:00:00+00:00", False),  # no 31st: skipped
        ({"months": ["november:december"]}, "2026-12-04T00:00:00+00:00", True),
        ({"months": ["1:3"]}, "2026-12-04T00:00:00+00:00", False),
        ({"years": ["2025:2026"]}, "2026-12-04T00:00:00+00:00", True),
        ({"years": ["2027"]}, "2026-12-04T00:00:00+00:00", False),
    ],
)
def test_windows_follow_alertmanager(period, moment, inside):
    assert interval(**period).contains(at(moment)) is inside


@pytest.mark.parametrize(
    "period",
    [
        {"location": "Mars/Olympus_Mons"},
        {"weekdays": ["friday:monday"]},
        {"daysOfMonth": ["10:2"]},
        {"months": ["march:january"]},
        {"times": [{"startTime": "10:00", "endTime": "10:00"}]},
    ],
)
def test_invalid_windows_are_refused_with_a_message(period):
    with pytest.raises(ValidationError) as caught:
        TimeIntervalSpec.model_validate({"intervals": [period]})
    assert "time zone" in str(caught.value) or "start" in str(caught.value)


def test_mute_and_active_windows():
    night = interval(times=[{"startTime": "00:00", "endTime": "06:00"}])
    intervals = {"night": night}
    three, noon = at("2026-12-04T03:00:00+00:00"), at("2026-12-04T12:00:00+00:00")
    assert not sends_now(intervals, ["night"], [], three)
    assert sends_now(intervals, ["night"], [], noon)
    assert sends_now(intervals, [], ["night"], three)
    assert not sends_now(intervals, [], ["night"], noon)
    assert sends_now(intervals, ["missing"], [], three)  # its Ready says it is missing


T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
KEY = (("pod", "x"),)


def test_a_resolution_inside_a_mute_window_is_dropped_for_that_channel_only():
    routing = Routing(("muted", "open"), timedelta(hours=4), True)
    firing = Instance({"pod": "x"}, AlertState.FIRING, T0, firing_since=T0)
    ledger = after_evaluation(
        Ledger(),
        "ns",
        "a",
        firing,
        [Transition(KEY, Change.FIRING, None)],
        routing,
        T0,
        held=frozenset({"muted"}),
    )
    assert sorted(o.channel for o in ledger.outbox) == ["muted", "open"]  # held, not dropped
    resolved = Instance(
        {"pod": "x"},
        AlertState.RESOLVED,
        T0,
        firing_since=T0,
        resolved_at=T0 + timedelta(minutes=1),
    )
    ledger = after_evaluation(
        ledger,
        "ns",
        "a",
        resolved,
        [Transition(KEY, Change.RESOLVED, None)],
        routing,
        T0 + timedelta(minutes=1),
        held=frozenset({"muted"}),
    )
    owed = sorted((o.channel, o.event) for o in ledger.outbox)
    assert owed == [("open", NotificationEvent.FIRING), ("open", NotificationEvent.RESOLVED)]
