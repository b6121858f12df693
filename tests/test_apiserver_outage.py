"""End to end: a kube-apiserver outage (etcd kept) while a series fires and resolves.

The operator must stay up, keep evaluating against Prometheus, hold the transitions it
cannot write, and deliver every one of them exactly once within a few seconds of the
API's return, logging about the outage without a traceback per attempt.

The cluster fixture is shared by the whole session: the apiserver is always started again
in a ``finally`` block.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from devenv import LocalCluster, MetricsExporter, OperatorProcess
from tests.alerting import apply, policy
from tests.kubectl import watchkeeper_object
from tests.receivers import HttpReceiver, Recorded
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

FIRING, RESOLVED = 3.0, 1.0  # the policy's Warning threshold is 2
DELIVERY_GRACE = 10.0  # seconds after the API's return for every held transition to arrive
# The runtime's components that may each log one traceback when the API goes away.
COMPONENTS = ("kopf watch streams", "evaluation", "notification", "escalation", "scaling")


@dataclass(frozen=True)
class Tally:
    """Deliveries compared with the transitions that happened."""

    expected: int
    delivered: int
    lost: int
    duplicated_same_key: int
    duplicated_different_keys: int
    order: list[str]  # events in arrival order, repeats of a key left out

    def __str__(self) -> str:
        return (
            f"expected {self.expected}, delivered {self.delivered}, lost {self.lost}, "
            f"duplicated with the same key {self.duplicated_same_key}, "
            f"duplicated with different keys {self.duplicated_different_keys}; "
            f"order {self.order}"
        )


def tally(requests: list[Recorded], expected: list[str]) -> Tally:
    pairs = [(r.json()["watchkeeper"]["event"], r.headers["idempotency-key"]) for r in requests]
    distinct = list(dict.fromkeys(pairs))
    want, got = Counter(expected), Counter(event for event, _ in distinct)
    return Tally(
        expected=len(expected),
        delivered=len(pairs),
        lost=sum((want - got).values()),
        duplicated_same_key=len(pairs) - len(distinct),
        duplicated_different_keys=sum((got - want).values()),
        order=[event for event, _ in distinct],
    )


def _webhook(receiver: HttpReceiver) -> dict:
    return watchkeeper_object(
        "NotificationChannel",
        "hook",
        {
            "type": "Webhook",
            "webhook": {"url": f"{receiver.url}/hook"},
            "rateLimit": {"max": 100, "per": "1m"},
        },
    )


def _events(receiver: HttpReceiver) -> list[str]:
    return [r.json()["watchkeeper"]["event"] for r in receiver.to("/hook")]


@pytest.mark.parametrize("outage", [30, 120])
def test_apiserver_outage_loses_and_repeats_nothing(
    outage: int,
    operator: OperatorProcess,
    cluster: LocalCluster,
    kubeconfig,
    namespace: str,
    exporter: MetricsExporter,
    receiver: HttpReceiver,
):
    metric = f"wk_outage_{outage}"
    exporter.set(metric, RESOLVED)
    routing = {"channels": ["hook"], "repeatInterval": "1h", "sendResolved": True}
    apply(kubeconfig, namespace, _webhook(receiver), policy("outage", metric, routing=routing))

    # One full cycle with the API up: the pipeline works before the outage.
    exporter.set(metric, FIRING)
    eventually(lambda: _events(receiver), lambda e: e == ["Firing"])
    exporter.set(metric, RESOLVED)
    eventually(lambda: _events(receiver), lambda e: e == ["Firing", "Resolved"])

    cycles = max(1, outage // 20)
    hold = outage / (2 * cycles + 1)
    expected = ["Firing", "Resolved"] * (1 + cycles)
    pid = operator.pid
    log_before = len(operator.log_text())
    started = time.monotonic()
    cluster.stop_apiserver()
    try:
        for _ in range(cycles):
            time.sleep(hold)
            exporter.set(metric, FIRING)
            time.sleep(hold)
            exporter.set(metric, RESOLVED)
        time.sleep(max(0.0, started + outage - time.monotonic()))
        assert operator.running and operator.pid == pid, "the operator exited during the outage"
    finally:
        if not cluster.apiserver_running:
            cluster.start_apiserver()
    back = time.monotonic()
    outage_log = operator.log_text()[log_before:]

    deadline = back + DELIVERY_GRACE
    while len(set(_pairs(receiver))) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # anything more arriving now would be a duplicate
    result = tally(receiver.to("/hook"), expected)
    print(f"\n{outage} s apiserver outage: {result}")

    tracebacks = len(re.findall(r"^Traceback", outage_log, flags=re.MULTILINE))
    problems = []
    if not operator.running or operator.pid != pid:
        problems.append("the operator exited")
    if result.lost:
        problems.append(f"{result.lost} transitions lost")
    if result.duplicated_different_keys:
        problems.append(f"{result.duplicated_different_keys} duplicated with different keys")
    if result.duplicated_same_key:
        problems.append(f"{result.duplicated_same_key} duplicated with the same key")
    if not result.lost and result.order != expected:
        problems.append(f"arrival order {result.order}, expected {expected}")
    if tracebacks > len(COMPONENTS):
        problems.append(
            f"{tracebacks} tracebacks in the log during the outage "
            f"(at most one per component: {', '.join(COMPONENTS)})"
        )
    assert not problems, f"{outage} s outage: " + "; ".join(problems) + f"\n{result}"


def _pairs(receiver: HttpReceiver) -> list[tuple[str, str]]:
    return [
        (r.json()["watchkeeper"]["event"], r.headers["idempotency-key"])
        for r in receiver.to("/hook")
    ]
