"""Severity levels of a series: which thresholds apply, and which one a value breaches.

Comparisons follow IEEE/Go float semantics, as PromQL's do: NaN breaches nothing except
NotEqual."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from watchkeeper.api.adaptive import Deviation
from watchkeeper.api.alertpolicy import Comparison, Threshold
from watchkeeper.api.common import Severity

_OPERATORS: dict[Comparison, Callable[[float, float], bool]] = {
    Comparison.GREATER_THAN: operator.gt,
    Comparison.GREATER_OR_EQUAL: operator.ge,
    Comparison.LESS_THAN: operator.lt,
    Comparison.LESS_OR_EQUAL: operator.le,
    Comparison.EQUAL: operator.eq,
    Comparison.NOT_EQUAL: operator.ne,
}

PROMQL_OPERATORS: dict[Comparison, str] = {
    Comparison.GREATER_THAN: ">",
    Comparison.GREATER_OR_EQUAL: ">=",
    Comparison.LESS_THAN: "<",
    Comparison.LESS_OR_EQUAL: "<=",
    Comparison.EQUAL: "==",
    Comparison.NOT_EQUAL: "!=",
}


@dataclass(frozen=True)
class Levels:
    """Thresholds of one series, lowest severity first."""

    comparison: Comparison
    thresholds: tuple[tuple[Severity, float], ...]

    def breach(self, value: float) -> tuple[Severity, float] | None:
        """The highest severity whose threshold `value` breaches, with that threshold."""
        compare = _OPERATORS[self.comparison]
        for severity, threshold in reversed(self.thresholds):
            if compare(value, threshold):
                return severity, threshold
        return None


def fixed_levels(comparison: str, thresholds: Sequence[Threshold]) -> Levels:
    """Levels from an AlertPolicy's fixed thresholds."""
    ordered = sorted(thresholds, key=lambda t: Severity(t.severity).rank)
    return Levels(Comparison(comparison), tuple((Severity(t.severity), t.value) for t in ordered))


def adaptive_levels(
    comparison: str, deviations: Sequence[Deviation], baseline: float, stddev: float
) -> Levels:
    """baseline +/- k*stddev per severity, on the side the comparison looks at."""
    kind = Comparison(comparison)
    sign = 1.0 if kind.ascending else -1.0
    ordered = sorted(deviations, key=lambda d: Severity(d.severity).rank)
    return Levels(
        kind, tuple((Severity(d.severity), baseline + sign * d.value * stddev) for d in ordered)
    )
