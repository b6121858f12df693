"""No scale-down while matching alerts fire. Pure.

The runtime gives the namespace's firing Alerts with the labels silences and inhibit
rules see (`inhibition.Source`); `firing` keeps those the policy's matchers select and
`hold` turns a scale-down into no change while any of them fires. Scale-up, the bounds
and a manual override are never held. The recommendations go on being recorded, so once
the alerts resolve the stabilization window and the rate limits decide as usual."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from watchkeeper.api.common import ConditionStatus
from watchkeeper.api.matchers import Matcher

from .inhibition import Source
from .scaling_state import SCALE_DOWN_HELD, SCALING_LIMITED, Draft

NAMED = 5
"""Alerts named in a message; more are counted."""


@lru_cache(maxsize=256)
def _parsed(matchers: tuple[str, ...]) -> tuple[Matcher, ...]:
    return tuple(Matcher.parse(m) for m in matchers)


def firing(matchers: Sequence[str], alerts: Sequence[Source]) -> tuple[str, ...]:
    """The names of the firing alerts whose labels satisfy every matcher, sorted."""
    parsed = _parsed(tuple(matchers))
    found = (a.name for a in alerts if all(m.matches(dict(a.labels)) for m in parsed))
    return tuple(sorted(found))


def held(current: int, target: int, alerts: Sequence[str]) -> str | None:
    """Why the change from `current` to `target` is not made, or None when it is not a
    scale-down or no alert holds it."""
    if target >= current or not alerts:
        return None
    names = ", ".join(alerts[:NAMED])
    if len(alerts) > NAMED:
        names += f" and {len(alerts) - NAMED} more"
    subject = f"Alert {names} fires" if len(alerts) == 1 else f"Alerts {names} fire"
    return f"scale-down held while {subject}: {current} → {target} not applied"


def hold(draft: Draft, current: int, target: int, alerts: Sequence[str]) -> int:
    """The replicas to set once the hold is applied, with the ScalingLimited condition
    that explains a hold."""
    message = held(current, target, alerts)
    if message is None:
        return target
    draft.condition(SCALING_LIMITED, ConditionStatus.TRUE, SCALE_DOWN_HELD, message)
    return current
