"""From Prometheus' answers to each metric's proposal, forecast and status.

A reading is usable when it has data, no NaN or infinity and nothing negative (the HPA would
scale a negative external metric down to minReplicas; we treat it as missing data, which
never scales down). Prometheus does the forecasting (``predict_linear`` over a subquery, see
:func:`forecast_query`); this module turns its answers into replica counts and keeps a
running mean absolute percentage error of the forecast made one horizon ago against the
value observed now.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from watchkeeper.api.scaling_behavior import Combine
from watchkeeper.api.scalingpolicy import (
    Metric,
    MetricPrediction,
    MetricStatus,
    MetricTarget,
    PredictiveMode,
    ScalingPolicySpec,
)

from .scaling import (
    Replicas,
    Share,
    Tolerance,
    UnknownReadyPods,
    replicas_for_metric,
    share_of,
    weighted_replicas,
)

# Past this many checks the mean weighs recent errors more (an exponential moving mean).
ERROR_MEMORY = 100


@dataclass(frozen=True)
class Reading:
    """What Prometheus returned for one query: the series' values, or why nothing."""

    values: tuple[float, ...] = ()
    error: str = ""
    rejected: bool = False  # Prometheus refused the PromQL itself

    def problem(self) -> str:
        """Why these values cannot be used; empty when they can."""
        if self.error:
            return self.error
        if not self.values:
            return "the query returned no data"
        if any(math.isnan(v) for v in self.values):
            return "the query returned NaN"
        if any(math.isinf(v) for v in self.values):
            return "the query returned an infinite value"
        negative = min(self.values)
        if negative < 0:
            return f"the query returned a negative value ({negative:g}), which is never used"
        return ""

    @property
    def total(self) -> float | None:
        """The sum of the series, when it can be used."""
        return None if self.problem() else math.fsum(self.values)


@dataclass(frozen=True)
class Forecast:
    """The two predict_linear answers for one metric."""

    ahead: Reading  # evaluated now: the value one horizon ahead
    past: Reading  # evaluated one horizon ago: the forecast for now


def forecast_query(query: str, lookback: timedelta, horizon: timedelta, step: timedelta) -> str:
    """PromQL forecasting `query` one horizon ahead from a fit over `lookback`."""
    return (
        f"predict_linear(({query})[{_promql_duration(lookback)}:{_promql_duration(step)}], "
        f"{horizon.total_seconds():g})"
    )


def _promql_duration(span: timedelta) -> str:
    return f"{max(1, round(span.total_seconds() * 1000))}ms"


def predict(
    target: MetricTarget,
    forecast: Forecast,
    actual: float | None,
    previous: MetricPrediction | None,
    replicas: Replicas,
    tolerance: Tolerance,
) -> MetricPrediction:
    """The forecast's recommendation and the updated error of past forecasts."""
    mean = previous.mean_absolute_percentage_error if previous else None
    checked = previous.checked_forecasts if previous else 0
    past = forecast.past.total
    if past is not None and actual:  # a zero actual value has no percentage error
        error = abs(actual - past) / abs(actual) * 100
        checked += 1
        mean = error if mean is None else mean + (error - mean) / min(checked, ERROR_MEMORY)
    ahead = forecast.ahead.total
    proposed, problem = None, forecast.ahead.problem()
    if ahead is not None:
        proposed, problem = _proposal(target, forecast.ahead.values, replicas, tolerance)
    return MetricPrediction(
        value=ahead,
        proposed_replicas=proposed,
        error=problem,
        mean_absolute_percentage_error=None if mean is None else round(mean, 3),
        checked_forecasts=checked,
    )


def forecast_proposal(predictions: Sequence[tuple[str, MetricPrediction]]) -> tuple[int, str]:
    """The highest replica count any forecast asks for, and which metric asks it."""
    best, name = 0, ""
    for metric, prediction in predictions:
        if prediction.proposed_replicas is not None and prediction.proposed_replicas > best:
            best, name = prediction.proposed_replicas, metric
    return best, name


@dataclass(frozen=True)
class Proposal:
    """What one metric asks for; replicas None when it could not be read."""

    name: str
    replicas: int | None
    problem: str
    rejected: bool
    share: Share | None = None  # with combine: WeightedAverage
    weight: float = 1.0


def _proposal(
    target: MetricTarget, values: Sequence[float], replicas: Replicas, tolerance: Tolerance
) -> tuple[int | None, str]:
    try:
        return replicas_for_metric(target, values, replicas, tolerance), ""
    except UnknownReadyPods as unknown:
        return None, f"the ready pods could not be counted: {unknown}"


def _share(metric: Metric, values: Sequence[float], replicas: Replicas) -> tuple[Share | None, str]:
    try:
        return share_of(metric.target, values, replicas), ""
    except UnknownReadyPods as unknown:
        return None, f"the ready pods could not be counted: {unknown}"


def combine(
    how: Combine, proposals: Sequence[Proposal], current: int, tolerance: Tolerance
) -> tuple[int, str]:
    """The replica count the readable metrics ask for together, and what names it: Max,
    the first metric asking the most (the HPA's rule); WeightedAverage, their weighted
    usage ratios and replica counts before rounding."""
    if how == Combine.WEIGHTED_AVERAGE:
        shares = [(p.share, p.weight) for p in proposals if p.share is not None]
        if not shares:
            return 0, ""
        names = ", ".join(p.name for p in proposals if p.share is not None)
        return weighted_replicas(shares, current, tolerance), f"the weighted average of {names}"
    desired, name = 0, ""
    for proposal in proposals:
        if proposal.replicas is not None and proposal.replicas > desired:
            desired, name = proposal.replicas, f"metric {proposal.name}"
    return desired, name


def _prediction(
    spec: ScalingPolicySpec,
    metric: Metric,
    forecast: Forecast | None,
    actual: float | None,
    previous: MetricStatus | None,
    counts: tuple[Replicas, Tolerance],
) -> MetricPrediction | None:
    if not spec.predictive or spec.predictive.mode == PredictiveMode.OFF or forecast is None:
        return None
    old = previous.prediction if previous else None
    return predict(metric.target, forecast, actual, old, *counts)


def assess(
    spec: ScalingPolicySpec,
    readings: Mapping[str, Reading],
    forecasts: Mapping[str, Forecast],
    previous: Sequence[MetricStatus],
    replicas: Replicas,
    tolerance: Tolerance,
) -> tuple[list[Proposal], list[MetricStatus]]:
    """Each metric's proposal and its status (with its forecast when predictive is on)."""
    before = {m.name: m for m in previous}
    proposals, statuses = [], []
    for metric in spec.metrics:
        reading = readings.get(metric.name, Reading(error="not queried"))
        proposed, problem, share = None, reading.problem(), None
        if not problem:
            proposed, problem = _proposal(metric.target, reading.values, replicas, tolerance)
        if not problem and spec.combine == Combine.WEIGHTED_AVERAGE:
            share, problem = _share(metric, reading.values, replicas)
            proposed = None if share is None else proposed
        weight = 1.0 if metric.weight is None else metric.weight
        proposals.append(Proposal(metric.name, proposed, problem, reading.rejected, share, weight))
        statuses.append(
            MetricStatus(
                name=metric.name,
                value=reading.total,
                target=metric.target.value,
                proposed_replicas=proposed,
                error=problem,
                prediction=_prediction(
                    spec,
                    metric,
                    forecasts.get(metric.name),
                    reading.total,
                    before.get(metric.name),
                    (replicas, tolerance),
                ),
            )
        )
    return proposals, statuses
