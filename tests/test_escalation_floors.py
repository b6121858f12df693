"""End to end: an escalation floor is lifted when what raised it is gone, though no
notification round will ever lift it: the AlertPolicy deleted, its escalation reference
removed, the EscalationPolicy made invalid, or its scale action removed."""

from __future__ import annotations

import pytest

from tests.alerting import apply, policy, wait_states
from tests.kubectl import create_deployment, kubectl, watchkeeper_object
from tests.waiting import eventually, get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

SCALE_WEB = {"scale": {"scalingPolicyRef": "web", "minReplicas": 3}}


def _scaling() -> dict:
    return watchkeeper_object(
        "ScalingPolicy",
        "web",
        {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [
                {"name": "load", "query": "wk_floor_load", "target": {"type": "Value", "value": 10}}
            ],
            "evaluationInterval": "1s",
            "cooldown": "0s",
            "behavior": {"scaleDown": {"stabilizationWindow": "0s"}},
        },
    )


def _escalation(*steps: dict) -> dict:
    return watchkeeper_object("EscalationPolicy", "oncall", {"steps": list(steps)})


def _floors(custom_objects, namespace) -> list[dict]:
    status = get_object(custom_objects, "scalingpolicies", namespace, "web").get("status") or {}
    return status.get("floors") or []


LOG = watchkeeper_object("NotificationChannel", "log", {"type": "Log", "log": {}})


def _delete_policy(kubeconfig, namespace, metric):
    kubectl(kubeconfig, "delete", "alertpolicy", "esc", "-n", namespace)


def _remove_reference(kubeconfig, namespace, metric):
    apply(kubeconfig, namespace, policy("esc", metric))


def _make_escalation_invalid(kubeconfig, namespace, metric):
    # accepted by the API server; the model refuses steps out of time order
    later, earlier = (
        {"after": "5s", "actions": [SCALE_WEB]},
        {"after": "0s", "actions": [SCALE_WEB]},
    )
    apply(kubeconfig, namespace, _escalation(later, earlier))


def _remove_scale_action(kubeconfig, namespace, metric):
    apply(kubeconfig, namespace, LOG, _escalation({"after": "0s", "channels": ["log"]}))


@pytest.mark.parametrize(
    "change",
    [_delete_policy, _remove_reference, _make_escalation_invalid, _remove_scale_action],
)
def test_a_floor_nothing_justifies_is_lifted(
    change, operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = f"wk_floor_{change.__name__.strip('_')}"
    exporter.set("wk_floor_load", 1)
    create_deployment(kubeconfig, namespace, "web")
    apply(
        kubeconfig,
        namespace,
        _scaling(),
        _escalation({"after": "0s", "actions": [SCALE_WEB]}),
    )
    exporter.set(metric, 3)
    try:
        apply(
            kubeconfig, namespace, policy("esc", metric, routing={"escalationPolicyRef": "oncall"})
        )
        [floor] = eventually(lambda: _floors(custom_objects, namespace), bool)
        assert floor["minReplicas"] == 3
        eventually(
            lambda: apps_v1.read_namespaced_deployment_scale("web", namespace).spec.replicas,
            lambda r: r == 3,
        )

        change(kubeconfig, namespace, metric)
        eventually(lambda: _floors(custom_objects, namespace), lambda f: f == [], timeout=40)
        if change is not _delete_policy:  # the alert fires on: only reconciliation lifts it
            wait_states(custom_objects, namespace, "esc", [("Firing", "Warning")])
        eventually(
            lambda: apps_v1.read_namespaced_deployment_scale("web", namespace).spec.replicas,
            lambda r: r == 1,
            timeout=40,
        )
        assert f"ScalingPolicy {namespace}/web: floor of Alert esc-" in operator.log_text()
    finally:
        exporter.remove(metric)
