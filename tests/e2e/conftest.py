"""The end-to-end suite against an existing cluster: `make e2e KUBECONFIG=path`.

The chart is installed there with the pinned helm (CRDs, ServiceAccount, RBAC, Service;
`replicas: 0`, so that no image has to be built or pulled), and the operator of this
checkout runs on this machine as that ServiceAccount, with a local Prometheus scraping a
local exporter. So the cluster's own API server, admission and RBAC decide what the
operator may do, on kind, k3d or any dev cluster alike. Nothing here is collected unless
WATCHKEEPER_E2E_KUBECONFIG is set (make e2e sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from devenv.names import namespace_name
from devenv.operator import OperatorProcess
from devenv.prometheus import LocalPrometheus
from tests.helm import CHART, ROOT, helm
from tests.kubectl import kubectl, service_account_kubeconfig

TARGET = os.environ.get("WATCHKEEPER_E2E_KUBECONFIG", "")
collect_ignore_glob = [] if TARGET else ["test_*.py"]


@pytest.fixture(scope="session")
def cluster() -> None:
    raise RuntimeError("the e2e suite runs against WATCHKEEPER_E2E_KUBECONFIG, not a local one")


@pytest.fixture(scope="session")
def kubeconfig() -> Path:
    """The cluster under test."""
    return Path(TARGET)


@pytest.fixture(scope="session")
def release(kubeconfig: Path, core_v1: client.CoreV1Api) -> Iterator[str]:
    """The chart installed into a namespace of its own; its name."""
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(ROOT / "charts/watchkeeper/crds"))
    namespace = namespace_name("watchkeeper-e2e")
    kube = ("--kubeconfig", str(kubeconfig), "-n", namespace)
    settings = ("--set", "replicas=0", "--set", "rbac.userRoles=false")
    helm("install", namespace, str(CHART), *kube, "--create-namespace", *settings)
    try:
        yield namespace
    finally:
        helm("uninstall", namespace, *kube, "--wait", check=False)
        core_v1.delete_namespace(namespace)


@pytest.fixture(scope="session")
def operator(
    release: str,
    kubeconfig: Path,
    core_v1: client.CoreV1Api,
    prometheus: LocalPrometheus,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """This checkout's operator, as the chart's ServiceAccount."""
    workdir = tmp_path_factory.mktemp("operator")
    account = service_account_kubeconfig(
        kubeconfig, core_v1, release, release, workdir / "kubeconfig"
    )
    process = OperatorProcess(
        kubeconfig=account,
        prometheus_url=prometheus.url,
        log_path=workdir / "watchkeeper.log",
        extra_args=["--log-format", "json"],
        env={"WATCHKEEPER_RECHECK_INTERVAL": "1s", "POD_NAMESPACE": release},
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
