"""Right-sizing advice in a backtest: the operator's own queries (engine.rightsizing),
read at the window's end with a range query of that one instant, as the backtest reads
everything, and the same engine's advice at the replica count the replay ends with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.engine.rightsizing import MIB, advise, by_container, failed, queries
from watchkeeper.prometheus.ranges import RangeReader

Answers = dict[str, dict[str, float]]
AdviceHistory = Callable[[ScalingPolicySpec, str, datetime], tuple[Answers, str]]
"""What the policy's right-sizing queries answered at an instant, by query and container,
and why some failed ("" when none did): rightsizing_answers bound to a reader."""


def rightsizing_answers(
    reader: RangeReader, spec: ScalingPolicySpec, namespace: str, at: datetime
) -> tuple[Answers, str]:
    """The answers of the policy's right-sizing queries at `at`."""
    if spec.rightsizing is None:
        return {}, ""
    answers: Answers = {}
    errors = []
    for name, expr in queries(spec.rightsizing, namespace, spec.target_ref).items():
        data = reader.fetch(expr, [at], spec.rightsizing.resolution.delta)
        samples = data.at(at)
        if samples is None:
            errors.append(f"query {name}: " + "; ".join(f.error for f in data.failures))
        else:
            answers[name] = by_container((s.labels, s.value) for s in samples)
    return answers, "; ".join(errors)


def rightsizing_advice(
    spec: ScalingPolicySpec, history: AdviceHistory, namespace: str, at: datetime, replicas: int
) -> dict[str, Any] | None:
    """The advice the operator would have put in status at `at`, as plain data."""
    if spec.rightsizing is None:
        return None
    answers, error = history(spec, namespace, at)
    if error:
        return failed(None, error).to_api()
    return advise(spec.rightsizing, answers, replicas, None, at).to_api()


def _amount(value: float | None, memory: bool) -> str:
    if value is None:
        return "-"
    return f"{value / MIB:g}Mi" if memory else f"{value:g}"


def _line(name: str, resource: str, advice: Mapping[str, Any]) -> str:
    memory = resource == "memory"
    parts = [
        f"  {name}  {resource:<7} request {_amount(advice.get('request'), memory)}",
        f"usage {_amount(advice.get('usage'), memory)}",
        f"recommended {_amount(advice.get('recommended'), memory)}",
    ]
    saved = advice.get("savedPerDay")
    if saved is not None:
        parts.append(f"saves {saved:g} {'GiB' if memory else 'core'}-hours/day")
    if advice.get("note"):
        parts.append(f"({advice['note']})")
    return "  ".join(parts)


def rightsizing_text(advice: Mapping[str, Any] | None) -> list[str]:
    """The advice for a terminal (no lines when the policy has no rightsizing block)."""
    if advice is None:
        return []
    if advice.get("error"):
        return ["", f"Right-sizing advice: not computed: {advice['error']}"]
    lines = ["", f"Right-sizing advice at {advice.get('replicas')} replicas:"]
    containers = advice.get("containers") or []
    width = max((len(c["name"]) for c in containers), default=0)
    for container in containers:
        name = container["name"].ljust(width)
        lines += [_line(name, r, container[r]) for r in ("cpu", "memory")]
    if not containers:
        lines.append("  (no series with a container label for the target's pods)")
    total = (
        f"  in all: {advice['savedCoreHoursPerDay']:g} core-hours and "
        f"{advice['savedGiBHoursPerDay']:g} GiB-hours per day"
    )
    cost = advice.get("savedCostPerDay")
    lines.append(total + (f", cost {cost:g} per day" if cost is not None else ""))
    return lines
