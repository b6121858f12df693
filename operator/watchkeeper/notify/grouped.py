"""A group's notification: one message listing the group's firing and resolved alerts.

It is an ordinary `Notification` with `group` set, so every channel type sends it its
own way: the Webhook's `alerts[]` (with `groupKey`, `groupLabels`, `truncatedAlerts`),
one Slack/Teams message or mail with a line per alert and the counts, one PagerDuty
incident or Opsgenie alert per group key (its `dedup_key`/`alias`), each member pushed to
an Alertmanager. The idempotency key is the group's and the instant the notification was decided
(a group is looked at once per groupInterval, at least a second apart)."""

from __future__ import annotations

import hashlib

from watchkeeper.api.common import Severity
from watchkeeper.api.grouping import GroupFlush, GroupMember, GroupStatus
from watchkeeper.notify.message import Event, GroupContent, GroupedAlert, Notification
from watchkeeper.notify.templates import cut

MAX_LINES = 50
"""Alerts listed one per line in a message's text; the rest are counted."""
_RANK = {s.value: i for i, s in enumerate(Severity)}


def group_name(key: str) -> str:
    """A stable short name for a group key (its PagerDuty/Opsgenie incident)."""
    return "group-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _listed(member: GroupMember, firing: bool) -> GroupedAlert:
    """As the owed notification lists it (the member may have moved on since)."""
    return GroupedAlert(
        alert=member.alert,
        firing=firing,
        labels=member.labels,
        starts_at=member.starts_at,
        ends_at=None if firing else member.since,
        severity=member.severity,
        summary=member.summary,
    )


def _line(namespace: str, alert: GroupedAlert) -> str:
    state = "firing" if alert.firing else "resolved"
    severity = f" [{alert.severity}]" if alert.severity else ""
    return cut(f"{state}{severity} {namespace}/{alert.alert}: {alert.summary}".rstrip(": "), 300)


def _highest(alerts: list[GroupedAlert]) -> str | None:
    severities = [a.severity for a in alerts if a.severity]
    return max(severities, key=lambda s: _RANK.get(s, -1)) if severities else None


def group_notification(namespace: str, group: GroupStatus, flush: GroupFlush) -> Notification:
    """The notification of `flush`: the members it names, as they are now."""
    members = {m.alert: m for m in group.members}
    listed = [(name, True) for name in flush.firing] + [(name, False) for name in flush.resolved]
    alerts = [_listed(members[name], firing) for name, firing in listed if name in members]
    firing = [a for a in alerts if a.firing]
    resolved = [a for a in alerts if not a.firing]
    labels = ", ".join(f"{k}={v}" for k, v in sorted(group.labels.items())) or "all alerts"
    counts = f"{len(firing)} firing" + (f", {len(resolved)} resolved" if resolved else "")
    lines = [_line(namespace, a) for a in alerts[:MAX_LINES]]
    if len(alerts) > MAX_LINES:
        lines.append(f"... and {len(alerts) - MAX_LINES} more")
    starts = sorted(a.starts_at for a in alerts)
    return Notification(
        event=Event.FIRING if firing else Event.RESOLVED,
        alert=group_name(group.key),
        namespace=namespace,
        policy="",
        state="Firing" if firing else "Resolved",
        transition_time=flush.time,
        severity=_highest(firing or resolved),
        labels=dict(group.labels),
        summary=f"{counts} ({labels})",
        description="\n".join(lines),
        starts_at=starts[0] if starts else flush.time,
        firing_since=starts[0] if starts else flush.time,
        resolved_at=None if firing else flush.time,
        group=GroupContent(group.key, dict(group.labels), tuple(alerts)),
    )
