"""ScalingPolicy: set a workload's replicas from PromQL metrics, the way HPA v2 does."""

from __future__ import annotations

from enum import StrEnum
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
    SpecModel,
    Timestamp,
    WatchkeeperModel,
    age_column,
    cel,
    conditions_field,
    ready_column,
)
from .prometheus_source import PrometheusSource
from .scaling_behavior import Behavior, Combine, Preset
from .scaling_budget import BUDGET_NEEDS_COST, BUDGET_RULE, Budget, BudgetStatus, Cost
from .scaling_history import HISTORY_LIMIT, Recommendation, ReplicaChange, ScaleEvent
from .scaling_limits import Floor, HoldScaleDown, Schedule, ScheduleStatus
from .scaling_rightsizing import Rightsizing, RightsizingStatus

# `version` or `group/version`: a DNS subdomain group and a DNS label version (v1, v2beta1).
_API_VERSION_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[a-z]([-a-z0-9]*[a-z0-9])?$"
)
# A kind is a DNS-1035 label once lowercased, as the API server requires of a CRD's kind.
_KIND_PATTERN = r"^[A-Za-z]([-A-Za-z0-9]*[A-Za-z0-9])?$"


class TargetRef(WatchkeeperModel):
    """The workload to scale, through its /scale subresource."""

    api_version: str = Field(
        default="apps/v1",
        max_length=317,
        pattern=_API_VERSION_PATTERN,
        description="`group/version` (e.g. apps/v1), or `version` for the core group.",
    )
    kind: str = Field(
        max_length=63, pattern=_KIND_PATTERN, description="e.g. Deployment, StatefulSet."
    )
    name: ObjectName = Field(description="Name, in the policy's namespace.")


class TargetType(StrEnum):
    VALUE = "Value"
    AVERAGE_VALUE = "AverageValue"


class MetricTarget(WatchkeeperModel):
    """The value the metric should have."""

    type: TargetType = Field(description="Value: the whole query; AverageValue: per replica.")
    value: float = Field(
        ge=0.001,
        le=1e15,
        allow_inf_nan=False,
        description="The target. Compared in thousandths, as the HPA compares quantities "
        "(a target of 0.0015 acts as 0.002).",
    )


class Metric(WatchkeeperModel):
    """One PromQL metric and its target."""

    name: str = Field(
        min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9_.-]+$", description="Name."
    )
    query: str = Field(
        min_length=1,
        max_length=16384,
        description="PromQL; the values of all series it returns are added up, as the HPA "
        "adds up an external metric's series.",
    )
    target: MetricTarget = Field(description="Target value.")
    weight: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="Its weight with combine: WeightedAverage (default 1); not with Max.",
    )


class Fallback(WatchkeeperModel):
    """What to do when the metrics keep failing."""

    failure_threshold: int = Field(
        default=3, ge=1, le=100, description="Consecutive failed evaluations before it applies."
    )
    replicas: int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Scale up to at least this many (never down: missing data never scales "
        "down); unset holds the current count.",
    )


class PredictiveMode(StrEnum):
    OFF = "Off"
    SHADOW = "Shadow"
    ACTIVE = "Active"


class Predictive(WatchkeeperModel):
    """Forecast metrics with predict_linear."""

    mode: PredictiveMode = Field(
        default=PredictiveMode.OFF,
        description="Off; Shadow (forecast and measure the forecast's error, never act on it); "
        "Active (scale on the larger of the reactive and the forecast recommendation).",
    )
    lookback: Annotated[Duration, Between("0s", "24h", low_excluded=True)] = Field(
        default=Duration("30m"), description="History the forecast fits."
    )
    horizon: Annotated[Duration, Between("0s", "24h", low_excluded=True)] = Field(
        default=Duration("5m"), description="How far ahead to forecast."
    )


class Override(WatchkeeperModel):
    """A manual replica count that wins over the metrics."""

    replicas: int = Field(
        ge=0, le=INT32_MAX, description="Replicas to hold, within [minReplicas, maxReplicas]."
    )
    reason: str = Field(min_length=1, max_length=1024, description="Why; recorded in history.")
    until: Timestamp | None = Field(
        default=None, description="RFC 3339 time the override ends; unset means until removed."
    )


