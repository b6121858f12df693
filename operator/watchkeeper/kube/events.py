"""Kubernetes Events about our objects, posted directly (not through kopf's logging, whose
posting level would silently drop Normal events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes import client

from watchkeeper.kube.calls import run_blocking

COMPONENT = "watchkeeper"
EVENT_MESSAGE_LIMIT = 1024


@dataclass(frozen=True)
class ObjectRef:
    """The object an Event is about."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""


class Events:
    """Posts Events (type Normal or Warning)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)

    async def post(self, about: ObjectRef, type_: str, reason: str, message: str) -> None:
        """Post one Event; raises KubeError when the API server does not take it."""
        await run_blocking(self._post, about, type_, reason, message)

    def _post(self, about: ObjectRef, type_: str, reason: str, message: str) -> None:
        now = datetime.now(UTC)
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{about.name[:200]}."),
            involved_object=client.V1ObjectReference(
                api_version=about.api_version,
                kind=about.kind,
                name=about.name,
                namespace=about.namespace,
                uid=about.uid or None,
            ),
            type=type_,
            reason=reason,
            message=message[:EVENT_MESSAGE_LIMIT],
            first_timestamp=now,
            last_timestamp=now,
            count=1,
            source=client.V1EventSource(component=COMPONENT),
        )
        self._core.create_namespaced_event(about.namespace, event)
