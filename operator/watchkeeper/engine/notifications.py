"""Which notifications an alert is owed, derived from its persisted state, and which of
them are still due given what its status records as sent.

Every notification is identified by (channel, event, transition time): the same
transition is the same notification, however often it is computed — after a restart, a
retry or a crash between sending and recording. Delivery then carries a key built from
those, so a service with idempotency keys absorbs the one unavoidable repeat."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.api.alert import AlertState, AlertStatus, NotificationRecord
from watchkeeper.api.timestamps import parse_optional_time, parse_time

FIRING = "Firing"
SEVERITY_CHANGED = "SeverityChanged"
REPEAT = "Repeat"
RESOLVED = "Resolved"
ACKNOWLEDGED = "Acknowledged"
FINAL_OUTCOMES = ("Delivered", "RateLimited", "Skipped")


@dataclass(frozen=True)
class Intent:
    """One notification an alert is owed on one channel."""

    channel: str
    event: str
    at: datetime
    step: int | None = None

    @property
    def identity(self) -> tuple[str, str, datetime]:
        return self.channel, self.event, self.at


@dataclass(frozen=True)
class Routing:
    """The parts of AlertPolicy.spec.routing that decide notifications."""

    channels: tuple[str, ...]
    repeat_interval: timedelta
    send_resolved: bool


def transitions(
    status: AlertStatus, repeat_interval: timedelta, now: datetime
) -> list[tuple[str, datetime]]:
    """The notifiable transitions of the alert's current firing cycle, oldest first."""
    firing_since = parse_optional_time(status.firing_since)
    if firing_since is None:
        return []
    found = [(FIRING, firing_since)]
    changed = parse_optional_time(status.severity_changed_at)
    if changed is not None and changed > firing_since:
        found.append((SEVERITY_CHANGED, changed))
    resolved = parse_optional_time(status.resolved_at)
    if status.state == AlertState.FIRING and repeat_interval > timedelta(0):
        repeats = int((now - firing_since) / repeat_interval)
        if repeats >= 1:
            found.append((REPEAT, firing_since + repeats * repeat_interval))
    if status.state == AlertState.FIRING and status.acknowledged is not None:
        found.append((ACKNOWLEDGED, parse_time(status.acknowledged.time)))
    if status.state == AlertState.RESOLVED and resolved is not None and resolved >= firing_since:
        found.append((RESOLVED, resolved))
    return sorted(found, key=lambda t: t[1])


def routed(
    status: AlertStatus, routing: Routing, now: datetime, paged: Iterable[str] = ()
) -> list[Intent]:
    """What the policy's routing owes: every transition to every routed channel, Resolved
    only when sendResolved; Acknowledged and Resolved also to every channel paged for this
    firing (e.g. by an escalation step)."""
    follow_up = (ACKNOWLEDGED, RESOLVED)
    intents = []
    for event, at in transitions(status, routing.repeat_interval, now):
        if event == RESOLVED and not routing.send_resolved:
            continue
        targets = [*routing.channels, *(paged if event in follow_up else ())]
        intents += [Intent(channel, event, at) for channel in dict.fromkeys(targets)]
    return intents


def _recorded(
    records: Iterable[NotificationRecord],
) -> dict[tuple[str, str, datetime], NotificationRecord]:
    return {(r.channel, r.event, parse_time(r.transition_time)): r for r in records}


def due(intents: Sequence[Intent], records: Sequence[NotificationRecord]) -> list[Intent]:
    """The intents without a final record: never sent, or failed in a retryable way."""
    seen = _recorded(records)
    result = []
    for intent in intents:
        record = seen.get(intent.identity)
        if record is None or (record.outcome not in FINAL_OUTCOMES and record.retryable):
            result.append(intent)
    return list(dict.fromkeys(result))


def notified(records: Sequence[NotificationRecord], since: datetime | None) -> set[str]:
    """Channels that delivered something for this firing cycle (since `since`)."""
    return {
        r.channel
        for r in records
        if r.outcome == "Delivered" and since is not None and parse_time(r.transition_time) >= since
    }


def record(
    records: Sequence[NotificationRecord], new: NotificationRecord, keep: int
) -> list[NotificationRecord]:
    """The records with `new` replacing any record of the same notification, newest last,
    at most `keep` of them."""
    key = (new.channel, new.event, parse_time(new.transition_time))
    kept = [r for r in records if (r.channel, r.event, parse_time(r.transition_time)) != key]
    return [*kept, new][-keep:]
