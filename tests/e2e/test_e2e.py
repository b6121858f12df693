"""End to end on the cluster under test: an alert fires from a metric, its notification is
delivered, `watchkeeper ack` acknowledges it; a ScalingPolicy scales a Deployment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.kubectl import create_deployment, create_secret, kubectl, watchkeeper_object
from tests.waiting import eventually, get_object

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")


def _alerts(custom_objects, namespace: str) -> list[dict]:
    listed = custom_objects.list_namespaced_custom_object(
        "watchkeeper.io", "v1alpha1", namespace, "alerts"
    )
    return list(listed["items"])


def test_alert_fires_notifies_and_is_acknowledged(
    operator, exporter, kubeconfig, namespace, core_v1, custom_objects, receiver
) -> None:
    exporter.set("e2e_queue_length", 42, {"queue": namespace})
    create_secret(core_v1, namespace, "hook", {"url": f"{receiver.url}/hook"})
    kubectl(
        kubeconfig,
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        manifest=[
            watchkeeper_object(
                "NotificationChannel",
                "hook",
                {"type": "Webhook", "webhook": {"urlSecretRef": {"name": "hook", "key": "url"}}},
            ),
            watchkeeper_object(
                "AlertPolicy",
                "backlog",
                {
                    "query": f'e2e_queue_length{{queue="{namespace}"}}',
                    "comparison": "GreaterThan",
                    "thresholds": [{"severity": "Warning", "value": 10}],
                    "evaluationInterval": "1s",
                    "routing": {"channels": ["hook"]},
                },
            ),
        ],
    )
    [alert] = eventually(
        lambda: _alerts(custom_objects, namespace),
        lambda alerts: [a for a in alerts if (a.get("status") or {}).get("state") == "Firing"],
        timeout=60,
    )
    [request] = receiver.wait_for(1, "/hook", timeout=30)
    assert request.json()["alerts"][0]["status"] == "firing"

    name = alert["metadata"]["name"]
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    acked = subprocess.run(
        [WATCHKEEPER, "ack", name, "-n", namespace, "--by", "e2e"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert acked.returncode == 0, acked.stderr
    eventually(
        lambda: get_object(custom_objects, "alerts", namespace, name),
        lambda a: ((a.get("status") or {}).get("acknowledged") or {}).get("by") == "e2e",
        timeout=30,
    )
    exporter.remove("e2e_queue_length", {"queue": namespace})


def test_scaling_policy_scales_a_deployment(operator, kubeconfig, namespace, apps_v1) -> None:
    create_deployment(kubeconfig, namespace, "web")
    policy = watchkeeper_object(
        "ScalingPolicy",
        "web",
        {
            "targetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 3,
            "evaluationInterval": "1s",
            "metrics": [
                {"name": "q", "query": "vector(3)", "target": {"type": "AverageValue", "value": 1}}
            ],
        },
    )
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=policy)
    eventually(
        lambda: apps_v1.read_namespaced_deployment_scale("web", namespace).spec.replicas,
        lambda replicas: replicas == 3,
        timeout=60,
    )
