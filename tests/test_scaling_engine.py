"""The scaling engine against the HPA: tables of the HPA controller's own cases
(replica_calculator_test.go, horizontal_test.go's TestScalingWithRules and
TestNormalizeDesiredReplicasWithBehavior), a differential test against a line-by-line
transliteration of the controller's bookkeeping, and properties (never outside
[min, max], never faster than the policies allow, missing data never scales down); then
what the HPA does not have: override, suspend, dry-run, fallback, cooldown, conflicts,
forecasts, restarts."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.scaling_reference import reference_external
from watchkeeper.api.scaling_behavior import PolicyType, SelectPolicy
from watchkeeper.api.scalingpolicy import MetricTarget, ScalingPolicySpec, ScalingPolicyStatus
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.scaling import (
    MAX_REPLICAS,
    PRESETS,
    Behaviour,
    Rate,
    Replicas,
    Rules,
    Tolerance,
    replicas_for_metric,
    resolve_behaviour,
)
from watchkeeper.engine.scaling_metrics import Forecast, Reading, forecast_query
from watchkeeper.engine.scaling_policy import (
    Conflict,
    Observation,
    conclude,
    conflict_of,
    evaluate,
)
from watchkeeper.engine.scaling_state import (
    persisted,
    resume,
    samples_of,
    significant,
    worth_refreshing,
)
from watchkeeper.engine.scaling_windows import (
    Change,
    Sample,
    deciding,
    normalize,
    record_change,
    scale_up_limit,
    stabilize,
)

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)


def ago(seconds: float, now: datetime = T0) -> datetime:
    return now - timedelta(seconds=seconds)


# --- one metric: replica_calculator.go -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target", "values", "current", "tolerance", "expected"),
    [
        ("Value", 100, [150], 4, 0.1, 6),  # ceil(1.5 * 4)
        ("Value", 100, [110], 4, 0.1, 4),  # ratio 1.1: the tolerance bound is inclusive
        ("Value", 100, [110.1], 4, 0.1, 5),  # ratio 1.101: ceil(4.404)
        ("Value", 100, [90], 10, 0.1, 10),  # ratio 0.9: inclusive lower bound
        ("Value", 100, [89.9], 10, 0.1, 9),  # ceil(8.99)
        ("Value", 0.1, [0.09], 10, 0.1, 10),  # 90m / 100m = 0.9 exactly, as quantities
        ("Value", 100, [100, 200], 1, 0.1, 3),  # series are added up
        ("Value", 100, [250], 0, 0.1, 3),  # from zero: ceil(ratio), no tolerance
        ("Value", 100, [105], 0, 0.1, 2),  # from zero even inside the tolerance
        ("Value", 100, [0], 5, 0.1, 0),
        ("Value", 100, [1e300], 5, 0.1, MAX_REPLICAS),  # int32 cap
        ("AverageValue", 100, [450], 2, 0.1, 5),  # 450 / (100 * 2) = 2.25 -> ceil(4.5)
        ("AverageValue", 100, [210], 2, 0.1, 2),  # 1.05: within
        ("AverageValue", 100, [220], 2, 0.1, 2),  # 1.1: within (inclusive)
        ("AverageValue", 100, [221], 2, 0.1, 3),  # ceil(2.21)
        ("AverageValue", 100, [250], 0, 0.1, 3),  # from zero: ceil(usage / target)
        ("AverageValue", 100, [0], 0, 0.1, 0),  # 0/0 is NaN, never within: ceil(0)
        ("AverageValue", 100, [40], 5, 0.0, 1),  # tolerance 0
        ("AverageValue", 0.0015, [0.0024], 1, 0.1, 1),  # target 2m, value 2m (truncated)
        ("AverageValue", 0.001, [0.0099], 1, 0.1, 9),  # value 9.9m truncated to 9m
    ],
)
def test_replicas_for_one_metric(kind, target, values, current, tolerance, expected):
    proposed = replicas_for_metric(
        MetricTarget(type=kind, value=target),
        values,
        Replicas(current),
        Tolerance(tolerance, tolerance),
    )
    assert proposed == expected
    assert proposed == reference_external(kind, values, target, current, (tolerance, tolerance))


def test_plain_float_division_would_differ_at_the_tolerance_edge():
    """Why values are compared in thousandths: 0.09 / 0.1 is 0.8999999999999999 in floats."""
    assert 0.09 / 0.1 < 0.9
    target = MetricTarget(type="Value", value=0.1)
    assert replicas_for_metric(target, [0.09], Replicas(10), Tolerance(0.1, 0.1)) == 10


# --- the HPA's TestScalingWithRules: rate limits and min/max ----------------------------


def hpa_rules(pods=0, pods_period=0, percent=0, percent_period=0, window=0, up=True) -> Rules:
    """horizontal_test.go's generateScalingRules, defaults as GenerateHPAScale*Rules."""
    policies = []
    if pods:
        policies.append(Rate(PolicyType.PODS, pods, timedelta(seconds=pods_period)))
    if percent:
        policies.append(Rate(PolicyType.PERCENT, percent, timedelta(seconds=percent_period)))
    default = PRESETS[ScalingPolicySpec.model_fields["preset"].default]
    if not policies:
        return default.up if up else default.down
    return Rules(timedelta(seconds=window), tuple(policies), SelectPolicy.MAX)


