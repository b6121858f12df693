"""ScalingPolicy: set a workload's replicas from PromQL metrics, the way HPA v2 does."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from .common import (
    Condition,
    Duration,
    KindDefinition,
    ObjectName,
    ObjectReference,
    PrinterColumn,
    SpecModel,
    WatchkeeperModel,
    age_column,
    cel,
    conditions_field,
    ready_column,
)
from .prometheus_source import PrometheusSource


class TargetRef(WatchkeeperModel):
    """The workload to scale, through its /scale subresource."""

    api_version: str = Field(
        default="apps/v1", min_length=1, max_length=253, description="e.g. apps/v1."
    )
    kind: str = Field(min_length=1, max_length=63, description="e.g. Deployment, StatefulSet.")
    name: ObjectName = Field(description="Name, in the policy's namespace.")


class TargetType(StrEnum):
    VALUE = "Value"
    AVERAGE_VALUE = "AverageValue"


class MetricTarget(WatchkeeperModel):
    """The value the metric should have."""

    type: TargetType = Field(description="Value: the whole query; AverageValue: per replica.")
    value: float = Field(gt=0, description="The target.")


class Metric(WatchkeeperModel):
    """One PromQL metric and its target."""

    name: str = Field(
        min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9_.-]+$", description="Name."
    )
    query: str = Field(min_length=1, max_length=16384, description="PromQL; one series expected.")
    target: MetricTarget = Field(description="Target value.")


class PolicyType(StrEnum):
    PODS = "Pods"
    PERCENT = "Percent"


class ScalingRule(WatchkeeperModel):
    """At most `value` pods (or percent) of change within `period`."""

    type: PolicyType = Field(description="Pods or Percent.")
    value: int = Field(gt=0, description="How many pods, or what percentage.")
    period: Duration = Field(description="The window the limit applies to (at most 30m).")


class SelectPolicy(StrEnum):
    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


class ScalingDirection(WatchkeeperModel):
    """Behaviour in one direction; unset fields come from the preset."""

    stabilization_window: Duration | None = Field(
        default=None, description="Use the most conservative recommendation from this window."
    )
    policies: list[ScalingRule] | None = Field(
        default=None, max_length=10, description="Rate limits of change."
    )
    select_policy: SelectPolicy | None = Field(
        default=None, description="Max, Min or Disabled (no scaling in this direction)."
    )


class Behavior(WatchkeeperModel):
    """HPA v2 style behaviour."""

    scale_up: ScalingDirection | None = Field(default=None, description="Scaling up.")
    scale_down: ScalingDirection | None = Field(default=None, description="Scaling down.")


class Preset(StrEnum):
    CONSERVATIVE = "Conservative"
    BALANCED = "Balanced"
    AGGRESSIVE = "Aggressive"


class Fallback(WatchkeeperModel):
    """What to do when the metrics keep failing."""

    failure_threshold: int = Field(default=3, ge=1, le=100, description="Consecutive failures.")
    replicas: int | None = Field(
        default=None, ge=0, description="Scale to this many; unset holds the current count."
    )


class PredictiveMode(StrEnum):
    OFF = "Off"
    SHADOW = "Shadow"
    ACTIVE = "Active"


class Predictive(WatchkeeperModel):
    """Forecast metrics with predict_linear."""

    mode: PredictiveMode = Field(default=PredictiveMode.OFF, description="Off, Shadow or Active.")
    lookback: Duration = Field(default="30m", description="History the forecast fits.")
    horizon: Duration = Field(default="5m", description="How far ahead to forecast.")


class Override(WatchkeeperModel):
    """A manual replica count that wins over the metrics."""

    replicas: int = Field(ge=0, description="Replicas to hold.")
    reason: str = Field(min_length=1, max_length=1024, description="Why; recorded in history.")
    until: str | None = Field(
        default=None, description="RFC 3339 time the override ends; unset means until removed."
    )


class ScalingPolicySpec(SpecModel):
    """The target, its bounds, the metrics and the behaviour."""

    cel_rules = (
        cel(
            "self.minReplicas <= self.maxReplicas",
            "minReplicas must not exceed maxReplicas",
            ".minReplicas",
        ),
        cel(
            "!has(self.fallback) || !has(self.fallback.replicas) || "
            "(self.fallback.replicas >= self.minReplicas && "
            "self.fallback.replicas <= self.maxReplicas)",
            "fallback.replicas must lie within [minReplicas, maxReplicas]",
            ".fallback.replicas",
        ),
    )

    target_ref: TargetRef = Field(description="The workload to scale.")
    min_replicas: int = Field(default=1, ge=0, description="Lower bound.")
    max_replicas: int = Field(ge=1, description="Upper bound.")
    metrics: list[Metric] = Field(
        min_length=1,
        max_length=10,
        description="Metrics; the highest recommendation wins.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    evaluation_interval: Duration = Field(default="15s", description="How often to evaluate.")
    tolerance: float = Field(
        default=0.1, ge=0, lt=1, description="No change while |value/target - 1| <= this."
    )
    preset: Preset = Field(default=Preset.BALANCED, description="Default behaviour.")
    behavior: Behavior | None = Field(default=None, description="Overrides the preset.")
    cooldown: Duration = Field(
        default="5m", description="No scale-down sooner than this after a scale event."
    )
    fallback: Fallback | None = Field(default=None, description="When metrics fail.")
    predictive: Predictive | None = Field(default=None, description="Forecasting.")
    override: Override | None = Field(default=None, description="Manual override.")
    prometheus: PrometheusSource | None = Field(
        default=None, description="Query another Prometheus than the operator-wide one."
    )
    dry_run: bool = Field(default=False, description="Compute and report, never patch.")
    suspend: bool = Field(default=False, description="Stop evaluating.")

    def references(self) -> list[ObjectReference]:
        """The workload this policy scales."""
        ref = self.target_ref
        return [ObjectReference(ref.kind, ref.name, ref.api_version, needs_scale=True)]

    @model_validator(mode="after")
    def _bounds(self) -> ScalingPolicySpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) must not exceed maxReplicas "
                f"({self.max_replicas})"
            )
        fallback = self.fallback.replicas if self.fallback else None
        if fallback is not None and not self.min_replicas <= fallback <= self.max_replicas:
            raise ValueError("fallback.replicas must lie within [minReplicas, maxReplicas]")
        return self


class MetricStatus(WatchkeeperModel):
    """The latest reading of one metric."""

    name: str = Field(description="Metric name.")
    value: float | None = Field(default=None, description="Latest value.")
    target: float = Field(description="Target value.")
    proposed_replicas: int | None = Field(default=None, description="What it alone asks for.")
    error: str = Field(default="", description="Why it could not be read.")


class Recommendation(WatchkeeperModel):
    """A replica recommendation kept for the stabilization window."""

    time: str = Field(description="When (RFC 3339).")
    replicas: int = Field(description="Recommended replicas.")


class ScaleEvent(WatchkeeperModel):
    """A change of replicas."""

    time: str = Field(description="When (RFC 3339).")
    from_: int = Field(alias="from", description="Replicas before.")
    to: int = Field(description="Replicas after.")
    reason: str = Field(description="Why.")


class ScalingPolicyStatus(WatchkeeperModel):
    """Every scaling decision, explained; survives operator restarts."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    current_replicas: int | None = Field(default=None, description="Replicas now.")
    desired_replicas: int | None = Field(default=None, description="Replicas wanted.")
    metrics: list[MetricStatus] = Field(default_factory=list, description="Per metric.")
    last_scale_time: str | None = Field(default=None, description="Last change of replicas.")
    recommendations: list[Recommendation] = Field(
        default_factory=list, description="Recommendations inside the stabilization windows."
    )
    history: list[ScaleEvent] = Field(
        default_factory=list, max_length=50, description="Recent scale events, newest last."
    )
    consecutive_failures: int = Field(default=0, description="Metric failures in a row.")


SCALING_POLICY = KindDefinition(
    kind="ScalingPolicy",
    plural="scalingpolicies",
    short_names=("sp",),
    spec=ScalingPolicySpec,
    status=ScalingPolicyStatus,
    printer_columns=(
        PrinterColumn(name="Target", type="string", json_path=".spec.targetRef.name"),
        PrinterColumn(name="Min", type="integer", json_path=".spec.minReplicas"),
        PrinterColumn(name="Max", type="integer", json_path=".spec.maxReplicas"),
        PrinterColumn(name="Current", type="integer", json_path=".status.currentReplicas"),
        PrinterColumn(name="Desired", type="integer", json_path=".status.desiredReplicas"),
        ready_column(),
        age_column(),
    ),
)
