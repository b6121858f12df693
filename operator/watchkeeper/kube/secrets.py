"""Reading Secret values for the operator's own use (credentials); never logged."""

from __future__ import annotations

import base64

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from watchkeeper.api.common import SecretKeyRef
from watchkeeper.kube.calls import run_blocking


class SecretUnavailable(Exception):
    """A referenced Secret or key is missing; the message names it, never a value."""


async def read_secret_value(api_client: client.ApiClient, namespace: str, ref: SecretKeyRef) -> str:
    """The decoded value of one key of a Secret in `namespace`."""
    return await run_blocking(_read, client.CoreV1Api(api_client), namespace, ref)


def not_found(name: str, namespace: str) -> str:
    return f"Secret {name} not found in namespace {namespace}"


def no_key(name: str, key: str) -> str:
    return f"Secret {name} has no key {key}"


def find_secret(core: client.CoreV1Api, namespace: str, name: str) -> client.V1Secret | None:
    """The Secret, or None when it does not exist (synchronous: call it in a thread)."""
    try:
        secret: client.V1Secret = core.read_namespaced_secret(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return secret


def _read(core: client.CoreV1Api, namespace: str, ref: SecretKeyRef) -> str:
    try:
        secret = find_secret(core, namespace, ref.name)
    except ApiException as error:
        raise SecretUnavailable(
            f"Secret {ref.name} could not be read (HTTP {error.status})"
        ) from None
    if secret is None:
        raise SecretUnavailable(not_found(ref.name, namespace))
    data: dict[str, bytes | str] = secret.data or {}
    if ref.key not in data:
        raise SecretUnavailable(no_key(ref.name, ref.key))
    return base64.b64decode(data[ref.key]).decode()
