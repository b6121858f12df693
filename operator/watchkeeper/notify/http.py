"""HTTP for every HTTP-based channel, once: a request description, the per-request
timeout, and which answers are retried (network errors, 429 with Retry-After, 5xx) and
which are not (any other 4xx). Error texts name the host, never the URL (it may hold a
token), and are scrubbed of secret values."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from watchkeeper.notify.sender import Permanent, SendContext, Transient

USER_AGENT = "watchkeeper"
# httpx logs every request's full URL at INFO (httpcore more at DEBUG); a channel's URL
# may hold a token, and secret values must never reach the log.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)
Check = Callable[[httpx.Response], None]
"""Looks at a 2xx answer and raises Permanent/Transient if the service reports an error
in the body (Slack answers 200 with {"ok": false})."""


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


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return f": {text[:200]}" if text else ""


async def send(
    ctx: SendContext, request: HttpRequest, check: Check | None = None
) -> httpx.Response:
    """Send `request` with retries and the channel's per-request timeout."""
    target = host_of(request.url)

    async def attempt() -> httpx.Response:
        try:
            response = await ctx.client.request(
                request.method,
                request.url,
                json=request.json,
                data=request.form,
                headers={"User-Agent": USER_AGENT, **request.headers},
                auth=request.auth,
                timeout=ctx.timeout,
            )
        except httpx.TimeoutException:
            raise Transient(f"no answer within {ctx.timeout:g}s") from None
        except httpx.TransportError as error:
            raise Transient(f"{type(error).__name__} {error}".strip()) from None
        status = response.status_code
        if status == httpx.codes.TOO_MANY_REQUESTS:
            wait = retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            raise Transient(f"HTTP 429 (rate limited){_excerpt(response)}", wait)
        if status >= 500:
            raise Transient(f"HTTP {status}{_excerpt(response)}")
        if status >= 300:
            raise Permanent(f"HTTP {status}{_excerpt(response)}")
        if check is not None:
            check(response)
        return response

    return await ctx.retrying(attempt, target)
