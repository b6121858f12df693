"""End to end: the Events the README promises are posted: the Normal (info-level) ones
and the Warning when a delivery is given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.alerting import alerts, apply, policy, wait_states
from tests.kubectl import kubectl, watchkeeper_object
from tests.receivers import Reply
from tests.waiting import eventually, get_object
from watchkeeper.api.timestamps import format_time
from watchkeeper.runtime.policy_status import FIELD_MANAGER

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _reasons(core_v1, namespace: str, kind: str, name: str, type_: str = "Normal") -> list[str]:
    """Reasons of the Events of one type about one object, from the API server."""
    found = core_v1.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name},involvedObject.kind={kind}"
    ).items
    return [e.reason for e in found if e.type == type_]


def _wait_event(core_v1, namespace, kind, name, reason, type_="Normal") -> None:
    eventually(lambda: _reasons(core_v1, namespace, kind, name, type_), lambda r: reason in r)


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


def test_a_delivery_given_up_posts_a_warning_event_on_the_alert(
    operator, kubeconfig, namespace, custom_objects, core_v1, exporter, receiver
):
    """A receiver down past the retry budget (maxAttempts spent and the obligation an hour
    old): the obligation is settled as GaveUp and a NotificationGivenUp Warning Event is on
    the Alert in the API server. The hour is not waited out: while the operator is stopped,
    the failing obligation's firstAttempt is moved two hours back, as if the receiver had
    been down that long; the restarted operator reads it from the Alert's status."""
    metric = "wk_given_up"
    exporter.set(metric, 3)
    receiver.route("/down", Reply(status=503))
    down = watchkeeper_object(
        "NotificationChannel",
        "down",
        {
            "type": "Webhook",
            "webhook": {"url": f"{receiver.url}/down"},
            "retry": {"maxAttempts": 1},
        },
    )
    apply(kubeconfig, namespace, down, policy("unheard", metric, routing={"channels": ["down"]}))
    try:
        [alert] = wait_states(custom_objects, namespace, "unheard", [("Firing", "Warning")])
        name = alert["metadata"]["name"]

        def status() -> dict:
            return get_object(custom_objects, "alerts", namespace, name)["status"]

        eventually(
            lambda: status().get("outbox") or [], lambda o: len(o) == 1 and o[0]["attempts"] >= 1
        )
        assert "NotificationGivenUp" not in _reasons(core_v1, namespace, "Alert", name, "Warning")
        operator.stop()
        try:
            _backdate_first_attempts(
                kubeconfig, get_object(custom_objects, "alerts", namespace, name)
            )
        finally:
            operator.start()
        _wait_event(core_v1, namespace, "Alert", name, "NotificationGivenUp", "Warning")
        settled = eventually(status, lambda s: not s.get("outbox"))  # written after the Event
        [record] = [r for r in settled["notifications"] if r["channel"] == "down"]
        # the same obligation: its attempts before the restart are counted in
        assert record["outcome"] == "GaveUp" and record["attempts"] >= 2, record
    finally:
        exporter.remove(metric)


def _backdate_first_attempts(kubeconfig, alert: dict) -> None:
    """Move the outbox's firstAttempt two hours back, applied as the operator's own field
    manager with exactly the fields it owns (another manager owning the outbox would keep
    it from being emptied)."""
    [owned] = [
        m["fieldsV1"]["f:status"]
        for m in alert["metadata"]["managedFields"]
        if m["manager"] == FIELD_MANAGER and m["operation"] == "Apply"
    ]
    status = {k: v for k, v in alert["status"].items() if f"f:{k}" in owned}
    for obligation in status["outbox"]:
        obligation["firstAttempt"] = format_time(datetime.now(UTC) - timedelta(hours=2))
    body = {key: alert[key] for key in ("apiVersion", "kind")}
    body["metadata"] = {k: alert["metadata"][k] for k in ("name", "namespace")}
    kubectl(
        kubeconfig,
        "apply",
        "--server-side",
        "--subresource=status",
        f"--field-manager={FIELD_MANAGER}",
        "--force-conflicts",
        "-f",
        "-",
        manifest=body | {"status": status},
    )
