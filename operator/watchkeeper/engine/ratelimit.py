"""The per-channel rate limit: at most `max` messages in any window of `per`. What does
not fit is held, counted and listed, and goes out later as one summary; nothing is
dropped. The state is plain data that round-trips through the channel's status, so an
operator restart neither resets the window nor forgets what was held. Pure: now is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from watchkeeper.api.common import Severity
from watchkeeper.api.notificationchannel import RateLimit

MAX_HELD_ITEMS = 25
"""How many held notifications are remembered one by one (the rest are only counted)."""


@dataclass(frozen=True)
class Sent:
    """A message that took a slot of the window."""

    time: datetime
    key: str


@dataclass(frozen=True)
class Held:
    """A notification the limit held back, as the summary will list it."""

    key: str
    text: str
    severity: str | None = None


@dataclass(frozen=True)
class LimiterState:
    """Slots taken in the current window, and what waits for the summary."""

    recent: tuple[Sent, ...] = ()
    held: int = 0
    held_since: datetime | None = None
    held_items: tuple[Held, ...] = ()


@dataclass(frozen=True)
class Limit:
    """`max` messages per `window`."""

    max: int
    window: timedelta

    @classmethod
    def of(cls, spec: RateLimit) -> Limit:
        """A channel's `rateLimit`, as the limiter counts it."""
        return cls(spec.max, spec.per.delta)


class Verdict(StrEnum):
    SEND = "Send"
    HOLD = "Hold"
    ALREADY_HELD = "AlreadyHeld"


def _window(state: LimiterState, limit: Limit, now: datetime) -> LimiterState:
    recent = tuple(s for s in state.recent if s.time > now - limit.window)
    return state if recent == state.recent else replace(state, recent=recent)


def admit(
    state: LimiterState, limit: Limit, now: datetime, item: Held, force: bool = False
) -> tuple[Verdict, LimiterState]:
    """Whether a notification may go out now; the state with its slot taken or it held.

    A key that already has a slot in the window (a retry of the same transition) is sent
    again without taking another; a key already held is not counted twice. While
    something is held, the last free slot is kept for the summary, so a steady stream
    cannot starve it. `force` sends regardless (it still takes a slot).
    """
    state = _window(state, limit, now)
    if any(s.key == item.key for s in state.recent):
        return Verdict.SEND, state
    if any(h.key == item.key for h in state.held_items):
        return Verdict.ALREADY_HELD, state
    free = limit.max - len(state.recent)
    if force or free > (1 if state.held else 0):
        return Verdict.SEND, replace(state, recent=(*state.recent, Sent(now, item.key)))
    items = (
        state.held_items if len(state.held_items) >= MAX_HELD_ITEMS else (*state.held_items, item)
    )
    return Verdict.HOLD, replace(
        state, held=state.held + 1, held_since=state.held_since or now, held_items=items
    )


def take_summary_slot(
    state: LimiterState, limit: Limit, now: datetime, key: str
) -> LimiterState | None:
    """The state with a slot taken for the summary, or None if none is due or free."""
    state = _window(state, limit, now)
    if not state.held:
        return None
    if not any(s.key == key for s in state.recent):
        if len(state.recent) >= limit.max:
            return None
        state = replace(state, recent=(*state.recent, Sent(now, key)))
    return state


def summary_delivered(state: LimiterState, covered: LimiterState) -> LimiterState:
    """Forget what a delivered summary (built from `covered`) listed; keep what came after."""
    listed = {h.key for h in covered.held_items}
    remaining = tuple(h for h in state.held_items if h.key not in listed)
    held = max(state.held - covered.held, 0)
    return replace(
        state,
        held=held,
        held_items=remaining if held else (),
        held_since=state.held_since if held else None,
    )


def highest_severity(items: tuple[Held, ...]) -> str | None:
    """The highest severity among held notifications, if any has one."""
    ranks = [Severity(h.severity).rank for h in items if h.severity in set(Severity)]
    return list(Severity)[max(ranks)].value if ranks else None
