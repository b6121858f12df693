"""Alert evaluation cost, side by side with Prometheus's own rule evaluation.

Starts an exporter with N series and a real Prometheus whose rule group evaluates the
alerting rule `wk_bench > 5` every second. Then, over the same data:
- Prometheus: prometheus_rule_group_last_duration_seconds of that group (query, state
  machine and writing ALERTS), averaged over several evaluations;
- Watchkeeper: one instant query through our client plus our state machine, timed in
  process (no Kubernetes writes: those happen only for changes);
- Watchkeeper's state machine alone.

Run: .venv/bin/python -m benchmarks.alert_evaluation [N ...]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from devenv.exporter import MetricsExporter
from devenv.prometheus import LocalPrometheus
from watchkeeper.api.alertpolicy import ErrorState, NoDataState, Threshold
from watchkeeper.api.common import Severity
from watchkeeper.engine.alerts import Instance, Observation, Rules, SeriesKey, evaluate
from watchkeeper.engine.levels import fixed_levels
from watchkeeper.prometheus.client import Connection, PrometheusClient

LEVELS = fixed_levels("GreaterThan", [Threshold(severity="Critical", value=5)])
RULES = Rules(
    timedelta(seconds=30),
    timedelta(0),
    NoDataState.OK,
    ErrorState.KEEP_STATE,
    (Severity.CRITICAL, 5),
)
ROUNDS = 10


async def ours(url: str) -> tuple[float, float]:
    client = PrometheusClient()
    instances: dict[SeriesKey, Instance] = {}
    total, engine = [], []
    try:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            samples = await client.query(Connection(url), "wk_bench", datetime.now(UTC))
            observed = [Observation(dict(s.labels), s.value, LEVELS) for s in samples]
            engine_started = time.perf_counter()
            instances = evaluate(instances, observed, RULES, datetime.now(UTC)).instances
            done = time.perf_counter()
            total.append(done - started)
            engine.append(done - engine_started)
            await asyncio.sleep(0.2)
    finally:
        await client.close()
    return statistics.median(total), statistics.median(engine)


def group_duration(prometheus: LocalPrometheus) -> float | None:
    """prometheus_rule_group_last_duration_seconds of the bench group, from /metrics."""
    for line in httpx.get(f"{prometheus.url}/metrics", timeout=10).text.splitlines():
        if line.startswith("prometheus_rule_group_last_duration_seconds") and "bench" in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def theirs(prometheus: LocalPrometheus) -> float:
    seen = []
    for _ in range(ROUNDS):
        duration = group_duration(prometheus)
        if duration:
            seen.append(duration)
        time.sleep(1.0)
    return statistics.median(seen)


def run(series: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, MetricsExporter() as exporter:
        for i in range(series):
            exporter.set("wk_bench", 7 if i % 2 else 1, {"pod": f"pod-{i}"})
        prometheus = LocalPrometheus(Path(tmp), exporter.address)
        prometheus.start()
        try:
            prometheus.wait_for_scrape(timeout=60)
            prometheus.set_rule_file(
                "bench",
                {
                    "groups": [
                        {
                            "name": "bench",
                            "interval": "1s",
                            "rules": [{"alert": "WkBench", "expr": "wk_bench > 5", "for": "30s"}],
                        }
                    ]
                },
            )
            deadline = time.monotonic() + 30
            while not group_duration(prometheus) and time.monotonic() < deadline:
                time.sleep(0.5)
            prom = theirs(prometheus)
            total, engine = asyncio.run(ours(prometheus.url))
        finally:
            prometheus.stop()
    print(
        f"{series:>7} series | Prometheus rule eval {prom * 1000:8.2f} ms | "
        f"Watchkeeper query+engine {total * 1000:8.2f} ms | engine alone {engine * 1000:8.2f} ms"
    )


if __name__ == "__main__":
    for count in [int(a) for a in sys.argv[1:]] or [100, 1000, 5000]:
        run(count)
