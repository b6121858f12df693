"""Smoke tests of the local test infrastructure itself (devenv and tests/conftest.py)."""

import json
import ssl
import time
import uuid
from pathlib import Path

import httpx
import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from devenv import DevEnvError, LocalCluster, LocalPrometheus, MetricsExporter, OperatorProcess
from devenv.metrics import api_requests, delta, histogram_quantile, parse_metrics
from devenv.names import namespace_name
from devenv.process import ManagedProcess

KUBE_VERSION = "v1.36.3"


def test_namespace_name_is_a_short_dns_label():
    name = namespace_name("test_something[param-with_CAPS/and.dots" + "x" * 80 + "]")
    assert len(name) <= 63
    assert name.startswith("test-something-param-with-caps-and-dotsxxx")
    assert name.replace("-", "").isalnum() and name == name.lower()
    assert namespace_name("test_a") != namespace_name("test_a")


def test_exporter_exposition_format():
    metrics = MetricsExporter()
    metrics.set("b_metric", 2)
    metrics.set("a_metric", 1.5, {"z": "1", "a": 'quo"te\\back\nline'})
    metrics.set("a_metric", float("nan"), {"a": "nan"})
    assert metrics.exposition() == (
        "# TYPE a_metric gauge\n"
        'a_metric{a="nan"} NaN\n'
        'a_metric{a="quo\\"te\\\\back\\nline",z="1"} 1.5\n'
        "# TYPE b_metric gauge\n"
        "b_metric 2.0\n"
    )
    metrics.remove("a_metric", {"a": "nan"})
    metrics.remove("b_metric")
    assert "nan" not in metrics.exposition()
    assert "b_metric" not in metrics.exposition()
    metrics.clear()
    assert metrics.exposition() == ""


def test_exporter_serves_metrics_over_http(exporter: MetricsExporter):
    exporter.set("devenv_http_probe", 7, {"case": "http"})
    response = httpx.get(exporter.url)
    assert response.status_code == 200
    assert 'devenv_http_probe{case="http"} 7.0' in response.text
    assert httpx.get(exporter.url.replace("/metrics", "/other")).status_code == 404


def test_apiserver_reports_pinned_version(api_client: client.ApiClient):
    assert client.VersionApi(api_client).get_code().git_version == KUBE_VERSION


def test_anonymous_requests_are_forbidden(cluster: LocalCluster):
    trust = ssl.create_default_context(cafile=str(cluster.ca_file))
    response = httpx.get(f"{cluster.server}/api/v1/namespaces", verify=trust)
    assert response.status_code == 403
    assert "system:anonymous" in response.text


def test_rbac_denies_a_user_without_rights(api_client: client.ApiClient):
    api_client.set_default_header("Impersonate-User", "nobody")
    try:
        with pytest.raises(ApiException) as denied:
            client.CoreV1Api(api_client).list_namespace()
    finally:
        api_client.default_headers.pop("Impersonate-User")
    assert denied.value.status == 403
    message = json.loads(denied.value.body)["message"]
    assert 'User "nobody" cannot list resource "namespaces"' in message


def test_namespace_fixture_creates_an_active_namespace(namespace: str, core_v1: client.CoreV1Api):
    assert namespace.startswith("test-namespace-fixture-creates")
    assert core_v1.read_namespace(namespace).status.phase == "Active"


def test_apiserver_stops_and_starts_alone_keeping_etcd_port_and_certs(
    cluster: LocalCluster, namespace: str, core_v1: client.CoreV1Api
):
    server, config = cluster.server, cluster.kubeconfig.read_text()
    core_v1.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="kept"), data={"a": "1"}),
    )
    try:
        cluster.stop_apiserver()
        assert not cluster.apiserver_running
        trust = ssl.create_default_context(cafile=str(cluster.ca_file))
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server}/readyz", verify=trust)
        cluster.stop_apiserver()  # stopping a stopped apiserver is harmless
    finally:
        if not cluster.apiserver_running:
            cluster.start_apiserver()
    assert cluster.apiserver_running
    with pytest.raises(DevEnvError, match="already running"):
        cluster.start_apiserver()
    assert (cluster.server, cluster.kubeconfig.read_text()) == (server, config)
    # The same client (same certificates) reads what etcd kept across the outage.
    assert core_v1.read_namespaced_config_map("kept", namespace).data == {"a": "1"}


