"""The Helm chart, rendered by the real (pinned) helm: RBAC in cluster and namespaced
mode, several replicas, and arguments the operator's CLI accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helm import CHART, helm, needs_helm, objects, template, values_args
from watchkeeper.cli import build_parser

pytestmark = needs_helm

USER_ROLES = ("watchkeeper-view", "watchkeeper-edit", "watchkeeper-admin")
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"watchNamespaces": ["team-a", "team-b"]},
    "replicas": {"replicas": 3},
    "trusting": {"security": {"referencePolicy": "any"}},
    "extra-scale": {
        "scaling": {"extraScaleResources": [{"apiGroup": "argoproj.io", "resources": ["rollouts"]}]}
    },
}


def _rules(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = doc["rules"]
    return rules


def _grants(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(
        group in rule["apiGroups"]
        and resource in rule["resources"]
        and verb in rule["verbs"]
        and not rule.get("resourceNames")
        for rule in rules
    )


def _operator_args(docs: list[dict[str, Any]]) -> list[str]:
    [deployment] = objects(docs, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    args: list[str] = container["args"]
    return args


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_chart_lints(values: dict[str, Any], tmp_path: Path) -> None:
    helm("lint", "--strict", str(CHART), *values_args(values, tmp_path))


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_every_argument_is_one_the_operator_accepts(values: dict[str, Any], tmp_path: Path) -> None:
    args = _operator_args(template(tmp_path, values))
    assert args[0] == "run"
    try:
        build_parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"watchkeeper rejects the chart's arguments {args}")


def test_cluster_mode_grants_least_privilege(tmp_path: Path) -> None:
    docs = template(tmp_path)
    [role] = objects(docs, "ClusterRole")[:1]
    rules = _rules(role)
    assert _grants(rules, "", "secrets", "get")
    assert not _grants(rules, "", "secrets", "list") and not _grants(rules, "", "secrets", "watch")
    assert _grants(rules, "apps", "deployments/scale", "update")
    assert _grants(rules, "apps", "statefulsets/scale", "update")
    assert not _grants(rules, "apps", "deployments", "patch")
    assert _grants(rules, "", "pods", "watch") and not _grants(rules, "", "pods", "get")
    assert not any(
        "*" in rule["apiGroups"] or any("*" in r for r in rule["resources"]) for rule in rules
    )
    assert _grants(rules, "watchkeeper.io", "alerts", "create")
    for kind in ("alertpolicies", "notificationchannels", "escalationpolicies", "scalingpolicies"):
        assert not _grants(rules, "watchkeeper.io", kind, "create")
        assert not _grants(rules, "watchkeeper.io", kind, "delete")
        assert not _grants(rules, "watchkeeper.io", kind, "update")
    assert not any(
        "kopf.dev" in rule["apiGroups"] for doc in docs if "rules" in doc for rule in doc["rules"]
    )


def test_namespaced_mode_uses_roles_in_the_watched_namespaces(tmp_path: Path) -> None:
    docs = template(tmp_path, VALUE_SETS["namespaced"])
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in objects(docs, "Role")}
    assert ("team-a", "watchkeeper") in roles and ("team-b", "watchkeeper") in roles
    bindings = {
        (b["metadata"]["namespace"], b["roleRef"]["name"]) for b in objects(docs, "RoleBinding")
    }
    assert ("team-a", "watchkeeper") in bindings and ("team-b", "watchkeeper") in bindings
    operator_roles = [
        r for r in objects(docs, "ClusterRole") if r["metadata"]["name"] not in USER_ROLES
    ]
    assert [r["metadata"]["name"] for r in operator_roles] == ["watchkeeper-discovery"]
    for role in operator_roles:
        groups = {g for rule in role["rules"] for g in rule["apiGroups"]}
        assert groups == {"apiextensions.k8s.io", ""}
        assert not _grants(role["rules"], "", "secrets", "get")
    args = _operator_args(docs)
    assert "--namespace=team-a" in args and "--namespace=team-b" in args
    assert "--all-namespaces" not in args


def test_extra_scale_resources_are_opt_in(tmp_path: Path) -> None:
    default_rules = _rules(objects(template(tmp_path), "ClusterRole")[0])
    assert not _grants(default_rules, "argoproj.io", "rollouts/scale", "update")
    rules = _rules(objects(template(tmp_path, VALUE_SETS["extra-scale"]), "ClusterRole")[0])
    assert _grants(rules, "argoproj.io", "rollouts/scale", "update")
    assert _grants(rules, "argoproj.io", "rollouts", "get")
    assert not _grants(rules, "argoproj.io", "rollouts", "patch")


def test_one_replica_has_no_pdb_and_no_leader_election(tmp_path: Path) -> None:
    docs = template(tmp_path)
    assert objects(docs, "PodDisruptionBudget") == []
    assert "--leader-elect" not in _operator_args(docs)
    assert "--peering" not in " ".join(_operator_args(docs))


def test_several_replicas_elect_a_leader_and_keep_one_up(tmp_path: Path) -> None:
    docs = template(tmp_path, VALUE_SETS["replicas"])
    [pdb] = objects(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    [deployment] = objects(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    args = _operator_args(docs)
    assert "--leader-elect" in args
    assert not any(a.startswith("--peering") for a in args)
    [lease_role] = [
        r for r in objects(docs, "Role") if r["metadata"]["name"].endswith("leader-election")
    ]
    assert lease_role["metadata"]["namespace"] == "watchkeeper"
    assert {"get", "update"} <= {
        v
        for rule in lease_role["rules"]
        if rule.get("resourceNames") == ["watchkeeper-leader"]
        for v in rule["verbs"]
    }
    assert not any(
        doc["kind"] == "CustomResourceDefinition" and "kopf" in doc["metadata"]["name"]
        for doc in docs
    )


def test_user_roles_aggregate_and_never_grant_status(tmp_path: Path) -> None:
    roles = {r["metadata"]["name"]: r for r in objects(template(tmp_path), "ClusterRole")}
    labels = {
        name: set(roles[name]["metadata"]["labels"])
        for name in ("watchkeeper-view", "watchkeeper-edit", "watchkeeper-admin")
    }
    assert "rbac.authorization.k8s.io/aggregate-to-view" in labels["watchkeeper-view"]
    assert "rbac.authorization.k8s.io/aggregate-to-edit" in labels["watchkeeper-edit"]
    assert "rbac.authorization.k8s.io/aggregate-to-admin" in labels["watchkeeper-admin"]
    for name in ("watchkeeper-view", "watchkeeper-edit", "watchkeeper-admin"):
        for rule in roles[name]["rules"]:
            assert not any("/" in resource or "*" in resource for resource in rule["resources"]), (
                name
            )
    edit = roles["watchkeeper-edit"]["rules"]
    assert _grants(edit, "watchkeeper.io", "alertpolicies", "create")
    assert _grants(edit, "watchkeeper.io", "alerts", "patch")
    assert not _grants(edit, "watchkeeper.io", "alerts", "create")
    assert not _grants(edit, "watchkeeper.io", "alerts", "delete")
    assert roles["watchkeeper-admin"]["rules"] == edit
