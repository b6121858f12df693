"""End to end through the operator: the test send (annotation watchkeeper.io/test), the
channel's delivery status and printer columns, the rate-limit summary restored from
status after a restart, and no secret value in status, events or the operator's log."""

from __future__ import annotations

import base64
import json
import time

import pytest
from kubernetes import client

from tests.kubectl import kubectl, watchkeeper_object
from tests.receivers import Reply
from tests.waiting import eventually, get_object, wait_ready

pytestmark = pytest.mark.cluster

PLURAL = "notificationchannels"
SECRET_TOKEN = "T0KEN-e2e-very-secret-4242"


def _channel(name: str, spec: dict) -> dict:
    return watchkeeper_object("NotificationChannel", name, spec)


def _apply(kubeconfig, namespace, *objects) -> None:
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=list(objects))


def _annotate(kubeconfig, namespace, name, value) -> None:
    kubectl(
        kubeconfig,
        "annotate",
        "--overwrite",
        "-n",
        namespace,
        f"{PLURAL}/{name}",
        f"watchkeeper.io/test={value}",
    )


def _last_test(custom_objects, namespace, name, value) -> dict:
    obj = eventually(
        lambda: get_object(custom_objects, PLURAL, namespace, name),
        lambda o: ((o.get("status") or {}).get("lastTest") or {}).get("value") == value,
    )
    return obj


def test_a_new_annotation_value_sends_one_test_message_even_across_restarts(
    operator, kubeconfig, namespace, custom_objects, receiver
):
    spec = {"type": "Webhook", "webhook": {"url": f"{receiver.url}/hook"}}
    _apply(kubeconfig, namespace, _channel("hook", spec))
    wait_ready(custom_objects, PLURAL, namespace, "hook", "True")

    _annotate(kubeconfig, namespace, "hook", "one")
    obj = _last_test(custom_objects, namespace, "hook", "one")
    status = obj["status"]
    assert status["lastTest"]["outcome"] == "Delivered"
    assert status["lastDelivery"]["outcome"] == "Delivered"
    assert status["lastDelivery"]["event"] == "Test"
    assert status["counters"]["sent"] == 1
    (request,) = receiver.wait_for(1, "/hook")
    body = request.json()
    assert body["alerts"][0]["labels"]["alertname"] == "WatchkeeperTest"
    assert body["receiver"] == "hook"

    table = kubectl(kubeconfig, "get", PLURAL, "-n", namespace, "hook").stdout
    header, row = table.splitlines()
    assert header.split() == ["NAME", "TYPE", "READY", "LAST", "DELIVERY", "AGE"]
    assert row.split()[:3] == ["hook", "Webhook", "True"]

    operator.restart()  # the recorded value is not sent again
    _annotate(kubeconfig, namespace, "hook", "two")
    _last_test(custom_objects, namespace, "hook", "two")
    time.sleep(1.0)
    assert [r.json()["receiver"] for r in receiver.to("/hook")] == ["hook", "hook"]
    obj = get_object(custom_objects, PLURAL, namespace, "hook")
    assert obj["status"]["counters"]["sent"] == 2


def test_failed_test_send_is_reported_without_secret_values(
    operator, kubeconfig, namespace, custom_objects, core_v1, receiver
):
    secret_url = f"{receiver.url}/services/{SECRET_TOKEN}"
    receiver.default = Reply(404, body=f"unknown hook {secret_url}")
    core_v1.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="slack"),
            data={"url": base64.b64encode(secret_url.encode()).decode()},
        ),
    )
    spec = {"type": "Slack", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}}
    _apply(kubeconfig, namespace, _channel("slack", spec))
    wait_ready(custom_objects, PLURAL, namespace, "slack", "True")
    _annotate(kubeconfig, namespace, "slack", "check-1")

    obj = _last_test(custom_objects, namespace, "slack", "check-1")
    last = obj["status"]["lastTest"]
    assert last["outcome"] == "Failed"
    assert last["error"].endswith("HTTP 404 Not Found")  # never the receiver's body
    assert "unknown hook" not in last["error"]
    assert obj["status"]["counters"]["failed"] == 1
    receiver.wait_for(1, "/services/")
    events = eventually(
        lambda: core_v1.list_namespaced_event(namespace).to_dict(),
        lambda e: any(i["reason"] == "TestFailed" for i in e["items"]),
    )
    for text in (str(obj), str(events), operator.log_text()):
        assert SECRET_TOKEN not in text


def test_log_channel_writes_a_structured_line(operator, kubeconfig, namespace, custom_objects):
    _apply(kubeconfig, namespace, _channel("log", {"type": "Log", "log": {"level": "INFO"}}))
    wait_ready(custom_objects, PLURAL, namespace, "log", "True")
    _annotate(kubeconfig, namespace, "log", "hello")
    obj = _last_test(custom_objects, namespace, "log", "hello")
    assert obj["status"]["lastTest"]["outcome"] == "Delivered"
    line = next(
        line
        for line in operator.log_text().splitlines()
        if "notification {" in line and f'"{namespace}/log"' in line
    )
    record = json.loads(line.split("notification ", 1)[1])
    assert record["event"] == "Test"
    assert record["channel"] == f"{namespace}/log"
    assert record["title"].startswith("Test: Test message from NotificationChannel")


def test_held_notifications_restored_from_status_are_summarized_once(
    operator, kubeconfig, namespace, custom_objects, receiver
):
    spec = {
        "type": "Webhook",
        "webhook": {"url": f"{receiver.url}/hook"},
        "rateLimit": {"max": 1, "per": "3s"},
    }
    _apply(kubeconfig, namespace, _channel("hook", spec))
    wait_ready(custom_objects, PLURAL, namespace, "hook", "True")
    # what an earlier operator run left: the window full, two notifications held back
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    held = [
        {
            "key": f"watchkeeper/{namespace}/a{i}/Firing/t",
            "text": f"Firing [Critical] a{i}",
            "severity": "Critical",
        }
        for i in range(2)
    ]
    custom_objects.patch_namespaced_custom_object_status(
        "watchkeeper.io",
        "v1alpha1",
        namespace,
        PLURAL,
        "hook",
        {
            "status": {
                "rateLimit": {
                    "recent": [{"time": now, "key": "watchkeeper/x/Firing/t"}],
                    "held": 2,
                    "heldSince": now,
                    "heldNotifications": held,
                }
            }
        },
    )
    operator.restart()
    (request,) = receiver.wait_for(1, "/hook", timeout=30)
    body = request.json()
    assert body["alerts"][0]["labels"]["alertname"] == "WatchkeeperNotificationsHeldBack"
    assert body["alerts"][0]["labels"]["severity"] == "Critical"
    description = body["alerts"][0]["annotations"]["description"]
    assert description.splitlines() == ["Firing [Critical] a0", "Firing [Critical] a1"]
    # sent only once the slot of the earlier run had expired
    assert (
        request.time
        >= time.mktime(time.strptime(now[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + 3
    )
    obj = eventually(
        lambda: get_object(custom_objects, PLURAL, namespace, "hook"),
        lambda o: not (o["status"].get("rateLimit") or {}).get("held"),
    )
    assert obj["status"]["lastDelivery"]["event"] == "Summary"
    time.sleep(6)  # another timer period: no second summary
    assert len(receiver.to("/hook")) == 1
