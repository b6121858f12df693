"""Delivers what a policy's Alerts are owed. After each evaluation it runs in the
background (evaluation never waits on a channel): it lists the policy's Alerts — their
status is the record of what was sent — asks the engine what is due, delivers through
the dispatcher, and records each outcome on the Alert. A crash between delivering and
recording repeats that one delivery after the restart, with the same idempotency key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, NOTIFICATION_CHANNEL
from watchkeeper.api.alert import AlertStatus, NotificationRecord
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.common import parse_duration
from watchkeeper.api.timestamps import format_time, parse_optional_time
from watchkeeper.engine.alert_records import label_value
from watchkeeper.engine.notifications import Intent, Routing, due, notified, record, routed
from watchkeeper.notify.dispatch import DeliveryOutcome, Outcome
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import Channel
from watchkeeper.runtime.alert_writer import AlertWriter
from watchkeeper.runtime.escalator import Escalator
from watchkeeper.runtime.services import PolicyRef, Services

LOGGER = logging.getLogger("watchkeeper.notify")
FIELD_MANAGER = "watchkeeper-notification"
KEEP_RECORDS = 50


def notification_for(
    alert: dict[str, Any], status: AlertStatus, spec: AlertPolicySpec, event: str, at: datetime
) -> Notification:
    """The message of one transition of one alert."""
    ack = status.acknowledged
    return Notification(
        event=Event(event),
        alert=alert["metadata"]["name"],
        namespace=alert["metadata"]["namespace"],
        policy=alert["metadata"]["labels"].get("watchkeeper.io/policy", ""),
        state=str(status.state),
        transition_time=format_time(at),
        severity=status.severity,
        value=status.value,
        threshold=status.threshold,
        labels={**spec.labels, **status.labels},
        annotations=dict(status.annotations),
        summary=status.summary,
        description=status.description,
        starts_at=status.starts_at,
        firing_since=status.firing_since,
        resolved_at=status.resolved_at,
        acknowledged_by=ack.by if ack else None,
        acknowledgement_comment=ack.comment if ack else "",
    )


class AlertNotifier:
    """The notification side of one policy's evaluation loop."""

    def __init__(self, services: Services, policy: PolicyRef, writer: AlertWriter) -> None:
        self.services = services
        self.writer = writer
        self.namespace = policy.namespace
        self.policy = policy.name
        self.store = services.alerts
        self.escalation = Escalator(services, self.store, self.namespace)
        self._task: asyncio.Task[None] | None = None

    def kick(self, spec: AlertPolicySpec, now: datetime) -> None:
        """Start a delivery round unless one is still running (the next round catches up)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._round(spec, now))

    async def stop(self, grace: float = 5.0) -> None:
        """Let a round in flight finish (briefly), then cancel it."""
        if self._task is None:
            return
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _round(self, spec: AlertPolicySpec, now: datetime) -> None:
        try:
            routing = Routing(
                tuple(spec.routing.channels),
                parse_duration(spec.routing.repeat_interval),
                spec.routing.send_resolved,
            )
            channels: dict[str, Channel | str] = {}
            escalation_ref = spec.routing.escalation_policy_ref
            chain = await self.escalation.chain(escalation_ref) if escalation_ref else None
            for alert in await self.store.list_for_policy(self.namespace, label_value(self.policy)):
                try:
                    status = AlertStatus.model_validate(alert.get("status") or {})
                except ValidationError:
                    continue
                since = parse_optional_time(status.firing_since)
                intents = routed(status, routing, now, notified(status.notifications, since))
                if escalation_ref and chain:
                    intents += await self.escalation.step(alert, status, escalation_ref, chain, now)
                pending = due(intents, status.notifications)
                if pending:
                    await self._deliver(alert, status, spec, pending, channels)
        except Exception:  # a round must never take the evaluation loop down
            LOGGER.exception(
                "AlertPolicy %s/%s: notification round failed", self.namespace, self.policy
            )

    async def _channel(self, name: str, cache: dict[str, Channel | str]) -> Channel | str:
        """The channel, or why it cannot be used."""
        if name not in cache:
            obj = self.services.objects.get(NOTIFICATION_CHANNEL, self.namespace, name)
            if obj is None:
                cache[name] = f"NotificationChannel {name} not found in namespace {self.namespace}"
            else:
                try:
                    cache[name] = Channel.from_object(obj)
                except ValidationError:
                    cache[name] = f"NotificationChannel {name} has an invalid spec (see its Ready)"
        return cache[name]

    async def _deliver(
        self,
        alert: dict[str, Any],
        status: AlertStatus,
        spec: AlertPolicySpec,
        pending: Sequence[Intent],
        cache: dict[str, Channel | str],
    ) -> None:
        name = alert["metadata"]["name"]
        records = list(status.notifications)
        told = notified(records, parse_optional_time(status.firing_since))
        ordered = sorted(pending, key=lambda i: (i.at, i.event))
        for (event, at), group in groupby(ordered, key=lambda i: (i.event, i.at)):
            intents = list(group)
            notification = notification_for(alert, status, spec, event, at)
            resolved = {i.channel: await self._channel(i.channel, cache) for i in intents}
            usable = [c for c in resolved.values() if isinstance(c, Channel)]
            outcomes = await self.services.dispatcher.deliver_many(
                usable, notification, notified_before={c: c in told for c in resolved}
            )
            outcomes += [
                DeliveryOutcome(
                    c,
                    Event(event),
                    notification.idempotency_key,
                    Outcome.FAILED,
                    format_time(datetime.now(at.tzinfo)),
                    error=why,
                    retryable=True,
                )
                for c, why in resolved.items()
                if isinstance(why, str)
            ]
            steps = {i.channel: i.step for i in intents}
            updated = records
            for outcome in outcomes:
                updated = record(
                    updated, _record(outcome, at, steps.get(outcome.channel)), KEEP_RECORDS
                )
            if _changed(records, updated):
                await self.services.kube.apply_status(
                    ALERT,
                    self.namespace,
                    name,
                    {"notifications": [r.to_api() for r in updated]},
                    FIELD_MANAGER,
                )
            records = updated
            told |= {o.channel for o in outcomes if o.outcome == Outcome.DELIVERED}


def _record(outcome: DeliveryOutcome, at: datetime, step: int | None) -> NotificationRecord:
    return NotificationRecord(
        channel=outcome.channel,
        event=outcome.event.value,
        transition_time=format_time(at),
        time=outcome.time,
        outcome=outcome.outcome.value,
        attempts=outcome.attempts,
        retryable=not outcome.final,
        error=outcome.error,
        step=step,
    )


def _changed(before: Sequence[NotificationRecord], after: Sequence[NotificationRecord]) -> bool:
    """Whether anything but the attempt times differs (a repeated identical failure is not
    worth a write)."""

    def essence(records: Sequence[NotificationRecord]) -> list[tuple[object, ...]]:
        return [(r.channel, r.event, r.transition_time, r.outcome, r.error) for r in records]

    return essence(before) != essence(after)
