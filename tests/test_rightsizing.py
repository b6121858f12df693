"""End to end: a ScalingPolicy's right-sizing advice from cAdvisor-like and
kube-state-metrics-like series that a real Prometheus scrapes from the test's exporter.
The advice lands in status, is asked for again only when due, reports failed queries with
a condition, never touches the Deployment, and `watchkeeper backtest` prints the same."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import yaml

from tests.test_scalingpolicy import (
    apply,
    deployment,
    scaling_policy,
    status,
    wait_condition,
    wait_event,
    wait_history,
)
from tests.waiting import condition, eventually
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.cli import main

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

MI, GI = 1024**2, 1024**3
PODS = ("web-7d9f8c6b5-abcde", "web-7d9f8c6b5-fghij")
DECOY = "web-api-5f6d7c8b9-zzzzz"  # another Deployment whose name starts with web-
CPU_GAUGE = "wk_rightsizing_cpu_cores"
MEMORY = "container_memory_working_set_bytes"
REQUESTS = "kube_pod_container_resource_requests"
CONDITION = "RightsizingAvailable"
EXTERNAL = "changed outside Watchkeeper"


def _publish(exporter, namespace: str, memory: float = 200 * MI) -> list[tuple[str, dict]]:
    """Two pods of web (and a decoy pod) with usage and requests; the series set."""
    series: list[tuple[str, dict, float]] = []
    for index, pod in enumerate(PODS):
        app = {"namespace": namespace, "pod": pod, "container": "app"}
        series += [
            (CPU_GAUGE, app, 0.25 - 0.05 * index),
            (MEMORY, app, memory - 50 * MI * index),
            (MEMORY, {**app, "container": "POD"}, 1 * MI),  # the pause container: left out
            (REQUESTS, {**app, "resource": "cpu", "unit": "core"}, 1.0),
            (REQUESTS, {**app, "resource": "memory", "unit": "byte"}, GI),
        ]
    decoy = {"namespace": namespace, "pod": DECOY, "container": "app"}
    series += [(CPU_GAUGE, decoy, 40.0), (MEMORY, decoy, 10 * GI)]
    for name, labels, value in series:
        exporter.set(name, value, labels)
    return [(name, labels) for name, labels, _ in series]


def _wait_scraped(prometheus, namespace: str) -> None:
    """Until Prometheus has every series, usage with two samples: a 1s-step subquery sees
    only samples up to the last whole second before the query's instant, so the newest
    sample alone may be invisible to the policy's first evaluation."""
    prometheus.wait_for(f'{REQUESTS}{{namespace="{namespace}"}}', lambda r: len(r) == 4)
    for usage in (CPU_GAUGE, MEMORY):
        samples = f'count_over_time({usage}{{namespace="{namespace}"}}[1m]) >= 2'
        prometheus.wait_for(samples, lambda r: len(r) >= len(PODS))


def _policy(**rightsizing) -> dict:
    cpu = f'{CPU_GAUGE}{{namespace="{{{{ namespace }}}}", pod=~"{{{{ pods }}}}"}}'
    block = {
        "lookback": "1m",
        "resolution": "1s",
        "queries": {"cpuUsage": cpu},  # a gauge stands in for rate() of the cAdvisor counter
        **rightsizing,
    }
    # sum(vector(200)) at 100 per replica: 2 replicas, as the Deployment has
    return scaling_policy("web", "vector(200)", rightsizing=block)


def _advice(custom_objects, namespace: str) -> dict:
    return status(custom_objects, namespace, "web").get("rightsizing") or {}


