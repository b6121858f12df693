"""When each object is due: a fixed grid of its interval, shifted by a stable offset.

The offset is a hash of a key (a policy's query, a scaling policy's UID), as Prometheus
offsets each rule group by a hash of its name: thousands of objects with the same
interval spread over it instead of all starting on the same instant, and objects with the
same key (e.g. the same query) still share their instants, so the one query is sent once.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta


def offset_of(key: str, interval: timedelta) -> timedelta:
    """A stable offset in [0, interval) for `key`, identical across restarts and replicas."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    micros = max(int(interval.total_seconds() * 1_000_000), 1)
    return timedelta(microseconds=digest % micros)


def next_due(after: datetime, interval: timedelta, offset: timedelta) -> datetime:
    """The first instant strictly after `after` on the grid epoch + offset + k·interval."""
    due = next_due_seconds(after.timestamp(), interval.total_seconds(), offset.total_seconds())
    return datetime.fromtimestamp(due, UTC)


def next_due_seconds(after: float, step: float, shift: float) -> float:
    """next_due in seconds since the epoch (the scheduler's clock)."""
    return (math.floor((after - shift) / step) + 1) * step + shift
