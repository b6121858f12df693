"""End to end: grouped notifications are exactly-once per group notification across
SIGKILL, as transitions are. The group's state (members, the last notification, the one
owed) is in the channel's status; an Alert's transition is settled as Grouped once its
group has it."""

from __future__ import annotations

import os
import random
import time
from collections import Counter

import pytest

from tests.alerting import alerts, apply, policy, wait_states
from tests.kubectl import watchkeeper_object
from tests.receivers import Reply
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _hook(receiver, **grouping: object) -> dict:
    spec = {
        "type": "Webhook",
        "webhook": {"url": f"{receiver.url}/hook"},
        "rateLimit": {"max": 1000, "per": "1m"},
        "retry": {"maxAttempts": 2, "initialBackoff": "100ms", "maxBackoff": "200ms"},
        "grouping": {"groupBy": ["alertname"], "groupWait": "1s", "groupInterval": "2s"} | grouping,
    }
    return watchkeeper_object("NotificationChannel", "hook", spec)


def _distinct(receiver) -> list[dict]:
    """The group notifications received, each once (a repeat has the same key)."""
    seen = {r.headers["idempotency-key"]: r.json() for r in receiver.to("/hook")}
    return list(seen.values())


def _announced(notifications: list[dict]) -> tuple[Counter, Counter]:
    """Per pod: how often it was announced firing (listed firing after not being so) and
    resolved, walking the notifications in order."""
    fired, resolved, firing = Counter(), Counter(), set()
    for body in notifications:
        for alert in body["alerts"]:
            pod = alert["labels"]["pod"]
            if alert["status"] == "firing" and pod not in firing:
                fired[pod] += 1
                firing.add(pod)
            elif alert["status"] == "resolved" and pod in firing:
                resolved[pod] += 1
                firing.discard(pod)
    return fired, resolved


def _wait_announced(receiver, pods: list[str], index: int, times: int) -> None:
    """Until every pod was announced firing (index 0) or resolved (1) `times` times: the
    next flip would otherwise hide the change."""
    eventually(
        lambda: _announced(_distinct(receiver))[index],
        lambda counts: all(counts[p] >= times for p in pods),
        90,
    )


def test_kills_during_grouped_fire_resolve_cycles_lose_nothing(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    """Six series of one policy form one group (the channel's grouping, by alertname).
    They flip together between firing and resolved; the operator is killed at random
    moments (joining, deciding, sending, settling). Every pod's firing and resolution is
    announced once per cycle; a notification arrives twice only with the same key."""
    metric, pods, cycles = "wk_group_kills", [f"p{i}" for i in range(6)], 3
    for pod in pods:
        exporter.set(metric, 1, {"pod": pod})
    routing = {"channels": ["hook"], "repeatInterval": "1h"}
    apply(kubeconfig, namespace, _hook(receiver), policy("kills", metric, routing=routing))
    rng = random.Random(int(os.environ.get("WK_KILL_SEED", "7")))
    kills = 0
    for cycle in range(1, cycles + 1):
        for value in (3, 1):
            for pod in pods:
                exporter.set(metric, value, {"pod": pod})
            if rng.random() < 0.8:
                time.sleep(rng.uniform(0.2, 3.0))
                operator.kill()
                kills += 1
                operator.start()
            state = "Firing" if value == 3 else "Resolved"
            wait_states(custom_objects, namespace, "kills", [(state, "Warning")] * len(pods), 90)
            _wait_announced(receiver, pods, 0 if value == 3 else 1, cycle)
    fired, resolved = _announced(_distinct(receiver))
    delivered = len(receiver.to("/hook"))
    distinct = len(_distinct(receiver))
    expected = len(pods) * cycles * 2
    announced = sum(fired.values()) + sum(resolved.values())
    lost = sum(max(0, cycles - fired[p]) + max(0, cycles - resolved[p]) for p in pods)
    print(
        f"\nkills={kills} expected_announcements={expected} announced={announced} lost={lost} "
        f"notifications={distinct} duplicated_same_key={delivered - distinct}"
    )
    assert kills >= 3
    assert lost == 0 and announced == expected
    eventually(
        lambda: [a["status"].get("outbox") for a in alerts(custom_objects, namespace, "kills")],
        lambda owed: not any(owed),
        60,
    )


def test_a_group_notification_owed_before_a_crash_is_sent_once_after_it(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    """The receiver fails, so the group's notification stays owed in the channel's status
    with its attempts; the operator dies; the receiver comes back; the next process sends
    the owed notification with the same key, and only then decides anything new."""
    metric = "wk_group_owed"
    for pod in ("a", "b"):
        exporter.set(metric, 3, {"pod": pod})
    receiver.route("/hook", Reply(status=503))
    routing = {"channels": ["hook"], "repeatInterval": "1h"}
    apply(kubeconfig, namespace, _hook(receiver), policy("owed", metric, routing=routing))

    def groups() -> list[dict]:
        channel = custom_objects.get_namespaced_custom_object(
            "watchkeeper.io", "v1alpha1", namespace, "notificationchannels", "hook"
        )
        return (channel.get("status") or {}).get("groups") or []

    [group] = eventually(groups, lambda g: len(g) == 1 and (g[0].get("owed") or {}).get("attempts"))
    assert group["labels"] == {"alertname": "owed"}
    assert sorted(group["owed"]["firing"]) == sorted(
        a["metadata"]["name"] for a in alerts(custom_objects, namespace, "owed")
    )
    records = [a["status"]["notifications"] for a in alerts(custom_objects, namespace, "owed")]
    assert all(r[-1]["outcome"] == "Grouped" for r in records)
    failed = receiver.to("/hook")
    operator.kill()
    receiver.route("/hook", Reply(status=200))
    operator.start()

    delivered = eventually(
        lambda: [r for r in receiver.to("/hook") if r.status == 200], lambda d: len(d) >= 1, 60
    )
    time.sleep(5)  # two more groupIntervals: nothing new to send
    delivered = [r for r in receiver.to("/hook") if r.status == 200]
    assert len(delivered) == 1
    assert delivered[0].headers["idempotency-key"] == failed[0].headers["idempotency-key"]
    body = delivered[0].json()
    assert body["groupLabels"] == {"alertname": "owed"}
    assert sorted(a["labels"]["pod"] for a in body["alerts"]) == ["a", "b"]
    [group] = eventually(groups, lambda g: "owed" not in g[0])
    assert group["last"]["outcome"] == "Delivered" and group["last"]["attempts"] >= 3


def test_a_resolution_the_route_does_not_send_leaves_the_group_quietly(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    """sendResolved: false. a resolves: nothing is sent, and a leaves the group, so the
    next repeat lists b alone (Alertmanager drops a resolved alert it does not send)."""
    metric = "wk_group_quiet"
    for pod in ("a", "b"):
        exporter.set(metric, 3, {"pod": pod})
    routing = {"channels": ["hook"], "repeatInterval": "8s", "sendResolved": False}
    apply(kubeconfig, namespace, _hook(receiver), policy("quiet", metric, routing=routing))
    [first] = receiver.wait_for(1, "/hook")
    assert sorted(a["labels"]["pod"] for a in first.json()["alerts"]) == ["a", "b"]
    exporter.set(metric, 1, {"pod": "a"})
    [repeat] = receiver.wait_for(2, "/hook", timeout=30)[1:]
    body = repeat.json()
    assert [(a["labels"]["pod"], a["status"]) for a in body["alerts"]] == [("b", "firing")]