def test_apiserver_metrics_count_requests_by_verb(
    cluster: LocalCluster, namespace: str, core_v1: client.CoreV1Api
):
    def configmap_requests() -> dict[tuple[str, str], float]:
        counts = api_requests(cluster.metrics())
        found: dict[tuple[str, str], float] = {}
        for request, value in counts.items():
            if request.resource == "configmaps" and not request.subresource:
                found[request.verb, request.code] = (
                    found.get((request.verb, request.code), 0) + value
                )
        return found

    # kube-controller-manager publishes kube-root-ca.crt into every new namespace (a POST
    # of its own): let it land before counting ours.
    deadline = time.monotonic() + 30
    while not core_v1.list_namespaced_config_map(
        namespace, field_selector="metadata.name=kube-root-ca.crt"
    ).items:
        assert time.monotonic() < deadline, "kube-root-ca.crt was never published"
        time.sleep(0.2)
    before = configmap_requests()
    for i in range(3):
        core_v1.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"m{i}"))
        )
    with pytest.raises(ApiException):
        core_v1.read_namespaced_config_map("missing", namespace)
    after = configmap_requests()
    assert after.get(("POST", "201"), 0) - before.get(("POST", "201"), 0) == 3
    assert after.get(("GET", "404"), 0) - before.get(("GET", "404"), 0) == 1


def test_metrics_parsing_delta_and_histogram_quantile():
    before = parse_metrics(
        "# TYPE lag histogram\n"
        'lag_bucket{le="0.1"} 1\nlag_bucket{le="1"} 2\nlag_bucket{le="+Inf"} 2\n'
        "lag_sum 0.6\nlag_count 2\n"
    )
    after = parse_metrics(
        "# TYPE lag histogram\n"
        'lag_bucket{le="0.1"} 51\nlag_bucket{le="1"} 101\nlag_bucket{le="+Inf"} 102\n'
        "lag_sum 30.6\nlag_count 102\n"
    )
    window = delta(before, after)
    assert window[("lag_count", ())] == 100
    bounds = {float(dict(k)["le"]): v for (n, k), v in window.items() if n == "lag_bucket"}
    assert bounds == {0.1: 50, 1.0: 99, float("inf"): 100}
    assert histogram_quantile(0.5, bounds) == pytest.approx(0.1)
    assert histogram_quantile(0.9, bounds) == pytest.approx(0.1 + 0.9 * 40 / 49)
    assert histogram_quantile(0.999, bounds) == 1.0  # in +Inf: the highest finite bound
    assert histogram_quantile(0.5, {}) is None


def test_controller_manager_creates_a_replicaset(namespace: str, apps_v1: client.AppsV1Api):
    labels = {"app": "smoke"}
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="smoke"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image="registry.invalid/app")]
                ),
            ),
        ),
    )
    created = apps_v1.create_namespaced_deployment(namespace, deployment)
    deadline = time.monotonic() + 30
    while not (sets := apps_v1.list_namespaced_replica_set(namespace).items):
        assert time.monotonic() < deadline, "no ReplicaSet within 30 s"
        time.sleep(0.2)
    [replica_set] = sets
    assert replica_set.metadata.owner_references[0].uid == created.metadata.uid
    assert replica_set.spec.replicas == 2


def test_exporter_metric_reaches_prometheus(exporter: MetricsExporter, prometheus: LocalPrometheus):
    case = uuid.uuid4().hex
    exporter.set("devenv_smoke_value", 42, {"case": case})
    expr = f'devenv_smoke_value{{case="{case}"}}'
    [sample] = prometheus.wait_for(expr, timeout=5)
    assert sample["metric"]["job"] == "exporter"
    assert float(sample["value"][1]) == 42

    exporter.remove("devenv_smoke_value", {"case": case})
    # A series gone from the target is marked stale at the next scrape.
    assert prometheus.wait_for(expr, lambda result: not result, timeout=5) == []


