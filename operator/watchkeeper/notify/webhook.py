"""Webhook: a JSON POST in Alertmanager's webhook format (version 4), so receivers written
for Alertmanager work unchanged. The request carries an Idempotency-Key header, and the
payload a `watchkeeper` object with the transition's details."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.api.notificationchannel import WebhookConfig
from watchkeeper.notify import amformat, http
from watchkeeper.notify.message import Event, GroupContent
from watchkeeper.notify.sender import ALERT_EVENTS, SendContext
from watchkeeper.notify.templates import ANNOTATION_BODY, ANNOTATION_TITLE


def group_payload(ctx: SendContext, group: GroupContent) -> dict[str, Any]:
    """The Alertmanager webhook body of a group's notification."""
    n = ctx.notification
    alerts = [amformat.grouped(n, member) for member in group.alerts]
    common = dict(alerts[0]["labels"]) if alerts else {}
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert["labels"].get(k) == v}
    return {
        "version": "4",
        "groupKey": group.key,
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": ctx.channel.name,
        "groupLabels": dict(group.labels),
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": alerts,
        "watchkeeper": {
            "event": n.event.value,
            "idempotencyKey": n.idempotency_key,
            "dedupKey": n.dedup_key,
            "severity": n.severity,
            "transitionTime": n.transition_time,
        },
    }


def payload(ctx: SendContext) -> dict[str, Any]:
    """The Alertmanager webhook body for one transition of one alert, or of a group."""
    n = ctx.notification
    if n.group is not None:
        return group_payload(ctx, n.group)
    status = "resolved" if amformat.resolved(n) else "firing"
    ends = n.resolved_at or n.transition_time if status == "resolved" else amformat.ZERO_TIME
    alert = amformat.alert(n, ctx.message, n.severity, ends)
    key = alert["labels"][amformat.ALERT_LABEL]
    return {
        "version": "4",
        "groupKey": f'{{}}:{{{amformat.ALERT_LABEL}="{key}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": ctx.channel.name,
        "groupLabels": {amformat.ALERT_LABEL: key},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "",
        "alerts": [{"status": status, **alert, "fingerprint": amformat.fingerprint(n)}],
        "watchkeeper": {
            "event": n.event.value,
            "idempotencyKey": n.idempotency_key,
            "dedupKey": n.dedup_key,
            "severity": n.severity,
            "previousSeverity": n.previous_severity,
            "value": n.value,
            "threshold": n.threshold,
            "transitionTime": n.transition_time,
        },
    }


class WebhookSender:
    """POST to the configured URL with the configured headers."""

    events: ClassVar[frozenset[Event]] = ALERT_EVENTS
    stateful: ClassVar[bool] = False
    title_template: ClassVar[str] = ANNOTATION_TITLE
    body_template: ClassVar[str] = ANNOTATION_BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(WebhookConfig)
        url = config.url
        if config.url_secret_ref is not None:
            url = await ctx.secrets.get(config.url_secret_ref)
        headers = {"Idempotency-Key": ctx.notification.idempotency_key}
        for header in config.headers:
            value = header.value
            if header.value_secret_ref is not None:
                value = await ctx.secrets.get(header.value_secret_ref)
            headers[header.name] = value or ""
        await http.send(ctx, http.HttpRequest("POST", str(url), json=payload(ctx), headers=headers))
