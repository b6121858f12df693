"""Replaying a ScalingPolicy over history with the operator's own engine.

At each instant the replay builds the Observation runtime/scaling.py builds from a live
evaluation (the target's replicas, each metric's reading, the forecasts, the cost query's
answer, which history gives for the replicas that ran then) and runs the same
engine.scaling_policy.evaluate and conclude. The target is taken to follow the policy
alone: its replicas are what the previous scale set (or the starting count)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from watchkeeper.api.scalingpolicy import ScalingPolicySpec, ScalingPolicyStatus
from watchkeeper.engine.scaling_metrics import Forecast, Reading
from watchkeeper.engine.scaling_policy import Observation, conclude, evaluate
from watchkeeper.engine.scaling_state import resume


@dataclass(frozen=True)
class ScalingAnswer:
    """What the policy's queries returned at one instant."""

    at: datetime
    readings: Mapping[str, Reading]
    forecasts: Mapping[str, Forecast] = field(default_factory=dict)
    cost: Reading | None = None  # spec.cost.query's answer


@dataclass(frozen=True)
class ScaleEvent:
    """One change of the target's replicas."""

    at: datetime
    before: int
    after: int
    reason: str


@dataclass(frozen=True)
class Note:
    """An Event the operator would have posted (other than the rescale itself)."""

    at: datetime
    type: str
    reason: str
    message: str


@dataclass
class ScalingReplay:
    """Everything a scaling replay saw and decided."""

    timeline: list[tuple[datetime, int]] = field(default_factory=list)
    events: list[ScaleEvent] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    failed: list[tuple[datetime, str, str]] = field(default_factory=list)


def replay_scaling(
    spec: ScalingPolicySpec, answers: Iterable[ScalingAnswer], replicas: int
) -> ScalingReplay:
    """The policy evaluated at each answer's instant, starting at `replicas`."""
    replay = ScalingReplay()
    status: ScalingPolicyStatus | None = None
    current = replicas
    for answer in answers:
        at = answer.at
        previous = status or resume(ScalingPolicyStatus(), at)
        seen = Observation(
            at,
            None,
            current,
            readings=answer.readings,
            forecasts=answer.forecasts,
            cost=answer.cost,
        )
        plan = evaluate(spec, previous, seen)
        outcome = conclude(spec, previous, plan, None, at)
        status = outcome.status
        if plan.action is not None:
            action = plan.action
            replay.events.append(ScaleEvent(at, action.before, action.after, action.reason))
            current = action.after
        replay.timeline.append((at, current))
        replay.notes += [
            Note(at, n.type, n.reason, n.message)
            for n in outcome.notices
            if n.reason != "SuccessfulRescale"
        ]
        replay.failed += [
            (at, name, reading.error) for name, reading in answer.readings.items() if reading.error
        ]
    return replay
