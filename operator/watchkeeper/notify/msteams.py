"""Microsoft Teams: an Adaptive Card in a message posted to an incoming webhook or a
Workflows ("Post to a channel when a webhook request is received") URL."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.api.notificationchannel import MSTeamsConfig
from watchkeeper.notify import http
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import ALERT_EVENTS, Message, SendContext
from watchkeeper.notify.templates import CARD_BODY, TITLE, facts

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def _color(notification: Notification) -> str:
    if notification.event == Event.RESOLVED:
        return "Good"
    return {"Warning": "Warning", "Critical": "Attention", "Emergency": "Attention"}.get(
        notification.severity or "", "Default"
    )


def card(notification: Notification, message: Message) -> dict[str, Any]:
    """The Adaptive Card (1.4): title, body, a FactSet, the labels."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.title,
            "size": "Large",
            "weight": "Bolder",
            "color": _color(notification),
            "wrap": True,
        }
    ]
    if message.body:
        body.append({"type": "TextBlock", "text": message.body, "wrap": True})
    pairs = facts(notification)
    if pairs:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in pairs]})
    if notification.labels:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(notification.labels.items()))
        body.append(
            {"type": "TextBlock", "text": labels, "isSubtle": True, "size": "Small", "wrap": True}
        )
    return {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }


class MSTeamsSender:
    """POST {"type": "message", "attachments": [Adaptive Card]} to the URL from the Secret."""

    events: ClassVar[frozenset[Event]] = ALERT_EVENTS
    stateful: ClassVar[bool] = False
    title_template: ClassVar[str] = TITLE
    body_template: ClassVar[str] = CARD_BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(MSTeamsConfig)
        url = await ctx.secrets.get(config.webhook_url_secret_ref)
        attachment = {
            "contentType": CARD_CONTENT_TYPE,
            "contentUrl": None,
            "content": card(ctx.notification, ctx.message),
        }
        message = {"type": "message", "attachments": [attachment]}
        await http.send(ctx, http.HttpRequest("POST", url, json=message))
