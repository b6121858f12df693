"""Silences, InhibitRules and TimeIntervals from the watch cache, parsed once per (uid,
generation), for the evaluation of every AlertPolicy: no API call. An invalid one is left
out (its Ready condition says why)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from watchkeeper.api import INHIBIT_RULE, SILENCE, TIME_INTERVAL, KindDefinition
from watchkeeper.api.inhibitrule import InhibitRuleSpec
from watchkeeper.api.silence import SilenceSpec
from watchkeeper.api.timeinterval import TimeIntervalSpec
from watchkeeper.api.timestamps import parse_time
from watchkeeper.engine.inhibition import InhibitRule
from watchkeeper.engine.silences import Silence
from watchkeeper.engine.timeintervals import TimeInterval
from watchkeeper.runtime.objects import ObjectCache

T = TypeVar("T")
Body = Mapping[str, Any]


class ParsedObjects(Generic[T]):
    """Every valid object of one kind, parsed once per (uid, generation)."""

    def __init__(self, kind: KindDefinition, parse: Callable[[Body], T]) -> None:
        self.kind = kind
        self._parse = parse
        self._parsed: dict[tuple[str, str], tuple[tuple[str, Any], T | None]] = {}

    def parsed(self, body: Body) -> T | None:
        """The object, or None when its spec is invalid."""
        metadata = body["metadata"]
        key = (str(metadata["namespace"]), str(metadata["name"]))
        version = (str(metadata.get("uid")), metadata.get("generation"))
        cached = self._parsed.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            found: T | None = self._parse(body)
        except (ValidationError, KeyError, ValueError):
            found = None
        self._parsed[key] = (version, found)
        return found

    def in_namespace(self, objects: ObjectCache, namespace: str) -> list[T]:
        """The valid objects of a namespace."""
        found = (self.parsed(b) for b in objects.in_namespace(self.kind, namespace))
        return [item for item in found if item is not None]


def _silence(body: Body) -> Silence:
    spec = SilenceSpec.model_validate(dict(body.get("spec") or {}))
    created = parse_time(str(body["metadata"]["creationTimestamp"]))
    return Silence.of(str(body["metadata"]["name"]), spec, created)


def _inhibit_rule(body: Body) -> InhibitRule:
    spec = InhibitRuleSpec.model_validate(dict(body.get("spec") or {}))
    return InhibitRule.of(str(body["metadata"]["name"]), spec)


def silence_objects() -> ParsedObjects[Silence]:
    return ParsedObjects(SILENCE, _silence)


def inhibit_rule_objects() -> ParsedObjects[InhibitRule]:
    return ParsedObjects(INHIBIT_RULE, _inhibit_rule)


def _time_interval(body: Body) -> TimeInterval:
    spec = TimeIntervalSpec.model_validate(dict(body.get("spec") or {}))
    return TimeInterval.of(str(body["metadata"]["name"]), spec)


def time_interval_objects() -> ParsedObjects[TimeInterval]:
    return ParsedObjects(TIME_INTERVAL, _time_interval)
