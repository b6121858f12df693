"""TimeInterval: a named set of recurring windows with Alertmanager's `time_intervals`
semantics (times of day, weekdays, days of month, months, years, an IANA time zone). A
NotificationChannel uses them as mute windows (nothing is sent inside) or active windows
(something is sent only inside)."""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from .common import (
    Condition,
    KindDefinition,
    ObjectName,
    ObjectReference,
    SpecModel,
    WatchkeeperModel,
    age_column,
    cel,
    conditions_field,
    ready_column,
)

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_DAY = "|".join(WEEKDAYS)
_MONTH = "|".join((*MONTHS, *(str(n) for n in range(1, 13))))
_DAY_OF_MONTH = "-?([1-9]|[12][0-9]|3[01])"


def _range_pattern(item: str) -> str:
    return f"^({item})(:({item}))?$"


def _check_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone, e.g. Europe/Berlin") from None
    return name


def _check_order(text: str, names: tuple[str, ...] = ()) -> str:
    """`start:end` must not run backwards (numbers of one sign, or names)."""
    if ":" not in text:
        return text
    low, high = text.split(":")

    def index(value: str) -> int:
        return names.index(value) if value in names else int(value)

    start, end = index(low), index(high)
    if (start > 0) == (end > 0) and start > end:
        raise ValueError(f"{text!r}: the start of a range must not be after its end")
    return text


Zone = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        json_schema_extra={
            "x-kubernetes-validations": [
                # the API server's CEL resolves the zone in Go's database: unknown -> error
                cel(
                    "timestamp('2000-01-01T00:00:00Z').getHours(self) >= 0",
                    "must be an IANA time zone, e.g. Europe/Berlin, or UTC",
                )
            ]
        },
    ),
    AfterValidator(_check_zone),
]
Weekdays = Annotated[
    str,
    Field(max_length=32, pattern=_range_pattern(_DAY)),
    AfterValidator(lambda t: _check_order(t, WEEKDAYS)),
]
DaysOfMonth = Annotated[
    str, Field(max_length=16, pattern=_range_pattern(_DAY_OF_MONTH)), AfterValidator(_check_order)
]
Months = Annotated[
    str,
    Field(max_length=32, pattern=_range_pattern(_MONTH)),
    AfterValidator(lambda t: _check_order(t, ("", *MONTHS))),
]
Years = Annotated[
    str, Field(max_length=16, pattern=_range_pattern("[0-9]{4}")), AfterValidator(_check_order)
]


class TimeRange(WatchkeeperModel):
    """A time of day range: start inclusive, end exclusive."""

    cel_rules = (cel("self.startTime < self.endTime", "startTime must be before endTime"),)

    start_time: str = Field(
        max_length=5, pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM."
    )
    end_time: str = Field(
        max_length=5,
        pattern="^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description="HH:MM, up to 24:00.",
    )

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.start_time >= self.end_time:
            raise ValueError("startTime must be before endTime")
        return self


class Period(WatchkeeperModel):
    """One window: every field set must hold (an empty field means any)."""

    times: list[TimeRange] = Field(default_factory=list, max_length=16, description="Times.")
    weekdays: list[Weekdays] = Field(
        default_factory=list, max_length=7, description="e.g. monday:friday, saturday."
    )
    days_of_month: list[DaysOfMonth] = Field(
        default_factory=list,
        max_length=31,
        description="e.g. 1:7, or -1 for the last day of the month.",
    )
    months: list[Months] = Field(
        default_factory=list, max_length=12, description="e.g. january:march, or 1:3."
    )
    years: list[Years] = Field(default_factory=list, max_length=8, description="e.g. 2026:2027.")
    location: Zone = Field(
        default="UTC",
        description="IANA time zone the fields are read in, e.g. Europe/Berlin (default UTC).",
    )


class TimeIntervalSpec(SpecModel):
    """The windows; the interval holds when any of them does."""

    intervals: list[Period] = Field(min_length=1, max_length=16, description="The windows.")


class TimeWindows(WatchkeeperModel):
    """When notifications may go out, by TimeIntervals (Alertmanager's route fields); on a
    NotificationChannel and on an AlertPolicy's routing, both apply."""

    mute_time_intervals: list[ObjectName] = Field(
        default_factory=list,
        max_length=8,
        description="TimeIntervals in which nothing is sent (Alertmanager's "
        "mute_time_intervals); what falls due inside is sent at the end, a resolution "
        "inside is not.",
    )
    active_time_intervals: list[ObjectName] = Field(
        default_factory=list,
        max_length=8,
        description="If set, notifications are sent only inside one of these TimeIntervals.",
    )

    def window_references(self) -> list[ObjectReference]:
        """The TimeIntervals it mutes or activates by."""
        names = [*self.mute_time_intervals, *self.active_time_intervals]
        return [ObjectReference(TIME_INTERVAL_KIND, n) for n in dict.fromkeys(names)]


TIME_INTERVAL_KIND = "TimeInterval"


class TimeIntervalStatus(WatchkeeperModel):
    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()


TIME_INTERVAL = KindDefinition(
    kind=TIME_INTERVAL_KIND,
    plural="timeintervals",
    short_names=("wkti",),
    spec=TimeIntervalSpec,
    status=TimeIntervalStatus,
    printer_columns=(ready_column(), age_column()),
)
