"""Adaptive bands in the engine (issue 16): a baseline that does not chase the anomaly,
warm-up, the deviation floor, zero variance under every comparison, and levels that can
be reached. Window statistics are computed here as Prometheus's subquery computes them
(mean and population standard deviation of the points in the window)."""

from __future__ import annotations

import math
import statistics
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from watchkeeper.api.adaptive import Adaptive, BandState
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.common import Severity
from watchkeeper.engine.bands import Window, band, summarize
from watchkeeper.engine.observations import adaptive_queries, observations

DEVIATIONS = [
    {"severity": "Warning", "value": 3},
    {"severity": "Critical", "value": 5},
    {"severity": "Emergency", "value": 8},
]


def adaptive(**fields: object) -> Adaptive:
    return Adaptive.model_validate(
        {"window": "1m", "step": "1s", "deviations": DEVIATIONS, **fields}
    )


def spec(comparison: str = "GreaterThan", **fields: object) -> AlertPolicySpec:
    return AlertPolicySpec.model_validate(
        {"query": "q", "comparison": comparison, "adaptive": adaptive(**fields).to_api()}
    )


def judge(band_spec: Adaptive, comparison: str, window: list[float], value: float):
    """The severity a band computed over `window` gives `value` (None: no breach)."""
    stats = Window(statistics.fmean(window), statistics.pstdev(window), len(window))
    levels = band(band_spec, comparison, stats).levels
    hit = levels.breach(value) if levels else None
    return hit[0] if hit else None


# --- The baseline window ends before the recent period -------------------------------


@pytest.mark.parametrize(
    ("fields", "offset"),
    [
        ({}, "60s"),  # default gap: as long as the window
        ({"baselineGap": "15s"}, "15s"),
        ({"baselineGap": "0s", "deviations": DEVIATIONS[:2]}, ""),  # the old, inside band
        ({"window": "1h", "step": "1m", "seasonality": "24h"}, "84600s"),  # centred 24h back
        ({"window": "1m", "step": "1s", "seasonality": "1h"}, "3570s"),
    ],
)
def test_the_window_ends_before_now(fields, offset):
    found = adaptive_queries("sum(rate(x[1m]))", adaptive(**fields))
    shift = f" offset {offset}" if offset else ""
    window = f"(sum(rate(x[1m])))[{fields.get('window', '1m')}:{fields.get('step', '1s')}]{shift}"
    assert found.baseline == f"avg_over_time({window})"
    assert found.sigma == f"stddev_over_time({window})"
    assert found.points == f"count_over_time({window})"


def _history(normal: int, spike: int) -> list[float]:
    """One point a second: `normal` seconds of 100 +/- 2, then `spike` seconds at 115."""
    return [100 + (2 if i % 2 else -2) for i in range(normal)] + [115.0] * spike


@pytest.mark.parametrize("spike", [1, 10, 30, 59])
def test_a_sustained_spike_does_not_raise_its_own_baseline(spike):
    """With the default gap (the window's length), the spike stays Critical (7.5 sigma) for
    as long as it is younger than the gap; judged inside its own window (gap 0s) it fades
    within seconds, and the alert clears with the value still at 115 (the issue's check)."""
    history = _history(180, spike)
    now = len(history) - 1
    gapped = adaptive()
    window = history[now - 60 - 59 : now - 60 + 1]  # 60 points ending 60 s before now
    assert judge(gapped, "GreaterThan", window, history[now]) == Severity.CRITICAL
    inside = adaptive(baselineGap="0s", deviations=DEVIATIONS[:2])
    own = history[now - 59 : now + 1]
    expected = Severity.CRITICAL if spike == 1 else None
    assert judge(inside, "GreaterThan", own, history[now]) == expected


@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200))
def test_inside_its_window_a_point_is_at_most_sqrt_n_minus_1_sigmas_away(window):
    """Samuelson's inequality, the bound the validation enforces when baselineGap is 0s."""
    sigma = statistics.pstdev(window)
    mean = statistics.fmean(window)
    bound = math.sqrt(len(window) - 1)
    assert all(abs(x - mean) <= bound * sigma * (1 + 1e-9) + 1e-6 for x in window)


# --- Warm-up ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "points", "state"),
    [
        ({}, 0, BandState.LEARNING),
        ({}, 29, BandState.LEARNING),  # default: half of window/step = 30
        ({}, 30, BandState.READY),
        ({"minPoints": 5}, 4, BandState.LEARNING),
        ({"minPoints": 5}, 5, BandState.READY),
        ({"window": "1h", "step": "1m"}, 29, BandState.LEARNING),
        ({"window": "1h", "step": "1m"}, 30, BandState.READY),
    ],
)
def test_a_series_learns_before_it_can_breach(fields, points, state):
    found = band(adaptive(**fields), "GreaterThan", Window(100.0, 2.0, points))
    assert found.state == state
    assert (found.levels is not None) == (state == BandState.READY)


