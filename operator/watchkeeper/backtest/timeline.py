"""What the operator recorded: its `watchkeeper_alert` series (one sample per pending or
firing alert, like Prometheus's ALERTS) and transition counters, read back from a
Prometheus that scraped it, as per-policy timelines and statistics."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api.timestamps import format_time
from watchkeeper.prometheus.ranges import RangeData, RangeReader, from_millis

OWN = ("policy_namespace", "policy", "alert", "alertstate", "severity")


def matchers(namespace: str, policy: str | None) -> str:
    """PromQL label matchers for one namespace's policies (or one policy)."""
    found = f"policy_namespace={json.dumps(namespace)}"
    return found + (f",policy={json.dumps(policy)}" if policy else "")


@dataclass(frozen=True)
class Span:
    """One stretch of one alert in one state."""

    policy: str
    alert: str
    state: str
    severity: str
    labels: Mapping[str, str]
    start: datetime
    end: datetime
    open: bool  # still in that state at the end of the window


def spans_of(data: RangeData, step: timedelta, end: datetime) -> list[Span]:
    """Consecutive samples of the same alert and state merged into spans (a severity change
    inside a firing keeps the span and reports its highest severity)."""
    points: dict[tuple[str, str, str], list[tuple[int, Mapping[str, str]]]] = defaultdict(list)
    for ms, samples in data.values.items():
        for sample in samples:
            labels = sample.labels
            key = (labels.get("policy", ""), labels.get("alert", ""), labels.get("alertstate", ""))
            points[key].append((ms, labels))
    step_ms = step.total_seconds() * 1000
    last_ms = max(data.values) if data.values else 0
    found: list[Span] = []
    for (policy, alert, state), seen in points.items():
        seen.sort(key=lambda point: point[0])
        runs: list[list[tuple[int, Mapping[str, str]]]] = []
        for point in seen:
            if runs and point[0] - runs[-1][-1][0] <= step_ms * 1.5:
                runs[-1].append(point)
            else:
                runs.append([point])
        for run in runs:
            severities = [labels.get("severity", "") for _, labels in run]
            rank = ("Warning", "Critical", "Emergency")
            top = max(severities, key=lambda s: rank.index(s) if s in rank else -1)
            series = {k: v for k, v in run[0][1].items() if k not in OWN and k != "__name__"}
            still = run[-1][0] >= last_ms and from_millis(run[-1][0]) + step >= end
            finish = from_millis(run[-1][0]) + step
            found.append(
                Span(policy, alert, state, top, series, from_millis(run[0][0]), finish, still)
            )
    return sorted(found, key=lambda span: (span.start, span.alert))


def history_report(
    reader: RangeReader, namespace: str, policy: str | None, start: datetime, end: datetime
) -> dict[str, Any]:
    """Per policy: its firing and pending spans, and statistics, over [start, end]."""
    step = max(timedelta(seconds=1), (end - start) / 10_000)
    count = int((end - start) / step) + 1
    grid = [start + k * step for k in range(count)]
    where = matchers(namespace, policy)
    data = reader.fetch(f"watchkeeper_alert{{{where}}}", grid, step)
    window = f"{int((end - start).total_seconds())}s"
    counter = f'watchkeeper_alert_transitions_total{{{where},change="Firing"}}'
    # a counter series that appeared in the window counts from zero (increase() would
    # not count its first value)
    new = f"({counter} unless {counter} offset {window})"
    firings = f"sum by (policy) ((increase({counter}[{window}]) unless {new}) or {new})"
    counted = reader.fetch(firings, [end], step)
    spans = spans_of(data, step, end)
    by_policy: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_policy[span.policy].append(span)
    last = counted.values.get(max(counted.values, default=0), [])
    totals = {s.labels.get("policy", ""): s.value for s in last}
    policies = []
    for name in sorted(by_policy | dict.fromkeys(totals)):
        policies.append(_policy(name, by_policy.get(name, []), totals.get(name)))
    problems = [
        {"from": format_time(f.start), "to": format_time(f.end), "error": f.error}
        for f in [*data.failures, *counted.failures]
    ]
    return {
        "namespace": namespace,
        "window": {
            "from": format_time(start),
            "to": format_time(end),
            "step": f"{step.total_seconds():g}s",
        },
        "policies": policies,
        "failedQueries": problems,
    }


def _policy(name: str, spans: Sequence[Span], counted: float | None) -> dict[str, Any]:
    firing = [s for s in spans if s.state == "firing"]
    resolved = [(s.end - s.start).total_seconds() for s in firing if not s.open]
    return {
        "policy": name,
        "summary": {
            "fired": len(firing),
            "firedCountedByOperator": round(counted) if counted is not None else None,
            "firingSeconds": round(sum((s.end - s.start).total_seconds() for s in firing)),
            "stillFiring": sum(1 for s in firing if s.open),
            "meanTimeToResolveSeconds": round(sum(resolved) / len(resolved)) if resolved else None,
            "longestTimeToResolveSeconds": round(max(resolved)) if resolved else None,
        },
        "timeline": [
            {
                "from": format_time(s.start),
                "to": None if s.open else format_time(s.end),
                "state": s.state,
                "severity": s.severity,
                "alert": s.alert,
                "labels": dict(s.labels),
            }
            for s in spans
        ],
    }
