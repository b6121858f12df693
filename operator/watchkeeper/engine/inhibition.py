"""Inhibition with Alertmanager's semantics. Pure.

A target alert is inhibited by a rule when it matches the rule's target matchers and some
firing alert (the source) matches the source matchers and has the same values of the
`equal` labels (missing counts as the empty string). An alert that matches both sides of
a rule is never inhibited by a source that also matches both sides, so such alerts never
mute one another (Alertmanager's two-sided exclusion). Sources are all firing alerts,
whether or not they are themselves muted: the result does not depend on the order of
evaluation, and a cycle (A mutes B, B mutes A, by two rules) mutes both while both fire,
as in Alertmanager."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from watchkeeper.api.inhibitrule import InhibitRuleSpec
from watchkeeper.api.matchers import Matcher


def _all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(dict(labels)) for m in matchers)


@dataclass(frozen=True)
class InhibitRule:
    """A rule's spec, parsed once."""

    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def of(cls, name: str, spec: InhibitRuleSpec) -> InhibitRule:
        return cls(
            name,
            tuple(Matcher.parse(m) for m in spec.source_matchers),
            tuple(Matcher.parse(m) for m in spec.target_matchers),
            tuple(spec.equal),
        )


@dataclass(frozen=True)
class Source:
    """A firing alert that may inhibit others: its name and its labels (as silences see
    them: with alertname and severity)."""

    name: str
    labels: Mapping[str, str]


def inhibited_by(
    rules: Iterable[InhibitRule], sources: Sequence[Source], labels: Mapping[str, str]
) -> list[str]:
    """The names of the firing alerts that inhibit an alert with these labels, sorted."""
    found: set[str] = set()
    for rule in rules:
        if not _all(rule.target, labels):
            continue
        two_sided = _all(rule.source, labels)
        for source in sources:
            if not _all(rule.source, source.labels):
                continue
            if any(labels.get(n, "") != source.labels.get(n, "") for n in rule.equal):
                continue
            if two_sided and _all(rule.target, source.labels):
                continue
            found.add(source.name)
    return sorted(found)
