"""Watchkeeper and a real Alertmanager, given the same alerts, silences and inhibit rules,
send the same notifications (tests/parity.py explains the harness and its timing
tolerance)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devenv.alertmanager import RECEIVER, LocalAlertmanager
from tests.alerting import apply, policy
from tests.kubectl import watchkeeper_object
from tests.parity import (
    AM_PATH,
    AM_ROUTE,
    WK_PATH,
    Parity,
    am_inhibit_rule,
    am_time_interval,
)

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]
_AM_FIELDS = {
    "groupBy": "group_by",
    "groupWait": "group_wait",
    "groupInterval": "group_interval",
    "repeatInterval": "repeat_interval",
}


@pytest.fixture
def parity_with(tmp_path, operator, kubeconfig, namespace, custom_objects, exporter, receiver):
    """Start both sides: `policies` are AlertPolicy names, each with its own metric, all
    routed to one Webhook channel; `inhibit_rules` are InhibitRule specs (and the same
    rules in Alertmanager's config); `mute` are TimeIntervals that mute the channel, or the
    policies' routing with `mute_on="route"` (Alertmanager has them on a route); `grouping`
    the routing's groupBy/groupWait/groupInterval/repeatInterval (and Alertmanager's)."""
    started: list[LocalAlertmanager] = []

    def start(
        *policies: str,
        inhibit_rules: tuple[dict, ...] = (),
        mute: dict[str, dict] | None = None,
        mute_on: str = "channel",
        grouping: dict[str, Any] | None = None,
    ) -> Parity:
        suffix = namespace.replace("-", "_")
        metrics = {name: f"wk_parity_{name.replace('-', '_')}_{suffix}" for name in policies}
        channel = {
            "type": "Webhook",
            "webhook": {"url": f"{receiver.url}{WK_PATH}"},
            "rateLimit": {"max": 100, "per": "1m"},  # Alertmanager has none
        }
        routing = {"channels": ["hook"], "repeatInterval": "1h", "sendResolved": True}
        (channel if mute_on == "channel" else routing)["muteTimeIntervals"] = list(mute or {})
        routing |= grouping or {}
        objects = [watchkeeper_object("NotificationChannel", "hook", channel)]
        objects += [policy(name, metrics[name], routing=routing) for name in policies]
        objects += [
            watchkeeper_object("InhibitRule", f"rule-{i}", spec)
            for i, spec in enumerate(inhibit_rules)
        ]
        objects += [watchkeeper_object("TimeInterval", n, t) for n, t in (mute or {}).items()]
        apply(kubeconfig, namespace, *objects)
        extra: dict = {"inhibit_rules": [am_inhibit_rule(r) for r in inhibit_rules]}
        route: dict = dict(AM_ROUTE) | {_AM_FIELDS[k]: v for k, v in (grouping or {}).items()}
        if mute:  # not allowed on Alertmanager's root route: a child route that takes all
            extra["time_intervals"] = [am_time_interval(n, t) for n, t in mute.items()]
            route["routes"] = [{"receiver": RECEIVER, "mute_time_intervals": list(mute)}]
        am = LocalAlertmanager(
            tmp_path / "am", f"{receiver.url}{AM_PATH}", route=route, extra=extra
        )
        am.start()
        started.append(am)
        return Parity(am, receiver, exporter, kubeconfig, namespace, custom_objects, metrics)

    yield start
    for am in started:
        am.stop()


def test_a_silence_that_starts_and_ends_while_firing(parity_with):
    """a fires before the silence and fires throughout; c fires before it and resolves
    inside it; b fires inside it. When it ends: b is announced (never told), a is not
    (told already; the next is its repeat), c never is."""
    parity = parity_with("checkout-latency")
    parity.fire("a")
    parity.fire("c")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("a"), parity.sent("c")])

    parity.silence("deploy", ["service=~a|b|c"])
    am, wk = parity.phase()
    assert am == wk == Counter()

    parity.fire("b")
    parity.resolve("c")
    am, wk = parity.phase()
    assert am == wk == Counter()

    parity.expire("deploy")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("b")])

    parity.resolve("a")
    parity.resolve("b")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent(resolved=("a",)), parity.sent(resolved=("b",))])


def test_an_inhibition_source_appearing_and_disappearing(parity_with):
    """node-down on node n1 mutes pod-crash alerts on n1 while it fires. p1 was told
    before; p2 fires while inhibited and is announced when node-down resolves; p3 is on
    another node and never inhibited."""
    rule = {
        "sourceMatchers": ["alertname=node-down"],
        "targetMatchers": ["alertname=pod-crash"],
        "equal": ["node"],
    }
    parity = parity_with("node-down", "pod-crash", inhibit_rules=(rule,))
    parity.fire("p1", "pod-crash", node="n1", pod="p1")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("p1")])

    parity.fire("n1", "node-down", node="n1")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("n1")])

    parity.fire("p2", "pod-crash", node="n1", pod="p2")
    parity.fire("p3", "pod-crash", node="n2", pod="p3")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("p3")])
    source = parity.alert("n1", "Firing")["metadata"]["name"]
    assert parity.alert("p2", "Firing")["status"]["inhibitedBy"] == [source]
    assert parity.alert("p1", "Firing")["status"]["inhibitedBy"] == [source]

    parity.resolve("n1")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent(resolved=("n1",)), parity.sent("p2")])
    assert "inhibitedBy" not in parity.alert("p2", "Firing")["status"]

    for key in ("p1", "p2", "p3"):
        parity.resolve(key)
    am, wk = parity.phase()
    expected = [parity.sent(resolved=(k,)) for k in ("p1", "p2", "p3")]
    assert am == wk == Counter(expected)


@pytest.mark.parametrize("mute_on", ["channel", "route"])
def test_a_mute_window_edge_in_a_non_utc_zone(parity_with, mute_on):
    """A one-minute mute window in Asia/Kolkata (UTC+05:30), on the channel or on the
    policy's routing. a fires before it and resolves inside it (no Resolved, on both
    sides); b fires inside it and is announced when it ends."""
    zone = ZoneInfo("Asia/Kolkata")
    now = datetime.now(UTC)
    start = (now + timedelta(seconds=80)).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=1)
    local_end = end.astimezone(zone).strftime("%H:%M")
    window = {
        "intervals": [
            {
                "times": [
                    {
                        "startTime": start.astimezone(zone).strftime("%H:%M"),
                        "endTime": "24:00" if local_end == "00:00" else local_end,
                    }
                ],
                "location": "Asia/Kolkata",
            }
        ]
    }
    parity = parity_with("checkout-latency", mute={"maintenance": window}, mute_on=mute_on)
    parity.fire("a")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("a")])
    assert datetime.now(UTC) < start, "the first phase overran the window's start"

    time.sleep((start - datetime.now(UTC)).total_seconds() + 1)
    parity.fire("b")
    parity.resolve("a")
    am, wk = parity.phase()
    assert am == wk == Counter()
    assert datetime.now(UTC) < end, "the phase inside the window overran its end"

    time.sleep((end - datetime.now(UTC)).total_seconds() + 1)
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("b")])

    parity.resolve("b")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent(resolved=("b",))])


GROUP_WAIT, GROUP_INTERVAL, REPEAT = 10, 12, 30
CHECKOUT = '{service="checkout"}'


def test_grouping_across_policies_late_joiner_resolve_and_repeat(parity_with):
    """Two policies route to one channel grouped by service. a (policy one) and b (policy
    two) fire within groupWait: one notification lists both; x, on another service, is
    its own group. c joins late: the next groupInterval lists a, b and c. a resolves
    inside a groupInterval: the next lists b and c firing and a resolved. Nothing changes:
    repeatInterval later b and c are sent again. Then all resolve: one last notification.

    Timing: a phase ends once both sides are quiet; the first waits out groupWait, the
    others a groupInterval (each side starts its own clock within about 2 s of the other:
    Alertmanager is told once Watchkeeper's Alert fires), so a flush never falls across a
    phase boundary."""
    grouping = {
        "groupBy": ["service"],
        "groupWait": f"{GROUP_WAIT}s",
        "groupInterval": f"{GROUP_INTERVAL}s",
        "repeatInterval": f"{REPEAT}s",
    }
    parity = parity_with("one", "two", grouping=grouping)
    parity.fire("a", "one", service="checkout", pod="a")
    parity.fire("b", "two", service="checkout", pod="b")
    parity.fire("x", "one", service="search", pod="x")
    am, wk = parity.phase(GROUP_WAIT)
    search = '{service="search"}'
    expected = [parity.grouped(CHECKOUT, "a", "b"), parity.grouped(search, "x")]
    assert am == wk == Counter(expected)

    parity.fire("c", "one", service="checkout", pod="c")
    am, wk = parity.phase(GROUP_INTERVAL)
    assert am == wk == Counter([parity.grouped(CHECKOUT, "a", "b", "c")])

    parity.resolve("a")
    am, wk = parity.phase(GROUP_INTERVAL)
    assert am == wk == Counter([parity.grouped(CHECKOUT, "b", "c", resolved=("a",))])

    parity.resolve("x")
    am, wk = parity.phase(GROUP_INTERVAL)
    assert am == wk == Counter([parity.grouped(search, resolved=("x",))])

    am, wk = parity.phase(REPEAT)
    assert am == wk == Counter([parity.grouped(CHECKOUT, "b", "c")])

    parity.resolve("b", "c")
    am, wk = parity.phase(GROUP_INTERVAL)
    assert am == wk == Counter([parity.grouped(CHECKOUT, resolved=("b", "c"))])
