"""The API server itself rejects invalid objects at `kubectl apply`, naming the field, and
accepts every documented example."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.invalid_objects import INVALID
from tests.kubectl import kubectl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = sorted((ROOT / "manifests" / "examples").glob("*.yaml"))
"""Safe to apply in anyone's namespace: no Alerts (only the operator creates those)."""
ALERT_DOCUMENT = ROOT / "docs" / "examples" / "alert.yaml"
"""The shape of an Alert as the operator writes it, for the docs; accepted by the schema."""

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize(("case", "obj", "field"), INVALID, ids=[c for c, _, _ in INVALID])
def test_invalid_object_is_rejected_naming_the_field(kubeconfig, namespace, case, obj, field):
    manifest = {
        "apiVersion": "watchkeeper.io/v1alpha1",
        "kind": obj["kind"],
        "metadata": {"name": case},
        "spec": obj["spec"],
    }
    result = kubectl(
        kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=manifest, check=False
    )
    assert result.returncode != 0, f"{case} was accepted"
    assert field in result.stderr, result.stderr
    listed = kubectl(kubeconfig, "get", obj["kind"].lower(), "-n", namespace, "-o", "name")
    assert listed.stdout == ""


def _contains(stored: object, written: object) -> bool:
    """What was written is all there (the API server may add defaults around it)."""
    if isinstance(written, dict):
        return isinstance(stored, dict) and all(
            k in stored and _contains(stored[k], v) for k, v in written.items()
        )
    return stored == written


def _documents(path: Path) -> list[dict]:
    """The example's objects, moved into the test namespace."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        doc["metadata"].pop("namespace", None)
    return docs


def test_applicable_examples_create_no_alerts():
    kinds = {doc["kind"] for path in EXAMPLE_FILES for doc in _documents(path)}
    assert "Alert" not in kinds


@pytest.mark.parametrize("path", [*EXAMPLE_FILES, ALERT_DOCUMENT], ids=lambda p: p.name)
def test_documented_example_is_accepted(kubeconfig, namespace, path):
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=_documents(path))
    for doc in _documents(path):
        if doc["apiVersion"].startswith("watchkeeper.io/"):  # not the example's Deployment
            got = kubectl(
                kubeconfig,
                "get",
                doc["kind"].lower(),
                doc["metadata"]["name"],
                "-n",
                namespace,
                "-o",
                "yaml",
            )
            stored = yaml.safe_load(got.stdout)
            assert _contains(stored.get("spec") or {}, doc.get("spec") or {})


def test_get_watchkeeper_lists_every_kind(kubeconfig, namespace):
    for path in [*EXAMPLE_FILES, ALERT_DOCUMENT]:
        kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=_documents(path))
    listed = kubectl(kubeconfig, "get", "watchkeeper", "-n", namespace, "-o", "name").stdout
    for kind in (
        "alertpolicy",
        "alert",
        "notificationchannel",
        "escalationpolicy",
        "scalingpolicy",
    ):
        assert f"{kind}.watchkeeper.io/" in listed, listed


def test_kubectl_explain_describes_fields(kubeconfig):
    out = kubectl(kubeconfig, "explain", "alertpolicy.spec.routing.repeatInterval").stdout
    assert "Notify again this often" in out