def test_a_learning_series_cannot_breach_whatever_its_value():
    found = observations(spec(), [({"job": "new"}, 1e12)], points=[({"job": "new"}, 3.0)])
    [obs] = found
    assert obs.band is not None and obs.band.state == BandState.LEARNING
    assert obs.breach() is None
    assert obs.band.to_api() == {"state": "Learning", "points": 3, "thresholds": []}


def test_a_series_without_a_baseline_window_is_learning():
    [obs] = observations(spec(), [({"job": "new"}, 5.0)])
    assert obs.band is not None and obs.band.state == BandState.LEARNING
    assert obs.breach() is None


# --- The deviation floor ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("floor", "baseline", "sigma", "used"),
    [
        ({}, 100.0, 2.0, 2.0),  # real spread above the floor: untouched
        ({}, 100.0, 0.0001, 1.0),  # default: 1% of |baseline|
        ({}, -100.0, 0.0, 1.0),  # |baseline|
        ({"relative": 0.1}, 50.0, 0.0, 5.0),
        ({"absolute": 3.0}, 100.0, 0.5, 3.0),
        ({"absolute": 3.0, "relative": 0.05}, 100.0, 0.5, 5.0),
        ({"relative": 0.0}, 100.0, 0.5, 0.5),
    ],
)
def test_sigma_is_never_below_the_floor(floor, baseline, sigma, used):
    found = band(adaptive(sigmaFloor=floor), "GreaterThan", Window(baseline, sigma, 60))
    assert found.sigma_used == pytest.approx(used)
    assert found.levels is not None
    assert [t for _, t in found.levels.thresholds] == pytest.approx(
        [baseline + k * used for k in (3, 5, 8)]
    )


def test_the_floor_keeps_a_blip_on_a_flat_series_quiet():
    """sigma ~ 0: without the floor a blip of 0.01 on 50 was an Emergency."""
    flat = [50.0] * 60
    assert judge(adaptive(), "GreaterThan", flat, 50.01) is None
    assert judge(adaptive(), "GreaterThan", flat, 51.6) == Severity.WARNING  # 3 * 0.5 = 1.5
    assert judge(adaptive(), "GreaterThan", flat, 60.0) == Severity.EMERGENCY


# --- Zero variance under every comparison ------------------------------------------------

DIRECTED = ["GreaterThan", "GreaterOrEqual", "LessThan", "LessOrEqual"]


@pytest.mark.parametrize("comparison", DIRECTED)
@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (0.0, None),  # equal to a constant baseline is no deviation, even for >= / <=
        (0.01, None),  # a blip
        (1.5, Severity.WARNING),  # exactly k * sigma_used: breaches under >= / <= only
        (2.0, Severity.WARNING),
        (5.0, Severity.EMERGENCY),
    ],
)
def test_zero_variance(comparison, offset, expected):
    worse = 1.0 if comparison.startswith("Greater") else -1.0
    value = 50.0 + worse * offset
    if offset == 1.5 and not comparison.endswith("OrEqual"):
        expected = None
    assert judge(adaptive(), comparison, [50.0] * 60, value) == expected
    # and on the other side, nothing
    assert judge(adaptive(), comparison, [50.0] * 60, 50.0 - worse * offset) is None


@pytest.mark.parametrize("comparison", DIRECTED)
@pytest.mark.parametrize("value", [0.0, 1e-9, -1e-9, 1e9, -1e9])
def test_a_flat_zero_baseline_without_an_absolute_floor_cannot_breach(comparison, value):
    [obs] = observations(spec(comparison), [({}, value)], [({}, 0.0)], [({}, 0.0)], [({}, 60.0)])
    assert obs.breach() is None
    found = obs.band
    assert found is not None and found.state == BandState.FLAT and found.levels is None
    assert found.to_api() == {
        "state": "Flat",
        "points": 60,
        "baseline": 0.0,
        "sigma": 0.0,
        "sigmaUsed": 0.0,
        "thresholds": [],
    }


