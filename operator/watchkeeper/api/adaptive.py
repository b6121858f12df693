"""The adaptive band of an AlertPolicy: a baseline window that ends before the recent
period (or one season back), warm-up, the deviation floor, the checks that keep every level
reachable, and the band's values as the statuses show them."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, model_validator

from .common import Between, Duration, Severity, WatchkeeperModel, cel

LIST_MAP_BY_SEVERITY: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["severity"],
}

_STEP_IN_WINDOW = "duration(self.step) < duration(self.window)"
_STEP_IN_WINDOW_MESSAGE = "step must be shorter than window"


class Deviation(WatchkeeperModel):
    """How many standard deviations from the baseline reach a severity."""

    severity: Severity = Field(description="Warning, Critical or Emergency.")
    value: float = Field(gt=0, le=100, description="k in baseline +/- k*sigma.")


class SigmaFloor(WatchkeeperModel):
    """The deviation floor: sigma is never taken below max(absolute, relative*|baseline|),
    so a flat baseline (sigma near 0) does not turn noise into an Emergency."""

    absolute: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="In the query's unit."
    )
    relative: float = Field(
        default=0.01, ge=0, le=1, description="A fraction of |baseline| (0.01 = 1%)."
    )


class BandState(StrEnum):
    """Whether a series' adaptive band can judge it."""

    LEARNING = "Learning"  # fewer than minPoints points in the baseline window
    FLAT = "Flat"  # sigma after the floor is 0 or not a number: the band has no width
    READY = "Ready"


def samples_in_window(window: timedelta, step: timedelta) -> int:
    """Points a `[window:step]` subquery surely has once the history covers it: Prometheus 2
    takes aligned instants in [t-window, t], Prometheus 3 in (t-window, t]; either way at
    least floor(window/step), at most one more."""
    return window // step


def unreachable_deviation(adaptive: Adaptive) -> Deviation | None:
    """With no gap the judged point is inside its own window, and |x - mean| <= sigma *
    sqrt(n-1) (Samuelson): a k with k*k > floor(window/step) can never be reached."""
    if adaptive.baseline_gap is None or adaptive.baseline_gap.delta > timedelta(0):
        return None
    most = samples_in_window(adaptive.window.delta, adaptive.step.delta)
    return next((d for d in adaptive.deviations if d.value * d.value > most), None)


_MS = "duration(self.{}).getMilliseconds()"
_POINTS = f"({_MS.format('window')} / {_MS.format('step')})"
_MIN_POINTS_REACHABLE = f"!has(self.minPoints) || self.minPoints <= {_POINTS}"
_MIN_POINTS_MESSAGE = "minPoints must be at most window/step, the points the window holds"
_SEASON_HOLDS_WINDOW = (
    "!has(self.seasonality) || duration(self.window) <= duration(self.seasonality)"
)
_SEASON_MESSAGE = "window must not be longer than seasonality (it is centred one season back)"
_REACHABLE = (
    "!has(self.baselineGap) || duration(self.baselineGap) > duration('0s') || "
    f"self.deviations.all(d, d.value * d.value <= double{_POINTS})"
)
_REACHABLE_MESSAGE = (
    "with baselineGap 0s the judged point is inside its window, where no point is more than "
    "sqrt(window/step) sigmas from the mean: a deviation above that can never be reached"
)


