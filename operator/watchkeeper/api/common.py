"""Shared building blocks of the API: the base model, durations, Secret references,
conditions and the metadata every kind carries (group, version, printer columns)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    JsonValue,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import core_schema

GROUP = "watchkeeper.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "watchkeeper"

# One pattern for every duration in the API: Go's units, largest first (1h30m), or one
# number of Prometheus's days, weeks or years (1d, 2w, 1y).
DURATION_PATTERN = r"^([0-9]+[ywd]|([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_HOURS = {"y": 365 * 24, "w": 7 * 24, "d": 24}
_UNIT_MILLISECONDS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1} | {
    unit: hours * 3_600_000 for unit, hours in _HOURS.items()
}
_PART_RE = re.compile(r"([0-9]+)(ms|[ywdhms])")
# The longest duration Go (and so CEL on the API server) can represent.
_LONGEST = timedelta(hours=2_562_047)

INT32_MAX = 2**31 - 1
"""The largest replica count Kubernetes stores (the /scale subresource is int32)."""


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``30s``, ``5m``, ``1h30m`` or ``1w`` into a timedelta."""
    if not text or not _DURATION_RE.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a duration: use numbers with units h, m, s, ms, largest "
            "first (30s, 5m, 1h30m), or one number of days, weeks or years (1d, 2w, 1y)"
        )
    millis = sum(int(n) * _UNIT_MILLISECONDS[unit] for n, unit in _PART_RE.findall(text))
    if millis > _LONGEST // timedelta(milliseconds=1):
        raise ValueError(f"{text!r} is longer than any duration Kubernetes can represent")
    return timedelta(milliseconds=millis)


class Duration(str):
    """A duration as written in the spec (``30s``, ``1h30m``), parsed once: ``delta`` is
    its value. It stays a string so that it round-trips as written and reads as PromQL."""

    delta: timedelta

    def __new__(cls, text: str) -> Self:
        duration = super().__new__(cls, text)
        duration.delta = parse_duration(text)
        return duration

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        text = core_schema.str_schema(pattern=DURATION_PATTERN, min_length=2, max_length=32)
        return core_schema.no_info_after_validator_function(
            cls, text, serialization=core_schema.to_string_ser_schema()
        )


LIMITS_KEY = "x-watchkeeper-limits"
"""JSON-schema key carrying a duration's limits in words; the CRD generator moves it into
the field's description (`kubectl explain`, docs/reference.md)."""


def cel_millis(field: str) -> str:
    """CEL for the milliseconds of the duration in string `field` (e.g. ``self``). CEL's
    duration() reads Go's units only: a number of days, weeks or years is multiplied out."""
    unit_ms = " : ".join(
        f"{field}.endsWith('{unit}') ? {hours * 3_600_000}" for unit, hours in _HOURS.items()
    )
    number = f"int({field}.substring(0, size({field}) - 1))"
    return (
        f"({field}.matches('[ywd]$') ? {number} * ({unit_ms} : 0)"
        f" : duration({field}).getMilliseconds())"
    )


@dataclass(frozen=True)
class Between:
    """The limits of a duration field, declared once: `Annotated[Duration, Between(...)]`
    checks them in the model and emits the same check as a CEL rule on the field."""

    low: str
    high: str
    low_excluded: bool = False

    def __post_init__(self) -> None:
        if parse_duration(self.low) > parse_duration(self.high):
            raise ValueError(f"empty range {self.low}..{self.high}")

    @property
    def words(self) -> str:
        least = "more than" if self.low_excluded else "at least"
        return f"must be {least} {self.low} and at most {self.high}"

    def contains(self, value: timedelta) -> bool:
        low = parse_duration(self.low)
        above = value > low if self.low_excluded else value >= low
        return above and value <= parse_duration(self.high)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(self._check, handler(source))

    def _check(self, value: Duration, info: ValidationInfo) -> Duration:
        if not self.contains(value.delta):
            field = to_camel(info.field_name.rstrip("_")) if info.field_name else "the duration"
            raise ValueError(f"{field} {self.words}")
        return value

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        found: dict[str, Any] = handler(schema)
        above = ">" if self.low_excluded else ">="
        value = cel_millis("self")
        low, high = (
            parse_duration(limit) // timedelta(milliseconds=1) for limit in (self.low, self.high)
        )
        rule = f"{value} {above} {low} && {value} <= {high}"
        found["x-kubernetes-validations"] = [cel(rule, self.words)]
        found[LIMITS_KEY] = self.words
        return found


def _check_timestamp(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"{text!r} is not an RFC 3339 time with a zone, e.g. 2026-11-28T23:00:00Z")
    return text


Timestamp = Annotated[
    str,
    Field(min_length=20, max_length=40, json_schema_extra={"format": "date-time"}),
    AfterValidator(_check_timestamp),
]
"""An RFC 3339 time with a zone, e.g. ``2026-11-28T23:00:00Z``."""


DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
ObjectName = Annotated[
    str,
    Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"),
]


