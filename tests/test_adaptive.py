"""End to end on the real Prometheus (issue 16): an adaptive band learns, ignores noise and
a blip on a constant series, holds a sustained spike while the spike is younger than the
gap, and resolves when the value returns. Every expectation is computed from PromQL this
test sends itself, at the instant the operator says it evaluated."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.alerting import alerts, apply, policy, policy_condition, states
from tests.waiting import eventually, get_object
from watchkeeper.api.adaptive import Adaptive
from watchkeeper.engine.observations import adaptive_queries

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRIC = "wk_adaptive_e2e"
NOISY, FLAT = {"series": "noisy"}, {"series": "flat"}
GAP, WINDOW, STEP, MIN_POINTS = "30s", "1m", "1s", 20
DEVIATIONS = {"Warning": 3.0, "Critical": 6.0}
RELATIVE_FLOOR = 0.01  # the documented default


def _band(comparison: str, selector: str) -> dict[str, Any]:
    body = policy(
        f"band-{comparison.lower()}",
        f"{METRIC}{selector}",
        comparison=comparison,
        adaptive={
            "window": WINDOW,
            "step": STEP,
            "baselineGap": GAP,
            "minPoints": MIN_POINTS,
            "deviations": [{"severity": s, "value": k} for s, k in DEVIATIONS.items()],
        },
    )
    del body["spec"]["thresholds"]
    return body


def _instant(prometheus, expr: str, at: str) -> dict[str, float]:
    """`expr` at the RFC 3339 instant `at`, by series label, as the operator would see it."""
    moment = datetime.fromisoformat(at).timestamp()
    response = httpx.get(
        f"{prometheus.url}/api/v1/query", params={"query": expr, "time": f"{moment:.3f}"}
    )
    result = response.json()["data"]["result"]
    return {r["metric"].get("series", ""): float(r["value"][1]) for r in result}


def _expected_band(prometheus, series: str, at: str) -> dict[str, Any]:
    """The band at `at`, from this test's own PromQL: the window ends GAP before `at`."""
    window = f"{METRIC}[{WINDOW}:{STEP}] offset {GAP}"
    baseline = _instant(prometheus, f"avg_over_time({window})", at)[series]
    sigma = _instant(prometheus, f"stddev_over_time({window})", at)[series]
    points = _instant(prometheus, f"count_over_time({window})", at)[series]
    used = max(sigma, RELATIVE_FLOOR * abs(baseline))
    return {
        "points": points,
        "baseline": baseline,
        "sigma": sigma,
        "sigmaUsed": used,
        "thresholds": {s: baseline + k * used for s, k in DEVIATIONS.items()},
    }


def _severity(value: float, band: dict[str, Any], comparison: str = "GreaterThan") -> str | None:
    hits = [
        s
        for s, threshold in band["thresholds"].items()
        if (value > threshold if comparison == "GreaterThan" else value >= threshold)
    ]
    return hits[-1] if hits else None


def _assert_shown(shown: dict[str, Any], expected: dict[str, Any]) -> None:
    assert shown["state"] == "Ready"
    assert shown["points"] == expected["points"]
    for field in ("baseline", "sigma", "sigmaUsed"):
        assert shown[field] == pytest.approx(expected[field], rel=1e-9, abs=1e-12), field
    thresholds = {t["severity"]: t["value"] for t in shown["thresholds"]}
    assert thresholds == pytest.approx(expected["thresholds"], rel=1e-9)


class Noise:
    """The noisy series: 100 +/- 2 (uniform), a new value every 0.3 s, or a fixed level."""

    def __init__(self, exporter) -> None:
        self.exporter = exporter
        self.level: float | None = None
        self.stop = threading.Event()
        self.random = random.Random(16)

    def run(self) -> None:
        while not self.stop.is_set():
            value = self.level if self.level is not None else self.random.uniform(98, 102)
            self.exporter.set(METRIC, value, NOISY)
            self.stop.wait(0.3)


@pytest.fixture
def noise(exporter) -> Iterator[Noise]:
    driver = Noise(exporter)
    thread = threading.Thread(target=driver.run, name="noise", daemon=True)
    thread.start()
    try:
        yield driver
    finally:
        driver.stop.set()
        thread.join()


def _status(custom_objects, namespace: str, name: str) -> dict[str, Any]:
    return get_object(custom_objects, "alertpolicies", namespace, name).get("status") or {}


