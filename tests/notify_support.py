"""Helpers for the notification tests: channels from plain specs, Secrets from a dict,
a status recorder, a dispatcher wired to them, and sample notifications."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from watchkeeper.api.common import SecretKeyRef
from watchkeeper.api.notificationchannel import NotificationChannelSpec, NotificationChannelStatus
from watchkeeper.notify.dispatch import Dispatcher
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import Channel

NAMESPACE = "shop"
FAST_RETRY = {"maxAttempts": 3, "initialBackoff": "50ms", "maxBackoff": "200ms"}


def channel(name: str, spec: dict[str, Any], status: dict[str, Any] | None = None) -> Channel:
    """A channel with fast retries unless the spec says otherwise."""
    full = {"retry": FAST_RETRY, "timeout": "2s", **spec}
    return Channel(
        namespace=NAMESPACE,
        name=name,
        uid=f"uid-{name}",
        spec=NotificationChannelSpec.model_validate(full),
        status=NotificationChannelStatus.model_validate(status or {}),
    )


PAGERDUTY_SECRETS = {("pd", "key"): "routing"}


def pagerduty(receiver: Any, **spec: Any) -> dict[str, Any]:
    """A PagerDuty channel's spec that sends to `receiver` (its key in PAGERDUTY_SECRETS)."""
    block = {"routingKeySecretRef": {"name": "pd", "key": "key"}, "url": f"{receiver.url}/e"}
    return {"type": "PagerDuty", "pagerduty": block, **spec}


@dataclass
class Cluster:
    """Secrets and status writes, standing in for the API server in notify tests."""

    secrets: dict[tuple[str, str], str] = field(default_factory=dict)
    writes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    reads: int = 0

    async def read_secret(self, namespace: str, ref: SecretKeyRef) -> str:
        self.reads += 1
        if (ref.name, ref.key) not in self.secrets:
            raise LookupError(f"Secret {ref.name} has no key {ref.key}")
        return self.secrets[(ref.name, ref.key)]

    async def write_status(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.writes.append((namespace, name, patch))

    def status(self, name: str) -> dict[str, Any]:
        """The channel's status fields as the writes left them (merge semantics)."""
        merged: dict[str, Any] = {}
        for _, written, patch in self.writes:
            if written == name:
                merged |= patch
        return merged

    def dispatcher(self, **options: Any) -> Dispatcher:
        return Dispatcher(self.read_secret, self.write_status, **options)


FIRING = Notification(
    event=Event.FIRING,
    alert="api-error-rate-7f3a9c2e",
    namespace=NAMESPACE,
    policy="api-error-rate",
    state="Firing",
    transition_time="2026-03-01T10:00:00Z",
    severity="Critical",
    value=7.4321,
    threshold=5.0,
    labels={"service": "checkout", "instance": "checkout-0"},
    annotations={"runbook": "https://runbooks.example/checkout"},
    summary="Error rate of checkout is 7.4%",
    description="More than 5% of checkout requests fail.",
    starts_at="2026-03-01T09:58:00Z",
    firing_since="2026-03-01T10:00:00Z",
)


def transition(event: Event, **changes: Any) -> Notification:
    """FIRING turned into another transition of the same alert."""
    times = {
        Event.SEVERITY_CHANGED: "2026-03-01T10:05:00Z",
        Event.REPEAT: "2026-03-01T14:00:00Z",
        Event.ACKNOWLEDGED: "2026-03-01T10:07:00Z",
        Event.RESOLVED: "2026-03-01T10:30:00Z",
    }
    base: dict[str, Any] = {
        "event": event,
        "transition_time": times.get(event, "2026-03-01T10:00:00Z"),
    }
    if event == Event.RESOLVED:
        base |= {"state": "Resolved", "resolved_at": base["transition_time"]}
    if event == Event.ACKNOWLEDGED:
        base |= {"acknowledged_by": "alice", "acknowledgement_comment": "rolling back"}
    return replace(FIRING, **(base | changes))
