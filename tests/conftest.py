"""Shared fixtures: a real local control plane, Prometheus, an exporter and the operator.

Every fixture here is lazy: a test that requests none of them starts no process. Whatever
is started is stopped by the fixture's teardown, and, as a last resort, by
``devenv.process.stop_all`` at session end and at interpreter exit.
"""

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException

from devenv import LocalCluster, LocalPrometheus, MetricsExporter, OperatorProcess, apply_crds
from devenv.names import namespace_name
from devenv.process import stop_all
from tests.receivers import HttpReceiver

REPO_ROOT = Path(__file__).resolve().parents[1]
CRD_DIR = REPO_ROOT / "crds"


def pytest_configure(config: pytest.Config) -> None:
    """Treat SIGTERM like Ctrl-C, so an aborted run still tears its processes down."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


OPERATOR_LOG_LINES = 80
"""How many of the operator's lines about a failed test's namespace its report shows."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that ran against the operator reports what the operator logged about
    its namespace: a CI failure must be explicable from its output alone."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    process, namespace = funcargs.get("operator"), funcargs.get("namespace")
    if report.failed and isinstance(process, OperatorProcess) and isinstance(namespace, str):
        lines = [line for line in process.log_text().splitlines() if namespace in line]
        section = "\n".join(lines[-OPERATOR_LOG_LINES:]) or "(no line names the namespace)"
        report.sections.append((f"operator log about {namespace}", section))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Backstop for fixtures whose teardown never ran."""
    stop_all()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """etcd + kube-apiserver + kube-controller-manager, with ``crds/`` applied."""
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), controller_manager=True)
    try:
        local.start()
        apply_crds(local.kubeconfig, CRD_DIR)
        yield local
    finally:
        local.stop()


POD_READY_DELAY = 5.0


@pytest.fixture(scope="session")
def node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A second control plane with 3 fake nodes (kube-scheduler + KWOK), ``crds/``
    applied: Deployments get pods that are scheduled and turn Running and Ready
    ``POD_READY_DELAY`` seconds later. Only the tests that ask for it start it."""
    local = LocalCluster(
        tmp_path_factory.mktemp("node-cluster"), nodes=3, pod_ready_delay=POD_READY_DELAY
    )
    try:
        local.start()
        apply_crds(local.kubeconfig, CRD_DIR)
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def node_operator(
    node_cluster: LocalCluster,
    prometheus: LocalPrometheus,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """The operator on ``node_cluster``, started once."""
    process = OperatorProcess(
        kubeconfig=node_cluster.kubeconfig,
        prometheus_url=prometheus.url,
        log_path=tmp_path_factory.mktemp("node-operator") / "watchkeeper.log",
        env={"WATCHKEEPER_RECHECK_INTERVAL": "1s"},
    )
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def kubeconfig(cluster: LocalCluster) -> Path:
    """Path of an admin kubeconfig for ``cluster``."""
    return cluster.kubeconfig


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    """A synchronous Kubernetes API client authenticated as the cluster admin."""
    api = kube_config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(scope="session")
def core_v1(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps_v1(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="session")
def custom_objects(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def exporter() -> Iterator[MetricsExporter]:
    """Gauges under the test's control, scraped by ``prometheus`` every second."""
    with MetricsExporter() as metrics:
        yield metrics


@pytest.fixture(scope="session")
def prometheus(
    exporter: MetricsExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPrometheus]:
    """Prometheus scraping ``exporter``; tests may stop() and start() it, on the same URL."""
    server = LocalPrometheus(tmp_path_factory.mktemp("prometheus"), exporter.address)
    try:
        server.start()
        server.wait_for_scrape()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def operator(
    cluster: LocalCluster,
    prometheus: LocalPrometheus,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """The operator, started once; a test may kill/restart it but must leave it running."""
    process = OperatorProcess(
        kubeconfig=cluster.kubeconfig,
        prometheus_url=prometheus.url,
        log_path=tmp_path_factory.mktemp("operator") / "watchkeeper.log",
        env={"WATCHKEEPER_RECHECK_INTERVAL": "1s", "WATCHKEEPER_SILENCE_RETENTION": "5s"},
    )
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def _restart_what_the_test_stopped(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used ``operator`` or ``prometheus``, start it again if it is down."""
    yield
    for name in ("prometheus", "operator"):
        if name in request.fixturenames:
            process: LocalPrometheus | OperatorProcess = request.getfixturevalue(name)
            if not process.running:
                process.start()


@pytest.fixture
def namespace(request: pytest.FixtureRequest, core_v1: client.CoreV1Api) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards."""
    name = namespace_name(request.node.name)
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        try:
            core_v1.delete_namespace(name)
        except ApiException as error:
            if error.status != 404:
                raise


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A recording HTTP receiver on 127.0.0.1 (webhooks, PagerDuty, ...), per test."""
    with HttpReceiver() as server:
        yield server
