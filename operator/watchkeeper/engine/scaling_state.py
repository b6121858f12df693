"""A ScalingPolicy's memory is its status: this module reads and writes it.

Timestamps carry microseconds so that the edges of windows and periods survive a round
trip through the API server. The conditions' Events are derived here too: one Event when
a condition a human should hear about changes, never one per evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api.common import Condition, ConditionStatus
from watchkeeper.api.scaling_history import HISTORY_LIMIT, Recommendation, ReplicaChange, ScaleEvent
from watchkeeper.api.scalingpolicy import ScalingPolicyStatus
from watchkeeper.api.timestamps import format_time, parse_time

from .conditions import merge_condition
from .rightsizing import RIGHTSIZING_AVAILABLE
from .scaling_windows import Change, Sample, deciding

ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"
FALLBACK_ACTIVE = "FallbackActive"
TARGET_CONFLICT = "TargetConflict"
SCALE_DOWN_HELD = "ScaleDownHeld"
BUDGET_LIMITED = "BudgetLimited"
OWN_CONDITIONS = (
    ABLE_TO_SCALE,
    SCALING_ACTIVE,
    SCALING_LIMITED,
    FALLBACK_ACTIVE,
    TARGET_CONFLICT,
    RIGHTSIZING_AVAILABLE,
    BUDGET_LIMITED,
)
_BUDGET_WORRIES = {
    "BudgetTooSmall": "Warning",
    "CostUnknown": "Warning",
    "CappedByBudget": "Normal",
}
_VOLATILE_BUDGET = ("perReplicaHourly", "spendPerHour", "percentUsed")

TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE
_WORRYING_ACTIVE_REASONS = {"FailedGetExternalMetric", "InvalidQuery"}


@dataclass(frozen=True)
class Notice:
    """An Event to post on the policy."""

    type: str  # Normal or Warning
    reason: str
    message: str


class Draft:
    """The next status under construction, with the Events it has decided to post."""

    def __init__(
        self, previous: ScalingPolicyStatus, generation: int | None, now: datetime
    ) -> None:
        # Shallow: a draft only ever assigns whole fields, never edits a nested value, so
        # `previous` stays as it was (a deep copy cost a third of an idle evaluation).
        self.status = previous.model_copy()
        self.generation = generation
        self.now = now
        self.notices: list[Notice] = []

    def condition(self, type_: str, status: ConditionStatus, reason: str, message: str) -> None:
        """Set one condition; lastTransitionTime moves only when its status does."""
        self.status.conditions = merge_condition(
            self.status.conditions, type_, status, reason, message, self.generation, self.now
        )

    def drop_condition(self, type_: str) -> None:
        self.status.conditions = [c for c in self.status.conditions if c.type != type_]

    def notice(self, type_: str, reason: str, message: str) -> None:
        self.notices.append(Notice(type_, reason, message))

    def history(self, before: int, after: int, reason: str) -> None:
        """Record a change of replicas (or one that would have been); keep the newest."""
        entry = ScaleEvent(time=format_time(self.now), **{"from": before}, to=after, reason=reason)
        self.status.history = [*self.status.history, entry][-HISTORY_LIMIT:]

    def external_change(self, known: int | None, current: int) -> None:
        """Record replicas someone else changed since the last evaluation."""
        if known is not None and known != current:
            reason = "changed outside Watchkeeper"
            self.history(known, current, reason)
            self.notice("Normal", "ExternalScale", f"replicas {reason} from {known} to {current}")

    def set_samples(self, samples: Iterable[Sample]) -> None:
        self.status.recommendations = recommendations(samples, self.status.recommendations)

    def set_changes(self, changes: Iterable[Change]) -> None:
        self.status.scale_events = [
            ReplicaChange.model_construct(
                time=format_time(c.time), change=c.replicas, outdated=c.outdated
            )
            for c in changes
        ]


def recommendations(
    samples: Iterable[Sample], known: Iterable[Recommendation]
) -> list[Recommendation]:
    """The samples as status entries: a `known` entry is kept, a new one is constructed
    without validation (the engine made its values). Rebuilt at every evaluation; with
    validation, building them all anew was a third of an idle evaluation."""
    kept = {(r.replicas, r.time): r for r in known}
    return [
        kept.get((s.replicas, time))
        or Recommendation.model_construct(time=time, replicas=s.replicas)
        for s in samples
        for time in (s.text or format_time(s.time),)
    ]


def samples_of(status: ScalingPolicyStatus) -> tuple[Sample, ...]:
    return tuple(Sample(r.replicas, parse_time(r.time), r.time) for r in status.recommendations)


def changes_of(status: ScalingPolicyStatus) -> tuple[Change, ...]:
    return tuple(Change(c.change, parse_time(c.time), c.outdated) for c in status.scale_events)


def _worrying(condition: Condition) -> bool:
    if condition.type == SCALING_ACTIVE:
        return condition.reason in _WORRYING_ACTIVE_REASONS
    if condition.type in (FALLBACK_ACTIVE, TARGET_CONFLICT):
        return condition.status != FALSE
    return condition.type == ABLE_TO_SCALE and condition.status != TRUE


def transitions(before: Sequence[Condition], after: Sequence[Condition]) -> list[Notice]:
    """Events for conditions a human should hear about: a problem that appears or changes,
    a recovery, and every change of ScalingActive (suspend, override, conflict...)."""
    old = {c.type: c for c in before}
    notices = []
    for condition in after:
        if condition.type not in OWN_CONDITIONS or condition.reason == "TargetConflict":
            continue  # a TargetConflict is told by the TargetConflict condition
        previous = old.get(condition.type)
        if condition.type == BUDGET_LIMITED:  # a cap, a budget that cannot be met, and back
            if previous is None or previous.reason != condition.reason:
                kind = _BUDGET_WORRIES.get(condition.reason)
                if kind or (previous is not None and previous.reason in _BUDGET_WORRIES):
                    notices.append(Notice(kind or "Normal", condition.reason, condition.message))
            continue
        if condition.type == SCALING_LIMITED:  # told only when a hold starts
            if condition.reason == SCALE_DOWN_HELD and (
                previous is None or previous.reason != SCALE_DOWN_HELD
            ):
                notices.append(Notice("Normal", condition.reason, condition.message))
            continue
        if previous and (previous.status, previous.reason) == (condition.status, condition.reason):
            continue
        worrying = _worrying(condition)
        recovered = previous is not None and _worrying(previous) and not worrying
        changed_activity = condition.type == SCALING_ACTIVE and previous is not None
        if worrying or recovered or changed_activity:
            kind = "Warning" if worrying else "Normal"
            notices.append(Notice(kind, condition.reason, condition.message))
    return notices


def persisted(status: ScalingPolicyStatus, horizon: timedelta) -> ScalingPolicyStatus:
    """What is written of the status: of the HPA's recommendation slots (kept in memory,
    as the HPA keeps them), those that decide a window ending at the newest one, oldest
    first. `horizon`: the longest stabilization window, beyond which nothing decides."""
    samples = samples_of(status)
    newest = max((s.time for s in samples), default=None)
    recent = [s for s in samples if newest is not None and s.time >= newest - horizon]
    kept = recommendations(deciding(recent), status.recommendations)
    return status.model_copy(update={"recommendations": kept})


def significant(status: ScalingPolicyStatus, horizon: timedelta) -> dict[str, Any]:
    """The persisted status without what moves at every evaluation (metric values,
    forecasts, the time of the newest recommendation): a write is due only when this part
    changes."""
    return significant_part(persisted(status, horizon))


def significant_part(written: ScalingPolicyStatus) -> dict[str, Any]:
    """`significant` of a status that is already `persisted`."""
    data = written.model_dump(by_alias=True, mode="json", exclude={"observed_generation"})
    for metric in data["metrics"]:
        metric.pop("value", None)
        prediction = metric.pop("prediction", None) or {}
        metric["forecastReplicas"] = prediction.get("proposedReplicas")
        metric["forecastError"] = prediction.get("error")
    if data["recommendations"]:
        data["recommendations"][-1].pop("time")
    for name in _VOLATILE_BUDGET if data["budget"] else ():
        data["budget"].pop(name)
    return data


def worth_refreshing(new: ScalingPolicyStatus, written: ScalingPolicyStatus) -> bool:
    """Whether a heartbeat should write `new` (persisted) over the `written` status: only
    when it differs in more than the time of its newest recommendation, a time that
    `resume` takes to hold until now anyway. So a policy whose metrics hold still is not
    rewritten every heartbeat."""
    if new.recommendations and written.recommendations:
        newest = new.recommendations[-1].model_copy(
            update={"time": written.recommendations[-1].time}
        )
        new = new.model_copy(update={"recommendations": [*new.recommendations[:-1], newest]})
    return new != written


def resume(status: ScalingPolicyStatus, now: datetime) -> ScalingPolicyStatus:
    """The status as read back after a restart: the newest recommendation is taken to have
    held until now (its stored time is only as fresh as the last write), which can only
    lengthen a stabilization, never shorten it."""
    if not status.recommendations:
        return status
    slots = list(status.recommendations)
    index = max(range(len(slots)), key=lambda i: (parse_time(slots[i].time), i))
    slots[index] = slots[index].model_copy(update={"time": format_time(now)})
    return status.model_copy(update={"recommendations": slots})
