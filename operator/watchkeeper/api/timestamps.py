"""Times as the API writes them: RFC 3339 in UTC with a Z, to the microsecond when there
are any. One format for every timestamp the operator stores, so a time read back and
written again is the same string (idempotency keys are built from them)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime) -> str:
    """e.g. 2026-11-30T10:04:01Z or 2026-11-30T10:04:01.250000Z."""
    spec = "microseconds" if moment.microsecond else "seconds"
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (with a zone) as an aware datetime in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def parse_optional_time(text: str | None) -> datetime | None:
    """parse_time, or None for a missing time."""
    return parse_time(text) if text else None
