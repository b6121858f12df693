"""What Prometheus held for a policy's queries, on the policy's own evaluation grid.

The grid is the scheduler's: the policy's interval, shifted by the same stable offset
(engine.schedule, keyed as the runtime keys it), so a replay evaluates at the very
instants the live operator did."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.scalingpolicy import PredictiveMode, ScalingPolicySpec
from watchkeeper.backtest.alerts import Answer
from watchkeeper.backtest.scaling import ScalingAnswer
from watchkeeper.engine.observations import Series, adaptive_queries
from watchkeeper.engine.scaling_metrics import Forecast, Reading, forecast_query
from watchkeeper.engine.schedule import next_due, offset_of
from watchkeeper.prometheus.ranges import RangeData, RangeFailure, RangeReader

TINY = timedelta(microseconds=1)


def evaluation_grid(
    start: datetime, end: datetime, interval: timedelta, offset_key: str
) -> list[datetime]:
    """The instants in [start, end] on the grid epoch + offset_of(offset_key) + k*interval."""
    offset = offset_of(offset_key, interval)
    instants = []
    due = next_due(start - TINY, interval, offset)
    while due <= end:
        instants.append(due)
        due = next_due(due, interval, offset)
    return instants


def _series(data: RangeData, at: datetime) -> list[Series] | None:
    samples = data.at(at)
    return None if samples is None else [(s.labels, s.value) for s in samples]


def alert_answers(
    reader: RangeReader, spec: AlertPolicySpec, grid: Sequence[datetime]
) -> tuple[list[Answer], list[RangeFailure]]:
    """The answers of the policy's query (and adaptive band queries) at each instant."""
    step = spec.evaluation_interval.delta
    exprs = [spec.query]
    if spec.adaptive is not None:
        band = adaptive_queries(spec.query, spec.adaptive)
        exprs += [band.baseline, band.sigma, band.points]
    fetched = [reader.fetch(expr, grid, step) for expr in exprs]
    failures = [f for data in fetched for f in data.failures]
    answers = []
    for at in grid:
        found = [_series(data, at) for data in fetched]
        if any(part is None for part in found):
            error = "; ".join(
                f.error for data in fetched for f in data.failures if f.start <= at <= f.end
            )
            answers.append(Answer(at, None, error=error))
            continue
        main, *extra = [part or [] for part in found]
        baseline, sigma, points = extra or ([], [], [])
        answers.append(Answer(at, main, baseline, sigma, points))
    return answers, failures


def _reading(data: RangeData, at: datetime) -> Reading:
    """A metric at one instant as the live scaling evaluation reads it."""
    samples = data.at(at)
    if samples is None:
        return Reading(error="; ".join(f.error for f in data.failures if f.start <= at <= f.end))
    return Reading(values=tuple(s.value for s in samples))


def scaling_answers(
    reader: RangeReader, spec: ScalingPolicySpec, grid: Sequence[datetime]
) -> tuple[list[ScalingAnswer], list[RangeFailure]]:
    """Each metric's reading, with predictive on its forecasts, and the cost query's
    answer, at each instant."""
    step = spec.evaluation_interval.delta
    metrics = {m.name: reader.fetch(m.query, grid, step) for m in spec.metrics}
    fetched = list(metrics.values())
    cost_query = spec.cost.query if spec.cost else None
    cost = reader.fetch(cost_query, grid, step) if cost_query else None
    fetched += [cost] if cost else []
    predictive = spec.predictive
    ahead: dict[str, RangeData] = {}
    past: dict[str, RangeData] = {}
    horizon = predictive.horizon.delta if predictive is not None else timedelta(0)
    if predictive is not None and predictive.mode != PredictiveMode.OFF:
        for m in spec.metrics:
            expr = forecast_query(m.query, predictive.lookback.delta, horizon, step)
            ahead[m.name] = reader.fetch(expr, grid, step)
            past[m.name] = reader.fetch(expr, [at - horizon for at in grid], step)
        fetched += [*ahead.values(), *past.values()]
    answers = []
    for at in grid:
        readings = {name: _reading(data, at) for name, data in metrics.items()}
        forecasts = {
            name: Forecast(_reading(ahead[name], at), _reading(past[name], at - horizon))
            for name in ahead
        }
        costs = _reading(cost, at) if cost else None
        answers.append(ScalingAnswer(at, readings, forecasts, costs))
    return answers, [f for data in fetched for f in data.failures]
