"""coordination.k8s.io Leases, for leader election among replicas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubernetes import client

from watchkeeper.kube.calls import KubeError, run_blocking


@dataclass(frozen=True)
class LeaseRecord:
    """Who holds a Lease, as last read."""

    holder: str
    renew_time: datetime | None
    duration_seconds: int
    transitions: int
    resource_version: str


class Leases:
    """Read, create and take over one Lease."""

    def __init__(self, api_client: client.ApiClient, namespace: str, name: str) -> None:
        self._api = client.CoordinationV1Api(api_client)
        self.namespace = namespace
        self.name = name

    async def read(self) -> LeaseRecord | None:
        """The Lease, or None if it does not exist."""
        try:
            lease = await run_blocking(self._api.read_namespaced_lease, self.name, self.namespace)
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        spec = lease.spec or client.V1LeaseSpec()
        return LeaseRecord(
            holder=spec.holder_identity or "",
            renew_time=spec.renew_time,
            duration_seconds=spec.lease_duration_seconds or 0,
            transitions=spec.lease_transitions or 0,
            resource_version=str(lease.metadata and lease.metadata.resource_version),
        )

    async def write(
        self,
        holder: str,
        now: datetime,
        duration_seconds: int,
        transitions: int,
        resource_version: str | None,
    ) -> None:
        """Create the Lease (resource_version None) or replace it if it is still at
        `resource_version`; raises KubeError with status 409 when someone else won."""
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.name, namespace=self.namespace, resource_version=resource_version
            ),
            spec=client.V1LeaseSpec(
                holder_identity=holder,
                lease_duration_seconds=duration_seconds,
                acquire_time=now,
                renew_time=now,
                lease_transitions=transitions,
            ),
        )
        if resource_version is None:
            await run_blocking(self._api.create_namespaced_lease, self.namespace, body)
        else:
            await run_blocking(self._api.replace_namespaced_lease, self.name, self.namespace, body)
