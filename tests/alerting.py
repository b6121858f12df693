"""Helpers for AlertPolicy end-to-end tests."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from tests.kubectl import kubectl
from tests.waiting import eventually, get_object


def policy(name: str, query: str, **spec: Any) -> dict[str, Any]:
    body = {
        "query": query,
        "thresholds": [{"severity": "Warning", "value": 2}, {"severity": "Critical", "value": 5}],
        "evaluationInterval": "1s",
        **spec,
    }
    return {
        "apiVersion": "watchkeeper.io/v1alpha1",
        "kind": "AlertPolicy",
        "metadata": {"name": name},
        "spec": body,
    }


def apply(kubeconfig, namespace: str, *objects: dict[str, Any]) -> None:
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=list(objects))


def alerts(api: client.CustomObjectsApi, namespace: str, policy_name: str) -> list[dict[str, Any]]:
    """The policy's Alerts that have a state (an Alert is created, then its status written:
    for a moment in between it has none)."""
    found = api.list_namespaced_custom_object(
        "watchkeeper.io",
        "v1alpha1",
        namespace,
        "alerts",
        label_selector=f"watchkeeper.io/policy={policy_name}",
    )["items"]
    complete = [a for a in found if (a.get("status") or {}).get("state")]
    return sorted(complete, key=lambda a: a["metadata"]["name"])


def states(api, namespace, policy_name) -> list[tuple[str | None, str | None]]:
    return [
        ((a.get("status") or {}).get("state"), (a.get("status") or {}).get("severity"))
        for a in alerts(api, namespace, policy_name)
    ]


def wait_states(
    api, namespace, policy_name, expected, timeout: float = 30.0
) -> list[dict[str, Any]]:
    eventually(lambda: states(api, namespace, policy_name), lambda s: s == expected, timeout)
    return alerts(api, namespace, policy_name)


def policy_condition(api, namespace, name, reason, timeout: float = 30.0) -> dict[str, Any]:
    def evaluated(obj):
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond["type"] == "Evaluated":
                return cond
        return {}

    obj = eventually(
        lambda: get_object(api, "alertpolicies", namespace, name),
        lambda o: evaluated(o).get("reason") == reason,
        timeout,
    )
    return evaluated(obj)


def events(core_v1: client.CoreV1Api, namespace: str, name: str) -> list[tuple[str, str]]:
    found = core_v1.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name}"
    ).items
    return [
        (e.reason, e.message) for e in sorted(found, key=lambda e: e.metadata.creation_timestamp)
    ]
