"""Opsgenie Alert API: create (firing, severity change, repeat), acknowledge and close by
the alert's stable alias, so Opsgenie keeps one alert per Watchkeeper alert and absorbs a
repeated delivery of the same transition."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from watchkeeper.api.notificationchannel import OpsgenieConfig
from watchkeeper.notify import http
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import ALL_EVENTS, SendContext
from watchkeeper.notify.templates import BODY, TITLE, cut

PRIORITIES = {"Emergency": "P1", "Critical": "P2", "Warning": "P3"}
"""Watchkeeper severity -> Opsgenie priority (no severity, e.g. a test: P5)."""
SOURCE = "Watchkeeper"


def alias(notification: Notification) -> str:
    """The alert's key; tests and summaries get one of their own, per message."""
    if notification.event in (Event.TEST, Event.SUMMARY):
        return notification.idempotency_key[:512]
    return notification.dedup_key[:512]


def create(ctx: SendContext) -> dict[str, Any]:
    """The body of POST /v2/alerts."""
    n = ctx.notification
    config = ctx.config(OpsgenieConfig)
    details = {k: str(v) for k, v in n.labels.items()}
    details |= {
        k: str(v) for k, v in (("value", n.value), ("threshold", n.threshold)) if v is not None
    }
    tags = ["watchkeeper", n.namespace, *([n.severity] if n.severity else []), n.event.value]
    return {
        "message": cut(ctx.message.title, 130),
        "alias": alias(n),
        "description": cut(ctx.message.body, 15000),
        "responders": [{"name": team, "type": "team"} for team in config.responders],
        "tags": tags,
        "details": details,
        "entity": f"{n.namespace}/{n.alert}" if n.alert else n.namespace,
        "source": SOURCE,
        "priority": PRIORITIES.get(n.severity or "", "P5"),
    }


def request(ctx: SendContext, api_key: str) -> http.HttpRequest:
    """Create, or acknowledge/close by alias."""
    n = ctx.notification
    config = ctx.config(OpsgenieConfig)
    base = f"{config.url.rstrip('/')}/v2/alerts"
    headers = {"Authorization": f"GenieKey {api_key}"}
    if n.event not in (Event.ACKNOWLEDGED, Event.RESOLVED):
        return http.HttpRequest("POST", base, json=create(ctx), headers=headers)
    if n.event == Event.ACKNOWLEDGED:
        action = "acknowledge"
        note = n.acknowledgement_comment or f"Acknowledged in Watchkeeper by {n.acknowledged_by}"
        body = {"user": n.acknowledged_by or SOURCE, "source": SOURCE, "note": note}
    else:
        action = "close"
        body = {
            "user": SOURCE,
            "source": SOURCE,
            "note": f"Resolved at {n.resolved_at or n.transition_time}",
        }
    url = f"{base}/{quote(alias(n), safe='')}/{action}?identifierType=alias"
    return http.HttpRequest("POST", url, json=body, headers=headers)


class OpsgenieSender:
    """One request per transition; Opsgenie answers 202 and processes it asynchronously."""

    events: ClassVar[frozenset[Event]] = ALL_EVENTS
    stateful: ClassVar[bool] = True
    title_template: ClassVar[str] = TITLE
    body_template: ClassVar[str] = BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(OpsgenieConfig)
        api_key = await ctx.secrets.get(config.api_key_secret_ref)
        await http.send(ctx, request(ctx, api_key))