@pytest.mark.parametrize("outage", ["stop", "kill"])
def test_prometheus_restarts_on_the_same_url_with_its_data(
    outage: str, exporter: MetricsExporter, prometheus: LocalPrometheus
):
    case = uuid.uuid4().hex
    exporter.set("devenv_outage_value", 1, {"case": case})
    prometheus.wait_for(f'devenv_outage_value{{case="{case}"}}', timeout=5)
    url = prometheus.url

    getattr(prometheus, outage)()
    assert not prometheus.running
    with pytest.raises(httpx.ConnectError):
        prometheus.query("up")
    exporter.remove("devenv_outage_value", {"case": case})

    prometheus.start()
    assert prometheus.url == url
    [sample] = prometheus.query(f'last_over_time(devenv_outage_value{{case="{case}"}}[5m])')
    assert float(sample["value"][1]) == 1
    prometheus.wait_for_scrape()


def test_prometheus_loads_and_reloads_rule_files(
    exporter: MetricsExporter, prometheus: LocalPrometheus
):
    case = uuid.uuid4().hex
    exporter.set("devenv_rule_input", 3, {"case": case})
    rules = {
        "groups": [
            {
                "name": "smoke",
                "rules": [{"record": "devenv:doubled", "expr": "devenv_rule_input * 2"}],
            }
        ]
    }
    prometheus.set_rule_file("smoke", rules)
    try:
        [sample] = prometheus.wait_for(f'devenv:doubled{{case="{case}"}}', timeout=10)
        assert float(sample["value"][1]) == 6
        with pytest.raises(DevEnvError, match="rejected the reload"):
            prometheus.set_rule_file("broken", "groups: [{name: x, rules: [{record: r}]}]")
    finally:
        prometheus.remove_rule_file("broken")
        prometheus.remove_rule_file("smoke")
        exporter.remove("devenv_rule_input", {"case": case})


def test_operator_answers_liveness_and_survives_kill_and_restart(operator: OperatorProcess):
    assert httpx.get(operator.liveness_url).status_code == 200
    crashed_pid = operator.pid
    operator.kill()
    assert not operator.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(operator.liveness_url)

    operator.start()
    assert operator.pid != crashed_pid
    operator.restart()
    assert operator.running
    assert httpx.get(operator.liveness_url).status_code == 200
    assert "Signal SIGTERM is received" in operator.log_text()
    assert "Signal SIGTERM is received" not in operator.log_text(since_start=True)


def test_a_process_dying_at_startup_fails_with_its_log_tail(tmp_path: Path):
    process = ManagedProcess("doomed", ["sh", "-c", "echo boom; exit 3"], tmp_path / "doomed.log")
    process.start()
    with pytest.raises(DevEnvError, match=r"(?s)doomed exited with code 3 .*boom"):
        process.wait_ready(lambda: False, timeout=10)
    assert not process.running


def test_fake_nodes_run_pods_that_become_ready_after_the_delay(node_cluster: LocalCluster):
    """kube-scheduler places a Deployment's pods on KWOK's nodes; each turns Running and
    Ready no sooner than the configured delay after it was scheduled."""
    from tests.conftest import POD_READY_DELAY

    api = client.ApiClient(_configuration(node_cluster))
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    labels = {"app": "ready-probe"}
    apps.create_namespaced_deployment(
        "default",
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="ready-probe"),
            spec=client.V1DeploymentSpec(
                replicas=2,
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
    try:
        deadline = time.monotonic() + 60
        pods: list[client.V1Pod] = []
        while time.monotonic() < deadline:
            pods = core.list_namespaced_pod("default", label_selector="app=ready-probe").items
            if len(pods) == 2 and all(p.status.phase == "Running" for p in pods):
                break
            time.sleep(0.3)
        seen = [(p.metadata.name, p.spec.node_name, p.status.phase) for p in pods]
        assert [p.status.phase for p in pods] == ["Running", "Running"], seen
        for pod in pods:
            assert pod.spec.node_name.startswith("kwok-node-")
            times = {c.type: c.last_transition_time for c in pod.status.conditions}
            assert (times["Ready"] - times["PodScheduled"]).total_seconds() >= POD_READY_DELAY - 1
        status = apps.read_namespaced_deployment("ready-probe", "default").status
        assert status.ready_replicas == 2
    finally:
        apps.delete_namespaced_deployment("ready-probe", "default")
        api.close()


def _configuration(cluster: LocalCluster) -> client.Configuration:
    from kubernetes import config as kube_config

    configuration = client.Configuration()
    kube_config.load_kube_config(str(cluster.kubeconfig), client_configuration=configuration)
    return configuration
