"""An alert as Alertmanager sees it: labels, annotations, startsAt/endsAt. Shared by the
Alertmanager channel (API v2) and the Webhook channel (Alertmanager's webhook format)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api.timestamps import format_time
from watchkeeper.notify.message import Event, GroupedAlert, Notification
from watchkeeper.notify.sender import Message

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's endsAt of an alert that has not ended."""
ALERT_LABEL = "watchkeeper_alert"
TEST_ALERTNAME = "WatchkeeperTest"
SUMMARY_ALERTNAME = "WatchkeeperNotificationsHeldBack"
EPHEMERAL = timedelta(minutes=5)
"""How long a test or summary alert stays in Alertmanager."""


def alert_labels(notification: Notification, severity: str | None) -> dict[str, str]:
    """The series' labels plus alertname (the policy), severity and watchkeeper_alert."""
    if notification.event == Event.TEST:
        name = TEST_ALERTNAME
    elif notification.event == Event.SUMMARY:
        name = SUMMARY_ALERTNAME
    else:
        name = notification.labels.get("alertname") or notification.policy
    result = {**notification.labels, "alertname": name}
    result[ALERT_LABEL] = f"{notification.namespace}/{notification.alert}"
    if severity:
        result["severity"] = severity
    return result


def alert_annotations(notification: Notification, message: Message) -> dict[str, str]:
    """The alert's annotations; summary and description are the rendered title and body."""
    result = dict(notification.annotations)
    for name, text in (("summary", message.title), ("description", message.body)):
        if text:
            result[name] = text
    return result


def resolved(notification: Notification) -> bool:
    return notification.event == Event.RESOLVED


def starts_at(notification: Notification) -> str:
    return notification.firing_since or notification.starts_at or notification.transition_time


def ends_at(notification: Notification, now: datetime, ends_after: timedelta) -> str:
    """Resolved: when it resolved. Test and summary: shortly. Firing: `ends_after` ahead."""
    if resolved(notification):
        return notification.resolved_at or notification.transition_time
    if notification.event in (Event.TEST, Event.SUMMARY):
        return format_time(now + EPHEMERAL)
    return format_time(now + ends_after)


def fingerprint(notification: Notification) -> str:
    """16 hex digits, like Alertmanager's, but stable for the alert's whole life (a
    severity change does not make it a different alert)."""
    return fingerprint_of(notification.dedup_key)


def fingerprint_of(dedup_key: str) -> str:
    return hashlib.sha256(dedup_key.encode()).hexdigest()[:16]


def grouped(notification: Notification, member: GroupedAlert) -> dict[str, Any]:
    """One alert of a group's notification, as Alertmanager writes it (with `status` and
    `fingerprint`)."""
    annotations = {"summary": member.summary} if member.summary else {}
    return {
        "status": "firing" if member.firing else "resolved",
        "labels": dict(member.labels),
        "annotations": annotations,
        "startsAt": member.starts_at,
        "endsAt": member.ends_at or ZERO_TIME,
        "generatorURL": "",
        "fingerprint": fingerprint_of(f"watchkeeper/{notification.namespace}/{member.alert}"),
    }


def alert(
    notification: Notification,
    message: Message,
    severity: str | None,
    ends: str,
) -> dict[str, Any]:
    """One alert object: labels, annotations, startsAt, endsAt, generatorURL."""
    return {
        "labels": alert_labels(notification, severity),
        "annotations": alert_annotations(notification, message),
        "startsAt": starts_at(notification),
        "endsAt": ends,
        "generatorURL": "",
    }
