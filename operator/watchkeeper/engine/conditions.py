"""Conditions as Kubernetes expects them: computed from facts, merged so that
lastTransitionTime only moves when the status really changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watchkeeper.api.common import Condition, ConditionStatus, MissingReference
from watchkeeper.api.timestamps import format_time

READY = "Ready"


def rfc3339(moment: datetime) -> str:
    """A condition's time as Kubernetes writes metav1.Time: whole seconds."""
    return format_time(moment.replace(microsecond=0))


def readiness(
    invalid_spec: str | None, missing: Sequence[MissingReference]
) -> tuple[ConditionStatus, str, str]:
    """Status, reason and message of the Ready condition."""
    if invalid_spec is not None:
        return ConditionStatus.FALSE, "InvalidSpec", invalid_spec
    if missing:
        return ConditionStatus.FALSE, missing[0].reason, "; ".join(m.message for m in missing)
    return ConditionStatus.TRUE, "Valid", "The spec is valid and everything it refers to exists."


def merge_condition(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """The conditions with `type_` set; its lastTransitionTime kept while status holds."""
    previous = next((c for c in conditions if c.type == type_), None)
    if previous is not None and (
        previous.status,
        previous.reason,
        previous.message,
        previous.observed_generation,
    ) == (status, reason, message, generation):
        return list(conditions)  # unchanged: no new object (most evaluations)
    since = (
        previous.last_transition_time
        if previous is not None and previous.status == status
        else rfc3339(now)
    )
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=since,
    )
    others = [c for c in conditions if c.type != type_]
    return (
        [*others, updated]
        if previous is None
        else [updated if c.type == type_ else c for c in conditions]
    )
