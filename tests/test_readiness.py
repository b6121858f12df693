"""End to end: the operator validates every kind and reports Ready in status, against the
real API server."""

from __future__ import annotations

import base64
import time

import pytest

from tests.kubectl import create_deployment, create_secret, kubectl, watchkeeper_object
from tests.waiting import condition, get_object, wait_ready

pytestmark = pytest.mark.cluster

SECRET_VALUE = "xoxb-very-secret-token-4711"


def _apply(kubeconfig, namespace, *objects) -> None:
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=list(objects))


SLACK = {"type": "Slack", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}}
POLICY = {
    "query": "up",
    "thresholds": [{"severity": "Critical", "value": 1}],
    "comparison": "LessThan",
    "routing": {
        "channels": ["slack-oncall"],
        "escalationPolicyRef": "oncall",
        "muteTimeIntervals": ["maintenance"],
    },
}
PAST = {"intervals": [{"years": ["2001"]}]}  # a TimeInterval that never holds again


def test_policy_turns_ready_when_its_references_appear(
    operator, kubeconfig, namespace, custom_objects, core_v1
):
    _apply(kubeconfig, namespace, watchkeeper_object("AlertPolicy", "api-down", POLICY))
    obj = wait_ready(
        custom_objects, "alertpolicies", namespace, "api-down", "False", "ReferenceNotFound"
    )
    message = condition(obj)["message"]
    assert "NotificationChannel slack-oncall not found" in message
    assert "EscalationPolicy oncall not found" in message
    assert "TimeInterval maintenance not found" in message
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]

    _apply(
        kubeconfig,
        namespace,
        watchkeeper_object("NotificationChannel", "slack-oncall", SLACK),
        watchkeeper_object(
            "EscalationPolicy", "oncall", {"steps": [{"after": "0s", "channels": ["slack-oncall"]}]}
        ),
        watchkeeper_object("TimeInterval", "maintenance", PAST),
    )
    create_secret(core_v1, namespace, "slack", {"url": SECRET_VALUE})
    wait_ready(custom_objects, "alertpolicies", namespace, "api-down", "True", "Valid")
    wait_ready(custom_objects, "notificationchannels", namespace, "slack-oncall", "True")
    wait_ready(custom_objects, "escalationpolicies", namespace, "oncall", "True")


def test_channel_explains_missing_secret_then_missing_key(
    operator, kubeconfig, namespace, custom_objects, core_v1
):
    _apply(kubeconfig, namespace, watchkeeper_object("NotificationChannel", "slack-oncall", SLACK))
    obj = wait_ready(
        custom_objects, "notificationchannels", namespace, "slack-oncall", "False", "SecretNotFound"
    )
    assert condition(obj)["message"] == f"Secret slack not found in namespace {namespace}"

    create_secret(core_v1, namespace, "slack", {"token": SECRET_VALUE})
    obj = wait_ready(
        custom_objects,
        "notificationchannels",
        namespace,
        "slack-oncall",
        "False",
        "SecretKeyNotFound",
    )
    assert condition(obj)["message"] == "Secret slack has no key url"

    core_v1.patch_namespaced_secret(
        "slack", namespace, {"data": {"url": base64.b64encode(SECRET_VALUE.encode()).decode()}}
    )
    obj = wait_ready(custom_objects, "notificationchannels", namespace, "slack-oncall", "True")
    assert SECRET_VALUE not in str(obj)
    events = core_v1.list_namespaced_event(namespace)
    assert SECRET_VALUE not in str(events.to_dict())
    assert SECRET_VALUE not in operator.log_text()


