"""Right-sizing advice, pure: the queries for a target's containers, the request each
should have, what that saves, and when to ask Prometheus again.

Usage is the `percentile` of each pod's usage over the lookback, the highest of the pods
(Prometheus computes both); the recommendation adds the headroom and rounds up to a
millicore or a MiB, never below a floor (10m, 16Mi) so an idle container still gets a
schedulable request. A value that is NaN, infinite, negative or beyond any real container
(100,000 cores, 1 PiB) is left out with a note, never turned into advice."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.api.common import ConditionStatus
from watchkeeper.api.scaling_rightsizing import (
    ContainerAdvice,
    ResourceAdvice,
    Rightsizing,
    RightsizingStatus,
)
from watchkeeper.api.scalingpolicy import ScalingPolicyStatus, TargetRef
from watchkeeper.api.timestamps import format_time, parse_time

from .conditions import merge_condition
from .observations import Series

RIGHTSIZING_AVAILABLE = "RightsizingAvailable"
RETRY_AFTER = timedelta(minutes=5)
"""An attempt that failed or found no data is tried again after this (or the
recheckInterval, if shorter)."""
MAX_CONTAINERS = 50
HOURS_PER_DAY = 24
MIB, GIB = 1024.0**2, 1024.0**3


@dataclass(frozen=True)
class Unit:
    """How one resource is rounded, bounded and counted."""

    name: str
    step: float  # recommendations are whole steps
    floor: float  # the least recommended
    ceiling: float  # beyond this a value is not believed
    per_hour: float  # saved amounts are in this many units (core-hours, GiB-hours)


CPU = Unit("cpu", 0.001, 0.01, 1e5, 1.0)
MEMORY = Unit("memory", MIB, 16 * MIB, 1024.0**5, GIB)


def pods_pattern(target: TargetRef) -> str:
    """A regular expression (as the text of a PromQL double-quoted string) matching the
    names of the target's pods, past and present, and no other workload's."""
    name = target.name.replace(".", "\\\\.")  # a regex's \. inside a PromQL string
    if target.kind == "Deployment":  # name-<pod-template-hash>-<suffix>
        return f"{name}-[a-z0-9]+-[a-z0-9]+"
    if target.kind == "StatefulSet":
        return f"{name}-[0-9]+"
    return f"{name}-.+"


_PLACEHOLDER = re.compile(r"\{\{\s*(namespace|pods)\s*\}\}")


def queries(spec: Rightsizing, namespace: str, target: TargetRef) -> dict[str, str]:
    """The four PromQL expressions, by name, each answering one value per container."""
    values = {"namespace": namespace, "pods": pods_pattern(target)}

    def fill(expr: str) -> str:
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], expr)

    window = f"[{spec.lookback}:{spec.resolution}]"

    def usage(expr: str) -> str:
        quantile = f"quantile_over_time({spec.percentile:g}, ({fill(expr)}){window})"
        return f"max by (container) ({quantile})"

    q = spec.queries
    return {
        "cpuUsage": usage(q.cpu_usage),
        "memoryUsage": usage(q.memory_usage),
        "cpuRequests": f"max by (container) ({fill(q.cpu_requests)})",
        "memoryRequests": f"max by (container) ({fill(q.memory_requests)})",
    }


def by_container(series: Iterable[Series]) -> dict[str, float]:
    """One value per container label, the highest (NaN only when all are, as PromQL's max);
    series without one are left out."""
    found: dict[str, float] = {}
    for labels, value in series:
        name = labels.get("container", "")
        if name and (name not in found or math.isnan(found[name]) or value > found[name]):
            found[name] = value
    return found


def _believed(value: float | None, unit: Unit, what: str) -> tuple[float | None, str]:
    if value is None:
        return None, f"no {unit.name} {what}"
    if math.isnan(value) or not 0 <= value <= unit.ceiling:
        return None, f"{unit.name} {what} {value:g} ignored"
    return value, ""


def advise_resource(
    request: float | None, usage: float | None, headroom: float, replicas: int, unit: Unit
) -> ResourceAdvice:
    """The advice for one resource of one container."""
    request, request_note = _believed(request, unit, "request")
    usage, usage_note = _believed(usage, unit, "usage")
    note = "; ".join(n for n in (usage_note, request_note) if n)
    if usage is None:
        return ResourceAdvice(request=request, note=note)
    steps = math.ceil(usage * (1 + headroom) / unit.step - 1e-9)
    recommended = max(unit.floor, round(steps * unit.step, 9))  # whole steps, no float dust
    saved = None
    if request is not None:
        saved = round((request - recommended) * replicas * HOURS_PER_DAY / unit.per_hour, 3)
    return ResourceAdvice(
        request=request, usage=usage, recommended=recommended, saved_per_day=saved, note=note
    )


def advise(
    spec: Rightsizing,
    answers: Mapping[str, Mapping[str, float]],
    replicas: int,
    generation: int | None,
    now: datetime,
) -> RightsizingStatus:
    """The advice from the answers of `queries` (by name, then container)."""
    names = sorted({c for answer in answers.values() for c in answer})[:MAX_CONTAINERS]
    containers = [
        ContainerAdvice(
            name=name,
            cpu=_for(answers, name, "cpu", spec.headroom, replicas, CPU),
            memory=_for(answers, name, "memory", spec.headroom, replicas, MEMORY),
        )
        for name in names
    ]
    cores = round(sum(c.cpu.saved_per_day or 0 for c in containers), 3)
    gib = round(sum(c.memory.saved_per_day or 0 for c in containers), 3)
    prices = ((cores, spec.cost_per_cpu_core_hour), (gib, spec.cost_per_gib_hour))
    cost = None
    if any(price is not None for _, price in prices):
        cost = round(sum(amount * (price or 0) for amount, price in prices), 3)
    return RightsizingStatus(
        computed_at=format_time(now),
        observed_generation=generation,
        replicas=replicas,
        containers=containers,
        saved_core_hours_per_day=cores,
        saved_gib_hours_per_day=gib,
        saved_cost_per_day=cost,
    )


def _for(
    answers: Mapping[str, Mapping[str, float]],
    name: str,
    resource: str,
    headroom: float,
    replicas: int,
    unit: Unit,
) -> ResourceAdvice:
    request = answers.get(f"{resource}Requests", {}).get(name)
    usage = answers.get(f"{resource}Usage", {}).get(name)
    return advise_resource(request, usage, headroom, replicas, unit)


def failed(previous: RightsizingStatus | None, error: str) -> RightsizingStatus:
    """The previous advice (if any) kept, with why it could not be computed again."""
    return (previous or RightsizingStatus()).model_copy(update={"error": error})


def found_usage(advice: RightsizingStatus) -> bool:
    """Whether any container's usage was found: advice without any is no data yet."""
    return any(c.cpu.usage is not None or c.memory.usage is not None for c in advice.containers)


def due(
    spec: Rightsizing,
    advice: RightsizingStatus | None,
    generation: int | None,
    now: datetime,
    failed_at: datetime | None = None,
) -> bool:
    """Whether to query again: never before the retry of an attempt that failed or found
    no usage, otherwise when there is no advice, the spec changed or the recheckInterval
    has passed."""
    recheck = spec.recheck_interval.delta
    if failed_at is not None and now < failed_at + min(recheck, RETRY_AFTER):
        return False
    if advice is None or advice.error or not found_usage(advice) or advice.computed_at is None:
        return True
    if advice.observed_generation != generation:
        return True
    return now >= parse_time(advice.computed_at) + recheck


def record(
    status: ScalingPolicyStatus,
    advice: RightsizingStatus | None,
    generation: int | None,
    now: datetime,
) -> ScalingPolicyStatus:
    """The status with the advice and its condition (both removed when `advice` is None,
    the policy has no rightsizing block)."""
    if advice is None:
        if status.rightsizing is None:
            return status
        kept = [c for c in status.conditions if c.type != RIGHTSIZING_AVAILABLE]
        return status.model_copy(update={"rightsizing": None, "conditions": kept})
    if advice.error:
        state, reason, message = ConditionStatus.FALSE, "QueryFailed", advice.error
    elif not advice.containers:
        state, reason = ConditionStatus.FALSE, "NoData"
        message = "the queries returned no series with a container label for the target's pods"
    else:
        state, reason = ConditionStatus.TRUE, "AdviceComputed"
        message = (
            f"{len(advice.containers)} container(s) at {advice.replicas} replica(s): the "
            f"advice saves {advice.saved_core_hours_per_day:g} core-hours and "
            f"{advice.saved_gib_hours_per_day:g} GiB-hours per day"
        )
    conditions = merge_condition(
        status.conditions, RIGHTSIZING_AVAILABLE, state, reason, message, generation, now
    )
    return status.model_copy(update={"rightsizing": advice, "conditions": conditions})
