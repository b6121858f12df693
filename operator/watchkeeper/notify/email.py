"""E-mail over SMTP (aiosmtplib): STARTTLS, implicit TLS or plain, optional login, a
text and an HTML part. The Message-ID comes from the transition's idempotency key (a
repeated delivery is the same message to the mail system), and References from the
alert's key, so mail clients thread an alert's messages together."""

from __future__ import annotations

import hashlib
import html
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import ClassVar

import aiosmtplib

from watchkeeper.api.notificationchannel import EmailConfig, TLSMode
from watchkeeper.notify.http import check_destination
from watchkeeper.notify.message import Event
from watchkeeper.notify.sender import ALERT_EVENTS, Permanent, SendContext, Transient
from watchkeeper.notify.templates import BODY, TITLE


def _message_id(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build(ctx: SendContext) -> EmailMessage:
    """The multipart/alternative message."""
    config = ctx.config(EmailConfig)
    n, m = ctx.notification, ctx.message
    domain = config.from_.rpartition("@")[2] or "watchkeeper"
    message = EmailMessage()
    message["Subject"] = m.title
    message["From"] = config.from_
    message["To"] = ", ".join(config.to)
    message["Date"] = format_datetime(ctx.now)
    message["Message-ID"] = _message_id(n.idempotency_key, domain)
    if n.event not in (Event.TEST, Event.SUMMARY):
        thread = _message_id(n.dedup_key, domain)
        message["References"] = thread
        message["In-Reply-To"] = thread
    message["X-Watchkeeper-Idempotency-Key"] = n.idempotency_key
    message.set_content(m.body or m.title)
    message.add_alternative(
        "<!DOCTYPE html><html><body>"
        f"<h2>{html.escape(m.title)}</h2>"
        f'<div style="white-space: pre-wrap">{html.escape(m.body)}</div>'
        "</body></html>",
        subtype="html",
    )
    return message


def _tls_cause(error: BaseException | None) -> ssl.SSLError | None:
    """The TLS error behind `error` (aiosmtplib wraps it in SMTPConnectError), if any."""
    while error is not None and not isinstance(error, ssl.SSLError):
        error = error.__cause__ or error.__context__
    return error


def _classify(error: Exception) -> Exception:
    """SMTP 4xx and connection trouble may pass; 5xx, a refused login, TLS failures and
    missing server features do not."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients]
        text = f"recipients refused (codes {', '.join(map(str, codes))})"
        return Transient(text) if any(c < 500 for c in codes) else Permanent(text)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        text = f"SMTP {error.code} {error.message}"
        return Transient(text) if error.code < 500 else Permanent(text)
    tls_error = _tls_cause(error)
    if tls_error is not None:
        return Permanent(f"TLS failed: {tls_error.reason or tls_error}")
    if isinstance(error, aiosmtplib.SMTPTimeoutError):
        return Transient("the SMTP server did not answer in time")
    if isinstance(error, OSError):  # connection refused, reset, closed
        return Transient(f"{type(error).__name__} {error}".strip())
    return Permanent(str(error))  # e.g. the server offers no AUTH or no STARTTLS


class EmailSender:
    """One SMTP transaction for all recipients."""

    events: ClassVar[frozenset[Event]] = ALERT_EVENTS
    stateful: ClassVar[bool] = False
    title_template: ClassVar[str] = TITLE
    body_template: ClassVar[str] = BODY

    async def send(self, ctx: SendContext) -> None:
        config = ctx.config(EmailConfig)
        smtp = config.smtp
        username = password = None
        if smtp.username_secret_ref is not None:
            username = await ctx.secrets.get(smtp.username_secret_ref)
        if smtp.password_secret_ref is not None:
            password = await ctx.secrets.get(smtp.password_secret_ref)
        tls_context = None
        if smtp.ca_secret_ref is not None:
            tls_context = ssl.create_default_context(
                cadata=await ctx.secrets.get(smtp.ca_secret_ref, multiline=True)
            )
        message = build(ctx)

        async def attempt() -> None:
            await check_destination(smtp.host, ctx.destinations, ctx.timeout)
            try:
                await aiosmtplib.send(
                    message,
                    hostname=smtp.host,
                    port=smtp.port,
                    username=username,
                    password=password,
                    use_tls=smtp.tls == TLSMode.TLS,
                    start_tls=smtp.tls == TLSMode.STARTTLS,
                    tls_context=tls_context,
                    timeout=ctx.timeout,
                )
            except (aiosmtplib.SMTPException, OSError) as error:
                raise _classify(error) from None

        await ctx.retrying(attempt, f"smtp://{smtp.host}:{smtp.port}")
