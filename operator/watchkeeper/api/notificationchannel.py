"""NotificationChannel: one delivery target (Slack, PagerDuty, e-mail, ...) and its limits."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from .common import (
    Between,
    Condition,
    Duration,
    KindDefinition,
    ObjectReference,
    PrinterColumn,
    SecretKeyRef,
    Severity,
    SpecModel,
    WatchkeeperModel,
    age_column,
    cel,
    cel_millis,
    conditions_field,
    ready_column,
)
from .grouping import ChannelGrouping, GroupStatus
from .timeinterval import TimeWindows

_URL = r"^https?://.+$"


class ChannelType(StrEnum):
    WEBHOOK = "Webhook"
    SLACK = "Slack"
    MSTEAMS = "MSTeams"
    PAGERDUTY = "PagerDuty"
    OPSGENIE = "Opsgenie"
    EMAIL = "Email"
    SMS = "SMS"
    ALERTMANAGER = "Alertmanager"
    LOG = "Log"

    @property
    def block(self) -> str:
        """Name of the config block that goes with this type (camelCase, as in YAML)."""
        return self.value.lower()


class Header(WatchkeeperModel):
    """An HTTP header, its value given inline or from a Secret."""

    exactly_one_of = (("value", "value_secret_ref"),)

    name: str = Field(min_length=1, max_length=256, description="Header name.")
    value: str | None = Field(default=None, max_length=4096, description="Plain value.")
    value_secret_ref: SecretKeyRef | None = Field(default=None, description="Value from a Secret.")


class WebhookConfig(WatchkeeperModel):
    """A JSON POST in Alertmanager's webhook format."""

    exactly_one_of = (("url", "url_secret_ref"),)

    url: str | None = Field(default=None, max_length=2048, pattern=_URL, description="Target URL.")
    url_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Target URL from a Secret (when the URL holds a token)."
    )
    headers: list[Header] = Field(default_factory=list, max_length=16, description="Headers.")


_TOKEN_NEEDS_CHANNEL = "a bot token (tokenSecretRef) needs a channel"


class SlackConfig(WatchkeeperModel):
    """Slack via an incoming webhook, or a bot token and a channel."""

    exactly_one_of = (("webhook_url_secret_ref", "token_secret_ref"),)
    cel_rules = (
        cel("!has(self.tokenSecretRef) || has(self.channel)", _TOKEN_NEEDS_CHANNEL, ".channel"),
    )

    webhook_url_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding the incoming-webhook URL."
    )
    token_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a bot token (chat.postMessage)."
    )
    channel: str | None = Field(default=None, max_length=256, description="Channel, e.g. #ops.")

    @model_validator(mode="after")
    def _token_needs_channel(self) -> SlackConfig:
        if self.token_secret_ref is not None and not self.channel:
            raise ValueError(_TOKEN_NEEDS_CHANNEL)
        return self

    api_url: str = Field(
        default="https://slack.com/api", pattern=_URL, description="Slack Web API base URL."
    )


class MSTeamsConfig(WatchkeeperModel):
    """Microsoft Teams via an incoming webhook or a Workflows URL (Adaptive Card)."""

    webhook_url_secret_ref: SecretKeyRef = Field(description="Secret key holding the URL.")


class PagerDutyConfig(WatchkeeperModel):
    """PagerDuty Events API v2."""

    routing_key_secret_ref: SecretKeyRef = Field(description="Secret key: integration key.")
    url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        pattern=_URL,
        description="Events API endpoint.",
    )


class OpsgenieConfig(WatchkeeperModel):
    """Opsgenie Alert API."""

    api_key_secret_ref: SecretKeyRef = Field(description="Secret key: API integration key.")
    url: str = Field(
        default="https://api.opsgenie.com", pattern=_URL, description="API base URL (EU differs)."
    )
    responders: list[str] = Field(
        default_factory=list, max_length=16, description="Team names to notify."
    )


class TLSMode(StrEnum):
    NONE = "None"
    STARTTLS = "StartTLS"
    TLS = "TLS"


class SMTPServer(WatchkeeperModel):
    """An SMTP server and how to log in to it."""

    host: str = Field(min_length=1, max_length=253, description="SMTP host.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port.")
    tls: TLSMode = Field(default=TLSMode.STARTTLS, description="None, StartTLS or TLS.")
    username_secret_ref: SecretKeyRef | None = Field(default=None, description="Username.")
    password_secret_ref: SecretKeyRef | None = Field(default=None, description="Password.")
    ca_secret_ref: SecretKeyRef | None = Field(default=None, description="PEM CA to trust.")


class EmailConfig(WatchkeeperModel):
    """E-mail with a text and an HTML part."""

    smtp: SMTPServer = Field(description="The SMTP server.")
    from_: str = Field(alias="from", min_length=3, max_length=320, description="Sender address.")
    to: list[str] = Field(min_length=1, max_length=64, description="Recipients.")


