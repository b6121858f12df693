"""`--plot`: a replay as a PNG (matplotlib's object API, no display needed). For an
AlertPolicy: each series, the thresholds (or the adaptive band), pending and firing spans
shaded. For a ScalingPolicy: each metric against its target, the replicas on a second
axis."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.figure import Figure

from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.api.timestamps import parse_time
from watchkeeper.backtest.alerts import AlertReplay, Answer
from watchkeeper.backtest.scaling import ScalingAnswer, ScalingReplay

SIZE, DPI = (10, 4), 100
"""1000 x 400 pixels."""
COLOURS = {"Warning": "orange", "Critical": "red", "Emergency": "darkred"}


def _x(at: datetime) -> float:
    """A time as matplotlib's date number."""
    return float(date2num(at))  # type: ignore[no-untyped-call]


def _key(labels: object) -> str:
    items = sorted(dict(labels).items())  # type: ignore[call-overload]
    return ", ".join(f"{k}={v}" for k, v in items) or "value"


def alert_plot(
    path: Path, title: str, spec: AlertPolicySpec, answers: Sequence[Answer], replay: AlertReplay
) -> None:
    figure, axes = _canvas()
    lines: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    bands: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    lowest = min((d.value for d in spec.adaptive.deviations), default=0) if spec.adaptive else 0
    for answer in answers:
        sigmas = {_key(labels): value for labels, value in answer.sigma}
        for labels, value in answer.series or []:
            times, values = lines[_key(labels)]
            times.append(_x(answer.at))
            values.append(value)
        for labels, baseline in answer.baseline:
            sigma = sigmas.get(_key(labels))
            if sigma is not None:
                band = lowest * sigma
                bands[_key(labels)].append((_x(answer.at), baseline - band, baseline + band))
    for name, (times, values) in sorted(lines.items()):
        axes.plot(times, values, linewidth=1, label=name)
    for points in bands.values():
        axes.fill_between(
            [p[0] for p in points], [p[1] for p in points], [p[2] for p in points], alpha=0.15
        )
    for threshold in spec.thresholds or []:
        if threshold.value is not None:
            colour = COLOURS.get(threshold.severity, "grey")
            axes.axhline(threshold.value, color=colour, linestyle="--", linewidth=1)
    end = answers[-1].at if answers else None
    opened: dict[tuple[str, str], datetime] = {}
    for row in replay.transitions:
        if row.change == "Pending":
            opened[(row.alert, "Pending")] = row.at
        elif row.change in ("Firing", "PendingCleared"):
            start = opened.pop((row.alert, "Pending"), None)
            if start is not None:
                axes.axvspan(_x(start), _x(row.at), color="gold", alpha=0.2)
            if row.change == "Firing":
                opened[(row.alert, "Firing")] = row.at
        elif row.change == "Resolved":
            start = opened.pop((row.alert, "Firing"), None)
            if start is not None:
                axes.axvspan(_x(start), _x(row.at), color="red", alpha=0.15)
    for (_, state), start in opened.items():
        if end is not None:
            axes.axvspan(
                _x(start), _x(end), color="red" if state == "Firing" else "gold", alpha=0.15
            )
    _finish(figure, axes, title, path)


def scaling_plot(
    path: Path,
    title: str,
    spec: ScalingPolicySpec,
    answers: Sequence[ScalingAnswer],
    replay: ScalingReplay,
) -> None:
    figure, axes = _canvas()
    # each instant's metric was read with the replicas the previous instant left
    counts = [count for _, count in replay.timeline]
    replicas = {
        at: (counts[i - 1] if i else counts[0]) for i, (at, _) in enumerate(replay.timeline)
    }
    for metric in spec.metrics:
        per_replica = metric.target.type == "AverageValue"
        times: list[float] = []
        values: list[float] = []
        for answer in answers:
            total = answer.readings[metric.name].total
            count = replicas.get(answer.at)
            if total is None or not count:
                continue
            times.append(_x(answer.at))
            values.append(total / count if per_replica else total)
        unit = " per replica" if per_replica else ""
        line = axes.plot(times, values, linewidth=1, label=f"{metric.name}{unit}")
        axes.axhline(metric.target.value, color=line[0].get_color(), linestyle="--", linewidth=1)
    second = axes.twinx()
    second.step(
        [_x(at) for at, _ in replay.timeline],
        [count for _, count in replay.timeline],
        where="post",
        color="black",
        linewidth=1.5,
        label="replicas",
    )
    second.set_ylabel("replicas")
    second.set_ylim(0, spec.max_replicas + 1)
    _finish(figure, axes, title, path)


def _canvas() -> tuple[Figure, Axes]:
    """A figure of its own (no pyplot state, no display): rendered by Agg on save."""
    figure = Figure(figsize=SIZE, dpi=DPI)
    return figure, figure.subplots()


def _finish(figure: Figure, axes: Axes, title: str, path: Path) -> None:
    axes.xaxis_date()
    axes.set_title(title)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path)


def history_plot(path: Path, report: dict[str, Any]) -> None:
    """One row per alert: its pending (yellow) and firing (by severity) spans."""
    figure, axes = _canvas()
    end = parse_time(report["window"]["to"])
    rows: list[str] = []
    for policy in report["policies"]:
        for span in policy["timeline"]:
            row = f"{policy['policy']} {span['alert']}"
            if row not in rows:
                rows.append(row)
            start, until = parse_time(span["from"]), parse_time(span["to"]) if span["to"] else end
            colour = COLOURS.get(span["severity"], "grey") if span["state"] == "firing" else "gold"
            width = _x(until) - _x(start)
            axes.broken_barh([(_x(start), width)], (rows.index(row) - 0.4, 0.8), color=colour)
    axes.set_yticks(range(len(rows)), rows, fontsize="small")
    axes.set_xlim(_x(parse_time(report["window"]["from"])), _x(end))
    _finish(figure, axes, f"Alert history of namespace {report['namespace']}", path)