_WEIGHT_MESSAGE = "metrics[].weight applies only with combine: WeightedAverage"
_LEGACY_MESSAGE = (
    "preset HPALegacy is the HPA without spec.behavior: remove behavior or pick another preset"
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
        cel(
            "!has(self.override) || "
            "(self.override.replicas >= self.minReplicas && "
            "self.override.replicas <= self.maxReplicas)",
            "override.replicas must lie within [minReplicas, maxReplicas]",
            ".override.replicas",
        ),
        cel(
            "(has(self.combine) && self.combine == 'WeightedAverage') || "
            "self.metrics.all(m, !has(m.weight))",
            _WEIGHT_MESSAGE,
            ".metrics",
        ),
        cel(
            "!has(self.behavior) || !has(self.preset) || self.preset != 'HPALegacy'",
            _LEGACY_MESSAGE,
            ".behavior",
        ),
        BUDGET_RULE,
    )

    target_ref: TargetRef = Field(description="The workload to scale.")
    min_replicas: int = Field(default=1, ge=0, le=INT32_MAX, description="Lower bound.")
    max_replicas: int = Field(ge=1, le=INT32_MAX, description="Upper bound.")
    metrics: list[Metric] = Field(
        min_length=1,
        max_length=10,
        description="Metrics; combine says how their recommendations make one.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    combine: Combine = Field(
        default=Combine.MAX,
        description="Max: the highest metric's recommendation (the HPA's rule); "
        "WeightedAverage: the metrics' usage ratios averaged by weight before rounding.",
    )
    evaluation_interval: Annotated[Duration, Between("1s", "1h")] = Field(
        default=Duration("15s"), description="How often to evaluate."
    )
    tolerance: float = Field(
        default=0.1, ge=0, lt=1, description="No change while |value/target - 1| <= this."
    )
    preset: Preset = Field(
        default=Preset.BALANCED,
        description="Default behaviour: Balanced is the HPA's default behavior; HPALegacy is "
        "the HPA without spec.behavior (its older rules); Conservative scales slower, "
        "Aggressive faster, CostOptimized up slowly and down fast, Performance up fast "
        "and down slowly (see README).",
    )
    behavior: Behavior | None = Field(
        default=None,
        description="Overrides the preset, field by field (not with HPALegacy, which is the "
        "HPA without a behavior).",
    )
    cooldown: Annotated[Duration, Between("0s", "24h")] | None = Field(
        default=None,
        description="No scale-down sooner than this after a scale event; unset: the "
        "preset's (0s HPALegacy, 1m CostOptimized, 10m Performance, else 5m).",
    )
    fallback: Fallback | None = Field(
        default=None,
        description="When metrics fail; unset holds the current count after 3 failures.",
    )
    predictive: Predictive | None = Field(default=None, description="Forecasting.")
    override: Override | None = Field(default=None, description="Manual override.")
    hold_scale_down: HoldScaleDown | None = Field(
        default=None, description="Make no scale-down while some alerts fire."
    )
    schedules: list[Schedule] = Field(
        default_factory=list,
        max_length=16,
        description="Raise minReplicas while TimeIntervals are active (the highest applies).",
    )
    cost: Cost | None = Field(default=None, description="What a replica costs.")
    budget: Budget | None = Field(
        default=None, description="What the replicas may cost: caps them (needs cost)."
    )
    prometheus: PrometheusSource | None = Field(
        default=None, description="Query another Prometheus than the operator-wide one."
    )
    rightsizing: Rightsizing | None = Field(default=None, description="Advise requests.")
    dry_run: bool = Field(default=False, description="Compute and report, never patch.")
    suspend: bool = Field(default=False, description="Stop evaluating.")

    def references(self) -> list[ObjectReference]:
        """The workload this policy scales, the TimeIntervals of its schedules and what the
        routing of its budget warnings names."""
        ref = self.target_ref
        names = dict.fromkeys(n for s in self.schedules for n in s.time_intervals)
        routing = self.budget.routing if self.budget else None
        return [
            ObjectReference(ref.kind, ref.name, ref.api_version, needs_scale=True),
            *(ObjectReference("TimeInterval", n) for n in names),
            *(routing.references() if routing else ()),
        ]

    @model_validator(mode="after")
    def _bounds(self) -> ScalingPolicySpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) must not exceed maxReplicas "
                f"({self.max_replicas})"
            )
        weighted = any(m.weight is not None for m in self.metrics)
        if weighted and self.combine != Combine.WEIGHTED_AVERAGE:
            raise ValueError(_WEIGHT_MESSAGE)
        if self.preset == Preset.HPA_LEGACY and self.behavior is not None:
            raise ValueError(_LEGACY_MESSAGE)
        if self.budget is not None and self.cost is None:
            raise ValueError(BUDGET_NEEDS_COST)
        for name, block in (("fallback", self.fallback), ("override", self.override)):
            replicas = block.replicas if block else None
            if replicas is not None and not self.min_replicas <= replicas <= self.max_replicas:
                raise ValueError(f"{name}.replicas must lie within [minReplicas, maxReplicas]")
        return self


