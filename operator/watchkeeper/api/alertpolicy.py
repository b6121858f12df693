"""AlertPolicy: a PromQL query, how to compare it, severity thresholds and routing."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from itertools import pairwise
from typing import Annotated

from pydantic import Field, model_validator

from .adaptive import LIST_MAP_BY_SEVERITY, Adaptive, NearestBand
from .common import (
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
    cel,
    conditions_field,
    ready_column,
)
from .grouping import GroupingFields
from .prometheus_source import PrometheusSource
from .timeinterval import TimeWindows


class Comparison(StrEnum):
    GREATER_THAN = "GreaterThan"
    GREATER_OR_EQUAL = "GreaterOrEqual"
    LESS_THAN = "LessThan"
    LESS_OR_EQUAL = "LessOrEqual"
    EQUAL = "Equal"
    NOT_EQUAL = "NotEqual"
    ANY = "Any"
    """Every series the query returns is an alert at the one threshold's severity (PromQL
    that filters by itself: `up == 0`, `absent(...)`, `a unless b`)."""

    @property
    def ascending(self) -> bool | None:
        """True when higher values are worse, False when lower are, None if undirected."""
        if self in (Comparison.GREATER_THAN, Comparison.GREATER_OR_EQUAL):
            return True
        if self in (Comparison.LESS_THAN, Comparison.LESS_OR_EQUAL):
            return False
        return None


class NoDataState(StrEnum):
    OK = "Ok"
    ALERTING = "Alerting"
    KEEP_STATE = "KeepState"


class ErrorState(StrEnum):
    ALERTING = "Alerting"
    KEEP_STATE = "KeepState"


_SEVERITY_RANK = "{'Warning': 0, 'Critical': 1, 'Emergency': 2}"


class Threshold(WatchkeeperModel):
    """The value at which a severity is reached."""

    severity: Severity = Field(description="Warning, Critical or Emergency.")
    value: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="The series is at this severity when `value <comparison> this`; finite. "
        "Required, except with the comparison Any, which has none.",
    )


class Routing(TimeWindows, GroupingFields):
    """Where notifications for this policy's alerts go, and when (time windows here and on
    a channel both apply); grouping here overrides the channel's defaults."""

    channels: list[ObjectName] = Field(
        default_factory=list,
        max_length=32,
        description="NotificationChannels in this namespace notified on every transition.",
    )
    escalation_policy_ref: ObjectName | None = Field(
        default=None, description="An EscalationPolicy in this namespace to walk while firing."
    )
    repeat_interval: Annotated[Duration, Between("1s", "168h")] = Field(
        default=Duration("4h"), description="Notify again this often while an alert keeps firing."
    )
    send_resolved: bool = Field(default=True, description="Notify when an alert resolves.")

    def references(self) -> list[ObjectReference]:
        """The channels, escalation policy and TimeIntervals it names."""
        refs = [ObjectReference("NotificationChannel", c) for c in self.channels]
        if self.escalation_policy_ref:
            refs.append(ObjectReference("EscalationPolicy", self.escalation_policy_ref))
        return refs + self.window_references()


_THRESHOLD_ORDER = (
    "!has(self.thresholds) || self.thresholds.all(a, self.thresholds.all(b, "
    f"{_SEVERITY_RANK}[a.severity] < {_SEVERITY_RANK}[b.severity] ? "
    "(!has(a.value) || !has(b.value) ? true : "
    "self.comparison in ['GreaterThan', 'GreaterOrEqual'] ? a.value < b.value : "
    "self.comparison in ['LessThan', 'LessOrEqual'] ? a.value > b.value : true) : true))"
)
_DEVIATION_ORDER = (
    "!has(self.adaptive) || self.adaptive.deviations.all(a, self.adaptive.deviations.all(b, "
    f"{_SEVERITY_RANK}[a.severity] < {_SEVERITY_RANK}[b.severity] ? a.value < b.value : true))"
)


_ANY_RULE = (
    "the comparison Any takes exactly one entry in thresholds, without a value; "
    "the other comparisons need a value in every entry"
)


