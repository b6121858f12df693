"""The install manifests: the chart and the plain manifests grant the same rights, and
those rights are enough for the operator to run under RBAC as its ServiceAccount."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from devenv.operator import OperatorProcess
from tests.kubectl import kubectl
from tests.waiting import wait_ready

ROOT = Path(__file__).resolve().parent.parent
CHART_RULES = yaml.safe_load((ROOT / "charts/watchkeeper/files/clusterrole-rules.yaml").read_text())
INSTALL = list(yaml.safe_load_all((ROOT / "manifests/install/operator.yaml").read_text()))


def _install(kind: str) -> dict:
    return next(d for d in INSTALL if d["kind"] == kind)


def test_plain_manifests_grant_what_the_chart_grants() -> None:
    assert _install("ClusterRole")["rules"] == CHART_RULES


def test_chart_ships_the_generated_crds() -> None:
    chart = sorted(p.name for p in (ROOT / "charts/watchkeeper/crds").glob("*.yaml"))
    assert chart == sorted(p.name for p in (ROOT / "crds").glob("*.yaml"))


@pytest.mark.cluster
def test_operator_runs_with_only_its_cluster_role(
    operator, cluster, prometheus, kubeconfig, namespace, core_v1, custom_objects, tmp_path
):
    role = {**_install("ClusterRole"), "metadata": {"name": f"wk-{namespace}"[:63]}}
    binding = {
        **_install("ClusterRoleBinding"),
        "metadata": {"name": role["metadata"]["name"]},
        "roleRef": {**_install("ClusterRoleBinding")["roleRef"], "name": role["metadata"]["name"]},
        "subjects": [{"kind": "ServiceAccount", "name": "watchkeeper", "namespace": namespace}],
    }
    core_v1.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="watchkeeper"))
    )
    kubectl(kubeconfig, "apply", "-f", "-", manifest=[role, binding])
    token = core_v1.create_namespaced_service_account_token(
        "watchkeeper",
        namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
        ),
    ).status.token
    admin = yaml.safe_load(kubeconfig.read_text())
    restricted = {
        **admin,
        "users": [{"name": "watchkeeper", "user": {"token": token}}],
        "contexts": [
            {
                "name": "sa",
                "context": {"cluster": admin["clusters"][0]["name"], "user": "watchkeeper"},
            }
        ],
        "current-context": "sa",
    }
    sa_kubeconfig = tmp_path / "sa-kubeconfig"
    sa_kubeconfig.write_text(yaml.safe_dump(restricted))

    can_list_secrets = kubectl(sa_kubeconfig, "auth", "can-i", "list", "secrets", "-A", check=False)
    assert can_list_secrets.stdout.strip() == "no"  # get by name only

    operator.stop()  # the admin operator must not do the work for it
    restricted_operator = OperatorProcess(
        kubeconfig=sa_kubeconfig,
        prometheus_url=prometheus.url,
        log_path=tmp_path / "operator.log",
        env={"WATCHKEEPER_RECHECK_INTERVAL": "1s"},
    )
    restricted_operator.start()
    try:
        secret_data = {"url": base64.b64encode(b"https://hooks.example/x").decode()}
        core_v1.create_namespaced_secret(
            namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="slack"), data=secret_data)
        )
        kubectl(
            kubeconfig,
            "create",
            "deployment",
            "web",
            "--image=registry.invalid/web:1",
            "-n",
            namespace,
        )
        manifest = [
            {
                "apiVersion": "watchkeeper.io/v1alpha1",
                "kind": "NotificationChannel",
                "metadata": {"name": "slack"},
                "spec": {
                    "type": "Slack",
                    "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}},
                },
            },
            {
                "apiVersion": "watchkeeper.io/v1alpha1",
                "kind": "ScalingPolicy",
                "metadata": {"name": "web"},
                "spec": {
                    "targetRef": {"kind": "Deployment", "name": "web"},
                    "maxReplicas": 3,
                    "metrics": [
                        {"name": "q", "query": "vector(1)", "target": {"type": "Value", "value": 1}}
                    ],
                },
            },
        ]
        kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=manifest)
        wait_ready(custom_objects, "notificationchannels", namespace, "slack", "True")
        wait_ready(custom_objects, "scalingpolicies", namespace, "web", "True")
        log = restricted_operator.log_text()
        assert "Forbidden" not in log and " 403" not in log, log
    finally:
        restricted_operator.stop()
        kubectl(kubeconfig, "delete", "-f", "-", manifest=[binding, role], check=False)
