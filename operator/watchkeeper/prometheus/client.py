"""The one Prometheus client: async instant queries with timeouts, typed errors, and
identical in-flight queries (same server, credentials, expression and time) sent once."""

from __future__ import annotations

import asyncio
import json
import time
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode, urlsplit

from watchkeeper.api.destinations import DestinationPolicy
from watchkeeper.prometheus.http import HttpFailure, HttpPool


class PrometheusError(Exception):
    """A query did not produce a result."""


class QueryRejected(PrometheusError):
    """Prometheus refused the query (invalid PromQL, wrong result type): fix the query."""


class PrometheusUnavailable(PrometheusError):
    """Prometheus could not be reached, timed out or failed: try again later."""


class DestinationRefused(PrometheusUnavailable):
    """The destination policy refuses the server's address (link-local, metadata, a flag)."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant-vector result."""

    labels: Mapping[str, str]
    value: float

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """The label set as a hashable, order-independent key."""
        return tuple(sorted(self.labels.items()))


@dataclass(frozen=True)
class Connection:
    """Where and how to query; credentials are already resolved from Secrets."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    ca_pem: str | None = None
    timeout: float = 10.0
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never show header values (tokens) in logs or errors
        return f"Connection(url={self.url!r})"


QUERY_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Encoding": "identity"}
"""Sent with every query unless the connection sets them. An answer is not gzipped: that
cost more CPU to inflate (and Prometheus to deflate) than the few hundred bytes of an
alerting query's answer are worth (README, "Scale")."""
QueryKey = tuple[Connection, str, float | None]
"""A query in flight: where, what, at which instant (None: now)."""
DESTINATION_RECHECK = 60.0
"""Seconds an allowed server stays allowed before its name is resolved and checked again."""


class PrometheusClient:
    """Instant queries against any number of Prometheus servers, at most `max_in_flight`
    requests at a time: the rest wait inside the operator (`waiting`), and a query's
    timeout starts only once it is sent, so the operator's own queue is never reported as
    Prometheus being slow."""

    def __init__(
        self, max_in_flight: int = 32, destinations: DestinationPolicy | None = None
    ) -> None:
        self._destinations = destinations or DestinationPolicy()
        self._checked: dict[str, float] = {}  # URL -> when its destination was last allowed
        self._http = HttpPool()
        self._in_flight: dict[QueryKey, asyncio.Future[list[Sample]]] = {}
        self._slots = asyncio.Semaphore(max_in_flight)
        self.requests_sent = 0
        self.sending = 0
        self.waiting = 0

    async def query(self, conn: Connection, expr: str, at: datetime | None = None) -> list[Sample]:
        """Evaluate `expr` at `at` (default: now, on the server); one request for identical
        concurrent calls: the first caller sends it, the others wait for its answer."""
        key = (conn, expr, at.timestamp() if at else None)
        shared = self._in_flight.get(key)
        if shared is not None:
            return await asyncio.shield(shared)  # a caller cancelled leaves the others be
        shared = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            samples = await self._send(conn, expr, key[2])
        except BaseException as error:
            failure = (
                error
                if isinstance(error, Exception)
                else PrometheusUnavailable(
                    f"Prometheus at {conn.url}: the identical query in flight was cancelled"
                )
            )
            shared.set_exception(failure)
            shared.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            shared.set_result(samples)
            return samples
        finally:
            del self._in_flight[key]

    async def close(self) -> None:
        await self._http.close()

    async def _send(self, conn: Connection, expr: str, at: float | None) -> list[Sample]:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.sending += 1
        try:
            return await self._post(conn, expr, at)
        finally:
            self.sending -= 1
            self._slots.release()

    async def _post(self, conn: Connection, expr: str, at: float | None) -> list[Sample]:
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        headers = dict(conn.headers)
        own = {name.lower() for name in headers}
        headers |= {k: v for k, v in QUERY_HEADERS.items() if k.lower() not in own}
        if conn.basic_auth and "authorization" not in own:
            token = b64encode(":".join(conn.basic_auth).encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        checked = self._checked.get(conn.url)
        if checked is None or time.monotonic() - checked > DESTINATION_RECHECK:
            await _check_destination(conn, self._destinations)
            self._checked[conn.url] = time.monotonic()
        self.requests_sent += 1
        url = conn.url.rstrip("/") + "/api/v1/query"
        body = urlencode(params).encode()
        try:
            status, raw = await self._http.post(url, headers, body, conn.timeout, conn.ca_pem)
        except TimeoutError as error:
            raise PrometheusUnavailable(
                f"Prometheus at {conn.url} did not answer within {conn.timeout:g}s"
            ) from error
        except (OSError, HttpFailure) as error:
            reason = str(error) if isinstance(error, HttpFailure) else type(error).__name__
            raise PrometheusUnavailable(
                f"Prometheus at {conn.url} is unreachable: {reason}"
            ) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {}
        return _parse(conn.url, status, answer if isinstance(answer, dict) else {})


async def _check_destination(conn: Connection, policy: DestinationPolicy) -> None:
    """Refuse a server the policy does not allow, by name or by any address its name
    resolves to (resolved off the event loop, in the resolver's threads)."""
    host = urlsplit(conn.url).hostname
    if not host:
        return  # the HTTP client reports the malformed URL
    refusal = policy.refusal(host, ())
    if refusal is None:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, None), conn.timeout
            )
        except (OSError, TimeoutError):
            raise PrometheusUnavailable(
                f"Prometheus at {conn.url}: cannot resolve {host}"
            ) from None
        refusal = policy.refusal(host, (str(info[4][0]) for info in infos))
    if refusal is not None:
        raise DestinationRefused(f"Prometheus at {conn.url}: {refusal}")


MAX_ERROR = 500
"""Characters of Prometheus's own error message kept (it lands in status)."""


def _parse(url: str, status: int, body: dict[str, Any]) -> list[Sample]:
    if body.get("status") != "success":
        message = str(body.get("error") or f"HTTP {status}")[:MAX_ERROR]
        if body.get("errorType") in ("bad_data", "execution") and status < 500:
            raise QueryRejected(message)
        raise PrometheusUnavailable(f"Prometheus at {url} failed: {message}")
    data = body["data"]
    kind, result = data["resultType"], data["result"]
    if kind == "vector":
        return [
            Sample(MappingProxyType(dict(item["metric"])), float(item["value"][1]))
            for item in result
        ]
    if kind == "scalar":
        return [Sample(MappingProxyType({}), float(result[1]))]
    raise QueryRejected(f"the query returns a {kind}, not an instant vector or a scalar")
