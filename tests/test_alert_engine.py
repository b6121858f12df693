"""The alert state machine: tables over timelines, and a differential property test
against a literal port of Prometheus's rules/alerting.go evaluation loop."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.api.alert import AlertState
from watchkeeper.api.alertpolicy import Comparison, ErrorState, NoDataState, Threshold
from watchkeeper.api.common import Severity
from watchkeeper.engine.alerts import (
    REASON_LABEL,
    Change,
    Instance,
    Observation,
    Rules,
    evaluate,
    expired,
    series_key,
)
from watchkeeper.engine.levels import adaptive_levels, fixed_levels

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
STEP = timedelta(seconds=30)
LEVELS = fixed_levels(
    "GreaterThan",
    [
        Threshold(severity="Warning", value=2),
        Threshold(severity="Critical", value=5),
        Threshold(severity="Emergency", value=20),
    ],
)
ONE = {"service": "checkout"}


def rules(
    for_: int = 0,
    keep: int = 0,
    no_data: NoDataState = NoDataState.OK,
    error: ErrorState = ErrorState.KEEP_STATE,
) -> Rules:
    return Rules(STEP * for_, STEP * keep, no_data, error, (Severity.EMERGENCY, 20.0))


def run(values: list[float | str | None], policy: Rules, labels=ONE):
    """Evaluate a timeline; None = the series is absent (no data), 'error' = query failed.
    Returns (state or '-', changes) per step."""
    instances: dict = {}
    out = []
    for i, value in enumerate(values):
        if value == "error":
            observations = None
        elif value is None:
            observations = []
        else:
            observations = [Observation(labels, value, LEVELS)]
        result = evaluate(instances, observations, policy, T0 + i * STEP)
        instances = result.instances
        inst = instances.get(series_key(labels))
        out.append(
            ((inst.state.value if inst else "-"), [t.change.value for t in result.transitions])
        )
    return out, instances


def states(values, policy, labels=ONE):
    return [s for s, _ in run(values, policy, labels)[0]]


@pytest.mark.parametrize(
    ("name", "values", "policy", "expected"),
    [
        ("for 0 fires at once", [1, 3, 3, 1], rules(), ["-", "Firing", "Firing", "Resolved"]),
        ("for 2 steps", [3, 3, 3, 3], rules(for_=2), ["Pending", "Pending", "Firing", "Firing"]),
        (
            "dip resets for",
            [3, 3, 1, 3, 3, 3],
            rules(for_=2),
            ["Pending", "Pending", "-", "Pending", "Pending", "Firing"],
        ),
        (
            "keepFiringFor holds",
            [3, 1, 1, 1, 3],
            rules(keep=2),
            ["Firing", "Firing", "Firing", "Resolved", "Firing"],
        ),
        (
            "keep window restarts after a true eval",
            [3, 1, 3, 1, 1, 1],
            rules(keep=2),
            ["Firing", "Firing", "Firing", "Firing", "Firing", "Resolved"],
        ),
        ("keep does not hold pending", [3, 1], rules(for_=5, keep=5), ["Pending", "-"]),
        ("no data Ok resolves", [3, None], rules(), ["Firing", "Resolved"]),
        (
            "no data KeepState keeps",
            [3, None, None, 1],
            rules(no_data=NoDataState.KEEP_STATE),
            ["Firing", "Firing", "Firing", "Resolved"],
        ),
        (
            "error KeepState keeps",
            [3, "error", "error", 3],
            rules(),
            ["Firing", "Firing", "Firing", "Firing"],
        ),
        (
            "error KeepState keeps pending clock",
            [3, "error", "error", 3],
            rules(for_=3),
            ["Pending", "Pending", "Pending", "Firing"],
        ),
        (
            "error Alerting keeps firing",
            [3, "error", 1],
            rules(error=ErrorState.ALERTING),
            ["Firing", "Firing", "Resolved"],
        ),
        (
            "refire after resolve is a new alert",
            [3, 1, 3],
            rules(for_=1),
            ["Pending", "-", "Pending"],
        ),
        ("NaN breaches nothing", [3, math.nan], rules(), ["Firing", "Resolved"]),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_timeline(name, values, policy, expected):
    assert states(values, policy) == expected


def test_severity_rises_and_falls_while_firing():
    out, instances = run([3, 7, 25, 7, 3, 1], rules())
    assert [c for _, c in out] == [
        ["Pending", "Firing"],
        ["SeverityChanged"],
        ["SeverityChanged"],
        ["SeverityChanged"],
        ["SeverityChanged"],
        ["Resolved"],
    ]
    inst = instances[series_key(ONE)]
    assert (inst.severity, inst.threshold, inst.value) == (Severity.WARNING, 2, 1)


def test_pending_severity_changes_do_not_notify_and_firing_keeps_start():
    out, instances = run([3, 7, 7], rules(for_=2))
    assert [c for _, c in out] == [["Pending"], [], ["Firing"]]
    inst = instances[series_key(ONE)]
    assert (
        inst.starts_at == T0
        and inst.firing_since == T0 + 2 * STEP
        and inst.severity == Severity.CRITICAL
    )


def test_series_are_independent_and_a_vanished_series_resolves():
    a, b = {"pod": "a"}, {"pod": "b"}
    instances: dict = {}
    r = evaluate(instances, [Observation(a, 9, LEVELS), Observation(b, 3, LEVELS)], rules(), T0)
    assert {k: i.severity for k, i in r.instances.items()} == {
        series_key(a): Severity.CRITICAL,
        series_key(b): Severity.WARNING,
    }
    r = evaluate(r.instances, [Observation(b, 3, LEVELS)], rules(), T0 + STEP)
    assert r.instances[series_key(a)].state == AlertState.RESOLVED
    assert r.instances[series_key(b)].state == AlertState.FIRING
    assert [(t.key, t.change) for t in r.transitions] == [(series_key(a), Change.RESOLVED)]


@pytest.mark.parametrize(
    ("reason", "observations", "policy"),
    [
        ("NoData", [], rules(no_data=NoDataState.ALERTING)),
        ("QueryError", None, rules(error=ErrorState.ALERTING)),
    ],
)
def test_alerting_without_any_series_creates_one_labelled_with_the_reason(
    reason, observations, policy
):
    r = evaluate({}, observations, policy, T0)
    [(key, inst)] = r.instances.items()
    assert dict(inst.labels) == {REASON_LABEL: reason}
    assert (inst.state, inst.severity) == (AlertState.FIRING, Severity.EMERGENCY)
    r = evaluate(r.instances, [Observation(ONE, 1, LEVELS)], policy, T0 + STEP)
    assert r.instances[key].state == AlertState.RESOLVED


def test_pending_cleared_is_dropped_not_resolved():
    r = evaluate({}, [Observation(ONE, 3, LEVELS)], rules(for_=2), T0)
    r = evaluate(r.instances, [Observation(ONE, 1, LEVELS)], rules(for_=2), T0 + STEP)
    assert r.instances == {} and r.dropped == [series_key(ONE)]
    assert [t.change for t in r.transitions] == [Change.PENDING_CLEARED]


def test_retention_expires_only_resolved_instances():
    old = Instance(ONE, AlertState.RESOLVED, T0, resolved_at=T0)
    firing = Instance({"x": "1"}, AlertState.FIRING, T0)
    instances = {series_key(ONE): old, series_key({"x": "1"}): firing}
    assert expired(instances, timedelta(hours=24), T0 + timedelta(hours=24)) == []
    assert expired(instances, timedelta(hours=24), T0 + timedelta(hours=24, seconds=1)) == [
        series_key(ONE)
    ]


@pytest.mark.parametrize(
    ("comparison", "value", "expected"),
    [
        ("GreaterThan", 5, Severity.WARNING),
        ("GreaterOrEqual", 5, Severity.CRITICAL),
        ("LessThan", 30, None),
        ("Equal", 20, Severity.EMERGENCY),
        ("NotEqual", math.nan, Severity.EMERGENCY),
        ("GreaterThan", math.nan, None),
    ],
)
def test_levels_breach(comparison, value, expected):
    levels = fixed_levels(
        comparison,
        [
            Threshold(severity=s, value=v)
            for s, v in [("Warning", 2), ("Critical", 5), ("Emergency", 20)]
        ],
    )
    hit = levels.breach(value)
    assert (hit[0] if hit else None) == expected


def test_adaptive_levels_sit_on_the_comparison_side():
    from watchkeeper.api.adaptive import Deviation

    devs = [Deviation(severity="Critical", value=5), Deviation(severity="Warning", value=3)]
    up = adaptive_levels("GreaterThan", devs, baseline=100, stddev=10)
    assert up.thresholds == ((Severity.WARNING, 130), (Severity.CRITICAL, 150))
    down = adaptive_levels("LessThan", devs, baseline=100, stddev=10)
    assert down.thresholds == ((Severity.WARNING, 70), (Severity.CRITICAL, 50))
    assert down.comparison == Comparison.LESS_THAN


# --- Differential test against a literal port of Prometheus 2.42 rules/alerting.go ---


def prometheus_states(truth: list[bool], hold: timedelta, keep: timedelta) -> list[str]:
    """Prometheus's AlertingRule.Eval for one series, line by line."""
    active = None  # dict(state, active_at, keep_since, resolved_at)
    out = []
    for i, true in enumerate(truth):
        ts = T0 + i * STEP
        if true:
            if active is not None and active["state"] != "inactive":
                pass
            else:
                active = {
                    "state": "pending",
                    "active_at": ts,
                    "keep_since": None,
                    "resolved_at": None,
                }
        if active is not None:
            if not true:
                keep_firing = False
                if active["state"] == "firing" and keep > timedelta(0):
                    if active["keep_since"] is None:
                        active["keep_since"] = ts
                    if ts - active["keep_since"] < keep:
                        keep_firing = True
                drop = active["state"] == "pending"
                if active["state"] != "inactive" and not keep_firing:
                    active["state"] = "inactive"
                    active["resolved_at"] = ts
                if drop:
                    out.append("-")
                    active = None
                    continue
                if not keep_firing:
                    out.append("Resolved")
                    continue
            else:
                active["keep_since"] = None
            if active["state"] == "pending" and ts - active["active_at"] >= hold:
                active["state"] = "firing"
        out.append({"pending": "Pending", "firing": "Firing"}[active["state"]] if active else "-")
    return out


