"""When the reference check of an object runs: a ScalingPolicy whose target is a watched
workload (Deployment, StatefulSet) is checked when that workload appears in the watch or
leaves it, and otherwise only as a rare safety net; a target of another kind, or a Secret,
is still re-checked every --recheck-interval, because nothing watches it."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from watchkeeper.api import SCALING_POLICY
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.readiness import RECHECK_SELF_CONTAINED, ReadinessService, job_key
from watchkeeper.runtime.scheduler import Scheduler

RECHECK = 30.0


def _policy(name: str, target: dict[str, str]) -> dict[str, Any]:
    spec = {
        "targetRef": target,
        "maxReplicas": 4,
        "metrics": [{"name": "rps", "query": "x", "target": {"type": "Value", "value": 1}}],
    }
    metadata = {"namespace": "shop", "name": name, "generation": 1}
    return {"metadata": metadata, "spec": spec, "status": {"observedGeneration": 1}}


def _service() -> tuple[ReadinessService, Scheduler]:
    scheduler = Scheduler(concurrency=4)
    services = SimpleNamespace(config=OperatorConfig(recheck_interval=RECHECK))
    return ReadinessService(services, scheduler), scheduler  # type: ignore[arg-type]


async def test_a_watched_target_is_checked_when_it_appears_or_goes() -> None:
    readiness, scheduler = _service()
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    readiness.upsert(SCALING_POLICY, _policy("web", deployment))
    job = scheduler._jobs[job_key(SCALING_POLICY, "shop", "web")]
    assert job.interval == timedelta(seconds=RECHECK * RECHECK_SELF_CONTAINED)
    assert not job.triggered  # already checked at this generation

    readiness.workload_seen("Deployment", "shop", "web", present=True)
    assert job.triggered  # it appeared: check now
    job.triggered = False
    readiness.workload_seen("Deployment", "shop", "web", present=True)
    assert not job.triggered  # a change of a workload already there is not news
    readiness.workload_seen("Deployment", "shop", "other", present=False)
    readiness.workload_seen("StatefulSet", "shop", "web", present=True)
    assert not job.triggered  # not its target
    readiness.workload_seen("Deployment", "shop", "web", present=False)
    assert job.triggered  # it went (deleted, or its opt-in label removed)


async def test_an_unwatched_target_is_rechecked_every_interval() -> None:
    readiness, scheduler = _service()
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web"}
    readiness.upsert(SCALING_POLICY, _policy("web", rollout))
    job = scheduler._jobs[job_key(SCALING_POLICY, "shop", "web")]
    assert job.interval == timedelta(seconds=RECHECK)
