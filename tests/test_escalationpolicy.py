"""End to end: an unacknowledged firing alert walks its EscalationPolicy on time, stops on
acknowledgement or resolution, resumes after an ack timeout, and survives a crash."""

from __future__ import annotations

import time

import pytest

from tests.alerting import alerts, apply, events, policy, wait_states
from tests.kubectl import create_deployment, create_secret, kubectl, watchkeeper_object
from tests.waiting import eventually, get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _hooks(receiver, *names) -> list[dict]:
    return [
        watchkeeper_object(
            "NotificationChannel",
            n,
            {
                "type": "Webhook",
                "webhook": {"url": f"{receiver.url}/{n}"},
                "rateLimit": {"max": 100},
            },
        )
        for n in names
    ]


def _escalation(steps: list[tuple[str, list[str]]], **spec) -> dict:
    return watchkeeper_object(
        "EscalationPolicy",
        "oncall",
        {"steps": [{"after": a, "channels": c} for a, c in steps], **spec},
    )


def _escalated(metric: str) -> dict:
    return policy("esc", metric, routing={"escalationPolicyRef": "oncall"})


def _event_kinds(receiver, path) -> list[str]:
    return [r.json()["watchkeeper"]["event"] for r in receiver.to(path)]


def _alert(custom_objects, namespace) -> dict:
    return alerts(custom_objects, namespace, "esc")[0]


def test_the_chain_runs_on_time(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter, receiver
):
    metric = "wk_esc_chain"
    exporter.set(metric, 3)
    apply(
        kubeconfig,
        namespace,
        *_hooks(receiver, "a", "b", "c"),
        _escalation([("0s", ["a"]), ("4s", ["b"]), ("8s", ["c"])]),
        _escalated(metric),
    )
    [alert] = wait_states(custom_objects, namespace, "esc", [("Firing", "Warning")])
    firing = time.time()
    [a] = receiver.wait_for(1, "/a")
    [b] = receiver.wait_for(1, "/b", timeout=20)
    [c] = receiver.wait_for(1, "/c", timeout=20)
    assert a.time < b.time < c.time
    # on schedule: within a second plus the 1 s evaluation granularity (and some CI slack)
    assert 4 - 1.5 <= b.time - a.time <= 4 + 2.5 and 8 - 1.5 <= c.time - a.time <= 8 + 2.5
    assert firing - a.time < 3
    name = alert["metadata"]["name"]
    # the position is persisted before a step sends; the delivery record follows it
    status = eventually(
        lambda: get_object(custom_objects, "alerts", namespace, name)["status"],
        lambda s: s["escalation"]["progress"] == "3/3" and len(s.get("notifications", [])) == 3,
    )
    ran = [(r["loop"], r["step"]) for r in status["escalation"]["ran"]]
    assert ran == [(0, 0), (0, 1), (0, 2)]
    records = {(r["channel"], r["step"], r["outcome"]) for r in status["notifications"]}
    assert records == {("a", 0, "Delivered"), ("b", 1, "Delivered"), ("c", 2, "Delivered")}
    wide = kubectl(kubeconfig, "get", "alerts", "-n", namespace, "-o", "wide").stdout
    assert "ESCALATION" in wide and "3/3" in wide
    steps = eventually(
        lambda: [r for r, _ in events(core_v1, namespace, name) if r == "EscalationStep"],
        lambda r: len(r) == 3,
    )
    assert len(steps) == 3
    eventually(
        lambda: get_object(custom_objects, "escalationpolicies", namespace, "oncall").get(
            "status", {}
        ),
        lambda s: s.get("escalating") == 0,
    )


def test_acknowledgement_stops_it_and_reaches_pagerduty(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter, receiver
):
    metric = "wk_esc_ack"
    create_secret(core_v1, namespace, "pd", {"key": "k"})
    pd = watchkeeper_object(
        "NotificationChannel",
        "pd",
        {
            "type": "PagerDuty",
            "pagerduty": {
                "routingKeySecretRef": {"name": "pd", "key": "key"},
                "url": f"{receiver.url}/pd",
            },
        },
    )
    exporter.set(metric, 3)
    apply(
        kubeconfig,
        namespace,
        pd,
        *_hooks(receiver, "later"),
        _escalation([("0s", ["pd"]), ("5s", ["later"])]),
        _escalated(metric),
    )
    receiver.wait_for(1, "/pd")
    wait_states(custom_objects, namespace, "esc", [("Firing", "Warning")])
    name = _alert(custom_objects, namespace)["metadata"]["name"]
    kubectl(kubeconfig, "annotate", "alert", name, "-n", namespace, "watchkeeper.io/ack=alice")
    acks = eventually(
        lambda: [r.json() for r in receiver.to("/pd") if r.json()["event_action"] == "acknowledge"],
        bool,
    )
    assert len(acks) == 1
    time.sleep(7)
    assert receiver.to("/later") == []


