"""The manifests a backtest reads: files, directories (every *.yaml / *.yml / *.json in
them, sorted) or standard input, each possibly holding several YAML documents."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from watchkeeper.api.escalationpolicy import EscalationPolicySpec
from watchkeeper.api.notificationchannel import NotificationChannelSpec
from watchkeeper.engine.escalation import Chain

SUFFIXES = (".yaml", ".yml", ".json")
REPLAYED = ("AlertPolicy", "ScalingPolicy")


class ManifestError(ValueError):
    """A manifest cannot be read or parsed (the message says which and why)."""


def documents(sources: Iterable[str]) -> list[dict[str, Any]]:
    """Every mapping document of every source, in order ('-' is standard input)."""
    found: list[dict[str, Any]] = []
    for source in sources:
        for name, text in _texts(source):
            try:
                loaded = list(yaml.safe_load_all(text))
            except yaml.YAMLError as error:
                raise ManifestError(f"{name}: not YAML: {error}") from None
            for doc in loaded:
                if isinstance(doc, Mapping) and doc.get("kind") == "List":
                    found += [dict(i) for i in doc.get("items") or [] if isinstance(i, Mapping)]
                elif isinstance(doc, Mapping):
                    found.append(dict(doc))
    return found


def _texts(source: str) -> list[tuple[str, str]]:
    if source == "-":
        return [("<stdin>", sys.stdin.read())]
    path = Path(source)
    try:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES)
            return [(str(p), p.read_text()) for p in files]
        return [(source, path.read_text())]
    except OSError as error:
        raise ManifestError(f"{source}: {error.strerror or error}") from None


def namespace_of(doc: Mapping[str, Any], default: str) -> str:
    return str((doc.get("metadata") or {}).get("namespace") or default)


def name_of(doc: Mapping[str, Any]) -> str:
    return str((doc.get("metadata") or {}).get("name") or "unnamed")


@dataclass
class Bundle:
    """The documents of one backtest, by kind; channels and escalation policies by
    (namespace, name)."""

    policies: list[dict[str, Any]] = field(default_factory=list)
    channels: dict[tuple[str, str], NotificationChannelSpec] = field(default_factory=dict)
    chains: dict[tuple[str, str], Chain] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, docs: Iterable[Mapping[str, Any]], namespace: str) -> Bundle:
        bundle = cls()
        for doc in docs:
            kind, key = doc.get("kind"), (namespace_of(doc, namespace), name_of(doc))
            spec = dict(doc.get("spec") or {})
            try:
                if kind in REPLAYED:
                    bundle.policies.append(dict(doc))
                elif kind == "NotificationChannel":
                    bundle.channels[key] = NotificationChannelSpec.model_validate(spec)
                elif kind == "EscalationPolicy":
                    bundle.chains[key] = Chain.of(EscalationPolicySpec.model_validate(spec))
                else:
                    bundle.ignored.append(f"{kind} {key[1]}")
            except ValidationError as error:
                raise ManifestError(
                    f"{kind} {key[1]}: invalid spec: {first_problem(error)}"
                ) from None
        return bundle


def first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(p) for p in problem["loc"])
    return f"{where}: {problem['msg']}" if where else str(problem["msg"])
