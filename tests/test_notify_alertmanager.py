"""The Alertmanager channel against a real Alertmanager (Debian's prometheus-alertmanager)
on loopback; and the Webhook channel's payload held against what that Alertmanager itself
sends to a webhook receiver."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devenv.alertmanager import LocalAlertmanager
from tests.notify_support import FIRING, Cluster, channel, transition
from tests.receivers import HttpReceiver
from tests.waiting import eventually
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.message import Event

KEY = "shop/api-error-rate-7f3a9c2e"


@pytest.fixture(scope="module")
def forwarded():
    with HttpReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory, forwarded):
    with LocalAlertmanager(tmp_path_factory.mktemp("am"), f"{forwarded.url}/am-webhook") as am:
        yield am


async def deliver(am: LocalAlertmanager, *notifications):
    spec = {"type": "Alertmanager", "alertmanager": {"url": am.url, "endsAfter": "2h"}}
    dispatcher = Cluster().dispatcher()
    try:
        return [await dispatcher.deliver(channel("am", spec), n) for n in notifications]
    finally:
        await dispatcher.aclose()


async def test_firing_then_severity_change_then_resolved(alertmanager):
    (firing,) = await deliver(alertmanager, FIRING)
    assert firing.outcome == Outcome.DELIVERED
    (alert,) = alertmanager.alerts(watchkeeper_alert=KEY)
    assert alert["status"]["state"] == "active"
    assert alert["labels"]["alertname"] == "api-error-rate"
    assert alert["labels"]["severity"] == "Critical"
    assert alert["labels"]["service"] == "checkout"
    assert alert["annotations"]["summary"] == FIRING.summary
    assert alert["startsAt"].startswith("2026-03-01T10:00:00")

    changed = transition(Event.SEVERITY_CHANGED, severity="Emergency", previous_severity="Critical")
    await deliver(alertmanager, changed)
    active = alertmanager.alerts(watchkeeper_alert=KEY)
    assert [a["labels"]["severity"] for a in active] == ["Emergency"]  # the old one resolved

    await deliver(alertmanager, transition(Event.RESOLVED, severity="Emergency"))
    assert alertmanager.alerts(watchkeeper_alert=KEY) == []


async def test_webhook_payload_has_the_shape_alertmanager_sends(alertmanager, forwarded):
    shape = replace(FIRING, alert="webhook-shape")
    hook = HttpReceiver()
    with hook:
        spec = {"type": "Webhook", "webhook": {"url": f"{hook.url}/ours"}}
        dispatcher = Cluster().dispatcher()
        try:
            await dispatcher.deliver(channel("ours", spec), shape)
        finally:
            await dispatcher.aclose()
        ours = hook.wait_for(1, "/ours")[0].json()
    await deliver(alertmanager, shape)
    mine = '{}:{watchkeeper_alert="shop/webhook-shape"}'
    theirs = eventually(
        lambda: [
            b
            for b in (r.json() for r in forwarded.to("/am-webhook"))
            if b["commonLabels"].get("watchkeeper_alert") == "shop/webhook-shape"
        ],
        bool,
    )[0]
    assert ours["groupKey"] == mine
    compatible = set(theirs) - {"watchkeeper"}
    assert compatible <= set(ours), f"missing: {compatible - set(ours)}"
    assert theirs["version"] == ours["version"] == "4"
    assert set(theirs["alerts"][0]) == set(ours["alerts"][0])
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        assert isinstance(ours[name], dict)
    assert theirs["alerts"][0]["labels"] == ours["alerts"][0]["labels"]
