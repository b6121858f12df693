"""The channel types and their senders: one explicit table."""

from __future__ import annotations

from watchkeeper.api.notificationchannel import ChannelType
from watchkeeper.notify.alertmanager import AlertmanagerSender
from watchkeeper.notify.email import EmailSender
from watchkeeper.notify.log import LogSender
from watchkeeper.notify.msteams import MSTeamsSender
from watchkeeper.notify.opsgenie import OpsgenieSender
from watchkeeper.notify.pagerduty import PagerDutySender
from watchkeeper.notify.sender import Sender
from watchkeeper.notify.slack import SlackSender
from watchkeeper.notify.sms import SMSSender
from watchkeeper.notify.webhook import WebhookSender

SENDERS: dict[ChannelType, Sender] = {
    ChannelType.WEBHOOK: WebhookSender(),
    ChannelType.SLACK: SlackSender(),
    ChannelType.MSTEAMS: MSTeamsSender(),
    ChannelType.PAGERDUTY: PagerDutySender(),
    ChannelType.OPSGENIE: OpsgenieSender(),
    ChannelType.EMAIL: EmailSender(),
    ChannelType.SMS: SMSSender(),
    ChannelType.ALERTMANAGER: AlertmanagerSender(),
    ChannelType.LOG: LogSender(),
}
