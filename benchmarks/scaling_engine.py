"""Scaling engine cost and the size of a ScalingPolicy's memory (its status).

Runs the engine as the daemon does (evaluate, conclude, the status kept in memory with
the HPA's recommendation slots, the part that decides written) for N evaluations of a noisy
metric, and reports:
- the engine's time per evaluation (no I/O: Kubernetes and Prometheus calls come on top);
- the largest status it would write, in bytes of JSON, and the longest recommendation and
  scale-event lists written, for a default (Balanced) policy and a worst case: a 1s interval,
  30m policy periods, a 1h window and a metric that jumps at every evaluation;
- how many evaluations changed the part of the status that is written at once (the rest
  waits for the heartbeat).

Run: .venv/bin/python -m benchmarks.scaling_engine [N]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from watchkeeper.api.scalingpolicy import ScalingPolicySpec, ScalingPolicyStatus
from watchkeeper.engine.scaling import resolve_behaviour
from watchkeeper.engine.scaling_metrics import Reading
from watchkeeper.engine.scaling_policy import Observation, conclude, evaluate
from watchkeeper.engine.scaling_state import persisted, significant

BASE: dict[str, Any] = {
    "targetRef": {"kind": "Deployment", "name": "web"},
    "minReplicas": 1,
    "maxReplicas": 100,
    "cooldown": "0s",
    "metrics": [{"name": "rps", "query": "q", "target": {"type": "AverageValue", "value": 100}}],
}
WORST = {
    **BASE,
    "evaluationInterval": "1s",
    "behavior": {
        "scaleUp": {
            "stabilizationWindow": "0s",
            "policies": [{"type": "Pods", "value": 50, "period": "30m"}],
        },
        "scaleDown": {
            "stabilizationWindow": "1h",
            "policies": [{"type": "Percent", "value": 100, "period": "30m"}],
        },
    },
}


def run(spec_dict: dict[str, Any], evaluations: int, interval: float, jumpy: bool) -> None:
    spec = ScalingPolicySpec.model_validate(spec_dict)
    status, current = ScalingPolicyStatus(), 10
    now = datetime(2026, 11, 30, tzinfo=UTC)
    rng = random.Random(7)
    timings, largest, recs, events, writes = [], 0, 0, 0, 0
    for i in range(evaluations):
        now += timedelta(seconds=interval)
        if jumpy:
            value = rng.uniform(0, 10_000)
        else:  # a daily-ish wave with noise
            value = 2000 + 1500 * ((i % 2000) / 1000 - 1) ** 2 + rng.gauss(0, 50)
        started = time.perf_counter()
        seen = Observation(now, 1, current, readings={"rps": Reading((value,))})
        plan = evaluate(spec, status, seen)
        outcome = conclude(spec, status, plan, None, now)
        timings.append(time.perf_counter() - started)
        horizon = resolve_behaviour(spec.preset, spec.behavior).horizon
        written = persisted(outcome.status, horizon)  # the HPA's full slots stay in memory
        text = json.dumps(written.model_dump(by_alias=True, mode="json", exclude_none=True))
        writes += significant(outcome.status, horizon) != significant(status, horizon)
        status = outcome.status
        current = status.current_replicas or current
        largest = max(largest, len(text))
        recs = max(recs, len(written.recommendations))
        events = max(events, len(status.scale_events))
    micros = sorted(t * 1e6 for t in timings)
    print(
        f"  engine per evaluation: median {statistics.median(micros):.0f} µs, "
        f"p99 {micros[int(len(micros) * 0.99)]:.0f} µs"
    )
    print(
        f"  largest status {largest} bytes; at most {recs} recommendations and "
        f"{events} scale events kept; {writes} of {evaluations} evaluations changed "
        "what is written at once"
    )


def main(argv: list[str]) -> None:
    evaluations = int(argv[0]) if argv else 5000
    print(f"Balanced preset, 15s interval, smooth noisy load, {evaluations} evaluations:")
    run(BASE, evaluations, 15, jumpy=False)
    print(f"Worst case (1s interval, 30m periods, 1h window, jumpy load), {evaluations}:")
    run(WORST, evaluations, 1, jumpy=True)


if __name__ == "__main__":
    main(sys.argv[1:])
