"""End to end: alert transitions reach channels once per transition, through the
operator, and a crash in a burst of transitions loses nothing."""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict

import pytest

from tests.alerting import alerts, apply, policy, wait_states
from tests.kubectl import create_secret, watchkeeper_object
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _channel(name: str, spec: dict) -> dict:
    return watchkeeper_object("NotificationChannel", name, spec)


def _webhook(receiver, name="hook") -> dict:
    return _channel(
        name,
        {
            "type": "Webhook",
            "webhook": {"url": f"{receiver.url}/{name}"},
            "rateLimit": {"max": 100, "per": "1m"},
        },
    )


def _pagerduty(receiver, core_v1, namespace) -> dict:
    create_secret(core_v1, namespace, "pd", {"routing-key": "R0UT1NGKEY"})
    return _channel(
        "pd",
        {
            "type": "PagerDuty",
            "pagerduty": {
                "routingKeySecretRef": {"name": "pd", "key": "routing-key"},
                "url": f"{receiver.url}/pd",
            },
        },
    )


def _events(requests) -> list[tuple[str, str]]:
    """(event, idempotency key) of each webhook delivery."""
    found = []
    for r in requests:
        body = r.json()
        found.append((body["watchkeeper"]["event"], r.headers["idempotency-key"]))
    return found


def test_each_transition_reaches_each_channel_once(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter, receiver
):
    metric = "wk_an_transitions"
    exporter.set(metric, 3)
    routing = {"channels": ["hook", "pd"], "repeatInterval": "1h", "sendResolved": True}
    apply(
        kubeconfig,
        namespace,
        _webhook(receiver),
        _pagerduty(receiver, core_v1, namespace),
        policy("pages", metric, routing=routing),
    )

    [firing] = receiver.wait_for(1, "/hook")
    body = firing.json()
    assert body["status"] == "firing" and body["alerts"][0]["labels"]["severity"] == "Warning"
    [trigger] = receiver.wait_for(1, "/pd")
    assert (
        trigger.json()["event_action"] == "trigger"
        and trigger.json()["payload"]["severity"] == "warning"
    )
    dedup = trigger.json()["dedup_key"]

    exporter.set(metric, 7)
    receiver.wait_for(2, "/hook")
    name = alerts(custom_objects, namespace, "pages")[0]["metadata"]["name"]
    kubectl_ack = {"metadata": {"annotations": {"watchkeeper.io/ack": "alice"}}}
    custom_objects.patch_namespaced_custom_object(
        "watchkeeper.io", "v1alpha1", namespace, "alerts", name, kubectl_ack
    )
    ack = eventually(
        lambda: [r.json() for r in receiver.to("/pd") if r.json()["event_action"] == "acknowledge"],
        bool,
    )
    assert ack[0]["dedup_key"] == dedup

    exporter.set(metric, 1)
    wait_states(custom_objects, namespace, "pages", [("Resolved", "Critical")])
    resolve = eventually(
        lambda: [r.json() for r in receiver.to("/pd") if r.json()["event_action"] == "resolve"],
        bool,
    )
    assert resolve[0]["dedup_key"] == dedup
    eventually(lambda: _events(receiver.to("/hook")), lambda e: "Resolved" in [x for x, _ in e])
    time.sleep(3)  # later evaluations must not send anything again
    hooks = _events(receiver.to("/hook"))
    # A webhook has no acknowledgement concept: only PagerDuty, Opsgenie and Log get it.
    assert [e for e, _ in hooks] == ["Firing", "SeverityChanged", "Resolved"]
    assert len({k for _, k in hooks}) == len(hooks)
    pd_actions = [r.json()["event_action"] for r in receiver.to("/pd")]
    assert Counter(pd_actions) == {"trigger": 2, "acknowledge": 1, "resolve": 1}

    records = alerts(custom_objects, namespace, "pages")[0]["status"]["notifications"]
    assert {(r["channel"], r["event"], r["outcome"]) for r in records} >= {
        ("hook", "Firing", "Delivered"),
        ("pd", "Acknowledged", "Delivered"),
        ("pd", "Resolved", "Delivered"),
    }
    assert "R0UT1NGKEY" not in operator.log_text()


