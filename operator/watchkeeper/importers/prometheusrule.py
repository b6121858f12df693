"""Prometheus alerting rules (a rule file or PrometheusRule objects) as AlertPolicies.

Each alerting rule keeps its expression (split into query and threshold where it has the
form `<query> <op> <number>`, else compared with Any), `for`, `keep_firing_for`, labels
and annotations. Go templates are translated to the operator's Jinja templates where
their meaning is clear; the others are left out and reported. Rules that differ only in
their severity label and threshold become one policy with several thresholds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import API_VERSION
from watchkeeper.api.alertpolicy import AlertPolicySpec, Comparison
from watchkeeper.api.common import Severity
from watchkeeper.importers.promql import split

SEVERITIES = {
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "critical": Severity.CRITICAL,
    "error": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "emergency": Severity.EMERGENCY,
    "disaster": Severity.EMERGENCY,
}
_TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_TRANSLATIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^\$value$", "{{ value }}"),
        (r"^\$labels\.([A-Za-z_]\w*)$", r"{{ labels.\1 }}"),
        (
            r'^printf\s+"(%[-+ #0]*\d*(?:\.\d+)?[dfeEgGs])"\s+\$value$',
            r'{{ "\1" | format(value) }}',
        ),
        (r"^\$value\s*\|\s*humanize$", "{{ value | round(2) }}"),
        (r"^\$value\s*\|\s*humanizePercentage$", "{{ (value * 100) | round(1) }}%"),
        (r"^humanizePercentage\s+\$value$", "{{ (value * 100) | round(1) }}%"),
        (r"^\$value\s*\|\s*humanizeDuration$", "{{ value | round(0) }}s"),
    )
)


@dataclass
class Converted:
    """The policies of one conversion and, per rule, what did not carry over."""

    policies: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


def rule_groups(docs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rule groups of rule files and PrometheusRule objects."""
    groups: list[Mapping[str, Any]] = []
    for doc in docs:
        body = doc.get("spec") if doc.get("kind") == "PrometheusRule" else doc
        groups += list((body or {}).get("groups") or [])
    return groups


def policy_name(alert: str) -> str:
    """`NodeFilesystemAlmostOutOfSpace` -> `node-filesystem-almost-out-of-space`."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", alert).lower()
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:200] or "imported"


def translate(text: str) -> tuple[str, list[str]]:
    """A Go-templated annotation as a Jinja one, and the parts that cannot be translated."""
    problems: list[str] = []

    def one(match: re.Match[str]) -> str:
        action = match.group(1).strip()
        for pattern, replacement in _TRANSLATIONS:
            if pattern.match(action):
                return pattern.sub(replacement, action)
        problems.append(match.group(0))
        return match.group(0)

    return _TEMPLATE.sub(one, text), problems


@dataclass
class _Rule:
    alert: str
    severity: Severity
    spec: dict[str, Any]
    threshold: float | None
    notes: list[str]

    def templated(self) -> dict[str, str]:
        """The annotations with the threshold, where they mention it, as `{{ threshold }}`."""
        number = f"{self.threshold:g}" if self.threshold is not None else ""
        return {
            k: v.replace(number, "{{ threshold }}") if number else v
            for k, v in (self.spec.get("annotations") or {}).items()
        }

    def shape(self) -> str:
        """What must be equal for rules to merge: all but severity and threshold."""
        return repr(sorted({**self.spec, "annotations": self.templated()}.items()))


def _rule(rule: Mapping[str, Any], interval: str | None) -> _Rule:
    notes: list[str] = []
    labels = {str(k): str(v) for k, v in (rule.get("labels") or {}).items()}
    raw = labels.pop("severity", "")
    severity = SEVERITIES.get(raw.lower())
    if severity is None:
        severity = Severity.CRITICAL if not raw else Severity.WARNING
        notes.append(f"severity label {raw!r} has no equal: {severity.value}")
        if raw:
            labels["severity"] = raw
    condition = split(str(rule["expr"]))
    spec: dict[str, Any] = {"query": condition.query, "comparison": condition.comparison.value}
    if condition.comparison == Comparison.ANY:
        spec["thresholds"] = [{"severity": severity.value}]
    for key, name in (("for", "for"), ("keep_firing_for", "keepFiringFor")):
        if rule.get(key):
            spec[name] = str(rule[key])
    if interval:
        spec["evaluationInterval"] = interval
    if labels:
        spec["labels"] = labels
    annotations = {}
    for key, text in (rule.get("annotations") or {}).items():
        translated, problems = translate(str(text))
        if problems:
            notes.append(f"annotation {key} left out: cannot translate {', '.join(problems)}")
        else:
            annotations[str(key)] = translated
    if annotations:
        spec["annotations"] = annotations
    return _Rule(str(rule["alert"]), severity, spec, condition.threshold, notes)


def _merge(rules: list[_Rule]) -> dict[str, Any] | None:
    """One spec with a threshold per severity, if the thresholds order as the comparison
    needs; annotations mentioning the threshold use `{{ threshold }}`."""
    if len({r.severity for r in rules}) < len(rules) or rules[0].threshold is None:
        return None
    spec = {k: v for k, v in rules[0].spec.items() if k not in ("annotations", "thresholds")}
    spec["thresholds"] = [
        {"severity": r.severity.value, "value": r.threshold}
        for r in sorted(rules, key=lambda r: r.severity.rank)
    ]
    annotations = rules[0].templated()
    if annotations:
        spec["annotations"] = annotations
    try:
        AlertPolicySpec.model_validate(spec)
    except ValidationError:
        return None
    return spec


ORDER = ("query", "comparison", "thresholds", "for", "keepFiringFor", "evaluationInterval")


def _manifest(name: str, spec: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    spec = {k: spec[k] for k in (*ORDER, *spec) if k in spec}
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": "AlertPolicy", "metadata": metadata, "spec": spec}


def convert(groups: Iterable[Mapping[str, Any]], namespace: str | None = None) -> Converted:
    """AlertPolicies for every alerting rule of `groups`."""
    result = Converted()
    by_alert: dict[str, list[_Rule]] = {}
    for group in groups:
        interval = group.get("interval")
        for rule in group.get("rules") or []:
            if "alert" not in rule:
                continue  # recording rules are Prometheus's business
            if not rule.get("expr"):
                result.refused[str(rule["alert"])] = "the rule has no expr"
                continue
            by_alert.setdefault(str(rule["alert"]), []).append(_rule(rule, interval))
    taken: set[str] = set()
    for alert, rules in by_alert.items():
        shapes = {r.shape() for r in rules}
        merged = _merge(rules) if len(rules) > 1 and len(shapes) == 1 else None
        if merged is not None or len(rules) == 1:
            entries = [(policy_name(alert), merged or _single(rules[0]), rules)]
        else:
            entries = [
                (f"{policy_name(alert)}-{r.severity.value.lower()}", _single(r), [r]) for r in rules
            ]
        for name, spec, sources in entries:
            unique = name
            while unique in taken:
                unique = f"{unique}-{len(taken)}"
            taken.add(unique)
            notes = [n for r in sources for n in r.notes]
            try:
                AlertPolicySpec.model_validate(spec)
            except ValidationError as error:
                result.refused[unique] = str(error.errors()[0]["msg"])
                continue
            result.policies.append(_manifest(unique, spec, namespace))
            if notes:
                result.notes[unique] = notes
    return result


def _single(rule: _Rule) -> dict[str, Any]:
    spec = dict(rule.spec)
    if rule.threshold is not None:
        spec["thresholds"] = [{"severity": rule.severity.value, "value": rule.threshold}]
    return spec
