"""One of our kinds through the Kubernetes API: the verbs every store of ours shares
(sync client, run in threads)."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from watchkeeper.api import GROUP, VERSION
from watchkeeper.api.common import KindDefinition
from watchkeeper.kube.calls import KubeError, run_blocking


class CustomObjects:
    """Create, get, list, merge-patch and delete the objects of one kind."""

    def __init__(self, api_client: client.ApiClient, kind: KindDefinition) -> None:
        self._custom = client.CustomObjectsApi(api_client)
        self._plural = kind.plural

    async def create_object(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create `body`; returns the object as created (with its generated name)."""
        created: Any = await run_blocking(
            self._custom.create_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            self._plural,
            body,
        )
        return dict(created)

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        found: Any = await run_blocking(
            self._custom.get_namespaced_custom_object, GROUP, VERSION, namespace, self._plural, name
        )
        return dict(found)

    async def list(self, namespace: str | None, selector: str = "") -> list[dict[str, Any]]:
        """The objects of a namespace, or of every namespace (None), matching a label
        selector ("": all)."""
        found: Any
        if namespace is None:
            found = await run_blocking(
                self._custom.list_cluster_custom_object,
                GROUP,
                VERSION,
                self._plural,
                label_selector=selector,
            )
        else:
            found = await run_blocking(
                self._custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                self._plural,
                label_selector=selector,
            )
        return list(found.get("items") or [])

    async def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """Merge-patch the object itself (labels, annotations, spec)."""
        await run_blocking(
            self._custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            self._plural,
            name,
            patch,
        )

    async def delete(self, namespace: str, name: str) -> None:
        """Delete the object; one already gone is fine."""
        try:
            await run_blocking(
                self._custom.delete_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                self._plural,
                name,
            )
        except KubeError as error:
            if error.status != 404:
                raise
