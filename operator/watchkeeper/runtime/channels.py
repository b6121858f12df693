"""NotificationChannel work that is not a notification: the test send asked for by the
annotation watchkeeper.io/test, the summary of what the rate limit held back (one
scheduler job for all channels), and EscalationPolicy counts of escalating alerts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, API_VERSION, ESCALATION_POLICY, NOTIFICATION_CHANNEL
from watchkeeper.api.common import describe_validation_error
from watchkeeper.api.timestamps import format_time
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.events import ObjectRef
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.sender import Channel
from watchkeeper.notify.summary import test_notification
from watchkeeper.runtime.escalator import ESCALATION_LABEL
from watchkeeper.runtime.escalator import FIELD_MANAGER as ESCALATION_MANAGER
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import Services

LOGGER = logging.getLogger("watchkeeper.channels")
TEST_ANNOTATION = "watchkeeper.io/test"
TEST_MANAGER = "watchkeeper-channel-test"
"""Field manager of lastTest."""
SUMMARY_INTERVAL = timedelta(seconds=5)
"""How often channels with held notifications look for a free slot for the summary."""


class ChannelService:
    def __init__(self, services: Services, scheduler: Scheduler) -> None:
        self.services = services
        self._tests_sent: dict[str, str] = {}  # uid -> annotation value handled here
        scheduler.upsert("channels/summaries", "Summary", SUMMARY_INTERVAL, self._summaries)
        recheck = timedelta(seconds=services.config.recheck_interval)
        scheduler.upsert("escalationpolicies/counts", "EscalationCount", recheck, self._counts)

    def forget(self, uid: str) -> None:
        self.services.dispatcher.forget(uid)
        self._tests_sent.pop(uid, None)

    async def maybe_test(self, body: Mapping[str, Any]) -> None:
        """Send one test message for each new value of the annotation. A value is sent
        once: status.lastTest records it, and this process remembers it from the moment
        it starts sending (against events that predate the write)."""
        metadata = body["metadata"]
        uid = str(metadata.get("uid"))
        value = (metadata.get("annotations") or {}).get(TEST_ANNOTATION)
        recorded = ((body.get("status") or {}).get("lastTest") or {}).get("value")
        if not value or value == recorded or self._tests_sent.get(uid) == value:
            return
        self._tests_sent[uid] = value
        now = datetime.now(UTC)
        try:
            channel = Channel.from_object(body)
        except ValidationError as error:
            outcome, message = Outcome.FAILED.value, describe_validation_error(error)
        else:
            notification = test_notification(channel, value, now)
            result = await self.services.dispatcher.deliver(channel, notification)
            outcome, message = result.outcome.value, result.error
        namespace, name = metadata["namespace"], metadata["name"]
        last_test = {"value": value, "time": format_time(now), "outcome": outcome}
        if message:
            last_test["error"] = message
        text = f"test message {value!r}: {outcome}{f': {message}' if message else ''}"
        LOGGER.info("NotificationChannel %s/%s %s", namespace, name, text)
        about = ObjectRef(API_VERSION, NOTIFICATION_CHANNEL.kind, namespace, name, uid)
        delivered = outcome == Outcome.DELIVERED.value
        try:
            await self.services.kube.apply_status(
                NOTIFICATION_CHANNEL, namespace, name, {"lastTest": last_test}, TEST_MANAGER
            )
            await self.services.events.post(
                about,
                "Normal" if delivered else "Warning",
                "TestDelivered" if delivered else "TestFailed",
                text,
            )
        except KubeError as error:
            LOGGER.warning(
                "NotificationChannel %s/%s: test not recorded: %s", namespace, name, error
            )

    async def _summaries(self, due: datetime) -> None:
        for body in self.services.objects.all(NOTIFICATION_CHANNEL):
            if not ((body.get("status") or {}).get("rateLimit") or {}).get("held"):
                continue
            try:
                channel = Channel.from_object(body)
            except ValidationError:
                continue  # Ready says why; nothing can be sent through an invalid channel
            await self.services.dispatcher.send_summary(channel)

    async def _counts(self, due: datetime) -> None:
        """status.escalating of every EscalationPolicy, from the watched Alerts."""
        counts: dict[tuple[str, str], int] = {}
        for alert in self.services.objects.all(ALERT):
            label = (alert["metadata"].get("labels") or {}).get(ESCALATION_LABEL)
            if label:
                key = (alert["metadata"]["namespace"], label)
                counts[key] = counts.get(key, 0) + 1
        for policy in self.services.objects.all(ESCALATION_POLICY):
            namespace, name = policy["metadata"]["namespace"], policy["metadata"]["name"]
            escalating = counts.get((namespace, name), 0)
            if (policy.get("status") or {}).get("escalating") == escalating:
                continue
            await self.services.kube.apply_status(
                ESCALATION_POLICY, namespace, name, {"escalating": escalating}, ESCALATION_MANAGER
            )
