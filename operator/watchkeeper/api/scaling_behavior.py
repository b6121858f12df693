"""How fast a ScalingPolicy may move: presets and the HPA v2 `behavior` that overrides them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from .common import INT32_MAX, Between, Duration, WatchkeeperModel


class PolicyType(StrEnum):
    PODS = "Pods"
    PERCENT = "Percent"


class ScalingRule(WatchkeeperModel):
    """At most `value` pods (or percent) of change within `period`."""

    type: PolicyType = Field(description="Pods or Percent.")
    value: int = Field(gt=0, le=INT32_MAX, description="How many pods, or what percentage.")
    period: Annotated[Duration, Between("0s", "30m", low_excluded=True)] = Field(
        description="The window the limit applies to."
    )


class SelectPolicy(StrEnum):
    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


class ScalingDirection(WatchkeeperModel):
    """Behaviour in one direction; unset fields come from the preset."""

    stabilization_window: Annotated[Duration, Between("0s", "1h")] | None = Field(
        default=None,
        description="Use the most conservative recommendation from this window.",
    )
    policies: list[ScalingRule] | None = Field(
        default=None, min_length=1, max_length=10, description="Rate limits of change."
    )
    select_policy: SelectPolicy | None = Field(
        default=None,
        description="Max (the policy allowing the most change), Min (the least) or Disabled "
        "(no scaling in this direction).",
    )
    tolerance: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="No change in this direction while the usage ratio is within this of 1 "
        "(the HPA's behavior.scaleUp/scaleDown.tolerance); unset: spec.tolerance.",
    )


class Behavior(WatchkeeperModel):
    """HPA v2 style behaviour."""

    scale_up: ScalingDirection | None = Field(default=None, description="Scaling up.")
    scale_down: ScalingDirection | None = Field(default=None, description="Scaling down.")


class Preset(StrEnum):
    CONSERVATIVE = "Conservative"
    BALANCED = "Balanced"
    AGGRESSIVE = "Aggressive"
    COST_OPTIMIZED = "CostOptimized"
    PERFORMANCE = "Performance"
    HPA_LEGACY = "HPALegacy"


class Combine(StrEnum):
    MAX = "Max"
    WEIGHTED_AVERAGE = "WeightedAverage"
