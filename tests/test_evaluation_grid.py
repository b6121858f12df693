"""Evaluation instants lie on a grid, so policies with the same interval query together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.handlers.alertpolicy import next_tick


@given(
    offset=st.floats(0, 86_400, allow_nan=False),
    interval=st.sampled_from([1, 5, 15, 30, 60, 300]),
)
def test_next_tick_is_the_next_multiple_of_the_interval(offset: float, interval: int) -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(seconds=offset)
    tick = next_tick(now, timedelta(seconds=interval))
    assert now < tick <= now + timedelta(seconds=interval)
    assert tick.timestamp() % interval == 0


def test_policies_started_at_different_moments_share_instants() -> None:
    base = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
    a = next_tick(base + timedelta(seconds=3.2), timedelta(seconds=30))
    b = next_tick(base + timedelta(seconds=17.9), timedelta(seconds=30))
    assert a == b == base + timedelta(seconds=30)