def uniform_events(changes: list[int], period: float, sign: int) -> list[Change]:
    """generateEventsUniformDistribution: events in the middle of equal segments of the
    last `period` seconds (the seconds truncated, as the Go test's time.Duration does)."""
    segment = period / max(len(changes), 1)
    return [
        Change(sign * c, ago(int(period - segment * (i + 1) + segment / 2)))
        for i, c in enumerate(changes)
    ]


UP_EVENTS = [1, 5, 9]
# (name, min, max, up rules, down rules, up events, down events, current, desired,
#  expected replicas, expected condition)
RULE_CASES = [
    ("within range", 3, 8, None, None, [], [], 5, 7, 7, "DesiredWithinRange"),
    ("below min", 2, 8, None, None, [], [], 3, 1, 2, "TooFewReplicas"),
    ("min 0", 0, 10, None, None, [], [], 1, 0, 0, "DesiredWithinRange"),
    ("max below scale-up limit", 1, 10, None, None, [], [], 20, 1000, 10, "TooManyReplicas"),
    ("more than max", 100, 150, None, None, [], [], 100, 1000, 150, "TooManyReplicas"),
    (
        "10% more than 50 is 56 in float64",  # 50 * 1.1 = 55.00000000000001, rounded up
        1,
        100,
        hpa_rules(percent=10, percent_period=60),
        None,
        [],
        [],
        50,
        90,
        56,
        "ScaleUpLimit",
    ),
    (
        "80% less than 10 is 1 in float64",  # 10 * 0.19999999999999996, truncated
        0,
        100,
        None,
        hpa_rules(percent=80, percent_period=60, up=False),
        [],
        [],
        10,
        0,
        1,
        "ScaleDownLimit",
    ),
    (
        "1% of 3 rounds up to 4",
        1,
        2000,
        hpa_rules(percent=1, percent_period=60),
        None,
        [],
        [],
        3,
        1000,
        4,
        "ScaleUpLimit",
    ),
    (
        "scale-down pods limit",
        3,
        2000,
        None,
        hpa_rules(pods=20, pods_period=60, up=False),
        [],
        [],
        1000,
        3,
        980,
        "ScaleDownLimit",
    ),
    ("default scale-up", 1, 1000, None, None, [], [], 10, 50, 20, "ScaleUpLimit"),
    (
        "pods > percent",
        1,
        1000,
        hpa_rules(100, 60, 100, 60),
        None,
        [],
        [],
        10,
        500,
        110,
        "ScaleUpLimit",
    ),
    (
        "percent > pods",
        1,
        1000,
        hpa_rules(2, 60, 100, 60),
        None,
        [],
        [],
        10,
        500,
        20,
        "ScaleUpLimit",
    ),
    ("large pods", 1, 1000, hpa_rules(100, 60), None, [], [], 10, 50, 50, "DesiredWithinRange"),
    ("pods limit", 1, 1000, hpa_rules(30, 60), None, [], [], 10, 50, 40, "ScaleUpLimit"),
    (
        "percent limit",
        1,
        1000,
        hpa_rules(percent=200, percent_period=60),
        None,
        [],
        [],
        10,
        50,
        30,
        "ScaleUpLimit",
    ),
    (
        "down: percent allows more",
        1,
        1000,
        None,
        hpa_rules(20, 60, 1, 60, 300, up=False),
        [],
        [],
        100,
        2,
        80,
        "ScaleDownLimit",
    ),
    (
        "down: pods allow more",
        1,
        1000,
        None,
        hpa_rules(2, 60, 1, 60, 300, up=False),
        [],
        [],
        100,
        2,
        98,
        "ScaleDownLimit",
    ),
    (
        "down: min wins over pods",
        1,
        1000,
        None,
        hpa_rules(100, 60, window=300, up=False),
        [],
        [],
        10,
        0,
        1,
        "TooFewReplicas",
    ),
    (
        "down: min wins over percent",
        5,
        1000,
        None,
        hpa_rules(percent=100, percent_period=60, window=300, up=False),
        [],
        [],
        10,
        2,
        5,
        "TooFewReplicas",
    ),
    (
        "down: pods limit",
        1,
        1000,
        None,
        hpa_rules(5, 60, window=300, up=False),
        [],
        [],
        10,
        2,
        5,
        "ScaleDownLimit",
    ),
    (
        "down: within percent",
        1,
        1000,
        None,
        hpa_rules(percent=50, percent_period=60, window=300, up=False),
        [],
        [],
        10,
        5,
        5,
        "DesiredWithinRange",
    ),
    (
        "max with events",
        1,
        200,
        hpa_rules(300, 60),
        None,
        UP_EVENTS,
        [],
        100,
        500,
        200,
        "TooManyReplicas",
    ),
    (
        "events use up the period",
        1,
        1000,
        hpa_rules(5, 120),
        None,
        UP_EVENTS,
        [],
        100,
        500,
        100,
        "ScaleUpLimit",
    ),
    (
        "pods after events",
        1,
        1000,
        hpa_rules(150, 120),
        None,
        UP_EVENTS,
        [],
        100,
        500,
        235,
        "ScaleUpLimit",
    ),
    (
        "percent after events",
        1,
        1000,
        hpa_rules(percent=200, percent_period=120),
        None,
        UP_EVENTS,
        [],
        100,
        500,
        255,
        "ScaleUpLimit",
    ),
    (
        "percent after up and down events",
        1,
        1000,
        hpa_rules(percent=300, percent_period=300),
        None,
        [4],
        [2],
        6,
        24,
        16,
        "ScaleUpLimit",
    ),
    ("down default", 1, 1000, None, None, [], UP_EVENTS, 10, 5, 5, "DesiredWithinRange"),
    (
        "down pods after events, min",
        1,
        1000,
        None,
        hpa_rules(115, 120, window=300, up=False),
        [],
        UP_EVENTS,
        100,
        0,
        1,
        "TooFewReplicas",
    ),
    (
        "down pods after events",
        1,
        1000,
        None,
        hpa_rules(5, 120, window=300, up=False),
        [],
        UP_EVENTS,
        100,
        2,
        100,
        "ScaleDownLimit",
    ),
    (
        "down percent after events",
        1,
        1000,
        None,
        hpa_rules(percent=50, percent_period=120, window=300, up=False),
        [],
        [2, 4, 6],
        100,
        0,
        56,
        "ScaleDownLimit",
    ),
    (
        "down percent after up and down events",
        1,
        1000,
        None,
        hpa_rules(percent=50, percent_period=180, up=False),
        [2],
        [4],
        10,
        1,
        6,
        "ScaleDownLimit",
    ),
    (
        "events prevent any scale-down",
        1,
        1000,
        None,
        hpa_rules(percent=10, percent_period=120, window=300, up=False),
        [],
        [10, 10, 10],
        100,
        0,
        100,
        "ScaleDownLimit",
    ),
    (
        "1000% down is below zero",
        1,
        1000,
        None,
        hpa_rules(percent=1000, percent_period=120, window=300, up=False),
        [],
        [10, 10, 10],
        10,
        5,
        5,
        "DesiredWithinRange",
    ),
    (
        "events older than the period",
        1,
        1000,
        hpa_rules(1000, 30, 100, 60),
        None,
        [8, 12, 9, 11],
        [],
        100,
        200,
        200,
        "DesiredWithinRange",
    ),
]