class MetricPrediction(WatchkeeperModel):
    """The forecast of one metric and how good such forecasts have been."""

    value: float | None = Field(default=None, description="Forecast value, one horizon ahead.")
    proposed_replicas: int | None = Field(
        default=None, description="What the forecast alone asks for."
    )
    error: str = Field(default="", description="Why there is no forecast.")
    mean_absolute_percentage_error: float | None = Field(
        default=None,
        description="Mean absolute percentage error of past forecasts against what happened "
        "(the last 100 checks weigh most).",
    )
    checked_forecasts: int = Field(
        default=0, description="How many forecasts have been checked against what happened."
    )


class MetricStatus(WatchkeeperModel):
    """The latest reading of one metric."""

    name: str = Field(description="Metric name.")
    value: float | None = Field(default=None, description="Latest value.")
    target: float = Field(description="Target value.")
    proposed_replicas: int | None = Field(default=None, description="What it alone asks for.")
    error: str = Field(default="", description="Why it could not be read.")
    prediction: MetricPrediction | None = Field(
        default=None, description="The forecast, when predictive mode is on."
    )


class ScalingPolicyStatus(WatchkeeperModel):
    """Every scaling decision, explained; survives operator restarts."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    current_replicas: int | None = Field(default=None, description="Replicas now.")
    desired_replicas: int | None = Field(default=None, description="Replicas wanted.")
    metrics: list[MetricStatus] = Field(default_factory=list, description="Per metric.")
    last_scale_time: str | None = Field(default=None, description="Last change of replicas.")
    recommendations: list[Recommendation] = Field(
        default_factory=list,
        description="The recommendations that decide a stabilization window, oldest first "
        "(the operator keeps the HPA's full list of slots in memory, as the HPA does).",
    )
    scale_events: list[ReplicaChange] = Field(
        default_factory=list,
        description="The HPA's scale-event slots: changes the rate-limit policies count, "
        "and outdated ones whose slots the next changes reuse.",
    )
    history: list[ScaleEvent] = Field(
        default_factory=list,
        max_length=HISTORY_LIMIT,
        description="Recent scale events, newest last.",
    )
    consecutive_failures: int = Field(
        default=0, description="Failed evaluations in a row, counted up to the fallback threshold."
    )
    floors: list[Floor] = Field(
        default_factory=list,
        max_length=100,
        description="Temporary floors from escalation steps; the highest raises minReplicas "
        "(never above maxReplicas) until its alert resolves.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["alert"],
        },
    )
    schedule: ScheduleStatus | None = Field(
        default=None, description="What spec.schedules make of minReplicas now."
    )
    rightsizing: RightsizingStatus | None = Field(default=None, description="Request advice.")
    budget: BudgetStatus | None = Field(
        default=None, description="Spend against spec.budget (with spec.cost)."
    )

    def effective_min(self, min_replicas: int, max_replicas: int) -> int:
        """minReplicas raised by the highest floor, bounded by maxReplicas."""
        highest = max((f.min_replicas for f in self.floors), default=min_replicas)
        return min(max(min_replicas, highest), max_replicas)


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
        PrinterColumn(
            name="Budget%", type="number", json_path=".status.budget.percentUsed", priority=1
        ),
        ready_column(),
        age_column(),
    ),
)