@settings(max_examples=400, deadline=None)
@given(
    truth=st.lists(st.booleans(), min_size=1, max_size=40),
    for_=st.integers(0, 5),
    keep=st.integers(0, 5),
)
def test_same_timeline_as_prometheus(truth, for_, keep):
    values = [3.0 if t else 1.0 for t in truth]
    assert states(values, rules(for_=for_, keep=keep)) == prometheus_states(
        truth, STEP * for_, STEP * keep
    )


@settings(max_examples=200, deadline=None)
@given(
    timeline=st.lists(
        st.one_of(st.floats(0, 30), st.none(), st.just("error")), min_size=1, max_size=30
    ),
    for_=st.integers(0, 4),
    keep=st.integers(0, 4),
)
def test_never_firing_before_for_and_never_resolved_by_an_error(timeline, for_, keep):
    policy = rules(for_=for_, keep=keep, no_data=NoDataState.KEEP_STATE)
    instances: dict = {}
    for i, value in enumerate(timeline):
        now = T0 + i * STEP
        observations = (
            None
            if value == "error"
            else ([] if value is None else [Observation(ONE, value, LEVELS)])
        )
        result = evaluate(instances, observations, policy, now)
        if value == "error" or value is None:
            assert result.instances == instances and result.transitions == []
        for inst in result.instances.values():
            if inst.state == AlertState.FIRING:
                assert inst.firing_since - inst.starts_at >= policy.for_
        instances = result.instances