class SMSConfig(WatchkeeperModel):
    """SMS through the Twilio Messages API."""

    account_sid: str = Field(min_length=1, max_length=64, description="Twilio Account SID.")
    auth_token_secret_ref: SecretKeyRef = Field(description="Secret key: Twilio auth token.")
    from_: str = Field(alias="from", min_length=1, max_length=32, description="Sender number.")
    to: list[str] = Field(min_length=1, max_length=16, description="Recipient numbers (E.164).")
    api_url: str = Field(
        default="https://api.twilio.com", pattern=_URL, description="Twilio API base URL."
    )


class AlertmanagerConfig(WatchkeeperModel):
    """Push alerts into an existing Alertmanager (API v2)."""

    url: str = Field(max_length=2048, pattern=_URL, description="Alertmanager base URL.")
    bearer_token_secret_ref: SecretKeyRef | None = Field(default=None, description="Token.")
    ends_after: Annotated[Duration, Between("1m", "168h")] = Field(
        default=Duration("24h"),
        description="A firing alert is pushed with endsAt this far ahead, so Alertmanager keeps "
        "it firing between Watchkeeper's repeats (keep it longer than the policies' "
        "repeatInterval); a resolved alert is pushed with its resolution time.",
    )


class LogConfig(WatchkeeperModel):
    """A structured line in the operator's log."""

    level: str = Field(
        default="WARNING",
        pattern=r"^(DEBUG|INFO|WARNING|ERROR)$",
        description="Log level of the line.",
    )


class RateLimit(WatchkeeperModel):
    """At most `max` messages per `per`; the excess is summarized later, never dropped."""

    max: int = Field(default=3, ge=1, le=1000, description="Messages per window.")
    per: Annotated[Duration, Between("1s", "24h")] = Field(
        default=Duration("1m"), description="Window length."
    )


_BACKOFF_ORDER = f"{cel_millis('self.initialBackoff')} <= {cel_millis('self.maxBackoff')}"
_BACKOFF_ORDER_MESSAGE = "initialBackoff must not exceed maxBackoff"


