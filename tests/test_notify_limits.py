"""The pure parts of delivery: backoff schedule, rate limit, channel filter. Tables and
property tests; no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.engine.backoff import RetryPolicy, backoff_delay, next_retry
from watchkeeper.engine.channelfilter import skip_reason
from watchkeeper.engine.ratelimit import (
    Held,
    Limit,
    LimiterState,
    Verdict,
    admit,
    highest_severity,
    summary_delivered,
    take_summary_slot,
)
from watchkeeper.notify.state import limiter_from_status, limiter_to_status

POLICY = RetryPolicy(max_attempts=5, initial_backoff=1.0, max_backoff=10.0)
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("failures", "draw", "expected"),
    [(1, 0.0, 0.5), (1, 1.0, 1.0), (2, 0.0, 1.0), (3, 0.5, 3.0), (4, 1.0, 8.0), (6, 1.0, 10.0)],
)
def test_backoff_doubles_with_equal_jitter_up_to_the_maximum(failures, draw, expected):
    assert backoff_delay(POLICY, failures, draw) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("failures", "retry_after", "expected"),
    [(1, None, 0.5), (5, None, None), (1, 7.0, 7.0), (1, 11.0, None), (4, 0.0, 0.0)],
)
def test_next_retry_honours_retry_after_and_gives_up(failures, retry_after, expected):
    assert next_retry(POLICY, failures, 0.0, retry_after) == expected


@given(st.integers(1, 30), st.floats(0, 1))
def test_backoff_stays_between_half_the_ceiling_and_the_maximum(failures, draw):
    delay = backoff_delay(POLICY, failures, draw)
    ceiling = min(POLICY.max_backoff, POLICY.initial_backoff * 2 ** (failures - 1))
    assert ceiling / 2 <= delay <= ceiling <= POLICY.max_backoff


def item(i: int, severity: str | None = "Warning") -> Held:
    return Held(key=f"k{i}", text=f"alert {i}", severity=severity)


@given(st.lists(st.floats(0, 300), min_size=1, max_size=40), st.integers(1, 5))
def test_never_more_than_max_sends_in_any_window(offsets, limit_max):
    limit = Limit(limit_max, timedelta(seconds=60))
    state, sent, held = LimiterState(), [], 0
    for i, offset in enumerate(sorted(offsets)):
        now = T0 + timedelta(seconds=offset)
        summary = take_summary_slot(state, limit, now, f"s{i}")
        if summary is not None:
            sent.append(now)
            state = summary_delivered(summary, state)
        verdict, state = admit(state, limit, now, item(i))
        if verdict == Verdict.SEND:
            sent.append(now)
        else:
            held += 1
    for start in sent:
        in_window = [t for t in sent if start <= t < start + limit.window]
        assert len(in_window) <= limit_max
    # nothing vanished: what was not sent is still counted as held, or was summarized
    assert state.held <= held


def test_held_items_are_counted_once_and_summarized():
    limit = Limit(1, timedelta(seconds=60))
    verdict, state = admit(LimiterState(), limit, T0, item(0))
    assert verdict == Verdict.SEND
    verdict, state = admit(state, limit, T0, item(1, "Critical"))
    assert verdict == Verdict.HOLD and state.held == 1 and state.held_since == T0
    verdict, state = admit(state, limit, T0, item(1, "Critical"))
    assert verdict == Verdict.ALREADY_HELD and state.held == 1
    assert take_summary_slot(state, limit, T0 + timedelta(seconds=30), "s") is None
    later = T0 + timedelta(seconds=61)
    covered = take_summary_slot(state, limit, later, "s")
    assert covered is not None
    _, newer = admit(covered, limit, later, item(2))  # held while the summary is in flight
    after = summary_delivered(newer, state)
    assert after.held == 1 and [h.key for h in after.held_items] == ["k2"]
    assert highest_severity(state.held_items) == "Critical"


def test_forced_sends_take_a_slot_but_are_never_held():
    limit = Limit(1, timedelta(seconds=60))
    _, state = admit(LimiterState(), limit, T0, item(0))
    verdict, state = admit(state, limit, T0, item(1), force=True)
    assert verdict == Verdict.SEND and len(state.recent) == 2


def test_limiter_state_round_trips_through_status():
    limit = Limit(2, timedelta(seconds=60))
    state = LimiterState()
    for i in range(4):
        _, state = admit(state, limit, T0 + timedelta(milliseconds=250 * i), item(i))
    restored = limiter_from_status(limiter_to_status(state))
    assert restored == state


@pytest.mark.parametrize(
    ("event", "severity", "previous", "minimum", "send_resolved", "notified", "sent"),
    [
        ("Firing", "Warning", None, "Warning", True, None, True),
        ("Firing", "Warning", None, "Critical", True, None, False),
        ("Repeat", "Emergency", None, "Critical", True, None, True),
        ("SeverityChanged", "Critical", "Warning", "Critical", True, None, True),
        ("SeverityChanged", "Warning", "Critical", "Critical", True, None, True),
        ("SeverityChanged", "Warning", "Warning", "Critical", True, None, False),
        ("Resolved", "Critical", None, "Warning", False, None, False),
        ("Resolved", "Warning", None, "Critical", True, True, True),
        ("Resolved", "Critical", None, "Warning", True, False, False),
        ("Acknowledged", "Warning", None, "Critical", True, None, False),
        ("Test", None, None, "Emergency", False, None, True),
        ("Summary", None, None, "Emergency", True, None, True),
    ],
)
def test_channel_filter(event, severity, previous, minimum, send_resolved, notified, sent):
    reason = skip_reason(event, severity, previous, minimum, send_resolved, notified)
    assert (reason is None) == sent
