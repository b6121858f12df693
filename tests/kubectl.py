"""Run kubectl as a user would, against the test cluster."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

KUBECTL = str(Path(sys.executable).parent / "kubectl")


def kubectl(
    kubeconfig: Path, *args: str, manifest: Any = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """kubectl with the test kubeconfig; `manifest` (dict, list of dicts or text) on stdin."""
    if manifest is not None and not isinstance(manifest, str):
        docs = manifest if isinstance(manifest, list) else [manifest]
        manifest = yaml.safe_dump_all(docs)
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        input=manifest,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def watchkeeper_object(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A manifest of one of our kinds."""
    return {
        "apiVersion": "watchkeeper.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


ALLOW_REFERENCE = {"watchkeeper.io/allow-reference": "true"}
"""The label that lets the operator read a Secret."""
ALLOW_SCALING = {"watchkeeper.io/allow-scaling": "true"}
"""The label that lets a ScalingPolicy scale a workload."""


def create_secret(
    core_v1: client.CoreV1Api,
    namespace: str,
    name: str,
    data: dict[str, str],
    *,
    allow_reference: bool = True,
) -> None:
    """A Secret with these (plain-text) values, by default labelled so that the operator
    may read it."""
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    labels = ALLOW_REFERENCE if allow_reference else None
    core_v1.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name=name, labels=labels), data=encoded),
    )


def create_deployment(
    kubeconfig: Path, namespace: str, name: str, *, allow_scaling: bool = True
) -> None:
    """A Deployment (its pods never run), by default labelled so that a ScalingPolicy may
    scale it."""
    kubectl(
        kubeconfig, "create", "deployment", name, "--image=registry.invalid/app:1", "-n", namespace
    )
    if allow_scaling:
        label = ",".join(f"{k}={v}" for k, v in ALLOW_SCALING.items())
        kubectl(kubeconfig, "label", "deployment", name, label, "-n", namespace)


def service_account_kubeconfig(
    kubeconfig: Path, core_v1: client.CoreV1Api, namespace: str, sa: str, path: Path
) -> Path:
    """A kubeconfig at `path` for the cluster of `kubeconfig` that authenticates as
    ServiceAccount `sa` of `namespace` (a one-hour token)."""
    token = core_v1.create_namespaced_service_account_token(
        sa,
        namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
        ),
    ).status.token
    admin = yaml.safe_load(kubeconfig.read_text())
    [current] = [c for c in admin["contexts"] if c["name"] == admin["current-context"]]
    cluster = current["context"]["cluster"]
    restricted = {
        **admin,
        "clusters": [c for c in admin["clusters"] if c["name"] == cluster],
        "users": [{"name": sa, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": cluster, "user": sa}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(restricted))
    return path
