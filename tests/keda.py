"""KEDA's ScaledObject kind, served by a minimal CRD for tests that check Watchkeeper
stays off a workload KEDA scales (KEDA itself does not run here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devenv.crds import wait_established
from tests.kubectl import kubectl

_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "scaledobjects.keda.sh"},
    "spec": {
        "group": "keda.sh",
        "scope": "Namespaced",
        "names": {"kind": "ScaledObject", "plural": "scaledobjects", "singular": "scaledobject"},
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


def scaled_object(name: str, target: str) -> dict[str, Any]:
    """A ScaledObject of the Deployment `target` (scaleTargetRef's kind defaults)."""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"name": target}, "triggers": []},
    }


@contextmanager
def scaled_objects_served(kubeconfig: Path) -> Iterator[None]:
    """The ScaledObject kind is served inside the block, and not any more after it."""
    kubectl(kubeconfig, "apply", "-f", "-", manifest=_CRD)
    try:
        wait_established(kubeconfig, ["scaledobjects.keda.sh"])
        yield
    finally:
        kubectl(kubeconfig, "delete", "crd", "scaledobjects.keda.sh", "--wait=true")
