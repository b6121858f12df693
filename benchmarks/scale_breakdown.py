"""``--breakdown``: the operator's CPU during the window, timed inside the process by
``benchmarks/breakdown/sitecustomize.py`` (see there how), function by function.

The functions are the layers of an evaluation, outermost first: the scheduler's loop and
its run of a job, the evaluation, the query (the HTTP client included), the engine, the
writers and the metrics. What no listed function covers (the event loop itself, socket
callbacks, the watches) is the remainder of the process's CPU time.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

HOOK_DIR = Path(__file__).parent / "breakdown"
COMMON = (
    "watchkeeper.runtime.scheduler:Scheduler.run_forever",
    "watchkeeper.runtime.scheduler:Scheduler._execute",
    "watchkeeper.prometheus.client:PrometheusClient.query",
    "watchkeeper.prometheus.client:_parse",
    "watchkeeper.runtime.readiness:ReadinessService.check",
    "watchkeeper.runtime.http:HealthServer._metrics",
    "watchkeeper.runtime.app:Runtime.seen",
)
TARGETS = {
    "AlertPolicy": (
        "watchkeeper.runtime.evaluation:PolicyEvaluator.evaluate",
        "watchkeeper.runtime.evaluation:PolicyEvaluator._query",
        "watchkeeper.runtime.evaluation:observations",
        "watchkeeper.runtime.evaluation:evaluate",
        "watchkeeper.runtime.evaluation:ALERT_STATES.update",
        "watchkeeper.runtime.alert_writer:AlertWriter.apply",
        "watchkeeper.runtime.policy_status:PolicyStatusWriter.evaluated",
    ),
    "ScalingPolicy": (
        "watchkeeper.runtime.scaling:PolicyDaemon.evaluate_once",
        "watchkeeper.runtime.scaling:PolicyDaemon._observe",
        "watchkeeper.runtime.scaling:PolicyDaemon._query",
        "watchkeeper.runtime.scaling:evaluate",
        "watchkeeper.runtime.scaling:conclude",
        "watchkeeper.runtime.scaling:PolicyDaemon._write",
        "watchkeeper.runtime.scaling:export_scaling",
    ),
}


def operator_env(kind: str, output: Path) -> dict[str, str]:
    """The operator's environment for a breakdown of `kind`'s evaluations into `output`."""
    path = os.pathsep.join(filter(None, (str(HOOK_DIR), os.environ.get("PYTHONPATH"))))
    return {
        "PYTHONPATH": path,
        "WATCHKEEPER_BREAKDOWN": str(output),
        "WATCHKEEPER_BREAKDOWN_TARGETS": ",".join((*COMMON, *TARGETS[kind])),
    }


def mark(pid: int) -> None:
    """Ask the operator to append its totals now (window start, window end)."""
    os.kill(pid, signal.SIGUSR1)


def report(output: Path, evaluations: int) -> None:
    """Print the window's figures: the last two records' difference."""
    lines = output.read_text().splitlines() if output.exists() else []
    records = [json.loads(line) for line in lines]
    if len(records) < 2:
        print(f"  breakdown: fewer than two records in {output}")
        return
    before, after = records[-2], records[-1]
    cpu = after["cpu"] - before["cpu"]
    per = max(evaluations, 1)
    print(
        f"  breakdown (CPU inside the operator, {cpu:.2f} s in the window, "
        f"{cpu / per * 1e6:.0f} us per evaluation; inclusive of callees):"
    )
    rows = []
    for name, total in after["seconds"].items():
        spent = total - before["seconds"].get(name, 0.0)
        calls = after["calls"].get(name, 0) - before["calls"].get(name, 0)
        rows.append((spent, calls, name))
    for spent, calls, name in sorted(rows, reverse=True):
        each = f"{spent / calls * 1e6:7.0f} us/call" if calls else " " * 15
        print(
            f"    {100 * spent / cpu:5.1f}%  {spent / per * 1e6:6.0f} us/eval  "
            f"{calls:7d} calls {each}  {name}"
        )
