"""What each channel would have received during a replay: the notification round of the
operator (escalation first, then the alert's outbox), with the engine's own schedule,
channel filter, rate limit and settlement. Deliveries always succeed here: a backtest
answers "what would have been sent", not "would the service have answered"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from watchkeeper.api.alert import NotificationEvent, Obligation, Outcome
from watchkeeper.api.notificationchannel import NotificationChannelSpec
from watchkeeper.engine.alerts import Instance
from watchkeeper.engine.channelfilter import FOLLOW_UPS, skip_reason
from watchkeeper.engine.escalation import AlertView, Chain, advance, position_of, saved_form
from watchkeeper.engine.notifications import (
    Attempt,
    Budget,
    Ledger,
    Notice,
    after_settlement,
    owe,
    ready,
    settle,
    was_told,
)
from watchkeeper.engine.ratelimit import (
    Held,
    Limit,
    LimiterState,
    Verdict,
    admit,
    summary_delivered,
    take_summary_slot,
)

KEEP_RECORDS = 50


@dataclass(frozen=True)
class Delivery:
    """One notification on one channel."""

    at: datetime
    channel: str
    event: str
    alert: str
    severity: str | None
    outcome: Outcome
    reason: str = ""
    step: int | None = None


@dataclass(frozen=True)
class EscalationRun:
    """One escalation step that ran."""

    at: datetime
    alert: str
    step: int
    run: int
    channels: tuple[str, ...]


@dataclass
class Outlets:
    """The channels and escalation policy of one replayed AlertPolicy."""

    namespace: str
    channels: Mapping[str, NotificationChannelSpec]
    chain: tuple[str, Chain] | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    escalations: list[EscalationRun] = field(default_factory=list)
    unknown_channels: set[str] = field(default_factory=set)
    _limiters: dict[str, LimiterState] = field(default_factory=dict)

    def round(self, alert: str, instance: Instance, ledger: Ledger, now: datetime) -> Ledger:
        """One notification round for one alert, as the operator runs it after an evaluation."""
        if self.chain is not None:
            ledger = self._escalate(alert, instance, ledger, now)
        for obligation in ready(ledger.outbox):
            outcome, reason = self._deliver(alert, obligation, ledger, now)
            self.deliveries.append(
                Delivery(
                    now,
                    obligation.channel,
                    obligation.event,
                    alert,
                    obligation.severity,
                    outcome,
                    reason,
                    obligation.step,
                )
            )
            settled = settle(obligation, Attempt(outcome, 1, reason), Budget(1), now)
            ledger = after_settlement(ledger, obligation, settled, KEEP_RECORDS)
        return ledger

    def summaries(self, now: datetime) -> None:
        """Each channel whose limit held notifications sends its summary once a slot frees."""
        for name, state in sorted(self._limiters.items()):
            spec = self.channels[name]
            taken = take_summary_slot(
                state, Limit.of(spec.rate_limit), now, f"summary/{name}/{now}"
            )
            if taken is None:
                continue
            self.deliveries.append(
                Delivery(
                    now,
                    name,
                    NotificationEvent.SUMMARY,
                    "",
                    None,
                    Outcome.DELIVERED,
                    f"{taken.held} held notification(s)",
                )
            )
            self._limiters[name] = summary_delivered(taken, taken)

    def _deliver(
        self, alert: str, owed: Obligation, ledger: Ledger, now: datetime
    ) -> tuple[Outcome, str]:
        spec = self.channels.get(owed.channel)
        if spec is None:
            self.unknown_channels.add(owed.channel)
            return Outcome.DELIVERED, ""
        told = was_told(ledger.told, owed.channel, owed.cycle)
        skip = skip_reason(
            owed.event,
            owed.severity,
            owed.previous_severity,
            spec.min_severity,
            spec.send_resolved,
            told if owed.event in FOLLOW_UPS else None,
        )
        if skip is not None:
            return Outcome.SKIPPED, skip
        item = Held(key=owed.key, text=f"{owed.event} {alert}", severity=owed.severity)
        state = self._limiters.get(owed.channel, LimiterState())
        verdict, self._limiters[owed.channel] = admit(state, Limit.of(spec.rate_limit), now, item)
        if verdict != Verdict.SEND:
            return Outcome.RATE_LIMITED, f"over {spec.rate_limit.max} per {spec.rate_limit.per}"
        return Outcome.DELIVERED, ""

    def _escalate(self, alert: str, instance: Instance, ledger: Ledger, now: datetime) -> Ledger:
        assert self.chain is not None
        policy, chain = self.chain
        since = instance.firing_since
        decision = advance(
            chain, position_of(ledger.escalation, since), AlertView.of(instance, ledger), now
        )
        if decision.position is None:
            return ledger
        severity = instance.severity.value if instance.severity else None
        for loop, index, at in decision.new_runs:
            channels = chain.steps[index].channels
            self.escalations.append(EscalationRun(at, alert, index + 1, loop + 1, channels))
            notice = Notice(NotificationEvent.FIRING, at, since, severity, step=index)
            ledger = ledger.owing(owe(self.namespace, alert, notice, channels))
        return replace(ledger, escalation=saved_form(policy, chain, decision.position))
