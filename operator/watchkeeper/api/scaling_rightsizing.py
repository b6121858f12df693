"""Right-sizing advice on a ScalingPolicy: the percentile of its containers' CPU and memory
usage over a lookback against their requests, and the request each should have. Advice
only: the operator never edits the workload."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .common import Between, Duration, WatchkeeperModel, cel, cel_millis

_SELECTOR = 'namespace="{{ namespace }}", pod=~"{{ pods }}", container!="", container!="POD"'
DEFAULT_CPU_USAGE = f"rate(container_cpu_usage_seconds_total{{{_SELECTOR}}}[5m])"
DEFAULT_MEMORY_USAGE = f"container_memory_working_set_bytes{{{_SELECTOR}}}"
_REQUESTS = 'kube_pod_container_resource_requests{namespace="{{ namespace }}", pod=~"{{ pods }}"'
DEFAULT_CPU_REQUESTS = _REQUESTS + ', resource="cpu"}'
DEFAULT_MEMORY_REQUESTS = _REQUESTS + ', resource="memory"}'


Query = Annotated[str, Field(min_length=1, max_length=4096)]
"""A PromQL template of the advice."""


class RightsizingQueries(WatchkeeperModel):
    """PromQL returning one series per pod and container (with a `container` label), in
    cores and bytes. `{{ namespace }}` becomes the policy's namespace and `{{ pods }}` a
    regular expression matching the target's pod names."""

    cpu_usage: Query = Field(
        default=DEFAULT_CPU_USAGE, description="CPU used, in cores (cAdvisor)."
    )
    memory_usage: Query = Field(
        default=DEFAULT_MEMORY_USAGE, description="Memory used, in bytes (cAdvisor)."
    )
    cpu_requests: Query = Field(
        default=DEFAULT_CPU_REQUESTS, description="CPU requested, in cores (kube-state-metrics)."
    )
    memory_requests: Query = Field(
        default=DEFAULT_MEMORY_REQUESTS,
        description="Memory requested, in bytes (kube-state-metrics).",
    )


_RESOLUTION_MESSAGE = "resolution must not exceed lookback"


class Rightsizing(WatchkeeperModel):
    """Opt-in right-sizing advice, computed every recheckInterval (not at every evaluation)."""

    cel_rules = (
        cel(
            f"!has(self.resolution) || !has(self.lookback) || "
            f"{cel_millis('self.resolution')} <= {cel_millis('self.lookback')}",
            _RESOLUTION_MESSAGE,
            ".resolution",
        ),
    )

    lookback: Annotated[Duration, Between("1m", "90d")] = Field(
        default=Duration("7d"), description="History the percentile is taken over."
    )
    resolution: Annotated[Duration, Between("1s", "1h")] = Field(
        default=Duration("1m"), description="Step of the usage subquery over the lookback."
    )
    percentile: float = Field(
        default=0.95, gt=0, le=1, description="Quantile of usage to size for (0.95: p95)."
    )
    headroom: float = Field(
        default=0.15,
        ge=0,
        le=10,
        description="Margin on top of the percentile: recommended = usage * (1 + headroom).",
    )
    recheck_interval: Annotated[Duration, Between("1m", "7d")] = Field(
        default=Duration("1h"), description="How often the advice is computed again."
    )
    cost_per_cpu_core_hour: float | None = Field(
        default=None, ge=0, le=1e6, allow_inf_nan=False, description="Price of a core-hour."
    )
    cost_per_gib_hour: float | None = Field(
        default=None,
        ge=0,
        le=1e6,
        allow_inf_nan=False,
        alias="costPerGiBHour",
        description="Price of a GiB-hour of memory.",
    )
    queries: RightsizingQueries = Field(
        default_factory=RightsizingQueries, description="Where usage and requests come from."
    )

    @model_validator(mode="after")
    def _resolution_within_lookback(self) -> Rightsizing:
        if self.resolution.delta > self.lookback.delta:
            raise ValueError(_RESOLUTION_MESSAGE)
        return self


class ResourceAdvice(WatchkeeperModel):
    """One resource of one container: what it asks for, uses, should ask for."""

    request: float | None = Field(default=None, description="Requested now (max over pods).")
    usage: float | None = Field(
        default=None, description="The percentile of usage over the lookback (max over pods)."
    )
    recommended: float | None = Field(default=None, description="The request to set.")
    saved_per_day: float | None = Field(
        default=None,
        description="Core-hours (cpu) or GiB-hours (memory) per day the recommendation saves "
        "at the replica count; negative: it needs more.",
    )
    note: str = Field(default="", description="Why some value is missing.")


class ContainerAdvice(WatchkeeperModel):
    """The advice for one container of the target."""

    name: str = Field(description="Container name.")
    cpu: ResourceAdvice = Field(description="CPU, in cores.")
    memory: ResourceAdvice = Field(description="Memory, in bytes.")


class RightsizingStatus(WatchkeeperModel):
    """The latest right-sizing advice (never applied)."""

    computed_at: str | None = Field(default=None, description="When it was computed (RFC 3339).")
    observed_generation: int | None = Field(
        default=None, description="The policy generation it was computed for."
    )
    replicas: int | None = Field(
        default=None, description="The replica count the savings are reckoned at."
    )
    containers: list[ContainerAdvice] = Field(
        default_factory=list,
        description="Per container, by name.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    saved_core_hours_per_day: float = Field(default=0, description="Sum over containers.")
    saved_gib_hours_per_day: float = Field(
        default=0, alias="savedGiBHoursPerDay", description="Sum over containers."
    )
    saved_cost_per_day: float | None = Field(
        default=None, description="At the given prices; unset without prices."
    )
    error: str = Field(default="", description="Why the last attempt failed, if it did.")
