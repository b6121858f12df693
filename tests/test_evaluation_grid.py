"""Evaluation instants lie on each object's own grid: a fixed interval shifted by a stable,
hash-derived offset, so objects spread over the interval but keep their instants across
restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.engine.schedule import next_due, offset_of


@given(
    offset=st.floats(0, 86_400, allow_nan=False),
    interval=st.sampled_from([1, 5, 15, 30, 60, 300]),
    key=st.text(max_size=40),
)
def test_next_due_is_the_next_grid_instant(offset: float, interval: int, key: str) -> None:
    step = timedelta(seconds=interval)
    now = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(seconds=offset)
    shift = offset_of(key, step)
    due = next_due(now, step, shift)
    assert timedelta(0) <= shift < step
    assert now < due <= now + step + timedelta(microseconds=1)
    assert (
        abs((due.timestamp() - shift.total_seconds()) / interval % 1) < 1e-6
        or abs((due.timestamp() - shift.total_seconds()) / interval % 1 - 1) < 1e-6
    )


def test_the_offset_is_stable_and_the_same_key_shares_instants() -> None:
    step = timedelta(seconds=30)
    base = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
    a = next_due(base + timedelta(seconds=3.2), step, offset_of("up", step))
    b = next_due(base + timedelta(seconds=17.9), step, offset_of("up", step))
    assert a == b
    assert offset_of("up", step) == offset_of("up", step)


def test_many_keys_spread_over_the_interval() -> None:
    step = timedelta(seconds=30)
    offsets = [offset_of(f"policy-{i}", step).total_seconds() for i in range(5000)]
    buckets = [0] * 30
    for value in offsets:
        buckets[int(value)] += 1
    assert min(buckets) > 100  # ~167 per second: nothing piles up on one instant
