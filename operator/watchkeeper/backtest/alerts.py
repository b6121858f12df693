"""Replaying an AlertPolicy over history with the operator's own engine.

Each instant of the policy's evaluation grid gets what Prometheus answered there; the
replay then does what runtime/evaluation.py does with a live answer: observations
(engine.observations), the state machine (engine.alerts.evaluate with the policy's
rules_of), each alert's ledger (engine.notifications.after_evaluation with routing_of),
and a notification round (delivery.Outlets). Nothing here decides anything itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.backtest.delivery import Outlets
from watchkeeper.engine.alert_records import alert_name
from watchkeeper.engine.alerts import Change, Instance, SeriesKey, Transition, evaluate, rules_of
from watchkeeper.engine.notifications import Ledger, after_evaluation, routing_of
from watchkeeper.engine.observations import DuplicateSeries, Series, observations


@dataclass(frozen=True)
class Answer:
    """What the policy's queries (and an adaptive band's baseline, sigma and points
    queries) returned at one instant; `series` is None when a query failed (then `error`
    says why)."""

    at: datetime
    series: Sequence[Series] | None
    baseline: Sequence[Series] = ()
    sigma: Sequence[Series] = ()
    points: Sequence[Series] = ()
    error: str = ""


@dataclass(frozen=True)
class TransitionRow:
    """One transition of one alert, as `kubectl get alerts` would have shown it."""

    at: datetime
    alert: str
    labels: Mapping[str, str]
    change: str
    severity: str | None
    previous_severity: str | None
    value: float | None


@dataclass
class AlertReplay:
    """Everything a replay saw and decided."""

    instants: int = 0
    transitions: list[TransitionRow] = field(default_factory=list)
    no_data: list[datetime] = field(default_factory=list)
    failed: list[tuple[datetime, str]] = field(default_factory=list)
    final: dict[str, Instance] = field(default_factory=dict)


def replay_alerts(
    name: str, spec: AlertPolicySpec, answers: Iterable[Answer], outlets: Outlets
) -> AlertReplay:
    """The policy evaluated at each answer's instant, in order."""
    rules, routing = rules_of(spec), routing_of(spec)
    instances: dict[SeriesKey, Instance] = {}
    ledgers: dict[SeriesKey, Ledger] = {}
    replay = AlertReplay()
    for answer in answers:
        replay.instants += 1
        at = answer.at
        observed = None
        if answer.series is None:
            replay.failed.append((at, answer.error))
        else:
            try:
                observed = observations(
                    spec, answer.series, answer.baseline, answer.sigma, answer.points
                )
            except DuplicateSeries as duplicates:
                replay.failed.append((at, str(duplicates)))
            if observed == []:
                replay.no_data.append(at)
        result = evaluate(instances, observed, rules, at)
        instances = dict(result.instances)
        for key in result.dropped:
            ledgers.pop(key, None)
        changes: dict[SeriesKey, list[Transition]] = {}
        for transition in result.transitions:
            changes.setdefault(transition.key, []).append(transition)
            instance = result.instances.get(transition.key)
            replay.transitions.append(_row(name, at, transition, instance))
        for key, instance in instances.items():
            alert = alert_name(name, instance.labels)
            ledger = after_evaluation(
                ledgers.get(key, Ledger()),
                outlets.namespace,
                alert,
                instance,
                changes.get(key, []),
                routing,
                at,
            )
            ledgers[key] = outlets.round(alert, instance, ledger, at)
        outlets.summaries(at)
    replay.final = {alert_name(name, i.labels): i for i in instances.values()}
    return replay


def _row(
    policy: str, at: datetime, transition: Transition, instance: Instance | None
) -> TransitionRow:
    labels = dict(transition.key)
    return TransitionRow(
        at=at,
        alert=alert_name(policy, labels),
        labels=labels,
        change=transition.change.value,
        severity=transition.severity.value if transition.severity else None,
        previous_severity=transition.previous_severity.value
        if transition.previous_severity and transition.change == Change.SEVERITY_CHANGED
        else None,
        value=instance.value if instance is not None else None,
    )
