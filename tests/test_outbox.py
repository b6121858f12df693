"""End to end: what is owed survives SIGKILL. Several series flip between firing and
resolved every few seconds (evaluationInterval 1s) while the operator is killed at random
moments; a counting webhook receiver must get every transition, and a transition twice
only with the same idempotency key (the service's idempotency window). The kill moments
come from a seeded generator; WK_KILL_SEED picks another sequence."""

from __future__ import annotations

import os
import random
import time
from collections import Counter, defaultdict

import pytest

from tests.alerting import alerts, apply, policy, wait_states
from tests.kubectl import watchkeeper_object
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _hook(receiver) -> dict:
    spec = {
        "type": "Webhook",
        "webhook": {"url": f"{receiver.url}/hook"},
        "rateLimit": {"max": 1000, "per": "1m"},
        "retry": {"maxAttempts": 2, "initialBackoff": "100ms", "maxBackoff": "200ms"},
    }
    return watchkeeper_object("NotificationChannel", "hook", spec)


def test_kills_during_fire_resolve_cycles_lose_nothing(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    metric, pods, cycles = "wk_outbox_kills", [f"p{i}" for i in range(6)], 4
    for pod in pods:
        exporter.set(metric, 1, {"pod": pod})
    routing = {"channels": ["hook"], "repeatInterval": "1h"}
    apply(kubeconfig, namespace, _hook(receiver), policy("kills", metric, routing=routing))
    rng = random.Random(int(os.environ.get("WK_KILL_SEED", "10")))
    kills = 0
    for _cycle in range(cycles):
        for value in (3, 1):
            for pod in pods:
                exporter.set(metric, value, {"pod": pod})
            if rng.random() < 0.75:
                time.sleep(rng.uniform(0.2, 2.5))  # a random moment: writing, sending, settling
                operator.kill()
                kills += 1
                operator.start()
            # every state is seen (a restart takes longer than a cycle), then the next flip
            state = "Firing" if value == 3 else "Resolved"
            wait_states(custom_objects, namespace, "kills", [(state, "Warning")] * len(pods), 90)
            time.sleep(rng.uniform(0.0, 1.5))
    eventually(
        lambda: [a["status"].get("outbox") for a in alerts(custom_objects, namespace, "kills")],
        lambda owed: not any(owed),
        60,
    )

    keys: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for request in receiver.to("/hook"):
        body = request.json()
        keys[body["watchkeeper"]["dedupKey"]].append(
            (body["watchkeeper"]["event"], request.headers["idempotency-key"])
        )
    expected = len(pods) * cycles * 2
    delivered = sum(len(v) for v in keys.values())
    same_key = sum(len(v) - len(set(v)) for v in keys.values())
    lost = different_keys = 0
    for pod_deliveries in keys.values():
        distinct = Counter(event for event, _ in dict.fromkeys(pod_deliveries))
        for event in ("Firing", "Resolved"):
            lost += max(0, cycles - distinct[event])
            different_keys += max(0, distinct[event] - cycles)
    lost += (len(pods) - len(keys)) * cycles * 2
    print(
        f"\nkills={kills} expected={expected} delivered={delivered} lost={lost} "
        f"duplicated_same_key={same_key} duplicated_different_keys={different_keys}"
    )
    assert kills >= 3
    assert (lost, different_keys) == (0, 0)
    for pod_deliveries in keys.values():
        events = [event for event, _ in dict.fromkeys(pod_deliveries)]
        assert events == ["Firing", "Resolved"] * cycles


def test_a_resolved_owed_before_a_crash_is_delivered_after_the_series_fires_again(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    """Issue 10's sequence, made deterministic: the Resolved is written but cannot be
    delivered (the receiver fails), the operator dies, the series fires again before the
    next process runs. The old Resolved is still owed and arrives, before the new Firing,
    with every attempt in its record."""
    from tests.receivers import Reply

    metric = "wk_outbox_refire"
    exporter.set(metric, 3)
    routing = {"channels": ["hook"], "repeatInterval": "1h"}
    apply(kubeconfig, namespace, _hook(receiver), policy("refire", metric, routing=routing))
    receiver.wait_for(1, "/hook")

    def status() -> dict:
        return alerts(custom_objects, namespace, "refire")[0]["status"]

    receiver.route("/hook", Reply(status=503))
    exporter.set(metric, 1)
    owed = eventually(
        lambda: [o for o in status().get("outbox", []) if o["event"] == "Resolved"],
        lambda o: bool(o) and o[0]["attempts"] >= 2,
    )[0]
    operator.kill()
    exporter.set(metric, 3)
    time.sleep(3)  # Prometheus scrapes the new value while no operator runs
    receiver.route("/hook", Reply(status=200))
    operator.start()

    delivered = eventually(
        lambda: [r for r in receiver.to("/hook") if r.status == 200],
        lambda found: [r.json()["watchkeeper"]["event"] for r in found].count("Firing") >= 2,
        60,
    )
    accepted = [(r.json()["watchkeeper"]["event"], r.headers["idempotency-key"]) for r in delivered]
    events = [event for event, _ in dict.fromkeys(accepted)]
    assert events == ["Firing", "Resolved", "Firing"], accepted
    resolved_keys = {key for event, key in accepted if event == "Resolved"}
    assert resolved_keys == {owed["key"]}
    record = eventually(
        lambda: [r for r in status().get("notifications", []) if r["event"] == "Resolved"],
        bool,
    )[0]
    assert record["outcome"] == "Delivered" and record["attempts"] > owed["attempts"]
