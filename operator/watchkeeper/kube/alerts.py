"""The Alert store: list, create, patch and delete the Alert objects of a policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubernetes import client

from watchkeeper.api import ALERT, ALERT_POLICY, API_VERSION, GROUP, VERSION
from watchkeeper.kube.calls import KubeError, run_blocking


class AlertStore:
    """Alert objects through the Kubernetes API (sync client, run in threads)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api_client)

    async def list_labelled(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Every Alert matching a label selector."""
        result = await run_blocking(
            self._custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            ALERT.plural,
            label_selector=selector,
        )
        items: list[dict[str, Any]] = result["items"]  # type: ignore[index]
        return items

    async def list_all(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        """Every Alert in these namespaces (every namespace when empty): one request per
        namespace, to prime the operator's cache before its watch starts."""
        if not namespaces:
            listed = await run_blocking(
                self._custom.list_cluster_custom_object, GROUP, VERSION, ALERT.plural
            )
            return list(listed["items"])  # type: ignore[index]
        items: list[dict[str, Any]] = []
        for namespace in namespaces:
            items += await self.list_labelled(namespace, "")
        return items

    async def create(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        policy: dict[str, Any],
    ) -> None:
        """Create the Alert, owned by the policy; an Alert that already exists is taken over
        (its labels updated)."""
        body = {
            "apiVersion": API_VERSION,
            "kind": ALERT.kind,
            "metadata": {
                "name": name,
                "labels": labels,
                "ownerReferences": [
                    {
                        "apiVersion": API_VERSION,
                        "kind": ALERT_POLICY.kind,
                        "name": policy["name"],
                        "uid": policy["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {},
        }
        try:
            await run_blocking(
                self._custom.create_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                ALERT.plural,
                body,
            )
        except KubeError as error:
            if error.status != 409:
                raise
            await self.patch(namespace, name, {"metadata": {"labels": labels}})

    async def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """Merge-patch the Alert itself (labels, annotations, spec)."""
        await run_blocking(
            self._custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            ALERT.plural,
            name,
            patch,
        )

    async def delete(self, namespace: str, name: str) -> None:
        """Delete the Alert; one that is already gone is fine."""
        try:
            await run_blocking(
                self._custom.delete_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                ALERT.plural,
                name,
            )
        except KubeError as error:
            if error.status != 404:
                raise
