"""combine: WeightedAverage — the metrics' usage ratios and unrounded replica counts
averaged by weight before rounding (combine: Max, the HPA's rule, stays the default)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_scaling_engine import Policy, make_spec
from watchkeeper.api.scalingpolicy import MetricTarget
from watchkeeper.engine.scaling import Replicas, Share, Tolerance, share_of, weighted_replicas
from watchkeeper.engine.scaling_metrics import Reading


def _metric(name: str, kind: str, target: float, weight: float | None = None) -> dict[str, Any]:
    metric: dict[str, Any] = {
        "name": name,
        "query": name,
        "target": {"type": kind, "value": target},
    }
    if weight is not None:
        metric["weight"] = weight
    return metric


def _weighted(*metrics: dict[str, Any]) -> Any:
    return make_spec(
        combine="WeightedAverage",
        metrics=list(metrics),
        behavior={"scaleDown": {"stabilizationWindow": "0s"}},
    )


@pytest.mark.parametrize(
    ("kind", "values", "replicas", "expected"),
    [
        ("AverageValue", [600], Replicas(4, status=2), Share(3.0, 6.0)),  # 600/(100x2); 600/100
        ("AverageValue", [600], Replicas(4, status=0), Share(float("inf"), 6.0)),
        ("Value", [300], Replicas(6, ready=4), Share(3.0, 12.0)),  # 3.0 x 4 ready
        ("Value", [300], Replicas(0), Share(3.0, 3.0)),  # from zero: the ratio
    ],
)
def test_shares(kind, values, replicas, expected):
    assert share_of(MetricTarget(type=kind, value=100), values, replicas) == expected


def test_weighted_replicas_round_once_after_averaging():
    shares = [(Share(3.0, 6.0), 3.0), (Share(0.5, 1.0), 1.0)]
    # ratio (3x3 + 0.5)/4 = 2.375: outside the tolerance; replicas (6x3 + 1)/4 = 4.75 -> 5
    assert weighted_replicas(shares, 2, Tolerance(0.1, 0.1)) == 5
    balanced = [(Share(1.2, 2.4), 1.0), (Share(0.8, 1.6), 1.0)]
    assert weighted_replicas(balanced, 2, Tolerance(0.1, 0.1)) == 2, "mean ratio 1.0"


def test_weighted_average_steers_where_max_would_follow_the_loudest_metric():
    metrics = (_metric("cpu", "AverageValue", 100, 3), _metric("queue", "AverageValue", 100, 1))
    weighted = Policy(_weighted(*metrics), current=2)
    weighted.step(15, 600, 100)  # cpu asks for 6, queue for 1
    assert weighted.current == 5  # ceil((6 x 3 + 1 x 1) / 4)
    assert "weighted average of cpu, queue" in weighted.message("ScalingActive")
    loudest = Policy(
        make_spec(
            metrics=[_metric("cpu", "AverageValue", 100), _metric("queue", "AverageValue", 100)]
        ),
        current=2,
    )
    loudest.step(15, 600, 100)
    assert loudest.current == 6


def test_a_failed_metric_leaves_the_average_and_blocks_scale_down():
    metrics = (_metric("cpu", "AverageValue", 100, 1), _metric("queue", "AverageValue", 100, 1))
    policy = Policy(_weighted(*metrics), current=4)
    policy.step(15, 800, Reading(error="down"))  # cpu alone asks for 8
    assert policy.current == 8
    policy.step(15, 100, Reading(error="down"))  # cpu alone would go down: not without queue
    assert policy.current == 8
    policy.step(15, 100, 100)
    assert policy.current == 1


def _run(preset: str, loads: list[float]) -> list[int]:
    policy = Policy(make_spec(preset=preset, maxReplicas=40), current=4)
    seen = []
    for load in loads:
        policy.step(15, load)
        seen.append(policy.current)
    return seen


def test_cost_optimized_scales_up_reluctantly_and_down_soon():
    up = _run("CostOptimized", [2000] * 6)
    assert up == [4, 4, 4, 4, 5, 5], "a minute of agreement, then 1 pod or 25% a minute"
    down = _run("CostOptimized", [2000] * 5 + [100] * 6)
    assert down[4:] == [5, 5, 5, 5, 1, 1, 1], "one quiet minute, then all the way down"


def test_performance_scales_up_at_once_and_down_slowly():
    up = _run("Performance", [2000] * 3)
    assert up == [14, 20, 20], "10 pods or 100% every 15s"
    down = _run("Performance", [2000] * 2 + [100] * 61)
    assert set(down[2:61]) == {20}, "the 15m window holds the capacity"
    assert down[61:] == [19, 19], "then 1 pod or 5% (whichever is more) every 2 minutes"
