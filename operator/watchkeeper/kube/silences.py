"""The Silence store: create, list, patch and delete Silences (the CLI's verbs, and the
upkeep's deletion of expired ones)."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from watchkeeper.api import API_VERSION, GROUP, SILENCE, VERSION
from watchkeeper.kube.calls import KubeError, run_blocking


class SilenceStore:
    """Silence objects through the Kubernetes API (sync client, run in threads)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api_client)

    async def create(self, namespace: str, generate_name: str, spec: dict[str, Any]) -> str:
        """Create a Silence with a generated name; returns the name."""
        body = {
            "apiVersion": API_VERSION,
            "kind": SILENCE.kind,
            "metadata": {"generateName": generate_name},
            "spec": spec,
        }
        created: Any = await run_blocking(
            self._custom.create_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            SILENCE.plural,
            body,
        )
        return str(created["metadata"]["name"])

    async def get(self, namespace: str, name: str) -> dict[str, Any]:
        found: Any = await run_blocking(
            self._custom.get_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            SILENCE.plural,
            name,
        )
        return dict(found)

    async def list(self, namespace: str | None) -> list[dict[str, Any]]:
        """The Silences of a namespace, or of every namespace (None)."""
        found: Any
        if namespace is None:
            found = await run_blocking(
                self._custom.list_cluster_custom_object, GROUP, VERSION, SILENCE.plural
            )
        else:
            found = await run_blocking(
                self._custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                SILENCE.plural,
            )
        return list(found.get("items") or [])

    async def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """Merge-patch the Silence's spec."""
        await run_blocking(
            self._custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            SILENCE.plural,
            name,
            patch,
        )

    async def delete(self, namespace: str, name: str) -> None:
        """Delete the Silence; one already gone is fine."""
        try:
            await run_blocking(
                self._custom.delete_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                SILENCE.plural,
                name,
            )
        except KubeError as error:
            if error.status != 404:
                raise