def cel(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    """One x-kubernetes-validations entry."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


def _add_cel_rules(schema: dict[str, JsonValue], model: type) -> None:
    """json_schema_extra hook: a model's `cel_rules` and one-of groups become CEL."""
    rules = list(getattr(model, "cel_rules", ()))
    for limit, attribute in (("== 1", "exactly_one_of"), ("<= 1", "at_most_one_of")):
        for group in getattr(model, attribute, ()):
            names = [to_camel(name) for name in group]
            count = " + ".join(f"(has(self.{n}) ? 1 : 0)" for n in names)
            rules.append(cel(f"{count} {limit}", _one_of_message(limit, names)))
    if rules:
        schema["x-kubernetes-validations"] = [dict(r) for r in rules]


def _one_of_message(limit: str, names: list[str]) -> str:
    return f"set {'exactly' if limit == '== 1' else 'at most'} one of {', '.join(names)}"


class WatchkeeperModel(BaseModel):
    """Base of every API model: camelCase aliases, unknown fields rejected.

    Cross-field rules are declared once: `exactly_one_of` / `at_most_one_of` groups are
    checked here and emitted as CEL; other `cel_rules` need a twin validator in the model.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=True,
        json_schema_extra=_add_cel_rules,
    )
    cel_rules: ClassVar[tuple[dict[str, str], ...]] = ()
    exactly_one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()
    at_most_one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()

    @model_validator(mode="after")
    def _check_one_of_groups(self) -> Self:
        for limit, groups in (("== 1", self.exactly_one_of), ("<= 1", self.at_most_one_of)):
            for group in groups:
                count = sum(getattr(self, name) is not None for name in group)
                if count > 1 or (limit == "== 1" and count == 0):
                    raise ValueError(_one_of_message(limit, [to_camel(n) for n in group]))
        return self

    def to_api(self) -> dict[str, Any]:
        """The object as the Kubernetes API stores it (camelCase, unset fields left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


@dataclass(frozen=True)
class ObjectReference:
    """Another object in the same namespace, e.g. a NotificationChannel or a Deployment."""

    kind: str
    name: str
    api_version: str = API_VERSION
    needs_scale: bool = False


@dataclass(frozen=True)
class MissingReference:
    """A reference that does not resolve, with a reason word and a message for humans."""

    reason: str
    message: str


def secret_refs(model: BaseModel) -> list[SecretKeyRef]:
    """Every SecretKeyRef anywhere inside a model, in field order, without repeats."""
    found: list[SecretKeyRef] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretKeyRef):
            if value not in found:
                found.append(value)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(model)
    return found


class SpecModel(WatchkeeperModel):
    """Base of the spec of every kind."""

    def references(self) -> list[ObjectReference]:
        """Objects in the same namespace that must exist for this spec to be usable."""
        return []


def describe_validation_error(error: ValidationError) -> str:
    """A human-readable, value-free summary of a pydantic error, one `field: problem` each."""
    parts = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{path.lstrip('.') or 'spec'}: {message}" if path else message)
    return "; ".join(parts)


class Severity(StrEnum):
    """Alert severities, lowest first."""

    WARNING = "Warning"
    CRITICAL = "Critical"
    EMERGENCY = "Emergency"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class SecretKeyRef(WatchkeeperModel):
    """A key of a Secret in the same namespace as the object that refers to it."""

    name: ObjectName = Field(description="Name of the Secret, in the object's namespace.")
    key: str = Field(min_length=1, max_length=253, description="Key within the Secret's data.")


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(WatchkeeperModel):
    """A metav1.Condition: the observed state of one aspect of an object."""

    type: str = Field(description="Type of the condition, e.g. Ready.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(description="One CamelCase word saying why the status is what it is.")
    message: str = Field(default="", description="What a human should know, and do.")
    observed_generation: int | None = Field(
        default=None, description="The metadata.generation this condition was computed for."
    )
    last_transition_time: str = Field(description="When the status last changed (RFC 3339).")


CONDITIONS_SCHEMA_EXTRA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


def conditions_field() -> Any:
    return Field(
        default_factory=list,
        description="Conditions, keyed by type; Ready says whether the object is in use.",
        json_schema_extra=CONDITIONS_SCHEMA_EXTRA,
    )


class PrinterColumn(WatchkeeperModel):
    """An additionalPrinterColumn of the CRD."""

    name: str
    type: str
    json_path: str = Field(alias="jsonPath")
    description: str | None = None
    priority: int | None = None


def ready_column() -> PrinterColumn:
    return PrinterColumn(
        name="Ready",
        type="string",
        json_path='.status.conditions[?(@.type=="Ready")].status',
        description="Whether the object is valid and everything it refers to exists.",
    )


def age_column() -> PrinterColumn:
    return PrinterColumn(name="Age", type="date", json_path=".metadata.creationTimestamp")


@dataclass(frozen=True)
class KindDefinition:
    """One kind of the API: its names, its spec and status models and its columns."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    spec: type[SpecModel]
    status: type[WatchkeeperModel]
    printer_columns: tuple[PrinterColumn, ...]
    spec_required: bool = True

    @property
    def singular(self) -> str:
        return self.kind.lower()
