"""Retries, timeouts and isolation against a real local HTTP server with injected faults:
5xx and network errors are retried with backoff, 429 waits for Retry-After, other 4xx
are not retried, a slow or dead channel delays no other, and no secret value appears in
any outcome."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest

from tests.notify_support import FIRING, Cluster, channel
from tests.receivers import Reply, refused_url
from watchkeeper.notify.dispatch import Outcome

SECRET_PATH = "/services/T1/B2/very-secret-token-123456"


def webhook(url: str, **spec):
    return {"type": "Webhook", "webhook": {"url": url}, **spec}


def slack(cluster: Cluster, url: str, **spec):
    cluster.secrets[("slack", "url")] = url
    return {
        "type": "Slack",
        "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}},
        **spec,
    }


async def deliver(cluster: Cluster, spec: dict, name: str = "ch"):
    dispatcher = cluster.dispatcher()
    try:
        return await dispatcher.deliver(channel(name, spec), FIRING)
    finally:
        await dispatcher.aclose()


async def test_5xx_is_retried_with_growing_waits_until_it_passes(receiver):
    receiver.queue(Reply(500), Reply(503))
    spec = webhook(
        f"{receiver.url}/hook",
        retry={"maxAttempts": 5, "initialBackoff": "200ms", "maxBackoff": "1s"},
    )
    outcome = await deliver(Cluster(), spec)
    assert outcome.outcome == Outcome.DELIVERED and outcome.attempts == 3
    times = [r.time for r in receiver.to("/hook")]
    assert [r.status for r in receiver.to("/hook")] == [500, 503, 200]
    first_wait, second_wait = times[1] - times[0], times[2] - times[1]
    # equal jitter: the n-th wait is within [ceiling/2, ceiling], the ceiling doubling
    assert 0.1 <= first_wait < 0.35
    assert 0.2 <= second_wait < 0.55
    # every attempt is the same transition: the same idempotency key
    assert {r.headers["idempotency-key"] for r in receiver.to("/hook")} == {FIRING.idempotency_key}


async def test_retries_run_out_and_the_failure_is_retryable(receiver):
    receiver.default = Reply(502, body="bad gateway")
    outcome = await deliver(Cluster(), webhook(f"{receiver.url}/hook"))
    assert outcome.outcome == Outcome.FAILED and outcome.retryable and not outcome.final
    assert outcome.attempts == 3 and len(receiver.requests) == 3
    assert "HTTP 502 Bad Gateway" in outcome.error and "bad gateway" not in outcome.error
    assert "gave up after 3 attempts" in outcome.error


async def test_429_waits_for_retry_after(receiver):
    receiver.queue(Reply(429, headers={"Retry-After": "1"}, body="slow down"))
    spec = webhook(f"{receiver.url}/hook", retry={"maxAttempts": 3, "initialBackoff": "10ms"})
    outcome = await deliver(Cluster(), spec)
    assert outcome.outcome == Outcome.DELIVERED and outcome.attempts == 2
    first, second = receiver.to("/hook")
    assert 1.0 <= second.time - first.time < 1.6


async def test_429_asking_longer_than_max_backoff_gives_up_retryably(receiver):
    receiver.queue(Reply(429, headers={"Retry-After": "3600"}))
    outcome = await deliver(Cluster(), webhook(f"{receiver.url}/hook"))
    assert outcome.outcome == Outcome.FAILED and outcome.retryable
    assert outcome.attempts == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
async def test_other_4xx_are_not_retried(receiver, status):
    receiver.default = Reply(status, body="nope")
    outcome = await deliver(Cluster(), webhook(f"{receiver.url}/hook"))
    assert outcome.outcome == Outcome.FAILED and not outcome.retryable and outcome.final
    assert outcome.attempts == 1 and len(receiver.requests) == 1
    assert outcome.error.endswith(f"HTTP {status} {HTTPStatus(status).phrase}")
    assert "nope" not in outcome.error  # never the body of the answer


async def test_refused_connection_is_retried_then_fails():
    outcome = await deliver(Cluster(), webhook(f"{refused_url()}/hook"))
    assert outcome.outcome == Outcome.FAILED and outcome.retryable
    assert outcome.attempts == 3
    assert "ConnectError" in outcome.error


async def test_a_slow_answer_times_out_per_request(receiver):
    receiver.queue(Reply(delay=3.0))
    spec = webhook(f"{receiver.url}/hook", timeout="300ms")
    started = time.monotonic()
    outcome = await deliver(Cluster(), spec)
    assert outcome.outcome == Outcome.DELIVERED and outcome.attempts == 2
    assert time.monotonic() - started < 2.0


async def test_a_slow_or_dead_channel_does_not_delay_the_others(receiver):
    receiver.route("/slow", Reply(delay=2.5))
    receiver.route("/fast", Reply())
    cluster = Cluster()
    dead = {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s"}
    channels = [
        channel("slow", webhook(f"{receiver.url}/slow", timeout="2s", retry=dead)),
        channel("dead", webhook(f"{refused_url()}/x", retry=dead)),
        channel("fast", webhook(f"{receiver.url}/fast")),
    ]
    dispatcher = cluster.dispatcher()
    try:
        started = time.monotonic()
        outcomes = await dispatcher.deliver_many(channels, FIRING)
        elapsed = time.monotonic() - started
    finally:
        await dispatcher.aclose()
    by_name = {o.channel: o for o in outcomes}
    assert by_name["fast"].outcome == Outcome.DELIVERED
    assert (
        by_name["slow"].outcome == Outcome.FAILED and "no answer within 2s" in by_name["slow"].error
    )
    assert by_name["dead"].outcome == Outcome.FAILED
    # the fast channel got its message at once, not after the others gave up
    (fast,) = receiver.to("/fast")
    assert fast.time - receiver.to("/slow")[0].time < 0.5
    # concurrent: about the slowest channel's time (2 x 2 s + backoff), not the sum
    assert elapsed < 6.5


async def test_secret_values_never_appear_in_outcomes_or_status(receiver):
    cluster = Cluster()
    # the receiver echoes the URL (with its token) back in a 4xx body
    receiver.default = Reply(404, body=f"no such hook: {receiver.url}{SECRET_PATH}")
    spec = slack(cluster, f"{receiver.url}{SECRET_PATH}")
    outcome = await deliver(cluster, spec, "slack")
    assert outcome.outcome == Outcome.FAILED
    assert outcome.error == f"{receiver.url}: HTTP 404 Not Found"  # the host, not the path
    assert "very-secret-token" not in str(cluster.writes)

    dead = slack(cluster, f"{refused_url()}{SECRET_PATH}")
    outcome = await deliver(cluster, dead, "slack")
    assert outcome.outcome == Outcome.FAILED
    assert "very-secret-token" not in outcome.error + str(cluster.writes)


async def test_a_missing_secret_fails_retryably_without_a_request(receiver):
    spec = {"type": "Slack", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}}
    outcome = await deliver(Cluster(), spec)
    assert outcome.outcome == Outcome.FAILED and outcome.retryable
    assert outcome.error == "Secret slack has no key url"
    assert receiver.requests == []
