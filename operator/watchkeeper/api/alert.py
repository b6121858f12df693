"""Alert: one pending, firing or recently resolved series of an AlertPolicy."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

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


class AlertState(StrEnum):
    PENDING = "Pending"
    FIRING = "Firing"
    RESOLVED = "Resolved"


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
    """One notification sent (or attempted) for this alert."""

    channel: str = Field(description="The NotificationChannel.")
    event: str = Field(description="The transition: Firing, SeverityChanged, Resolved, ...")
    transition_time: str = Field(description="When the transition happened (RFC 3339).")
    time: str = Field(description="When it was delivered or last attempted (RFC 3339).")
    outcome: str = Field(description="Delivered, Failed, RateLimited or Skipped.")
    attempts: int = Field(default=0, description="HTTP/SMTP attempts made.")
    retryable: bool = Field(
        default=False, description="A Failed delivery that will be tried again."
    )
    error: str = Field(default="", description="Why it failed or was skipped.")
    step: int | None = Field(default=None, description="The escalation step that sent it.")


class AlertStatus(WatchkeeperModel):
    """State of the alert, kept by the operator; survives operator restarts."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    state: AlertState | None = Field(default=None, description="Pending, Firing or Resolved.")
    severity: Severity | None = Field(default=None, description="Highest severity breached.")
    value: float | None = Field(default=None, description="Latest value of the series.")
    threshold: float | None = Field(default=None, description="Threshold of that severity.")
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
    escalation: EscalationProgress | None = Field(default=None, description="Escalation.")
    notifications: list[NotificationRecord] = Field(
        default_factory=list, max_length=50, description="Recent notifications, newest last."
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
        PrinterColumn(
            name="Escalation", type="string", json_path=".status.escalation.progress", priority=1
        ),
    ),
)
