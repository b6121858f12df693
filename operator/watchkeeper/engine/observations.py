"""From query results to observations: drop the metric name as Prometheus does for
alerts, refuse label sets that collide once it is dropped, and attach the levels (fixed,
or an adaptive band per series), with the PromQL that computes an adaptive band."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from watchkeeper.api.adaptive import Adaptive
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.engine.alerts import Observation, SeriesKey, series_key
from watchkeeper.engine.bands import Window, band
from watchkeeper.engine.levels import fixed_levels

Series = tuple[Mapping[str, str], float]
METRIC_NAME = "__name__"
_SHOWN = 3


class DuplicateSeries(ValueError):
    """Several series of one result share a label set once the metric name is dropped.

    Prometheus refuses to evaluate such an alerting rule ("vector contains metrics with the
    same labelset after applying alert labels"), and so does the engine: the evaluation
    fails as a whole, like a failed query. `label_sets` lists each colliding label set once.
    """

    reason = "DuplicateSeries"

    def __init__(self, label_sets: Sequence[Mapping[str, str]]) -> None:
        self.label_sets = tuple(dict(labels) for labels in label_sets)
        shown = ", ".join(_format_labels(labels) for labels in self.label_sets[:_SHOWN])
        more = len(self.label_sets) - _SHOWN
        super().__init__(
            f"the query returns several series with the same labels once the metric name is "
            f"dropped: {shown}{f' and {more} more' if more > 0 else ''}; keep the name as a "
            "label (label_replace) or aggregate them"
        )


def _format_labels(labels: Mapping[str, str]) -> str:
    """A label set as PromQL writes it, e.g. ``{job="api", path="/"}``."""
    pairs = (f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items()))
    return "{" + ", ".join(pairs) + "}"


def alert_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """A series' labels without the metric name."""
    return {k: v for k, v in labels.items() if k != METRIC_NAME}


@dataclass(frozen=True)
class AdaptiveQueries:
    """The PromQL of an adaptive band: mean, standard deviation and number of points of the
    query over the baseline window, which ends `adaptive.offset` before the evaluation."""

    baseline: str
    sigma: str
    points: str


def adaptive_queries(query: str, adaptive: Adaptive) -> AdaptiveQueries:
    """The band's three queries; the window is `[window:step]`, shifted by `offset`."""
    shift = promql_duration(adaptive.offset)
    window = f"({query})[{adaptive.window}:{adaptive.step}]" + (f" offset {shift}" if shift else "")
    return AdaptiveQueries(
        f"avg_over_time({window})", f"stddev_over_time({window})", f"count_over_time({window})"
    )


def promql_duration(delta: timedelta) -> str:
    """A non-negative duration in PromQL's notation (``90s``, ``1500ms``); "" for zero."""
    millis = delta // timedelta(milliseconds=1)
    if millis <= 0:
        return ""
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def by_key(series: Sequence[Series]) -> dict[SeriesKey, tuple[dict[str, str], float]]:
    """Each series' labels (without the metric name) and value, by label set, in order.

    Raises :class:`DuplicateSeries` when two series share a label set."""
    cleaned = [(alert_labels(labels), value) for labels, value in series]
    keyed = {series_key(labels): (labels, value) for labels, value in cleaned}
    if len(keyed) < len(cleaned):
        counts = Counter(series_key(labels) for labels, _ in cleaned)
        raise DuplicateSeries([keyed[key][0] for key, n in counts.items() if n > 1])
    return keyed


def observations(
    spec: AlertPolicySpec,
    series: Sequence[Series],
    baseline: Sequence[Series] = (),
    sigma: Sequence[Series] = (),
    points: Sequence[Series] = (),
) -> list[Observation]:
    """One observation per series. With an adaptive band, each series carries its band, and
    only a Ready band gives it levels: a series without enough points in its baseline
    window (Learning) or with a band of no width (Flat) cannot breach.

    Raises :class:`DuplicateSeries` when two series of one result share a label set once
    the metric name is dropped."""
    found = by_key(series)
    if spec.thresholds is not None:
        levels = fixed_levels(spec.comparison, spec.thresholds)
        return [Observation(labels, value, levels) for labels, value in found.values()]
    if spec.adaptive is None:
        raise ValueError("a policy has thresholds or an adaptive band")
    baselines, sigmas, counts = by_key(baseline), by_key(sigma), by_key(points)
    result = []
    for key, (labels, value) in found.items():
        window = Window(
            baselines[key][1] if key in baselines else None,
            sigmas[key][1] if key in sigmas else None,
            int(counts[key][1]) if key in counts and math.isfinite(counts[key][1]) else 0,
        )
        judged = band(spec.adaptive, spec.comparison, window)
        result.append(Observation(labels, value, judged.levels, band=judged))
    return result
