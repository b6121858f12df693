"""The Email channel against a real SMTP server (aiosmtpd) with authentication, over
STARTTLS, implicit TLS and plain SMTP, with a self-signed certificate made in the test."""

from __future__ import annotations

import pytest

from tests.notify_support import FIRING, Cluster, channel, transition
from tests.receivers import SmtpReceiver
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.message import Event

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"  # implicit TLS is encrypted
)
PASSWORD = "smtp-pass-w0rd-secret"


def email_spec(server: SmtpReceiver, **smtp):
    return {
        "type": "Email",
        "email": {
            "smtp": {
                "host": "127.0.0.1",
                "port": server.port,
                "tls": server.tls,
                "usernameSecretRef": {"name": "smtp", "key": "username"},
                "passwordSecretRef": {"name": "smtp", "key": "password"},
                "caSecretRef": {"name": "smtp", "key": "ca.crt"},
                **smtp,
            },
            "from": "alerts@example.com",
            "to": ["oncall@example.com", "leads@example.com"],
        },
    }


def secrets(server: SmtpReceiver) -> Cluster:
    return Cluster(
        secrets={
            ("smtp", "username"): "watchkeeper",
            ("smtp", "password"): PASSWORD,
            ("smtp", "ca.crt"): server.ca_pem,
        }
    )


@pytest.mark.parametrize("tls", ["StartTLS", "TLS", "None"])
async def test_email_with_text_and_html_parts(tmp_path, tls):
    with SmtpReceiver(tmp_path, tls, "watchkeeper", PASSWORD) as server:
        cluster = secrets(server)
        dispatcher = cluster.dispatcher()
        try:
            outcome = await dispatcher.deliver(channel("mail", email_spec(server)), FIRING)
        finally:
            await dispatcher.aclose()
    assert outcome.outcome == Outcome.DELIVERED, outcome.error
    (mail,) = server.mails
    assert mail.login == "watchkeeper"
    assert mail.tls == (tls != "None")
    assert mail.mail_from == "alerts@example.com"
    assert mail.rcpt_tos == ["oncall@example.com", "leads@example.com"]
    message = mail.message
    assert message["Subject"] == "Firing [Critical]: Error rate of checkout is 7.4%"
    assert message["To"] == "oncall@example.com, leads@example.com"
    assert message["X-Watchkeeper-Idempotency-Key"].strip() == FIRING.idempotency_key
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert FIRING.description in text and "Value: 7.432 (threshold 5)" in text
    assert "<h2>Firing [Critical]: Error rate of checkout is 7.4%</h2>" in html


async def test_messages_of_one_alert_thread_and_repeat_the_same_message_id(tmp_path):
    with SmtpReceiver(tmp_path, "StartTLS", "watchkeeper", PASSWORD) as server:
        cluster = secrets(server)
        dispatcher = cluster.dispatcher()
        spec = email_spec(server)
        try:
            for n in (FIRING, transition(Event.RESOLVED), FIRING):
                await dispatcher.deliver(channel("mail", spec), n)
        finally:
            await dispatcher.aclose()
    firing, resolved, again = (m.message for m in server.mails)
    assert firing["Message-ID"] != resolved["Message-ID"]
    assert firing["Message-ID"] == again["Message-ID"]  # the same transition, the same id
    assert firing["References"] == resolved["References"] == firing["In-Reply-To"]


async def test_a_wrong_password_is_not_retried_and_not_revealed(tmp_path):
    with SmtpReceiver(tmp_path, "StartTLS", "watchkeeper", "other-password") as server:
        cluster = secrets(server)
        dispatcher = cluster.dispatcher()
        try:
            outcome = await dispatcher.deliver(channel("mail", email_spec(server)), FIRING)
        finally:
            await dispatcher.aclose()
    assert outcome.outcome == Outcome.FAILED and not outcome.retryable
    assert outcome.attempts == 1
    assert "SMTP 535" in outcome.error
    assert PASSWORD not in outcome.error + str(cluster.writes)
    assert server.mails == []


async def test_a_temporary_smtp_failure_is_retried(tmp_path):
    with SmtpReceiver(tmp_path, "StartTLS", "watchkeeper", PASSWORD) as server:
        server.fail_next("451 4.3.0 try again later")
        cluster = secrets(server)
        dispatcher = cluster.dispatcher()
        try:
            outcome = await dispatcher.deliver(channel("mail", email_spec(server)), FIRING)
        finally:
            await dispatcher.aclose()
    assert outcome.outcome == Outcome.DELIVERED and outcome.attempts == 2
    assert server.attempts == 2 and len(server.mails) == 1


async def test_an_untrusted_certificate_fails_without_retry(tmp_path):
    with SmtpReceiver(tmp_path, "TLS", "watchkeeper", PASSWORD) as server:
        cluster = secrets(server)
        spec = email_spec(server)
        del spec["email"]["smtp"]["caSecretRef"]
        dispatcher = cluster.dispatcher()
        try:
            outcome = await dispatcher.deliver(channel("mail", spec), FIRING)
        finally:
            await dispatcher.aclose()
    assert outcome.outcome == Outcome.FAILED and not outcome.retryable
    assert "TLS failed" in outcome.error and "CERTIFICATE_VERIFY_FAILED" in outcome.error
