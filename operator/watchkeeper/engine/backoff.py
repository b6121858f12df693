"""Retry timing: exponential backoff with jitter, and when to give up. Pure: the random
draw is passed in, so a schedule can be tested exactly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try and how long to wait in between (seconds)."""

    max_attempts: int
    initial_backoff: float
    max_backoff: float


def backoff_delay(policy: RetryPolicy, failed_attempts: int, draw: float) -> float:
    """The wait after `failed_attempts` failures: "equal jitter" exponential backoff.

    The ceiling doubles from `initial_backoff` up to `max_backoff`; the wait is half the
    ceiling plus a random share (`draw` in [0, 1)) of the other half, so retries of many
    channels spread out but never come back sooner than half the schedule.
    """
    ceiling = min(policy.max_backoff, policy.initial_backoff * 2.0 ** max(failed_attempts - 1, 0))
    return ceiling / 2 + ceiling / 2 * min(max(draw, 0.0), 1.0)


def next_retry(
    policy: RetryPolicy, failed_attempts: int, draw: float, retry_after: float | None
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    A service's Retry-After is honoured as given, unless it is longer than `max_backoff`:
    then waiting would hold the delivery too long, and the caller gives up (retryably).
    """
    if failed_attempts >= policy.max_attempts:
        return None
    if retry_after is not None:
        return max(retry_after, 0.0) if retry_after <= policy.max_backoff else None
    return backoff_delay(policy, failed_attempts, draw)
