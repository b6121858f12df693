"""Scaling through the API server: any workload's /scale subresource, and who else scales
it (HorizontalPodAutoscalers, KEDA ScaledObjects, other ScalingPolicies).

A workload is scaled only when it opted in (see `watchkeeper.kube.access`): unless the
caller already knows (from a watch filtered on the label), its labels are read (metadata
only, never its spec) before a read or write of /scale, at most once per `opt_in_ttl`.

The official client is synchronous: every call runs in a worker thread."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import (
    ConflictError,
    DynamicApiError,
    NotFoundError,
    ResourceNotFoundError,
)

from watchkeeper.api.scalingpolicy import TargetRef
from watchkeeper.kube.access import (
    DEFAULT_POLICY,
    ReferencePolicy,
    target_allowed,
    target_not_allowed,
)
from watchkeeper.kube.calls import run_blocking

CONFLICT_RETRIES = 3
KEDA_KIND = "Deployment"  # a ScaledObject's scaleTargetRef.kind when unset
HPA_KIND = "HorizontalPodAutoscaler"
SCALED_OBJECT_KIND = "ScaledObject"
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


class ScaleError(Exception):
    """The target's scale could not be read or written; the message says why."""


class TargetNotAllowed(ScaleError):
    """The workload did not opt in to being scaled by Watchkeeper."""


class ScaleClaimed(ScaleError):
    """Another autoscaler scales the workload; its watch had not shown it yet."""


class ScaleChanged(ScaleError):
    """Someone else changed the replicas between our read and our write."""

    def __init__(self, replicas: int) -> None:
        super().__init__(f"the replicas were changed to {replicas} meanwhile")
        self.replicas = replicas


@dataclass(frozen=True)
class Scale:
    """A workload's /scale as read."""

    replicas: int  # spec.replicas
    body: dict[str, Any]  # the Scale object, to write back with its resourceVersion


@dataclass(frozen=True)
class Claim:
    """Another object that scales the same workload."""

    kind: str
    name: str


@dataclass(frozen=True)
class Autoscaler:
    """An HPA or a ScaledObject, and the workload it scales (a scaleTargetRef dict)."""

    kind: str
    name: str
    target: dict[str, Any]

    @classmethod
    def of(cls, kind: str, body: Mapping[str, Any]) -> Autoscaler:
        """The autoscaler an HPA or ScaledObject (`kind`) is, with its target's defaults."""
        target = dict((body.get("spec") or {}).get("scaleTargetRef") or {})
        if kind == SCALED_OBJECT_KIND:
            target = {"kind": KEDA_KIND, "apiVersion": "apps/v1"} | target
        return cls(kind, body["metadata"]["name"], target)


def claims_on(
    target: TargetRef,
    policy: str,
    created: str,
    autoscalers: Iterable[Autoscaler],
    scaling_policies: Iterable[Mapping[str, Any]],
) -> list[Claim]:
    """The autoscalers and older ScalingPolicies (created before `created`, or at the same
    second with a smaller name) that target the same workload as `target`."""
    found = [Claim(a.kind, a.name) for a in autoscalers if _targets(a.target, target, "", "")]
    found += [
        Claim("ScalingPolicy", obj["metadata"]["name"])
        for obj in scaling_policies
        if obj.get("spec")
        and _older(obj["metadata"], policy, created)
        and _targets(obj["spec"].get("targetRef") or {}, target, "", "apps/v1")
    ]
    return found


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _targets(ref: Mapping[str, Any], target: TargetRef, kind: str, api_version: str) -> bool:
    """Whether a scaleTargetRef-like dict (with defaults) names `target`."""
    return (
        ref.get("name") == target.name
        and (ref.get("kind") or kind) == target.kind
        and _group(ref.get("apiVersion") or api_version) == _group(target.api_version)
    )


