"""InhibitRule: Alertmanager's inhibit rule as a namespaced object. While an Alert of the
namespace that matches the source matchers fires, the Alerts that match the target
matchers and carry the same values of the `equal` labels are muted (evaluated and shown,
nothing sent, no escalation)."""

from __future__ import annotations

from pydantic import Field

from .common import (
    Condition,
    KindDefinition,
    PrinterColumn,
    SpecModel,
    WatchkeeperModel,
    age_column,
    conditions_field,
    ready_column,
)
from .matchers import LabelName, MatcherList

INHIBITED_BY_FIELD = "inhibitedBy"
"""The Alert status field naming the firing Alerts that inhibit it."""


class InhibitRuleSpec(SpecModel):
    """Which firing alerts mute which others."""

    source_matchers: MatcherList = Field(
        min_length=1,
        max_length=16,
        description="Matchers (as in a Silence) of the alerts that inhibit while they fire.",
    )
    target_matchers: MatcherList = Field(
        min_length=1, max_length=16, description="Matchers of the alerts they mute."
    )
    equal: list[LabelName] = Field(
        default_factory=list,
        max_length=16,
        description="Labels whose values must be the same on the source and the target "
        "(a label missing on both counts as equal), e.g. [node].",
    )


class InhibitRuleStatus(WatchkeeperModel):
    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()


INHIBIT_RULE = KindDefinition(
    kind="InhibitRule",
    plural="inhibitrules",
    short_names=("wkir",),
    spec=InhibitRuleSpec,
    status=InhibitRuleStatus,
    printer_columns=(
        PrinterColumn(name="Source", type="string", json_path=".spec.sourceMatchers"),
        PrinterColumn(name="Target", type="string", json_path=".spec.targetMatchers"),
        PrinterColumn(name="Equal", type="string", json_path=".spec.equal"),
        ready_column(),
        age_column(),
    ),
)
