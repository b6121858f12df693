"""The Helm chart, rendered by the real (pinned) helm: RBAC in cluster and namespaced
mode, several replicas, and arguments the operator's CLI accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helm import CHART, ROOT, helm, needs_helm, objects, template, values_args
from watchkeeper.cli import build_parser
from watchkeeper.engine.sharding import Shard

pytestmark = needs_helm

USER_ROLES = ("watchkeeper-view", "watchkeeper-edit", "watchkeeper-admin")
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "namespaced": {"watchNamespaces": ["team-a", "team-b"]},
    "replicas": {"replicas": 3},
    "shards": {"shards": 2, "replicas": 2},
    "trusting": {"security": {"referencePolicy": "any"}},
    "extra-scale": {
        "scaling": {"extraScaleResources": [{"apiGroup": "argoproj.io", "resources": ["rollouts"]}]}
    },
    "everything": {
        "image": {"digest": "sha256:" + "a" * 64, "pullSecrets": [{"name": "regcred"}]},
        "nodeSelector": {"pool": "system"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "pool", "operator": "Exists"}]}
                    ]
                }
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "watchkeeper"}},
            }
        ],
        "priorityClassName": "system-cluster-critical",
        "podAnnotations": {"example.com/team": "sre"},
        "podLabels": {"team": "sre"},
        "extraArgs": ["--max-concurrent-jobs=128"],
        "extraEnv": [{"name": "WATCHKEEPER_MAX_PROMETHEUS_QUERIES", "value": "8"}],
        "serviceAccount": {"annotations": {"iam.example.com/role": "watchkeeper"}},
        "logFormat": "text",
        "resources": {"requests": {"cpu": "100m"}},
        "replicas": 2,
        "serviceMonitor": {"enabled": True, "labels": {"release": "kps"}},
        "networkPolicy": {"enabled": True},
        "prometheusRule": {"enabled": True, "alertLabels": {"team": "platform"}},
        "selfMonitoring": {"enabled": True, "channels": ["oncall"]},
        "dashboards": {"enabled": True, "annotations": {"grafana_folder": "Watchkeeper"}},
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
    for deployment in objects(template(tmp_path, values), "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        args = container["args"]
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


def test_shards_render_one_deployment_lease_and_pdb_per_shard(tmp_path: Path) -> None:
    docs = template(tmp_path, VALUE_SETS["shards"])
    deployments = objects(docs, "Deployment")
    assert [d["metadata"]["name"] for d in deployments] == [
        "watchkeeper-shard-0",
        "watchkeeper-shard-1",
    ]
    pdbs = {p["metadata"]["name"]: p for p in objects(docs, "PodDisruptionBudget")}
    [service] = objects(docs, "Service")
    for index, deployment in enumerate(deployments):
        spec = deployment["spec"]
        assert spec["replicas"] == 2
        selector = spec["selector"]["matchLabels"]
        assert selector["watchkeeper.io/shard"] == str(index)
        assert selector.items() <= spec["template"]["metadata"]["labels"].items()
        assert service["spec"]["selector"].items() <= selector.items()  # one scrape job
        anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
        term = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
        assert term["labelSelector"]["matchLabels"] == selector
        [container] = spec["template"]["spec"]["containers"]
        assert {"--leader-elect", "--shards=2", f"--shard={index}"} <= set(container["args"])
        pdb = pdbs[deployment["metadata"]["name"]]
        assert pdb["spec"]["selector"]["matchLabels"] == selector
    assert len(pdbs) == 2
    [lease_role] = [
        r for r in objects(docs, "Role") if r["metadata"]["name"].endswith("leader-election")
    ]
    leases = {Shard(i, 2).lease_name("watchkeeper-leader") for i in range(2)}
    assert {
        name for rule in lease_role["rules"] for name in rule.get("resourceNames", [])
    } == leases


def test_shards_with_one_replica_each_elect_no_leader(tmp_path: Path) -> None:
    docs = template(tmp_path, {"shards": 4})
    assert len(objects(docs, "Deployment")) == 4
    assert objects(docs, "PodDisruptionBudget") == []
    for deployment in objects(docs, "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert "--leader-elect" not in container["args"] and "--shards=4" in container["args"]


def test_one_shard_renders_no_trace_of_sharding(tmp_path: Path) -> None:
    for values in ({}, VALUE_SETS["replicas"]):
        rendered = helm("template", "watchkeeper", str(CHART), *values_args(values, tmp_path))
        assert "shard" not in rendered.stdout
        explicit = values_args({**values, "shards": 1}, tmp_path)
        assert helm("template", "watchkeeper", str(CHART), *explicit).stdout == rendered.stdout


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


def _pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    [deployment] = objects(docs, "Deployment")
    pod: dict[str, Any] = deployment["spec"]["template"]
    return pod


def test_every_value_reaches_the_pod(tmp_path: Path) -> None:
    values = VALUE_SETS["everything"]
    docs = template(tmp_path, values)
    pod = _pod(docs)
    spec = pod["spec"]
    [container] = spec["containers"]
    assert container["image"] == f"ghcr.io/watchkeeper/watchkeeper@{values['image']['digest']}"
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    for key in ("nodeSelector", "tolerations", "affinity", "topologySpreadConstraints"):
        assert spec[key] == values[key], key
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert pod["metadata"]["annotations"] == {"example.com/team": "sre"}
    assert pod["metadata"]["labels"]["team"] == "sre"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "watchkeeper"
    assert "--max-concurrent-jobs=128" in container["args"]
    assert "--log-format=text" in container["args"]
    assert {"name": "WATCHKEEPER_MAX_PROMETHEUS_QUERIES", "value": "8"} in container["env"]
    assert container["resources"]["requests"]["cpu"] == "100m"  # merged with the defaults
    [account] = objects(docs, "ServiceAccount")
    assert account["metadata"]["annotations"] == {"iam.example.com/role": "watchkeeper"}
    [monitor] = objects(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    [service] = objects(docs, "Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    [policy] = objects(docs, "NetworkPolicy")
    assert policy["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": "metrics"}], "from": [{"namespaceSelector": {}}]}
    ]


def test_defaults_are_a_tag_and_the_restricted_security_context(tmp_path: Path) -> None:
    docs = template(tmp_path)
    spec = _pod(docs)["spec"]
    [container] = spec["containers"]
    assert container["image"] == "ghcr.io/watchkeeper/watchkeeper:0.1.0"
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert "--log-format=json" in container["args"]
    for kind in ("ServiceMonitor", "NetworkPolicy", "PodDisruptionBudget"):
        assert objects(docs, kind) == [], kind
    [service] = objects(docs, "Service")
    assert service["spec"]["publishNotReadyAddresses"] is True  # scraped while not ready


def test_values_table_in_the_chart_readme_is_generated() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "hack" / "chart-values.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
