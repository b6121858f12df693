"""Slack: a Block Kit message through an incoming webhook (URL from a Secret) or through
chat.postMessage with a bot token and a channel."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from watchkeeper.api.notificationchannel import SlackConfig
from watchkeeper.notify import http
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import ALERT_EVENTS, Message, Permanent, SendContext, Transient
from watchkeeper.notify.templates import CHAT_BODY, TITLE, cut, facts

ERROR_CODE = re.compile("[a-z_]{1,64}")
"""The shape of Slack's error codes: anything else in the answer is not shown."""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(notification: Notification, message: Message) -> list[dict[str, Any]]:
    """Header (title), section (body), fields (severity, value, ...), context (labels)."""
    result: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(message.title, 150)}}
    ]
    if message.body:
        result.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(message.body, 3000)}}
        )
    pairs = facts(notification)
    if pairs:
        fields = [{"type": "mrkdwn", "text": f"*{k}*\n{_escape(v)}"} for k, v in pairs[:10]]
        result.append({"type": "section", "fields": fields})
    if notification.labels:
        text = "  ".join(
            f"`{_escape(k)}={_escape(v)}`" for k, v in sorted(notification.labels.items())
        )
        result.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, 3000)}]}
        )
    return result


def _check_api_answer(body: bytes) -> None:
    """chat.postMessage answers 200 even on errors: {"ok": false, "error": "..."}. Only an
    error code of Slack's documented shape (`channel_not_found`) is shown."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise Permanent("Slack answered with something other than JSON") from None
    if not isinstance(answer, dict):
        raise Permanent("Slack answered with something other than a JSON object")
    if not answer.get("ok"):
        error = str(answer.get("error", ""))
        error = error if ERROR_CODE.fullmatch(error) else "(unrecognized error)"
        if error in ("ratelimited", "service_unavailable", "fatal_error", "internal_error"):
            raise Transient(f"Slack error {error}")
        raise Permanent(f"Slack error {error}")


class SlackSender:
    """Webhook: POST {text, blocks}. Bot token: chat.postMessage {channel, text, blocks}."""

    events: ClassVar[frozenset[Event]] = ALERT_EVENTS
    stateful: ClassVar[bool] = False
    title_template: ClassVar[str] = TITLE
    body_template: ClassVar[str] = CHAT_BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(SlackConfig)
        body: dict[str, Any] = {
            "text": ctx.message.title,  # the notification text and the fallback
            "blocks": blocks(ctx.notification, ctx.message),
        }
        if config.webhook_url_secret_ref is not None:
            url = await ctx.secrets.get(config.webhook_url_secret_ref)
            await http.send(ctx, http.HttpRequest("POST", url, json=body))
            return
        assert config.token_secret_ref is not None  # the model requires one of the two
        token = await ctx.secrets.get(config.token_secret_ref)
        request = http.HttpRequest(
            "POST",
            f"{config.api_url.rstrip('/')}/chat.postMessage",
            json={"channel": config.channel, **body},
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        await http.send(ctx, request, _check_api_answer)
