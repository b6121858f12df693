"""NotificationChannel: the dispatcher every handler delivers through (`memo.dispatcher`),
the test send asked for by the annotation watchkeeper.io/test, and the summary of what
the rate limit held back. Ready is written by readiness.py, not here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from watchkeeper.api import GROUP, NOTIFICATION_CHANNEL, VERSION
from watchkeeper.api.common import SecretKeyRef, describe_validation_error
from watchkeeper.api.timestamps import format_time
from watchkeeper.kube.client import Kube
from watchkeeper.kube.secrets import read_secret_value
from watchkeeper.notify.dispatch import Dispatcher, Outcome
from watchkeeper.notify.sender import Channel
from watchkeeper.notify.summary import test_notification
from watchkeeper.runtime.config import OperatorConfig

TEST_ANNOTATION = "watchkeeper.io/test"
DELIVERY_MANAGER = "watchkeeper-delivery"
"""Field manager of lastDelivery, counters and rateLimit (written by the dispatcher)."""
TEST_MANAGER = "watchkeeper-channel-test"
"""Field manager of lastTest."""
SUMMARY_INTERVAL = 5.0
"""How often a channel with held notifications checks for a free slot for the summary."""
RESOURCE = (GROUP, VERSION, NOTIFICATION_CHANNEL.plural)


async def start_dispatcher(memo: kopf.Memo, **_: Any) -> None:
    """One dispatcher for the operator: Secrets and status through the Kubernetes adapter."""
    kube: Kube = memo.kube

    async def read_secret(namespace: str, ref: SecretKeyRef) -> str:
        return await read_secret_value(kube.api_client, namespace, ref)

    async def write_status(namespace: str, name: str, fields: dict[str, Any]) -> None:
        await kube.apply_status(
            NOTIFICATION_CHANNEL, namespace, name, fields, manager=DELIVERY_MANAGER
        )

    memo.dispatcher = Dispatcher(read_secret, write_status)
    memo.tests_sent = {}  # uid -> the annotation value handled by this process


async def stop_dispatcher(memo: kopf.Memo, **_: Any) -> None:
    await memo.dispatcher.aclose()


async def on_channel_event(
    type: str | None, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Send one test message for each new value of the annotation; forget deleted channels.

    A value is sent once: status.lastTest records it (across restarts), and this process
    remembers it from the moment it starts sending (against events that predate the write).
    """
    uid = str(body.metadata.get("uid"))
    if type == "DELETED":
        memo.dispatcher.forget(uid)
        memo.tests_sent.pop(uid, None)
        return
    value = (body.metadata.annotations or {}).get(TEST_ANNOTATION)
    recorded = ((body.get("status") or {}).get("lastTest") or {}).get("value")
    if not value or value == recorded or memo.tests_sent.get(uid) == value:
        return
    memo.tests_sent[uid] = value
    now = datetime.now(UTC)
    try:
        channel = Channel.from_object(body)
    except ValidationError as error:
        outcome, message = Outcome.FAILED.value, describe_validation_error(error)
    else:
        result = await memo.dispatcher.deliver(channel, test_notification(channel, value, now))
        outcome, message = result.outcome.value, result.error
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    last_test = {"value": value, "time": format_time(now), "outcome": outcome}
    if message:
        last_test["error"] = message
    await memo.kube.apply_status(
        NOTIFICATION_CHANNEL, namespace, name, {"lastTest": last_test}, manager=TEST_MANAGER
    )
    text = f"test message {value!r}: {outcome}{f': {message}' if message else ''}"
    if outcome == Outcome.DELIVERED.value:
        kopf.info(body, reason="TestDelivered", message=text)
    else:
        kopf.warn(body, reason="TestFailed", message=text)
    logger.info("NotificationChannel %s/%s %s", namespace, name, text)


def _holds_notifications(status: kopf.Status, **_: Any) -> bool:
    return bool((status.get("rateLimit") or {}).get("held"))


async def send_summary(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Once a slot is free, send one message listing what the rate limit held back."""
    try:
        channel = Channel.from_object(body)
    except ValidationError:
        return  # Ready says why; nothing can be sent through an invalid channel
    await memo.dispatcher.send_summary(channel)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    """The dispatcher's lifecycle, the test send and the summary timer."""
    kopf.on.startup(registry=registry)(start_dispatcher)
    kopf.on.cleanup(registry=registry)(stop_dispatcher)
    kopf.on.event(*RESOURCE, registry=registry, id="test-send")(on_channel_event)
    kopf.timer(
        *RESOURCE,
        registry=registry,
        id="rate-limit-summary",
        interval=SUMMARY_INTERVAL,
        when=_holds_notifications,
    )(send_summary)