def test_advice_in_status_never_applied(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter, prometheus
):
    published = _publish(exporter, namespace)
    try:
        _wait_scraped(prometheus, namespace)
        deployment(apps_v1, namespace, "web", 2)
        before = apps_v1.read_namespaced_deployment("web", namespace)
        apply(kubeconfig, namespace, _policy())
        advice = eventually(
            lambda: _advice(custom_objects, namespace), lambda a: a.get("containers")
        )
        obj = wait_condition(custom_objects, namespace, "web", CONDITION, "AdviceComputed")
        assert condition(obj, CONDITION)["status"] == "True"
        (app,) = advice["containers"]
        assert app["name"] == "app" and advice["replicas"] == 2
        # the highest pod's p95: 0.25 cores, 200Mi; + 15% headroom, rounded up
        assert app["cpu"] == {
            "request": 1.0,
            "usage": 0.25,
            "recommended": 0.288,
            "savedPerDay": 34.176,
            "note": "",
        }
        assert (app["memory"]["usage"], app["memory"]["recommended"]) == (200 * MI, 230 * MI)
        assert app["memory"]["savedPerDay"] == round((GI - 230 * MI) * 2 * 24 / GI, 3)
        assert advice["savedCoreHoursPerDay"] == 34.176

        # Prometheus is asked again only when due: new usage changes nothing for now
        computed = advice["computedAt"]
        exporter.set(MEMORY, 600 * MI, {"namespace": namespace, "pod": PODS[0], "container": "app"})
        prometheus.wait_for(f"max({MEMORY}{{namespace='{namespace}'}}) > {500 * MI}")
        time.sleep(4)  # four evaluations
        assert _advice(custom_objects, namespace) == advice

        # a spec change is due at once: it sees the new usage
        patch = _policy(headroom=0.5)
        apply(kubeconfig, namespace, patch)
        fresh = eventually(
            lambda: _advice(custom_objects, namespace), lambda a: a["computedAt"] != computed
        )
        assert fresh["containers"][0]["memory"]["usage"] == 600 * MI
        assert fresh["containers"][0]["cpu"]["recommended"] == 0.375  # 0.25 x 1.5

        # it advises only: the Deployment is as it was
        after = apps_v1.read_namespaced_deployment("web", namespace)
        assert after.metadata.generation == before.metadata.generation
        assert after.spec.template == before.spec.template
        assert after.spec.replicas == 2

        # a query Prometheus refuses: the condition says so, the last advice stays
        broken = _policy(queries={"cpuUsage": "rate("})
        apply(kubeconfig, namespace, broken)
        obj = wait_condition(custom_objects, namespace, "web", CONDITION, "QueryFailed")
        failure = condition(obj, CONDITION)
        assert failure["status"] == "False" and "query cpuUsage" in failure["message"]
        kept = obj["status"]["rightsizing"]
        assert kept["containers"] == fresh["containers"] and kept["error"]
        # each change of what the advice says is one Event: the savings, then the failure
        kind, _, message = wait_event(core_v1, namespace, "web", "AdviceComputed")
        assert kind == "Normal" and "core-hours" in message
        kind, _, message = wait_event(core_v1, namespace, "web", "QueryFailed")
        assert kind == "Warning" and "query cpuUsage" in message
    finally:
        for name, labels in published:
            exporter.remove(name, labels)


def test_a_restart_does_not_ask_early(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter, prometheus
):
    """When the advice was computed is in status: a new operator waits for the recheck."""
    published = _publish(exporter, namespace)
    try:
        _wait_scraped(prometheus, namespace)
        deployment(apps_v1, namespace, "web", 2)
        apply(kubeconfig, namespace, _policy())
        advice = eventually(
            lambda: _advice(custom_objects, namespace), lambda a: a.get("containers")
        )
        exporter.set(MEMORY, 600 * MI, {"namespace": namespace, "pod": PODS[0], "container": "app"})
        prometheus.wait_for(f"max({MEMORY}{{namespace='{namespace}'}}) > {500 * MI}")
        operator.restart()
        # an evaluation of the new operator records this; it must not have asked again
        apps_v1.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
        wait_history(
            custom_objects, namespace, "web", lambda h: any(e[1:] == (3, EXTERNAL) for e in h)
        )
        assert _advice(custom_objects, namespace) == advice
    finally:
        for name, labels in published:
            exporter.remove(name, labels)


def test_backtest_prints_the_same_advice(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter, prometheus, tmp_path, capsys
):
    published = _publish(exporter, namespace)
    try:
        _wait_scraped(prometheus, namespace)
        deployment(apps_v1, namespace, "web", 2)
        policy = _policy()
        apply(kubeconfig, namespace, policy)
        live = eventually(lambda: _advice(custom_objects, namespace), lambda a: a.get("containers"))
        manifest = tmp_path / "policy.yaml"
        policy["metadata"]["namespace"] = namespace
        manifest.write_text(yaml.safe_dump(policy))
        end = parse_time(live["computedAt"])
        window = ["--from", format_time(end - timedelta(minutes=1)), "--to", format_time(end)]
        args = ["backtest", "-f", str(manifest), *window, "--prometheus", prometheus.url]
        assert main([*args, "--replicas", "2", "-o", "json"]) == 0
        (report,) = json.loads(capsys.readouterr().out)["reports"]
        replayed = report["rightsizing"]
        assert replayed["containers"] == live["containers"]
        for total in ("savedCoreHoursPerDay", "savedGiBHoursPerDay", "replicas"):
            assert replayed[total] == live[total]

        assert main([*args, "--replicas", "2"]) == 0
        text = capsys.readouterr().out
        assert "Right-sizing advice" in text
        assert "app  cpu     request 1 " in text and "recommended 0.288" in text
    finally:
        for name, labels in published:
            exporter.remove(name, labels)
