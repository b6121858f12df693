"""Two shards (`--shards 2 --shard 0` and `--shard 1`, each with --leader-elect) against
one API server: each carries only its namespaces (nothing of the other shard's namespace
is evaluated or written while only one runs), each holds its own Lease, and killing one
shard's process stops only its namespaces."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from kubernetes import client

from devenv import OperatorProcess
from devenv.names import namespace_name
from tests.alerting import alerts, apply, policy, states, wait_states
from tests.waiting import get_object
from watchkeeper.engine.sharding import Shard, namespace_shard
from watchkeeper.handlers.sharding import shard_filter

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]
SHARDS = 2
QUIET = 6.0  # seconds (six evaluation intervals) in which the other shard must stay silent


def _shard(cluster, prometheus, tmp_path, index: int) -> OperatorProcess:
    return OperatorProcess(
        kubeconfig=cluster.kubeconfig,
        prometheus_url=prometheus.url,
        log_path=tmp_path / f"shard-{index}.log",
        extra_args=["--shards", str(SHARDS), "--shard", str(index), "--leader-elect"],
        env={"WATCHKEEPER_RECHECK_INTERVAL": "1s", "POD_NAME": f"shard-{index}"},
    )


@pytest.fixture
def namespaces(core_v1: client.CoreV1Api, namespace: str) -> Iterator[dict[int, str]]:
    """One namespace per shard: the test's own and one more, found by the shard function."""
    other = namespace_shard(namespace, SHARDS) ^ 1
    extra = next(
        name
        for name in iter(lambda: namespace_name("sharding-other"), None)
        if namespace_shard(name, SHARDS) == other
    )
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=extra)))
    try:
        yield {namespace_shard(namespace, SHARDS): namespace, other: extra}
    finally:
        core_v1.delete_namespace(extra)


def _untouched(custom_objects, namespace: str, name: str) -> bool:
    """No Alert, no status, no annotation of ours on the policy: nothing acted on it."""
    body = get_object(custom_objects, "alertpolicies", namespace, name)
    annotations = body["metadata"].get("annotations") or {}
    ours = [k for k in annotations if k.startswith("watchkeeper.io")]
    return not alerts(custom_objects, namespace, name) and not body.get("status") and not ours


def test_each_shard_carries_only_its_namespaces(
    operator,
    cluster,
    prometheus,
    kubeconfig,
    namespaces,
    exporter,
    custom_objects,
    api_client,
    tmp_path,
):
    operator.stop()  # it carries every namespace; it is restarted afterwards
    shards = {i: _shard(cluster, prometheus, tmp_path, i) for i in range(SHARDS)}
    metric = {i: f"wk_shard_{i}" for i in range(SHARDS)}
    outcomes: dict[str, object] = {}
    try:
        shards[0].start()
        for i, ns in namespaces.items():
            exporter.set(metric[i], 3)
            apply(kubeconfig, ns, policy("load", metric[i]))
        wait_states(custom_objects, namespaces[0], "load", [("Firing", "Warning")])
        time.sleep(QUIET)
        outcomes["shard 1's namespace untouched while only shard 0 ran"] = _untouched(
            custom_objects, namespaces[1], "load"
        )
        assert outcomes["shard 1's namespace untouched while only shard 0 ran"]

        shards[1].start()
        wait_states(custom_objects, namespaces[1], "load", [("Firing", "Warning")])
        for i, process in shards.items():
            text = httpx.get(process.metrics_url, timeout=10).text
            assert f'watchkeeper_shard_info{{shard="{i}",shards="{SHARDS}"}} 1.0' in text
            assert namespaces[1 - i] not in process.log_text()
        leases = client.CoordinationV1Api(api_client)
        holders = {
            i: leases.read_namespaced_lease(
                f"watchkeeper-leader-shard-{i}-of-{SHARDS}", "default"
            ).spec.holder_identity
            for i in range(SHARDS)
        }
        assert all(holder.startswith(f"shard-{i}-") for i, holder in holders.items()), holders

        shards[0].kill()  # shard 1 goes on; shard 0's namespace stands still
        for i in range(SHARDS):
            exporter.set(metric[i], 7)
        wait_states(custom_objects, namespaces[1], "load", [("Firing", "Critical")])
        time.sleep(QUIET)
        outcomes["after shard 0 was killed: shard 0's namespace"] = states(
            custom_objects, namespaces[0], "load"
        )
        outcomes["after shard 0 was killed: shard 1's namespace"] = states(
            custom_objects, namespaces[1], "load"
        )
        print("\nsharding:", *(f"{k}: {v}" for k, v in outcomes.items()), sep="\n  ")
        assert outcomes["after shard 0 was killed: shard 0's namespace"] == [("Firing", "Warning")]
    finally:
        for process in shards.values():
            process.stop()


def test_the_kopf_filter_passes_only_the_shards_namespaces() -> None:
    assert shard_filter(Shard()) is None  # one shard: no filter at all, as before
    filters = [shard_filter(Shard(i, SHARDS)) for i in range(SHARDS)]
    for namespace in ("default", "kube-system", "team-a", "team-b", "monitoring"):
        passed = [i for i, when in enumerate(filters) if when and when(namespace=namespace)]
        assert passed == [namespace_shard(namespace, SHARDS)]
    assert not any(when and when(namespace=None) for when in filters)
