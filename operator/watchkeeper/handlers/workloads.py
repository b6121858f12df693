"""Scale targets and other autoscalers, indexed by kopf (registration only).

kopf fills every index with its initial LIST before it hands any object to a handler, so
no ScalingPolicy is evaluated before the HPAs that might compete with it are known. The
workloads' events also reach the runtime, which checks the references to a workload when
it appears or goes.
With --shards, each index holds only the objects of this shard's namespaces (a scale
target is in its ScalingPolicy's namespace)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from watchkeeper.handlers.sharding import ShardFilter
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.workloads import (
    AUTOSCALER_RESOURCES,
    PODS,
    WORKLOAD_RESOURCES,
    IndexedResource,
    autoscaler_entry,
    pod_entry,
    workload_entry,
)


def _autoscaler_indexer(kind: str) -> Callable[..., dict[str, Any]]:
    def indexer(body: kopf.Body, **_: Any) -> dict[str, Any]:
        return autoscaler_entry(kind, body)

    return indexer


def _workload_indexer(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    return workload_entry(body)


def _pod_indexer(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    return pod_entry(body)


def _watcher(resource: IndexedResource) -> Callable[..., Awaitable[None]]:
    async def watcher(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        runtime: Runtime = memo.runtime
        metadata = body["metadata"]
        present = type != "DELETED"
        runtime.workload_seen(resource.kind, metadata["namespace"], metadata["name"], present)

    watcher.__name__ = f"watch_{resource.kind.lower()}"
    return watcher


def _index(resource: IndexedResource, registry: kopf.OperatorRegistry, when: ShardFilter) -> Any:
    return kopf.on.index(
        resource.group,
        resource.version,
        resource.plural,
        id=resource.index,
        registry=registry,
        when=when,
    )


def register(registry: kopf.OperatorRegistry, when: ShardFilter) -> None:
    for resource in WORKLOAD_RESOURCES:
        _index(resource, registry, when)(_workload_indexer)
        kopf.on.event(
            resource.group,
            resource.version,
            resource.plural,
            id="watch",
            registry=registry,
            when=when,
        )(_watcher(resource))
    for resource in AUTOSCALER_RESOURCES:
        _index(resource, registry, when)(_autoscaler_indexer(resource.kind))
    _index(PODS, registry, when)(_pod_indexer)
