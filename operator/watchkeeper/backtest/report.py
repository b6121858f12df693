"""A replay as a report: plain data (for -o json / -o yaml) and its text rendering."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api.alert import Outcome
from watchkeeper.api.timestamps import format_time
from watchkeeper.backtest.alerts import AlertReplay
from watchkeeper.backtest.delivery import Outlets
from watchkeeper.prometheus.ranges import RangeFailure

PAGING_EVENTS = frozenset({"Firing", "Repeat"})
"""Notifications that interrupt someone: a new firing, a repeat, an escalation step."""


def spoken(seconds: float) -> str:
    """A duration as `1h2m3s` (whole seconds)."""
    left = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    if left or not parts:
        parts.append(f"{left}s")
    return "".join(parts)


def spans(instants: Sequence[datetime], step: timedelta) -> list[tuple[datetime, datetime]]:
    """Consecutive grid instants merged into [first, last] spans."""
    result: list[tuple[datetime, datetime]] = []
    for at in instants:
        if result and at - result[-1][1] <= step * 1.5:
            result[-1] = (result[-1][0], at)
        else:
            result.append((at, at))
    return result


def firing_spans(replay: AlertReplay, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """Each firing of each alert: (alert, firing since, resolved or the window's end)."""
    open_: dict[str, datetime] = {}
    found = []
    for row in replay.transitions:
        if row.change == "Firing":
            open_[row.alert] = row.at
        elif row.change == "Resolved" and row.alert in open_:
            found.append((row.alert, open_.pop(row.alert), row.at))
    found += [(alert, since, end) for alert, since in open_.items()]
    return sorted(found, key=lambda span: span[1])


def alert_report(
    header: dict[str, Any],
    replay: AlertReplay,
    outlets: Outlets,
    failures: Sequence[RangeFailure],
    start: datetime,
    end: datetime,
    step: timedelta,
) -> dict[str, Any]:
    """The report of one AlertPolicy replay, as plain data."""
    firing = firing_spans(replay, end)
    lengths = [(until - since).total_seconds() for _, since, until in firing]
    days = max((end - start).total_seconds() / 86400, 1e-9)
    pages = [
        d
        for d in outlets.deliveries
        if d.outcome == Outcome.DELIVERED and str(d.event) in PAGING_EVENTS
    ]
    per_channel = Counter((d.channel, str(d.event), str(d.outcome)) for d in outlets.deliveries)
    summary: dict[str, Any] = {
        "evaluations": replay.instants,
        "fired": sum(1 for row in replay.transitions if row.change == "Firing"),
        "firingSeconds": round(sum(lengths)),
        "stillFiring": sum(1 for _, _, until in firing if until == end),
        "pagesPerDay": round(len(pages) / days, 2),
        "longestFiringSeconds": round(max(lengths)) if lengths else None,
        "shortestFiringSeconds": round(min(lengths)) if lengths else None,
        "notifications": [
            {"channel": c, "event": e, "outcome": o, "count": n}
            for (c, e, o), n in sorted(per_channel.items())
        ],
    }
    return {
        **header,
        "summary": summary,
        "transitions": [
            {
                "time": format_time(row.at),
                "alert": row.alert,
                "labels": dict(row.labels),
                "change": row.change,
                "severity": row.severity,
                "previousSeverity": row.previous_severity,
                "value": row.value,
            }
            for row in replay.transitions
        ],
        "notifications": [
            {
                "time": format_time(d.at),
                "channel": d.channel,
                "event": str(d.event),
                "alert": d.alert,
                "severity": d.severity,
                "outcome": str(d.outcome),
                "reason": d.reason,
                "escalationStep": d.step + 1 if d.step is not None else None,
            }
            for d in outlets.deliveries
        ],
        "escalations": [
            {
                "time": format_time(e.at),
                "alert": e.alert,
                "step": e.step,
                "run": e.run,
                "channels": list(e.channels),
            }
            for e in outlets.escalations
        ],
        "dataProblems": {
            "noData": [
                {"from": format_time(a), "to": format_time(b)}
                for a, b in spans(replay.no_data, step)
            ],
            "failedQueries": [
                {"from": format_time(f.start), "to": format_time(f.end), "error": f.error}
                for f in failures
            ],
            "channelsWithoutManifest": sorted(outlets.unknown_channels),
        },
    }


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def alert_text(report: dict[str, Any]) -> str:
    """The report for a terminal."""
    s = report["summary"]
    w = report["window"]
    lines = [
        f"AlertPolicy {report['namespace']}/{report['name']}",
        f"  window {w['from']} .. {w['to']}, every {w['interval']}: {s['evaluations']} evaluations",
        "",
        "Transitions:",
    ]
    for t in report["transitions"]:
        severity = t["severity"] or ""
        if t["previousSeverity"]:
            severity = f"{t['previousSeverity']} -> {severity}"
        value = "" if t["value"] is None else f" value={t['value']:g}"
        lines.append(
            f"  {t['time']}  {t['change']:<15} {severity:<19} {_labels(t['labels'])}{value}"
        )
    if not report["transitions"]:
        lines.append("  (none)")
    lines += ["", "Notifications:"]
    for n in report["notifications"]:
        step = f" (escalation step {n['escalationStep']})" if n["escalationStep"] else ""
        why = f": {n['reason']}" if n["reason"] else ""
        lines.append(
            f"  {n['time']}  {n['channel']:<20} {n['event']:<15} {n['outcome']}{step}{why}"
        )
    if not report["notifications"]:
        lines.append("  (none)")
    if report["escalations"]:
        lines += ["", "Escalation steps:"]
        for e in report["escalations"]:
            channels = ", ".join(e["channels"]) or "no channels"
            lines.append(f"  {e['time']}  step {e['step']} (run {e['run']}) -> {channels}")
    longest, shortest = s["longestFiringSeconds"], s["shortestFiringSeconds"]
    lines += [
        "",
        "Summary:",
        f"  fired {s['fired']} times, firing for {spoken(s['firingSeconds'])} in all"
        + (f" ({s['stillFiring']} still firing at the end)" if s["stillFiring"] else ""),
        f"  pages per day: {s['pagesPerDay']:g}",
    ]
    if longest is not None:
        lines.append(f"  longest firing {spoken(longest)}, shortest {spoken(shortest)}")
    lines += problems_text(report["dataProblems"])
    return "\n".join(lines) + "\n"


def problems_text(problems: dict[str, Any]) -> list[str]:
    lines = []
    for span in problems["noData"]:
        lines.append(f"  no data {span['from']} .. {span['to']}")
    for failed in problems.get("failedQueries", []):
        lines.append(f"  query failed {failed['from']} .. {failed['to']}: {failed['error']}")
    for channel in problems.get("channelsWithoutManifest", []):
        lines.append(
            f"  channel {channel}: no NotificationChannel given, so no filter or rate limit"
        )
    return ["", "Data problems:", *lines] if lines else []
