"""Silences: when each one is in force, and which of them mute an alert. Pure: now is
passed in.

A silence is Pending before startsAt, Active from startsAt (inclusive) to endsAt
(exclusive) and Expired from endsAt on, as in Alertmanager. Overlapping silences simply
all apply: an alert is silenced while at least one Active silence matches it, and its
status names every one of them (sorted), so it stays silenced until the last one ends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.api.matchers import Matcher
from watchkeeper.api.silence import SilenceSpec, SilenceState
from watchkeeper.api.timestamps import parse_time

ALERTNAME = "alertname"
SEVERITY = "severity"


@dataclass(frozen=True)
class Silence:
    """A Silence's spec, parsed once: its matchers compiled and its times resolved."""

    name: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, name: str, spec: SilenceSpec, created: datetime) -> Silence:
        """`created` (metadata.creationTimestamp) is the start when startsAt is not set."""
        starts = parse_time(spec.starts_at) if spec.starts_at else created
        if spec.ends_at:
            ends = parse_time(spec.ends_at)
        else:
            assert spec.duration is not None  # the model requires one of the two
            ends = starts + spec.duration.delta
        return cls(name, tuple(Matcher.parse(m) for m in spec.matchers), starts, max(starts, ends))

    def state(self, now: datetime) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        if now < self.ends_at:
            return SilenceState.ACTIVE
        return SilenceState.EXPIRED

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def mutes(self, labels: dict[str, str], now: datetime) -> bool:
        return self.state(now) == SilenceState.ACTIVE and self.matches(labels)

    def next_change(self, now: datetime) -> datetime | None:
        """When its state changes next: its start, its end, or never again."""
        return next((t for t in (self.starts_at, self.ends_at) if t > now), None)

    def removable(self, now: datetime, retention: timedelta) -> bool:
        """Expired for longer than the retention: shown no more, deleted."""
        return now >= self.ends_at + retention


def alert_labels(labels: Mapping[str, str], policy: str, severity: str | None) -> dict[str, str]:
    """The labels silences (and Alertmanager) see: the Alert's labels, `alertname` (the
    AlertPolicy unless the labels name one) and `severity`."""
    found = {**labels, ALERTNAME: labels.get(ALERTNAME) or policy}
    if severity:
        found[SEVERITY] = severity
    return found


def silenced_by(silences: Iterable[Silence], labels: dict[str, str], now: datetime) -> list[str]:
    """The names of the Active silences that match, sorted: empty when not silenced."""
    return sorted({s.name for s in silences if s.mutes(labels, now)})
