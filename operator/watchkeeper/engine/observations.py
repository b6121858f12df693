"""From query results to observations: drop the metric name as Prometheus does for
alerts, refuse label sets that collide once it is dropped, and attach the levels (fixed,
or an adaptive band per series)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence

from watchkeeper.api.alertpolicy import Adaptive, AlertPolicySpec
from watchkeeper.engine.alerts import Observation, SeriesKey, series_key
from watchkeeper.engine.levels import Levels, adaptive_levels, fixed_levels

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


def adaptive_queries(query: str, adaptive: Adaptive) -> tuple[str, str]:
    """The baseline and standard-deviation queries of an adaptive band."""
    window = f"({query})[{adaptive.window}:{adaptive.step}]"
    return f"avg_over_time({window})", f"stddev_over_time({window})"


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
    stddev: Sequence[Series] = (),
) -> list[Observation]:
    """One observation per series; with an adaptive band, series without a baseline or a
    standard deviation yet get no levels (they cannot breach).

    Raises :class:`DuplicateSeries` when two series of one result share a label set once
    the metric name is dropped."""
    found = by_key(series)
    if spec.thresholds is not None:
        levels = fixed_levels(spec.comparison, spec.thresholds)
        return [Observation(labels, value, levels) for labels, value in found.values()]
    if spec.adaptive is None:
        raise ValueError("a policy has thresholds or an adaptive band")
    baselines, deviations = by_key(baseline), by_key(stddev)
    result = []
    for key, (labels, value) in found.items():
        band: Levels | None = None
        if key in baselines and key in deviations:
            band = adaptive_levels(
                spec.comparison, spec.adaptive.deviations, baselines[key][1], deviations[key][1]
            )
        result.append(Observation(labels, value, band))
    return result
