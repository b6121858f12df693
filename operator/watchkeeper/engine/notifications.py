"""What an alert owes its channels, as durable obligations (its outbox), and how each
delivery round settles them. Pure: now is passed in.

An obligation is written in the same status write as the transition (or escalation step,
or acknowledgement) that owes it, and removed only when it is settled: delivered,
held for the channel's summary, filtered out, refused for good, or given up after the
channel's retry budget AND a maximum age. What is owed therefore never depends on the
alert's present state: a Resolved owed before a crash is delivered after the restart even
if the series has fired again since.

Every notification is identified by (channel, event, transition time); the idempotency
key is built from the alert and the same parts, so a delivery repeated after a crash
between sending and settling carries the key the service uses to drop duplicates."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api.alert import (
    Acknowledged,
    AlertState,
    AlertStatus,
    EscalationProgress,
    NotificationEvent,
    NotificationRecord,
    Obligation,
    Outcome,
    ToldChannel,
)
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.engine.alerts import Change, Instance, Transition
from watchkeeper.engine.muting import quiet_resolution

Event = NotificationEvent
FOLLOW_UPS = frozenset({Event.SEVERITY_CHANGED, Event.RESOLVED, Event.ACKNOWLEDGED})
"""Events about an alert that go to the channels that were told of it."""
TOLD_BY = frozenset({Outcome.DELIVERED, Outcome.RATE_LIMITED, Outcome.GROUPED})
"""A channel learned of the alert when a notification was delivered, or held for the
channel's rate-limit summary (which lists it): it then gets the follow-ups, Resolved too."""
GIVE_UP_AFTER = timedelta(hours=1)
"""The maximum age of an obligation that keeps failing: after it (and the channel's
retry budget), it is given up, visibly."""


def idempotency_key(namespace: str, alert: str, event: str, transition_time: str) -> str:
    """`watchkeeper/<namespace>/<alert>/<event>/<time>`: the same transition, the same key."""
    return f"watchkeeper/{namespace}/{alert}/{event}/{transition_time}"


@dataclass(frozen=True)
class Routing:
    """The parts of AlertPolicy.spec.routing that decide notifications."""

    channels: tuple[str, ...]
    repeat_interval: timedelta
    send_resolved: bool


def routing_of(spec: AlertPolicySpec) -> Routing:
    """The routing of an AlertPolicy, as notifications need it."""
    repeat = spec.routing.repeat_interval.delta
    return Routing(tuple(spec.routing.channels), repeat, spec.routing.send_resolved)


@dataclass(frozen=True)
class Notice:
    """One notifiable moment of one alert, with what the message needs of that moment."""

    event: NotificationEvent
    at: datetime
    cycle: datetime | None
    severity: str | None = None
    previous_severity: str | None = None
    value: float | None = None
    step: int | None = None


def notice_of(transition: Transition, instance: Instance) -> Notice | None:
    """The notice of an evaluation's transition: Firing, SeverityChanged or Resolved."""
    change, since = transition.change, instance.firing_since
    severity = instance.severity.value if instance.severity else None
    at = {
        Change.FIRING: since,
        Change.SEVERITY_CHANGED: instance.severity_changed_at,
        Change.RESOLVED: instance.resolved_at,
    }.get(change)
    if at is None or since is None:
        return None
    previous = transition.previous_severity
    return Notice(
        event=NotificationEvent(change.value),
        at=at,
        cycle=since,
        severity=severity,
        previous_severity=previous.value
        if previous and change == Change.SEVERITY_CHANGED
        else None,
        value=instance.value
        if instance.value is not None and math.isfinite(instance.value)
        else None,
    )


def obligation_id(channel: str, event: str, at: str) -> str:
    return f"{channel}/{event}/{at}"


def owe(namespace: str, alert: str, notice: Notice, channels: Iterable[str]) -> list[Obligation]:
    """One obligation per channel for `notice`."""
    at = format_time(notice.at)
    return [
        Obligation(
            id=obligation_id(channel, notice.event, at),
            channel=channel,
            event=notice.event,
            transition_time=at,
            cycle=format_time(notice.cycle) if notice.cycle else None,
            key=idempotency_key(namespace, alert, notice.event, at),
            step=notice.step,
            severity=notice.severity,
            previous_severity=notice.previous_severity,
            value=notice.value,
        )
        for channel in dict.fromkeys(channels)
    ]


def targets(
    event: NotificationEvent,
    routing: Routing,
    cycle: datetime | None,
    told: Sequence[ToldChannel],
    outbox: Sequence[Obligation],
) -> list[str]:
    """The channels a transition goes to: the routed ones; for a follow-up also every
    channel told of the cycle or owed something of it (e.g. by an escalation step).
    Resolved only with sendResolved."""
    if event == Event.RESOLVED and not routing.send_resolved:
        return []
    found = list(routing.channels)
    if event in FOLLOW_UPS and cycle is not None:
        stamp = format_time(cycle)
        found += [t.channel for t in told if t.cycle == stamp]
        found += [o.channel for o in outbox if o.cycle == stamp]
    return list(dict.fromkeys(found))