def test_resolution_stops_it_and_tells_everyone_paged(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    metric = "wk_esc_resolve"
    exporter.set(metric, 3)
    apply(
        kubeconfig,
        namespace,
        *_hooks(receiver, "a", "b", "c"),
        _escalation([("0s", ["a"]), ("3s", ["b"]), ("30s", ["c"])]),
        _escalated(metric),
    )
    receiver.wait_for(1, "/b", timeout=20)
    exporter.set(metric, 1)
    eventually(
        lambda: (_event_kinds(receiver, "/a"), _event_kinds(receiver, "/b")),
        lambda e: e == (["Firing", "Resolved"], ["Firing", "Resolved"]),
    )
    status = _alert(custom_objects, namespace)["status"]
    assert status["escalation"].get("nextStepTime") is None
    assert receiver.to("/c") == []


def test_ack_timeout_resumes_escalation(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    metric = "wk_esc_timeout"
    exporter.set(metric, 3)
    apply(
        kubeconfig,
        namespace,
        *_hooks(receiver, "a", "b"),
        _escalation([("0s", ["a"]), ("8s", ["b"])], ackTimeout="20s"),
        _escalated(metric),
    )
    receiver.wait_for(1, "/a")
    first_step = time.monotonic()
    name = _alert(custom_objects, namespace)["metadata"]["name"]
    kubectl(
        kubeconfig,
        "patch",
        "alert",
        name,
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"spec":{"acknowledgement":{"by":"bob"}}}',
    )
    acked = eventually(
        lambda: get_object(custom_objects, "alerts", namespace, name)["status"],
        lambda s: "acknowledged" in s,
    )
    assert time.monotonic() - first_step < 8, "acknowledged too late to hold the second step"
    time.sleep(max(0.0, first_step + 10 - time.monotonic()))  # the second step is past due
    assert receiver.to("/b") == []  # held by the acknowledgement
    receiver.wait_for(1, "/b", timeout=30)  # after the 20 s acknowledgement
    assert acked
    status = eventually(
        lambda: get_object(custom_objects, "alerts", namespace, name),
        lambda a: (
            "acknowledged" not in a["status"] and not (a.get("spec") or {}).get("acknowledgement")
        ),
    )
    assert status["status"]["escalation"]["progress"] == "2/2"


def test_a_step_due_while_the_operator_is_down_runs_once_after_restart(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    metric = "wk_esc_restart"
    exporter.set(metric, 3)
    apply(
        kubeconfig,
        namespace,
        *_hooks(receiver, "a", "b"),
        _escalation([("0s", ["a"]), ("4s", ["b"])]),
        _escalated(metric),
    )
    receiver.wait_for(1, "/a")
    # past the in-flight window of step a (sent, not yet recorded: see the burst test)
    eventually(
        lambda: _alert(custom_objects, namespace)["status"].get("notifications", []),
        lambda records: any(r["channel"] == "a" for r in records),
    )
    operator.kill()
    time.sleep(6)  # step b falls due while nobody is watching
    assert receiver.to("/b") == []
    operator.start()
    receiver.wait_for(1, "/b", timeout=30)
    time.sleep(4)
    assert len(receiver.to("/b")) == 1 and len(receiver.to("/a")) == 1


def test_scale_action_raises_and_later_lifts_a_scaling_policy_floor(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric, load = "wk_esc_scale", "wk_esc_scale_load"
    exporter.set(load, 1)
    create_deployment(kubeconfig, namespace, "web")
    scaling = watchkeeper_object(
        "ScalingPolicy",
        "web",
        {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [{"name": "load", "query": load, "target": {"type": "Value", "value": 10}}],
            "evaluationInterval": "1s",
            "cooldown": "0s",
            "behavior": {"scaleDown": {"stabilizationWindow": "0s"}},
        },
    )
    steps = {
        "steps": [
            {"after": "0s", "actions": [{"scale": {"scalingPolicyRef": "web", "minReplicas": 3}}]}
        ]
    }
    apply(kubeconfig, namespace, scaling, watchkeeper_object("EscalationPolicy", "oncall", steps))
    exporter.set(metric, 3)
    apply(kubeconfig, namespace, _escalated(metric))
    status = eventually(
        lambda: get_object(custom_objects, "scalingpolicies", namespace, "web").get("status") or {},
        lambda s: s.get("floors"),
    )
    [floor] = status["floors"]
    assert floor["minReplicas"] == 3 and floor["escalationPolicy"] == "oncall"
    eventually(
        lambda: apps_v1.read_namespaced_deployment_scale("web", namespace).spec.replicas,
        lambda r: r == 3,
    )

    exporter.set(metric, 1)
    eventually(
        lambda: get_object(custom_objects, "scalingpolicies", namespace, "web")["status"],
        lambda s: not s.get("floors"),
    )
    eventually(
        lambda: apps_v1.read_namespaced_deployment_scale("web", namespace).spec.replicas,
        lambda r: r == 1,
        timeout=40,
    )
