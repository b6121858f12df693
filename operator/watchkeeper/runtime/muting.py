"""What mutes the Alerts of one evaluation: the namespace's Active Silences that match an
alert, and the firing Alerts that inhibit it through the namespace's InhibitRules. All
from the watch cache: no API call. The result is part of the Alert's state
(`status.silencedBy`, `status.inhibitedBy`); a muted Alert sends nothing and does not
escalate (engine.notifications.after_evaluation, runtime.notifier).

Time windows mute channels, not alerts: `held_channels` are the channels that do not send
a policy's notifications at an instant (inside a mute TimeInterval, or outside all of the
active ones), by the channel's own windows or by the policy's routing windows, which hold
every channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchkeeper.api import ALERT, ALERT_POLICY, NOTIFICATION_CHANNEL
from watchkeeper.api.alert import AlertState
from watchkeeper.api.inhibitrule import INHIBITED_BY_FIELD
from watchkeeper.api.silence import SILENCED_BY_FIELD
from watchkeeper.api.timeinterval import TimeWindows
from watchkeeper.engine.alert_records import proven
from watchkeeper.engine.inhibition import InhibitRule, Source, inhibited_by
from watchkeeper.engine.silences import Silence, alert_labels, silenced_by
from watchkeeper.engine.timeintervals import TimeInterval, sends_now
from watchkeeper.runtime.services import Services

MUTED_BY = (SILENCED_BY_FIELD, INHIBITED_BY_FIELD)


def muted(state: Mapping[str, Any]) -> bool:
    """Whether an Alert's state says it is silenced or inhibited."""
    return any(state.get(field) for field in MUTED_BY)


@dataclass(frozen=True)
class Muting:
    """The silences, inhibit rules and inhibition sources of a namespace, at one instant."""

    silences: list[Silence]
    rules: list[InhibitRule]
    sources: list[Source]

    @classmethod
    def of(cls, services: Services, namespace: str) -> Muting:
        objects = services.objects
        rules = services.inhibit_rules.in_namespace(objects, namespace)
        sources = firing_sources(services, namespace) if rules else []
        return cls(services.silences.in_namespace(objects, namespace), rules, sources)

    def fields(self, labels: Mapping[str, str], now: datetime) -> dict[str, list[str] | None]:
        """The status fields naming what mutes an alert with these labels (None: nothing)."""
        return {
            SILENCED_BY_FIELD: silenced_by(self.silences, dict(labels), now) or None,
            INHIBITED_BY_FIELD: inhibited_by(self.rules, self.sources, labels) or None,
        }


def firing_sources(services: Services, namespace: str) -> list[Source]:
    """The namespace's firing Alerts whose status the operator wrote, with the labels
    silences and inhibit rules see (their policy's labels and alertname included)."""
    found = []
    for alert in services.objects.in_namespace(ALERT, namespace):
        metadata = alert["metadata"]
        status = alert.get("status") or {}
        if status.get("state") != AlertState.FIRING:
            continue
        owners = metadata.get("ownerReferences") or []
        owner = next((o for o in owners if o.get("kind") == ALERT_POLICY.kind), None)
        if owner is None:
            continue
        name, uid = str(metadata["name"]), str(owner.get("uid"))
        if not proven(services.alert_key, namespace, name, uid, status):
            continue
        policy = services.objects.get(ALERT_POLICY, namespace, str(owner.get("name"))) or {}
        static = dict((policy.get("spec") or {}).get("labels") or {})
        labels = {**static, **(status.get("labels") or {})}
        found.append(
            Source(name, alert_labels(labels, str(owner.get("name")), status.get("severity")))
        )
    return found


def held_channels(
    services: Services, namespace: str, routing: TimeWindows, now: datetime
) -> frozenset[str]:
    """The namespace's channels that do not send a policy's notifications at `now`: all of
    them while the policy's `routing` windows say so, else those whose own windows do."""
    objects = services.objects
    channels = objects.in_namespace(NOTIFICATION_CHANNEL, namespace)
    intervals: dict[str, TimeInterval] | None = None

    def sends(mute: list[str], active: list[str]) -> bool:
        nonlocal intervals
        if not (mute or active):
            return True
        if intervals is None:
            parsed = services.time_intervals.in_namespace(objects, namespace)
            intervals = {i.name: i for i in parsed}
        return sends_now(intervals, mute, active, now)

    if not sends(routing.mute_time_intervals, routing.active_time_intervals):
        return frozenset(str(c["metadata"]["name"]) for c in channels)
    return frozenset(
        str(channel["metadata"]["name"])
        for channel in channels
        if not sends(
            list((channel.get("spec") or {}).get("muteTimeIntervals") or []),
            list((channel.get("spec") or {}).get("activeTimeIntervals") or []),
        )
    )


def asking_for_resolved(services: Services, namespace: str) -> frozenset[str]:
    """The namespace's channels that ask for a Resolved after a muting (resolvedAfterMute)."""
    return frozenset(
        str(c["metadata"]["name"])
        for c in services.objects.in_namespace(NOTIFICATION_CHANNEL, namespace)
        if (c.get("spec") or {}).get("resolvedAfterMute") is True
    )
