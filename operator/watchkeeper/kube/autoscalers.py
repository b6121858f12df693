"""HorizontalPodAutoscalers as manifests (for `watchkeeper import hpa --from-cluster`)."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from watchkeeper.kube.calls import REQUEST_TIMEOUT


def list_hpas(api_client: client.ApiClient, namespace: str | None) -> list[dict[str, Any]]:
    """The autoscaling/v2 HPAs of a namespace (None: all), in their YAML form."""
    api = client.AutoscalingV2Api(api_client)
    if namespace is None:
        found = api.list_horizontal_pod_autoscaler_for_all_namespaces(
            _request_timeout=REQUEST_TIMEOUT
        )
    else:
        found = api.list_namespaced_horizontal_pod_autoscaler(
            namespace, _request_timeout=REQUEST_TIMEOUT
        )
    return [
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler"}
        | api_client.sanitize_for_serialization(item)
        for item in found.items
    ]
