"""The operator keeps a copy of every watched object; what it never reads is left out of
that copy (at 5,000 policies the field managers' trees and kubectl's copy of the spec were
a large share of the operator's memory)."""

from __future__ import annotations

from watchkeeper.runtime.objects import detached

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def test_a_kept_copy_leaves_out_managed_fields_and_kubectls_copy_of_the_spec() -> None:
    spec = {"query": "up == 0", "for": "1m"}
    body = {
        "apiVersion": "watchkeeper.io/v1alpha1",
        "kind": "AlertPolicy",
        "metadata": {
            "name": "p",
            "namespace": "n",
            "labels": {"team": "a"},
            "annotations": {LAST_APPLIED: '{"spec": {}}', "watchkeeper.io/test": "now"},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": spec,
        "status": {"conditions": []},
    }
    kept = detached(body)
    assert "managedFields" not in kept["metadata"]
    assert kept["metadata"]["annotations"] == {"watchkeeper.io/test": "now"}
    assert kept["metadata"]["labels"] == {"team": "a"}
    assert kept["spec"] == spec and kept["spec"] is not spec  # a copy, not the watch's dict
    assert "managedFields" in body["metadata"]  # the watch's body is left as it was


def test_an_object_without_annotations_is_copied_as_it_is() -> None:
    body = {"metadata": {"name": "p", "namespace": "n"}, "spec": {}}
    assert detached(body)["metadata"] == {"name": "p", "namespace": "n"}
