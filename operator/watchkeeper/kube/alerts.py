"""The Alert store: list, create, patch and delete the Alert objects of a policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubernetes import client

from watchkeeper.api import ALERT, ALERT_POLICY, API_VERSION
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.custom import CustomObjects


class AlertStore(CustomObjects):
    """Alert objects through the Kubernetes API."""

    def __init__(self, api_client: client.ApiClient) -> None:
        super().__init__(api_client, ALERT)

    async def list_all(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        """Every Alert in these namespaces (every namespace when empty): one request per
        namespace, to prime the operator's cache before its watch starts."""
        if not namespaces:
            return await self.list(None)
        items: list[dict[str, Any]] = []
        for namespace in namespaces:
            items += await self.list(namespace)
        return items

    async def create(
        self,
        namespace: str,
        name: str,
        labels: dict[str, str],
        policy: dict[str, Any],
    ) -> None:
        """Create the Alert, owned by the policy (`name`, `uid` and `kind`, an AlertPolicy
        unless given); an Alert that already exists is taken over (its labels updated)."""
        body = {
            "apiVersion": API_VERSION,
            "kind": ALERT.kind,
            "metadata": {
                "name": name,
                "labels": labels,
                "ownerReferences": [
                    {
                        "apiVersion": API_VERSION,
                        "kind": policy.get("kind", ALERT_POLICY.kind),
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
            await self.create_object(namespace, body)
        except KubeError as error:
            if error.status != 409:
                raise
            await self.patch(namespace, name, {"metadata": {"labels": labels}})
