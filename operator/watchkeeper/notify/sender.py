"""The one interface every channel type implements (`Sender`), what a send is given
(`SendContext`), and the shared retry loop every sender's requests go through."""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

import httpx

from watchkeeper.api.common import SecretKeyRef, WatchkeeperModel
from watchkeeper.api.destinations import DestinationPolicy
from watchkeeper.api.notificationchannel import (
    NotificationChannelSpec,
    NotificationChannelStatus,
)
from watchkeeper.engine.backoff import RetryPolicy, next_retry
from watchkeeper.notify.message import Event, Notification

T = TypeVar("T")
M = TypeVar("M", bound=WatchkeeperModel)
SecretReader = Callable[[str, SecretKeyRef], Awaitable[str]]
"""(namespace, ref) -> the Secret value; raises if it is missing (the message names no value)."""


@dataclass(frozen=True)
class Channel:
    """A NotificationChannel as the dispatcher needs it: identity, spec, last status."""

    namespace: str
    name: str
    uid: str
    spec: NotificationChannelSpec
    status: NotificationChannelStatus = field(default_factory=NotificationChannelStatus)

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Channel:
        """From the object as the API server returns it; raises ValidationError if invalid."""
        metadata = obj["metadata"]
        return cls(
            namespace=str(metadata["namespace"]),
            name=str(metadata["name"]),
            uid=str(metadata.get("uid") or f"{metadata['namespace']}/{metadata['name']}"),
            spec=NotificationChannelSpec.model_validate(dict(obj.get("spec") or {})),
            status=NotificationChannelStatus.model_validate(dict(obj.get("status") or {})),
        )


@dataclass(frozen=True)
class Message:
    """The rendered title and body (templates applied)."""

    title: str
    body: str


class DeliveryFailed(Exception):
    """A delivery failed for good; the message is scrubbed of secret values."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Transient(Exception):
    """One attempt failed in a way that may pass: network error, 429, 5xx."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """One attempt failed in a way that retrying cannot fix: a 4xx, a rejected login."""


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters and DEL: never part of a token, a key or a URL."""
LINE_BREAKS = re.compile("\r?\n")


def control_character_problem(ref: SecretKeyRef, value: str, multiline: bool) -> str | None:
    """Why a Secret value cannot be used (a control character inside it would smuggle more
    into a header or URL; line breaks are allowed when `multiline`, as in a PEM), naming
    the Secret and key, never the value; None when it is fine."""
    if CONTROL.search(LINE_BREAKS.sub("", value) if multiline else value):
        return (
            f"Secret {ref.name} key {ref.key} holds a control character (a line break?) "
            "inside its value; remove it"
        )
    return None


def _base64_cores(data: bytes) -> set[str]:
    """The base64 text `data` turns into wherever it sits in a longer encoded string
    (three alignments, without the characters its neighbours share)."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data + bytes(3)).decode()
        start, end = -(-8 * shift // 6), 8 * (shift + len(data)) // 6
        cores |= {encoded[start:end], encoded[start:end].replace("+", "-").replace("/", "_")}
    return {core for core in cores if len(core) >= 8}


def representations(value: str) -> set[str]:
    """The forms a value takes in error texts and payloads: as is, repr-, bytes-, JSON-
    and URL-escaped, and base64 (also inside a longer string, like basic auth)."""
    data = value.encode()
    forms = {
        value,
        repr(value)[1:-1],
        ascii(value)[1:-1],
        repr(data)[2:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        base64.b64encode(data).decode(),
        base64.urlsafe_b64encode(data).decode(),
    }
    if len(value) >= 6:
        forms |= _base64_cores(data)
    return {form for form in forms if form}


class Secrets:
    """Reads a channel's Secrets and remembers every value, to scrub it from any text."""

    MASK = "***"

    def __init__(self, reader: SecretReader, namespace: str) -> None:
        self._reader = reader
        self._namespace = namespace
        self._values: set[str] = set()

    async def get(self, ref: SecretKeyRef, *, multiline: bool = False) -> str:
        """The value (stripped of surrounding whitespace); remembered for scrubbing.

        A value with a control character inside (a line break unless `multiline`, as in
        a PEM certificate) is refused: in a header or URL it would smuggle more in.
        """
        try:
            value = (await self._reader(self._namespace, ref)).strip()
        except Exception as error:  # SecretUnavailable and API errors alike
            raise DeliveryFailed(self.scrub(str(error)), retryable=True) from None
        self._values.add(value)
        if "://" in value:  # a URL with a token: its path and query are secret on their own
            parts = urlsplit(value)
            self._values |= {p for p in (parts.path, parts.query) if len(p) >= 8}
        problem = control_character_problem(ref, value, multiline)
        if problem is not None:
            raise DeliveryFailed(problem, retryable=True)
        return value

    def scrub(self, text: str) -> str:
        """`text` with every secret value seen so far masked, in every representation,
        longest first."""
        forms = set().union(*(representations(v) for v in self._values if v))
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, self.MASK)
        return text


@dataclass
class SendContext:
    """Everything one delivery to one channel needs; senders read it, never the cluster."""

    channel: Channel
    notification: Notification
    message: Message
    secrets: Secrets
    client: httpx.AsyncClient
    retry: RetryPolicy
    timeout: float
    now: datetime
    sleep: Callable[[float], Awaitable[None]]
    draw: Callable[[], float] = random.random
    attempts: int = 0
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)

    def config(self, kind: type[M]) -> M:
        """The channel's config block, typed."""
        block = self.channel.spec.config
        if not isinstance(block, kind):
            raise DeliveryFailed(f"the channel has no {kind.__name__} block", retryable=False)
        return block

    async def retrying(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        """Run `operation` until it succeeds, fails permanently or retries run out.

        `what` names the target for error messages (a host, never a URL with a token).
        """
        failures = 0
        while True:
            self.attempts += 1
            try:
                return await operation()
            except Permanent as error:
                raise DeliveryFailed(self.secrets.scrub(f"{what}: {error}"), False) from None
            except Transient as error:
                failures += 1
                delay = next_retry(self.retry, failures, self.draw(), error.retry_after)
                if delay is None:
                    message = f"{what}: {error} (gave up after {failures} attempts)"
                    raise DeliveryFailed(self.secrets.scrub(message), True) from None
                await self.sleep(delay)


class Sender(Protocol):
    """One channel type. `events` are the transitions the service has a concept for (the
    rest are skipped); `stateful` services keep incidents open until told otherwise, so
    their Resolved and Acknowledged are never held back by the rate limit."""

    events: ClassVar[frozenset[Event]]
    stateful: ClassVar[bool]
    title_template: ClassVar[str]
    body_template: ClassVar[str]

    async def send(self, ctx: SendContext) -> None:
        """Deliver `ctx.message` for `ctx.notification`; raise DeliveryFailed on failure."""
        ...


ALERT_EVENTS = frozenset(
    {Event.FIRING, Event.SEVERITY_CHANGED, Event.REPEAT, Event.RESOLVED, Event.TEST, Event.SUMMARY}
)
"""Every event except Acknowledged: for services without an acknowledgement concept."""
ALL_EVENTS = frozenset(Event)
