"""End to end: whatever labels Prometheus returns are stored in the Alert's status, and an
Alert write the API server refuses shows on the policy (Evaluated=False, AlertWriteFailed)
instead of only in the log; once the API server takes it again, the Alert is written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes.client.exceptions import ApiException

from tests.alerting import apply, policy, policy_condition, wait_states
from tests.kubectl import kubectl
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

ODD_LABELS = {"fire": "ü🔥", "quote": 'a"b', "both": 'ü"🔥\\', "breaks": "x\u2028y"}


def test_labels_with_non_ascii_and_quotes_are_stored(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    metric = "wk_odd_labels"
    exporter.set(metric, 3, ODD_LABELS)
    try:
        apply(kubeconfig, namespace, policy("odd", metric))
        [alert] = wait_states(custom_objects, namespace, "odd", [("Firing", "Warning")])
        labels = alert["status"]["labels"]
        assert {k: labels[k] for k in ODD_LABELS} == ODD_LABELS
        condition = policy_condition(custom_objects, namespace, "odd", "QuerySucceeded")
        assert condition["status"] == "True"
    finally:
        exporter.remove(metric, ODD_LABELS)


def _admission_policy(name: str, namespace: str) -> list[dict]:
    """Refuses every Alert status holding a label `refuse`, in `namespace` only."""
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["watchkeeper.io"],
                            "apiVersions": ["v1alpha1"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["alerts/status"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "!has(object.status) || !has(object.status.labels) "
                        "|| !('refuse' in object.status.labels)",
                        "message": "this cluster refuses Alerts labelled refuse",
                    }
                ],
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
                },
            },
        },
    ]


@pytest.fixture
def refusing(kubeconfig, namespace, custom_objects) -> Iterator[list[dict]]:
    """An admission policy that refuses some Alert status writes, in force when yielded."""
    docs = _admission_policy(f"wk-refuse-{namespace}"[:63], namespace)
    kubectl(kubeconfig, "apply", "-f", "-", manifest=docs)
    probe = {
        "apiVersion": "watchkeeper.io/v1alpha1",
        "kind": "Alert",
        "metadata": {"name": "probe"},
    }
    custom_objects.create_namespaced_custom_object(
        "watchkeeper.io", "v1alpha1", namespace, "alerts", {**probe, "spec": {}}
    )

    def refused() -> bool:
        try:
            custom_objects.patch_namespaced_custom_object_status(
                "watchkeeper.io",
                "v1alpha1",
                namespace,
                "alerts",
                "probe",
                {"status": {"labels": {"refuse": "yes"}}},
            )
        except ApiException as error:
            return error.status in (403, 422)
        return False

    eventually(refused, bool)
    try:
        yield docs
    finally:
        kubectl(kubeconfig, "delete", "--ignore-not-found", "-f", "-", manifest=docs)


def test_a_refused_alert_write_is_a_condition_on_the_policy(
    operator, kubeconfig, namespace, custom_objects, exporter, refusing
):
    metric, labels = "wk_refused_write", {"refuse": "yes"}
    exporter.set(metric, 3, labels)
    try:
        apply(kubeconfig, namespace, policy("refused", metric))
        condition = policy_condition(custom_objects, namespace, "refused", "AlertWriteFailed")
        [alert] = custom_objects.list_namespaced_custom_object(
            "watchkeeper.io",
            "v1alpha1",
            namespace,
            "alerts",
            label_selector="watchkeeper.io/policy=refused",
        )["items"]
        name = alert["metadata"]["name"]
        assert condition["status"] == "False"
        assert f"Alert {name}" in condition["message"]
        assert "this cluster refuses Alerts labelled refuse" in condition["message"]
        assert not (alert.get("status") or {}).get("state")

        kubectl(kubeconfig, "delete", "-f", "-", manifest=refusing)
        wait_states(custom_objects, namespace, "refused", [("Firing", "Warning")])
        condition = policy_condition(custom_objects, namespace, "refused", "QuerySucceeded")
        assert condition["status"] == "True"
    finally:
        exporter.remove(metric, labels)
