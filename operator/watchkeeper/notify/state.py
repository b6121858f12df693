"""A channel's delivery state (rate-limit window, held notifications, counters) in
memory, restored from and written back to the channel's status."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from watchkeeper.api.notificationchannel import (
    DeliveryCounters,
    HeldNotification,
    NotificationChannelStatus,
    RateLimitStatus,
    RecentSend,
)
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.engine.ratelimit import Held, LimiterState, Sent


def limiter_from_status(status: RateLimitStatus | None) -> LimiterState:
    """The limiter as the status recorded it (empty if it recorded nothing)."""
    if status is None:
        return LimiterState()
    return LimiterState(
        recent=tuple(Sent(parse_time(s.time), s.key) for s in status.recent),
        held=status.held,
        held_since=parse_time(status.held_since) if status.held_since else None,
        held_items=tuple(Held(h.key, h.text, h.severity) for h in status.held_notifications),
    )


def limiter_to_status(state: LimiterState) -> RateLimitStatus:
    """The limiter as the status records it."""
    return RateLimitStatus(
        recent=[RecentSend(time=format_time(s.time), key=s.key) for s in state.recent],
        held=state.held,
        held_since=format_time(state.held_since) if state.held_since else None,
        held_notifications=[
            HeldNotification(key=h.key, text=h.text, severity=h.severity) for h in state.held_items
        ],
    )


@dataclass
class ChannelState:
    """One channel's state; `lock` serializes its changes and status writes."""

    limiter: LimiterState
    counters: DeliveryCounters
    last_delivery: dict[str, Any] | None = None
    summary_in_flight: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def restore(cls, status: NotificationChannelStatus) -> ChannelState:
        """From the channel's status, as the API server last had it."""
        return cls(
            limiter=limiter_from_status(status.rate_limit),
            counters=status.counters.model_copy(),
            last_delivery=status.last_delivery.to_api() if status.last_delivery else None,
        )

    def status_patch(self) -> dict[str, Any]:
        """Every status field this state owns: applied server-side by one field manager,
        so a field left out (a cleared heldSince) is removed."""
        patch: dict[str, Any] = {
            "counters": self.counters.to_api(),
            "rateLimit": limiter_to_status(self.limiter).to_api(),
        }
        if self.last_delivery is not None:
            patch["lastDelivery"] = self.last_delivery
        return patch