@pytest.mark.parametrize("comparison", DIRECTED)
def test_an_absolute_floor_lets_a_flat_zero_series_breach(comparison):
    worse = 1.0 if comparison.startswith("Greater") else -1.0
    floor = adaptive(sigmaFloor={"absolute": 0.01})
    assert judge(floor, comparison, [0.0] * 60, 0.0) is None
    assert judge(floor, comparison, [0.0] * 60, worse * 0.02) is None
    assert judge(floor, comparison, [0.0] * 60, worse * 0.06) == Severity.CRITICAL


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_baseline_that_is_not_a_number_is_flat(bad):
    assert band(adaptive(), "GreaterThan", Window(bad, 1.0, 60)).state == BandState.FLAT
    assert band(adaptive(), "GreaterThan", Window(1.0, bad, 60)).state == BandState.FLAT
    assert band(adaptive(), "GreaterThan", Window(1.0, None, 60)).state == BandState.FLAT


# --- Levels that can be reached -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "accepted"),
    [
        ({"baselineGap": "0s", "deviations": [{"severity": "Warning", "value": 7.7}]}, True),
        # 1m / 1s: at most 61 points (Prometheus 2 includes both ends): sqrt(60) = 7.75
        ({"baselineGap": "0s", "deviations": [{"severity": "Warning", "value": 7.8}]}, False),
        ({"baselineGap": "1s", "deviations": [{"severity": "Warning", "value": 100}]}, True),
        ({"deviations": [{"severity": "Warning", "value": 100}]}, True),  # default gap
        ({"window": "1h", "step": "10m", "baselineGap": "0s"}, False),  # 6 points: k <= 2.45
        ({"window": "1h", "step": "10m", "baselineGap": "0s", "deviations": DEVIATIONS[:1]}, False),
        (
            {
                "window": "1h",
                "step": "10m",
                "baselineGap": "0s",
                "deviations": [{"severity": "Warning", "value": 2.4}],
            },
            True,
        ),
        ({"minPoints": 60}, True),
        ({"minPoints": 61}, False),  # the window never holds that many
        ({"window": "2h", "step": "1m", "seasonality": "1h"}, False),
        ({"window": "1h", "step": "1m", "seasonality": "1h"}, True),
        ({"baselineGap": "1m", "seasonality": "24h"}, False),
    ],
)
def test_unreachable_settings_are_rejected(fields, accepted):
    if accepted:
        adaptive(**fields)
    else:
        with pytest.raises(ValidationError):
            adaptive(**fields)


def test_the_rejection_says_why():
    with pytest.raises(ValidationError, match=r"Warning 8 is unreachable.*sqrt\(window/step\)"):
        adaptive(baselineGap="0s", deviations=[{"severity": "Warning", "value": 8}])


# --- What the statuses show ----------------------------------------------------------------


def test_the_band_shows_baseline_sigma_and_a_threshold_per_level():
    found = band(adaptive(), "LessThan", Window(100.0, 2.0, 60))
    assert found.to_api() == {
        "state": "Ready",
        "points": 60,
        "baseline": 100.0,
        "sigma": 2.0,
        "sigmaUsed": 2.0,
        "thresholds": [
            {"severity": "Warning", "value": 94.0},
            {"severity": "Critical", "value": 90.0},
            {"severity": "Emergency", "value": 84.0},
        ],
    }


@pytest.mark.parametrize(
    ("comparison", "nearest"), [("GreaterThan", "high"), ("LessOrEqual", "low")]
)
def test_the_nearest_series_is_the_furthest_towards_the_comparison(comparison, nearest):
    policy = spec(comparison)
    series = [({"s": "high"}, 104.0), ({"s": "low"}, 97.0), ({"s": "new"}, 1e9)]
    windows = [({"s": "high"}, 100.0), ({"s": "low"}, 100.0)]
    sigmas = [({"s": "high"}, 2.0), ({"s": "low"}, 2.0)]
    counts = [({"s": "high"}, 60.0), ({"s": "low"}, 60.0), ({"s": "new"}, 2.0)]
    found = observations(policy, series, windows, sigmas, counts)
    summary = summarize([(o.labels, o.value, o.band) for o in found if o.band])
    assert (summary.series, summary.learning) == (3, 1)
    assert summary.nearest is not None
    shown = summary.nearest.to_api()
    assert shown["labels"] == {"s": nearest}
    assert shown["deviations"] == (2.0 if nearest == "high" else 1.5)


def test_a_policy_with_every_series_learning_has_no_nearest():
    summary = summarize(
        [(o.labels, o.value, o.band) for o in observations(spec(), [({}, 1.0)]) if o.band]
    )
    assert (summary.series, summary.learning, summary.nearest) == (1, 1, None)


def test_defaults_documented():
    found = adaptive()
    assert found.offset == timedelta(minutes=1)
    assert found.required_points == 30
    assert (found.sigma_floor.absolute, found.sigma_floor.relative) == (0.0, 0.01)
