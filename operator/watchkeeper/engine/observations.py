"""From query results to observations: drop the metric name as Prometheus does for
alerts, and attach the levels (fixed, or an adaptive band per series)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from watchkeeper.api.alertpolicy import Adaptive, AlertPolicySpec
from watchkeeper.engine.alerts import Observation, SeriesKey, series_key
from watchkeeper.engine.levels import Levels, adaptive_levels, fixed_levels

Series = tuple[Mapping[str, str], float]
METRIC_NAME = "__name__"


def alert_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """A series' labels without the metric name."""
    return {k: v for k, v in labels.items() if k != METRIC_NAME}


def adaptive_queries(query: str, adaptive: Adaptive) -> tuple[str, str]:
    """The baseline and standard-deviation queries of an adaptive band."""
    window = f"({query})[{adaptive.window}:{adaptive.step}]"
    return f"avg_over_time({window})", f"stddev_over_time({window})"


def by_key(series: Sequence[Series]) -> dict[SeriesKey, float]:
    return {series_key(alert_labels(labels)): value for labels, value in series}


def observations(
    spec: AlertPolicySpec,
    series: Sequence[Series],
    baseline: Sequence[Series] = (),
    stddev: Sequence[Series] = (),
) -> list[Observation]:
    """One observation per series; with an adaptive band, series without a baseline or a
    standard deviation yet get no levels (they cannot breach)."""
    if spec.thresholds is not None:
        levels = fixed_levels(spec.comparison, spec.thresholds)
        return [Observation(alert_labels(labels), value, levels) for labels, value in series]
    if spec.adaptive is None:
        raise ValueError("a policy has thresholds or an adaptive band")
    baselines, deviations = by_key(baseline), by_key(stddev)
    found = []
    for labels, value in series:
        clean = alert_labels(labels)
        key = series_key(clean)
        band: Levels | None = None
        if key in baselines and key in deviations:
            band = adaptive_levels(
                spec.comparison, spec.adaptive.deviations, baselines[key], deviations[key]
            )
        found.append(Observation(clean, value, band))
    return found
