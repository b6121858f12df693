"""Right-sizing advice, pure: recommendations, savings, bad values, queries and when to
ask again."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from watchkeeper.api.scaling_rightsizing import (
    ContainerAdvice,
    ResourceAdvice,
    Rightsizing,
    RightsizingStatus,
)
from watchkeeper.api.scalingpolicy import ScalingPolicyStatus, TargetRef
from watchkeeper.engine.rightsizing import (
    CPU,
    MEMORY,
    RIGHTSIZING_AVAILABLE,
    advise,
    advise_resource,
    by_container,
    due,
    failed,
    pods_pattern,
    queries,
    record,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
MI = 1024.0**2
GI = 1024.0**3


@pytest.mark.parametrize(
    ("request_", "usage", "headroom", "replicas", "unit", "recommended", "saved", "note"),
    [
        # 1 core asked, 0.25 used: 0.25 x 1.15 = 0.2875 -> 288m; (1 - 0.288) x 2 x 24
        (1.0, 0.25, 0.15, 2, CPU, 0.288, 34.176, ""),
        (0.5, 0.5, 0.0, 1, CPU, 0.5, 0.0, ""),
        # under-provisioned: the saving is negative (it needs more)
        (0.1, 0.4, 0.25, 3, CPU, 0.5, -28.8, ""),
        # idle: the floor, 10m
        (1.0, 0.0, 0.15, 1, CPU, 0.01, 23.76, ""),
        # a request of zero is a request: the advice costs more
        (0.0, 0.2, 0.0, 1, CPU, 0.2, -4.8, ""),
        # memory rounds up to a MiB: 200 MiB x 1.15 = 230 MiB; (1 GiB - 230 MiB) x 4 x 24 GiB-h
        (GI, 200 * MI, 0.15, 4, MEMORY, 230 * MI, round((GI - 230 * MI) * 96 / GI, 3), ""),
        (512 * MI, 0.0, 0.15, 1, MEMORY, 16 * MI, 11.625, ""),
        # no request: advice, but nothing to compare it with
        (None, 0.25, 0.15, 2, CPU, 0.288, None, "no cpu request"),
        # missing, NaN, infinite, negative and huge usage: no advice
        (1.0, None, 0.15, 2, CPU, None, None, "no cpu usage"),
        (1.0, math.nan, 0.15, 2, CPU, None, None, "cpu usage nan ignored"),
        (1.0, math.inf, 0.15, 2, CPU, None, None, "cpu usage inf ignored"),
        (1.0, -0.5, 0.15, 2, CPU, None, None, "cpu usage -0.5 ignored"),
        (1.0, 1e300, 0.15, 2, CPU, None, None, "cpu usage 1e+300 ignored"),
        (GI, 2.0**60, 0.15, 2, MEMORY, None, None, "memory usage 1.15292e+18 ignored"),
        # a NaN or huge request: advice without a saving
        (math.nan, 0.25, 0.15, 2, CPU, 0.288, None, "cpu request nan ignored"),
        (1e9, 0.25, 0.15, 2, CPU, 0.288, None, "cpu request 1e+09 ignored"),
        # zero replicas save nothing
        (1.0, 0.25, 0.15, 0, CPU, 0.288, 0.0, ""),
    ],
)
def test_advice_for_one_resource(
    request_, usage, headroom, replicas, unit, recommended, saved, note
):
    advice = advise_resource(request_, usage, headroom, replicas, unit)
    assert advice.recommended == recommended
    assert advice.saved_per_day == saved
    assert advice.note == note
    if not math.isnan(request_ or 0) and (request_ or 0) <= unit.ceiling:
        assert advice.request == request_


def _answers(**by_query: dict[str, float]) -> dict[str, dict[str, float]]:
    return {name: by_query.get(name, {}) for name in queries(Rightsizing(), "ns", _target())}


def _target(kind: str = "Deployment", name: str = "web") -> TargetRef:
    return TargetRef(kind=kind, name=name)


def test_advice_per_container_with_totals_and_cost():
    spec = Rightsizing(cost_per_cpu_core_hour=0.04, cost_per_gib_hour=0.005)
    answers = _answers(
        cpuUsage={"app": 0.25, "sidecar": 0.005},
        memoryUsage={"app": 200 * MI},
        cpuRequests={"app": 1.0, "sidecar": 0.1},
        memoryRequests={"app": GI, "sidecar": 64 * MI},
    )
    status = advise(spec, answers, 2, 7, NOW)
    assert [c.name for c in status.containers] == ["app", "sidecar"]
    app, sidecar = status.containers
    assert (app.cpu.recommended, app.memory.recommended) == (0.288, 230 * MI)
    assert sidecar.cpu.recommended == 0.01 and sidecar.memory.note == "no memory usage"
    assert status.saved_core_hours_per_day == round(34.176 + 4.32, 3)
    assert status.saved_gib_hours_per_day == app.memory.saved_per_day
    expected = 0.04 * status.saved_core_hours_per_day + 0.005 * status.saved_gib_hours_per_day
    assert status.saved_cost_per_day == round(expected, 3)
    assert (status.computed_at, status.observed_generation, status.replicas) == (
        "2026-12-04T12:00:00Z",
        7,
        2,
    )


def test_no_prices_no_cost_and_no_series_no_containers():
    assert (
        advise(Rightsizing(), _answers(cpuUsage={"app": 1}), 1, 1, NOW).saved_cost_per_day is None
    )
    assert advise(Rightsizing(), _answers(), 1, 1, NOW).containers == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0.2, 0.3, 0.1], 0.3), ([math.nan, 0.2], 0.2), ([0.2, math.nan], 0.2), ([1e300], 1e300)],
)
def test_the_highest_pod_wins_and_nan_only_when_all_are(values, expected):
    assert by_container([({"container": "app"}, v) for v in values]) == {"app": expected}
    assert math.isnan(by_container([({"container": "app"}, math.nan)])["app"])


def test_series_without_a_container_label_are_left_out():
    assert by_container([({"pod": "x"}, 9.0), ({"container": ""}, 1.0)]) == {}


@pytest.mark.parametrize(
    ("kind", "name", "pattern"),
    [
        ("Deployment", "web", "web-[a-z0-9]+-[a-z0-9]+"),
        ("StatefulSet", "db", "db-[0-9]+"),
        ("Rollout", "api", "api-.+"),
        ("Deployment", "web.v2", "web\\\\.v2-[a-z0-9]+-[a-z0-9]+"),
    ],
)
def test_pod_names_of_the_target(kind, name, pattern):
    assert pods_pattern(_target(kind, name)) == pattern


def test_queries_are_templated_and_wrapped():
    spec = Rightsizing(lookback="2d", resolution="5m", percentile=0.9)
    exprs = queries(spec, "shop", _target())
    assert exprs["cpuUsage"] == (
        "max by (container) (quantile_over_time(0.9, (rate(container_cpu_usage_seconds_total"
        '{namespace="shop", pod=~"web-[a-z0-9]+-[a-z0-9]+", container!="", container!="POD"}'
        "[5m]))[2d:5m]))"
    )
    assert exprs["memoryRequests"] == (
        'max by (container) (kube_pod_container_resource_requests{namespace="shop", '
        'pod=~"web-[a-z0-9]+-[a-z0-9]+", resource="memory"})'
    )
    custom = Rightsizing(queries={"cpuRequests": 'my_requests{ns="{{namespace}}",p=~"{{pods}}"}'})
    expr = queries(custom, "shop", _target())["cpuRequests"]
    assert expr == 'max by (container) (my_requests{ns="shop",p=~"web-[a-z0-9]+-[a-z0-9]+"})'


def _computed(
    at: datetime, generation: int = 1, error: str = "", usage: float | None = 0.2
) -> RightsizingStatus:
    app = ContainerAdvice(name="app", cpu=ResourceAdvice(usage=usage), memory=ResourceAdvice())
    return RightsizingStatus(
        computed_at=at.isoformat(), observed_generation=generation, containers=[app], error=error
    )


HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("advice", "generation", "now", "failed_at", "expected"),
    [
        (None, 1, NOW, None, True),  # never computed
        (_computed(NOW), 1, NOW + HOUR - timedelta(seconds=1), None, False),
        (_computed(NOW), 1, NOW + HOUR, None, True),  # recheckInterval 1h passed
        (_computed(NOW), 2, NOW + timedelta(seconds=1), None, True),  # the spec changed
        (_computed(NOW, error="down"), 1, NOW, None, True),  # failed before a restart
        # a failure is retried after 5m, not at the next evaluation
        (_computed(NOW, error="down"), 1, NOW + timedelta(minutes=4), NOW, False),
        (_computed(NOW, error="down"), 1, NOW + timedelta(minutes=5), NOW, True),
        (None, 1, NOW + timedelta(seconds=15), NOW, False),
        # no data: retried like a failure
        (RightsizingStatus(computed_at=NOW.isoformat()), 1, NOW + timedelta(minutes=5), NOW, True),
        # requests but no usage yet (a new workload, or a scrape not yet in the window)
        (_computed(NOW, usage=None), 1, NOW + timedelta(minutes=4), NOW, False),
        (_computed(NOW, usage=None), 1, NOW + timedelta(minutes=5), NOW, True),
        (_computed(NOW, usage=None), 1, NOW + timedelta(minutes=5), None, True),  # restarted
    ],
)
def test_when_to_ask_again(advice, generation, now, failed_at, expected):
    assert due(Rightsizing(), advice, generation, now, failed_at) is expected


def test_the_condition_follows_the_advice():
    spec = Rightsizing()
    good = advise(spec, _answers(cpuUsage={"app": 0.25}, cpuRequests={"app": 1.0}), 2, 1, NOW)
    status = record(ScalingPolicyStatus(), good, 1, NOW)
    (cond,) = status.conditions
    assert (cond.type, cond.status, cond.reason) == (
        RIGHTSIZING_AVAILABLE,
        "True",
        "AdviceComputed",
    )
    assert "saves 34.176 core-hours" in cond.message
    broken = record(status, failed(status.rightsizing, "query cpuUsage: down"), 1, NOW)
    assert broken.rightsizing.containers == good.containers  # the last advice is kept
    assert (broken.conditions[0].status, broken.conditions[0].reason) == ("False", "QueryFailed")
    empty = record(status, advise(spec, _answers(), 2, 1, NOW), 1, NOW)
    assert empty.conditions[0].reason == "NoData"
    removed = record(broken, None, 2, NOW)
    assert removed.rightsizing is None and removed.conditions == []


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"percentile": 0}, "percentile"),
        ({"percentile": 1.5}, "percentile"),
        ({"headroom": -0.1}, "headroom"),
        ({"lookback": "30s"}, "lookback"),
        ({"recheckInterval": "10s"}, "recheckInterval"),
        ({"lookback": "5m", "resolution": "10m"}, "resolution must not exceed lookback"),
        ({"costPerCpuCoreHour": -1}, "costPerCpuCoreHour"),
        ({"costPerGiBHour": math.nan}, "costPerGiBHour"),
        ({"queries": {"cpuUsage": ""}}, "cpuUsage"),
    ],
)
def test_bad_values_are_refused(block, problem):
    with pytest.raises(ValidationError, match=problem):
        Rightsizing.model_validate(block)
