"""The chart installed, upgraded and uninstalled by the real (pinned) helm in the local API
server; its default pod passes the restricted Pod Security Standard there."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from devenv.names import namespace_name
from tests.helm import CHART, helm, needs_helm, objects, template
from tests.kubectl import kubectl

pytestmark = [pytest.mark.cluster, needs_helm]


def _helm(kubeconfig: Path, *args: str, check: bool = True):
    return helm(*args, "--kubeconfig", str(kubeconfig), check=check)


def _get(kubeconfig: Path, *args: str) -> dict | None:
    result = kubectl(kubeconfig, "get", *args, "-o", "yaml", check=False)
    return yaml.safe_load(result.stdout) if result.returncode == 0 else None


def test_install_upgrade_uninstall(kubeconfig, namespace, apps_v1) -> None:
    release = namespace_name("wk")  # unique cluster-scoped names: <release>-watchkeeper
    name = f"{release}-watchkeeper"
    base = ["-n", namespace, "--set", "rbac.userRoles=false"]  # fixed names: one per cluster
    _helm(kubeconfig, "install", release, str(CHART), *base)
    try:
        deployment = apps_v1.read_namespaced_deployment(name, namespace)
        assert deployment.spec.replicas == 1
        assert _get(kubeconfig, "service", f"{name}-metrics", "-n", namespace)
        assert _get(kubeconfig, "clusterrole", name)
        assert _get(kubeconfig, "pdb", name, "-n", namespace) is None
        assert _get(kubeconfig, "crd", "alertpolicies.watchkeeper.io")

        _helm(kubeconfig, "upgrade", release, str(CHART), *base, "--set", "replicas=2")
        deployment = apps_v1.read_namespaced_deployment(name, namespace)
        assert deployment.spec.replicas == 2
        assert "--leader-elect" in deployment.spec.template.spec.containers[0].args
        assert _get(kubeconfig, "pdb", name, "-n", namespace)
        history = _helm(kubeconfig, "history", release, "-n", namespace, "-o", "yaml").stdout
        assert [entry["revision"] for entry in yaml.safe_load(history)] == [1, 2]
    finally:
        _helm(kubeconfig, "uninstall", release, "-n", namespace, "--wait", check=False)
    assert _get(kubeconfig, "deployment", name, "-n", namespace) is None
    assert _get(kubeconfig, "clusterrole", name) is None
    assert _get(kubeconfig, "crd", "alertpolicies.watchkeeper.io")  # helm never deletes CRDs


def test_default_pod_meets_the_restricted_pod_security_standard(
    kubeconfig, core_v1, tmp_path
) -> None:
    restricted = namespace_name("restricted")
    core_v1.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(
                name=restricted, labels={"pod-security.kubernetes.io/enforce": "restricted"}
            )
        )
    )
    try:
        [deployment] = objects(template(tmp_path), "Deployment")
        template_ = deployment["spec"]["template"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"}, **template_}
        pod["metadata"] = {"name": "operator", "labels": template_["metadata"]["labels"]}
        kubectl(kubeconfig, "apply", "--dry-run=server", "-n", restricted, "-f", "-", manifest=pod)
        # and the admission really enforces: the same pod as root is refused
        pod["spec"]["securityContext"] = {"runAsUser": 0}
        refused = kubectl(
            kubeconfig,
            "apply",
            "--dry-run=server",
            "-n",
            restricted,
            "-f",
            "-",
            manifest=pod,
            check=False,
        )
        assert refused.returncode != 0 and "restricted" in refused.stderr
    finally:
        core_v1.delete_namespace(restricted)