class AlertPolicySpec(SpecModel):
    """What to watch, when it is an alert, and who hears about it."""

    exactly_one_of = (("thresholds", "adaptive"),)
    cel_rules = (
        cel(
            _THRESHOLD_ORDER,
            "thresholds must be strictly ordered in the direction of the comparison: "
            "a higher severity needs a worse value",
            ".thresholds",
        ),
        cel(
            "!has(self.thresholds) || !(self.comparison in ['Equal', 'NotEqual'])"
            " || size(self.thresholds) == 1",
            "Equal and NotEqual take exactly one entry in thresholds",
            ".thresholds",
        ),
        cel(
            "!has(self.thresholds) || (self.comparison == 'Any' ? size(self.thresholds) == 1"
            " && self.thresholds.all(t, !has(t.value)) : self.thresholds.all(t, has(t.value)))",
            _ANY_RULE,
            ".thresholds",
        ),
        cel(
            "!has(self.adaptive) || !(self.comparison in ['Equal', 'NotEqual', 'Any'])",
            "adaptive needs a directed comparison (GreaterThan, LessThan, ...)",
            ".comparison",
        ),
        cel(_DEVIATION_ORDER, "deviations must grow with severity", ".adaptive.deviations"),
    )

    query: str = Field(min_length=1, max_length=16384, description="PromQL instant query.")
    comparison: Comparison = Field(
        default=Comparison.GREATER_THAN,
        description="How each value is compared with the thresholds.",
    )
    thresholds: list[Threshold] | None = Field(
        default=None,
        min_length=1,
        max_length=3,
        description="Fixed thresholds, any subset of Warning, Critical, Emergency.",
        json_schema_extra=LIST_MAP_BY_SEVERITY,
    )
    adaptive: Adaptive | None = Field(
        default=None, description="An adaptive band instead of fixed thresholds."
    )
    for_: Annotated[Duration, Between("0s", "24h")] = Field(
        default=Duration("0s"),
        alias="for",
        description="How long a condition holds before it fires.",
    )
    keep_firing_for: Annotated[Duration, Between("0s", "24h")] = Field(
        default=Duration("0s"),
        description="How long an alert keeps firing after the condition clears.",
    )
    evaluation_interval: Annotated[Duration, Between("1s", "1h")] = Field(
        default=Duration("30s"), description="How often to query."
    )
    no_data_state: NoDataState = Field(
        default=NoDataState.OK,
        description="When the query returns no series: Ok resolves, Alerting fires, "
        "KeepState keeps every alert as it is.",
    )
    error_state: ErrorState = Field(
        default=ErrorState.KEEP_STATE,
        description="When the query fails: KeepState keeps every alert as it is, Alerting fires.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to every alert of this policy."
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Templated annotations (sandboxed Jinja2 over value, labels, threshold, "
        "severity, policy); summary and description are shown on the Alert.",
    )
    routing: Routing = Field(default_factory=Routing, description="Notification routing.")
    prometheus: PrometheusSource | None = Field(
        default=None, description="Query another Prometheus than the operator-wide one."
    )
    suspend: bool = Field(default=False, description="Stop evaluating; alerts keep their state.")

    def references(self) -> list[ObjectReference]:
        """The channels, escalation policy and TimeIntervals its routing names."""
        return self.routing.references()

    @model_validator(mode="after")
    def _check_levels(self) -> AlertPolicySpec:
        levels = self.thresholds or []
        _check_unique("thresholds", (t.severity for t in levels))
        anything = Comparison(self.comparison) == Comparison.ANY
        if levels and (
            any((t.value is None) != anything for t in levels) or (anything and len(levels) > 1)
        ):
            raise ValueError(_ANY_RULE)
        ordered = sorted(levels, key=lambda t: Severity(t.severity).rank)
        direction = Comparison(self.comparison).ascending
        if direction is None and len(levels) > 1:
            raise ValueError("Equal and NotEqual take exactly one entry in thresholds")
        if direction is not None:
            for low, high in pairwise(ordered):
                assert high.value is not None and low.value is not None
                worse = high.value > low.value if direction else high.value < low.value
                if not worse:
                    raise ValueError(
                        f"thresholds must be strictly ordered in the direction of the "
                        f"comparison: {high.severity} ({high.value}) is not worse than "
                        f"{low.severity} ({low.value})"
                    )
        if self.adaptive:
            if direction is None:
                raise ValueError("adaptive needs a directed comparison (GreaterThan, LessThan…)")
            devs = self.adaptive.deviations
            _check_unique("adaptive.deviations", (d.severity for d in devs))
            ordered_devs = sorted(devs, key=lambda d: Severity(d.severity).rank)
            if any(b.value <= a.value for a, b in pairwise(ordered_devs)):
                raise ValueError("deviations must grow with severity")
        return self


def _check_unique(field: str, severities: Iterable[str]) -> None:
    seen: set[str] = set()
    for s in severities:
        if s in seen:
            raise ValueError(f"severity {s} is listed twice in {field}")
        seen.add(s)


class LastEvaluation(WatchkeeperModel):
    """The most recent evaluation of the query."""

    time: str = Field(description="When it ran (RFC 3339).")
    duration_seconds: float = Field(description="How long the query took.")
    error: str = Field(default="", description="Prometheus's error, if the query failed.")


class AlertPolicyStatus(WatchkeeperModel):
    """What the operator observed of the policy."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    pending: int = Field(default=0, description="Alerts now pending.")
    firing: int = Field(default=0, description="Alerts now firing.")
    last_evaluation: LastEvaluation | None = Field(default=None, description="Last evaluation.")
    learning: int = Field(
        default=0, description="Series of an adaptive band still learning (cannot breach)."
    )
    nearest: NearestBand | None = Field(
        default=None,
        description="Adaptive band of the series nearest to breaching (refreshed at most once "
        "per status heartbeat).",
    )


ALERT_POLICY = KindDefinition(
    kind="AlertPolicy",
    plural="alertpolicies",
    short_names=("ap",),
    spec=AlertPolicySpec,
    status=AlertPolicyStatus,
    printer_columns=(
        ready_column(),
        PrinterColumn(name="Firing", type="integer", json_path=".status.firing"),
        PrinterColumn(name="Pending", type="integer", json_path=".status.pending"),
        PrinterColumn(name="Last Evaluation", type="date", json_path=".status.lastEvaluation.time"),
        age_column(),
    ),
)
