"""Side by side with Prometheus: a real Prometheus evaluates the alerting rule
`(<query>) > 5` with `for` and `keep_firing_for`; the same evaluation instants and the
same data (recorded by the same rule group) are fed to our state machine, and the
pending/firing timeline of every series must be identical."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper.api.alertpolicy import ErrorState, NoDataState, Threshold
from watchkeeper.api.common import Severity
from watchkeeper.engine.alerts import Observation, Rules, evaluate
from watchkeeper.engine.levels import fixed_levels

pytestmark = pytest.mark.prometheus

FOR, KEEP = 3, 2
RULES = {
    "groups": [
        {
            "name": "parity",
            "interval": "1s",
            "rules": [
                {"record": "wk_parity_eval", "expr": "vector(1)"},
                {"record": "wk_parity_seen", "expr": "wk_parity_value"},
                {
                    "alert": "WkParity",
                    "expr": "wk_parity_value > 5",
                    "for": f"{FOR}s",
                    "keep_firing_for": f"{KEEP}s",
                },
            ],
        }
    ]
}
# (seconds to hold, value of pod a, value of pod b; None removes the series)
SCRIPT = [
    (3, 1, 1),
    (2, 7, 7),
    (2, 1, 7),
    (5, 7, 7),
    (1, 1, 7),
    (2, 7, None),
    (4, 1, 7),
    (6, 7, 1),
    (1, 1, 7),
    (1, 7, 1),
    (5, 1, 1),
]


def _samples(prometheus, expr: str, seconds: int) -> list[dict]:
    return prometheus.query(f"{expr}[{seconds}s]")


def _prometheus_timeline(prometheus, seconds: int) -> dict[str, dict[float, str]]:
    timeline: dict[str, dict[float, str]] = defaultdict(dict)
    for series in _samples(prometheus, 'ALERTS{alertname="WkParity"}', seconds):
        state = series["metric"]["alertstate"].capitalize()
        for ts, _ in series["values"]:
            timeline[series["metric"]["pod"]][float(ts)] = state
    return timeline


def _our_timeline(prometheus, seconds: int) -> tuple[list[float], dict[str, dict[float, str]]]:
    instants = sorted(
        float(ts) for ts, _ in _samples(prometheus, "wk_parity_eval", seconds)[0]["values"]
    )
    seen: dict[float, list[tuple[dict, float]]] = defaultdict(list)
    for series in _samples(prometheus, "wk_parity_seen", seconds):
        labels = {k: v for k, v in series["metric"].items() if k != "__name__"}
        for ts, value in series["values"]:
            seen[float(ts)].append((labels, float(value)))
    levels = fixed_levels("GreaterThan", [Threshold(severity="Critical", value=5)])
    rules = Rules(
        timedelta(seconds=FOR),
        timedelta(seconds=KEEP),
        NoDataState.OK,
        ErrorState.KEEP_STATE,
        (Severity.CRITICAL, 5),
    )
    instances: dict = {}
    timeline: dict[str, dict[float, str]] = defaultdict(dict)
    for ts in instants:
        observed = [Observation(labels, value, levels) for labels, value in seen.get(ts, [])]
        instances = evaluate(instances, observed, rules, datetime.fromtimestamp(ts, UTC)).instances
        for inst in instances.values():
            if inst.active:
                timeline[inst.labels["pod"]][ts] = inst.state.value
    return instants, timeline


def test_same_pending_firing_timeline_as_a_prometheus_alerting_rule(prometheus, exporter):
    for pod in ("a", "b"):
        exporter.set("wk_parity_value", 1, {"pod": pod})
    prometheus.set_rule_file("parity", RULES)
    prometheus.wait_for("wk_parity_eval", timeout=20)
    started = time.time()
    for hold, *values in SCRIPT:
        for pod, value in zip(("a", "b"), values, strict=True):
            if value is None:
                exporter.remove("wk_parity_value", {"pod": pod})
            else:
                exporter.set("wk_parity_value", value, {"pod": pod})
        time.sleep(hold)
    window = int(time.time() - started) + 2
    try:
        instants, ours = _our_timeline(prometheus, window)
        theirs = _prometheus_timeline(prometheus, window)
    finally:
        prometheus.remove_rule_file("parity")
        exporter.remove("wk_parity_value", {"pod": "a"})
        exporter.remove("wk_parity_value", {"pod": "b"})

    assert len(instants) >= 25, "the rule group should have evaluated about once a second"
    # Prometheus writes no ALERTS sample at a group's first evaluation; compare after it.
    first = instants[0]
    for pod in ("a", "b"):
        ours_pod = {ts: s for ts, s in ours[pod].items() if ts > first}
        theirs_pod = {ts: s for ts, s in theirs[pod].items() if ts > first}
        assert "Firing" in ours_pod.values() and "Pending" in ours_pod.values()
        assert ours_pod == theirs_pod, f"pod {pod} differs"
