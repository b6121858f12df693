"""Silences from the watch cache, parsed once per generation, for the evaluation of every
AlertPolicy: no API call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import SILENCE
from watchkeeper.api.silence import SilenceSpec
from watchkeeper.api.timestamps import parse_time
from watchkeeper.engine.silences import Silence
from watchkeeper.runtime.objects import ObjectCache


class SilenceBook:
    """Every valid Silence, parsed once per (uid, generation)."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str], tuple[tuple[str, Any], Silence | None]] = {}

    def parsed(self, body: Mapping[str, Any]) -> Silence | None:
        """The Silence, or None when its spec is invalid (its Ready condition says why)."""
        metadata = body["metadata"]
        key = (str(metadata["namespace"]), str(metadata["name"]))
        version = (str(metadata.get("uid")), metadata.get("generation"))
        cached = self._parsed.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            spec = SilenceSpec.model_validate(dict(body.get("spec") or {}))
            created = parse_time(str(metadata["creationTimestamp"]))
            silence: Silence | None = Silence.of(key[1], spec, created)
        except (ValidationError, KeyError, ValueError):
            silence = None
        self._parsed[key] = (version, silence)
        return silence

    def in_namespace(self, objects: ObjectCache, namespace: str) -> list[Silence]:
        """The valid Silences of a namespace, whatever their state."""
        bodies = (b for b in objects.all(SILENCE) if b["metadata"]["namespace"] == namespace)
        found = (self.parsed(b) for b in bodies)
        return [s for s in found if s is not None]