class Scales:
    """The /scale subresource of any kind, and the other autoscalers of a workload."""

    def __init__(
        self,
        api_client: client.ApiClient,
        policy: ReferencePolicy = DEFAULT_POLICY,
        opt_in_ttl: float = 0.0,
    ) -> None:
        """`opt_in_ttl`: seconds a target's opt-in label, once seen, is trusted before it is
        read again (0: read before every /scale read and write)."""
        self._api = api_client
        self._policy = policy
        self._opt_in_ttl = opt_in_ttl
        self._opted_in: dict[tuple[str, str, str, str], float] = {}  # target -> when seen
        self._dynamic: DynamicClient | None = None

    async def get(self, namespace: str, target: TargetRef) -> Scale:
        """Read the target's scale; ScaleError says why it cannot be read (TargetNotAllowed
        when the workload did not opt in)."""
        return await run_blocking(self._get, namespace, target)

    async def set_replicas(
        self,
        namespace: str,
        target: TargetRef,
        scale: Scale,
        replicas: int,
        opted_in: bool = False,
    ) -> None:
        """Write `replicas` over the scale read before (`opted_in`: the caller saw the
        workload's opt-in label). A write conflict (the workload changed meanwhile) is retried
        while the replicas are still the ones read; ScaleChanged when someone else changed
        them."""
        await run_blocking(self._set, namespace, target, scale, replicas, opted_in)

    def _scale_resource(self, namespace: str, target: TargetRef, opted_in: bool = False) -> Any:
        """The target's /scale, once the target is known to have opted in."""
        if self._dynamic is None:
            self._dynamic = DynamicClient(self._api)
        try:
            resource = self._dynamic.resources.get(api_version=target.api_version, kind=target.kind)
        except ResourceNotFoundError:
            raise ScaleError(
                f"the API server does not serve kind {target.kind} in {target.api_version}"
            ) from None
        if "scale" not in resource.subresources:
            raise ScaleError(f"kind {target.kind} has no /scale subresource")
        if not opted_in:
            self._check_opt_in(resource, namespace, target)
        return resource.subresources["scale"]

    def _check_opt_in(self, resource: Any, namespace: str, target: TargetRef) -> None:
        """TargetNotAllowed unless the workload carries the opt-in label."""
        if self._policy is ReferencePolicy.ANY:
            return
        key = (namespace, target.api_version, target.kind, target.name)
        if time.monotonic() - self._opted_in.get(key, -math.inf) < self._opt_in_ttl:
            return
        try:
            found = resource.get(
                name=target.name, namespace=namespace, header_params={"Accept": METADATA_ONLY}
            )
        except NotFoundError:
            raise ScaleError(f"{target.kind} {target.name} not found") from None
        except DynamicApiError as error:
            raise ScaleError(
                f"reading {target.kind} {target.name} failed: {error.summary()}"
            ) from None
        labels = (found.to_dict().get("metadata") or {}).get("labels")
        if not target_allowed(labels, self._policy):
            self._opted_in.pop(key, None)
            raise TargetNotAllowed(target_not_allowed(target.kind, target.name))
        self._opted_in[key] = time.monotonic()

    def _get(self, namespace: str, target: TargetRef) -> Scale:
        resource = self._scale_resource(namespace, target)
        try:
            body = resource.get(name=target.name, namespace=namespace).to_dict()
        except NotFoundError:
            raise ScaleError(f"{target.kind} {target.name} not found") from None
        except DynamicApiError as error:
            raise ScaleError(f"reading /scale failed: {error.summary()}") from None
        return Scale(int((body.get("spec") or {}).get("replicas") or 0), body)

    def _set(
        self, namespace: str, target: TargetRef, scale: Scale, replicas: int, opted_in: bool
    ) -> None:
        resource = self._scale_resource(namespace, target, opted_in)
        self._check_unclaimed(namespace, target)
        for _ in range(CONFLICT_RETRIES):
            body = {**scale.body, "spec": {**(scale.body.get("spec") or {}), "replicas": replicas}}
            try:
                resource.replace(body=body, name=target.name, namespace=namespace)
                return
            except ConflictError:
                fresh = self._get(namespace, target)
                if fresh.replicas != scale.replicas:
                    raise ScaleChanged(fresh.replicas) from None
                scale = fresh
            except NotFoundError:
                raise ScaleError(f"{target.kind} {target.name} not found") from None
            except DynamicApiError as error:
                raise ScaleError(f"writing /scale failed: {error.summary()}") from None
        raise ScaleError(f"the write conflicted {CONFLICT_RETRIES} times in a row")

    def _check_unclaimed(self, namespace: str, target: TargetRef) -> None:
        """ScaleClaimed if an HPA or ScaledObject scales the target. The watches show them
        too, but one created with the policy (or whose CRD was just installed) may not be
        seen yet; a write is rare enough to ask the API server first."""
        hpas = client.AutoscalingV2Api(self._api).list_namespaced_horizontal_pod_autoscaler(
            namespace
        )
        bodies = [(HPA_KIND, self._api.sanitize_for_serialization(h)) for h in hpas.items]
        try:
            scaled: Any = client.CustomObjectsApi(self._api).list_namespaced_custom_object(
                "keda.sh", "v1alpha1", namespace, "scaledobjects"
            )
        except client.ApiException as error:
            if error.status != 404:  # 404: KEDA is not installed
                raise
        else:
            bodies += [(SCALED_OBJECT_KIND, item) for item in scaled["items"]]
        autoscalers = [Autoscaler.of(kind, body) for kind, body in bodies]
        claims = claims_on(target, "", "", autoscalers, ())
        if claims:
            raise ScaleClaimed(f"{claims[0].kind} {claims[0].name} already scales it")


def _older(metadata: Mapping[str, Any], policy: str, created: str) -> bool:
    """Whether another policy came first: earlier creation, or the same second and a
    smaller name (RFC 3339 UTC timestamps sort as text)."""
    if metadata.get("deletionTimestamp") or metadata["name"] == policy:
        return False
    return (metadata["creationTimestamp"], metadata["name"]) < (created, policy)
