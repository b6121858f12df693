"""The alert state machine, with exactly Prometheus's alerting-rule semantics for `for`
and `keepFiringFor`, plus severities, no-data and error handling.

One call evaluates one policy at one instant: it takes the instances the policy already
has (as persisted on its Alert objects), what the query returned, and `now`; it returns
the new instances and the transitions. Each series is keyed by its label set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from watchkeeper.api.alert import AlertState
from watchkeeper.api.alertpolicy import ErrorState, NoDataState
from watchkeeper.api.common import Severity
from watchkeeper.engine.bands import Band
from watchkeeper.engine.levels import Levels

SeriesKey = tuple[tuple[str, str], ...]
REASON_LABEL = "watchkeeper_reason"


def series_key(labels: Mapping[str, str]) -> SeriesKey:
    """A label set as an order-independent key."""
    return tuple(sorted(labels.items()))


@dataclass(frozen=True)
class Instance:
    """What is remembered about one series; persisted in its Alert's status."""

    labels: Mapping[str, str]
    state: AlertState
    starts_at: datetime
    severity: Severity | None = None
    value: float | None = None
    threshold: float | None = None
    firing_since: datetime | None = None
    severity_changed_at: datetime | None = None
    keep_firing_since: datetime | None = None
    resolved_at: datetime | None = None
    band: Band | None = None
    """The adaptive band at the last evaluation that saw the series (display only)."""

    @property
    def active(self) -> bool:
        return self.state != AlertState.RESOLVED


@dataclass(frozen=True)
class Observation:
    """One series of the query result and the levels that apply to it; `forced` makes it
    breach at that level whatever its value (no data or errors under Alerting); `band` is
    the adaptive band the levels come from."""

    labels: Mapping[str, str]
    value: float
    levels: Levels | None
    forced: tuple[Severity, float] | None = None
    band: Band | None = None

    def breach(self) -> tuple[Severity, float] | None:
        if self.forced is not None:
            return self.forced
        return self.levels.breach(self.value) if self.levels else None


class Change(StrEnum):
    PENDING = "Pending"
    PENDING_CLEARED = "PendingCleared"
    FIRING = "Firing"
    SEVERITY_CHANGED = "SeverityChanged"
    RESOLVED = "Resolved"


@dataclass(frozen=True)
class Transition:
    """Something that happened to one series at this evaluation."""

    key: SeriesKey
    change: Change
    severity: Severity | None
    previous_severity: Severity | None = None


@dataclass(frozen=True)
class Rules:
    """The parts of an AlertPolicy the state machine needs."""

    for_: timedelta
    keep_firing_for: timedelta
    no_data_state: NoDataState
    error_state: ErrorState
    no_data_level: tuple[Severity, float]


@dataclass(frozen=True)
class Evaluation:
    """The result of one evaluation: instances to keep (incl. Resolved), dropped keys
    (pending series that cleared: their Alert goes away) and transitions, in key order."""

    instances: dict[SeriesKey, Instance]
    dropped: list[SeriesKey]
    transitions: list[Transition]


def evaluate(
    instances: Mapping[SeriesKey, Instance],
    observations: Sequence[Observation] | None,
    rules: Rules,
    now: datetime,
) -> Evaluation:
    """Evaluate a policy at `now`. `observations` is None when the query failed."""
    if observations is None:
        if rules.error_state == ErrorState.KEEP_STATE:
            return Evaluation(dict(instances), [], [])
        observations = _synthetic(instances, rules, "QueryError")
    elif not observations:
        if rules.no_data_state == NoDataState.KEEP_STATE:
            return Evaluation(dict(instances), [], [])
        if rules.no_data_state == NoDataState.ALERTING:
            observations = _synthetic(instances, rules, "NoData")

    breaching: dict[SeriesKey, tuple[Observation, Severity, float]] = {}
    seen: dict[SeriesKey, Observation] = {}
    for obs in observations:
        key = series_key(obs.labels)
        seen[key] = obs
        hit = obs.breach()
        if hit is not None:
            breaching[key] = (obs, *hit)

    result: dict[SeriesKey, Instance] = {}
    dropped: list[SeriesKey] = []
    transitions: list[Transition] = []
    for key in sorted(set(instances) | set(breaching)):
        before = instances.get(key)
        after, changes = _step(before, breaching.get(key), seen.get(key), rules, now)
        if after is None:
            dropped.append(key)
        else:
            result[key] = after
        transitions += [
            Transition(
                key, change, after.severity if after else None, before.severity if before else None
            )
            for change in changes
        ]
    return Evaluation(result, dropped, transitions)


def _synthetic(
    instances: Mapping[SeriesKey, Instance], rules: Rules, reason: str
) -> list[Observation]:
    """No data or a failed query under `Alerting`: every active series keeps breaching at
    its level; with none active, one series labelled with the reason breaches at
    `rules.no_data_level` (the policy's highest severity)."""
    active = [
        Observation(i.labels, i.value, None, (i.severity, i.threshold))
        for i in instances.values()
        if i.active and i.value is not None and i.severity and i.threshold is not None
    ]
    if active:
        return active
    severity, threshold = rules.no_data_level
    return [Observation({REASON_LABEL: reason}, threshold, None, (severity, threshold))]


def _step(
    before: Instance | None,
    hit: tuple[Observation, Severity, float] | None,
    seen: Observation | None,
    rules: Rules,
    now: datetime,
) -> tuple[Instance | None, list[Change]]:
    """One series, one evaluation: Prometheus's rules/alerting.go Eval, per series."""
    changes: list[Change] = []
    value = seen.value if seen is not None else (before.value if before else None)
    band = (seen.band if seen else None) or (before.band if before else None)
    if hit is not None:
        obs, severity, threshold = hit
        if before is None or not before.active:
            before = Instance(obs.labels, AlertState.PENDING, starts_at=now)
            changes.append(Change.PENDING)
        elif before.state == AlertState.FIRING and before.severity != severity:
            changes.append(Change.SEVERITY_CHANGED)
            before = replace(before, severity_changed_at=now)
        current = replace(
            before,
            severity=severity,
            threshold=threshold,
            value=value,
            band=band,
            keep_firing_since=None,
        )
    else:
        if before is None or not before.active:
            return before, []
        keep_since = before.keep_firing_since
        if before.state == AlertState.FIRING and rules.keep_firing_for > timedelta(0):
            keep_since = keep_since or now
            if now - keep_since < rules.keep_firing_for:
                return replace(before, value=value, band=band, keep_firing_since=keep_since), []
        if before.state == AlertState.PENDING:
            return None, [Change.PENDING_CLEARED]
        resolved = replace(
            before,
            state=AlertState.RESOLVED,
            value=value,
            band=band,
            resolved_at=now,
            keep_firing_since=None,
        )
        return resolved, [Change.RESOLVED]

    if current.state == AlertState.PENDING and now - current.starts_at >= rules.for_:
        current = replace(current, state=AlertState.FIRING, firing_since=now)
        changes.append(Change.FIRING)
    return current, changes


def expired(
    instances: Mapping[SeriesKey, Instance], retention: timedelta, now: datetime
) -> list[SeriesKey]:
    """Resolved series kept longer than `retention`: their Alerts are deleted."""
    return [
        key
        for key, inst in instances.items()
        if inst.resolved_at is not None and not inst.active and now - inst.resolved_at > retention
    ]