def test_scaling_policy_needs_a_scalable_target(
    operator, kubeconfig, namespace, custom_objects, apps_v1
):
    spec = {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 4,
        "metrics": [
            {
                "name": "rps",
                "query": "sum(rate(x[1m]))",
                "target": {"type": "AverageValue", "value": 10},
            }
        ],
    }
    unscalable = {
        **spec,
        "targetRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "settings"},
    }
    _apply(
        kubeconfig,
        namespace,
        watchkeeper_object("ScalingPolicy", "web", spec),
        watchkeeper_object("ScalingPolicy", "cm", unscalable),
    )
    kubectl(kubeconfig, "create", "configmap", "settings", "-n", namespace)
    obj = wait_ready(custom_objects, "scalingpolicies", namespace, "web", "False", "TargetNotFound")
    assert condition(obj)["message"] == f"Deployment web not found in namespace {namespace}"
    wait_ready(custom_objects, "scalingpolicies", namespace, "cm", "False", "TargetNotScalable")

    create_deployment(kubeconfig, namespace, "web", allow_scaling=False)
    obj = wait_ready(
        custom_objects, "scalingpolicies", namespace, "web", "False", "TargetNotAllowed"
    )
    assert condition(obj)["message"] == (
        "Deployment web is not labelled watchkeeper.io/allow-scaling=true"
    )
    kubectl(
        kubeconfig,
        "label",
        "deployment",
        "web",
        "watchkeeper.io/allow-scaling=true",
        "-n",
        namespace,
    )
    wait_ready(custom_objects, "scalingpolicies", namespace, "web", "True")


def test_invalid_spec_is_reported_without_a_write_storm(
    operator, kubeconfig, namespace, custom_objects
):
    # Passes the schema, fails the model: steps out of time order.
    steps = [{"after": "10m", "channels": []}, {"after": "5m", "channels": []}]
    _apply(
        kubeconfig, namespace, watchkeeper_object("EscalationPolicy", "backwards", {"steps": steps})
    )
    obj = wait_ready(
        custom_objects, "escalationpolicies", namespace, "backwards", "False", "InvalidSpec"
    )
    assert (
        "steps[1].after (5m) is earlier than the step before it (10m)" in condition(obj)["message"]
    )

    version = obj["metadata"]["resourceVersion"]
    time.sleep(3)  # three recheck intervals: nothing changed, so nothing is written
    assert (
        get_object(custom_objects, "escalationpolicies", namespace, "backwards")["metadata"][
            "resourceVersion"
        ]
        == version
    )

    # The operator keeps serving good objects, and fixing the spec makes it Ready.
    _apply(
        kubeconfig,
        namespace,
        watchkeeper_object("EscalationPolicy", "fine", {"steps": [{"after": "0s"}]}),
    )
    wait_ready(custom_objects, "escalationpolicies", namespace, "fine", "True")
    steps.reverse()
    _apply(
        kubeconfig, namespace, watchkeeper_object("EscalationPolicy", "backwards", {"steps": steps})
    )
    obj = wait_ready(custom_objects, "escalationpolicies", namespace, "backwards", "True")
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"] == 2
    assert operator.running


def test_ready_turns_false_when_a_reference_disappears(
    operator, kubeconfig, namespace, custom_objects
):
    _apply(
        kubeconfig,
        namespace,
        watchkeeper_object("NotificationChannel", "log", {"type": "Log", "log": {}}),
        watchkeeper_object(
            "EscalationPolicy", "oncall", {"steps": [{"after": "0s", "channels": ["log"]}]}
        ),
    )
    wait_ready(custom_objects, "escalationpolicies", namespace, "oncall", "True")
    kubectl(kubeconfig, "delete", "notificationchannel", "log", "-n", namespace)
    wait_ready(
        custom_objects, "escalationpolicies", namespace, "oncall", "False", "ReferenceNotFound"
    )


def test_alert_objects_are_validated(operator, kubeconfig, namespace, custom_objects):
    _apply(
        kubeconfig,
        namespace,
        watchkeeper_object("Alert", "manual", {"acknowledgement": {"by": "alice"}}),
    )
    wait_ready(custom_objects, "alerts", namespace, "manual", "True")


def test_status_survives_an_operator_restart(operator, kubeconfig, namespace, custom_objects):
    _apply(
        kubeconfig,
        namespace,
        watchkeeper_object("NotificationChannel", "log", {"type": "Log", "log": {}}),
    )
    before = wait_ready(custom_objects, "notificationchannels", namespace, "log", "True")
    operator.restart()
    time.sleep(2)
    after = get_object(custom_objects, "notificationchannels", namespace, "log")
    assert condition(after) == condition(before)
