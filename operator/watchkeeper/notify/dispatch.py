"""The dispatcher: deliver one notification to one channel (or several at once) and say
what happened. Filters (event, minimum severity, sendResolved), the rate limit with its
summary, templates, retries and the channel's status all go through here.

The caller (alert evaluation, the channel's test send) records the outcome per channel;
a delivery is identified by `notification.idempotency_key`, which services that have
one receive as their idempotency key (PagerDuty dedup_key and Opsgenie alias are the
alert's stable `dedup_key`; webhooks get an Idempotency-Key header; e-mail a Message-ID).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from watchkeeper.api.alert import Outcome
from watchkeeper.api.destinations import DestinationPolicy
from watchkeeper.api.notificationchannel import ChannelType, NotificationChannelSpec
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.backoff import RetryPolicy
from watchkeeper.engine.channelfilter import skip_reason
from watchkeeper.engine.ratelimit import (
    Limit,
    Verdict,
    admit,
    summary_delivered,
    take_summary_slot,
)
from watchkeeper.engine.templating import RenderAll
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.metrics import DELIVERY_SECONDS, NOTIFICATIONS
from watchkeeper.notify.registry import SENDERS
from watchkeeper.notify.sender import Channel, DeliveryFailed, SecretReader, Secrets, SendContext
from watchkeeper.notify.state import ChannelState
from watchkeeper.notify.summary import held_item, summary_notification
from watchkeeper.notify.templates import render_message, render_message_bounded

__all__ = ["DeliveryOutcome", "Dispatcher", "Outcome"]
LOGGER = logging.getLogger("watchkeeper.notify")
StatusWriter = Callable[[str, str, dict[str, Any]], Awaitable[None]]
"""(namespace, name, status fields) -> merge-patch them into the channel's status."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one notification on one channel.

    Delivered, RateLimited (held; it will be listed in the channel's summary) and Skipped
    (filtered out; `error` says why) are final. Failed is final unless `retryable`: then
    the service or a Secret may come back, and delivering the same notification again
    later (same idempotency key) is the right thing to do.
    """

    channel: str
    event: Event
    idempotency_key: str
    outcome: Outcome
    time: str
    attempts: int = 0
    error: str = ""
    retryable: bool = False

    @property
    def final(self) -> bool:
        """Whether the caller should stop trying this notification on this channel."""
        return self.outcome != Outcome.FAILED or not self.retryable


def _count(state: ChannelState, outcome: DeliveryOutcome) -> None:
    """counters.sent counts notifications delivered, each once however many requests and
    rounds it took; counters.failed counts delivery rounds that ended in failure (each with
    its retries). A notification that failed once and was delivered later counts 1 and 1;
    the Alert's record of it shows every attempt."""
    if outcome.outcome == Outcome.DELIVERED:
        state.counters.sent += 1
    else:
        state.counters.failed += 1


def _retry(spec: NotificationChannelSpec) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=spec.retry.max_attempts,
        initial_backoff=spec.retry.initial_backoff.delta.total_seconds(),
        max_backoff=spec.retry.max_backoff.delta.total_seconds(),
    )


