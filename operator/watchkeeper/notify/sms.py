"""SMS through the Twilio Messages API: one form-encoded POST per recipient, with basic
auth AccountSid:AuthToken."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from watchkeeper.api.notificationchannel import SMSConfig
from watchkeeper.notify import http
from watchkeeper.notify.message import Event
from watchkeeper.notify.sender import ALERT_EVENTS, SendContext
from watchkeeper.notify.templates import SHORT_BODY, TITLE, cut

MAX_BODY = 1600
"""Twilio's limit on a message body."""


class SMSSender:
    """POST {api}/2010-04-01/Accounts/{sid}/Messages.json with To, From, Body."""

    events: ClassVar[frozenset[Event]] = ALERT_EVENTS
    stateful: ClassVar[bool] = False
    title_template: ClassVar[str] = TITLE
    body_template: ClassVar[str] = SHORT_BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(SMSConfig)
        token = await ctx.secrets.get(config.auth_token_secret_ref)
        sid = quote(config.account_sid, safe="")
        url = f"{config.api_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        text = cut(ctx.message.body or ctx.message.title, MAX_BODY)
        for number in config.to:
            form = {"To": number, "From": config.from_, "Body": text}
            await http.send(
                ctx, http.HttpRequest("POST", url, form=form, auth=(config.account_sid, token))
            )
