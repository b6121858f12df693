"""Reading Secret values for the operator's own use (credentials); never logged.

Only Secrets that opted in (see `watchkeeper.kube.access`) are read: a Secret without the
label is reported by name, and its data is never decoded."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from watchkeeper.api.common import MissingReference, SecretKeyRef
from watchkeeper.kube.access import (
    DEFAULT_POLICY,
    ReferencePolicy,
    secret_allowed,
    secret_not_allowed,
)
from watchkeeper.kube.calls import KubeError, run_blocking

NOT_ALLOWED_REASON = "SecretNotAllowed"
"""Ready reason of an object that references a Secret without the opt-in label."""


class SecretUnavailable(Exception):
    """A referenced Secret or key is missing; the message names it, never a value."""


class SecretNotAllowed(SecretUnavailable):
    """The Secret exists but did not opt in to being read by the operator."""


async def read_secret_value(
    api_client: client.ApiClient,
    namespace: str,
    ref: SecretKeyRef,
    policy: ReferencePolicy = DEFAULT_POLICY,
) -> str:
    """The decoded value of one key of a Secret in `namespace`; SecretNotAllowed when the
    policy does not let the operator read it. SecretUnavailable is raised here, outside the
    worker thread, so that it reaches the caller as itself (not as a KubeError)."""
    try:
        secret = await run_blocking(find_secret, client.CoreV1Api(api_client), namespace, ref.name)
    except KubeError as error:
        raise SecretUnavailable(f"Secret {ref.name} could not be read: {error}") from None
    return _value(secret, namespace, ref, policy)


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


def _labels(secret: client.V1Secret) -> dict[str, str] | None:
    return secret.metadata.labels if secret.metadata else None


def check_secret_references(
    core: client.CoreV1Api,
    namespace: str,
    refs: Sequence[SecretKeyRef],
    policy: ReferencePolicy = DEFAULT_POLICY,
) -> list[MissingReference]:
    """Every Secret reference that cannot be used, explained by name and key only
    (synchronous: call it in a thread). Reasons: SecretNotFound, SecretNotAllowed,
    SecretKeyNotFound; the keys of a Secret that did not opt in are not looked at."""
    missing: list[MissingReference] = []
    secrets: dict[str, client.V1Secret | None] = {}
    for ref in refs:
        if ref.name not in secrets:
            secrets[ref.name] = find_secret(core, namespace, ref.name)
        secret = secrets[ref.name]
        if secret is None:
            missing.append(MissingReference("SecretNotFound", not_found(ref.name, namespace)))
        elif not secret_allowed(_labels(secret), policy):
            missing.append(MissingReference(NOT_ALLOWED_REASON, secret_not_allowed(ref.name)))
        elif ref.key not in (secret.data or {}):
            missing.append(MissingReference("SecretKeyNotFound", no_key(ref.name, ref.key)))
    return list(dict.fromkeys(missing))


def _value(
    secret: client.V1Secret | None, namespace: str, ref: SecretKeyRef, policy: ReferencePolicy
) -> str:
    if secret is None:
        raise SecretUnavailable(not_found(ref.name, namespace))
    if not secret_allowed(_labels(secret), policy):
        raise SecretNotAllowed(secret_not_allowed(ref.name))
    data: dict[str, bytes | str] = secret.data or {}
    if ref.key not in data:
        raise SecretUnavailable(no_key(ref.name, ref.key))
    return base64.b64decode(data[ref.key]).decode()
