"""A group's notification in each channel type's native form, sent to a real HTTP
receiver: the Webhook's Alertmanager payload (alerts[], groupKey, groupLabels,
truncatedAlerts), one Slack message with a line per alert and the counts, one PagerDuty
incident per group key, each alert pushed to an Alertmanager, and the rate limit counting
group notifications."""

from __future__ import annotations

from tests.notify_support import NAMESPACE, PAGERDUTY_SECRETS, Cluster, channel, pagerduty
from watchkeeper.api.alert import Outcome
from watchkeeper.api.grouping import GroupFlush, GroupMember, GroupStatus
from watchkeeper.notify.grouped import group_name, group_notification
from watchkeeper.notify.message import Event

KEY = '{}/{route=0f0f0f0f}:{service="checkout"}'


def member(alert: str, firing: bool, severity: str) -> GroupMember:
    return GroupMember(
        alert=alert,
        policy="latency",
        firing=firing,
        since="2026-03-01T10:01:00Z",
        starts_at="2026-03-01T10:00:00Z",
        severity=severity,
        labels={"alertname": "latency", "service": "checkout", "pod": alert},
        summary=f"latency of {alert} is high",
    )


GROUP = GroupStatus(
    key=KEY,
    labels={"service": "checkout"},
    group_wait="30s",
    group_interval="5m",
    repeat_interval="4h",
    next_flush="2026-03-01T10:07:00Z",
    members=[
        member("a", True, "Critical"),
        member("b", True, "Warning"),
        member("c", False, "Warning"),
    ],
)
FLUSH = GroupFlush(seq=2, time="2026-03-01T10:02:00Z", firing=["a", "b"], resolved=["c"])
NOTIFICATION = group_notification(NAMESPACE, GROUP, FLUSH)


async def _deliver(cluster: Cluster, spec: dict, notification=NOTIFICATION):
    dispatcher = cluster.dispatcher()
    try:
        return await dispatcher.deliver(channel("c", spec), notification, notified_before=True)
    finally:
        await dispatcher.aclose()


def test_the_notification_names_the_group_and_counts_its_alerts():
    n = NOTIFICATION
    assert (n.event, n.severity, n.alert) == (Event.FIRING, "Critical", group_name(KEY))
    assert n.summary == "2 firing, 1 resolved (service=checkout)"
    assert n.description.splitlines() == [
        f"firing [Critical] {NAMESPACE}/a: latency of a is high",
        f"firing [Warning] {NAMESPACE}/b: latency of b is high",
        f"resolved [Warning] {NAMESPACE}/c: latency of c is high",
    ]
    again = group_notification(NAMESPACE, GROUP, FLUSH)  # the same one after a restart
    later = FLUSH.model_copy(update={"seq": 3, "time": "2026-03-01T10:07:00Z"})
    assert n.idempotency_key == again.idempotency_key
    assert n.idempotency_key != group_notification(NAMESPACE, GROUP, later).idempotency_key


async def test_webhook_gets_alertmanagers_group_payload(receiver):
    outcome = await _deliver(
        Cluster(), {"type": "Webhook", "webhook": {"url": f"{receiver.url}/h"}}
    )
    assert outcome.outcome == Outcome.DELIVERED
    [request] = receiver.to("/h")
    body = request.json()
    assert body["groupKey"] == KEY
    assert body["groupLabels"] == {"service": "checkout"}
    assert body["truncatedAlerts"] == 0
    assert body["status"] == "firing"
    assert body["commonLabels"] == {"alertname": "latency", "service": "checkout"}
    assert [(a["labels"]["pod"], a["status"]) for a in body["alerts"]] == [
        ("a", "firing"),
        ("b", "firing"),
        ("c", "resolved"),
    ]
    assert body["alerts"][2]["endsAt"] == "2026-03-01T10:01:00Z"
    assert len({a["fingerprint"] for a in body["alerts"]}) == 3
    assert request.headers["idempotency-key"] == NOTIFICATION.idempotency_key


async def test_slack_gets_one_message_with_a_line_per_alert(receiver):
    cluster = Cluster({("slack", "url"): f"{receiver.url}/s"})
    spec = {"type": "Slack", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}}
    assert (await _deliver(cluster, spec)).outcome == Outcome.DELIVERED
    [request] = receiver.to("/s")
    text = str(request.json())
    assert "2 firing, 1 resolved (service=checkout)" in text
    for pod in ("a", "b", "c"):
        assert f"{NAMESPACE}/{pod}: latency of {pod} is high" in text


async def test_pagerduty_keeps_one_incident_per_group_key(receiver):
    cluster = Cluster(dict(PAGERDUTY_SECRETS))
    spec = pagerduty(receiver)
    resolved = group_notification(
        NAMESPACE,
        GROUP,
        GroupFlush(seq=3, time="2026-03-01T10:07:00Z", firing=[], resolved=["a", "b", "c"]),
    )
    await _deliver(cluster, spec)
    await _deliver(cluster, spec, resolved)
    first, second = (r.json() for r in receiver.to("/e"))
    assert first["event_action"] == "trigger" and second["event_action"] == "resolve"
    assert first["dedup_key"] == second["dedup_key"] == f"watchkeeper/{NAMESPACE}/{group_name(KEY)}"


async def test_an_alertmanager_channel_gets_every_alert_of_the_group(receiver):
    spec = {"type": "Alertmanager", "alertmanager": {"url": f"{receiver.url}/am"}}
    assert (await _deliver(Cluster(), spec)).outcome == Outcome.DELIVERED
    [request] = receiver.to("/am/api/v2/alerts")
    posted = request.json()
    assert [a["labels"]["pod"] for a in posted] == ["a", "b", "c"]
    assert posted[2]["endsAt"] == "2026-03-01T10:01:00Z"
    assert all("status" not in a for a in posted)


async def test_the_rate_limit_counts_group_notifications(receiver):
    spec = {
        "type": "Webhook",
        "webhook": {"url": f"{receiver.url}/h"},
        "rateLimit": {"max": 1, "per": "1m"},
    }
    cluster = Cluster()
    dispatcher = cluster.dispatcher()
    second = group_notification(
        NAMESPACE, GROUP, FLUSH.model_copy(update={"seq": 3, "time": "2026-03-01T10:07:00Z"})
    )
    try:
        one = await dispatcher.deliver(channel("c", spec), NOTIFICATION, notified_before=True)
        two = await dispatcher.deliver(channel("c", spec), second, notified_before=True)
    finally:
        await dispatcher.aclose()
    assert (one.outcome, two.outcome) == (Outcome.DELIVERED, Outcome.RATE_LIMITED)
