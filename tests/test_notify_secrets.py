"""Secret values never reach an outcome, a status or the log, in any representation: a
value with a control character is refused by name, never shown; whatever a receiver
answers is not copied; scrubbing masks every encoding of a value it has seen."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest

from tests.notify_support import FIRING, Cluster, channel
from tests.receivers import Reply
from watchkeeper.api.common import SecretKeyRef
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.sender import DeliveryFailed, Secrets

TOKEN = 'Bearer s3cr3t/t0k+n"ü'
HEADER_TOKEN = 'Bearer s3cr3t/t0k+n"=&%'  # a header value must be ASCII


def every_form(value: str) -> list[str]:
    data = value.encode()
    return [
        value,
        repr(value)[1:-1],
        repr(data)[2:-1],
        json.dumps(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value),
        base64.b64encode(data).decode(),
        base64.b64encode(b"user:" + data).decode(),  # inside basic auth
    ]


def webhook_with_secret_header(url: str) -> dict:
    ref = {"name": "hook-auth", "key": "token"}
    return {
        "type": "Webhook",
        "webhook": {"url": url, "headers": [{"name": "Authorization", "valueSecretRef": ref}]},
    }


@pytest.mark.parametrize("value", ["Bearer abc\nX-Evil: 1", "abc\r\ndef", "a\x00b", "a\x85b"])
async def test_a_value_with_a_control_character_is_refused_by_name(receiver, caplog, value) -> None:
    cluster = Cluster(secrets={("hook-auth", "token"): value})
    dispatcher = cluster.dispatcher()
    with caplog.at_level(logging.DEBUG):
        try:
            outcome = await dispatcher.deliver(
                channel("hook", webhook_with_secret_header(f"{receiver.url}/hook")), FIRING
            )
        finally:
            await dispatcher.aclose()
    assert outcome.outcome == Outcome.FAILED and outcome.retryable
    assert outcome.error == (
        "Secret hook-auth key token holds a control character (a line break?) inside its "
        "value; remove it"
    )
    assert receiver.requests == []  # nothing was sent
    shown = outcome.error + json.dumps(cluster.writes) + caplog.text
    for part in ("abc", "X-Evil", "def", "a\\x", "\\n", "\\r"):
        assert part not in shown


async def test_a_leading_or_trailing_line_break_is_trimmed_not_refused(receiver) -> None:
    cluster = Cluster(secrets={("hook-auth", "token"): "Bearer abc\n"})
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(
            channel("hook", webhook_with_secret_header(f"{receiver.url}/hook")), FIRING
        )
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.DELIVERED
    assert receiver.to("/hook")[0].headers["authorization"] == "Bearer abc"


@pytest.mark.parametrize("status", [400, 401, 500])
async def test_an_answer_echoing_the_secret_is_never_copied(receiver, caplog, status) -> None:
    receiver.default = Reply(status, body="\n".join(every_form(HEADER_TOKEN)))
    cluster = Cluster(secrets={("hook-auth", "token"): HEADER_TOKEN})
    dispatcher = cluster.dispatcher()
    with caplog.at_level(logging.DEBUG):
        try:
            outcome = await dispatcher.deliver(
                channel("hook", webhook_with_secret_header(f"{receiver.url}/hook")), FIRING
            )
        finally:
            await dispatcher.aclose()
    assert outcome.outcome == Outcome.FAILED
    assert receiver.requests[0].headers["authorization"] == HEADER_TOKEN
    shown = outcome.error + json.dumps(cluster.writes) + caplog.text
    assert "s3cr3t" not in shown and "czNjcjN0" not in shown  # nor its base64
    for form in every_form(HEADER_TOKEN):
        assert form not in shown


async def test_scrub_masks_every_representation() -> None:
    cluster = Cluster(secrets={("s", "k"): TOKEN})
    secrets = Secrets(cluster.read_secret, "shop")
    assert await secrets.get(SecretKeyRef(name="s", key="k")) == TOKEN
    for form in every_form(TOKEN):
        scrubbed = secrets.scrub(f"error near <{form}> here")
        assert scrubbed.startswith("error near <") and scrubbed.endswith("> here")
        assert "***" in scrubbed and form not in scrubbed and "s3cr3t" not in scrubbed


async def test_a_certificate_may_span_lines_but_not_hold_other_controls() -> None:
    pem = "-----BEGIN CERTIFICATE-----\r\nMIIB\nMIIC\n-----END CERTIFICATE-----"
    cluster = Cluster(secrets={("ca", "pem"): pem, ("bad", "pem"): pem.replace("MIIC", "\x00")})
    secrets = Secrets(cluster.read_secret, "shop")
    assert await secrets.get(SecretKeyRef(name="ca", key="pem"), multiline=True) == pem
    with pytest.raises(DeliveryFailed, match="Secret bad key pem holds a control character"):
        await secrets.get(SecretKeyRef(name="bad", key="pem"), multiline=True)
    with pytest.raises(DeliveryFailed, match="Secret ca key pem holds a control character"):
        await secrets.get(SecretKeyRef(name="ca", key="pem"))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"ok": False, "error": "channel_not_found"}, "Slack error channel_not_found"),
        ({"ok": False, "error": f"invalid_auth for {TOKEN}"}, "Slack error (unrecognized error)"),
        (["not", "an", "object"], "Slack answered with something other than a JSON object"),
    ],
)
async def test_slack_errors_show_only_a_documented_error_code(receiver, answer, error) -> None:
    cluster = Cluster(secrets={("slack", "token"): "xoxb-0000-secret"})
    receiver.default = Reply(200, body=answer)
    spec = {
        "type": "Slack",
        "slack": {
            "tokenSecretRef": {"name": "slack", "key": "token"},
            "channel": "#ops",
            "apiUrl": receiver.url,
        },
    }
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("slack", spec), FIRING)
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.FAILED
    assert outcome.error == f"{receiver.url}: {error}"
