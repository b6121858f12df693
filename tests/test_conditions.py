"""The Ready condition and how conditions merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchkeeper.api.common import ConditionStatus, MissingReference
from watchkeeper.engine.conditions import READY, merge_condition, readiness, rfc3339

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_invalid_spec_wins_over_missing_references() -> None:
    status, reason, message = readiness("for: bad", [MissingReference("SecretNotFound", "x")])
    assert (status, reason, message) == (ConditionStatus.FALSE, "InvalidSpec", "for: bad")


def test_missing_references_are_all_listed_with_the_first_reason() -> None:
    missing = [
        MissingReference("ReferenceNotFound", "a missing"),
        MissingReference("SecretNotFound", "b missing"),
    ]
    assert readiness(None, missing) == (
        ConditionStatus.FALSE,
        "ReferenceNotFound",
        "a missing; b missing",
    )


def test_ready_when_nothing_is_wrong() -> None:
    assert readiness(None, [])[:2] == (ConditionStatus.TRUE, "Valid")


def test_transition_time_moves_only_when_status_changes() -> None:
    first = merge_condition([], READY, ConditionStatus.FALSE, "InvalidSpec", "m1", 1, T0)
    assert first[0].last_transition_time == rfc3339(T0)
    same = merge_condition(
        first, READY, ConditionStatus.FALSE, "SecretNotFound", "m2", 2, T0 + timedelta(minutes=1)
    )
    assert same[0].last_transition_time == rfc3339(T0)
    assert (same[0].reason, same[0].observed_generation) == ("SecretNotFound", 2)
    flipped = merge_condition(
        same, READY, ConditionStatus.TRUE, "Valid", "ok", 2, T0 + timedelta(minutes=2)
    )
    assert flipped[0].last_transition_time == rfc3339(T0 + timedelta(minutes=2))


def test_other_conditions_are_kept_in_place() -> None:
    other = merge_condition([], "ScalingActive", ConditionStatus.TRUE, "Ok", "", 1, T0)
    merged = merge_condition(other, READY, ConditionStatus.TRUE, "Valid", "", 1, T0)
    assert [c.type for c in merged] == ["ScalingActive", READY]
    again = merge_condition(merged, READY, ConditionStatus.TRUE, "Valid", "", 1, T0)
    assert again == merged