def repeat_due(
    firing_since: datetime, last_repeat: datetime | None, interval: timedelta, now: datetime
) -> datetime | None:
    """The due time of a Repeat owed now, or None. Repeats fall on the grid
    firingSince + k*interval; one is owed when the grid passed the watermark (the last
    Repeat owed): exactly once per interval, whatever the display history holds."""
    if interval <= timedelta(0) or now < firing_since + interval:
        return None
    due = firing_since + int((now - firing_since) / interval) * interval
    if last_repeat is not None and due <= last_repeat:
        return None
    return due


def add(outbox: Sequence[Obligation], new: Iterable[Obligation]) -> list[Obligation]:
    """The outbox with `new` added; an obligation already owed keeps its attempts."""
    known = {o.id for o in outbox}
    result = list(outbox)
    for obligation in new:
        if obligation.id not in known:
            known.add(obligation.id)
            result.append(obligation)
    return result


def ready(outbox: Sequence[Obligation]) -> list[Obligation]:
    """The obligations to deliver now, oldest first: per channel, only those of the oldest
    transition time (a Resolved waits until its Firing is settled)."""
    ordered = sorted(outbox, key=lambda o: (parse_time(o.transition_time), o.event, o.channel))
    first: dict[str, datetime] = {}
    for o in ordered:
        first.setdefault(o.channel, parse_time(o.transition_time))
    return [o for o in ordered if parse_time(o.transition_time) == first[o.channel]]


def was_told(told: Sequence[ToldChannel], channel: str, cycle: str | None) -> bool:
    return any(t.channel == channel and t.cycle == cycle for t in told)


@dataclass(frozen=True)
class Attempt:
    """What one delivery round did with one obligation."""

    outcome: Outcome
    attempts: int = 0
    error: str = ""
    retryable: bool = False


@dataclass(frozen=True)
class Budget:
    """When a failing obligation is given up: both exhausted."""

    max_attempts: int
    max_age: timedelta = GIVE_UP_AFTER


@dataclass(frozen=True)
class Settlement:
    """The obligation still owed (None when settled) and the display record (when settled)."""

    owed: Obligation | None
    record: NotificationRecord | None

    @property
    def gave_up(self) -> bool:
        return self.record is not None and self.record.outcome == Outcome.GAVE_UP


def settle(obligation: Obligation, attempt: Attempt, budget: Budget, now: datetime) -> Settlement:
    """The obligation after a round: kept with its attempts accumulated while a retryable
    failure is within the budget or the maximum age; otherwise settled, with the total
    attempts in the record."""
    total = obligation.attempts + attempt.attempts
    first = obligation.first_attempt or format_time(now)

    def settled(outcome: Outcome, error: str) -> Settlement:
        record = NotificationRecord(
            channel=obligation.channel,
            event=obligation.event,
            transition_time=obligation.transition_time,
            time=format_time(now),
            outcome=outcome,
            attempts=total,
            error=error,
            step=obligation.step,
        )
        return Settlement(None, record)

    if attempt.outcome != Outcome.FAILED or not attempt.retryable:
        return settled(Outcome(attempt.outcome), attempt.error)
    age = now - parse_time(first)
    if total >= budget.max_attempts and age >= budget.max_age:
        return settled(
            Outcome.GAVE_UP,
            f"given up after {total} attempts over {int(age.total_seconds())}s: {attempt.error}",
        )
    kept = obligation.model_copy(
        update={
            "attempts": total,
            "first_attempt": first,
            "last_attempt": format_time(now),
            "error": attempt.error,
        }
    )
    return Settlement(kept, None)


def told_after(
    told: Sequence[ToldChannel], obligation: Obligation, outcome: Outcome
) -> list[ToldChannel]:
    """`told` with the obligation's channel added when the outcome told it of the cycle."""
    if outcome not in TOLD_BY or obligation.cycle is None:
        return list(told)
    if was_told(told, obligation.channel, obligation.cycle):
        return list(told)
    return [*told, ToldChannel(channel=obligation.channel, cycle=obligation.cycle)]


def prune_told(
    told: Sequence[ToldChannel], current: str | None, outbox: Sequence[Obligation]
) -> list[ToldChannel]:
    """Keep what follow-ups may still need: the current cycle and cycles still owed."""
    wanted = {current} | {o.cycle for o in outbox}
    return [t for t in told if t.cycle in wanted]


def append_record(
    records: Sequence[NotificationRecord], new: NotificationRecord, keep: int
) -> list[NotificationRecord]:
    """The display history with `new` replacing any record of the same notification,
    newest last, at most `keep`. Display only: nothing decides what is owed from it."""
    key = (new.channel, new.event, new.transition_time)
    kept = [r for r in records if (r.channel, r.event, r.transition_time) != key]
    return [*kept, new][-keep:]


