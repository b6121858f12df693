"""HorizontalPodAutoscalers (autoscaling/v2) as ScalingPolicies with the same behaviour.

The target, bounds and behaviour carry over as they are. Metrics become PromQL: External
and Pods metrics (served to the HPA by an adapter from Prometheus) by their metric name
and selector, Object metrics by name and the object, and a Resource metric with an
AverageValue target as the containers' usage. What has no PromQL equal (a Resource
Utilization target, which needs the pods' requests; a ContainerResource metric) is
reported, and a policy left with no metric is not printed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import API_VERSION
from watchkeeper.api.scalingpolicy import ScalingPolicySpec

RESOURCE_USAGE = {
    "cpu": 'sum(rate(container_cpu_usage_seconds_total{{namespace="{ns}",pod=~"{name}-.*",'
    'container!=""}}[2m]))',
    "memory": 'sum(container_memory_working_set_bytes{{namespace="{ns}",pod=~"{name}-.*",'
    'container!=""}})',
}
_QUANTITY_SUFFIXES = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1024.0, "Mi": 1024.0**2}
_QUANTITY_SUFFIXES |= {"Gi": 1024.0**3, "Ti": 1024.0**4, "T": 1e12}


@dataclass
class ConvertedHpa:
    """The policies of one conversion and, per HPA, what did not carry over."""

    policies: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def quantity(text: str | float | int) -> float:
    """A Kubernetes quantity (`500m`, `2Gi`, `10`) as a number."""
    raw = str(text)
    for suffix in sorted(_QUANTITY_SUFFIXES, key=len, reverse=True):
        if raw.endswith(suffix):
            return float(raw[: -len(suffix)]) * _QUANTITY_SUFFIXES[suffix]
    return float(raw)


def _selector(match: Mapping[str, Any] | None, extra: Mapping[str, str]) -> str:
    labels = {**extra, **((match or {}).get("matchLabels") or {})}
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


def _target(target: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    kind = target.get("type")
    if kind == "Value":
        return {"type": "Value", "value": quantity(target["value"])}, ""
    if kind == "AverageValue":
        return {"type": "AverageValue", "value": quantity(target["averageValue"])}, ""
    return None, f"a {kind} target needs the pods' requests, which PromQL does not hold"


def _metric(metric: Mapping[str, Any], ns: str, target_name: str) -> tuple[dict | None, str]:  # type: ignore[type-arg]
    kind = metric.get("type")
    if kind in ("External", "Pods"):
        body = metric["external" if kind == "External" else "pods"]
        name = body["metric"]["name"]
        extra = {} if kind == "External" else {"namespace": ns}
        query = f"sum({name}{{{_selector(body['metric'].get('selector'), extra)}}})"
        wanted, problem = _target(body["target"])
    elif kind == "Object":
        body = metric["object"]
        name = body["metric"]["name"]
        described = body["describedObject"]
        extra = {"namespace": ns, str(described["kind"]).lower(): str(described["name"])}
        query = f"sum({name}{{{_selector(body['metric'].get('selector'), extra)}}})"
        wanted, problem = _target(body["target"])
    elif kind == "Resource":
        body = metric["resource"]
        name = body["name"]
        if name not in RESOURCE_USAGE:
            return None, f"resource {name} has no PromQL equal"
        query = RESOURCE_USAGE[name].format(ns=ns, name=target_name)
        wanted, problem = _target(body["target"])
    else:
        return None, f"a {kind} metric has no PromQL equal"
    if wanted is None:
        return None, f"{kind} metric {name}: {problem}"
    clean = "".join(c if c.isalnum() or c in "_.-" else "-" for c in str(name))[:63]
    return {"name": clean, "query": query, "target": wanted}, ""


def _direction(rules: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not rules:
        return None
    found: dict[str, Any] = {}
    if "stabilizationWindowSeconds" in rules:
        found["stabilizationWindow"] = f"{int(rules['stabilizationWindowSeconds'])}s"
    if rules.get("policies"):
        found["policies"] = [
            {"type": p["type"], "value": p["value"], "period": f"{int(p['periodSeconds'])}s"}
            for p in rules["policies"]
        ]
    if rules.get("selectPolicy"):
        found["selectPolicy"] = rules["selectPolicy"]
    return found or None


def convert_hpa(hpa: Mapping[str, Any], namespace: str | None = None) -> ConvertedHpa:
    """One HorizontalPodAutoscaler as a ScalingPolicy (or why not)."""
    result = ConvertedHpa()
    meta, spec = hpa.get("metadata") or {}, hpa.get("spec") or {}
    name = str(meta.get("name") or "imported")
    ns = str(namespace or meta.get("namespace") or "default")
    target = spec.get("scaleTargetRef") or {}
    notes: list[str] = []
    metrics = []
    for metric in spec.get("metrics") or []:
        converted, problem = _metric(metric, ns, str(target.get("name", "")))
        if converted is None:
            notes.append(f"not carried over: {problem}")
        else:
            metrics.append(converted)
    if not metrics:
        result.refused[name] = "no metric can be expressed in PromQL" + (
            f" ({'; '.join(notes)})" if notes else " (the HPA has none)"
        )
        return result
    body: dict[str, Any] = {
        "targetRef": {k: target[k] for k in ("apiVersion", "kind", "name") if k in target},
        "minReplicas": int(spec.get("minReplicas", 1)),
        "maxReplicas": int(spec["maxReplicas"]),
        "metrics": metrics,
        "evaluationInterval": "15s",
        "cooldown": "0s",
    }
    behavior = {
        key: found
        for key, found in (
            ("scaleUp", _direction((spec.get("behavior") or {}).get("scaleUp"))),
            ("scaleDown", _direction((spec.get("behavior") or {}).get("scaleDown"))),
        )
        if found
    }
    if behavior:
        body["behavior"] = behavior
    try:
        ScalingPolicySpec.model_validate(body)
    except ValidationError as error:
        result.refused[name] = str(error.errors()[0]["msg"])
        return result
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    manifest = {"apiVersion": API_VERSION, "kind": "ScalingPolicy", "metadata": metadata}
    result.policies.append({**manifest, "spec": body})
    notes.append(
        "the HPA must be deleted before this policy is applied: both would scale the target, "
        "and the policy refuses to while the HPA exists"
    )
    result.notes[name] = notes
    return result