def test_learn_ignore_noise_hold_a_spike_and_resolve(
    operator, prometheus, kubeconfig, namespace, custom_objects, exporter, noise
):
    exporter.set(METRIC, 50, FLAT)
    apply(
        kubeconfig, namespace, _band("GreaterThan", ""), _band("GreaterOrEqual", '{series="flat"}')
    )
    anomaly, flat = "band-greaterthan", "band-greaterorequal"

    # Learning: no history in the baseline window yet, so nothing can breach.
    condition = policy_condition(custom_objects, namespace, anomaly, "Learning")
    assert condition["status"] == "True"
    assert _status(custom_objects, namespace, anomaly)["learning"] == 2

    # Learned: both windows hold MIN_POINTS points; the band shown is the test's own.
    policy_condition(custom_objects, namespace, flat, "QuerySucceeded", timeout=120)
    policy_condition(custom_objects, namespace, anomaly, "QuerySucceeded", timeout=30)
    status = _status(custom_objects, namespace, flat)
    assert status["learning"] == 0
    nearest = status["nearest"]
    expected = _expected_band(prometheus, "flat", status["lastEvaluation"]["time"])
    assert (expected["baseline"], expected["sigma"]) == (50, 0)  # zero variance
    _assert_shown(nearest, expected)
    assert nearest["labels"]["series"] == "flat" and nearest["value"] == 50
    assert nearest["deviations"] == 0

    # Noise, a constant series at its baseline (50 >= 50 with sigma 0) and a blip of 0.01
    # on it: no alert from either policy. The nearest band moves with every noisy value,
    # yet the policy is not rewritten at each evaluation (at most once per heartbeat).
    eventually(lambda: _status(custom_objects, namespace, anomaly), lambda s: s["learning"] == 0)
    version = get_object(custom_objects, "alertpolicies", namespace, anomaly)["metadata"]
    time.sleep(5)
    again = get_object(custom_objects, "alertpolicies", namespace, anomaly)["metadata"]
    assert again["resourceVersion"] == version["resourceVersion"]
    exporter.set(METRIC, 50.01, FLAT)
    time.sleep(4)
    exporter.set(METRIC, 50, FLAT)
    assert alerts(custom_objects, namespace, anomaly) == []
    assert alerts(custom_objects, namespace, flat) == []

    # A sustained spike: Critical at once, and still Critical while it is younger than the
    # gap, although a window that held the spike would no longer call it an anomaly.
    noise.level = 115.0
    started = time.monotonic()
    [alert] = eventually(
        lambda: alerts(custom_objects, namespace, anomaly), lambda a: len(a) == 1, timeout=20
    )
    alert = eventually(
        lambda: alerts(custom_objects, namespace, anomaly)[0],
        lambda a: a["status"]["state"] == "Firing",
        timeout=10,
    )
    shown = alert["status"]
    expected = _expected_band(prometheus, "noisy", shown["lastEvaluationTime"])
    _assert_shown(shown["band"], expected)
    assert shown["severity"] == _severity(shown["value"], expected) == "Critical"
    assert shown["threshold"] == pytest.approx(expected["thresholds"]["Critical"], rel=1e-9)
    while time.monotonic() - started < 24:
        assert states(custom_objects, namespace, anomaly) == [("Firing", "Critical")]
        time.sleep(1)
    inside = f"{METRIC}{{series='noisy'}}[{WINDOW}:{STEP}]"
    now = datetime.now().astimezone().isoformat()
    mean = _instant(prometheus, f"avg_over_time({inside})", now)["noisy"]
    sigma = _instant(prometheus, f"stddev_over_time({inside})", now)["noisy"]
    assert (115 - mean) / sigma < DEVIATIONS["Warning"]  # the old band had let it go

    # Back to normal: resolved, and the band it resolved under is the test's own.
    noise.level = None
    alert = eventually(
        lambda: alerts(custom_objects, namespace, anomaly)[0],
        lambda a: a["status"]["state"] == "Resolved",
        timeout=20,
    )
    shown = alert["status"]
    expected = _expected_band(prometheus, "noisy", shown["lastEvaluationTime"])
    _assert_shown(shown["band"], expected)
    assert _severity(shown["value"], expected) is None
    assert alerts(custom_objects, namespace, flat) == []


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"baselineGap": "0s", "deviations": [{"severity": "Warning", "value": 3}]},
        {"baselineGap": "1500ms"},
        {"window": "1h", "step": "1m", "seasonality": "24h"},
        {"window": "1m30s", "step": "1s", "seasonality": "1h"},  # offset 3555s
        {"window": "1m1s", "step": "1s", "seasonality": "1h"},  # offset 3569500ms
    ],
)
def test_prometheus_takes_the_band_queries(prometheus, exporter, fields):
    """The operator's own three queries, as built for each kind of window, are PromQL the
    real Prometheus evaluates (a rejected one would fail every evaluation)."""
    band = Adaptive.model_validate(
        {"window": "1m", "step": "1s", "deviations": [{"severity": "Warning", "value": 3}]} | fields
    )
    exporter.set(METRIC, 1, FLAT)
    queries = adaptive_queries(f'sum by (series) ({METRIC}{{series="flat"}})', band)
    for expr in (queries.baseline, queries.sigma, queries.points):
        assert isinstance(prometheus.query(expr), list), expr
