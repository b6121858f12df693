"""A scaling replay as a report: plain data and its text rendering."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.api.timestamps import format_time
from watchkeeper.backtest.report import problems_text, spoken
from watchkeeper.backtest.rightsizing import rightsizing_text
from watchkeeper.backtest.scaling import ScalingReplay
from watchkeeper.prometheus.ranges import RangeFailure


def scaling_report(
    header: dict[str, Any],
    spec: ScalingPolicySpec,
    replay: ScalingReplay,
    failures: Sequence[RangeFailure],
    end: datetime,
) -> dict[str, Any]:
    """The report of one ScalingPolicy replay, as plain data. Each instant's replica count
    holds until the next instant (the last until the window's end)."""
    held: list[tuple[int, float]] = []
    for (at, replicas), (until, _) in zip(
        replay.timeline, [*replay.timeline[1:], (end, 0)], strict=True
    ):
        held.append((replicas, max((until - at).total_seconds(), 0.0)))
    at_min = sum(s for r, s in held if r <= spec.min_replicas)
    at_max = sum(s for r, s in held if r >= spec.max_replicas)
    summary = {
        "evaluations": len(replay.timeline),
        "scaleEvents": len(replay.events),
        "scaleUps": sum(1 for e in replay.events if e.after > e.before),
        "scaleDowns": sum(1 for e in replay.events if e.after < e.before),
        "secondsAtMin": round(at_min),
        "secondsAtMax": round(at_max),
        "replicaHours": round(sum(r * s for r, s in held) / 3600, 3),
        "finalReplicas": replay.timeline[-1][1] if replay.timeline else None,
    }
    return {
        **header,
        "summary": summary,
        "scaleEvents": [
            {"time": format_time(e.at), "from": e.before, "to": e.after, "reason": e.reason}
            for e in replay.events
        ],
        "events": [
            {"time": format_time(n.at), "type": n.type, "reason": n.reason, "message": n.message}
            for n in replay.notes
        ],
        "dataProblems": {
            "noData": [],
            "failedQueries": [
                {"from": format_time(f.start), "to": format_time(f.end), "error": f.error}
                for f in failures
            ],
        },
    }


def scaling_text(report: dict[str, Any]) -> str:
    """The report for a terminal."""
    s, w = report["summary"], report["window"]
    lines = [
        f"ScalingPolicy {report['namespace']}/{report['name']}",
        f"  window {w['from']} .. {w['to']}, every {w['interval']}: {s['evaluations']} evaluations,"
        f" starting at {w['replicas']} replicas",
        "",
        "Replica timeline:",
    ]
    for e in report["scaleEvents"]:
        lines.append(f"  {e['time']}  {e['from']:>3} -> {e['to']:<3} {e['reason']}")
    if not report["scaleEvents"]:
        lines.append("  (no scale events)")
    if report["events"]:
        lines += ["", "Events:"]
        lines += [
            f"  {e['time']}  {e['type']:<7} {e['reason']}: {e['message']}" for e in report["events"]
        ]
    lines += [
        "",
        "Summary:",
        f"  {s['scaleEvents']} scale events ({s['scaleUps']} up, {s['scaleDowns']} down),"
        f" ending at {s['finalReplicas']} replicas",
        f"  at min for {spoken(s['secondsAtMin'])}, at max for {spoken(s['secondsAtMax'])}",
        f"  replica-hours: {s['replicaHours']:g}",
    ]
    lines += rightsizing_text(report.get("rightsizing"))
    lines += problems_text(report["dataProblems"])
    return "\n".join(lines) + "\n"
