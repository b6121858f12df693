"""The query client's own HTTP/1.1 layer against raw servers that misbehave the way real
ones do: idle keep-alive connections closed, chunked answers, garbage, huge answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from watchkeeper.prometheus import http
from watchkeeper.prometheus.client import Connection, PrometheusClient, PrometheusUnavailable

EMPTY = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}).encode()
Answer = Callable[[int], bytes]
"""The bytes to send for the n-th request of a connection (0-based); b"" closes it."""


def plain(body: bytes = EMPTY, extra: str = "") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


class RawServer:
    """Counts connections and requests; answers each request with `answer`, once `gate`
    is open."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.gate = asyncio.Event()
        self.gate.set()
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for n in range(100):
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                await self.gate.wait()
                reply = self.answer(n)
                if not reply:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Awaitable[RawServer]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> RawServer:
        raw = RawServer(answer)
        server = await asyncio.start_server(raw.handle, "127.0.0.1", 0)
        servers.append(server)
        raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return raw

    yield start
    for server in servers:
        server.close()


@pytest.fixture
async def client() -> AsyncIterator[PrometheusClient]:
    prometheus_client = PrometheusClient()
    yield prometheus_client
    await prometheus_client.close()


async def test_one_connection_carries_many_queries(serve, client):
    raw = await serve(lambda n: plain())
    for _ in range(5):
        assert await client.query(Connection(raw.url), "up") == []
    assert (raw.connections, len(raw.requests)) == (1, 5)


async def test_an_idle_connection_the_server_closed_is_replaced_without_an_error(serve, client):
    """Servers close idle keep-alive connections (Prometheus after its read timeout)."""
    raw = await serve(lambda n: plain() if n == 0 else b"")
    assert await client.query(Connection(raw.url), "up") == []
    await asyncio.sleep(0.1)  # the server has closed the connection by now
    assert await client.query(Connection(raw.url), "up") == []
    raw.answer = lambda n: b""  # the next one is closed before any answer: an error
    await asyncio.sleep(0.1)
    with pytest.raises(PrometheusUnavailable, match="unreachable: the connection closed"):
        await client.query(Connection(raw.url), "up")


async def test_connection_close_is_honoured(serve, client):
    raw = await serve(lambda n: plain(extra="Connection: close\r\n"))
    for _ in range(3):
        await client.query(Connection(raw.url), "up")
    assert raw.connections == 3


async def test_a_chunked_answer_is_read_whole(serve, client):
    answer = {"status": "success", "data": {"resultType": "scalar", "result": [1, "4.5"]}}
    body = json.dumps(answer).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:7], body[7:]))
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw = await serve(lambda n: head + chunks + b"0\r\n\r\n")
    [sample] = await client.query(Connection(raw.url), "scalar(x)")
    assert sample.value == 4.5


async def test_garbage_and_oversized_answers_are_unavailable(serve, client, monkeypatch):
    raw = await serve(lambda n: b"SMTP ready\r\n\r\n")
    with pytest.raises(PrometheusUnavailable, match="malformed HTTP answer"):
        await client.query(Connection(raw.url), "up")
    monkeypatch.setattr(http, "MAX_ANSWER", 1000)
    raw = await serve(lambda n: plain(b" " * 2000))
    with pytest.raises(PrometheusUnavailable, match="larger than 1000 bytes"):
        await client.query(Connection(raw.url), "up")


async def test_a_header_with_a_line_break_is_never_sent(serve, client):
    """Defence in depth: Secrets with control characters are refused where they are read;
    the HTTP layer refuses them too, without repeating the value."""
    raw = await serve(lambda n: plain())
    forged = Connection(raw.url, headers=(("X-Scope-OrgID", "a\r\nX-Injected: s3cr3t"),))
    with pytest.raises(PrometheusUnavailable) as refused:
        await client.query(forged, "up")
    assert "s3cr3t" not in str(refused.value) and "line break" in str(refused.value)
    assert raw.requests == []


async def test_basic_auth_and_the_host_header(serve, client):
    raw = await serve(lambda n: plain())
    conn = Connection(raw.url + "/prefix", basic_auth=("user", "p\u00e4ss"))
    await client.query(conn, "up")
    [request] = raw.requests
    assert request.startswith(b"POST /prefix/api/v1/query HTTP/1.1\r\n")
    assert f"Host: {raw.url.removeprefix('http://')}\r\n".encode() in request
    assert b"Authorization: Basic dXNlcjpww6Rzcw==\r\n" in request


async def test_cancelling_one_of_identical_queries_spares_the_others(serve, client):
    """Identical queries in flight share one request: a follower that is cancelled leaves
    the request alone; a first caller that is cancelled fails the others, never hangs them."""
    raw = await serve(lambda n: plain())
    conn = Connection(raw.url)
    raw.gate.clear()
    first = asyncio.ensure_future(client.query(conn, "up"))
    follower = asyncio.ensure_future(client.query(conn, "up"))
    await asyncio.sleep(0.05)
    follower.cancel()
    raw.gate.set()
    assert await first == [] and follower.cancelled()
    raw.gate.clear()
    first = asyncio.ensure_future(client.query(conn, "up"))
    follower = asyncio.ensure_future(client.query(conn, "up"))
    await asyncio.sleep(0.05)
    first.cancel()
    with pytest.raises(PrometheusUnavailable, match="identical query in flight was cancelled"):
        await follower
    assert client.requests_sent == 2
    raw.gate.set()