class Retry(WatchkeeperModel):
    """Retries with exponential backoff and jitter."""

    cel_rules = (cel(_BACKOFF_ORDER, _BACKOFF_ORDER_MESSAGE, ".initialBackoff"),)

    max_attempts: int = Field(default=5, ge=1, le=20, description="Attempts in all.")
    initial_backoff: Annotated[Duration, Between("10ms", "5m")] = Field(
        default=Duration("1s"), description="First wait, at most maxBackoff."
    )
    max_backoff: Annotated[Duration, Between("10ms", "5m")] = Field(
        default=Duration("1m"), description="Longest wait."
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> Retry:
        if self.initial_backoff.delta > self.max_backoff.delta:
            raise ValueError(_BACKOFF_ORDER_MESSAGE)
        return self


class Templates(WatchkeeperModel):
    """Overrides of the default message (sandboxed Jinja2)."""

    title: str | None = Field(default=None, max_length=4096, description="Title template.")
    body: str | None = Field(default=None, max_length=65536, description="Body template.")


_EXACTLY_ONE_BLOCK = tuple(
    cel(
        f"(self.type == '{t.value}') == has(self.{t.block})",
        f"type {t.value} needs the {t.block} block, and only {t.value} may have it",
        f".{t.block}",
    )
    for t in ChannelType
)


class NotificationChannelSpec(SpecModel, TimeWindows):
    """One delivery target: a type, exactly its config block, and delivery limits."""

    cel_rules = _EXACTLY_ONE_BLOCK

    type: ChannelType = Field(description="Which service this channel delivers to.")
    webhook: WebhookConfig | None = Field(default=None, description="For type Webhook.")
    slack: SlackConfig | None = Field(default=None, description="For type Slack.")
    msteams: MSTeamsConfig | None = Field(default=None, description="For type MSTeams.")
    pagerduty: PagerDutyConfig | None = Field(default=None, description="For type PagerDuty.")
    opsgenie: OpsgenieConfig | None = Field(default=None, description="For type Opsgenie.")
    email: EmailConfig | None = Field(default=None, description="For type Email.")
    sms: SMSConfig | None = Field(default=None, description="For type SMS.")
    alertmanager: AlertmanagerConfig | None = Field(
        default=None, description="For type Alertmanager."
    )
    log: LogConfig | None = Field(default=None, description="For type Log.")
    min_severity: Severity = Field(
        default=Severity.WARNING, description="Alerts below this severity are not sent."
    )
    rate_limit: RateLimit = Field(default_factory=RateLimit, description="Rate limit.")
    retry: Retry = Field(default_factory=Retry, description="Retry policy.")
    timeout: Annotated[Duration, Between("100ms", "5m")] = Field(
        default=Duration("10s"), description="Timeout of one request."
    )
    send_resolved: bool = Field(default=True, description="Send resolved notifications.")
    templates: Templates | None = Field(default=None, description="Message overrides.")
    grouping: ChannelGrouping | None = Field(
        default=None, description="Grouping defaults for the policies that route here."
    )
    resolved_after_mute: bool = Field(
        default=False,
        description="Send Resolved for an alert this channel was told of that resolved "
        "while silenced, inhibited or in a mute window, when that ends (Alertmanager never "
        "does).",
    )

    def references(self) -> list[ObjectReference]:
        """The TimeIntervals it mutes or activates by."""
        return self.window_references()

    @model_validator(mode="after")
    def _check_block(self) -> NotificationChannelSpec:
        kind = ChannelType(self.type)
        present = [t.block for t in ChannelType if getattr(self, t.block) is not None]
        if present != [kind.block]:
            raise ValueError(
                f"type {kind.value} needs exactly the {kind.block} block; found: "
                f"{', '.join(present) or 'none'}"
            )
        return self

    @property
    def config(self) -> WatchkeeperModel:
        """The config block that matches the type."""
        block: WatchkeeperModel = getattr(self, ChannelType(self.type).block)
        return block


class Delivery(WatchkeeperModel):
    """The outcome of one delivery."""

    time: str = Field(description="When (RFC 3339).")
    outcome: str = Field(description="Delivered, Failed or RateLimited.")
    error: str = Field(default="", description="Why it failed, if it did.")
    event: str = Field(default="", description="The transition: Firing, Resolved, Test, ...")
    alert: str = Field(default="", description="The Alert it was about (empty for a test).")
    attempts: int = Field(default=0, description="Requests made, retries included.")


class DeliveryCounters(WatchkeeperModel):
    """Totals since the channel was created."""

    sent: int = Field(default=0, description="Messages delivered.")
    failed: int = Field(default=0, description="Messages that failed after all retries.")
    rate_limited: int = Field(default=0, description="Messages held back by the rate limit.")


class SendCheck(WatchkeeperModel):
    """The result of the last test message (annotation watchkeeper.io/test)."""

    value: str = Field(description="The annotation value that asked for it.")
    time: str = Field(description="When it was sent.")
    outcome: str = Field(description="Delivered or Failed.")
    error: str = Field(default="", description="Why it failed, if it did.")


class RecentSend(WatchkeeperModel):
    """A message that took a slot of the current rate-limit window."""

    time: str = Field(description="When it was sent (RFC 3339, fractional seconds).")
    key: str = Field(description="Idempotency key of the transition it delivered.")


class HeldNotification(WatchkeeperModel):
    """A notification held back by the rate limit, waiting for the summary."""

    key: str = Field(description="Idempotency key of the transition.")
    text: str = Field(description="One line about it, as the summary lists it.")
    severity: str | None = Field(default=None, description="Its severity.")


class RateLimitStatus(WatchkeeperModel):
    """The rate limiter's state, kept here so an operator restart does not reset it."""

    recent: list[RecentSend] = Field(
        default_factory=list, description="Messages sent in the current window."
    )
    held: int = Field(default=0, description="Notifications held back since the last summary.")
    held_since: str | None = Field(default=None, description="When the first of them was held.")
    held_notifications: list[HeldNotification] = Field(
        default_factory=list, description="The first of them, one by one (the rest are counted)."
    )


class NotificationChannelStatus(WatchkeeperModel):
    """Delivery health of the channel."""

    observed_generation: int | None = Field(default=None, description="Generation last seen.")
    conditions: list[Condition] = conditions_field()
    last_delivery: Delivery | None = Field(default=None, description="The latest delivery.")
    counters: DeliveryCounters = Field(default_factory=DeliveryCounters, description="Totals.")
    last_test: SendCheck | None = Field(default=None, description="The latest test message.")
    rate_limit: RateLimitStatus | None = Field(
        default=None, description="Rate limiter state: the window and what is held back."
    )
    groups: list[GroupStatus] = Field(
        default_factory=list, max_length=200, description="Its groups (with grouping)."
    )


NOTIFICATION_CHANNEL = KindDefinition(
    kind="NotificationChannel",
    plural="notificationchannels",
    short_names=("nc", "channel"),
    spec=NotificationChannelSpec,
    status=NotificationChannelStatus,
    printer_columns=(
        PrinterColumn(name="Type", type="string", json_path=".spec.type"),
        ready_column(),
        PrinterColumn(name="Last Delivery", type="date", json_path=".status.lastDelivery.time"),
        age_column(),
    ),
)
