"""Silences without a cluster: Alertmanager's matcher semantics, the states, and what a
silence does to what an alert owes (held, dropped, resumed)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.api.alert import AlertState, NotificationEvent, Outcome
from watchkeeper.api.matchers import Matcher, matches_empty
from watchkeeper.api.silence import SilenceSpec, SilenceState
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.alerts import Change, Instance, Transition
from watchkeeper.engine.notifications import (
    Attempt,
    Budget,
    Ledger,
    Routing,
    after_evaluation,
    after_settlement,
    ready,
    settle,
)
from watchkeeper.engine.silences import Silence, alert_labels, silenced_by

E = NotificationEvent
T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
M, H = timedelta(minutes=1), timedelta(hours=1)
KEY = (("service", "checkout"),)
ROUTING = Routing(("hook",), 4 * H, True)


@pytest.mark.parametrize(
    ("matcher", "labels", "expected"),
    [
        ("service=checkout", {"service": "checkout"}, True),
        ("service=checkout", {"service": "checkout-2"}, False),
        ("service=checkout", {}, False),
        ("service=", {}, True),  # a missing label is the empty string
        ("service!=checkout", {}, True),
        ("service!=checkout", {"service": "checkout"}, False),
        # regexes are anchored at both ends, as in Alertmanager
        ("service=~check", {"service": "checkout"}, False),
        ("service=~check.*", {"service": "checkout"}, True),
        ("service=~a|b", {"service": "ab"}, False),  # ^(?:a|b)$, not ^a|b$
        ("service=~a|b", {"service": "b"}, True),
        ("service!~a|b", {"service": "ab"}, True),
        ("service!~.+", {}, True),
        ("env=~prod-(eu|us)", {"env": "prod-us"}, True),
        ("v==x", {"v": "=x"}, True),  # the value is everything after the operator
        ("v=a b", {"v": "a b"}, True),
    ],
)
def test_matchers_follow_alertmanager(matcher, labels, expected):
    assert Matcher.parse(matcher).matches(labels) is expected


@pytest.mark.parametrize("text", ["service", "=x", "1a=x", "se-rv=x", "a=~(b", "a!~[z-a]"])
def test_bad_matchers_are_refused(text):
    with pytest.raises(ValueError):
        Matcher.parse(text)


def test_a_catastrophic_pattern_runs_in_linear_time():
    """RE2: no backtracking on user input (Python's re takes minutes on this)."""
    matcher = Matcher.parse("path=~(a+)+b")
    started = time.perf_counter()
    assert not matcher.matches({"path": "a" * 100_000 + "c"})
    assert time.perf_counter() - started < 5  # generous: the point is not exponential


@given(st.text(alphabet="ab.*+|?()", max_size=8), st.text(alphabet="ab", max_size=6))
def test_regex_matchers_match_the_whole_value(pattern, value):
    """Differential against Python's re.fullmatch (same meaning for this alphabet): the
    anchoring covers alternations too."""
    try:
        expected = re.fullmatch(pattern, value) is not None
        matcher = Matcher.parse(f"x=~{pattern}")
    except (re.error, ValueError):
        return
    assert matcher.matches({"x": value}) is expected
    assert matches_empty(matcher) is (re.fullmatch(pattern, "") is not None)


def _silence(**spec) -> Silence:
    body = {"matchers": ["service=checkout"], "createdBy": "ana", **spec}
    return Silence.of("s", SilenceSpec.model_validate(body), T0)


def test_states_pending_active_expired():
    silence = _silence(startsAt=format_time(T0 + H), duration="2h")
    assert silence.state(T0) == SilenceState.PENDING
    assert silence.state(T0 + H) == SilenceState.ACTIVE  # start inclusive
    assert silence.state(T0 + 3 * H - M) == SilenceState.ACTIVE
    assert silence.state(T0 + 3 * H) == SilenceState.EXPIRED  # end exclusive
    assert not silence.removable(T0 + 3 * H + H, 2 * H)
    assert silence.removable(T0 + 5 * H, 2 * H)


def test_a_silence_without_start_starts_at_creation():
    silence = _silence(duration="30m")
    assert (silence.starts_at, silence.ends_at) == (T0, T0 + 30 * M)


def test_overlapping_silences_all_apply_and_all_are_named():
    a = Silence.of(
        "a",
        SilenceSpec.model_validate(
            {"matchers": ["service=checkout"], "createdBy": "x", "duration": "1h"}
        ),
        T0,
    )
    b = Silence.of(
        "b",
        SilenceSpec.model_validate(
            {"matchers": ["alertname=~Latency.*"], "createdBy": "x", "duration": "2h"}
        ),
        T0,
    )
    labels = alert_labels({"service": "checkout"}, "LatencyHigh", "Critical")
    assert silenced_by([b, a], labels, T0 + M) == ["a", "b"]
    assert silenced_by([b, a], labels, T0 + 90 * M) == ["b"]  # silenced until the last ends
    assert silenced_by([b, a], labels, T0 + 2 * H) == []


def test_alert_labels_add_alertname_and_severity():
    assert alert_labels({"pod": "p"}, "policy", "Warning") == {
        "pod": "p",
        "alertname": "policy",
        "severity": "Warning",
    }
    assert alert_labels({"alertname": "Own"}, "policy", None) == {"alertname": "Own"}


def _firing(since: datetime) -> Instance:
    return Instance({"service": "checkout"}, AlertState.FIRING, since, firing_since=since)


def _resolved(since: datetime, at: datetime) -> Instance:
    return Instance(
        {"service": "checkout"}, AlertState.RESOLVED, since, firing_since=since, resolved_at=at
    )


def _deliver(ledger: Ledger, now: datetime, sent: list) -> Ledger:
    for obligation in ready(ledger.outbox):
        sent.append((obligation.event, obligation.transition_time))
        result = settle(obligation, Attempt(Outcome.DELIVERED, 1), Budget(3), now)
        ledger = after_settlement(ledger, obligation, result, keep=50)
    return ledger


def _timeline(silenced_minutes: range, resolve_at: int | None, until: int) -> list:
    """Evaluate every minute; deliver only while not silenced (the notifier holds a
    silenced alert's outbox)."""
    ledger, sent = Ledger(), []
    for minute in range(until):
        now = T0 + minute * M
        silenced = minute in silenced_minutes
        if resolve_at is not None and minute >= resolve_at:
            instance = _resolved(T0, T0 + resolve_at * M)
            changes = [Transition(KEY, Change.RESOLVED, None)] if minute == resolve_at else []
        else:
            instance = _firing(T0)
            changes = [Transition(KEY, Change.FIRING, None)] if minute == 0 else []
        ledger = after_evaluation(
            ledger, "ns", "a", instance, changes, ROUTING, now, muted=silenced
        )
        if not silenced:
            ledger = _deliver(ledger, now, sent)
    return [(event, minute_of(at)) for event, at in sent]


def minute_of(stamp: str) -> int:
    return int((datetime.fromisoformat(stamp) - T0) / M)


def test_fired_inside_a_silence_is_sent_when_it_ends():
    assert _timeline(range(0, 30), None, 60) == [(E.FIRING, 0)]


def test_told_before_the_silence_nothing_more_until_the_repeat():
    """Alertmanager: the firing set was notified; no new notification at the silence's
    end, the next one at repeatInterval after the last."""
    assert _timeline(range(10, 30), None, 4 * 60 + 1) == [(E.FIRING, 0), (E.REPEAT, 240)]


def test_a_repeat_due_inside_the_silence_goes_out_when_it_ends():
    assert _timeline(range(200, 300), None, 301) == [(E.FIRING, 0), (E.REPEAT, 240)]


def test_resolved_inside_the_silence_is_never_sent():
    assert _timeline(range(10, 40), 20, 60) == [(E.FIRING, 0)]


def test_fired_and_resolved_inside_the_silence_sends_nothing():
    assert _timeline(range(0, 40), 20, 60) == []


def test_the_watch_cache_lists_a_namespace_without_the_others():
    """Silences, InhibitRules, TimeIntervals and inhibition sources are read per namespace
    at every evaluation: from an index, not a scan of every object."""
    from watchkeeper.api import SILENCE
    from watchkeeper.runtime.objects import ObjectCache

    cache = ObjectCache()
    for namespace, name in (("a", "one"), ("a", "two"), ("b", "one")):
        cache.put(SILENCE, {"metadata": {"namespace": namespace, "name": name}})
    assert sorted(b["metadata"]["name"] for b in cache.in_namespace(SILENCE, "a")) == [
        "one",
        "two",
    ]
    cache.remove(SILENCE, "a", "one")
    assert [b["metadata"]["name"] for b in cache.in_namespace(SILENCE, "a")] == ["two"]
    assert cache.in_namespace(SILENCE, "c") == []


def test_a_channel_that_asks_gets_the_resolved_of_what_it_was_told_after_the_silence():
    """resolvedAfterMute: told before the silence -> the Resolved is owed (held while
    muted); fired inside the silence (never told) -> nothing."""
    told, sent = Ledger(), []
    told = after_evaluation(
        told, "ns", "a", _firing(T0), [Transition(KEY, Change.FIRING, None)], ROUTING, T0
    )
    told = _deliver(told, T0, sent)
    never = after_evaluation(
        Ledger(),
        "ns",
        "a",
        _firing(T0),
        [Transition(KEY, Change.FIRING, None)],
        ROUTING,
        T0,
        muted=True,
    )
    for ledger, expected in ((told, [E.RESOLVED]), (never, [])):
        resolved = after_evaluation(
            ledger,
            "ns",
            "a",
            _resolved(T0, T0 + M),
            [Transition(KEY, Change.RESOLVED, None)],
            ROUTING,
            T0 + M,
            muted=True,
            asks=frozenset({"hook"}),
        )
        assert [o.event for o in resolved.outbox] == expected
