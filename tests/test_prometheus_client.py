"""The Prometheus client against a real Prometheus."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import pytest

from tests.receivers import Reply
from watchkeeper.prometheus.client import (
    Connection,
    PrometheusClient,
    PrometheusUnavailable,
    QueryRejected,
)

pytestmark = pytest.mark.prometheus


@pytest.fixture
async def client():
    prometheus_client = PrometheusClient()
    yield prometheus_client
    await prometheus_client.close()


async def test_series_come_back_with_labels_and_values(prometheus, exporter, client):
    exporter.set("wk_client_queue_depth", 7, {"queue": "a"})
    exporter.set("wk_client_queue_depth", 9.5, {"queue": "b"})
    prometheus.wait_for(
        "count(wk_client_queue_depth)", lambda r: bool(r) and r[0]["value"][1] == "2"
    )
    samples = await client.query(Connection(prometheus.url), "wk_client_queue_depth")
    got = {s.labels["queue"]: s.value for s in samples}
    assert got == {"a": 7, "b": 9.5}
    assert all(s.labels["job"] == "exporter" for s in samples)


async def test_a_query_is_a_form_post_with_the_connection_headers(receiver, client):
    """The request as Prometheus's HTTP API documents it (the body is encoded by the
    client itself), asking for an uncompressed answer."""
    answer = {"status": "success", "data": {"resultType": "vector", "result": []}}
    receiver.default = Reply(200, body=answer)
    conn = Connection(receiver.url + "/prom/", headers=(("X-Scope-OrgID", "team a"),))
    at = datetime(2026, 12, 4, 12, 0, 0, 250000, tzinfo=UTC)
    assert await client.query(conn, 'up{job="a b"} > 0', at) == []
    [request] = receiver.wait_for(1, "/prom/api/v1/query")
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["accept-encoding"] == "identity"  # inflating cost more CPU
    assert request.headers["x-scope-orgid"] == "team a"
    assert request.form() == {"query": 'up{job="a b"} > 0', "time": f"{at.timestamp():.3f}"}


async def test_scalar_and_nan(prometheus, client):
    [scalar] = await client.query(Connection(prometheus.url), "scalar(vector(3))")
    assert scalar.value == 3 and dict(scalar.labels) == {}
    [nan] = await client.query(Connection(prometheus.url), "vector(0) / 0 * 0 + NaN")
    assert math.isnan(nan.value)


async def test_invalid_promql_carries_prometheus_own_message(prometheus, client):
    with pytest.raises(QueryRejected, match="parse error"):
        await client.query(Connection(prometheus.url), "sum(rate(x[5m])")


async def test_range_vector_is_rejected(prometheus, client):
    with pytest.raises(QueryRejected, match="matrix"):
        await client.query(Connection(prometheus.url), "up[1m]")


async def test_unreachable_and_slow_servers_are_unavailable(client, unused_tcp_port):
    with pytest.raises(PrometheusUnavailable, match="unreachable"):
        await client.query(Connection(f"http://127.0.0.1:{unused_tcp_port}"), "up")

    async def never_answer(reader, writer):
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(PrometheusUnavailable, match=r"did not answer within 0\.3s"):
            await client.query(Connection(f"http://127.0.0.1:{port}", timeout=0.3), "up")
    finally:
        server.close()


async def test_identical_concurrent_queries_are_sent_once(prometheus, client):
    at = datetime.now(UTC)
    conn = Connection(prometheus.url)
    results = await asyncio.gather(*(client.query(conn, "vector(1)", at) for _ in range(20)))
    assert client.requests_sent == 1
    assert all(r[0].value == 1 for r in results)
    await client.query(conn, "vector(2)", at)
    await client.query(conn, "vector(1)", at)  # no longer in flight: sent again
    assert client.requests_sent == 3


async def test_credentials_do_not_show_in_the_connection_repr():
    conn = Connection(
        "http://p:9090", headers=(("Authorization", "Bearer s3cr3t"),), basic_auth=("u", "pw")
    )
    assert "s3cr3t" not in repr(conn) and "pw" not in repr(conn)