@pytest.mark.parametrize(
    ("low", "high", "up", "down", "ups", "downs", "current", "desired", "expected", "reason"),
    [c[1:] for c in RULE_CASES],
    ids=[c[0] for c in RULE_CASES],
)
def test_hpa_scaling_rules(low, high, up, down, ups, downs, current, desired, expected, reason):
    default = PRESETS[ScalingPolicySpec.model_fields["preset"].default]
    behaviour = Behaviour(up or default.up, down or default.down)
    changes = uniform_events(ups, 120, +1) + uniform_events(downs, 120, -1)
    result = normalize(
        behaviour, [], changes, current=current, desired=desired, bounds=(low, high), now=T0
    )
    assert (result.replicas, result.limit_reason) == (expected, reason)
    assert result.limited == (expected != desired)


# --- the HPA's TestNormalizeDesiredReplicasWithBehavior: stabilization -------------------

STABILIZATION_CASES = [
    # (name, [(replicas, seconds ago)], current, desired, up window, down window, expected)
    ("empty", [], 100, 5, 0, 0, 5),
    ("scale-down stabilized", [(4, 120), (5, 60)], 100, 3, 0, 180, 5),
    ("scale-up stabilized", [(4, 120), (5, 60)], 1, 7, 300, 0, 4),
    ("no scale-down stabilization", [(1, 120), (2, 60)], 100, 3, 300, 0, 3),
    ("no scale-up stabilization", [(4, 120), (5, 60)], 1, 3, 0, 300, 3),
    ("old recommendations", [(10, 600), (9, 540)], 100, 3, 0, 0, 3),
    ("old recommendations, up", [(10, 600), (9, 540)], 1, 100, 0, 0, 100),
    ("down, some old", [(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 0, 180, 5),
    ("up, some old", [(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 300, 300, 5),
    ("no scale-up when desired goes down", [(2, 6000), (3, 180)], 2, 1, 300, 300, 2),
    ("no scale-down when desired goes up", [(2, 6000), (1, 180)], 2, 3, 300, 300, 2),
    ("far edge is exclusive", [(9, 180)], 2, 1, 0, 180, 1),
    ("just inside the far edge", [(9, 179.999)], 2, 1, 0, 180, 2),
]


@pytest.mark.parametrize(
    ("samples", "current", "desired", "up", "down", "expected"),
    [c[1:] for c in STABILIZATION_CASES],
    ids=[c[0] for c in STABILIZATION_CASES],
)
def test_hpa_stabilization(samples, current, desired, up, down, expected):
    policies = PRESETS[ScalingPolicySpec.model_fields["preset"].default]
    behaviour = Behaviour(
        Rules(timedelta(seconds=up), policies.up.policies, SelectPolicy.MAX),
        Rules(timedelta(seconds=down), policies.down.policies, SelectPolicy.MAX),
    )
    history = [Sample(r, ago(s)) for r, s in samples]
    assert stabilize(behaviour, history, current, desired, T0).replicas == expected


def test_presets_fill_what_the_spec_leaves_out():
    balanced = resolve_behaviour("Balanced", None)
    assert balanced.up == Rules(
        timedelta(0),
        (Rate("Pods", 4, timedelta(seconds=15)), Rate("Percent", 100, timedelta(seconds=15))),
        SelectPolicy.MAX,
    )
    assert balanced.down.stabilization == timedelta(minutes=5)
    merged = resolve_behaviour(
        "Conservative",
        ScalingPolicySpec.model_validate(
            {**_spec_dict(), "behavior": {"scaleDown": {"stabilizationWindow": "30s"}}}
        ).behavior,
    )
    assert merged.down.stabilization == timedelta(seconds=30)
    assert merged.down.policies == PRESETS["Conservative"].down.policies
    assert merged.up == PRESETS["Conservative"].up


# --- a policy, evaluation after evaluation ------------------------------------------------


def _spec_dict(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 20,
        "cooldown": "0s",
        "metrics": [
            {"name": "rps", "query": "q", "target": {"type": "AverageValue", "value": 100}}
        ],
    }
    spec.update(changes)
    return spec


def make_spec(**changes: Any) -> ScalingPolicySpec:
    return ScalingPolicySpec.model_validate(_spec_dict(**changes))


def stored(status: ScalingPolicyStatus) -> ScalingPolicyStatus:
    """The status as the API server gives it back."""
    data = json.loads(json.dumps(status.model_dump(by_alias=True, mode="json", exclude_none=True)))
    return ScalingPolicyStatus.model_validate(data)


@dataclass
class Policy:
    """Drives evaluate/conclude like the daemon does, with the status stored each time."""

    spec: ScalingPolicySpec
    current: int
    now: datetime = T0
    status: ScalingPolicyStatus = field(default_factory=ScalingPolicyStatus)
    fail_scale: str | None = None

    def step(
        self, seconds: float, *values: float | Reading | None, **seen: Any
    ) -> list[tuple[str, str]]:
        """Advance, evaluate with one reading per metric; return the Events."""
        self.now += timedelta(seconds=seconds)
        readings = {
            m.name: v if isinstance(v, Reading) else Reading(() if v is None else (v,))
            for m, v in zip(self.spec.metrics, values, strict=True)
        }
        observation = Observation(
            self.now, 1, seen.pop("current", self.current), readings=readings, **seen
        )
        plan = evaluate(self.spec, self.status, observation)
        outcome = conclude(self.spec, self.status, plan, self.fail_scale, self.now)
        self.status = stored(outcome.status)
        if plan.action and not self.fail_scale:
            self.current = plan.action.after
        return [(n.type, n.reason) for n in outcome.notices]

    def condition(self, type_: str) -> tuple[str, str]:
        found = next(c for c in self.status.conditions if c.type == type_)
        return found.status, found.reason

    def message(self, type_: str) -> str:
        return next(c.message for c in self.status.conditions if c.type == type_)

    def restart(self) -> None:
        """The daemon starts again: status read back, resumed at the next evaluation."""
        self.status = resume(stored(self.status), self.now + timedelta(seconds=15))


def test_scale_up_then_down_like_the_hpa_defaults():
    policy = Policy(make_spec(), current=1)
    seen = []
    for _ in range(3):
        policy.step(15, 1000)
        seen.append(policy.current)
    assert seen == [5, 10, 10]  # +4 pods or +100% per 15s, whichever is more
    assert policy.condition("ScalingLimited") == ("False", "DesiredWithinRange")
    for _ in range(19):  # 5 minutes of low load, minus one evaluation
        policy.step(15, 100)
        assert policy.current == 10
    assert policy.condition("AbleToScale") == ("True", "ScaleDownStabilized")
    policy.step(15, 100)
    assert policy.current == 1
    assert [(e.from_, e.to) for e in policy.status.history] == [(1, 5), (5, 10), (10, 1)]


# --- properties --------------------------------------------------------------------------


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    pods_up=st.integers(1, 5),
    pods_down=st.integers(1, 5),
    period=st.sampled_from([10, 15, 30, 60]),
    start=st.integers(2, 12),
    steps=st.lists(
        st.tuples(st.integers(1, 20), st.one_of(st.none(), st.floats(0, 5000))),
        max_size=60,
    ),
)
def test_never_outside_bounds_nor_faster_than_the_policies(
    pods_up, pods_down, period, start, steps
):
    spec = make_spec(
        minReplicas=2,
        maxReplicas=12,
        behavior={
            "scaleUp": {"policies": [{"type": "Pods", "value": pods_up, "period": f"{period}s"}]},
            "scaleDown": {
                "stabilizationWindow": "0s",
                "policies": [{"type": "Pods", "value": pods_down, "period": f"{period}s"}],
            },
        },
    )
    policy = Policy(spec, current=start)
    timeline = [(policy.now, start)]
    for seconds, value in steps:
        before = policy.current
        policy.step(seconds, value)
        assert 2 <= policy.current <= 12
        if value is None:
            assert policy.current >= before, "missing data never scales down"
        timeline.append((policy.now, policy.current))
    for i in range(1, len(timeline)):
        now, replicas = timeline[i]
        if replicas == timeline[i - 1][1]:
            continue
        # the HPA's guarantee for every scale: at most the policy's allowance beyond the
        # count at the start of the period that ends now, in the direction it scales
        at_start = next(
            (r for t, r in reversed(timeline[:i]) if t <= now - timedelta(seconds=period)),
            start,
        )
        if replicas > timeline[i - 1][1]:
            assert replicas - at_start <= pods_up
        else:
            assert at_start - replicas <= pods_down


def test_a_restart_in_a_stabilization_window_changes_nothing():
    spec = make_spec(behavior={"scaleDown": {"stabilizationWindow": "60s"}})
    steady, restarted = Policy(spec, current=2), Policy(spec, current=2)
    for i, value in enumerate([800] * 2 + [100] * 8):
        if i == 4:
            restarted.restart()
        steady.step(15, value)
        restarted.step(15, value)
        assert restarted.current == steady.current, i
    assert [e.to for e in restarted.status.history] == [6, 8, 1]


def test_a_restart_forgets_no_scale_event():
    """The HPA forgets its scale events when it restarts and may then scale faster than
    its policies say; the events are in status, so the limit still holds."""
    spec = make_spec(
        behavior={"scaleUp": {"policies": [{"type": "Pods", "value": 2, "period": "60s"}]}}
    )
    policy = Policy(spec, current=2)
    policy.step(15, 2000)
    assert policy.current == 4
    policy.restart()
    for _ in range(3):
        policy.step(15, 2000)
        assert policy.current == 4, "2 pods per 60s, restart or not"
    policy.step(15, 2000)
    assert policy.current == 6


# --- the HPA's state, kept exactly as the controller keeps it ------------------------------


def test_recommendation_slots_are_the_hpas_and_only_deciding_ones_call_for_a_write():
    policy = Policy(make_spec(), current=10)
    for value in (1000, 900, 950, 400, 300, 300, 300):
        policy.step(15, value)
    replicas = [r.replicas for r in policy.status.recommendations]
    assert replicas == [10, 10, 10, 10, 4, 3, 3, 3], "the initial one, then one per evaluation"
    assert [s.replicas for s in deciding(samples_of(policy.status))] == [10, 4, 3]
    horizon = timedelta(minutes=5)
    before = significant(policy.status, horizon)
    policy.step(15, 300)
    assert significant(policy.status, horizon) == before, "another 3 decides nothing new"
    # the slots of 10 and 4 outside a 30s window decide nothing: they are not written
    written = persisted(policy.status, timedelta(seconds=30))
    assert [r.replicas for r in written.recommendations] == [3]
    assert len(policy.status.recommendations) > 1, "in memory, the HPA's slots"
    for _ in range(40):
        policy.step(15, 300)
    assert len(policy.status.recommendations) <= 5 * 60 // 15 + 2, "old slots are reused"


def test_scale_event_slots_are_reused_like_the_hpa():
    behaviour = Behaviour(
        Rules(timedelta(0), (Rate("Pods", 4, timedelta(seconds=60)),), SelectPolicy.MAX),
        Rules(timedelta(0), (Rate("Pods", 4, timedelta(seconds=15)),), SelectPolicy.MAX),
    )
    events = record_change(behaviour, [], Change(-2, ago(50)))
    events = record_change(behaviour, events, Change(-1, ago(20)))  # reuses the old slot
    assert events == (Change(-1, ago(20)),)
    events = record_change(behaviour, events, Change(3, ago(10)))
    assert events == (Change(-1, ago(20)), Change(3, ago(10))), "slots are per direction"
    assert record_change(behaviour, [Change(-1, ago(100))], Change(2, T0)) == (
        Change(-1, ago(100)),
        Change(2, T0),
    )


def test_outdated_scale_events_are_kept_and_count_again_when_a_period_grows():
    short = Behaviour(
        Rules(timedelta(0), (Rate("Pods", 1, timedelta(seconds=15)),), SelectPolicy.MAX),
        PRESETS["Balanced"].down,
    )
    events = (Change(2, ago(50)), Change(3, ago(40)))
    events = record_change(short, events, Change(1, T0))
    # both older than 15s are marked outdated; the last one's slot is reused
    assert events == (Change(2, ago(50), outdated=True), Change(1, T0))
    long = Rules(timedelta(0), (Rate("Pods", 1, timedelta(seconds=60)),), SelectPolicy.MAX)
    # a 60s period counts the outdated +2 again: 1 pod per 60s from 10 - 3 added = 7 -> 8
    assert scale_up_limit(long, events, 10, T0) == 8


# --- what the HPA does not have -----------------------------------------------------------


def test_missing_data_and_failing_metrics_never_scale_down():
    spec = make_spec(
        metrics=[
            {"name": "a", "query": "qa", "target": {"type": "AverageValue", "value": 100}},
            {"name": "b", "query": "qb", "target": {"type": "AverageValue", "value": 100}},
        ],
        behavior={"scaleDown": {"stabilizationWindow": "0s"}},
    )
    policy = Policy(spec, current=5)
    events = policy.step(15, 100, Reading(error="Prometheus is unreachable"))
    assert policy.current == 5
    assert policy.condition("ScalingActive") == ("False", "FailedGetExternalMetric")
    assert ("Warning", "FailedGetExternalMetric") in events
    policy.step(15, 900, None)  # one metric still works and asks for more: scale up
    assert policy.current == 9
    assert policy.condition("ScalingActive") == ("True", "ValidMetricFound")
    policy.step(15, 100, 100)
    assert policy.current == 1


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (-5.0, "negative value (-5)"),
        (math.nan, "NaN"),
        (math.inf, "infinite"),
    ],
)
def test_negative_nan_and_infinite_values_are_missing_data(value, problem):
    """Deliberate difference: the HPA scales a negative external metric down to
    minReplicas; a negative (or NaN) PromQL result is far more likely a broken query."""
    policy = Policy(make_spec(), current=5)
    policy.step(15, value)
    assert policy.current == 5
    assert problem in policy.status.metrics[0].error
    assert policy.status.consecutive_failures == 1


def test_invalid_query_is_reported_as_such():
    policy = Policy(make_spec(), current=3)
    policy.step(15, Reading(error="parse error: unexpected end of input", rejected=True))
    assert policy.condition("ScalingActive") == ("False", "InvalidQuery")


def test_fallback_after_consecutive_failures_then_recovery():
    spec = make_spec(fallback={"failureThreshold": 3, "replicas": 6})
    policy = Policy(spec, current=2)
    for expected_failures in (1, 2):
        policy.step(15, None)
        assert (policy.current, policy.status.consecutive_failures) == (2, expected_failures)
        assert policy.condition("FallbackActive") == ("False", "FailuresBelowThreshold")
    events = policy.step(15, None)
    assert policy.current == 6
    assert policy.condition("FallbackActive") == ("True", "MetricsUnavailable")
    assert ("Warning", "MetricsUnavailable") in events
    assert policy.status.history[-1].reason.startswith("fallback")
    for _ in range(5):
        policy.step(15, None)
    assert policy.status.consecutive_failures == 3, "counted up to the threshold only"
    events = policy.step(15, 350)
    assert policy.condition("FallbackActive") == ("False", "MetricsAvailable")
    assert ("Normal", "MetricsAvailable") in events
    # back on the HPA's path (cooldown 0 here): 350 / (100 * 6) asks for 4, and no higher
    # recommendation was recorded while the metrics were failing
    assert policy.current == 4


def test_fallback_never_scales_down_and_holds_without_replicas():
    policy = Policy(make_spec(fallback={"failureThreshold": 1, "replicas": 3}), current=8)
    policy.step(15, None)
    assert policy.current == 8
    policy = Policy(make_spec(fallback={"failureThreshold": 1}), current=8)
    policy.step(15, None)
    assert policy.current == 8
    assert "holding the current replicas" in policy.message("FallbackActive")


def test_cooldown_delays_scale_down_only():
    spec = make_spec(cooldown="60s", behavior={"scaleDown": {"stabilizationWindow": "0s"}})
    policy = Policy(spec, current=2)
    policy.step(15, 500)
    assert policy.current == 5
    scaled_at = policy.now
    policy.step(15, 900)
    assert policy.current == 9, "scale-up ignores the cooldown"
    scaled_at = policy.now
    while policy.now + timedelta(seconds=15) < scaled_at + timedelta(seconds=60):
        policy.step(15, 100)
        assert policy.current == 9
        assert policy.condition("ScalingLimited") == ("True", "ScaleDownCooldown")
    policy.step(15, 100)
    assert policy.now >= scaled_at + timedelta(seconds=60)
    assert policy.current == 1


def test_dry_run_computes_and_reports_but_never_scales():
    policy = Policy(make_spec(dryRun=True), current=2)
    events = policy.step(15, 800)
    assert policy.current == 2
    # 800 / (100 * 2) asks for 8; the scale-up policies allow 6 in one step
    assert (policy.status.current_replicas, policy.status.desired_replicas) == (2, 6)
    assert policy.condition("AbleToScale") == ("True", "DryRun")
    assert policy.status.history[-1].reason == "dry run: metric rps above target"
    assert ("Normal", "DryRun") in events
    assert policy.step(15, 800) == [], "the same decision is reported once"
    assert policy.status.scale_events == [] and policy.status.last_scale_time is None


def test_override_wins_until_it_ends():
    until = format_time(T0 + timedelta(seconds=40))
    spec = make_spec(override={"replicas": 12, "reason": "load test", "until": until})
    policy = Policy(spec, current=2)
    events = policy.step(15, 100)
    assert policy.current == 12, "at once: no rate limit applies"
    assert policy.condition("ScalingActive") == ("False", "ManualOverride")
    assert policy.status.history[-1].reason == "override: load test"
    assert ("Normal", "SuccessfulRescale") in events
    assert policy.status.scale_events == [], "rate limits do not count an override"
    policy.step(15, 100)
    assert policy.current == 12
    events = policy.step(15, 100)  # past `until`: back on the HPA's path (cooldown 0)
    assert policy.condition("ScalingActive") == ("True", "ValidMetricFound")
    assert ("Normal", "ValidMetricFound") in events
    assert policy.current == 2, "the window only holds the recommendation made before"


def test_suspend_evaluates_nothing():
    policy = Policy(make_spec(suspend=True), current=2)
    events = policy.step(15, 5000)
    assert policy.current == 2
    assert policy.condition("ScalingActive") == ("False", "Suspended")
    assert policy.status.current_replicas is None
    assert events == []


def test_conflict_refuses_and_says_who():
    conflict = conflict_of([("HorizontalPodAutoscaler", "web"), ("ScaledObject", "web")])
    assert conflict == Conflict(
        "HorizontalPodAutoscalerFound",
        "HorizontalPodAutoscaler web, ScaledObject web already scales it",
    )
    policy = Policy(make_spec(), current=2)
    events = policy.step(15, 5000, conflict=conflict)
    assert policy.current == 2
    assert policy.condition("TargetConflict") == ("True", "HorizontalPodAutoscalerFound")
    assert policy.condition("ScalingActive") == ("False", "TargetConflict")
    assert events == [("Warning", "HorizontalPodAutoscalerFound")]
    events = policy.step(15, 5000)
    assert policy.condition("TargetConflict") == ("False", "NoConflict")
    assert ("Normal", "NoConflict") in events and policy.current == 6
    assert conflict_of([]) is None
    assert conflict_of([("ScalingPolicy", "old")]).reason == "AnotherScalingPolicy"


def test_unreadable_target_and_failed_write():
    policy = Policy(make_spec(), current=2)
    events = policy.step(15, 500, current=None, scale_error="Deployment web not found")
    assert policy.condition("AbleToScale") == ("False", "FailedGetScale")
    assert ("Warning", "FailedGetScale") in events
    policy.fail_scale = "HTTP 403: forbidden"
    events = policy.step(15, 500)
    assert policy.condition("AbleToScale") == ("False", "FailedUpdateScale")
    assert ("Warning", "FailedUpdateScale") in events
    assert policy.status.scale_events == [] and policy.status.last_scale_time is None
    assert policy.step(15, 500) == [], "a lasting failure is one Event, not one per evaluation"
    policy.fail_scale = None
    events = policy.step(15, 500)
    assert ("Normal", "SucceededRescale") in events and policy.current == 5


def test_replicas_changed_by_hand_are_explained():
    policy = Policy(make_spec(), current=3)
    policy.step(15, 300)
    events = policy.step(15, 300, current=7)
    assert ("Normal", "ExternalScale") in events
    assert [(e.from_, e.to, e.reason) for e in policy.status.history] == [
        (3, 7, "changed outside Watchkeeper"),
        (7, 3, "all metrics below target"),  # nothing in the window asked for more than 3
    ]


@pytest.mark.parametrize(
    ("current", "expected", "reason"), [(30, 20, "TooManyReplicas"), (0, 0, None)]
)
def test_bounds_are_enforced_and_zero_disables(current, expected, reason):
    policy = Policy(make_spec(), current=current)
    policy.step(15, 300)
    assert policy.current == expected
    if reason:
        assert policy.condition("ScalingLimited") == ("True", reason)
    else:
        assert policy.condition("ScalingActive") == ("False", "ScalingDisabled")


def test_forecasts_shadow_and_active():
    shadow = make_spec(predictive={"mode": "Shadow", "lookback": "10m", "horizon": "1m"})
    forecast = Forecast(ahead=Reading((900.0,)), past=Reading((80.0,)))
    policy = Policy(shadow, current=1)
    policy.step(15, 100, forecasts={"rps": forecast})
    prediction = policy.status.metrics[0].prediction
    assert prediction is not None
    assert (prediction.value, prediction.proposed_replicas) == (900.0, 9)
    assert (prediction.mean_absolute_percentage_error, prediction.checked_forecasts) == (20.0, 1)
    assert policy.current == 1, "shadow mode never acts"
    policy.step(15, 100, forecasts={"rps": Forecast(Reading((900.0,)), Reading((110.0,)))})
    prediction = policy.status.metrics[0].prediction
    assert prediction is not None
    assert prediction.mean_absolute_percentage_error == 15.0  # mean of 20% and 10%
    active = make_spec(predictive={"mode": "Active", "lookback": "10m", "horizon": "1m"})
    policy = Policy(active, current=1)
    policy.step(15, 100, forecasts={"rps": forecast})
    assert policy.current == 5, "scales on the forecast, within the scale-up rate"
    assert policy.status.history[-1].reason == "forecast of metric rps above target"


def test_forecast_query_is_predict_linear_over_a_subquery():
    query = forecast_query(
        "sum(rate(x[2m]))", timedelta(minutes=30), timedelta(minutes=5), timedelta(seconds=15)
    )
    assert query == "predict_linear((sum(rate(x[2m])))[1800000ms:15000ms], 300)"


def test_significant_ignores_values_that_move_every_evaluation():
    policy = Policy(make_spec(), current=3)
    policy.step(15, 300)
    first = policy.status
    policy.step(15, 305)
    assert first.metrics[0].value != policy.status.metrics[0].value
    assert first.recommendations[-1].time != policy.status.recommendations[-1].time
    horizon = timedelta(minutes=5)
    assert significant(first, horizon) == significant(policy.status, horizon)
    policy.step(15, 900)
    assert significant(first, horizon) != significant(policy.status, horizon)


def test_a_heartbeat_rewrites_moving_values_not_the_newest_recommendations_time():
    horizon = timedelta(minutes=5)
    policy = Policy(make_spec(), current=3)
    policy.step(15, 300)
    written = persisted(policy.status, horizon)
    policy.step(15, 300)  # nothing moved but the clock
    held = persisted(policy.status, horizon)
    assert held.recommendations[-1].time != written.recommendations[-1].time
    assert not worth_refreshing(held, written)
    assert resume(written, policy.now).recommendations == held.recommendations
    policy.step(15, 305)  # a metric value moved (not enough to change the decision)
    assert significant(policy.status, horizon) == significant(written, horizon)
    assert worth_refreshing(persisted(policy.status, horizon), written)


def test_resume_takes_the_newest_recommendation_to_have_held_until_now():
    policy = Policy(make_spec(), current=3)
    policy.step(15, 300)
    later = policy.now + timedelta(minutes=10)
    resumed = resume(policy.status, later)
    assert resumed.recommendations[-1].time == format_time(later)
    assert resume(ScalingPolicyStatus(), later) == ScalingPolicyStatus()


def test_history_is_bounded():
    policy = Policy(make_spec(behavior={"scaleDown": {"stabilizationWindow": "0s"}}), current=1)
    for i in range(80):
        policy.step(15, 1000 if i % 2 else 100)
    assert len(policy.status.history) == 50


# --- the API: what the spec accepts --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"behavior": {"scaleUp": {"policies": []}}}, "behavior.scaleUp.policies"),
        (
            {
                "behavior": {
                    "scaleUp": {"policies": [{"type": "Pods", "value": 1, "period": "31m"}]}
                }
            },
            "period must be more than 0s and at most 30m",
        ),
        (
            {"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "period": "0s"}]}}},
            "period must be more than 0s",
        ),
        ({"behavior": {"scaleDown": {"stabilizationWindow": "2h"}}}, "stabilizationWindow"),
        ({"override": {"replicas": 50, "reason": "x"}}, "override.replicas"),
        ({"override": {"replicas": 5, "reason": "x", "until": "the day after tomorrow"}}, "3339"),
        ({"override": {"replicas": 5, "reason": "x", "until": "2026-11-28T23:00:00.0"}}, "zone"),
        ({"evaluationInterval": "500ms"}, "evaluationInterval must be at least 1s"),
        ({"predictive": {"mode": "Shadow", "horizon": "0s"}}, "horizon"),
        (
            {"metrics": [{"name": "a", "query": "q", "target": {"type": "Value", "value": 1e-4}}]},
            "target.value",
        ),
    ],
)
def test_spec_rejects(changes, field):
    with pytest.raises(ValidationError) as caught:
        make_spec(**changes)
    assert field in str(caught.value)
