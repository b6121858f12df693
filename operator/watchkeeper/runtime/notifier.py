"""Delivers what a policy's Alerts owe. After each evaluation a round runs in the
background (evaluation never waits on a channel): it advances escalations, takes the
obligations the API server has (each Alert's outbox, as the writer last wrote it — never
a LIST), delivers them through the dispatcher, and settles each in one status write that
removes it from the outbox and appends its display record. A crash between delivering
and settling repeats that one delivery after the restart, with the same idempotency key.

Acknowledgements arrive from the Alert watch: `acknowledged(body)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import NOTIFICATION_CHANNEL
from watchkeeper.api.alert import Acknowledged, AlertState, NotificationEvent, Obligation, Outcome
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.grouping import GroupMember
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.channelfilter import skip_reason
from watchkeeper.engine.grouping import GroupOptions, options_for
from watchkeeper.engine.notifications import (
    FOLLOW_UPS,
    Attempt,
    Budget,
    Notice,
    after_settlement,
    owe,
    ready,
    routing_of,
    settle,
    targets,
    was_told,
)
from watchkeeper.kube.calls import KubeError, KubeUnavailable
from watchkeeper.notify import amformat
from watchkeeper.notify.dispatch import DeliveryOutcome
from watchkeeper.notify.message import Notification
from watchkeeper.notify.sender import Channel
from watchkeeper.notify.templates import cut
from watchkeeper.runtime.acknowledgement import wanted
from watchkeeper.runtime.alert_writer import AlertRecord, AlertWriter
from watchkeeper.runtime.escalator import Escalator
from watchkeeper.runtime.metrics import TIME_TO_ACKNOWLEDGE, observe_settling
from watchkeeper.runtime.muting import held_channels, muted
from watchkeeper.runtime.services import PolicyRef, Services

LOGGER = logging.getLogger("watchkeeper.notify")
KEEP_RECORDS = 50


def notification_for(
    policy: PolicyRef, record: AlertRecord, owed: Obligation, spec: AlertPolicySpec | None
) -> Notification:
    """The message of one obligation: the transition as it was, the alert as it is."""
    state, ack = record.state, record.ledger.acknowledged
    resolved = owed.event == NotificationEvent.RESOLVED
    return Notification(
        event=NotificationEvent(owed.event),
        alert=record.name,
        namespace=policy.namespace,
        policy=policy.name,
        state=(AlertState.RESOLVED if resolved else AlertState.FIRING).value,
        transition_time=owed.transition_time,
        severity=owed.severity,
        previous_severity=owed.previous_severity,
        value=owed.value if owed.value is not None else state.get("value"),
        threshold=state.get("threshold"),
        labels={**(spec.labels if spec else {}), **(state.get("labels") or {})},
        annotations=dict(state.get("annotations") or {}),
        summary=state.get("summary") or "",
        description=state.get("description") or "",
        starts_at=state.get("startsAt"),
        firing_since=owed.cycle,
        resolved_at=owed.transition_time if resolved else None,
        acknowledged_by=ack.by if ack else None,
        acknowledgement_comment=ack.comment if ack else "",
    )


class AlertNotifier:
    """The notification side of one policy."""

    def __init__(self, services: Services, policy: PolicyRef, writer: AlertWriter) -> None:
        self.services = services
        self.policy = policy
        self.writer = writer
        self.escalation = Escalator(writer)
        self.spec: AlertPolicySpec | None = None
        self.degraded = False
        self._task: asyncio.Task[None] | None = None

    def kick(self, spec: AlertPolicySpec, now: datetime) -> None:
        """Start a delivery round unless one is still running (the next round catches up)."""
        self.spec = spec
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

    async def acknowledged(self, body: Mapping[str, Any], now: datetime | None = None) -> None:
        """An Alert of this policy changed (from the watch): record or withdraw the
        acknowledgement it asks for, with the Acknowledged notices it owes, in one write."""
        record = self.writer.by_name(str(body["metadata"]["name"]))
        if record is None or record.instance.state == AlertState.RESOLVED:
            return
        ack, ledger = wanted(body), record.ledger
        recorded = ledger.acknowledged
        if ack is None and recorded is None:
            return
        if (
            ack is not None
            and recorded
            and (recorded.by, recorded.comment) == (ack.by, ack.comment)
        ):
            return
        at = (now or datetime.now(UTC)).replace(microsecond=0)
        if ack is None:
            ledger = replace(ledger, acknowledged=None)
        else:
            stamp = format_time(at)
            ledger = replace(
                ledger, acknowledged=Acknowledged(by=ack.by, comment=ack.comment, time=stamp)
            )
            since = record.instance.firing_since
            if record.instance.state == AlertState.FIRING and since is not None and self.spec:
                event = NotificationEvent.ACKNOWLEDGED
                severity = record.instance.severity
                notice = Notice(event, at, since, severity.value if severity else None)
                channels = targets(event, routing_of(self.spec), since, ledger.told, ledger.outbox)
                ledger = ledger.owing(owe(self.policy.namespace, record.name, notice, channels))
        record.ledger = ledger
        await self.writer.flush(record)
        if ack is not None and recorded is None:  # the first acknowledgement, now written
            observe_settling(TIME_TO_ACKNOWLEDGE, self.policy.namespace, record.instance, at)
        if ack is not None:
            ref = self.writer.alert_ref(record.name)
            await self.writer.post_event(ref, "Normal", "Acknowledged", f"Acknowledged by {ack.by}")
            LOGGER.info("Alert %s/%s acknowledged by %s", ref.namespace, ref.name, ack.by)

    async def _round(self, spec: AlertPolicySpec, now: datetime) -> None:
        ref = spec.routing.escalation_policy_ref
        chain = self.escalation.chain(ref) if ref else None
        unavailable: KubeError | None = None
        held = held_channels(self.services, self.policy.namespace, spec.routing, datetime.now(UTC))
        for record in list(self.writer.records.values()):
            if muted(record.state):
                continue  # silenced or inhibited: what it owes is held until that ends
            try:
                if ref and chain:
                    await self.escalation.step(record, ref, chain, now)
                await self._deliver(record, spec, held)
            except KubeUnavailable as error:  # held in memory; the next round writes it
                unavailable = error
                break  # an outage: the other Alerts would wait out their timeouts too
            except KubeError as error:
                LOGGER.warning(
                    "Alert %s/%s: not settled: %s", self.policy.namespace, record.name, error
                )
            except Exception:  # one alert's defect must not cost the others their round
                LOGGER.exception(
                    "Alert %s/%s: notification round failed", self.policy.namespace, record.name
                )
        self._outage(unavailable)

    def _outage(self, error: KubeError | None) -> None:
        """One log line when the API server stops taking this policy's writes, one when it
        takes them again: never a line per round."""
        where = f"AlertPolicy {self.policy.namespace}/{self.policy.name}"
        if error is not None and not self.degraded:
            LOGGER.warning("%s: notifications held in memory, not settled: %s", where, error)
        elif error is None and self.degraded:
            LOGGER.info("%s: the API server takes notification writes again", where)
        self.degraded = error is not None

    def _channel(self, name: str) -> Channel | str:
        """The channel from the watch cache, or why it cannot be used."""
        obj = self.services.objects.get(NOTIFICATION_CHANNEL, self.policy.namespace, name)
        if obj is None:
            return f"NotificationChannel {name} not found in namespace {self.policy.namespace}"
        try:
            return Channel.from_object(obj)
        except ValidationError:
            return f"NotificationChannel {name} has an invalid spec (see its Ready)"

    async def _deliver(
        self, record: AlertRecord, spec: AlertPolicySpec, held: frozenset[str]
    ) -> None:
        due = [o for o in ready(record.durable()) if o.channel not in held]
        if not due:
            return
        for _, group in groupby(due, key=lambda o: (o.transition_time, o.event)):
            owed = list(group)
            first = owed[0]
            notification = notification_for(self.policy, record, first, spec)
            resolved = {o.channel: self._channel(o.channel) for o in owed}
            labels = amformat.alert_labels(notification, notification.severity)
            grouping = {
                name: (c, options)
                for name, c in resolved.items()
                if isinstance(c, Channel)
                and first.step is None
                and (options := options_for(spec.routing, c.spec)) is not None
                and self.services.groups.has_room(self.policy.namespace, name, options, labels)
            }
            usable = [
                c for n, c in resolved.items() if isinstance(c, Channel) and n not in grouping
            ]
            told = record.ledger.told
            before = {o.channel: was_told(told, o.channel, o.cycle) for o in owed}
            outcomes = {
                o.channel: o
                for o in await self.services.dispatcher.deliver_many(
                    usable,
                    notification,
                    notified_before=before if first.event in FOLLOW_UPS else None,
                )
            }
            for name, (joined, options) in grouping.items():
                outcomes[name] = await self._join(joined, options, first, notification, before)
            now = datetime.now(UTC)
            for obligation in owed:
                channel = resolved[obligation.channel]
                if isinstance(channel, str):
                    attempt, budget = Attempt(Outcome.FAILED, 0, channel, True), Budget(0)
                else:
                    attempt = _attempt(outcomes[obligation.channel])
                    budget = Budget(channel.spec.retry.max_attempts)
                await self._settle(record, obligation, attempt, budget, now)
        await self.writer.flush(record)

    async def _join(
        self,
        channel: Channel,
        options: GroupOptions,
        owed: Obligation,
        notification: Notification,
        before: Mapping[str, bool],
    ) -> DeliveryOutcome:
        """Hand a transition to the channel's group (a Repeat is the group's to make)."""
        spec, event = channel.spec, NotificationEvent(owed.event)
        reason = skip_reason(
            event.value,
            owed.severity,
            owed.previous_severity,
            spec.min_severity,
            spec.send_resolved,
            before.get(channel.name) if event in FOLLOW_UPS else None,
        )
        if event == NotificationEvent.ACKNOWLEDGED:
            reason = "the channel groups: it hears of groups, not of acknowledgements"
        outcome = Outcome.SKIPPED if reason else Outcome.GROUPED
        if reason is None and event != NotificationEvent.REPEAT:
            member = GroupMember(
                alert=notification.alert,
                policy=notification.policy,
                firing=event != NotificationEvent.RESOLVED,
                since=owed.transition_time,
                starts_at=amformat.starts_at(notification),
                severity=notification.severity,
                value=notification.value,
                labels=amformat.alert_labels(notification, notification.severity),
                summary=cut(notification.summary, 1024),
            )
            await self.services.groups.join(self.policy.namespace, channel.name, options, member)
        return DeliveryOutcome(
            channel.name, event, owed.key, outcome, format_time(datetime.now(UTC)), 0, reason or ""
        )

    async def _settle(
        self, record: AlertRecord, owed: Obligation, attempt: Attempt, budget: Budget, now: datetime
    ) -> None:
        result = settle(owed, attempt, budget, now)
        record.ledger = after_settlement(record.ledger, owed, result, KEEP_RECORDS)
        if result.record is None:
            return
        if result.gave_up:
            message = (
                f"{owed.event} of {owed.transition_time} to {owed.channel}: {result.record.error}"
            )
            ref = self.writer.alert_ref(record.name)
            LOGGER.warning("Alert %s/%s: %s", ref.namespace, ref.name, message)
            await self.writer.post_event(ref, "Warning", "NotificationGivenUp", message)


def _attempt(outcome: DeliveryOutcome) -> Attempt:
    return Attempt(outcome.outcome, outcome.attempts, outcome.error, outcome.retryable)
