"""End to end: ScalingPolicies scale Deployments and StatefulSets through /scale on the real
API server, from metrics a real Prometheus scrapes from the test's exporter.

Windows, periods and cooldowns are a few seconds; assertions are on order and eventual
state (a scale-down no earlier than the window allows, measured on the status' own
timestamps), never on exact seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from devenv.metrics import api_requests
from tests.keda import scaled_object, scaled_objects_served
from tests.kubectl import ALLOW_SCALING, create_secret, kubectl
from tests.waiting import condition, eventually, get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

PLURAL = "scalingpolicies"
FAST = {"stabilizationWindow": "0s"}


def _labels(name: str) -> dict[str, str]:
    return {"app": name}


def _template(name: str) -> client.V1PodTemplateSpec:
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=_labels(name)),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="app", image="registry.invalid/app:1")]
        ),
    )


def deployment(apps_v1: client.AppsV1Api, namespace: str, name: str, replicas: int) -> None:
    apps_v1.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name, labels=ALLOW_SCALING),
            spec=client.V1DeploymentSpec(
                replicas=replicas,
                selector=client.V1LabelSelector(match_labels=_labels(name)),
                template=_template(name),
            ),
        ),
    )


def replicas(apps_v1: client.AppsV1Api, namespace: str, name: str) -> int:
    return int(apps_v1.read_namespaced_deployment_scale(name, namespace).spec.replicas)


def scaling_policy(name: str, metric: str, target: str = "web", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "minReplicas": 1,
        "maxReplicas": 10,
        "evaluationInterval": "1s",
        "cooldown": "0s",
        "metrics": [
            {
                "name": "load",
                "query": f"sum({metric})",
                "target": {"type": "AverageValue", "value": 100},
            }
        ],
        **spec,
    }
    return {
        "apiVersion": "watchkeeper.io/v1alpha1",
        "kind": "ScalingPolicy",
        "metadata": {"name": name},
        "spec": body,
    }


def apply(kubeconfig, namespace: str, *objects: dict[str, Any]) -> None:
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=list(objects))


def status(api: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return get_object(api, PLURAL, namespace, name).get("status") or {}


def wait_condition(
    api, namespace: str, name: str, type_: str, reason: str, timeout: float = 30.0
) -> dict[str, Any]:
    obj = eventually(
        lambda: get_object(api, PLURAL, namespace, name),
        lambda o: condition(o, type_).get("reason") == reason,
        timeout,
    )
    return obj


def wait_replicas(apps_v1, namespace: str, name: str, count: int, timeout: float = 30.0) -> None:
    eventually(lambda: replicas(apps_v1, namespace, name), lambda r: r == count, timeout)


def history(api, namespace: str, name: str) -> list[tuple[int, int, str]]:
    return [
        (h["from"], h["to"], h["reason"]) for h in status(api, namespace, name).get("history", [])
    ]


def wait_history(api, namespace: str, name: str, check) -> list[tuple[int, int, str]]:
    """The status is written just after the scale: wait for it."""
    return eventually(lambda: history(api, namespace, name), check)


def scaled_at(api, namespace: str, name: str, to: int) -> datetime:
    """When the policy last scaled to `to`, by its own clock."""
    wait_history(api, namespace, name, lambda found: any(h[1] == to for h in found))
    found = [h for h in status(api, namespace, name)["history"] if h["to"] == to]
    return datetime.fromisoformat(found[-1]["time"])


def events(core_v1: client.CoreV1Api, namespace: str, name: str) -> list[tuple[str, str, str]]:
    found = core_v1.list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={name},involvedObject.kind=ScalingPolicy"
    ).items
    ordered = sorted(found, key=lambda e: e.metadata.creation_timestamp)
    return [(e.type, e.reason, e.message) for e in ordered]


def wait_event(core_v1, namespace: str, name: str, reason: str) -> tuple[str, str, str]:
    found = eventually(
        lambda: [e for e in events(core_v1, namespace, name) if e[1] == reason], bool
    )
    return found[-1]


def test_scale_up_under_load_then_down_after_the_window(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    metric = "wk_sp_updown"
    exporter.set(metric, 50)
    deployment(apps_v1, namespace, "web", 1)
    down = {"stabilizationWindow": "6s"}
    apply(kubeconfig, namespace, scaling_policy("web", metric, behavior={"scaleDown": down}))
    wait_condition(custom_objects, namespace, "web", "ScalingActive", "ValidMetricFound")

    exporter.set(metric, 450)  # 4.5 replicas' worth at 100 each
    wait_replicas(apps_v1, namespace, "web", 5)
    wait_history(
        custom_objects, namespace, "web", lambda h: h == [(1, 5, "metric load above target")]
    )
    assert wait_event(core_v1, namespace, "web", "SuccessfulRescale")[2] == (
        "New size: 5; reason: metric load above target"
    )
    listed = kubectl(kubeconfig, "get", "scalingpolicy", "web", "-n", namespace).stdout
    assert listed.split("\n")[0].split() == [
        "NAME", "TARGET", "MIN", "MAX", "CURRENT", "DESIRED", "READY", "AGE",
    ]  # fmt: skip
    assert listed.split("\n")[1].split()[:6] == ["web", "web", "1", "10", "5", "5"]

    # Steady (the recommendation made before the scale-up has left the 6s window):
    # nothing changes, so nothing is written.
    eventually(
        lambda: get_object(custom_objects, PLURAL, namespace, "web"),
        lambda o: (
            condition(o, "AbleToScale").get("reason") == "ReadyForNewScale"
            and [r["replicas"] for r in o["status"]["recommendations"]] == [5]
        ),
    )
    version = get_object(custom_objects, PLURAL, namespace, "web")["metadata"]["resourceVersion"]
    time.sleep(4)
    assert (
        get_object(custom_objects, PLURAL, namespace, "web")["metadata"]["resourceVersion"]
        == version
    ), "the status was written although nothing changed"

    dropped = datetime.now(UTC)
    exporter.set(metric, 80)
    wait_condition(custom_objects, namespace, "web", "AbleToScale", "ScaleDownStabilized")
    assert replicas(apps_v1, namespace, "web") == 5
    wait_replicas(apps_v1, namespace, "web", 1)
    # The last evaluation that saw the load is at most one interval (1s) before the drop,
    # so the 6s window ends no sooner than 5s after it.
    assert scaled_at(custom_objects, namespace, "web", 1) >= dropped + timedelta(seconds=5)
    assert history(custom_objects, namespace, "web")[-1] == (5, 1, "all metrics below target")


def test_cooldown_delays_the_next_scale_down(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = "wk_sp_cooldown"
    exporter.set(metric, 300)
    deployment(apps_v1, namespace, "web", 1)
    spec = {"cooldown": "8s", "behavior": {"scaleDown": FAST}}
    apply(kubeconfig, namespace, scaling_policy("web", metric, **spec))
    wait_replicas(apps_v1, namespace, "web", 3)
    exporter.set(metric, 100)
    wait_condition(custom_objects, namespace, "web", "ScalingLimited", "ScaleDownCooldown")
    wait_replicas(apps_v1, namespace, "web", 1)
    gap = scaled_at(custom_objects, namespace, "web", 1) - scaled_at(
        custom_objects, namespace, "web", 3
    )
    assert gap >= timedelta(seconds=8)


def test_weighted_average_combines_metrics_before_rounding(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    cpu, queue = "wk_sp_weighted_cpu", "wk_sp_weighted_queue"
    exporter.set(cpu, 600)  # asks for 6 replicas at 100 each
    exporter.set(queue, 100)  # asks for 1
    deployment(apps_v1, namespace, "web", 2)
    metrics = [
        {"name": n, "query": f"sum({q})", "target": {"type": "AverageValue", "value": 100}}
        | {"weight": w}
        for n, q, w in (("cpu", cpu, 3), ("queue", queue, 1))
    ]
    spec = {"combine": "WeightedAverage", "metrics": metrics, "behavior": {"scaleDown": FAST}}
    apply(kubeconfig, namespace, scaling_policy("web", cpu, **spec))
    # ceil((6 x 3 + 1 x 1) / 4) = 5, where Max would take 6 (the loudest metric); before
    # Prometheus has scraped both series, cpu alone may count for a moment
    wait_replicas(apps_v1, namespace, "web", 5)
    found = wait_history(custom_objects, namespace, "web", lambda h: h and h[-1][1] == 5)
    assert found[-1][2].startswith("the weighted average of cpu, queue")
    active = condition(get_object(custom_objects, PLURAL, namespace, "web"), "ScalingActive")
    assert "weighted average of cpu, queue" in active["message"]


def test_dry_run_reports_and_never_patches(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    metric = "wk_sp_dry"
    exporter.set(metric, 800)
    deployment(apps_v1, namespace, "web", 2)
    apply(kubeconfig, namespace, scaling_policy("web", metric, dryRun=True))
    obj = wait_condition(custom_objects, namespace, "web", "AbleToScale", "DryRun")
    # 800 at 100 per replica asks for 8; the scale-up policies allow 6 from 2 in one step
    assert (obj["status"]["currentReplicas"], obj["status"]["desiredReplicas"]) == (2, 6)
    assert history(custom_objects, namespace, "web") == [
        (2, 6, "dry run: metric load above target")
    ]
    wait_event(core_v1, namespace, "web", "DryRun")
    time.sleep(3)
    target = apps_v1.read_namespaced_deployment("web", namespace)
    assert (target.spec.replicas, target.metadata.generation) == (2, 1), "never patched"
    assert len(history(custom_objects, namespace, "web")) == 1


def test_override_holds_until_it_ends(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    metric = "wk_sp_override"
    exporter.set(metric, 200)
    deployment(apps_v1, namespace, "web", 2)
    until = (datetime.now(UTC) + timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    override = {"replicas": 7, "reason": "load test", "until": until}
    apply(
        kubeconfig,
        namespace,
        scaling_policy("web", metric, override=override, behavior={"scaleDown": FAST}),
    )
    wait_replicas(apps_v1, namespace, "web", 7)
    obj = wait_condition(custom_objects, namespace, "web", "ScalingActive", "ManualOverride")
    assert "load test" in condition(obj, "ScalingActive")["message"]
    wait_history(custom_objects, namespace, "web", lambda h: h == [(2, 7, "override: load test")])
    wait_replicas(apps_v1, namespace, "web", 2)  # the override ended: back to the metrics
    assert scaled_at(custom_objects, namespace, "web", 2) >= datetime.fromisoformat(until)
    assert condition(get_object(custom_objects, PLURAL, namespace, "web"), "ScalingActive")[
        "reason"
    ] == ("ValidMetricFound")


def test_suspend_stops_everything_until_resumed(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = "wk_sp_suspend"
    exporter.set(metric, 600)
    deployment(apps_v1, namespace, "web", 1)
    apply(kubeconfig, namespace, scaling_policy("web", metric, suspend=True))
    wait_condition(custom_objects, namespace, "web", "ScalingActive", "Suspended")
    time.sleep(3)
    assert replicas(apps_v1, namespace, "web") == 1
    apply(kubeconfig, namespace, scaling_policy("web", metric, suspend=False))
    wait_replicas(apps_v1, namespace, "web", 5)  # +4 pods in one step
    wait_condition(custom_objects, namespace, "web", "ScalingActive", "ValidMetricFound")


def test_fallback_while_prometheus_is_down_and_recovery(
    operator, prometheus, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    metric = "wk_sp_fallback"
    exporter.set(metric, 200)
    deployment(apps_v1, namespace, "web", 2)
    spec = {"fallback": {"failureThreshold": 2, "replicas": 4}, "behavior": {"scaleDown": FAST}}
    apply(kubeconfig, namespace, scaling_policy("web", metric, **spec))
    wait_condition(custom_objects, namespace, "web", "ScalingActive", "ValidMetricFound")
    assert replicas(apps_v1, namespace, "web") == 2
    prometheus.stop()
    try:
        obj = wait_condition(
            custom_objects, namespace, "web", "FallbackActive", "MetricsUnavailable"
        )
        assert condition(obj, "ScalingActive")["reason"] == "FailedGetExternalMetric"
        wait_replicas(apps_v1, namespace, "web", 4)
        wait_history(custom_objects, namespace, "web", lambda h: h[-1][2].startswith("fallback"))
        wait_event(core_v1, namespace, "web", "MetricsUnavailable")
    finally:
        prometheus.start()
    prometheus.wait_for_scrape()
    wait_condition(custom_objects, namespace, "web", "FallbackActive", "MetricsAvailable", 60)
    wait_replicas(apps_v1, namespace, "web", 2)  # 200 at 100 per replica, again
    wait_event(core_v1, namespace, "web", "MetricsAvailable")


def test_refuses_a_target_another_autoscaler_scales(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    metric = "wk_sp_hpa"
    exporter.set(metric, 600)
    deployment(apps_v1, namespace, "web", 2)
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web-hpa"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        },
    }
    apply(kubeconfig, namespace, hpa, scaling_policy("first", metric))
    obj = wait_condition(
        custom_objects, namespace, "first", "TargetConflict", "HorizontalPodAutoscalerFound"
    )
    assert condition(obj, "TargetConflict")["status"] == "True"
    assert "HorizontalPodAutoscaler web-hpa" in condition(obj, "TargetConflict")["message"]
    assert condition(obj, "ScalingActive")["reason"] == "TargetConflict"
    wait_event(core_v1, namespace, "first", "HorizontalPodAutoscalerFound")
    time.sleep(1.1)  # a later creation timestamp, to the second
    apply(kubeconfig, namespace, scaling_policy("second", metric))
    wait_condition(
        custom_objects, namespace, "second", "TargetConflict", "HorizontalPodAutoscalerFound"
    )
    assert replicas(apps_v1, namespace, "web") == 2

    kubectl(kubeconfig, "delete", "hpa", "web-hpa", "-n", namespace)
    wait_replicas(apps_v1, namespace, "web", 6)  # the older policy takes over
    obj = wait_condition(
        custom_objects, namespace, "second", "TargetConflict", "AnotherScalingPolicy"
    )
    assert "ScalingPolicy first" in condition(obj, "TargetConflict")["message"]
    assert history(custom_objects, namespace, "second") == []


def test_refuses_a_target_a_keda_scaled_object_scales(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = "wk_sp_keda"
    exporter.set(metric, 600)
    deployment(apps_v1, namespace, "web", 2)
    with scaled_objects_served(kubeconfig):
        apply(
            kubeconfig, namespace, scaled_object("web-keda", "web"), scaling_policy("web", metric)
        )
        wait_condition(custom_objects, namespace, "web", "TargetConflict", "ScaledObjectFound")
        assert replicas(apps_v1, namespace, "web") == 2
    wait_replicas(apps_v1, namespace, "web", 6)  # the kind is not served any more: no conflict


def test_a_restart_forgets_neither_the_window_nor_the_rate_limit(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = "wk_sp_restart"
    exporter.set(metric, 450)
    deployment(apps_v1, namespace, "web", 1)
    # The window outlasts the period, so the scale-up has left the period when the
    # scale-down starts (inside the period it would count, as in the HPA).
    down = {
        "stabilizationWindow": "12s",
        "policies": [{"type": "Pods", "value": 2, "period": "10s"}],
    }
    apply(kubeconfig, namespace, scaling_policy("web", metric, behavior={"scaleDown": down}))
    wait_replicas(apps_v1, namespace, "web", 5)
    dropped = datetime.now(UTC)
    exporter.set(metric, 50)
    wait_condition(custom_objects, namespace, "web", "AbleToScale", "ScaleDownStabilized")
    first_pid = operator.pid
    operator.kill()  # a crash in the middle of the stabilization window
    operator.start()
    wait_replicas(apps_v1, namespace, "web", 3, timeout=60)
    # The last evaluation that saw the load is at most one interval (1s) before the drop,
    # so the 12s window ends no sooner than 11s after it.
    assert scaled_at(custom_objects, namespace, "web", 3) >= dropped + timedelta(seconds=11)
    operator.restart()  # and again, gracefully, inside the scale-down policy's period
    wait_replicas(apps_v1, namespace, "web", 1, timeout=60)
    gap = scaled_at(custom_objects, namespace, "web", 1) - scaled_at(
        custom_objects, namespace, "web", 3
    )
    assert gap >= timedelta(seconds=10), "2 pods per 10s, across the restart"
    assert operator.pid != first_pid
    assert [h[:2] for h in history(custom_objects, namespace, "web")] == [(1, 5), (5, 3), (3, 1)]


def test_scales_a_statefulset(operator, kubeconfig, namespace, custom_objects, apps_v1, exporter):
    metric = "wk_sp_sts"
    exporter.set(metric, 300)
    apps_v1.create_namespaced_stateful_set(
        namespace,
        client.V1StatefulSet(
            metadata=client.V1ObjectMeta(name="db", labels=ALLOW_SCALING),
            spec=client.V1StatefulSetSpec(
                replicas=1,
                service_name="db",
                selector=client.V1LabelSelector(match_labels=_labels("db")),
                template=_template("db"),
            ),
        ),
    )
    policy = scaling_policy("db", metric, target="db")
    policy["spec"]["targetRef"]["kind"] = "StatefulSet"
    apply(kubeconfig, namespace, policy)
    eventually(
        lambda: apps_v1.read_namespaced_stateful_set_scale("db", namespace).spec.replicas,
        lambda r: r == 3,
    )
    wait_history(
        custom_objects, namespace, "db", lambda h: h == [(1, 3, "metric load above target")]
    )


def test_active_forecast_scales_ahead_of_a_rising_load(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = "wk_sp_forecast"
    exporter.set(metric, 100)
    deployment(apps_v1, namespace, "web", 1)
    predictive = {"mode": "Active", "lookback": "8s", "horizon": "30s"}
    apply(
        kubeconfig,
        namespace,
        scaling_policy("web", metric, maxReplicas=50, predictive=predictive),
    )
    for step in range(30):  # +40 a second: the forecast 30s ahead runs far above the value
        exporter.set(metric, 100 + 20 * step)
        time.sleep(0.5)
    reasons = wait_history(
        custom_objects,
        namespace,
        "web",
        lambda h: any(r == "forecast of metric load above target" for _, _, r in h),
    )
    assert reasons[0][0] == 1
    prediction = status(custom_objects, namespace, "web")["metrics"][0]["prediction"]
    assert prediction["proposedReplicas"] > 0 and prediction["error"] == ""


def test_target_scaled_by_hand_then_deleted(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    metric = "wk_sp_byhand"
    exporter.set(metric, 300)
    deployment(apps_v1, namespace, "web", 3)
    apply(kubeconfig, namespace, scaling_policy("web", metric, behavior={"scaleDown": FAST}))
    eventually(
        lambda: status(custom_objects, namespace, "web"), lambda s: s.get("currentReplicas") == 3
    )
    apps_v1.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 6}})
    wait_event(core_v1, namespace, "web", "ExternalScale")
    wait_history(
        custom_objects, namespace, "web", lambda h: (3, 6, "changed outside Watchkeeper") in h
    )
    wait_replicas(apps_v1, namespace, "web", 3)  # the metric still asks for 3
    apps_v1.delete_namespaced_deployment("web", namespace)
    obj = wait_condition(custom_objects, namespace, "web", "AbleToScale", "FailedGetScale")
    assert "Deployment web not found" in condition(obj, "AbleToScale")["message"]
    wait_event(core_v1, namespace, "web", "FailedGetScale")


def test_invalid_query_is_explained_and_secrets_never_show(
    operator, prometheus, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    metric, token = "wk_sp_secret", "sp-bearer-token-9d41"
    exporter.set(metric, 300)
    deployment(apps_v1, namespace, "web", 1)
    create_secret(core_v1, namespace, "prom", {"token": token})
    policy = scaling_policy(
        "web",
        metric,
        prometheus={
            "url": prometheus.url,
            "bearerTokenSecretRef": {"name": "prom", "key": "token"},
        },
    )
    policy["spec"]["metrics"][0]["query"] = "sum(rate("
    apply(kubeconfig, namespace, policy)
    obj = wait_condition(custom_objects, namespace, "web", "ScalingActive", "InvalidQuery")
    assert "Prometheus rejected the query" in condition(obj, "ScalingActive")["message"]
    policy["spec"]["metrics"][0]["query"] = f"sum({metric})"
    apply(kubeconfig, namespace, policy)
    wait_replicas(apps_v1, namespace, "web", 3)
    seen = [
        str(get_object(custom_objects, PLURAL, namespace, "web")),
        str(events(core_v1, namespace, "web")),
        operator.log_text(),
    ]
    assert not any(token in text for text in seen)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {
                "behavior": {
                    "scaleUp": {"policies": [{"type": "Pods", "value": 1, "period": "31m"}]}
                }
            },
            "spec.behavior.scaleUp.policies[0].period",
        ),
        ({"behavior": {"scaleDown": {"stabilizationWindow": "2h"}}}, "stabilizationWindow"),
        ({"override": {"replicas": 50, "reason": "x"}}, "spec.override.replicas"),
        ({"override": {"replicas": 5, "reason": "x", "until": "the day after"}}, "until"),
        ({"evaluationInterval": "500ms"}, "spec.evaluationInterval"),
        ({"predictive": {"mode": "Shadow", "horizon": "0s"}}, "spec.predictive.horizon"),
    ],
    ids=["period", "window", "override", "until", "interval", "horizon"],
)
def test_the_api_server_rejects(kubeconfig, namespace, changes, field):
    manifest = scaling_policy("bad", "x", **changes)
    result = kubectl(
        kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=manifest, check=False
    )
    assert result.returncode != 0
    assert field in result.stderr, result.stderr


def test_a_steady_policy_reads_nothing_from_the_api_server(
    operator, cluster, kubeconfig, namespace, apps_v1, custom_objects, exporter
):
    """The target's replicas come from the watch of opted-in Deployments: evaluating every
    second for 6 s sends no GET of the Deployment or its /scale (the HPA-style read was one
    GET of /scale per evaluation, plus the target's labels)."""

    def deployment_gets() -> float:
        return sum(
            count
            for request, count in api_requests(cluster.metrics()).items()
            if request.verb == "GET" and request.group == "apps"
        )

    def gets_in(seconds: float) -> float:
        before = deployment_gets()
        time.sleep(seconds)
        return deployment_gets() - before

    # Policies of earlier tests whose namespaces are still terminating (their targets are
    # gone, so they do read /scale) set a background rate: this policy must not add to it.
    background = gets_in(6)
    exporter.set("wk_sp_steady", 50)
    deployment(apps_v1, namespace, "web", 1)
    apply(kubeconfig, namespace, scaling_policy("web", "wk_sp_steady"))
    wait_condition(custom_objects, namespace, "web", "ScalingActive", "ValidMetricFound")
    assert gets_in(6) <= background + 2  # one per evaluation would be 6 more
    assert replicas(apps_v1, namespace, "web") == 1
