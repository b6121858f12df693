"""Every blocking Kubernetes call goes through `run_blocking`: a bounded, named thread
pool (never asyncio's default executor), and typed errors instead of whatever the client
raised. Each request also carries a timeout (see `TimedApiClient`)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError

P = ParamSpec("P")
T = TypeVar("T")

REQUEST_TIMEOUT = (5.0, 30.0)
"""(connect, read) seconds for every request the operator makes."""
MAX_THREADS = 16
"""Concurrent blocking Kubernetes calls; more wait for a free thread."""


class KubeError(Exception):
    """A Kubernetes API call failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KubeUnavailable(KubeError):
    """The API server could not be reached, timed out, throttled or failed (5xx, 429):
    hold state and try again."""


class KubeRejected(KubeError):
    """The API server refused the request (4xx other than 429): retrying the same request
    will not help."""


class TimedApiClient(client.ApiClient):
    """The official client with a default timeout on every request."""

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("_request_timeout"):
            kwargs["_request_timeout"] = REQUEST_TIMEOUT
        return super().call_api(*args, **kwargs)


_EXECUTOR = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="kube")


CLIENT_ERRORS = (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError, TimeoutError)
"""What the Kubernetes client raises; our adapters' own errors pass through unchanged."""


def typed(error: BaseException) -> KubeError:
    """The typed form of an exception raised by the Kubernetes client."""
    status = getattr(error, "status", None)
    if isinstance(error, ApiException | DynamicApiError) and isinstance(status, int):
        reason = getattr(error, "reason", "") or ""
        message = f"the API server answered HTTP {status} {reason}".rstrip()
        if status == 429 or status >= 500:
            return KubeUnavailable(message, status)
        return KubeRejected(message, status)
    return KubeUnavailable(f"the API server is unreachable: {type(error).__name__}")


async def run_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call in the Kubernetes pool; client errors become KubeError."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_EXECUTOR, functools.partial(fn, *args, **kwargs))
    except CLIENT_ERRORS as error:
        raise typed(error) from None
