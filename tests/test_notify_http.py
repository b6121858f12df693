"""Each HTTP-based channel type against a real local HTTP server: the request format of
the service's public API (method, path, headers, body), per transition."""

from __future__ import annotations

import base64

import pytest

from tests.notify_support import FIRING, Cluster, channel, transition
from tests.receivers import Reply
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.message import Event

SLACK_HOOK_PATH = "/services/T000/B000/XXXXsecretXXXX"


@pytest.fixture
def cluster():
    return Cluster()


async def test_webhook_sends_alertmanager_webhook_format(receiver, cluster):
    cluster.secrets[("hook", "token")] = "s3cr3t-header-value"
    spec = {
        "type": "Webhook",
        "webhook": {
            "url": f"{receiver.url}/hook",
            "headers": [
                {"name": "X-Team", "value": "payments"},
                {"name": "Authorization", "valueSecretRef": {"name": "hook", "key": "token"}},
            ],
        },
    }
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("hook", spec), FIRING)
        resolved = await dispatcher.deliver(channel("hook", spec), transition(Event.RESOLVED))
    finally:
        await dispatcher.aclose()
    assert (outcome.outcome, resolved.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
    first, second = receiver.to("/hook")
    assert first.method == "POST"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["x-team"] == "payments"
    assert first.headers["authorization"] == "s3cr3t-header-value"
    assert first.headers["idempotency-key"] == FIRING.idempotency_key
    body = first.json()
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "hook"
    assert body["truncatedAlerts"] == 0
    assert body["groupKey"] == '{}:{watchkeeper_alert="shop/api-error-rate-7f3a9c2e"}'
    (alert,) = body["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "api-error-rate",
        "severity": "Critical",
        "service": "checkout",
        "instance": "checkout-0",
        "watchkeeper_alert": "shop/api-error-rate-7f3a9c2e",
    }
    assert alert["annotations"] == {
        "runbook": "https://runbooks.example/checkout",
        "summary": FIRING.summary,
        "description": FIRING.description,
    }
    assert alert["startsAt"] == FIRING.firing_since
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert len(alert["fingerprint"]) == 16
    assert body["commonLabels"] == alert["labels"]
    assert body["commonAnnotations"] == alert["annotations"]
    assert body["watchkeeper"]["event"] == "Firing"
    done = second.json()
    assert done["status"] == "resolved"
    assert done["alerts"][0]["endsAt"] == "2026-03-01T10:30:00Z"
    assert done["alerts"][0]["fingerprint"] == alert["fingerprint"]


async def test_slack_incoming_webhook_sends_block_kit(receiver, cluster):
    cluster.secrets[("slack", "url")] = f"{receiver.url}{SLACK_HOOK_PATH}"
    spec = {"type": "Slack", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}}
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("slack", spec), FIRING)
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.DELIVERED
    (request,) = receiver.to(SLACK_HOOK_PATH)
    assert request.method == "POST"
    body = request.json()
    assert body["text"] == "Firing [Critical]: Error rate of checkout is 7.4%"
    header, section, fields, context = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": body["text"]}}
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].startswith(FIRING.description)
    texts = [f["text"] for f in fields["fields"]]
    assert "*Severity*\nCritical" in texts
    assert "*Value*\n7.432" in texts
    assert "*Threshold*\n5" in texts
    assert context["type"] == "context"
    assert "`service=checkout`" in context["elements"][0]["text"]


async def test_slack_bot_token_uses_chat_post_message(receiver, cluster):
    cluster.secrets[("slack", "token")] = "xoxb-secret-bot-token"
    receiver.route("/api/chat.postMessage", Reply(body={"ok": True, "ts": "1.2"}))
    spec = {
        "type": "Slack",
        "slack": {
            "tokenSecretRef": {"name": "slack", "key": "token"},
            "channel": "#payments-oncall",
            "apiUrl": f"{receiver.url}/api",
        },
    }
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("slack", spec), FIRING)
        receiver.route(
            "/api/chat.postMessage", Reply(body={"ok": False, "error": "not_in_channel"})
        )
        refused = await dispatcher.deliver(channel("slack", spec), transition(Event.REPEAT))
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.DELIVERED
    first = receiver.to("/api/chat.postMessage")[0]
    assert first.headers["authorization"] == "Bearer xoxb-secret-bot-token"
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    body = first.json()
    assert body["channel"] == "#payments-oncall"
    assert body["blocks"][0]["type"] == "header"
    # Slack reports errors in a 200 answer: not retried, reported
    assert refused.outcome == Outcome.FAILED and not refused.retryable
    assert "not_in_channel" in refused.error
    assert len(receiver.to("/api/chat.postMessage")) == 2


async def test_msteams_sends_an_adaptive_card(receiver, cluster):
    cluster.secrets[("teams", "url")] = f"{receiver.url}/workflows/trigger?sig=secret-signature"
    receiver.default = Reply(status=202, body="")
    spec = {"type": "MSTeams", "msteams": {"webhookUrlSecretRef": {"name": "teams", "key": "url"}}}
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("teams", spec), FIRING)
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.DELIVERED
    (request,) = receiver.to("/workflows/trigger")
    assert request.query == {"sig": "secret-signature"}
    body = request.json()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["version"] == "1.4"
    title, text, facts, labels = card["body"]
    assert title["type"] == "TextBlock" and title["text"].startswith("Firing [Critical]")
    assert title["color"] == "Attention"
    assert text["type"] == "TextBlock" and text["wrap"] is True
    assert facts["type"] == "FactSet"
    assert {"title": "Severity", "value": "Critical"} in facts["facts"]
    assert "service=checkout" in labels["text"]


