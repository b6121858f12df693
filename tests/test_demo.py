"""`make demo`: the closed loop on fake nodes. The demo driver runs a compressed script
against the real local environment (kube-scheduler + KWOK, Prometheus, the operator) with
the manifests of manifests/demo/ as written, and the loop closes: the alert fires, replicas
rise, the new pods become Ready, the load per pod falls and the alert resolves."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from devenv import DevEnvError, LocalCluster, MetricsExporter, OperatorProcess
from devenv.binaries import REPO_ROOT
from devenv.demo import (
    DEPLOYMENT,
    LABELS,
    MANIFESTS,
    NAMESPACE,
    PER_POD_METRIC,
    TOTAL_METRIC,
    DemoDriver,
    LoadScript,
    Reading,
)
from devenv.metrics import parse_metrics
from tests.kubectl import kubectl
from tests.test_first_hour import Terminal
from tests.waiting import eventually

SCRIPT = LoadScript(low=80, high=800, idle=6, ramp_up=10, plateau=60, ramp_down=10)


@pytest.mark.parametrize(
    ("elapsed", "phase", "total"),
    [
        (0, "idle", 80),
        (5.9, "idle", 80),
        (6, "ramp-up", 80),
        (11, "ramp-up", 440),
        (16, "plateau", 800),
        (75.9, "plateau", 800),
        (76, "ramp-down", 800),
        (81, "ramp-down", 440),
        (86, "idle", 80),  # one loop is 86 s: it starts again
        (86 + 11, "ramp-up", 440),
    ],
)
def test_the_script_loops_through_its_phases(elapsed: float, phase: str, total: float):
    assert SCRIPT.at(elapsed) == (phase, pytest.approx(total))


@pytest.mark.parametrize(
    "script",
    [
        {"idle": -1},
        {"idle": 0, "ramp_up": 0, "plateau": 0, "ramp_down": 0},
        {"low": 900, "high": 800},
        {"low": -1},
    ],
)
def test_a_script_that_cannot_loop_is_refused(script: dict[str, float]):
    with pytest.raises(DevEnvError):
        LoadScript(**script)


def test_the_load_per_pod_is_the_total_shared_by_ready_pods():
    assert Reading(0, "plateau", 800, 5).per_pod == 160
    assert Reading(0, "plateau", 800, 0).per_pod is None
    assert str(Reading(12.3, "ramp-up", 440, 2)) == (
        "demo:    12s  ramp-up    load  440/s  ready pods  2  per pod 220"
    )


# Each wait of the loop; the slowest is the second scale-up: 15 s after the first (Balanced
# adds at most +4 pods or +100% per 15 s), its pods Ready 5 s later.
LOOP_TIMEOUT = 60.0
COMPRESSED = LoadScript(low=80, high=800, idle=2, ramp_up=2, plateau=600, ramp_down=2)


@pytest.fixture
def demo_api(node_cluster: LocalCluster) -> Iterator[client.ApiClient]:
    api = kube_config.new_client_from_config(config_file=str(node_cluster.kubeconfig))
    try:
        yield api
    finally:
        api.close()


@pytest.mark.cluster
@pytest.mark.prometheus
def test_the_demo_loop_closes(
    node_cluster: LocalCluster,
    node_operator: OperatorProcess,
    demo_api: client.ApiClient,
    exporter: MetricsExporter,
):
    """manifests/demo/ as written, the driver on a compressed script (800/s after 4 s):
    one pod carries 800/s, the alert fires, replicas rise to 8 or more and all become
    Ready, the load per pod falls to 100 or less and the alert resolves."""
    apps, custom = client.AppsV1Api(demo_api), client.CustomObjectsApi(demo_api)
    kubectl(node_cluster.kubeconfig, "apply", "-f", str(MANIFESTS))
    lines: list[str] = []
    driver = DemoDriver(
        node_cluster.server, node_cluster.certs, exporter, COMPRESSED, report=lines.append
    )
    stop = threading.Event()
    thread = threading.Thread(target=driver.run, args=(stop,), name="demo-driver")
    thread.start()
    try:

        def counts() -> tuple[int, int]:
            """(spec.replicas, status.readyReplicas) of the demo's Deployment."""
            found = apps.read_namespaced_deployment(DEPLOYMENT, NAMESPACE)
            return int(found.spec.replicas), int(found.status.ready_replicas or 0)

        def alert() -> dict[str, Any]:
            found = custom.list_namespaced_custom_object(
                "watchkeeper.io",
                "v1alpha1",
                NAMESPACE,
                "alerts",
                label_selector="watchkeeper.io/policy=web-overloaded",
            )["items"]
            return dict((found[0].get("status") or {}) if found else {})

        eventually(counts, lambda c: c == (1, 1), timeout=LOOP_TIMEOUT)
        firing = eventually(alert, lambda s: s.get("state") == "Firing", timeout=LOOP_TIMEOUT)
        assert firing["value"] > 150
        assert counts()[1] < 6, "the alert fired before the pods to carry 800/s were Ready"
        # 800/s at 100 per pod: at least 8 replicas asked for, all of them Ready.
        eventually(counts, lambda c: c[0] >= 8 and c[1] == c[0], timeout=LOOP_TIMEOUT)
        resolved = eventually(alert, lambda s: s.get("state") == "Resolved", timeout=30)
        assert resolved["value"] <= 150
        published = parse_metrics(exporter.exposition())
        assert published[PER_POD_METRIC, tuple(LABELS.items())] <= 100
    finally:
        stop.set()
        thread.join()
        client.CoreV1Api(demo_api).delete_namespace(NAMESPACE)
    assert any("plateau" in line for line in lines), lines
    assert TOTAL_METRIC not in exporter.exposition(), "the driver stops publishing when stopped"


@pytest.mark.cluster
@pytest.mark.prometheus
def test_make_demo_runs_the_loop_and_stops_everything_on_ctrl_c():
    """`make demo` on a terminal: it prints how to watch, the driver reports the demo's
    pod Ready, and Ctrl-C stops every process it started, removes its files and exits 0."""
    terminal = Terminal(["make", "--no-print-directory", "demo"], REPO_ROOT)
    try:
        eventually(lambda: terminal.output, lambda out: "ready pods  1" in out, timeout=180)
    finally:
        terminal.ctrl_c()
        code = terminal.wait(timeout=60)
    assert code == 0, terminal.output[-3000:]
    assert "devenv: stopped" in terminal.output
    assert "watch -n1 kubectl get scalingpolicies,alerts,pods -n demo" in terminal.output
    match = re.search(r"export KUBECONFIG=(\S+)/cluster/kubeconfig", terminal.output)
    assert match is not None, terminal.output
    workdir = match.group(1)
    assert not Path(workdir).exists()
    assert not [cmdline for cmdline in _command_lines() if workdir in cmdline]


def _command_lines() -> list[str]:
    lines = []
    for proc in Path("/proc").iterdir():
        try:
            lines.append((proc / "cmdline").read_bytes().decode(errors="replace"))
        except OSError:
            continue
    return lines
