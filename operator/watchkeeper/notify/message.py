"""What a channel is asked to deliver: one alert transition, with everything a message
needs, and the keys that make repeated deliveries harmless."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from watchkeeper.api.alert import NotificationEvent as Event
from watchkeeper.engine.notifications import idempotency_key

__all__ = ["Event", "GroupContent", "GroupedAlert", "Notification"]


@dataclass(frozen=True)
class GroupedAlert:
    """One alert listed in a group's notification."""

    alert: str
    firing: bool
    labels: Mapping[str, str]
    starts_at: str
    ends_at: str | None
    severity: str | None = None
    summary: str = ""


@dataclass(frozen=True)
class GroupContent:
    """What a group's notification lists: its key and labels, and its alerts."""

    key: str
    labels: Mapping[str, str]
    alerts: tuple[GroupedAlert, ...]


@dataclass(frozen=True)
class Notification:
    """One transition of one alert (or a test message of a channel)."""

    event: Event
    alert: str
    namespace: str
    policy: str
    state: str
    transition_time: str
    severity: str | None = None
    previous_severity: str | None = None
    value: float | None = None
    threshold: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    description: str = ""
    starts_at: str | None = None
    firing_since: str | None = None
    resolved_at: str | None = None
    acknowledged_by: str | None = None
    acknowledgement_comment: str = ""
    group: GroupContent | None = None
    """Set on a group's notification: the alerts it lists."""

    @property
    def dedup_key(self) -> str:
        """Stable for the alert's whole life: PagerDuty dedup_key, Opsgenie alias."""
        return f"watchkeeper/{self.namespace}/{self.alert}"

    @property
    def idempotency_key(self) -> str:
        """Unique per transition: the same transition delivered twice has the same key."""
        return idempotency_key(self.namespace, self.alert, self.event.value, self.transition_time)