class Adaptive(WatchkeeperModel):
    """An adaptive band: baseline +/- k*sigma of the query over a baseline window that ends
    before the recent period, computed by Prometheus."""

    at_most_one_of = (("baseline_gap", "seasonality"),)
    cel_rules = (
        cel(_STEP_IN_WINDOW, _STEP_IN_WINDOW_MESSAGE, ".step"),
        cel(_MIN_POINTS_REACHABLE, _MIN_POINTS_MESSAGE, ".minPoints"),
        cel(_SEASON_HOLDS_WINDOW, _SEASON_MESSAGE, ".seasonality"),
        cel(_REACHABLE, _REACHABLE_MESSAGE, ".deviations"),
    )

    window: Annotated[Duration, Between("1m", "168h")] = Field(
        description="How long the baseline window is, e.g. 1h."
    )
    step: Annotated[Duration, Between("1s", "1h")] = Field(
        default=Duration("1m"),
        description="Subquery resolution within the window, shorter than it.",
    )
    baseline_gap: Annotated[Duration, Between("0s", "168h")] | None = Field(
        default=None,
        description="How long before now the baseline window ends, so that a sustained "
        "anomaly does not raise its own baseline; default: as long as the window. 0s puts "
        "the judged point inside its window.",
    )
    seasonality: Annotated[Duration, Between("1h", "168h")] | None = Field(
        default=None,
        description="Compare with the same time one season earlier (24h: daily shape, 168h: "
        "weekly): the window is centred on now minus this; excludes baselineGap.",
    )
    min_points: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="Points the baseline window must hold before a series can breach "
        "(it is Learning until then); default: half of window/step.",
    )
    sigma_floor: SigmaFloor = Field(
        default_factory=SigmaFloor,
        description="The deviation floor (default: 1% of |baseline|, no absolute floor).",
    )
    deviations: list[Deviation] = Field(
        min_length=1,
        max_length=3,
        description="k per severity, strictly increasing with severity.",
        json_schema_extra=LIST_MAP_BY_SEVERITY,
    )

    @property
    def required_points(self) -> int:
        """minPoints, or half the points the window holds (rounded up)."""
        if self.min_points is not None:
            return self.min_points
        return -(-samples_in_window(self.window.delta, self.step.delta) // 2)

    @property
    def offset(self) -> timedelta:
        """How far before now the baseline window ends."""
        if self.seasonality is not None:
            return self.seasonality.delta - self.window.delta / 2
        return self.window.delta if self.baseline_gap is None else self.baseline_gap.delta

    @model_validator(mode="after")
    def _check_band(self) -> Adaptive:
        window, step = self.window.delta, self.step.delta
        if step >= window:
            raise ValueError(_STEP_IN_WINDOW_MESSAGE)
        if self.min_points is not None and self.min_points > samples_in_window(window, step):
            raise ValueError(_MIN_POINTS_MESSAGE)
        if self.seasonality is not None and window > self.seasonality.delta:
            raise ValueError(_SEASON_MESSAGE)
        unreachable = unreachable_deviation(self)
        if unreachable is not None:
            raise ValueError(
                f"deviations: {unreachable.severity} {unreachable.value:g} is unreachable: "
                + _REACHABLE_MESSAGE
            )
        return self


class BandThreshold(WatchkeeperModel):
    """Where one severity of an adaptive band starts."""

    severity: Severity = Field(description="Warning, Critical or Emergency.")
    value: float = Field(description="baseline +/- k*sigma, on the comparison's side.")


class BandStatus(WatchkeeperModel):
    """An adaptive band's current values for one series, at the last evaluation written."""

    state: BandState = Field(
        description="Learning (fewer than minPoints points in the baseline window: cannot "
        "breach yet), Flat (sigma after the floor is 0: cannot breach) or Ready."
    )
    points: int = Field(default=0, description="Points in the baseline window.")
    baseline: float | None = Field(default=None, description="avg_over_time of the window.")
    sigma: float | None = Field(default=None, description="stddev_over_time of the window.")
    sigma_used: float | None = Field(
        default=None, description="sigma raised to the deviation floor, the unit of k."
    )
    thresholds: list[BandThreshold] = Field(
        default_factory=list,
        max_length=3,
        description="Threshold per severity (Ready only).",
        json_schema_extra=LIST_MAP_BY_SEVERITY,
    )


class NearestBand(BandStatus):
    """The series of an adaptive policy nearest to breaching."""

    labels: dict[str, str] = Field(default_factory=dict, description="Its labels.")
    value: float | None = Field(default=None, description="Its value.")
    deviations: float | None = Field(
        default=None,
        description="How many sigmaUsed it is from the baseline, towards the comparison.",
    )
