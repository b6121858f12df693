"""Notifications a channel makes itself: the summary of what its rate limit held back,
and the test message the annotation watchkeeper.io/test asks for."""

from __future__ import annotations

from datetime import datetime

from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.ratelimit import Held, LimiterState, highest_severity
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import Channel
from watchkeeper.notify.templates import HEADLINES, cut


def held_item(notification: Notification) -> Held:
    """How the summary will list this notification, if it is held."""
    n = notification
    severity = f" [{n.severity}]" if n.severity else ""
    text = f"{HEADLINES[n.event]}{severity} {n.namespace}/{n.alert}: {n.summary or n.policy}"
    return Held(key=n.idempotency_key, text=cut(text, 200), severity=n.severity)


def summary_notification(channel: Channel, state: LimiterState, now: datetime) -> Notification:
    """One notification listing everything held back; its severity is the highest held."""
    limit = channel.spec.rate_limit
    since = format_time(state.held_since) if state.held_since else format_time(now)
    count = "1 notification was" if state.held == 1 else f"{state.held} notifications were"
    lines = [h.text for h in state.held_items]
    if state.held > len(lines):
        lines.append(f"... and {state.held - len(lines)} more")
    return Notification(
        event=Event.SUMMARY,
        alert=channel.name,
        namespace=channel.namespace,
        policy="",
        state="",
        transition_time=format_time(now),
        severity=highest_severity(state.held_items),
        summary=f"{count} held back by the rate limit ({limit.max} per {limit.per}) since {since}",
        description="\n".join(lines),
    )


def test_notification(channel: Channel, value: str, now: datetime) -> Notification:
    """A test message for `channel`, asked for by the annotation value `value`."""
    return Notification(
        event=Event.TEST,
        alert=f"{channel.name}-test",
        namespace=channel.namespace,
        policy="",
        state="Test",
        transition_time=format_time(now),
        labels={"alertname": "WatchkeeperTest", "channel": channel.name},
        summary=f"Test message from NotificationChannel {channel.namespace}/{channel.name}",
        description=f"Sent because the annotation watchkeeper.io/test was set to {value!r}.",
    )
