"""Polling helpers for end-to-end tests: wait for a state, fail with what was last seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client

T = TypeVar("T")


def eventually(probe: Callable[[], T], check: Callable[[T], bool], timeout: float = 30.0) -> T:
    """Call `probe` until `check` accepts its result; fail with the last result."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s; last seen: {value!r}")
        time.sleep(0.2)


def get_object(
    api: client.CustomObjectsApi, plural: str, namespace: str, name: str
) -> dict[str, Any]:
    obj: dict[str, Any] = api.get_namespaced_custom_object(
        "watchkeeper.io", "v1alpha1", namespace, plural, name
    )
    return obj


def condition(obj: dict[str, Any], type_: str = "Ready") -> dict[str, Any]:
    """The condition of that type, or an empty dict."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond["type"] == type_:
            return dict(cond)
    return {}


def wait_ready(
    api: client.CustomObjectsApi,
    plural: str,
    namespace: str,
    name: str,
    status: str,
    reason: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Wait until Ready has `status` (and `reason`); return the object."""

    def matches(obj: dict[str, Any]) -> bool:
        cond = condition(obj)
        return cond.get("status") == status and (reason is None or cond.get("reason") == reason)

    return eventually(lambda: get_object(api, plural, namespace, name), matches, timeout)
