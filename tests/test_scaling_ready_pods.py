"""End to end on fake nodes (kube-scheduler + KWOK): pods are scheduled and turn Ready
POD_READY_DELAY seconds later, and a ScalingPolicy counts the ready pods through the
target's selector, as the HPA does."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from devenv import LocalCluster, MetricsExporter, OperatorProcess
from devenv.names import namespace_name
from tests.kubectl import ALLOW_SCALING, kubectl
from tests.test_scalingpolicy import scaling_policy

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


@pytest.fixture
def node_api(node_cluster: LocalCluster) -> Iterator[client.ApiClient]:
    api = kube_config.new_client_from_config(config_file=str(node_cluster.kubeconfig))
    try:
        yield api
    finally:
        api.close()


def _deployment(apps: client.AppsV1Api, namespace: str, name: str, replicas: int) -> None:
    labels = {"app": name}
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name, labels=ALLOW_SCALING),
            spec=client.V1DeploymentSpec(
                replicas=replicas,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="app", image="registry.invalid/a:1")]
                    ),
                ),
            ),
        ),
    )


def _counts(apps: client.AppsV1Api, namespace: str, name: str) -> tuple[int, int]:
    """(spec.replicas, status.readyReplicas)"""
    found = apps.read_namespaced_deployment(name, namespace)
    return int(found.spec.replicas), int(found.status.ready_replicas or 0)


def _until(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_value_target_does_not_overshoot_while_new_pods_start(
    request: pytest.FixtureRequest,
    node_cluster: LocalCluster,
    node_operator: OperatorProcess,
    node_api: client.ApiClient,
    exporter: MetricsExporter,
):
    """2 ready pods at 4x the target ask for 8. While the 6 new pods start, the usage ratio
    is still 4 but only 2 pods are ready: the policy keeps asking for 8 (4 x 2 ready), where
    multiplying by spec.replicas would ask for 32 and hit maxReplicas at the next
    evaluation."""
    core, apps = client.CoreV1Api(node_api), client.AppsV1Api(node_api)
    namespace = namespace_name(request.node.name)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    metric = "wk_ready_pods_latency"
    try:
        _deployment(apps, namespace, "web", 2)
        _until(lambda: _counts(apps, namespace, "web") == (2, 2), 60)
        exporter.set(metric, 400)
        policy = scaling_policy(
            "ready",
            metric,
            maxReplicas=20,
            metrics=[
                {
                    "name": "load",
                    "query": f"sum({metric})",
                    "target": {"type": "Value", "value": 100},
                }
            ],
            behavior={
                "scaleUp": {"policies": [{"type": "Pods", "value": 100, "period": "1s"}]},
                "scaleDown": {"selectPolicy": "Disabled"},
            },
        )
        kubectl(node_cluster.kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=[policy])
        _until(lambda: _counts(apps, namespace, "web")[0] != 2, 60)
        scaled = time.monotonic()
        seen = []
        while (counts := _counts(apps, namespace, "web"))[1] == 2:  # the new pods start
            seen.append(counts[0])
            assert time.monotonic() - scaled < 60, "the new pods never became ready"
            time.sleep(0.2)
        starting = time.monotonic() - scaled
        assert set(seen) == {8}, "4 x 2 ready pods, and no more while the new ones start"
        assert starting >= 2.5, f"the new pods started in {starting:.1f}s: too few evaluations"
        found = client.CustomObjectsApi(node_api).get_namespaced_custom_object(
            "watchkeeper.io", "v1alpha1", namespace, "scalingpolicies", "ready"
        )
        assert found["status"]["metrics"][0]["proposedReplicas"] >= 8
    finally:
        exporter.remove(metric)
        core.delete_namespace(namespace)
