"""Alert: one pending, firing or recently resolved series of an AlertPolicy."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from .adaptive import BandStatus
from .common import (
    Condition,
    KindDefinition,
    PrinterColumn,
    Severity,
    SpecModel,
    WatchkeeperModel,
    age_column,
    conditions_field,
)

POLICY_LABEL = "watchkeeper.io/policy"
SEVERITY_LABEL = "watchkeeper.io/severity"
ACK_ANNOTATION = "watchkeeper.io/ack"
ESCALATION_LABEL = "watchkeeper.io/escalation"
"""Set on an Alert while its escalation chain has steps to go: the EscalationPolicy's name."""


class AlertState(StrEnum):
    PENDING = "Pending"
    FIRING = "Firing"
    RESOLVED = "Resolved"


class NotificationEvent(StrEnum):
    """What a notification is about: a transition of an alert, or a channel's own message."""

    FIRING = "Firing"
    SEVERITY_CHANGED = "SeverityChanged"
    REPEAT = "Repeat"
    RESOLVED = "Resolved"
    ACKNOWLEDGED = "Acknowledged"
    TEST = "Test"
    SUMMARY = "Summary"  # what a channel's rate limit held back, sent once a slot is free


class Outcome(StrEnum):
    """What became of one notification on one channel."""

    DELIVERED = "Delivered"
    FAILED = "Failed"
    RATE_LIMITED = "RateLimited"
    SKIPPED = "Skipped"
    GAVE_UP = "GaveUp"
    GROUPED = "Grouped"  # handed to the channel's group; its notification is the group's


class Acknowledgement(WatchkeeperModel):
    """A person taking ownership of the alert."""

    by: str = Field(min_length=1, max_length=253, description="Who acknowledges.")
    comment: str = Field(default="", max_length=4096, description="Why, or what is being done.")


class AlertSpec(SpecModel):
    """The only part of an Alert a user writes."""

    acknowledgement: Acknowledgement | None = Field(
        default=None, description="Set to acknowledge the alert; cleared when it resolves."
    )


class Acknowledged(WatchkeeperModel):
    """An acknowledgement as the operator recorded it."""

    by: str = Field(description="Who acknowledged.")
    comment: str = Field(default="", description="Their comment.")
    time: str = Field(description="When the operator saw the acknowledgement (RFC 3339).")


class StepRun(WatchkeeperModel):
    """A step that ran."""

    loop: int = Field(description="Which run of the chain (0 = the first).")
    step: int = Field(description="Index of the step.")
    time: str = Field(description="When it was due (RFC 3339); it runs once per due time.")


class EscalationProgress(WatchkeeperModel):
    """Where the alert stands in its EscalationPolicy; survives operator restarts."""

    policy: str = Field(description="The EscalationPolicy being walked.")
    cycle_start: str | None = Field(
        default=None, description="The firingSince this escalation belongs to."
    )
    step: int = Field(default=0, description="Index of the next step to run.")
    loop: int = Field(default=0, description="How many times the chain has restarted.")
    progress: str = Field(default="", description="Steps taken out of steps, e.g. 2/3.")
    next_step_time: str | None = Field(
        default=None, description="When the next step is due; unset when the chain is done."
    )
    ran: list[StepRun] = Field(
        default_factory=list, max_length=250, description="Steps run in this firing cycle."
    )
    skipped: list[int] = Field(
        default_factory=list,
        max_length=20,
        description="Steps of the current run skipped for minSeverity; they run as soon as "
        "the alert is severe enough.",
    )


class NotificationRecord(WatchkeeperModel):
    """One notification settled for this alert (display only: what is owed is the outbox)."""

    channel: str = Field(description="The NotificationChannel.")
    event: NotificationEvent = Field(description="The transition it announced.")
    transition_time: str = Field(description="When the transition happened (RFC 3339).")
    time: str = Field(description="When it was settled (RFC 3339).")
    outcome: Outcome = Field(
        description="Delivered, RateLimited (in the channel's summary), Skipped (filtered), "
        "Failed (refused for good) or GaveUp (retries and maximum age exhausted)."
    )
    attempts: int = Field(default=0, description="Requests made, over every round.")
    error: str = Field(default="", description="Why it failed, was skipped or given up.")
    step: int | None = Field(default=None, description="The escalation step that sent it.")


