"""Adaptive bands: from what Prometheus computed over a series' baseline window (mean,
standard deviation, number of points) to the levels that judge the series, and which
series of a policy is nearest to breaching.

A band cannot judge a series while its window holds fewer than `minPoints` points
(Learning), nor when sigma, raised to the deviation floor, is 0 or not a number (Flat):
such a series has no levels, so it cannot breach under any comparison."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.api.adaptive import Adaptive, BandState
from watchkeeper.api.alertpolicy import Comparison
from watchkeeper.engine.levels import Levels, adaptive_levels


@dataclass(frozen=True)
class Window:
    """What Prometheus returned for one series' baseline window (None: no point in it)."""

    baseline: float | None = None
    sigma: float | None = None
    points: int = 0


@dataclass(frozen=True)
class Band:
    """One series' band at one evaluation; `levels` is None unless the band is Ready."""

    state: BandState
    window: Window
    sigma_used: float | None
    levels: Levels | None

    def deviations(self, value: float) -> float | None:
        """How many sigma_used `value` is from the baseline, towards the comparison (the
        worse side is positive); None unless Ready."""
        if self.levels is None or self.sigma_used is None or self.window.baseline is None:
            return None
        sign = 1.0 if Comparison(self.levels.comparison).ascending else -1.0
        return sign * (value - self.window.baseline) / self.sigma_used

    def to_api(self) -> dict[str, Any]:
        """The band as `status.band` (Alert) and `status.nearest` (policy) show it."""
        thresholds = self.levels.thresholds if self.levels else ()
        found = {
            "state": self.state.value,
            "points": self.window.points,
            "baseline": _finite(self.window.baseline),
            "sigma": _finite(self.window.sigma),
            "sigmaUsed": _finite(self.sigma_used),
            "thresholds": [
                {"severity": severity.value, "value": value}
                for severity, value in thresholds
                if math.isfinite(value)
            ],
        }
        return {k: v for k, v in found.items() if v is not None}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def sigma_used(adaptive: Adaptive, baseline: float, sigma: float) -> float:
    """sigma raised to the deviation floor: max(sigma, absolute, relative * |baseline|)."""
    floor = adaptive.sigma_floor
    return max(sigma, floor.absolute, floor.relative * abs(baseline))


def band(adaptive: Adaptive, comparison: str, window: Window) -> Band:
    """The band of one series from its baseline window."""
    if window.points < adaptive.required_points or window.baseline is None:
        return Band(BandState.LEARNING, window, None, None)
    baseline, sigma = window.baseline, window.sigma if window.sigma is not None else math.nan
    used = sigma_used(adaptive, baseline, sigma) if math.isfinite(baseline) else math.nan
    if not (math.isfinite(used) and used > 0):
        return Band(BandState.FLAT, window, used, None)
    levels = adaptive_levels(comparison, adaptive.deviations, baseline, used)
    return Band(BandState.READY, window, used, levels)


@dataclass(frozen=True)
class Nearest:
    """The series nearest to breaching: its labels, value and band."""

    labels: Mapping[str, str]
    value: float
    band: Band

    def to_api(self) -> dict[str, Any]:
        deviations = self.band.deviations(self.value)
        found = {
            **self.band.to_api(),
            "labels": dict(self.labels),
            "value": _finite(self.value),
            "deviations": None if deviations is None else round(deviations, 6),
        }
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class BandSummary:
    """An adaptive policy's bands at one evaluation: how many series are still learning, of
    how many, and the series nearest to breaching."""

    series: int
    learning: int
    nearest: Nearest | None


def summarize(series: Sequence[tuple[Mapping[str, str], float, Band]]) -> BandSummary:
    """Count the Learning bands and find, of the Ready ones, the series furthest towards
    the comparison (in sigma_used)."""
    scored = [
        (score, Nearest(labels, value, found))
        for labels, value, found in series
        if (score := found.deviations(value)) is not None and math.isfinite(score)
    ]
    learning = sum(found.state == BandState.LEARNING for _, _, found in series)
    top = max(scored, key=lambda pair: pair[0])[1] if scored else None
    return BandSummary(len(series), learning, top)
