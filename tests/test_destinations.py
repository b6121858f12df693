"""Outbound destinations: link-local and metadata addresses are refused by default (after
resolving the host), for channels and for Prometheus alike; loopback and private ranges
stay allowed; the operator's flags allow more or fewer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from tests.notify_support import FIRING, Cluster, channel
from tests.receivers import Reply
from watchkeeper.api.destinations import DestinationPolicy
from watchkeeper.engine.backoff import RetryPolicy
from watchkeeper.notify import http
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.sender import DeliveryFailed, Message, Permanent, Secrets, SendContext
from watchkeeper.notify.webhook import WebhookSender
from watchkeeper.prometheus.client import Connection, DestinationRefused, PrometheusClient

METADATA_REFUSED = (
    "destination 169.254.169.254 is not allowed (link-local/metadata); see --allow-destination"
)


@pytest.mark.parametrize(
    ("allow", "deny", "host", "addresses", "refused_by"),
    [
        ((), (), "169.254.169.254", (), "link-local/metadata"),
        ((), (), "169.254.10.1", (), "link-local/metadata"),
        ((), (), "fe80::1", (), "link-local/metadata"),
        ((), (), "[fd00:ec2::254]", (), "link-local/metadata"),
        ((), (), "::ffff:169.254.169.254", (), "link-local/metadata"),
        ((), (), "metadata.google.internal", (), "link-local/metadata"),
        ((), (), "METADATA.google.internal.", (), "link-local/metadata"),
        ((), (), "hooks.example", ("10.0.0.7", "169.254.169.254"), "link-local/metadata"),
        ((), (), "127.0.0.1", (), None),
        ((), (), "localhost", ("127.0.0.1", "::1"), None),
        ((), (), "hooks.example", ("10.0.0.7", "fd12::1", "8.8.8.8"), None),
        (("169.254.0.0/16",), (), "169.254.10.1", (), None),
        (("169.254.0.0/16",), (), "169.254.169.254", (), "link-local/metadata"),
        (("169.254.169.254",), (), "169.254.169.254", (), None),
        (("169.254.169.254",), (), "metadata.google.internal", (), None),
        ((), ("10.0.0.0/8",), "hooks.example", ("10.1.2.3",), "--deny-destination 10.0.0.0/8"),
        (("10.1.0.0/16",), ("10.0.0.0/8",), "hooks.example", ("10.1.2.3",), None),
        (("10.0.0.0/8",), ("10.0.0.0/8",), "x", ("10.1.2.3",), "--deny-destination 10.0.0.0/8"),
        ((), ("127.0.0.0/8",), "127.0.0.1", (), "--deny-destination 127.0.0.0/8"),
    ],
)
def test_policy(allow, deny, host, addresses, refused_by) -> None:
    refusal = DestinationPolicy.from_flags(allow, deny).refusal(host, addresses)
    if refused_by is None:
        assert refusal is None
    else:
        assert refusal is not None and f"({refused_by}); see --allow-destination" in refusal


def test_the_refusal_names_the_address_and_the_flag() -> None:
    assert DestinationPolicy().refusal("169.254.169.254", ()) == METADATA_REFUSED
    assert DestinationPolicy().refusal("evil.example", ["169.254.169.254"]) == (
        "destination evil.example (169.254.169.254) is not allowed (link-local/metadata); "
        "see --allow-destination"
    )


def test_a_flag_that_is_not_a_range_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an IP address or CIDR range"):
        DestinationPolicy.from_flags(deny=["10.0.0.0/33"])


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/latest/meta-data/",  # the same address, as one number
        "http://[::ffff:a9fe:a9fe]/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_a_webhook_to_the_metadata_service_fails_for_good(url) -> None:
    cluster = Cluster()
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(
            channel("meta", {"type": "Webhook", "webhook": {"url": url}}), FIRING
        )
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.FAILED and not outcome.retryable and outcome.final
    assert outcome.attempts == 1
    assert "is not allowed (link-local/metadata); see --allow-destination" in outcome.error
    assert cluster.status("meta")["lastDelivery"]["error"] == outcome.error


async def test_e_mail_to_a_link_local_server_fails_for_good() -> None:
    spec = {
        "type": "Email",
        "email": {
            "smtp": {"host": "169.254.169.254", "port": 25, "tls": "None"},
            "from": "watchkeeper@example.com",
            "to": ["ops@example.com"],
        },
    }
    cluster = Cluster()
    dispatcher = cluster.dispatcher()
    try:
        outcome = await dispatcher.deliver(channel("mail", spec), FIRING)
    finally:
        await dispatcher.aclose()
    assert outcome.outcome == Outcome.FAILED and not outcome.retryable
    assert outcome.error == f"smtp://169.254.169.254:25: {METADATA_REFUSED}"


def _context(client: httpx.AsyncClient, url: str, policy: DestinationPolicy) -> SendContext:
    spec = {"type": "Webhook", "webhook": {"url": url}}
    return SendContext(
        channel=channel("hook", spec),
        notification=FIRING,
        message=Message("title", "body"),
        secrets=Secrets(Cluster().read_secret, "shop"),
        client=client,
        retry=RetryPolicy(max_attempts=1, initial_backoff=0.01, max_backoff=0.01),
        timeout=2.0,
        now=datetime.now(UTC),
        sleep=asyncio.sleep,
        destinations=policy,
    )


async def test_loopback_is_allowed_by_default_and_can_be_denied(receiver) -> None:
    async with httpx.AsyncClient() as client:
        await WebhookSender().send(_context(client, f"{receiver.url}/hook", DestinationPolicy()))
        assert len(receiver.to("/hook")) == 1
        denied = DestinationPolicy.from_flags(deny=["127.0.0.0/8"])
        with pytest.raises(DeliveryFailed, match=r"\(--deny-destination 127.0.0.0/8\)") as info:
            await WebhookSender().send(_context(client, f"{receiver.url}/hook", denied))
    assert not info.value.retryable
    assert len(receiver.to("/hook")) == 1  # nothing was sent


async def test_an_answer_from_a_refused_address_is_dropped(receiver) -> None:
    """The address an answer came from is checked too (DNS may change after the check)."""
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", f"{receiver.url}/x") as response,
    ):
        http.check_peer(response, DestinationPolicy())
        with pytest.raises(Permanent, match=r"destination 127\.0\.0\.1 is not allowed"):
            http.check_peer(response, DestinationPolicy.from_flags(deny=["127.0.0.1"]))


PROMETHEUS_ANSWER = {"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}}


async def test_prometheus_at_a_metadata_address_is_refused(receiver) -> None:
    receiver.default = Reply(body=PROMETHEUS_ANSWER)
    client = PrometheusClient()
    try:
        with pytest.raises(DestinationRefused) as info:
            await client.query(Connection("http://169.254.169.254:9090"), "up")
        [sample] = await client.query(Connection(receiver.url), "up")
    finally:
        await client.close()
    assert str(info.value) == f"Prometheus at http://169.254.169.254:9090: {METADATA_REFUSED}"
    assert client.requests_sent == 1 and sample.value == 1


async def test_prometheus_destinations_follow_the_flags(receiver) -> None:
    receiver.default = Reply(body=PROMETHEUS_ANSWER)
    client = PrometheusClient(destinations=DestinationPolicy.from_flags(deny=["127.0.0.1/32"]))
    try:
        with pytest.raises(DestinationRefused, match=r"--deny-destination 127.0.0.1/32"):
            await client.query(Connection(receiver.url), "up")
    finally:
        await client.close()
    assert receiver.requests == []
