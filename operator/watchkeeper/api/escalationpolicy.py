"""EscalationPolicy: ordered steps that page more people until someone acknowledges."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Annotated

from pydantic import Field, model_validator

from .common import (
    INT32_MAX,
    Between,
    Condition,
    Duration,
    KindDefinition,
    ObjectName,
    ObjectReference,
    PrinterColumn,
    Severity,
    SpecModel,
    WatchkeeperModel,
    age_column,
    conditions_field,
    ready_column,
)


class ScaleAction(WatchkeeperModel):
    """Raise a ScalingPolicy's floor while the alert fires."""

    scaling_policy_ref: ObjectName = Field(description="A ScalingPolicy in this namespace.")
    min_replicas: int = Field(
        ge=1, le=INT32_MAX, description="Temporary floor, bounded by its maxReplicas."
    )


class Action(WatchkeeperModel):
    """Something done, besides notifying, when a step runs."""

    scale: ScaleAction = Field(description="Raise a ScalingPolicy's floor.")


class Step(WatchkeeperModel):
    """One step of the chain."""

    after: Annotated[Duration, Between("0s", "168h")] = Field(
        description="Delay from when the alert started firing."
    )
    channels: list[ObjectName] = Field(
        default_factory=list, max_length=32, description="NotificationChannels to notify."
    )
    min_severity: Severity | None = Field(
        default=None, description="The step only applies while the alert is at least this severe."
    )
    actions: list[Action] = Field(default_factory=list, max_length=8, description="Actions.")


class EscalationPolicySpec(SpecModel):
    """The chain of steps, how often it repeats and how long an acknowledgement lasts."""

    steps: list[Step] = Field(min_length=1, max_length=20, description="Ordered steps.")
    repeat: int = Field(
        default=0, ge=0, le=10, description="Run the chain again this many times (0 = once)."
    )
    ack_timeout: Annotated[Duration, Between("1s", "168h")] | None = Field(
        default=None,
        description="An acknowledged alert still firing after this long escalates again.",
    )
    loop_interval: Annotated[Duration, Between("1m", "168h")] | None = Field(
        default=None,
        description="With repeat: time from the start of one run of the chain to the next. "
        "Default: the last step's `after` plus the gap before it (the chain waits as long "
        "after its last step as it did before it).",
    )

    def period(self) -> timedelta:
        """Time between the starts of two runs of the chain."""
        if self.loop_interval:
            return self.loop_interval.delta
        delays = [s.after.delta for s in self.steps]
        gap = delays[-1] - delays[-2] if len(delays) > 1 else delays[-1]
        return delays[-1] + gap

    def references(self) -> list[ObjectReference]:
        """The channels and ScalingPolicies the steps use, each once."""
        refs: list[ObjectReference] = []
        for step in self.steps:
            refs += [ObjectReference("NotificationChannel", c) for c in step.channels]
            refs += [
                ObjectReference("ScalingPolicy", a.scale.scaling_policy_ref) for a in step.actions
            ]
        return list(dict.fromkeys(refs))

    @model_validator(mode="after")
    def _steps_in_order(self) -> EscalationPolicySpec:
        delays = [s.after.delta for s in self.steps]
        for i, (a, b) in enumerate(pairwise(delays), start=1):
            if b < a:
                raise ValueError(
                    f"steps[{i}].after ({self.steps[i].after}) is earlier than the step "
                    f"before it ({self.steps[i - 1].after}); list steps in time order"
                )
        if self.repeat and self.period() <= timedelta(0):
            raise ValueError(
                "loopInterval: with repeat, the chain needs a positive period; set "
                "loopInterval (the steps alone give none)"
            )
        return self


class EscalationPolicyStatus(WatchkeeperModel):
    """What the operator observed of the policy."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    escalating: int = Field(default=0, description="Alerts escalating through it now.")


ESCALATION_POLICY = KindDefinition(
    kind="EscalationPolicy",
    plural="escalationpolicies",
    short_names=("escp",),
    spec=EscalationPolicySpec,
    status=EscalationPolicyStatus,
    printer_columns=(
        ready_column(),
        PrinterColumn(name="Escalating", type="integer", json_path=".status.escalating"),
        age_column(),
    ),
)
