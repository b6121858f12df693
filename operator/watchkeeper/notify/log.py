"""Log: one structured line (JSON) in the operator's log; needs no configuration."""

from __future__ import annotations

import json
import logging
from typing import ClassVar

from watchkeeper.api.notificationchannel import LogConfig
from watchkeeper.notify.message import Event
from watchkeeper.notify.sender import ALL_EVENTS, SendContext
from watchkeeper.notify.templates import BODY, TITLE

LOGGER = logging.getLogger("watchkeeper.notification")


class LogSender:
    """`notification {"channel": ..., "event": ..., "title": ..., ...}` at the configured level."""

    events: ClassVar[frozenset[Event]] = ALL_EVENTS
    stateful: ClassVar[bool] = False
    title_template: ClassVar[str] = TITLE
    body_template: ClassVar[str] = BODY

    async def send(self, ctx: SendContext) -> None:
        n = ctx.notification
        ctx.attempts += 1
        record = {
            "channel": f"{ctx.channel.namespace}/{ctx.channel.name}",
            "event": n.event.value,
            "alert": f"{n.namespace}/{n.alert}",
            "policy": n.policy,
            "severity": n.severity,
            "value": n.value,
            "threshold": n.threshold,
            "labels": dict(n.labels),
            "title": ctx.message.title,
            "body": ctx.message.body,
            "idempotencyKey": n.idempotency_key,
        }
        level = logging.getLevelName(ctx.config(LogConfig).level)
        LOGGER.log(level, "notification %s", json.dumps(record, sort_keys=True))
