"""PagerDuty Events API v2: trigger (firing, severity change, repeat), acknowledge and
resolve, all with the alert's stable dedup_key, so PagerDuty keeps one incident per alert
and absorbs a repeated delivery of the same transition."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.api.notificationchannel import PagerDutyConfig
from watchkeeper.notify import http
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import ALL_EVENTS, SendContext
from watchkeeper.notify.templates import BODY, TITLE, cut

SEVERITIES = {"Warning": "warning", "Critical": "error", "Emergency": "critical"}
"""Watchkeeper severity -> PagerDuty payload.severity (no severity, e.g. a test: info)."""
ACTIONS = {Event.RESOLVED: "resolve", Event.ACKNOWLEDGED: "acknowledge"}
"""Event -> event_action; every other event is a trigger."""


def dedup_key(notification: Notification) -> str:
    """The alert's key; tests and summaries get one of their own, per message."""
    if notification.event in (Event.TEST, Event.SUMMARY):
        return notification.idempotency_key[:255]
    return notification.dedup_key[:255]


def event(ctx: SendContext, routing_key: str) -> dict[str, Any]:
    """The Events API v2 body."""
    n = ctx.notification
    action = ACTIONS.get(n.event, "trigger")
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(n),
    }
    if action != "trigger":
        return body
    details: dict[str, Any] = {"event": n.event.value, "body": ctx.message.body}
    details |= {k: v for k, v in (("value", n.value), ("threshold", n.threshold)) if v is not None}
    if n.labels:
        details["labels"] = dict(n.labels)
    body["payload"] = {
        "summary": cut(ctx.message.title, 1024),
        "source": n.labels.get("instance") or f"{n.namespace}/{n.alert}",
        "severity": SEVERITIES.get(n.severity or "", "info"),
        "timestamp": n.firing_since or n.transition_time,
        "component": n.labels.get("service") or n.policy or None,
        "group": n.namespace,
        "class": n.policy or n.event.value,
        "custom_details": details,
    }
    body["payload"] = {k: v for k, v in body["payload"].items() if v is not None}
    body["client"] = "Watchkeeper"
    return body


class PagerDutySender:
    """POST one event to the Events API v2 endpoint."""

    events: ClassVar[frozenset[Event]] = ALL_EVENTS
    stateful: ClassVar[bool] = True
    title_template: ClassVar[str] = TITLE
    body_template: ClassVar[str] = BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(PagerDutyConfig)
        routing_key = await ctx.secrets.get(config.routing_key_secret_ref)
        await http.send(ctx, http.HttpRequest("POST", config.url, json=event(ctx, routing_key)))