def test_repeat_while_firing(operator, kubeconfig, namespace, custom_objects, exporter, receiver):
    metric = "wk_an_repeat"
    exporter.set(metric, 3)
    routing = {"channels": ["hook"], "repeatInterval": "2s"}
    apply(kubeconfig, namespace, _webhook(receiver), policy("nag", metric, routing=routing))
    found = eventually(
        lambda: _events(receiver.to("/hook")), lambda e: [x for x, _ in e].count("Repeat") >= 2
    )
    assert found[0][0] == "Firing"
    assert len({k for _, k in found}) == len(found)


def test_a_failing_channel_is_retried_later_and_others_are_not_held_up(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    from tests.receivers import Reply

    metric = "wk_an_retry"
    receiver.route("/down", Reply(status=503))
    down = _channel(
        "down",
        {
            "type": "Webhook",
            "webhook": {"url": f"{receiver.url}/down"},
            "retry": {"maxAttempts": 2, "initialBackoff": "100ms", "maxBackoff": "200ms"},
        },
    )
    exporter.set(metric, 3)
    apply(
        kubeconfig,
        namespace,
        _webhook(receiver),
        down,
        policy("flaky", metric, routing={"channels": ["down", "hook"]}),
    )
    receiver.wait_for(1, "/hook")
    receiver.wait_for(4, "/down")  # two rounds of two attempts: retried at later evaluations

    def status() -> dict:
        return alerts(custom_objects, namespace, "flaky")[0]["status"]

    owed = eventually(
        lambda: [o for o in status().get("outbox", []) if o["channel"] == "down"],
        lambda o: bool(o) and o[0]["attempts"] >= 4,
    )[0]
    assert owed["event"] == "Firing" and "503" in owed["error"] and owed["firstAttempt"]
    assert "down" not in {r["channel"] for r in status().get("notifications", [])}
    receiver.route("/down", Reply(status=200))
    record = eventually(
        lambda: {r["channel"]: r for r in status().get("notifications", [])},
        lambda r: r.get("down", {}).get("outcome") == "Delivered",
    )["down"]
    # the record counts every request of every round: the failures and the one that worked
    assert record["attempts"] == len(receiver.to("/down")) >= 5, record
    assert not [o for o in status().get("outbox", []) if o["channel"] == "down"]
    counters = eventually(
        lambda: custom_objects.get_namespaced_custom_object(
            "watchkeeper.io", "v1alpha1", namespace, "notificationchannels", "down"
        )["status"]["counters"],
        lambda c: c["sent"] == 1,
    )
    assert counters["failed"] >= 2  # failed delivery rounds; the notification is sent once
    assert len(_events(receiver.to("/hook"))) == 1


def test_operator_crashes_in_a_burst_lose_nothing(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    """Three series flip between firing and resolved every few seconds while the operator is
    killed (SIGKILL) at random moments. Every transition must arrive; a transition may arrive
    twice only across a crash, and then with the same idempotency key."""
    metric, pods, cycles, hold = "wk_an_burst", ("a", "b", "c"), 3, 5.0
    for pod in pods:
        exporter.set(metric, 1, {"pod": pod})
    apply(
        kubeconfig,
        namespace,
        _webhook(receiver),
        policy("burst", metric, routing={"channels": ["hook"]}),
    )
    rng = random.Random(7)
    kills = 0
    for _cycle in range(cycles):
        for value in (3, 1):
            for pod in pods:
                exporter.set(metric, value, {"pod": pod})
            time.sleep(rng.uniform(0.5, 2.0))
            if kills < 4 and rng.random() < 0.8:
                operator.kill()
                kills += 1
                time.sleep(rng.uniform(0.1, 1.0))
                operator.start()
            time.sleep(hold)
    wait_states(custom_objects, namespace, "burst", [("Resolved", "Warning")] * 3, timeout=60)
    time.sleep(4)

    per_alert: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for request in receiver.to("/hook"):
        body = request.json()
        per_alert[body["watchkeeper"]["dedupKey"]].append(
            (body["watchkeeper"]["event"], request.headers["idempotency-key"])
        )
    assert len(per_alert) == 3
    duplicates = 0
    for deliveries in per_alert.values():
        distinct = list(dict.fromkeys(deliveries))
        duplicates += len(deliveries) - len(distinct)
        assert [event for event, _ in distinct] == ["Firing", "Resolved"] * cycles
    assert duplicates <= kills, f"{duplicates} repeats for {kills} crashes"
