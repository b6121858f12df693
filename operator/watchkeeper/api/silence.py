"""Silence: mutes the notifications and escalation of the Alerts its matchers select, for a
while, as an Alertmanager silence does. The Alerts are still evaluated and shown."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from .common import (
    Between,
    Condition,
    Duration,
    KindDefinition,
    PrinterColumn,
    SpecModel,
    Timestamp,
    WatchkeeperModel,
    age_column,
    cel,
    conditions_field,
)
from .matchers import MatcherList
from .timestamps import parse_time

SILENCED_BY_FIELD = "silencedBy"
"""The Alert status field naming the Silences that mute it."""

_ORDER = (
    "!has(self.startsAt) || !has(self.endsAt) || timestamp(self.endsAt) >= timestamp(self.startsAt)"
)
_ORDER_MESSAGE = "endsAt must not be before startsAt"


class SilenceState(StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    EXPIRED = "Expired"


class SilenceSpec(SpecModel):
    """Which alerts, from when, until when, and who said so."""

    cel_rules = (cel(_ORDER, _ORDER_MESSAGE, ".endsAt"),)
    exactly_one_of = (("ends_at", "duration"),)

    matchers: MatcherList = Field(
        min_length=1,
        max_length=16,
        description="Label matchers, all of which an alert's labels must satisfy: "
        "label=value, label!=value, label=~regex, label!~regex (anchored RE2, as in "
        "Alertmanager). The labels are the Alert's labels plus alertname (the AlertPolicy) "
        "and severity. At least one must not match the empty string.",
    )
    starts_at: Timestamp | None = Field(
        default=None, description="When the silence starts (RFC 3339); default: on creation."
    )
    ends_at: Timestamp | None = Field(
        default=None, description="When it ends (RFC 3339). Set either this or duration."
    )
    duration: Annotated[Duration, Between("1s", "8760h")] | None = Field(
        default=None, description="How long it lasts from startsAt, e.g. 2h."
    )
    created_by: str = Field(min_length=1, max_length=253, description="Who silences.")
    comment: str = Field(default="", max_length=4096, description="Why.")

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        start, end = self.starts_at, self.ends_at
        if start and end and parse_time(end) < parse_time(start):
            raise ValueError(_ORDER_MESSAGE)
        return self


class SilenceStatus(WatchkeeperModel):
    """The silence as the operator sees it."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    state: SilenceState | None = Field(default=None, description="Pending, Active or Expired.")
    starts_at: str | None = Field(default=None, description="When it starts (RFC 3339).")
    ends_at: str | None = Field(default=None, description="When it ends (RFC 3339).")


SILENCE = KindDefinition(
    kind="Silence",
    plural="silences",
    short_names=("wks",),
    spec=SilenceSpec,
    status=SilenceStatus,
    printer_columns=(
        PrinterColumn(name="Matchers", type="string", json_path=".spec.matchers"),
        PrinterColumn(name="State", type="string", json_path=".status.state"),
        PrinterColumn(name="Starts", type="string", json_path=".status.startsAt"),
        PrinterColumn(name="Ends", type="string", json_path=".status.endsAt"),
        PrinterColumn(name="Created By", type="string", json_path=".spec.createdBy"),
        age_column(),
    ),
)
