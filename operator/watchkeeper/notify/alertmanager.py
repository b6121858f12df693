"""Alertmanager: push alerts into an existing Alertmanager with POST /api/v2/alerts, for
teams that keep their routing there. A firing alert is pushed with endsAt `endsAfter`
ahead; a resolved one with its resolution time; a severity change resolves the alert under
its old severity label and pushes it under the new one."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.api.notificationchannel import AlertmanagerConfig
from watchkeeper.api.timestamps import format_time
from watchkeeper.notify import amformat, http
from watchkeeper.notify.message import Event
from watchkeeper.notify.sender import ALERT_EVENTS, SendContext
from watchkeeper.notify.templates import ANNOTATION_BODY, ANNOTATION_TITLE


def alerts(ctx: SendContext) -> list[dict[str, Any]]:
    """The postable alerts for one transition (a group's: each of its alerts)."""
    n = ctx.notification
    ends_after = ctx.config(AlertmanagerConfig).ends_after.delta
    if n.group is not None:
        ends = format_time(ctx.now + ends_after)
        posted = [amformat.grouped(n, member) for member in n.group.alerts]
        return [
            {k: v for k, v in a.items() if k not in ("status", "fingerprint")}
            | ({"endsAt": ends} if a["status"] == "firing" else {})
            for a in posted
        ]
    pushed = [amformat.alert(n, ctx.message, n.severity, amformat.ends_at(n, ctx.now, ends_after))]
    if n.event == Event.SEVERITY_CHANGED and n.previous_severity not in (None, n.severity):
        pushed.insert(0, amformat.alert(n, ctx.message, n.previous_severity, n.transition_time))
    return pushed


class AlertmanagerSender:
    """One POST with the alerts of the transition."""

    events: ClassVar[frozenset[Event]] = ALERT_EVENTS
    stateful: ClassVar[bool] = True
    title_template: ClassVar[str] = ANNOTATION_TITLE
    body_template: ClassVar[str] = ANNOTATION_BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(AlertmanagerConfig)
        headers = {}
        if config.bearer_token_secret_ref is not None:
            token = await ctx.secrets.get(config.bearer_token_secret_ref)
            headers["Authorization"] = f"Bearer {token}"
        url = f"{config.url.rstrip('/')}/api/v2/alerts"
        await http.send(ctx, http.HttpRequest("POST", url, json=alerts(ctx), headers=headers))
