"""End to end: the Normal (info-level) Events the README promises are posted."""

from __future__ import annotations

import pytest

from tests.alerting import alerts, apply, policy, wait_states
from tests.kubectl import kubectl, watchkeeper_object
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _normal(core_v1, namespace: str, kind: str, name: str) -> list[str]:
    """Reasons of the Normal Events about one object."""
    found = core_v1.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name},involvedObject.kind={kind}"
    ).items
    return [e.reason for e in found if e.type == "Normal"]


def _wait_event(core_v1, namespace, kind, name, reason) -> None:
    eventually(lambda: _normal(core_v1, namespace, kind, name), lambda r: reason in r)


def test_every_promised_normal_event_is_posted(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter, receiver
):
    metric = "wk_normal_events"
    exporter.set(metric, 3)
    hook = watchkeeper_object(
        "NotificationChannel", "hook", {"type": "Webhook", "webhook": {"url": f"{receiver.url}/h"}}
    )
    apply(kubeconfig, namespace, hook, policy("noisy", metric, routing={"channels": ["hook"]}))
    try:
        _wait_event(core_v1, namespace, "AlertPolicy", "noisy", "Valid")  # Ready -> True
        _wait_event(core_v1, namespace, "NotificationChannel", "hook", "Valid")

        kubectl(
            kubeconfig,
            "annotate",
            "notificationchannel",
            "hook",
            "-n",
            namespace,
            "watchkeeper.io/test=1",
        )
        _wait_event(core_v1, namespace, "NotificationChannel", "hook", "TestDelivered")

        wait_states(custom_objects, namespace, "noisy", [("Firing", "Warning")])
        name = alerts(custom_objects, namespace, "noisy")[0]["metadata"]["name"]
        kubectl(kubeconfig, "annotate", "alert", name, "-n", namespace, "watchkeeper.io/ack=alice")
        _wait_event(core_v1, namespace, "Alert", name, "Acknowledged")

        exporter.set(metric, 1)
        _wait_event(core_v1, namespace, "AlertPolicy", "noisy", "Resolved")
    finally:
        exporter.remove(metric)