async def test_pagerduty_trigger_acknowledge_resolve_with_one_dedup_key(receiver, cluster):
    cluster.secrets[("pd", "key")] = "R0UTINGKEY0000000000000000000000"
    receiver.default = Reply(
        status=202, body={"status": "success", "message": "Event processed", "dedup_key": "x"}
    )
    spec = {
        "type": "PagerDuty",
        "pagerduty": {
            "routingKeySecretRef": {"name": "pd", "key": "key"},
            "url": f"{receiver.url}/v2/enqueue",
        },
    }
    events = [
        FIRING,
        transition(Event.SEVERITY_CHANGED, severity="Emergency", previous_severity="Critical"),
        transition(Event.ACKNOWLEDGED),
        transition(Event.RESOLVED),
    ]
    dispatcher = cluster.dispatcher()
    try:
        for n in events:
            assert (await dispatcher.deliver(channel("pd", spec), n)).outcome == Outcome.DELIVERED
    finally:
        await dispatcher.aclose()
    bodies = [r.json() for r in receiver.to("/v2/enqueue")]
    assert [b["event_action"] for b in bodies] == ["trigger", "trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in bodies} == {FIRING.dedup_key}
    assert {b["routing_key"] for b in bodies} == {"R0UTINGKEY0000000000000000000000"}
    payload = bodies[0]["payload"]
    assert payload["summary"] == "Firing [Critical]: Error rate of checkout is 7.4%"
    assert payload["severity"] == "error"
    assert payload["source"] == "checkout-0"
    assert payload["timestamp"] == FIRING.firing_since
    assert payload["custom_details"]["value"] == 7.4321
    assert bodies[1]["payload"]["severity"] == "critical"
    assert "payload" not in bodies[2] and "payload" not in bodies[3]


async def test_opsgenie_create_acknowledge_close_by_alias(receiver, cluster):
    cluster.secrets[("og", "key")] = "og-api-key-secret"
    receiver.default = Reply(status=202, body={"result": "Request will be processed"})
    spec = {
        "type": "Opsgenie",
        "opsgenie": {
            "apiKeySecretRef": {"name": "og", "key": "key"},
            "url": receiver.url,
            "responders": ["payments"],
        },
    }
    dispatcher = cluster.dispatcher()
    try:
        for n in (FIRING, transition(Event.ACKNOWLEDGED), transition(Event.RESOLVED)):
            assert (await dispatcher.deliver(channel("og", spec), n)).outcome == Outcome.DELIVERED
    finally:
        await dispatcher.aclose()
    create, ack, close = receiver.requests
    assert {r.headers["authorization"] for r in receiver.requests} == {"GenieKey og-api-key-secret"}
    assert (create.method, create.target) == ("POST", "/v2/alerts")
    body = create.json()
    assert body["alias"] == FIRING.dedup_key
    assert body["message"] == "Firing [Critical]: Error rate of checkout is 7.4%"
    assert body["priority"] == "P2"
    assert body["responders"] == [{"name": "payments", "type": "team"}]
    assert body["details"]["service"] == "checkout"
    assert body["source"] == "Watchkeeper"
    alias = "watchkeeper%2Fshop%2Fapi-error-rate-7f3a9c2e"
    assert ack.target == f"/v2/alerts/{alias}/acknowledge?identifierType=alias"
    assert ack.json() == {"user": "alice", "source": "Watchkeeper", "note": "rolling back"}
    assert close.target == f"/v2/alerts/{alias}/close?identifierType=alias"


async def test_sms_posts_one_form_per_recipient_with_basic_auth(receiver, cluster):
    cluster.secrets[("twilio", "token")] = "twilio-auth-token"
    receiver.default = Reply(status=201, body={"sid": "SM1", "status": "queued"})
    spec = {
        "type": "SMS",
        "sms": {
            "accountSid": "AC0123",
            "authTokenSecretRef": {"name": "twilio", "key": "token"},
            "from": "+15005550006",
            "to": ["+15551230001", "+15551230002"],
            "apiUrl": receiver.url,
        },
    }
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("sms", spec), FIRING)
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.DELIVERED and outcome.attempts == 2
    requests = receiver.to("/2010-04-01/Accounts/AC0123/Messages.json")
    assert [r.form()["To"] for r in requests] == ["+15551230001", "+15551230002"]
    for request in requests:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        credentials = base64.b64decode(request.headers["authorization"].removeprefix("Basic "))
        assert credentials == b"AC0123:twilio-auth-token"
        assert request.form()["From"] == "+15005550006"
        assert request.form()["Body"].startswith("Firing [Critical]: Error rate of checkout")


async def test_channels_without_acknowledgement_skip_it(receiver, cluster):
    spec = {"type": "Webhook", "webhook": {"url": f"{receiver.url}/hook"}}
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("hook", spec), transition(Event.ACKNOWLEDGED))
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.SKIPPED
    assert "Acknowledged" in outcome.error
    assert receiver.requests == []


async def test_templates_override_title_and_body(receiver, cluster):
    spec = {
        "type": "Webhook",
        "webhook": {"url": f"{receiver.url}/hook"},
        "templates": {
            "title": "{{ labels.service | upper }} at {{ value | round(1) }}",
            "body": "{{ title }} / {{ nope }}",
        },
    }
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("hook", spec), FIRING)
    finally:
        await dispatcher.aclose()
    annotations = receiver.to("/hook")[0].json()["alerts"][0]["annotations"]
    assert annotations["summary"] == "CHECKOUT at 7.4"
    # a broken override falls back to the default, and the outcome says so
    assert annotations["description"] == FIRING.description
    assert outcome.outcome == Outcome.DELIVERED
    assert "templates.body" in outcome.error and "'nope' is undefined" in outcome.error
