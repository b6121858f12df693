"""Differential tests: the engine against a transliteration of the HPA controller
(tests/scaling_reference.py), step by step, on the behavior path and on the legacy path
(preset HPALegacy), with ready pods and status.replicas that lag spec.replicas, per-direction
tolerances and spec changes mid-run (windows and periods that grow or shrink, a switch
between the two paths). The bar: the same replica count at every step, and the same
memory (recommendation slots, scale-event slots with their outdated flags)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scaling_reference import Pods, ReferenceHPA, reference_external
from tests.test_scaling_engine import T0, Policy, make_spec
from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.api.timestamps import parse_time
from watchkeeper.engine.scaling import resolve_behaviour, resolve_tolerance

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NO_PODS = "no pods match the target's selector"


def _direction() -> st.SearchStrategy[dict[str, Any]]:
    policy = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Pods", "Percent"]),
            "value": st.sampled_from([1, 2, 3, 4, 10, 12, 50, 80, 90, 100, 150, 300]),
            "period": st.sampled_from(["5s", "15s", "30s", "60s", "2m"]),
        }
    )
    return st.fixed_dictionaries(
        {
            "stabilizationWindow": st.sampled_from(["0s", "5s", "15s", "40s", "2m", "5m"]),
            "policies": st.lists(policy, min_size=1, max_size=3),
            "selectPolicy": st.sampled_from(["Max", "Max", "Min", "Disabled"]),
        },
        optional={"tolerance": st.sampled_from([0.0, 0.02, 0.25])},
    )


# None: the legacy path (an HPA without behavior, preset HPALegacy)
BEHAVIOURS = st.one_of(
    st.none(), st.fixed_dictionaries({"scaleUp": _direction(), "scaleDown": _direction()})
)
STEP = st.tuples(
    st.integers(500, 45_000),  # milliseconds since the previous evaluation
    st.one_of(st.none(), st.floats(0, 3000, allow_nan=False).map(lambda v: round(v, 3))),
    st.integers(-3, 3),  # status.replicas minus spec.replicas
    st.floats(0, 1),  # the share of the pods that are ready
    # now and then a spec change: ("to", the new behavior, None for the legacy path)
    st.one_of(st.none(), st.none(), st.none(), BEHAVIOURS.map(lambda b: ("to", b))),
)


def _spec(behavior: dict[str, Any] | None, low: int, high: int, **metric: Any) -> Any:
    return make_spec(
        minReplicas=low,
        maxReplicas=high,
        tolerance=metric.pop("tolerance"),
        **({"preset": "HPALegacy"} if behavior is None else {"behavior": behavior}),
        metrics=[{"name": "m", "query": "q", "target": metric}],
    )


def _same_memory(policy: Policy, reference: ReferenceHPA) -> None:
    slots = [(r.replicas, parse_time(r.time)) for r in policy.status.recommendations]
    assert slots == reference.recommendations
    ours = [(c.change, parse_time(c.time), c.outdated) for c in policy.status.scale_events]
    theirs = reference.events()
    assert [e for e in ours if e[0] > 0] == [e for e in theirs if e[0] > 0]
    assert [e for e in ours if e[0] < 0] == [e for e in theirs if e[0] < 0]


def _run(spec: ScalingPolicySpec, start: int, steps: list[Any], ready_pods: bool) -> None:
    reference, policy = ReferenceHPA(), Policy(spec, current=start)
    bounds = (spec.min_replicas, spec.max_replicas)
    for millis, value, lag, ready_share, change in steps:
        before = policy.current
        status = max(0, before + lag) if ready_pods else before
        pods = Pods(status, status, int(status * ready_share) if ready_pods else status)
        behaviour = resolve_behaviour(policy.spec.preset, policy.spec.behavior)
        tolerance = resolve_tolerance(policy.spec.tolerance, behaviour)
        target = policy.spec.metrics[0].target
        desired = (
            None
            if value is None
            else reference_external(
                target.type, [value], target.value, before, (tolerance.down, tolerance.up), pods
            )
        )
        policy.step(
            millis / 1000,
            value,
            status_replicas=pods.status_replicas,
            ready_pods=pods.ready if pods.listed else None,
            pods_error="" if pods.listed else NO_PODS,
        )
        expected = reference.sync(
            policy.now, None if behaviour.legacy else behaviour, bounds, before, desired
        )
        assert policy.current == expected, (before, value, pods, policy.status.conditions)
        _same_memory(policy, reference)
        if change is not None:
            data = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
            data.pop("behavior", None)
            behavior = change[1]
            if behavior is None:
                data["preset"] = "HPALegacy"
            else:
                data.update(preset="Balanced", behavior=behavior)
            policy.spec = ScalingPolicySpec.model_validate(data)


@SETTINGS
@given(
    behavior=BEHAVIOURS,
    low=st.integers(0, 3),
    span=st.integers(0, 15),
    start=st.integers(0, 22),
    kind=st.sampled_from(["Value", "AverageValue"]),
    target=st.sampled_from([1, 7.5, 100, 0.25]),
    tolerance=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
    steps=st.lists(STEP, min_size=1, max_size=40),
)
def test_same_replicas_as_the_hpa(behavior, low, span, start, kind, target, tolerance, steps):
    """The parity bar: both paths, ready pods and status.replicas that lag, spec changes;
    cooldown 0, any metric sequence (None: no data)."""
    high = max(low, 1) + span
    spec = _spec(behavior, low, high, type=kind, value=target, tolerance=tolerance)
    _run(spec, start, steps, ready_pods=True)


def test_legacy_path_by_hand():
    """An HPA without behavior: twice the pods (at least 4) per evaluation, no rate limit
    periods, a stabilized count that climbs past the current one, and a 5m scale-down
    window whose far edge counts."""
    spec = _spec(None, 1, 50, type="AverageValue", value=100, tolerance=0.1)
    policy = Policy(spec, current=1)
    seen = []
    for _ in range(4):
        policy.step(15, 5000)
        seen.append(policy.current)
    assert seen == [4, 8, 16, 32]
    assert policy.condition("ScalingLimited") == ("True", "ScaleUpLimit")
    assert policy.status.scale_events == [], "the legacy path keeps no scale events"
    for _ in range(20):  # the last 5000 asked for 50; the 20th step is exactly 5m later
        policy.step(15, 100)
        assert policy.current == 50, "the highest recommendation of the window, not current"
    assert policy.condition("AbleToScale") == ("True", "ScaleDownStabilized")
    policy.step(1, 100)
    assert policy.current == 1


def test_legacy_stabilized_count_can_exceed_the_current_one():
    """Scaled down by hand within the window, the legacy path climbs back towards the
    highest recent recommendation (at most doubling), though the metric asks for less."""
    spec = _spec(None, 1, 50, type="AverageValue", value=100, tolerance=0.1)
    policy = Policy(spec, current=10)
    policy.step(15, 1000)
    policy.current = 2  # someone scaled it down
    policy.step(15, 200)
    assert policy.current == 4, "max(10 recommended 15s ago) capped at max(2 x 2, 4)"


def test_a_window_that_grows_counts_the_old_recommendations_again():
    """A recommendation older than a short window keeps its slot until the HPA reuses it;
    when the window grows it counts again (the HPA's answer), so the count holds."""
    metric = {"type": "AverageValue", "value": 100, "tolerance": 0.1}
    held = {"scaleDown": {"stabilizationWindow": "30s", "selectPolicy": "Disabled"}}
    policy = Policy(_spec(held, 1, 20, **dict(metric)), current=8)
    for seconds, value in [(15, 800), (15, 100), (30, 100), (30, 100)]:
        policy.step(seconds, value)
    assert policy.current == 8
    assert 8 in [r.replicas for r in policy.status.recommendations], "outside the window, kept"
    policy.spec = _spec({"scaleDown": {"stabilizationWindow": "5m"}}, 1, 20, **dict(metric))
    for _ in range(12):  # up to 4 minutes after the 8 was recommended
        policy.step(15, 100)
        assert policy.current == 8
    while policy.current == 8:
        policy.step(15, 100)
    assert policy.now == T0 + timedelta(seconds=15 + 300), "once the 8 is 5m old, not before"


def test_per_direction_tolerance():
    behavior = {"scaleUp": {"tolerance": 0.5}, "scaleDown": {"tolerance": 0.02}}
    spec = _spec(behavior, 1, 60, type="Value", value=100, tolerance=0.1)
    policy = Policy(spec, current=50)
    policy.step(15, 140)  # ratio 1.4: within the scale-up tolerance of 0.5 (not of 0.1)
    assert policy.status.metrics[0].proposed_replicas == 50
    policy.step(15, 96)  # ratio 0.96: outside the scale-down tolerance of 0.02
    assert policy.status.metrics[0].proposed_replicas == 48


def test_value_targets_use_ready_pods():
    """While new pods start, a Value target multiplies the usage ratio by the ready pods,
    not by spec.replicas: the HPA's answer, which does not overshoot."""
    spec = _spec(
        {"scaleUp": {"stabilizationWindow": "0s"}}, 1, 50, type="Value", value=100, tolerance=0.1
    )
    policy = Policy(spec, current=6)
    policy.step(15, 300, status_replicas=6, ready_pods=4)  # 2 pods still starting
    assert policy.status.metrics[0].proposed_replicas == 12, "3.0 x 4 ready, not x 6"
    assert policy.current == 12
    policy.step(15, 300, status_replicas=12, ready_pods=None, pods_error=NO_PODS)
    assert policy.status.metrics[0].error.endswith(NO_PODS)
    assert policy.current == 12


def test_average_value_divides_by_status_replicas():
    spec = _spec(None, 1, 50, type="AverageValue", value=100, tolerance=0.1)
    policy = Policy(spec, current=6)
    policy.step(15, 410, status_replicas=4, ready_pods=4)  # 410 / (100 x 4): within
    assert policy.status.metrics[0].proposed_replicas == 4
