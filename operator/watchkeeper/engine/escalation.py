"""The escalation schedule: which steps of an EscalationPolicy an alert runs, and when.

Step i of run L of the chain is due at firingSince + L*period + after_i. Due steps run
while the alert fires unacknowledged; each runs once per due time, so recomputing after a
restart runs a step that fell due while the operator was down exactly once. A step
skipped for minSeverity runs as soon as the alert becomes severe enough; an
acknowledgement pauses the chain until it resolves or the acknowledgement times out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from watchkeeper.api.alert import AlertState, EscalationProgress, StepRun
from watchkeeper.api.common import Severity
from watchkeeper.api.escalationpolicy import EscalationPolicySpec, ScaleAction
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.engine.alerts import Instance
from watchkeeper.engine.notifications import Ledger


@dataclass(frozen=True)
class StepPlan:
    after: timedelta
    channels: tuple[str, ...]
    min_severity: Severity | None
    scale: tuple[ScaleAction, ...]

    def applies(self, severity: Severity | None) -> bool:
        if self.min_severity is None:
            return True
        return severity is not None and severity.rank >= self.min_severity.rank


@dataclass(frozen=True)
class Chain:
    """An EscalationPolicy, parsed."""

    steps: tuple[StepPlan, ...]
    repeat: int
    period: timedelta
    ack_timeout: timedelta | None

    @classmethod
    def of(cls, spec: EscalationPolicySpec) -> Chain:
        steps = tuple(
            StepPlan(
                s.after.delta,
                tuple(s.channels),
                Severity(s.min_severity) if s.min_severity else None,
                tuple(a.scale for a in s.actions),
            )
            for s in spec.steps
        )
        timeout = spec.ack_timeout.delta if spec.ack_timeout else None
        return cls(steps, spec.repeat, spec.period(), timeout)

    def due(self, firing_since: datetime, loop: int, step: int) -> datetime:
        return firing_since + loop * self.period + self.steps[step].after


@dataclass(frozen=True)
class AlertView:
    """What the schedule needs to know about the alert."""

    state: AlertState | None
    severity: Severity | None
    firing_since: datetime | None
    severity_changed_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, instance: Instance, ledger: Ledger) -> AlertView:
        """The view of an alert's state and its ledger's acknowledgement."""
        ack = ledger.acknowledged
        return cls(
            state=instance.state,
            severity=instance.severity,
            firing_since=instance.firing_since,
            severity_changed_at=instance.severity_changed_at,
            acknowledged_at=parse_time(ack.time) if ack else None,
        )


@dataclass(frozen=True)
class Position:
    """Where the alert stands: the next step, the runs so far, steps waiting on severity."""

    started: datetime
    loop: int
    step: int
    next_at: datetime | None
    ran: tuple[tuple[int, int, datetime], ...]
    skipped: tuple[int, ...]


@dataclass(frozen=True)
class Decision:
    position: Position | None
    new_runs: tuple[tuple[int, int, datetime], ...]
    unacknowledge: bool


def advance(chain: Chain, position: Position | None, alert: AlertView, now: datetime) -> Decision:
    """The schedule at `now`: new position, the steps to run now, and whether an
    acknowledgement has timed out."""
    if alert.state != AlertState.FIRING or alert.firing_since is None:
        stopped = replace(position, next_at=None) if position else None
        return Decision(stopped, (), False)
    start = alert.firing_since
    if position is None or position.started != start:
        position = Position(start, 0, 0, chain.due(start, 0, 0), (), ())
    unacknowledge = False
    if alert.acknowledged_at is not None:
        timeout = chain.ack_timeout
        if timeout is None or now < alert.acknowledged_at + timeout:
            return Decision(position, (), False)
        unacknowledge = True

    runs: list[tuple[int, int, datetime]] = []
    still_skipped: list[int] = []
    for index in position.skipped:
        if chain.steps[index].applies(alert.severity):
            due = chain.due(start, position.loop, index)
            runs.append((position.loop, index, max(due, alert.severity_changed_at or due)))
        else:
            still_skipped.append(index)
    loop, step, next_at = position.loop, position.step, position.next_at
    while next_at is not None and next_at <= now:
        if chain.steps[step].applies(alert.severity):
            runs.append((loop, step, next_at))
        else:
            still_skipped.append(step)
        step += 1
        if step == len(chain.steps):
            if loop >= chain.repeat:
                next_at = None
                break
            loop, step, still_skipped = loop + 1, 0, []
        next_at = chain.due(start, loop, step)
    moved = Position(start, loop, step, next_at, (*position.ran, *runs), tuple(still_skipped))
    return Decision(moved, tuple(runs), unacknowledge)


def progress_text(chain: Chain, position: Position) -> str:
    """Steps passed in the current run of the chain, e.g. `2/3`."""
    passed = len(chain.steps) if position.next_at is None else position.step
    return f"{passed}/{len(chain.steps)}"


def position_of(saved: EscalationProgress | None, started: datetime | None) -> Position | None:
    """The persisted position, if it belongs to the current firing cycle."""
    if saved is None or started is None or saved.cycle_start is None:
        return None
    if datetime.fromisoformat(saved.cycle_start) != started:
        return None
    ran = tuple((r.loop, r.step, datetime.fromisoformat(r.time)) for r in saved.ran)
    next_at = datetime.fromisoformat(saved.next_step_time) if saved.next_step_time else None
    return Position(started, saved.loop, saved.step, next_at, ran, tuple(saved.skipped))


def saved_form(policy: str, chain: Chain, position: Position) -> EscalationProgress:
    """The position as the Alert's status.escalation."""
    return EscalationProgress(
        policy=policy,
        cycle_start=format_time(position.started),
        step=position.step,
        loop=position.loop,
        progress=progress_text(chain, position),
        next_step_time=format_time(position.next_at) if position.next_at else None,
        ran=[StepRun(loop=lp, step=st, time=format_time(at)) for lp, st, at in position.ran],
        skipped=list(position.skipped),
    )
