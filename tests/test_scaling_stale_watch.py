"""A ScalingPolicy whose write over the target's /scale conflicts because the watch lags
behind the workload reads /scale itself until the watch catches up, instead of retrying
the stale view (and writing no status) at every evaluation.

The lag cannot be produced on demand against a real API server, so this drives one
policy's evaluations with the watch, /scale and Prometheus stood in."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from watchkeeper.api.scalingpolicy import ScalingPolicySpec, TargetRef
from watchkeeper.kube.scale import Scale, ScaleChanged
from watchkeeper.prometheus.client import Sample
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.scaling import PolicyDaemon
from watchkeeper.runtime.workloads import Workload

SPEC = {
    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "minReplicas": 1,
    "maxReplicas": 10,
    "evaluationInterval": "1s",
    "metrics": [
        {"name": "load", "query": "sum(load)", "target": {"type": "AverageValue", "value": 100}}
    ],
}


def _scale(replicas: int, version: str) -> Scale:
    metadata = {"name": "web", "namespace": "ns", "resourceVersion": version}
    return Scale(replicas, {"metadata": metadata, "spec": {"replicas": replicas}})


class _Target:
    """The Deployment as the API server has it (5 replicas), and a watch stuck at 1."""

    def __init__(self) -> None:
        self.live = _scale(5, "12")
        self.watched = Workload(labels={}, replicas=1, resource_version="10")
        self.writes: list[int] = []
        self.gets = 0

    def workload(self, namespace: str, target: TargetRef) -> Workload:
        return self.watched

    async def get(self, namespace: str, target: TargetRef) -> Scale:
        self.gets += 1
        return self.live

    async def set_replicas(
        self, namespace: str, target: TargetRef, scale: Scale, replicas: int, opted_in: bool
    ) -> None:
        version = scale.body["metadata"]["resourceVersion"]
        if version != self.live.body["metadata"]["resourceVersion"]:  # a 409, then a GET
            raise ScaleChanged(self.live.replicas)
        self.writes.append(replicas)


async def test_a_conflict_with_a_lagging_watch_is_settled_by_reading_scale() -> None:
    target = _Target()
    applied: list[dict[str, Any]] = []

    async def apply_status(kind: Any, namespace: str, name: str, fields: Any, manager: str) -> None:
        applied.append(fields)

    async def query(conn: Any, expr: str, at: datetime) -> list[Sample]:
        return [Sample({}, 450.0)]

    workloads = SimpleNamespace(workload=target.workload, autoscalers=lambda namespace: [])
    services = SimpleNamespace(
        kube=SimpleNamespace(apply_status=apply_status),
        prometheus=SimpleNamespace(query=query),
        config=OperatorConfig(prometheus_url="http://prometheus.invalid"),
        workloads=workloads,
    )
    service = SimpleNamespace(services=services, scales=target, rivals=lambda *a: [])
    daemon = PolicyDaemon(service, "ns", "web")  # type: ignore[arg-type]
    body = {"metadata": {"name": "web", "namespace": "ns", "generation": 1}}
    spec = ScalingPolicySpec.model_validate(SPEC)

    first = await daemon.evaluate_once(body, spec, datetime.now(UTC))
    second = await daemon.evaluate_once(body, spec, datetime.now(UTC))

    assert first == 0.0  # the write conflicted: evaluate again now
    assert second == 1.0, "the second evaluation must not trust the stale watch again"
    assert target.gets == 1 and target.writes == []  # 5 replicas already, as the load asks
    assert applied and applied[-1]["currentReplicas"] == 5
