"""Label selectors, as the API server and the HPA match them: the structured form of a
workload's spec.selector (matchLabels, matchExpressions) and the string form of a /scale
subresource's status.selector (``app=web,tier in (a,b),!canary``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_TERM = re.compile(
    r"^\s*(?:(?P<absent>!)\s*(?P<akey>[^\s=!,()<>]+)"
    r"|(?P<key>[^\s=!,()<>]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s=!,()<>]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*$"
)


class SelectorError(ValueError):
    """A selector this module cannot read (e.g. the rarely used Gt/Lt operators)."""


@dataclass(frozen=True)
class Requirement:
    """One term: In, NotIn, Exists or DoesNotExist."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":  # an absent label is not in the set either
            return not present or labels[self.key] not in self.values
        raise SelectorError(f"unsupported selector operator {self.operator}")


@dataclass(frozen=True)
class LabelSelector:
    """All requirements must hold; no requirement selects everything."""

    requirements: tuple[Requirement, ...]
    text: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def from_spec(selector: Mapping[str, Any]) -> LabelSelector:
    """A metav1.LabelSelector (a workload's spec.selector)."""
    requirements = [
        Requirement(key, "In", frozenset([str(value)]))
        for key, value in sorted((selector.get("matchLabels") or {}).items())
    ]
    for expression in selector.get("matchExpressions") or []:
        operator = str(expression.get("operator"))
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise SelectorError(f"unsupported selector operator {operator}")
        values = frozenset(str(v) for v in expression.get("values") or [])
        requirements.append(Requirement(str(expression["key"]), operator, values))
    text = ",".join(_term_text(r) for r in requirements)
    return LabelSelector(tuple(requirements), text)


def parse(text: str) -> LabelSelector:
    """The string form (labels.Parse): `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
    `k notin (a,b)`, `k`, `!k`, separated by commas outside parentheses."""
    requirements = [_parse_term(term) for term in _split(text) if term.strip()]
    return LabelSelector(tuple(requirements), text)


def _split(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [*terms, current]


def _parse_term(term: str) -> Requirement:
    found = _TERM.match(term)
    if found is None:
        raise SelectorError(f"cannot read the selector term {term.strip()!r}")
    if found["absent"]:
        return Requirement(found["akey"], "DoesNotExist")
    key = found["key"]
    if found["op"]:
        operator = "NotIn" if found["op"] == "!=" else "In"
        return Requirement(key, operator, frozenset([found["value"]]))
    if found["setop"]:
        values = frozenset(v.strip() for v in found["values"].split(",") if v.strip())
        return Requirement(key, "In" if found["setop"] == "in" else "NotIn", values)
    return Requirement(key, "Exists")


def _term_text(requirement: Requirement) -> str:
    values = ",".join(sorted(requirement.values))
    if requirement.operator == "In" and len(requirement.values) == 1:
        return f"{requirement.key}={values}"
    return {
        "Exists": requirement.key,
        "DoesNotExist": f"!{requirement.key}",
        "In": f"{requirement.key} in ({values})",
        "NotIn": f"{requirement.key} notin ({values})",
    }[requirement.operator]
