"""The Silence store: the CLI's verbs, and the upkeep's deletion of expired Silences."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from watchkeeper.api import API_VERSION, SILENCE
from watchkeeper.kube.custom import CustomObjects


class SilenceStore(CustomObjects):
    """Silence objects through the Kubernetes API."""

    def __init__(self, api_client: client.ApiClient) -> None:
        super().__init__(api_client, SILENCE)

    async def create(self, namespace: str, generate_name: str, spec: dict[str, Any]) -> str:
        """Create a Silence with a generated name; returns the name."""
        body = {
            "apiVersion": API_VERSION,
            "kind": SILENCE.kind,
            "metadata": {"generateName": generate_name},
            "spec": spec,
        }
        created = await self.create_object(namespace, body)
        return str(created["metadata"]["name"])
