"""Holding scale-down while alerts fire: which alerts hold, the decision and its message,
and a policy driven evaluation after evaluation through a hold and its end."""

from __future__ import annotations

import pytest

from tests.test_scaling_engine import Policy, make_spec
from watchkeeper.engine.inhibition import Source
from watchkeeper.engine.scaling_hold import firing, held

ALERTS = [
    Source("latency-b", {"alertname": "latency", "team": "checkout", "severity": "Critical"}),
    Source("latency-a", {"alertname": "latency", "team": "checkout", "severity": "Warning"}),
    Source("disk-c", {"alertname": "disk", "team": "storage", "severity": "Critical"}),
]


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        (["team=checkout"], ("latency-a", "latency-b")),
        (["team=checkout", "severity=~Critical|Emergency"], ("latency-b",)),
        (["severity=Critical"], ("disk-c", "latency-b")),
        (["team!=checkout", "alertname=~.+"], ("disk-c",)),
        (["team=payments"], ()),
        (["owner=ops"], ()),  # a missing label is the empty string
    ],
)
def test_firing_alerts_selected_by_matchers(matchers, expected):
    assert firing(matchers, ALERTS) == expected


@pytest.mark.parametrize(
    ("current", "target", "alerts", "expected"),
    [
        (
            6,
            2,
            ("high-latency-ab12",),
            "scale-down held while Alert high-latency-ab12 fires: 6 → 2 not applied",
        ),
        (6, 5, ("a", "b"), "scale-down held while Alerts a, b fire: 6 → 5 not applied"),
        (
            9,
            1,
            tuple("abcdefg"),
            "scale-down held while Alerts a, b, c, d, e and 2 more fire: 9 → 1 not applied",
        ),
        (6, 2, (), None),  # nothing fires
        (2, 6, ("a",), None),  # scale-up is never held
        (4, 4, ("a",), None),  # no change
    ],
)
def test_held_decision_and_message(current, target, alerts, expected):
    assert held(current, target, alerts) == expected


def test_scale_down_waits_for_the_alerts_then_follows_the_behaviour():
    spec = make_spec(
        behavior={"scaleDown": {"stabilizationWindow": "30s"}},
        holdScaleDown={"whileAlertsFire": {"matchers": ["team=checkout"]}},
    )
    policy = Policy(spec, current=2)
    policy.step(15, 600)
    assert policy.current == 6
    events = policy.step(15, 200, holding=("high-latency-ab12",))
    assert policy.current == 6  # inside the stabilization window: nothing to hold yet
    assert ("Normal", "ScaleDownHeld") not in events
    events = policy.step(15, 200, holding=("high-latency-ab12",))
    assert policy.current == 6
    assert policy.condition("ScalingLimited") == ("True", "ScaleDownHeld")
    assert policy.message("ScalingLimited") == (
        "scale-down held while Alert high-latency-ab12 fires: 6 → 2 not applied"
    )
    assert events == [("Normal", "ScaleDownHeld")]
    assert policy.step(15, 200, holding=("high-latency-ab12",)) == []  # one Event per hold
    policy.step(15, 900, holding=("high-latency-ab12",))
    assert policy.current == 9, "scale-up goes on while held"
    for _ in range(4):
        policy.step(15, 200, holding=("high-latency-ab12",))
        assert policy.current == 9
    policy.step(15, 200)  # resolved: the window saw only low recommendations
    assert policy.current == 2
    assert policy.condition("ScalingLimited") != ("True", "ScaleDownHeld")
    assert [(e.from_, e.to) for e in policy.status.history] == [(2, 6), (6, 9), (9, 2)]


def test_a_hold_keeps_the_stabilization_window_after_it():
    spec = make_spec(behavior={"scaleDown": {"stabilizationWindow": "60s"}})
    policy = Policy(spec, current=2)
    policy.step(15, 600)
    for _ in range(5):
        policy.step(15, 200, holding=("a",))
    policy.step(15, 500, holding=("a",))
    policy.step(15, 200)
    assert policy.current == 5, "a recommendation made during the hold still stabilizes"


def test_bounds_and_override_are_never_held():
    policy = Policy(make_spec(maxReplicas=4), current=8)
    policy.step(15, 800, holding=("a",))
    assert policy.current == 4
    override = {"replicas": 2, "reason": "maintenance"}
    policy = Policy(make_spec(override=override), current=8)
    policy.step(15, 800, holding=("a",))
    assert policy.current == 2
