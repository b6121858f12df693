"""Range queries for the command line (backtest, history): synchronous, through
prometheus-api-client, on an exact grid, split so no request asks Prometheus for more than
its 11,000 points per series. A chunk that fails is reported with its span and error,
never hidden; the operator itself uses the async client in client.py for instant queries.

Instants are kept in milliseconds, as Prometheus keeps them: a range query at
start + k*step returns exactly what instant queries at those instants return (the live
client sends `time` with millisecond precision too)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException

from watchkeeper.prometheus.client import Sample

MAX_POINTS = 11_000
"""Prometheus refuses a range query with more points per series than this."""

Progress = Callable[[str, int, int], None]
"""Called with (expression, chunks done, chunks in all) after each request."""


def to_millis(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class RangeFailure:
    """A span of the grid whose query failed."""

    start: datetime
    end: datetime
    error: str


@dataclass
class RangeData:
    """The answers of one expression on a grid: series by instant (ms), failed spans."""

    expr: str
    values: dict[int, list[Sample]] = field(default_factory=dict)
    failures: list[RangeFailure] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)

    def at(self, instant: datetime) -> list[Sample] | None:
        """The series at `instant` ([] when none), or None when its query failed."""
        ms = to_millis(instant)
        if ms in self.failed:
            return None
        return self.values.get(ms, [])


def chunks(start_ms: int, count: int, step_ms: int, limit: int = MAX_POINTS) -> list[list[int]]:
    """The grid start + k*step (k < count) cut into runs of at most `limit` instants."""
    instants = [start_ms + k * step_ms for k in range(count)]
    return [instants[i : i + limit] for i in range(0, len(instants), limit)]


class RangeReader:
    """Range queries against one Prometheus."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        progress: Progress | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._client = PrometheusConnect(url=self.url, headers=dict(headers or {}))
        self._timeout = timeout
        self._progress = progress

    def fetch(
        self,
        expr: str,
        grid: Sequence[datetime],
        step: timedelta,
    ) -> RangeData:
        """`expr` at every instant of `grid` (start + k*step), in as few requests as fit."""
        data = RangeData(expr)
        if not grid:
            return data
        step_ms = round(step.total_seconds() * 1000)
        runs = chunks(to_millis(grid[0]), len(grid), step_ms)
        for done, run in enumerate(runs, start=1):
            try:
                for series in self._query(expr, run[0], run[-1], step_ms):
                    labels = MappingProxyType(dict(series.get("metric") or {}))
                    for ts, value in series.get("values") or []:
                        sample = Sample(labels, float(value))
                        data.values.setdefault(round(float(ts) * 1000), []).append(sample)
            except (PrometheusApiClientException, requests.RequestException, ValueError) as error:
                start, end = from_millis(run[0]), from_millis(run[-1])
                data.failures.append(RangeFailure(start, end, _describe(error)))
                data.failed.update(run)
            if self._progress is not None:
                self._progress(expr, done, len(runs))
        return data

    def _query(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> list[dict]:  # type: ignore[type-arg]
        # the client rounds datetimes to whole seconds; the grid has milliseconds
        params = {
            "start": f"{start_ms / 1000:.3f}",
            "end": f"{end_ms / 1000:.3f}",
            "step": f"{step_ms / 1000:.3f}",
        }
        moment = from_millis(start_ms)
        result = self._client.custom_query_range(
            expr, moment, moment, params["step"], params=params, timeout=self._timeout
        )
        return list(result or [])


MAX_ERROR = 300


def _describe(error: Exception) -> str:
    """A failed request in one line, without the request's URL or headers."""
    if isinstance(error, requests.RequestException):
        return f"Prometheus unreachable: {type(error).__name__}"
    return str(error)[:MAX_ERROR]
