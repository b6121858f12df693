"""The escalation schedule over timelines of firing, acknowledgement, ack timeout,
severity changes and resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.api.alert import AlertState
from watchkeeper.api.common import Severity
from watchkeeper.api.escalationpolicy import EscalationPolicySpec
from watchkeeper.engine.escalation import (
    AlertView,
    Chain,
    advance,
    position_of,
    progress_text,
    saved_form,
)

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def chain(
    repeat: int = 0, ack_timeout: str | None = None, min_severity: str | None = None
) -> Chain:
    spec = EscalationPolicySpec.model_validate(
        {
            "steps": [
                {"after": "0m", "channels": ["slack"]},
                {
                    "after": "10m",
                    "channels": ["pager"],
                    **({"minSeverity": min_severity} if min_severity else {}),
                },
                {"after": "30m", "channels": ["managers"]},
            ],
            "repeat": repeat,
            **({"ackTimeout": ack_timeout} if ack_timeout else {}),
        }
    )
    return Chain.of(spec)


def view(
    state=AlertState.FIRING, severity=Severity.CRITICAL, changed=None, acked=None
) -> AlertView:
    return AlertView(state, severity, T0, changed, acked)


def walk(c: Chain, minutes: list[int], alert_at=lambda minute: view()):
    """Advance at each minute; return {minute: [(loop, step, due minute)]} of new runs."""
    position, out = None, {}
    for minute in minutes:
        decision = advance(c, position, alert_at(minute), T0 + minute * M)
        position = decision.position
        runs = [(lp, st, int((at - T0) / M)) for lp, st, at in decision.new_runs]
        if runs:
            out[minute] = runs
    return out, position


def test_the_chain_runs_each_step_on_time_once():
    runs, position = walk(chain(), list(range(0, 61)))
    assert runs == {0: [(0, 0, 0)], 10: [(0, 1, 10)], 30: [(0, 2, 30)]}
    assert position.next_at is None and progress_text(chain(), position) == "3/3"


def test_repeat_runs_the_chain_again_after_its_period():
    c = chain(repeat=1)
    assert c.period == 50 * M  # the last step's after plus the gap before it
    runs, _ = walk(c, list(range(0, 200)))
    assert runs == {
        0: [(0, 0, 0)],
        10: [(0, 1, 10)],
        30: [(0, 2, 30)],
        50: [(1, 0, 50)],
        60: [(1, 1, 60)],
        80: [(1, 2, 80)],
    }


def test_steps_missed_while_down_run_once_after_restart():
    runs, position = walk(chain(), [0, 35])
    assert runs == {0: [(0, 0, 0)], 35: [(0, 1, 10), (0, 2, 30)]}
    again = advance(chain(), position, view(), T0 + 35 * M)
    assert again.new_runs == () and again.position == position


def test_acknowledgement_stops_and_ack_timeout_resumes_where_it_stopped():
    c = chain(ack_timeout="15m")
    acked = lambda minute: view(acked=T0 + 5 * M) if minute >= 5 else view()  # noqa: E731
    runs, _ = walk(c, list(range(0, 40)), acked)
    # step 1 fell due at 10 while acknowledged; the ack times out at 20 and it runs then
    assert runs == {0: [(0, 0, 0)], 20: [(0, 1, 10)], 30: [(0, 2, 30)]}
    decision = advance(c, None, view(acked=T0), T0 + 15 * M)
    assert decision.unacknowledge


def test_without_ack_timeout_an_acknowledgement_holds_until_resolution():
    runs, _ = walk(
        chain(), list(range(0, 60)), lambda minute: view(acked=T0 + M) if minute >= 1 else view()
    )
    assert runs == {0: [(0, 0, 0)]}


def test_a_step_skipped_for_min_severity_runs_when_the_alert_becomes_severe_enough():
    c = chain(min_severity="Critical")

    def alert(minute):
        if minute < 12:
            return view(severity=Severity.WARNING)
        return view(severity=Severity.CRITICAL, changed=T0 + 12 * M)

    runs, _ = walk(c, list(range(0, 40)), alert)
    assert runs == {0: [(0, 0, 0)], 12: [(0, 1, 12)], 30: [(0, 2, 30)]}


def test_resolution_stops_the_chain():
    def alert(minute):
        return view() if minute < 5 else view(state=AlertState.RESOLVED)

    runs, position = walk(chain(), list(range(0, 40)), alert)
    assert runs == {0: [(0, 0, 0)]} and position.next_at is None


def test_a_new_firing_cycle_starts_over_and_the_saved_form_round_trips():
    c = chain()
    _, position = walk(c, [0, 10])
    saved = saved_form("oncall", c, position)
    assert saved.progress == "2/3" and position_of(saved, T0) == position
    assert position_of(saved, T0 + 60 * M) is None  # fired again later: a new chain


@settings(max_examples=200, deadline=None)
@given(
    ticks=st.lists(st.integers(0, 200), min_size=1, max_size=40).map(sorted),
    repeat=st.integers(0, 2),
    acks=st.lists(st.integers(0, 200), max_size=3),
)
def test_no_step_runs_before_it_is_due_or_twice(ticks, repeat, acks):
    c = chain(repeat=repeat, ack_timeout="7m")
    seen = set()
    position = None
    for minute in ticks:
        acked = max((a for a in acks if a <= minute), default=None)
        alert = view(acked=T0 + acked * M if acked is not None else None)
        decision = advance(c, position, alert, T0 + minute * M)
        for lp, st_, at in decision.new_runs:
            assert at <= T0 + minute * M
            assert (lp, st_) not in seen
            seen.add((lp, st_))
        position = decision.position
