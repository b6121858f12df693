"""Label matchers as Alertmanager writes them: `name=value`, `name!=value`, `name=~regex`,
`name!~regex`. A regex is anchored at both ends (`^(?:regex)$`) and has RE2's syntax, as in
Alertmanager and in the API server's CEL, which both use Go's RE2: the operator compiles it
with RE2 too (`google-re2`), so matching takes time linear in the label's length whatever
the pattern (no backtracking on user input)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import re2
from pydantic import AfterValidator, Field

from .common import cel

LABEL_NAME_PATTERN = r"[a-zA-Z_][a-zA-Z0-9_]*"
MATCHER_PATTERN = rf"^{LABEL_NAME_PATTERN}(=|!=|=~|!~)"
_MATCHER_RE = re.compile(rf"^({LABEL_NAME_PATTERN})(=~|!~|!=|=)(.*)$", re.DOTALL)
MAX_MATCHER_LENGTH = 1024
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # an invalid pattern is the user's, reported to them, not logged


class MatchType(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"

    @property
    def regex(self) -> bool:
        return self in (MatchType.REGEX, MatchType.NOT_REGEX)

    @property
    def negative(self) -> bool:
        return self in (MatchType.NOT_EQUAL, MatchType.NOT_REGEX)


@dataclass(frozen=True)
class Matcher:
    """One parsed matcher; `matches` applies Alertmanager's semantics (a missing label is
    the empty string)."""

    name: str
    type: MatchType
    value: str
    _compiled: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER_RE.match(text)
        if found is None:
            raise ValueError(
                f"{text!r} is not a matcher: write label=value, label!=value, "
                "label=~regex or label!~regex"
            )
        name, operator, value = found.groups()
        kind = MatchType(operator)
        compiled = None
        if kind.regex:
            try:
                compiled = re2.compile(f"^(?:{value})$", _OPTIONS)
            except re2.error as error:
                raise ValueError(f"{text!r}: invalid regular expression: {error}") from None
        return cls(name, kind, value, compiled)

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self._compiled is not None:
            hit = self._compiled.fullmatch(value) is not None
        else:
            hit = value == self.value
        return hit != self.type.negative

    def __str__(self) -> str:
        return f"{self.name}{self.type.value}{self.value}"


def _check(text: str) -> str:
    Matcher.parse(text)
    return text


_IS_REGEX = f"self.matches('^{LABEL_NAME_PATTERN}[=!]~')"
_REGEX_OF = "'^(?:' + self.substring(self.indexOf('~') + 1) + ')$'"
LabelName = Annotated[str, Field(min_length=1, max_length=128, pattern=f"^{LABEL_NAME_PATTERN}$")]
"""A Prometheus label name."""

MatcherText = Annotated[
    str,
    Field(
        min_length=2,
        max_length=MAX_MATCHER_LENGTH,
        pattern=MATCHER_PATTERN,
        json_schema_extra={
            "x-kubernetes-validations": [
                # an invalid regex makes matches() fail, and the failure rejects the object
                cel(
                    f"!{_IS_REGEX} || size(string(''.matches({_REGEX_OF}))) > 0",
                    "the regular expression after =~ or !~ must be valid (RE2 syntax)",
                )
            ]
        },
    ),
    AfterValidator(_check),
]
"""A matcher as written, e.g. `service=checkout` or `severity=~Critical|Emergency`."""


def matches_empty(matcher: Matcher) -> bool:
    """Whether the matcher matches an alert that lacks its label: a list of such matchers
    would match every alert."""
    return matcher.matches({})


EMPTY_MATCH_RULE = (
    "self.exists(m, "
    f"(m.matches('^{LABEL_NAME_PATTERN}=[^~]')) || "
    f"(m.matches('^{LABEL_NAME_PATTERN}!=$')) || "
    f"(m.matches('^{LABEL_NAME_PATTERN}=~') && "
    "!''.matches('^(?:' + m.substring(m.indexOf('~') + 1) + ')$')) || "
    f"(m.matches('^{LABEL_NAME_PATTERN}!~') && "
    "''.matches('^(?:' + m.substring(m.indexOf('~') + 1) + ')$')))"
)
EMPTY_MATCH_MESSAGE = (
    "at least one matcher must not match the empty string, or the silence would mute "
    "every alert (e.g. service=checkout, not service=~.*)"
)


def _not_everything(matchers: list[str]) -> list[str]:
    if all(matches_empty(Matcher.parse(m)) for m in matchers):
        raise ValueError(EMPTY_MATCH_MESSAGE)
    return matchers


MatcherList = Annotated[
    list[MatcherText],
    AfterValidator(_not_everything),
    Field(
        json_schema_extra={"x-kubernetes-validations": [cel(EMPTY_MATCH_RULE, EMPTY_MATCH_MESSAGE)]}
    ),
]
"""Matchers that must all hold; CEL rejects a list that would match every alert."""
