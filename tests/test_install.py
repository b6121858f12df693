"""The install manifests: manifests/install is the chart rendered by helm, and the rights it
grants are enough for the operator to run under RBAC as its ServiceAccount, in cluster mode
and in namespaced mode, and no more (checked with `kubectl auth can-i`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from devenv.names import namespace_name as unique_name
from devenv.net import LOOPBACK, free_port, http_ok
from devenv.process import ManagedProcess
from tests.helm import ROOT, needs_helm, template
from tests.kubectl import create_deployment, create_secret, kubectl, service_account_kubeconfig
from tests.test_scalingpolicy import wait_condition
from tests.waiting import wait_ready

INSTALL = ROOT / "manifests/install/operator.yaml"
USER_ROLES = ("watchkeeper-view", "watchkeeper-edit", "watchkeeper-admin")
RBAC_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def test_chart_ships_the_generated_crds() -> None:
    chart = sorted(p.name for p in (ROOT / "charts/watchkeeper/crds").glob("*.yaml"))
    assert chart == sorted(p.name for p in (ROOT / "crds").glob("*.yaml"))


@needs_helm
def test_plain_manifests_are_the_rendered_chart(tmp_path: Path) -> None:
    installed = [d for d in yaml.safe_load_all(INSTALL.read_text()) if d]
    assert installed[0]["kind"] == "Namespace"  # first, so that a dry run works
    assert installed[1:] == template(tmp_path), "run hack/render-install.sh"


@pytest.mark.cluster
def test_install_manifest_dry_runs_on_a_fresh_cluster(kubeconfig, core_v1):
    """The README's order: a server-side dry run needs the namespace to exist (the API
    server's NamespaceLifecycle admission rejects objects in a namespace a dry run only
    pretended to create), so the README creates it first."""
    assert "watchkeeper" not in {ns.metadata.name for ns in core_v1.list_namespace().items}
    blind = kubectl(kubeconfig, "apply", "--dry-run=server", "-f", str(INSTALL), check=False)
    assert 'namespaces "watchkeeper" not found' in blind.stderr
    readme = (ROOT / "README.md").read_text()
    steps = [
        "kubectl create namespace watchkeeper",
        "--dry-run=server -f " + str(INSTALL.relative_to(ROOT)),
    ]
    assert readme.index(steps[0]) < readme.index(steps[1])
    kubectl(kubeconfig, "create", "namespace", "watchkeeper")
    try:
        kubectl(kubeconfig, "apply", "--dry-run=server", "-f", str(INSTALL))
    finally:
        core_v1.delete_namespace("watchkeeper")


def _rbac(docs: list[dict[str, Any]], release_namespace: str) -> list[dict[str, Any]]:
    """The RBAC objects, with the operator's cluster-scoped names made unique to this test
    (the user roles keep their fixed names)."""
    suffix = release_namespace[-5:]
    out = []
    for doc in docs:
        if doc["kind"] not in RBAC_KINDS:
            continue
        if doc["kind"].startswith("Cluster") and doc["metadata"]["name"] not in USER_ROLES:
            doc["metadata"]["name"] += f"-{suffix}"
        ref = doc.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole" and ref["name"] not in USER_ROLES:
            ref["name"] += f"-{suffix}"
        out.append(doc)
    return out


def can(kubeconfig: Path, who: str, *args: str) -> bool:
    result = kubectl(kubeconfig, "auth", "can-i", f"--as={who}", *args, check=False)
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), result.stderr
    return answer == "yes"


def _install(kubeconfig: Path, tmp_path: Path, namespace: str, values: dict) -> list[dict]:
    docs = _rbac(template(tmp_path, values, namespace=namespace), namespace)
    kubectl(kubeconfig, "apply", "-f", "-", manifest=docs)
    return docs


def _uninstall(kubeconfig: Path, docs: list[dict]) -> None:
    ours = [
        d
        for d in docs
        if d["kind"].startswith("Cluster") and d["metadata"]["name"] not in USER_ROLES
    ]
    kubectl(kubeconfig, "delete", "--ignore-not-found", "-f", "-", manifest=ours, check=False)


@pytest.mark.cluster
@needs_helm
def test_cluster_mode_rights_are_least_privilege(kubeconfig, namespace, tmp_path):
    docs = _install(kubeconfig, tmp_path, namespace, {})
    sa = f"system:serviceaccount:{namespace}:watchkeeper"
    try:
        assert can(kubeconfig, sa, "get", "secrets", "-n", "default")
        assert not can(kubeconfig, sa, "list", "secrets", "-A")
        assert not can(kubeconfig, sa, "watch", "secrets", "-n", namespace)
        assert can(kubeconfig, sa, "update", "deployments", "--subresource=scale", "-n", "default")
        assert can(kubeconfig, sa, "update", "statefulsets", "--subresource=scale", "-n", "x")
        assert can(kubeconfig, sa, "get", "deployments", "-n", "default")
        assert can(kubeconfig, sa, "watch", "deployments", "-n", "default")
        assert not can(kubeconfig, sa, "patch", "deployments", "-n", "default")
        assert can(kubeconfig, sa, "watch", "pods", "-n", "default")
        assert not can(kubeconfig, sa, "delete", "pods", "-n", "default")
        assert not can(kubeconfig, sa, "update", "deployments", "-n", "default")
        assert not can(kubeconfig, sa, "update", "replicasets", "--subresource=scale", "-A")
        assert not can(
            kubeconfig, sa, "update", "rollouts.argoproj.io", "--subresource=scale", "-A"
        )
        assert can(kubeconfig, sa, "create", "alerts.watchkeeper.io", "-n", "default")
        assert can(kubeconfig, sa, "delete", "alerts.watchkeeper.io", "-n", "default")
        assert can(kubeconfig, sa, "delete", "silences.watchkeeper.io", "-n", "default")
        assert not can(kubeconfig, sa, "create", "silences.watchkeeper.io", "-n", "default")
        for kind in ("alertpolicies", "notificationchannels", "escalationpolicies"):
            assert not can(kubeconfig, sa, "create", f"{kind}.watchkeeper.io", "-n", "default")
            assert not can(kubeconfig, sa, "delete", f"{kind}.watchkeeper.io", "-n", "default")
        assert can(
            kubeconfig, sa, "patch", "scalingpolicies.watchkeeper.io", "--subresource=status", "-A"
        )
        assert can(kubeconfig, sa, "create", "leases.coordination.k8s.io", "-n", namespace)
        assert can(kubeconfig, sa, "update", "leases/watchkeeper-leader", "-n", namespace)
        assert not can(kubeconfig, sa, "update", "leases/kube-scheduler", "-n", namespace)
        assert not can(kubeconfig, sa, "create", "leases.coordination.k8s.io", "-n", "default")
        assert not can(kubeconfig, sa, "get", "clusterkopfpeerings.kopf.dev")
    finally:
        _uninstall(kubeconfig, docs)


@pytest.mark.cluster
@needs_helm
def test_namespaced_mode_reads_secrets_only_where_it_watches(
    kubeconfig, namespace, core_v1, tmp_path
):
    watched, other = unique_name("wk-watched"), unique_name("wk-other")
    for name in (watched, other):
        core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    docs = _install(kubeconfig, tmp_path, namespace, {"watchNamespaces": [watched]})
    sa = f"system:serviceaccount:{namespace}:watchkeeper"
    try:
        assert can(kubeconfig, sa, "get", "secrets", "-n", watched)
        assert not can(kubeconfig, sa, "get", "secrets", "-n", other)
        assert not can(kubeconfig, sa, "get", "secrets", "-n", namespace)
        assert can(kubeconfig, sa, "update", "deployments", "--subresource=scale", "-n", watched)
        assert not can(kubeconfig, sa, "update", "deployments", "--subresource=scale", "-n", other)
        assert not can(kubeconfig, sa, "create", "alerts.watchkeeper.io", "-n", other)
        assert can(kubeconfig, sa, "list", "customresourcedefinitions")
    finally:
        _uninstall(kubeconfig, docs)
        for name in (watched, other):
            core_v1.delete_namespace(name)


@pytest.mark.cluster
@needs_helm
def test_user_roles_never_grant_status(kubeconfig, namespace, tmp_path):
    docs = _install(kubeconfig, tmp_path, namespace, {})
    alice, bob = unique_name("alice"), unique_name("bob")
    bindings = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{user}-{role}", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
        for user, role in ((alice, "watchkeeper-edit"), (bob, "watchkeeper-view"))
    ]
    kubectl(kubeconfig, "apply", "-f", "-", manifest=bindings)
    try:
        ns = ("-n", namespace)
        assert can(kubeconfig, alice, "create", "alertpolicies.watchkeeper.io", *ns)
        assert can(kubeconfig, alice, "delete", "scalingpolicies.watchkeeper.io", *ns)
        assert can(kubeconfig, alice, "patch", "alerts.watchkeeper.io", *ns)  # acknowledge
        assert can(kubeconfig, alice, "create", "silences.watchkeeper.io", *ns)
        assert not can(kubeconfig, alice, "create", "alerts.watchkeeper.io", *ns)
        assert not can(kubeconfig, alice, "delete", "alerts.watchkeeper.io", *ns)
        for verb in ("patch", "update"):
            for kind in ("alerts", "alertpolicies", "scalingpolicies", "silences"):
                assert not can(
                    kubeconfig, alice, verb, f"{kind}.watchkeeper.io", "--subresource=status", *ns
                )
        assert not can(kubeconfig, alice, "get", "secrets", *ns)
        assert not can(kubeconfig, alice, "create", "alertpolicies.watchkeeper.io", "-n", "x")
        assert can(kubeconfig, bob, "list", "alerts.watchkeeper.io", *ns)
        assert not can(kubeconfig, bob, "patch", "alerts.watchkeeper.io", *ns)
    finally:
        kubectl(kubeconfig, "delete", "-f", "-", manifest=bindings, check=False)
        _uninstall(kubeconfig, docs)


def _run_restricted(
    operator,
    cluster,
    prometheus,
    kubeconfig,
    namespace,
    core_v1,
    custom_objects,
    tmp_path,
    values: dict,
    watch: str,
) -> None:
    """The operator as its ServiceAccount, with the chart's rights for `values`, resolves a
    Secret and a scale target in `watch` without a single Forbidden."""
    docs = _install(kubeconfig, tmp_path, namespace, values)
    sa_kubeconfig = service_account_kubeconfig(
        kubeconfig, core_v1, namespace, "watchkeeper", tmp_path / "sa-kubeconfig"
    )
    operator.stop()  # the admin operator must not do the work for it
    scope = ["--namespace", watch] if values.get("watchNamespaces") else ["--all-namespaces"]
    liveness = f"http://{LOOPBACK}:{free_port()}/healthz"
    argv = [sys.executable, "-m", "watchkeeper", "run", *scope, "--liveness", liveness]
    env = {k: v for k, v in os.environ.items() if k not in ("KUBERNETES_SERVICE_HOST",)} | {
        "PYTHONUNBUFFERED": "1",
        "KUBECONFIG": str(sa_kubeconfig),
        "WATCHKEEPER_PROMETHEUS_URL": prometheus.url,
        "WATCHKEEPER_RECHECK_INTERVAL": "1s",
        "POD_NAMESPACE": namespace,  # as the chart's Deployment sets it
    }
    restricted = ManagedProcess("watchkeeper", argv, tmp_path / "operator.log", env)
    restricted.start()
    restricted.wait_ready(lambda: http_ok(liveness), 60)
    try:
        create_secret(core_v1, watch, "slack", {"url": "https://hooks.example/x"})
        create_deployment(kubeconfig, watch, "web")
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
                    "evaluationInterval": "1s",
                    "metrics": [
                        {"name": "q", "query": "vector(1)", "target": {"type": "Value", "value": 1}}
                    ],
                },
            },
        ]
        kubectl(kubeconfig, "apply", "-n", watch, "-f", "-", manifest=manifest)
        wait_ready(custom_objects, "notificationchannels", watch, "slack", "True")
        wait_ready(custom_objects, "scalingpolicies", watch, "web", "True")
        wait_condition(custom_objects, watch, "web", "AbleToScale", "ReadyForNewScale", 60)
        log = (tmp_path / "operator.log").read_text()
        assert "Forbidden" not in log and " 403" not in log, log
    finally:
        restricted.stop()
        _uninstall(kubeconfig, docs)


@pytest.mark.cluster
@needs_helm
def test_operator_runs_with_only_its_cluster_role(
    operator, cluster, prometheus, kubeconfig, namespace, core_v1, custom_objects, tmp_path
):
    _run_restricted(
        operator,
        cluster,
        prometheus,
        kubeconfig,
        namespace,
        core_v1,
        custom_objects,
        tmp_path,
        {},
        namespace,
    )


@pytest.mark.cluster
@needs_helm
def test_operator_runs_with_only_its_namespaced_roles(
    operator, cluster, prometheus, kubeconfig, namespace, core_v1, custom_objects, tmp_path
):
    watched = unique_name("wk-team")
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=watched)))
    try:
        _run_restricted(
            operator,
            cluster,
            prometheus,
            kubeconfig,
            namespace,
            core_v1,
            custom_objects,
            tmp_path,
            {"watchNamespaces": [watched]},
            watched,
        )
    finally:
        core_v1.delete_namespace(watched)
