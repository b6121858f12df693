"""A ScalingPolicy's hold on scale-down while alerts fire: the Alerts are selected with
the matchers of Silences and InhibitRules (`api/matchers.py`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from .common import WatchkeeperModel
from .matchers import EMPTY_MATCH_MESSAGE, Matcher, MatcherList, matches_empty


class AlertSelector(WatchkeeperModel):
    """Alerts of the policy's namespace, selected by their labels."""

    matchers: MatcherList = Field(
        min_length=1,
        max_length=16,
        description="Matchers (as in a Silence), all of which a firing Alert's labels must "
        "satisfy; the labels include alertname, severity and its AlertPolicy's labels, e.g. "
        "[team=checkout, severity=~Critical|Emergency].",
    )

    @field_validator("matchers")
    @classmethod
    def _not_everything(cls, matchers: list[str]) -> list[str]:
        if all(matches_empty(Matcher.parse(m)) for m in matchers):
            raise ValueError(EMPTY_MATCH_MESSAGE)
        return matchers


class HoldScaleDown(WatchkeeperModel):
    """When to make no scale-down (scale-up goes on)."""

    while_alerts_fire: AlertSelector = Field(
        description="No scale-down while a matching Alert of the namespace fires; the "
        "stabilization and rate limits apply again once they all resolve."
    )
