"""The dispatcher's own rules, with a real local HTTP receiver: filters, the rate limit
(held, counted, summarized once, restored from status after a restart), idempotent
re-delivery of a transition, and the status it writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.notify_support import FIRING, PAGERDUTY_SECRETS, Cluster, channel, pagerduty, transition
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.message import Event


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def hook(receiver, **spec) -> dict:
    return {"type": "Webhook", "webhook": {"url": f"{receiver.url}/hook"}, **spec}


def alert(i: int, event: Event = Event.FIRING, **changes):
    return replace(transition(event), alert=f"a{i}", **changes)


async def test_rate_limit_holds_the_excess_and_summarizes_it_once(receiver):
    cluster, clock = Cluster(), Clock()
    spec = hook(receiver, rateLimit={"max": 3, "per": "1m"})
    dispatcher = cluster.dispatcher(clock=clock)
    try:
        outcomes = [await dispatcher.deliver(channel("hook", spec), alert(i)) for i in range(6)]
        assert [o.outcome for o in outcomes] == [Outcome.DELIVERED] * 3 + [Outcome.RATE_LIMITED] * 3
        status = cluster.status("hook")
        assert status["counters"] == {"sent": 3, "failed": 0, "rateLimited": 3}
        assert status["rateLimit"]["held"] == 3
        assert status["lastDelivery"]["outcome"] == "RateLimited"
        # the same held transition again is not counted twice
        again = await dispatcher.deliver(channel("hook", spec), alert(4))
        assert again.outcome == Outcome.RATE_LIMITED
        assert cluster.status("hook")["counters"]["rateLimited"] == 3
        # no slot free yet: no summary
        assert await dispatcher.send_summary(channel("hook", spec)) is None
        clock.advance(61)
        summary = await dispatcher.send_summary(channel("hook", spec))
        assert summary is not None and summary.outcome == Outcome.DELIVERED
        assert await dispatcher.send_summary(channel("hook", spec)) is None
    finally:
        await dispatcher.aclose()
    requests = receiver.to("/hook")
    assert len(requests) == 4
    last = requests[-1].json()
    assert last["alerts"][0]["labels"]["alertname"] == "WatchkeeperNotificationsHeldBack"
    assert last["alerts"][0]["annotations"]["summary"].startswith(
        "3 notifications were held back by the rate limit (3 per 1m)"
    )
    assert len(last["alerts"][0]["annotations"]["description"].splitlines()) == 3
    assert cluster.status("hook")["rateLimit"]["held"] == 0
    assert "heldSince" not in cluster.status("hook")["rateLimit"]
    assert cluster.status("hook")["counters"]["sent"] == 4


async def test_the_last_slot_goes_to_the_summary_so_it_cannot_starve(receiver):
    cluster, clock = Cluster(), Clock()
    spec = hook(receiver, rateLimit={"max": 2, "per": "10s"})
    dispatcher = cluster.dispatcher(clock=clock)
    try:
        for i in range(3):
            await dispatcher.deliver(channel("hook", spec), alert(i))
        clock.advance(11)  # both slots free; one is kept while something is held
        assert (
            await dispatcher.deliver(channel("hook", spec), alert(9))
        ).outcome == Outcome.DELIVERED
        assert (
            await dispatcher.deliver(channel("hook", spec), alert(10))
        ).outcome == Outcome.RATE_LIMITED
        summary = await dispatcher.send_summary(channel("hook", spec))
    finally:
        await dispatcher.aclose()
    assert summary is not None and summary.outcome == Outcome.DELIVERED


async def test_limiter_state_survives_a_restart_through_status(receiver):
    cluster, clock = Cluster(), Clock()
    spec = hook(receiver, rateLimit={"max": 2, "per": "1m"})
    first = cluster.dispatcher(clock=clock)
    try:
        for i in range(3):
            await first.deliver(channel("hook", spec), alert(i))
    finally:
        await first.aclose()
    status = cluster.status("hook")
    assert status["rateLimit"]["held"] == 1
    # a new operator process: a new dispatcher, the channel as the API server has it
    clock.advance(5)
    restarted = cluster.dispatcher(clock=clock)
    try:
        held = await restarted.deliver(channel("hook", spec, status), alert(7))
        assert held.outcome == Outcome.RATE_LIMITED  # the window was not reset
        assert cluster.status("hook")["counters"] == {"sent": 2, "failed": 0, "rateLimited": 2}
        clock.advance(60)
        summary = await restarted.send_summary(channel("hook", spec, status))
    finally:
        await restarted.aclose()
    assert summary is not None and summary.outcome == Outcome.DELIVERED
    description = receiver.to("/hook")[-1].json()["alerts"][0]["annotations"]["description"]
    lines = description.splitlines()
    assert [line.split()[2] for line in lines] == ["shop/a2:", "shop/a7:"]


async def test_redelivering_a_transition_reuses_its_slot_and_key(receiver):
    cluster = Cluster()
    spec = hook(receiver, rateLimit={"max": 1, "per": "1m"})
    dispatcher = cluster.dispatcher()
    try:
        one = await dispatcher.deliver(channel("hook", spec), FIRING)
        two = await dispatcher.deliver(channel("hook", spec), FIRING)
    finally:
        await dispatcher.aclose()
    assert (one.outcome, two.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
    keys = {r.headers["idempotency-key"] for r in receiver.to("/hook")}
    assert keys == {FIRING.idempotency_key}


async def test_stateful_services_always_get_resolve(receiver):
    cluster = Cluster(dict(PAGERDUTY_SECRETS))
    spec = pagerduty(receiver, rateLimit={"max": 1, "per": "1m"})
    dispatcher = cluster.dispatcher()
    try:
        await dispatcher.deliver(channel("pd", spec), FIRING)
        resolved = await dispatcher.deliver(channel("pd", spec), transition(Event.RESOLVED))
        other = await dispatcher.deliver(channel("pd", spec), alert(2))
    finally:
        await dispatcher.aclose()
    assert resolved.outcome == Outcome.DELIVERED  # an open incident is never left behind
    assert other.outcome == Outcome.RATE_LIMITED


@pytest.mark.parametrize(
    ("spec", "notification", "notified_before", "skipped"),
    [
        ({"minSeverity": "Critical"}, alert(1, severity="Warning"), None, True),
        ({"minSeverity": "Critical"}, alert(1, severity="Critical"), None, False),
        ({"minSeverity": "Emergency"}, alert(1, Event.REPEAT, severity="Critical"), None, True),
        ({"sendResolved": False}, alert(1, Event.RESOLVED), None, True),
        # a downgrade below the minimum still reaches the channel that had the alert
        (
            {"minSeverity": "Critical"},
            alert(1, Event.SEVERITY_CHANGED, severity="Warning", previous_severity="Critical"),
            None,
            False,
        ),
        ({"minSeverity": "Critical"}, alert(1, Event.RESOLVED, severity="Warning"), True, False),
        ({}, alert(1, Event.RESOLVED), False, True),
    ],
)
async def test_channel_filters(receiver, spec, notification, notified_before, skipped):
    cluster = Cluster()
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(
            channel("hook", hook(receiver, **spec)), notification, notified_before=notified_before
        )
    finally:
        await dispatcher.aclose()
    assert (outcome.outcome == Outcome.SKIPPED) == skipped
    assert len(receiver.requests) == (0 if skipped else 1)
    if skipped:
        assert outcome.error and cluster.writes == []


async def test_one_channels_defect_costs_no_other_its_delivery_or_outcome(receiver):
    """A title template that fails outside the sandbox's own errors (an include) on one
    channel: the other channel is delivered, and both get an outcome."""
    cluster = Cluster()
    dispatcher = cluster.dispatcher()
    broken = hook(receiver, templates={"title": "{% include 'other' %}"})
    try:
        outcomes = await dispatcher.deliver_many(
            [channel("broken", broken), channel("hook", hook(receiver))], alert(1)
        )
    finally:
        await dispatcher.aclose()
    by_channel = {o.channel: o for o in outcomes}
    assert set(by_channel) == {"broken", "hook"}
    assert by_channel["hook"].outcome == Outcome.DELIVERED
    assert by_channel["broken"].outcome in (Outcome.DELIVERED, Outcome.FAILED)
