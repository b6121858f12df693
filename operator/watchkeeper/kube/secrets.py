"""Reading Secret values for the operator's own use (credentials); never logged."""

from __future__ import annotations

import asyncio
import base64

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from watchkeeper.api.common import SecretKeyRef


class SecretUnavailable(Exception):
    """A referenced Secret or key is missing; the message names it, never a value."""


async def read_secret_value(api_client: client.ApiClient, namespace: str, ref: SecretKeyRef) -> str:
    """The decoded value of one key of a Secret in `namespace`."""
    return await asyncio.to_thread(_read, client.CoreV1Api(api_client), namespace, ref)


def _read(core: client.CoreV1Api, namespace: str, ref: SecretKeyRef) -> str:
    try:
        secret = core.read_namespaced_secret(ref.name, namespace)
    except ApiException as error:
        if error.status == 404:
            raise SecretUnavailable(
                f"Secret {ref.name} not found in namespace {namespace}"
            ) from None
        raise SecretUnavailable(
            f"Secret {ref.name} could not be read (HTTP {error.status})"
        ) from None
    data: dict[str, bytes | str] = secret.data or {}
    if ref.key not in data:
        raise SecretUnavailable(f"Secret {ref.name} has no key {ref.key}")
    return base64.b64decode(data[ref.key]).decode()