class Obligation(WatchkeeperModel):
    """A notification owed to one channel, written in the same status write as the
    transition (or escalation step, or acknowledgement) that owes it, and removed when it
    is settled. What is owed never depends on the alert's present state."""

    id: str = Field(max_length=512, description="channel/event/transitionTime: the identity.")
    channel: str = Field(description="The NotificationChannel.")
    event: NotificationEvent = Field(description="The transition to announce.")
    transition_time: str = Field(description="When the transition happened (RFC 3339).")
    cycle: str | None = Field(
        default=None, description="The firingSince of the firing cycle it belongs to."
    )
    key: str = Field(description="The idempotency key every delivery attempt carries.")
    step: int | None = Field(default=None, description="The escalation step that owes it.")
    severity: str | None = Field(default=None, description="The severity at the transition.")
    previous_severity: str | None = Field(
        default=None, description="The severity before a SeverityChanged."
    )
    value: float | None = Field(default=None, description="The value at the transition.")
    attempts: int = Field(default=0, description="Requests made so far, over every round.")
    first_attempt: str | None = Field(default=None, description="First delivery round.")
    last_attempt: str | None = Field(default=None, description="Latest delivery round.")
    error: str = Field(default="", description="Why the latest round failed.")


class ToldChannel(WatchkeeperModel):
    """A channel that learned of a firing cycle (delivered or listed in a summary)."""

    channel: str = Field(description="The NotificationChannel.")
    cycle: str = Field(description="The firingSince of that cycle.")


class AlertStatus(WatchkeeperModel):
    """State of the alert, kept by the operator; survives operator restarts."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    state: AlertState | None = Field(default=None, description="Pending, Firing or Resolved.")
    severity: Severity | None = Field(default=None, description="Highest severity breached.")
    value: float | None = Field(default=None, description="Latest value of the series.")
    threshold: float | None = Field(default=None, description="Threshold of that severity.")
    band: BandStatus | None = Field(
        default=None,
        description="An adaptive policy's band for this series: baseline, sigma, threshold per "
        "severity, or Learning (refreshed with the value).",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the series.")
    summary: str = Field(default="", description="Rendered summary annotation.")
    description: str = Field(default="", description="Rendered description annotation.")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="The policy's other annotations, rendered."
    )
    starts_at: str | None = Field(default=None, description="When the condition began.")
    firing_since: str | None = Field(default=None, description="When the alert fired.")
    severity_changed_at: str | None = Field(
        default=None, description="When the severity last changed while firing."
    )
    keep_firing_since: str | None = Field(
        default=None, description="When the condition cleared while keepFiringFor holds it."
    )
    resolved_at: str | None = Field(default=None, description="When the alert resolved.")
    last_evaluation_time: str | None = Field(default=None, description="Last evaluation.")
    acknowledged: Acknowledged | None = Field(default=None, description="Acknowledgement.")
    silenced_by: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="The Active Silences whose matchers select this alert: while any does, "
        "it is evaluated and shown but sends nothing and does not escalate.",
    )
    escalation: EscalationProgress | None = Field(default=None, description="Escalation.")
    inhibited_by: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="The firing Alerts (of this namespace) that inhibit this one through an "
        "InhibitRule: while any does, it sends nothing and does not escalate.",
    )
    notifications: list[NotificationRecord] = Field(
        default_factory=list,
        max_length=50,
        description="Recent settled notifications, newest last (display only).",
    )
    outbox: list[Obligation] = Field(
        default_factory=list,
        max_length=500,
        description="Notifications owed and not yet settled, keyed by id.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"]},
    )
    told: list[ToldChannel] = Field(
        default_factory=list,
        max_length=200,
        description="Channels told of a firing cycle: follow-ups (severity change, resolved, "
        "acknowledged) go to them.",
    )
    last_repeat_at: str | None = Field(
        default=None,
        description="The due time of the last Repeat owed: the next is one repeatInterval later.",
    )
    proof: str | None = Field(
        default=None,
        max_length=64,
        description="HMAC-SHA256 by the operator's key over the alert's identity, state, "
        "times, labels, lastRepeatAt and outbox: an Alert whose proof does not verify is "
        "never notified.",
    )


ALERT = KindDefinition(
    kind="Alert",
    plural="alerts",
    short_names=("wka",),
    spec=AlertSpec,
    status=AlertStatus,
    spec_required=False,
    printer_columns=(
        PrinterColumn(name="Severity", type="string", json_path=".status.severity"),
        PrinterColumn(name="State", type="string", json_path=".status.state"),
        PrinterColumn(name="Value", type="number", json_path=".status.value"),
        PrinterColumn(
            name="Policy", type="string", json_path=".metadata.labels.watchkeeper\\.io/policy"
        ),
        PrinterColumn(name="Ack", type="string", json_path=".status.acknowledged.by"),
        age_column(),
        PrinterColumn(name="Silenced", type="string", json_path=".status.silencedBy"),
        PrinterColumn(name="Inhibited", type="string", json_path=".status.inhibitedBy", priority=1),
        PrinterColumn(
            name="Escalation", type="string", json_path=".status.escalation.progress", priority=1
        ),
    ),
)
