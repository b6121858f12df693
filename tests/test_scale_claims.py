"""Before it writes a workload's /scale, the operator asks the API server whether an HPA
or a KEDA ScaledObject scales it: an autoscaler created together with the policy, or
whose CRD was installed a moment ago, may not have reached the operator's watch yet, and a
scale fight with it is what an SRE must never see. Against the real API server."""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.keda import scaled_object, scaled_objects_served
from tests.test_scalingpolicy import deployment, replicas
from watchkeeper.api.scalingpolicy import TargetRef
from watchkeeper.kube.scale import ScaleClaimed, Scales

TARGET = TargetRef.model_validate({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})


async def test_a_write_is_refused_when_an_hpa_scales_the_target(
    api_client: client.ApiClient, apps_v1: client.AppsV1Api, namespace: str
) -> None:
    deployment(apps_v1, namespace, "web", 2)
    scales = Scales(api_client)
    scale = await scales.get(namespace, TARGET)
    await scales.set_replicas(namespace, TARGET, scale, 3)  # nobody else scales it: written
    assert replicas(apps_v1, namespace, "web") == 3
    hpa = client.V2HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name="web-hpa"),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name="web"
            ),
            min_replicas=1,
            max_replicas=4,
        ),
    )
    client.AutoscalingV2Api(api_client).create_namespaced_horizontal_pod_autoscaler(namespace, hpa)
    scale = await scales.get(namespace, TARGET)
    with pytest.raises(ScaleClaimed, match="HorizontalPodAutoscaler web-hpa already scales it"):
        await scales.set_replicas(namespace, TARGET, scale, 5)
    assert replicas(apps_v1, namespace, "web") == 3


async def test_a_write_is_refused_when_a_scaled_object_scales_the_target(
    api_client: client.ApiClient, apps_v1: client.AppsV1Api, kubeconfig, namespace: str
) -> None:
    deployment(apps_v1, namespace, "web", 2)
    with scaled_objects_served(kubeconfig):
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "keda.sh", "v1alpha1", namespace, "scaledobjects", scaled_object("web-keda", "web")
        )
        scales = Scales(api_client)
        scale = await scales.get(namespace, TARGET)
        with pytest.raises(ScaleClaimed, match="ScaledObject web-keda already scales it"):
            await scales.set_replicas(namespace, TARGET, scale, 5)
        assert replicas(apps_v1, namespace, "web") == 2
