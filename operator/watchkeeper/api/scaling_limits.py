"""What raises a ScalingPolicy's minReplicas or holds its scale-down besides the metrics:
escalation floors, schedules over TimeIntervals, and a hold while alerts fire (the Alerts
selected with the matchers of Silences and InhibitRules, `api/matchers.py`)."""

from __future__ import annotations

from pydantic import Field

from .common import INT32_MAX, ObjectName, WatchkeeperModel
from .matchers import MatcherList


class AlertSelector(WatchkeeperModel):
    """Alerts of the policy's namespace, selected by their labels."""

    matchers: MatcherList = Field(
        min_length=1,
        max_length=16,
        description="Matchers (as in a Silence), all of which a firing Alert's labels must "
        "satisfy; the labels include alertname, severity and its AlertPolicy's labels, e.g. "
        "[team=checkout, severity=~Critical|Emergency].",
    )


class HoldScaleDown(WatchkeeperModel):
    """When to make no scale-down (scale-up goes on)."""

    while_alerts_fire: AlertSelector = Field(
        description="No scale-down while a matching Alert of the namespace fires; the "
        "stabilization and rate limits apply again once they all resolve."
    )


class Schedule(WatchkeeperModel):
    """A minReplicas that holds while a TimeInterval is active."""

    time_intervals: list[ObjectName] = Field(
        min_length=1,
        max_length=16,
        description="TimeIntervals of this namespace; the schedule applies while any is active.",
    )
    min_replicas: int = Field(
        ge=0, le=INT32_MAX, description="minReplicas while it applies (bounded by maxReplicas)."
    )


class ScheduleStatus(WatchkeeperModel):
    """What the schedules make of minReplicas now."""

    min_replicas: int | None = Field(
        default=None,
        description="The highest minReplicas of the schedules that apply (before the bound "
        "by maxReplicas); unset when none applies.",
    )
    time_intervals: list[str] = Field(
        default_factory=list,
        description="The active TimeIntervals of the schedule that sets it.",
    )
    next_change: str | None = Field(
        default=None,
        description="When the schedule that applies or its active TimeIntervals next change "
        "(RFC 3339; searched a day ahead, unset when nothing changes within a day).",
    )


class Floor(WatchkeeperModel):
    """A temporary minReplicas raised by an escalation step while its alert fires."""

    alert: str = Field(description="The firing Alert that raised it.")
    min_replicas: int = Field(ge=0, description="The floor (bounded by maxReplicas).")
    escalation_policy: str = Field(description="The EscalationPolicy whose step raised it.")
    since: str = Field(description="When it was raised (RFC 3339).")
