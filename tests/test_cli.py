"""The watchkeeper command as a user meets it: every error is one line on stderr that says
what to do, and `-n` defaults to the kubeconfig context's namespace, as for kubectl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devenv.exporter import MetricsExporter
from devenv.net import LOOPBACK, free_port
from tests.kubectl import kubectl, watchkeeper_object

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")


def watchkeeper(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    return subprocess.run(
        [WATCHKEEPER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean | (env or {}),
    )


def one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_missing_kubeconfig_says_to_set_it(tmp_path: Path) -> None:
    result = watchkeeper("ack", "x", "-n", "y", env={"KUBECONFIG": str(tmp_path / "none")})
    one_line_error(result, "watchkeeper ack:", "set KUBECONFIG")


def test_unreachable_api_server_says_to_check_the_cluster(tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"https://{LOOPBACK}:{free_port()}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    result = watchkeeper("ack", "x", "-n", "y", env={"KUBECONFIG": str(path)})
    one_line_error(result, "unreachable", "check that the cluster is up")


def _alert(custom_objects, namespace: str, name: str) -> dict:
    return custom_objects.get_namespaced_custom_object(
        "watchkeeper.io", "v1alpha1", namespace, "alerts", name
    )


@pytest.mark.cluster
def test_ack_of_a_wrong_name_says_how_to_list_alerts(kubeconfig, namespace) -> None:
    result = watchkeeper(
        "ack", "no-such-alert", "-n", namespace, env={"KUBECONFIG": str(kubeconfig)}
    )
    one_line_error(result, "no-such-alert", f"kubectl get alerts -n {namespace}")


@pytest.mark.cluster
def test_ack_defaults_to_the_context_namespace(kubeconfig, namespace, custom_objects, tmp_path):
    kubectl(
        kubeconfig,
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        manifest=watchkeeper_object("Alert", "a1", {}),
    )
    own = tmp_path / "kubeconfig"
    own.write_text(kubeconfig.read_text())
    kubectl(own, "config", "set-context", "--current", f"--namespace={namespace}")
    result = watchkeeper("ack", "a1", "--by", "alice", env={"KUBECONFIG": str(own)})
    assert result.returncode == 0, result.stderr
    assert _alert(custom_objects, namespace, "a1")["spec"]["acknowledgement"]["by"] == "alice"
    one_line_error(watchkeeper("ack", "a2", env={"KUBECONFIG": str(own)}), f"-n {namespace}")


def test_dev_set_drives_the_exporter() -> None:
    with MetricsExporter() as exporter:
        env = {"WATCHKEEPER_DEV_EXPORTER": f"http://{exporter.address}"}
        result = watchkeeper(
            "dev", "set", "queue_length=50", "jobs=2", "-l", "queue=orders", env=env
        )
        assert result.returncode == 0, result.stderr
        body = exporter.exposition()
        assert 'queue_length{queue="orders"} 50.0' in body
        assert 'jobs{queue="orders"} 2.0' in body
        assert watchkeeper("dev", "unset", "jobs", "-l", "queue=orders", env=env).returncode == 0
        assert "jobs" not in exporter.exposition()
        one_line_error(
            watchkeeper("dev", "set", "bad-name=1", env=env), "not a Prometheus metric name"
        )


def test_dev_set_without_make_dev_says_to_start_it() -> None:
    result = watchkeeper("dev", "set", "x=1", env={"WATCHKEEPER_DEV_EXPORTER": ""})
    one_line_error(result, "make dev")
    closed = {"WATCHKEEPER_DEV_EXPORTER": f"http://{LOOPBACK}:{free_port()}"}
    one_line_error(watchkeeper("dev", "set", "x=1", env=closed), "is `make dev` running")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--shards", "2", "--shard", "2"), "shard 2 does not exist: shards are 0..1"),
        (("--shards", "0"), "the number of shards must be at least 1, not 0"),
    ],
)
def test_run_refuses_a_shard_outside_the_count(args: tuple[str, ...], expected: str) -> None:
    result = watchkeeper("run", *args)
    assert result.returncode == 2, result
    assert expected in result.stderr.strip().splitlines()[-1]
