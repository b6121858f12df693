"""The obligation decisions: who is owed what, when a Repeat is owed, how a round settles
an obligation, and a multi-day timeline where the display history is trimmed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper.api.alert import AlertState, NotificationEvent, Obligation, Outcome, ToldChannel
from watchkeeper.api.common import Severity
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.alerts import Change, Instance, Transition
from watchkeeper.engine.notifications import (
    Attempt,
    Budget,
    Ledger,
    Notice,
    Routing,
    after_evaluation,
    after_settlement,
    owe,
    ready,
    repeat_due,
    settle,
    targets,
)

E = NotificationEvent
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
H, M = timedelta(hours=1), timedelta(minutes=1)
ROUTING = Routing(("a", "b"), H, True)
KEY = (("pod", "x"),)


def owed(channel: str, event: E, at: datetime, cycle: datetime = T0) -> Obligation:
    [o] = owe("ns", "alert", Notice(event, at, cycle), [channel])
    return o


@pytest.mark.parametrize(
    ("event", "routing", "told", "outbox", "expected"),
    [
        (E.FIRING, ROUTING, [], [], ["a", "b"]),
        (E.REPEAT, ROUTING, [("pager", T0)], [], ["a", "b"]),
        # follow-ups also reach channels told of this cycle, or still owed a page of it
        (E.RESOLVED, ROUTING, [("pager", T0)], [("mail", T0)], ["a", "b", "pager", "mail"]),
        (E.ACKNOWLEDGED, ROUTING, [("pager", T0)], [], ["a", "b", "pager"]),
        # ... but not channels of an earlier cycle
        (E.RESOLVED, ROUTING, [("pager", T0 - H)], [("mail", T0 - H)], ["a", "b"]),
        (E.RESOLVED, Routing(("a",), H, False), [("pager", T0)], [], []),
    ],
)
def test_who_a_transition_is_owed_to(event, routing, told, outbox, expected):
    told_ = [ToldChannel(channel=c, cycle=format_time(t)) for c, t in told]
    outbox_ = [owed(c, E.FIRING, t, t) for c, t in outbox]
    assert targets(event, routing, T0, told_, outbox_) == expected


@pytest.mark.parametrize(
    ("minutes", "last", "expected"),
    [
        (59, None, None),
        (60, None, 60),
        (61, 60, None),
        (130, 60, 120),  # a missed interval: one Repeat, on the grid, not two
        (130, 120, None),
        (600, 120, 600),
    ],
)
def test_a_repeat_is_owed_once_per_interval(minutes, last, expected):
    last_ = T0 + last * M if last is not None else None
    due = repeat_due(T0, last_, H, T0 + minutes * M)
    assert due == (T0 + expected * M if expected is not None else None)


def test_a_resolved_waits_for_the_firing_of_its_channel():
    firing, resolved = owed("a", E.FIRING, T0), owed("a", E.RESOLVED, T0 + M)
    other = owed("b", E.RESOLVED, T0 + M)
    assert ready([resolved, other, firing]) == [firing, other]


NOW = T0 + 2 * H


@pytest.mark.parametrize(
    ("attempt", "before", "first", "budget", "kept", "outcome", "attempts"),
    [
        (Attempt(Outcome.DELIVERED, 1), 0, None, 3, False, Outcome.DELIVERED, 1),
        # truthful history: a failure, then a success, shows every attempt
        (Attempt(Outcome.DELIVERED, 1), 2, T0, 3, False, Outcome.DELIVERED, 3),
        (Attempt(Outcome.RATE_LIMITED), 0, None, 3, False, Outcome.RATE_LIMITED, 0),
        (Attempt(Outcome.SKIPPED, error="below"), 0, None, 3, False, Outcome.SKIPPED, 0),
        (Attempt(Outcome.FAILED, 1, "401"), 0, None, 3, False, Outcome.FAILED, 1),
        # retryable: kept while the budget or the maximum age lasts
        (Attempt(Outcome.FAILED, 3, "503", True), 0, None, 3, True, None, 3),
        (Attempt(Outcome.FAILED, 3, "503", True), 3, NOW - 10 * M, 3, True, None, 6),
        (Attempt(Outcome.FAILED, 1, "503", True), 0, T0 - H, 3, True, None, 1),
        (Attempt(Outcome.FAILED, 3, "503", True), 3, T0, 3, False, Outcome.GAVE_UP, 6),
        # an unusable channel (missing): no requests, given up after the maximum age
        (Attempt(Outcome.FAILED, 0, "not found", True), 0, T0, 0, False, Outcome.GAVE_UP, 0),
    ],
)
def test_settling_a_round(attempt, before, first, budget, kept, outcome, attempts):
    obligation = owed("a", E.FIRING, T0).model_copy(
        update={"attempts": before, "first_attempt": format_time(first) if first else None}
    )
    result = settle(obligation, attempt, Budget(budget, H), NOW)
    assert (result.owed is not None) == kept
    if kept:
        assert result.owed.attempts == attempts and result.owed.error == attempt.error
        assert result.owed.last_attempt == format_time(NOW)
    else:
        assert result.record.outcome == outcome and result.record.attempts == attempts
        assert attempt.error in result.record.error


def firing(at: datetime) -> Instance:
    return Instance({"pod": "x"}, AlertState.FIRING, at, Severity.WARNING, 3.0, firing_since=at)


def test_a_resolved_owed_before_a_refire_is_still_owed_and_reaches_the_paged():
    """Cycle 1 fires and resolves; nothing is delivered (a crash) before cycle 2 fires:
    the Resolved of cycle 1 is still owed, to the routed channels and the one told."""
    ledger = after_evaluation(
        Ledger(), "ns", "alert", firing(T0), [Transition(KEY, Change.FIRING, None)], ROUTING, T0
    )
    [page] = owe("ns", "alert", Notice(E.FIRING, T0, T0, step=1), ["pager"])
    ledger = ledger.owing([page])
    resolved = Instance({"pod": "x"}, AlertState.RESOLVED, T0, firing_since=T0, resolved_at=T0 + M)
    change = [Transition(KEY, Change.RESOLVED, None)]
    ledger = after_evaluation(ledger, "ns", "alert", resolved, change, ROUTING, T0 + M)
    again = firing(T0 + 2 * M)
    change = [Transition(KEY, Change.FIRING, None)]
    ledger = after_evaluation(ledger, "ns", "alert", again, change, ROUTING, T0 + 2 * M)
    events = Counter((o.event, o.transition_time) for o in ledger.outbox)
    assert events == {
        (E.FIRING, format_time(T0)): 3,
        (E.RESOLVED, format_time(T0 + M)): 3,
        (E.FIRING, format_time(T0 + 2 * M)): 2,
    }


def test_five_days_of_hourly_repeats_to_three_channels_owe_one_firing():
    """An alert fires for 5 days, 3 channels, repeatInterval 1h, evaluated every minute,
    everything delivered at once. The display history keeps 50 records; exactly one
    Firing per channel and one Repeat per hour per channel are owed."""
    routing = Routing(("a", "b", "c"), H, True)
    instance, ledger = firing(T0), Ledger()
    delivered: Counter[tuple[str, str]] = Counter()
    for minute in range(5 * 24 * 60 + 1):
        now = T0 + minute * M
        changes = [Transition(KEY, Change.FIRING, None)] if minute == 0 else []
        ledger = after_evaluation(ledger, "ns", "alert", instance, changes, routing, now)
        for obligation in ready(ledger.outbox):
            delivered[obligation.channel, obligation.event] += 1
            result = settle(obligation, Attempt(Outcome.DELIVERED, 1), Budget(3), now)
            ledger = after_settlement(ledger, obligation, result, keep=50)
        assert not ledger.outbox
        assert len(ledger.notifications) <= 50
    for channel in "abc":
        assert delivered[channel, E.FIRING] == 1
        assert delivered[channel, E.REPEAT] == 5 * 24
    assert len(ledger.notifications) == 50


@pytest.mark.parametrize(
    ("outcome", "told"),
    [
        (Outcome.DELIVERED, True),
        # the channel's summary lists the alert: it learned of it, and hears the Resolved
        (Outcome.RATE_LIMITED, True),
        (Outcome.SKIPPED, False),
        (Outcome.FAILED, False),
        (Outcome.GAVE_UP, False),
    ],
)
def test_who_was_told_of_the_cycle(outcome, told):
    obligation = owed("a", E.FIRING, T0)
    result = settle(obligation, Attempt(outcome, 1), Budget(0, timedelta(0)), T0)
    ledger = after_settlement(Ledger(outbox=(obligation,)), obligation, result, keep=50)
    assert not ledger.outbox
    assert [t.channel for t in ledger.told] == (["a"] if told else [])
    assert targets(E.RESOLVED, Routing((), H, True), T0, ledger.told, ()) == (["a"] if told else [])
