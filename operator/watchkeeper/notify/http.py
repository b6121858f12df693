"""HTTP for every HTTP-based channel, once: a request description, the destination
policy, the per-request timeout, and which answers are retried (network errors, 429 with
Retry-After, 5xx) and which are not (any other 4xx, a refused destination). Error texts
name the host, never the URL (it may hold a token), carry the status code and its standard
reason, never the body of the answer (the receiver may be anything), and are scrubbed of
secret values."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from watchkeeper.api.destinations import DestinationPolicy
from watchkeeper.notify.sender import Permanent, SendContext, Transient

USER_AGENT = "watchkeeper"
# httpx logs every request's full URL at INFO (httpcore more at DEBUG); a channel's URL
# may hold a token, and secret values must never reach the log.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)
Check = Callable[[bytes], None]
"""Looks at the body of a 2xx answer and raises Permanent/Transient if the service reports
an error in it (Slack answers 200 with {"ok": false})."""
MAX_ANSWER = 64 * 1024
"""Bytes of an answer that are read; the rest is never read."""


@dataclass(frozen=True)
class HttpRequest:
    """One request: JSON body, or form fields, or neither."""

    method: str
    url: str
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None


def host_of(url: str) -> str:
    """Scheme, host and port of a URL: safe to show."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def status_text(status: int) -> str:
    """`HTTP 404 Not Found`: the code and its standard reason, not the server's."""
    reason = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {reason}".strip()


async def check_destination(host: str | None, policy: DestinationPolicy, timeout: float) -> None:
    """Resolve `host` (off the event loop, in the resolver's threads) and raise Permanent
    if the policy refuses any of its addresses, Transient if it does not resolve."""
    if not host:
        return  # the client reports the malformed URL
    refusal = policy.refusal(host, ())  # a metadata name or address: no lookup needed
    if refusal is None:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, None), timeout
            )
        except (OSError, TimeoutError):
            raise Transient(f"cannot resolve {host}") from None
        refusal = policy.refusal(host, (str(info[4][0]) for info in infos))
    if refusal is not None:
        raise Permanent(refusal)


def check_peer(response: httpx.Response, policy: DestinationPolicy) -> None:
    """The address the answer came from, checked again: DNS may have changed after the
    check (rebinding); such an answer is dropped unread."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer:
        refusal = policy.refusal(str(peer[0]), ())
        if refusal is not None:
            raise Permanent(refusal)


async def _exchange(ctx: SendContext, request: HttpRequest) -> tuple[httpx.Response, bytes]:
    """One request; at most MAX_ANSWER bytes of the answer are read, all within the
    channel's timeout (a receiver that drips its answer is cut off)."""
    built = ctx.client.build_request(
        request.method,
        request.url,
        json=request.json,
        data=request.form,
        headers={"User-Agent": USER_AGENT, **request.headers},
        timeout=ctx.timeout,
    )
    async with asyncio.timeout(ctx.timeout):
        response = await ctx.client.send(
            built, auth=request.auth or httpx.USE_CLIENT_DEFAULT, stream=True
        )
        try:
            check_peer(response, ctx.destinations)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_ANSWER:
                    break
            return response, bytes(body[:MAX_ANSWER])
        finally:
            await response.aclose()


async def send(ctx: SendContext, request: HttpRequest, check: Check | None = None) -> None:
    """Send `request` with retries and the channel's per-request timeout."""
    target = host_of(request.url)

    async def attempt() -> None:
        await check_destination(urlsplit(request.url).hostname, ctx.destinations, ctx.timeout)
        try:
            response, body = await _exchange(ctx, request)
        except (httpx.TimeoutException, TimeoutError):
            raise Transient(f"no answer within {ctx.timeout:g}s") from None
        except httpx.TransportError as error:
            raise Transient(f"{type(error).__name__} {error}".strip()) from None
        status = response.status_code
        if status == httpx.codes.TOO_MANY_REQUESTS:
            wait = retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            raise Transient(status_text(status), wait)
        if status >= 500:
            raise Transient(status_text(status))
        if status >= 300:
            raise Permanent(status_text(status))
        if check is not None:
            check(body)

    await ctx.retrying(attempt, target)
