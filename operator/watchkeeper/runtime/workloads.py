"""Scale targets and the other autoscalers of a namespace, from kopf indexes (watches).

A ScalingPolicy's evaluation reads its target's replicas, and looks for HPAs, ScaledObjects
and older ScalingPolicies that target the same workload. Reading these per evaluation cost
about 10k GETs a minute at 1,000 policies; instead kopf keeps an index of each watched kind
(see handlers/workloads.py), filled by its initial LIST before any policy is handled, and
kept current by its watch. Only a slim record of each object is kept, never its pod
template.

Deployments and StatefulSets are indexed; with `--reference-policy=label` the watch asks
the API server only for workloads labelled `watchkeeper.io/allow-scaling=true`. A target
of another kind, or one missing from the index (absent, or not opted in), is read through
its /scale subresource as before, so its error names the real reason."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from watchkeeper.api.common import ObjectReference
from watchkeeper.api.scalingpolicy import TargetRef
from watchkeeper.kube.access import ReferencePolicy, target_allowed
from watchkeeper.kube.scale import HPA_KIND, SCALED_OBJECT_KIND, Autoscaler, Scale
from watchkeeper.kube.selectors import LabelSelector, SelectorError, from_spec, parse

Index = Mapping[Any, Collection[Any]]
"""A kopf index: key -> the values of every object that produced that key."""


@dataclass(frozen=True)
class IndexedResource:
    """A watched kind, and the name of its kopf index."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def index(self) -> str:
        return f"{self.kind.lower()}_index"


WORKLOAD_RESOURCES = (
    IndexedResource("apps", "v1", "deployments", "Deployment"),
    IndexedResource("apps", "v1", "statefulsets", "StatefulSet"),
)
PODS = IndexedResource("", "v1", "pods", "Pod")
HPA = IndexedResource("autoscaling", "v2", "horizontalpodautoscalers", HPA_KIND)
SCALED_OBJECT = IndexedResource("keda.sh", "v1alpha1", "scaledobjects", SCALED_OBJECT_KIND)
AUTOSCALER_RESOURCES = (HPA, SCALED_OBJECT)


def watched_resource(target: TargetRef | ObjectReference) -> IndexedResource | None:
    """The watched workload kind `target` names, if it names one."""
    return next(
        (
            r
            for r in WORKLOAD_RESOURCES
            if r.kind == target.kind and target.api_version == f"{r.group}/{r.version}"
        ),
        None,
    )


@dataclass(frozen=True)
class Workload:
    """What scaling needs of a Deployment or StatefulSet."""

    labels: Mapping[str, str]
    replicas: int
    """spec.replicas"""
    resource_version: str
    status_replicas: int = 0
    """status.replicas: the pods it has, ready or not (what /scale reports)"""
    selector: LabelSelector | None = None
    """spec.selector (what /scale reports as status.selector); None when unreadable"""

    def scale(self, namespace: str, name: str) -> Scale:
        """Its /scale as a GET would return it (the scale shares the workload's
        resourceVersion, so a write over it is checked against the workload's)."""
        metadata = {"name": name, "namespace": namespace, "resourceVersion": self.resource_version}
        body = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": metadata}
        return Scale(self.replicas, body | {"spec": {"replicas": self.replicas}})


def workload_entry(body: Mapping[str, Any]) -> dict[tuple[str, str], Workload]:
    """The index entry of a watched workload: (namespace, name) -> its slim record."""
    metadata, spec = body["metadata"], body.get("spec") or {}
    replicas = spec.get("replicas")
    try:
        selector = from_spec(spec["selector"]) if spec.get("selector") else None
    except SelectorError:
        selector = None
    workload = Workload(
        labels=dict(metadata.get("labels") or {}),
        replicas=1 if replicas is None else int(replicas),
        resource_version=str(metadata.get("resourceVersion") or ""),
        status_replicas=int((body.get("status") or {}).get("replicas") or 0),
        selector=selector,
    )
    return {(metadata["namespace"], metadata["name"]): workload}


@dataclass(frozen=True)
class PodRecord:
    """What scaling needs of a pod: its labels, and whether it counts as ready."""

    labels: Mapping[str, str]
    ready: bool


def pod_entry(body: Mapping[str, Any]) -> dict[Any, PodRecord]:
    """The index entries of a pod: its labels and readiness, as the HPA counts it (phase
    Running and condition Ready True), under its namespace and under (namespace, key,
    value) for each of its labels, so that a selector's pods are found through one of its
    terms instead of by going through every pod of the namespace."""
    metadata, status = body["metadata"], body.get("status") or {}
    ready = status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    namespace, labels = metadata["namespace"], dict(metadata.get("labels") or {})
    record = PodRecord(labels, ready)
    return {namespace: record} | {(namespace, key, value): record for key, value in labels.items()}


@dataclass(frozen=True)
class PodCount:
    """The pods a selector matches, and how many of them are ready."""

    listed: int
    ready: int


def scale_status(
    scale: Scale, workload: Workload | None
) -> tuple[int | None, LabelSelector | None]:
    """status.replicas and status.selector of a target's /scale: from the watched workload,
    else from the /scale read (None where it reports none or an unreadable selector)."""
    if workload is not None:
        return workload.status_replicas, workload.selector
    status = scale.body.get("status") or {}
    replicas = status.get("replicas")
    try:
        selector = parse(status["selector"]) if status.get("selector") else None
    except SelectorError:
        selector = None
    return (None if replicas is None else int(replicas)), selector


def autoscaler_entry(kind: str, body: Mapping[str, Any]) -> dict[str, Autoscaler]:
    """The index entry of an HPA or a ScaledObject: its namespace -> what it scales."""
    return {body["metadata"]["namespace"]: Autoscaler.of(kind, body)}


class WorkloadIndex:
    """Reads the kopf indexes of workloads and autoscalers."""

    def __init__(self, indexes: Mapping[str, Index], policy: ReferencePolicy) -> None:
        """`indexes`: kopf's indexes by name (absent ones count as empty)."""
        self._indexes = indexes
        self._policy = policy

    def workload(self, namespace: str, target: TargetRef | ObjectReference) -> Workload | None:
        """The target as last seen by the watch, if it is an indexed kind, exists and may be
        scaled; None means "ask the API server" (its answer says why not)."""
        resource = watched_resource(target)
        if resource is None:
            return None
        found = list(self._indexes.get(resource.index, {}).get((namespace, target.name), ()))
        if len(found) != 1 or not target_allowed(found[0].labels, self._policy):
            return None
        workload: Workload = found[0]
        return workload

    def pods(self, namespace: str, selector: LabelSelector) -> PodCount:
        """The watched pods of a namespace that `selector` matches (the HPA's pod lister),
        looked up through the selector's narrowest `In` term when it has one."""
        index = self._indexes.get(PODS.index, {})
        terms = (
            [index.get((namespace, term.key, value), ()) for value in term.values]
            for term in selector.requirements
            if term.operator == "In"
        )
        candidates = min(
            terms,
            key=lambda stores: sum(len(store) for store in stores),
            default=[index.get(namespace, ())],
        )
        matched = [pod for store in candidates for pod in store if selector.matches(pod.labels)]
        return PodCount(len(matched), sum(1 for pod in matched if pod.ready))

    def autoscalers(self, namespace: str) -> list[Autoscaler]:
        """The HPAs and ScaledObjects of a namespace."""
        return [
            autoscaler
            for resource in AUTOSCALER_RESOURCES
            for autoscaler in self._indexes.get(resource.index, {}).get(namespace, ())
        ]