class Dispatcher:
    """Delivers notifications; one per operator, shared by every handler."""

    def __init__(
        self,
        secrets: SecretReader,
        write_status: StatusWriter,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[], float] = random.random,
        render: RenderAll | None = None,
        destinations: DestinationPolicy | None = None,
    ) -> None:
        """`render`: how channels' own templates are rendered (bounded, off the loop, in the
        operator); without it they render in place (tests, the command line)."""
        self._secrets = secrets
        self._write_status = write_status
        self._client = client or httpx.AsyncClient()
        self._clock = clock
        self._sleep = sleep
        self._draw = draw
        self._states: dict[str, ChannelState] = {}
        self._render = render
        self._destinations = destinations or DestinationPolicy()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

    def forget(self, uid: str) -> None:
        """Drop the state of a deleted channel."""
        self._states.pop(uid, None)

    def _state(self, channel: Channel) -> ChannelState:
        if channel.uid not in self._states:
            self._states[channel.uid] = ChannelState.restore(channel.status)
        return self._states[channel.uid]

    async def deliver(
        self,
        channel: Channel,
        notification: Notification,
        *,
        notified_before: bool | None = None,
    ) -> DeliveryOutcome:
        """Deliver `notification` to `channel`, with the channel's filters, rate limit,
        templates, retries and per-request timeout; record the outcome in its status.

        `notified_before`: whether this channel got an earlier notification of the same
        alert (from the Alert's delivery record); follow-ups (SeverityChanged, Resolved,
        Acknowledged) then go exactly to those channels. None: decide by severity.
        """
        spec, now = channel.spec, self._clock()
        sender = SENDERS[ChannelType(spec.type)]
        reason = skip_reason(
            notification.event.value,
            notification.severity,
            notification.previous_severity,
            spec.min_severity,
            spec.send_resolved,
            notified_before,
        )
        if notification.event not in sender.events:
            reason = f"{spec.type} has no concept of {notification.event.value}"
        if reason is not None:
            return self._outcome(channel, notification, Outcome.SKIPPED, error=reason)
        state = self._state(channel)
        if notification.event != Event.TEST:
            force = sender.stateful and notification.event in (Event.RESOLVED, Event.ACKNOWLEDGED)
            async with state.lock:
                verdict, state.limiter = admit(
                    state.limiter, Limit.of(spec.rate_limit), now, held_item(notification), force
                )
                if verdict != Verdict.SEND:
                    if verdict == Verdict.HOLD:
                        state.counters.rate_limited += 1
                    outcome = self._outcome(channel, notification, Outcome.RATE_LIMITED)
                    await self._record(channel, state, outcome, notification)
                    return outcome
        outcome = await self._send(channel, notification, now)
        async with state.lock:
            _count(state, outcome)
            await self._record(channel, state, outcome, notification)
        return outcome

    async def deliver_many(
        self,
        channels: Iterable[Channel],
        notification: Notification,
        *,
        notified_before: Mapping[str, bool] | None = None,
    ) -> list[DeliveryOutcome]:
        """Deliver to several channels concurrently: a slow or dead one delays no other.

        `notified_before` maps channel name -> whether it was told about the alert before.
        """
        known = notified_before or {}

        async def one(channel: Channel) -> DeliveryOutcome:
            try:
                return await self.deliver(
                    channel, notification, notified_before=known.get(channel.name)
                )
            except Exception as error:  # a defect in one channel costs no other its delivery
                LOGGER.exception(
                    "NotificationChannel %s/%s: delivery failed", channel.namespace, channel.name
                )
                text = f"unexpected {type(error).__name__}"
                return self._outcome(channel, notification, Outcome.FAILED, 0, text, True)

        return list(await asyncio.gather(*(one(c) for c in channels)))

    async def send_summary(self, channel: Channel) -> DeliveryOutcome | None:
        """If the rate limit held notifications back and a slot is free, send one message
        that lists them. None when there is nothing to send (or no free slot yet)."""
        state, now = self._state(channel), self._clock()
        async with state.lock:
            if state.summary_in_flight or not state.limiter.held:
                return None
            covered = state.limiter
            notification = summary_notification(channel, covered, now)
            taken = take_summary_slot(
                covered, Limit.of(channel.spec.rate_limit), now, notification.idempotency_key
            )
            if taken is None:
                return None
            state.limiter, state.summary_in_flight = taken, True
        try:
            outcome = await self._send(channel, notification, now)
        finally:
            state.summary_in_flight = False
        async with state.lock:
            _count(state, outcome)
            if outcome.outcome == Outcome.DELIVERED:
                state.limiter = summary_delivered(state.limiter, covered)
            await self._record(channel, state, outcome, notification)
        return outcome

    async def _send(
        self, channel: Channel, notification: Notification, now: datetime
    ) -> DeliveryOutcome:
        spec = channel.spec
        sender = SENDERS[ChannelType(spec.type)]
        secrets = Secrets(self._secrets, channel.namespace)
        defaults = (sender.title_template, sender.body_template)
        if self._render is None:
            message, warning = render_message(notification, channel.name, defaults, spec.templates)
        else:
            message, warning = await render_message_bounded(
                notification, channel.name, defaults, spec.templates, self._render
            )
        ctx = SendContext(
            channel=channel,
            notification=notification,
            message=message,
            secrets=secrets,
            client=self._client,
            retry=_retry(spec),
            timeout=spec.timeout.delta.total_seconds(),
            now=now,
            sleep=self._sleep,
            draw=self._draw,
            destinations=self._destinations,
        )
        started = time.monotonic()
        try:
            await sender.send(ctx)
        except DeliveryFailed as error:
            return self._outcome(
                channel, notification, Outcome.FAILED, ctx.attempts, str(error), error.retryable
            )
        except Exception as error:  # a defect: report it, scrubbed, rather than lose it
            text = secrets.scrub(f"unexpected {type(error).__name__}: {error}")
            return self._outcome(channel, notification, Outcome.FAILED, ctx.attempts, text, True)
        finally:
            DELIVERY_SECONDS.labels(spec.type).observe(time.monotonic() - started)
        return self._outcome(channel, notification, Outcome.DELIVERED, ctx.attempts, warning)

    def _outcome(
        self,
        channel: Channel,
        notification: Notification,
        outcome: Outcome,
        attempts: int = 0,
        error: str = "",
        retryable: bool = False,
    ) -> DeliveryOutcome:
        NOTIFICATIONS.labels(channel.spec.type, notification.event.value, outcome.value).inc()
        result = DeliveryOutcome(
            channel=channel.name,
            event=notification.event,
            idempotency_key=notification.idempotency_key,
            outcome=outcome,
            time=format_time(self._clock()),
            attempts=attempts,
            error=error,
            retryable=retryable,
        )
        level = logging.WARNING if outcome == Outcome.FAILED else logging.INFO
        LOGGER.log(
            level,
            "NotificationChannel %s/%s: %s of %s/%s %s%s",
            channel.namespace,
            channel.name,
            notification.event.value,
            notification.namespace,
            notification.alert,
            outcome.value,
            f": {error}" if error else "",
        )
        return result

    async def _record(
        self,
        channel: Channel,
        state: ChannelState,
        outcome: DeliveryOutcome,
        notification: Notification,
    ) -> None:
        """Write the state to the channel's status (called with the state's lock held)."""
        state.last_delivery = {
            "time": outcome.time,
            "outcome": outcome.outcome.value,
            "error": outcome.error,
            "event": outcome.event.value,
            "alert": ""
            if notification.event in (Event.TEST, Event.SUMMARY)
            else notification.alert,
            "attempts": outcome.attempts,
        }
        try:
            await self._write_status(channel.namespace, channel.name, state.status_patch())
        except Exception as error:  # the next write carries the same state again
            LOGGER.warning(
                "could not write the status of NotificationChannel %s/%s: %s",
                channel.namespace,
                channel.name,
                type(error).__name__,
            )