@dataclass(frozen=True)
class Ledger:
    """What an alert is owed and was told, its repeat watermark, escalation position and
    acknowledgement: persisted in its status together with its state."""

    outbox: tuple[Obligation, ...] = ()
    notifications: tuple[NotificationRecord, ...] = ()
    told: tuple[ToldChannel, ...] = ()
    last_repeat_at: str | None = None
    escalation: EscalationProgress | None = None
    acknowledged: Acknowledged | None = None

    @classmethod
    def of(cls, status: AlertStatus) -> Ledger:
        return cls(
            tuple(status.outbox),
            tuple(status.notifications),
            tuple(status.told),
            status.last_repeat_at,
            status.escalation,
            status.acknowledged,
        )

    def to_api(self) -> dict[str, Any]:
        """Status fields (None: not set, so a server-side apply removes them)."""
        return {
            "outbox": [o.to_api() for o in self.outbox] or None,
            "notifications": [r.to_api() for r in self.notifications] or None,
            "told": [t.to_api() for t in self.told] or None,
            "lastRepeatAt": self.last_repeat_at,
            "escalation": self.escalation.to_api() if self.escalation else None,
            "acknowledged": self.acknowledged.to_api() if self.acknowledged else None,
        }

    def owing(self, new: Iterable[Obligation]) -> Ledger:
        return replace(self, outbox=tuple(add(self.outbox, new)))


def after_evaluation(
    ledger: Ledger,
    namespace: str,
    alert: str,
    instance: Instance,
    changes: Sequence[Transition],
    routing: Routing,
    now: datetime,
    muted: bool = False,
    held: frozenset[str] = frozenset(),
    asks: frozenset[str] = frozenset(),
) -> Ledger:
    """The ledger after an evaluation: the obligations of its transitions and a Repeat
    when one is due; a new firing restarts the repeat watermark, a resolution ends the
    acknowledgement.

    While the alert is `muted` (silenced or inhibited, as Alertmanager mutes it): what its
    transitions owe is written but held (the notifier delivers nothing of a muted alert),
    so a Firing that is still owed when the muting ends goes out then; no Repeat falls due
    (the watermark stays, so one is owed at the end if the grid passed it); and a
    resolution drops everything the cycle still owes and owes no Resolved: a cycle that
    ends while muted is never announced. The `held` channels (inside a mute window, or
    outside their active windows) are treated the same way, each on its own: what they are
    owed waits for the window's end, and a resolution inside it drops what the cycle
    still owes them and owes them no Resolved; except the channels that `asks` for it
    (engine.muting.quiet_resolution)."""
    new: list[Obligation] = []
    for transition in changes:
        notice = notice_of(transition, instance)
        if notice is None:
            continue
        if transition.change == Change.FIRING:
            ledger = replace(ledger, last_repeat_at=None)
        if transition.change == Change.RESOLVED:
            ledger = replace(ledger, acknowledged=None)
        channels = targets(notice.event, routing, notice.cycle, ledger.told, ledger.outbox)
        if transition.change == Change.RESOLVED and (muted or held):
            quiet = None if muted else held
            kept, channels = quiet_resolution(
                ledger.outbox, ledger.told, notice.cycle, channels, quiet, asks
            )
            ledger = replace(ledger, outbox=kept)
        new += owe(namespace, alert, notice, channels)
    since = instance.firing_since
    if instance.state == AlertState.FIRING and since is not None and not muted:
        last = parse_time(ledger.last_repeat_at) if ledger.last_repeat_at else None
        due = repeat_due(since, last, routing.repeat_interval, now)
        if due is not None:
            ledger = replace(ledger, last_repeat_at=format_time(due))
            severity = instance.severity.value if instance.severity else None
            notice = Notice(Event.REPEAT, due, since, severity)
            new += owe(namespace, alert, notice, routing.channels)
    ledger = ledger.owing(new)
    current = format_time(since) if since else None
    return replace(ledger, told=tuple(prune_told(ledger.told, current, ledger.outbox)))


def after_settlement(
    ledger: Ledger, obligation: Obligation, settlement: Settlement, keep: int
) -> Ledger:
    """The ledger with one obligation settled (or kept with its attempts)."""
    others = tuple(o for o in ledger.outbox if o.id != obligation.id)
    outbox = others if settlement.owed is None else (*others, settlement.owed)
    done = settlement.record
    if done is None:
        return replace(ledger, outbox=outbox)
    return replace(
        ledger,
        outbox=outbox,
        notifications=tuple(append_record(ledger.notifications, done, keep)),
        told=tuple(told_after(ledger.told, obligation, Outcome(done.outcome))),
    )
