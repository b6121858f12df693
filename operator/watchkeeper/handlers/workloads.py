"""Scale targets and other autoscalers, indexed by kopf (registration only).

kopf fills every index with its initial LIST before it hands any object to a handler, so
no ScalingPolicy is evaluated before the HPAs that might compete with it are known.
With --shards, each index holds only the objects of this shard's namespaces (a scale
target is in its ScalingPolicy's namespace)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from watchkeeper.handlers.sharding import ShardFilter
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
    for resource in AUTOSCALER_RESOURCES:
        _index(resource, registry, when)(_autoscaler_indexer(resource.kind))
    _index(PODS, registry, when)(_pod_indexer)
