"""The operator's own key: a random secret in a Secret of the operator's namespace, read
(or created) once at start. It signs what only the operator may write (an Alert's
`status.proof`). Its value is never logged, and no message here contains it."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Callable

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from watchkeeper.kube.calls import KubeUnavailable, run_blocking
from watchkeeper.kube.secrets import find_secret

ALERT_KEY_SECRET = "watchkeeper-alert-key"
"""The Secret, in the operator's namespace (the Lease's, --lease-namespace)."""
KEY_FIELD = "key"
KEY_BYTES = 32
RETRY_SECONDS = 2.0


class KeyUnusable(Exception):
    """The Secret exists but holds no usable key (the message names it, never a value)."""


async def alert_key(
    api_client: client.ApiClient,
    namespace: str,
    unavailable: Callable[[KubeUnavailable], None],
) -> bytes:
    """The key, from the Secret, which is created with a random key if it does not exist
    (another replica creating it first is fine: its key is read). While the API server
    cannot be reached, `unavailable` is told and the read is tried again. A refusal (no
    rights) raises KubeRejected; a Secret without a usable key raises KeyUnusable."""
    core = client.CoreV1Api(api_client)
    while True:
        try:
            found = await run_blocking(_read_or_create, core, namespace)
        except KubeUnavailable as error:
            unavailable(error)
            await asyncio.sleep(RETRY_SECONDS)
            continue
        if found is None:
            raise KeyUnusable(
                f"Secret {ALERT_KEY_SECRET} in namespace {namespace} holds no usable "
                f"{KEY_FIELD!r} ({KEY_BYTES} bytes or more); delete it and the operator "
                "creates a new one (Alerts signed with the old key are then no longer trusted)"
            )
        return found


def _read_or_create(core: client.CoreV1Api, namespace: str) -> bytes | None:
    """Synchronous (runs in the Kubernetes pool); None when the Secret's key is unusable."""
    secret = find_secret(core, namespace, ALERT_KEY_SECRET)
    if secret is None:
        key = secrets.token_bytes(KEY_BYTES)
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=ALERT_KEY_SECRET, labels={"app.kubernetes.io/managed-by": "watchkeeper"}
            ),
            type="Opaque",
            data={KEY_FIELD: base64.b64encode(key).decode()},
        )
        try:
            core.create_namespaced_secret(namespace, body)
            return key
        except ApiException as error:
            if error.status != 409:
                raise
        secret = find_secret(core, namespace, ALERT_KEY_SECRET)  # created by another replica
        if secret is None:
            raise KubeUnavailable(f"Secret {ALERT_KEY_SECRET} was created and is gone again")
    encoded = (secret.data or {}).get(KEY_FIELD)
    try:
        key = base64.b64decode(encoded or "", validate=True)
    except ValueError:
        return None
    return key if len(key) >= KEY_BYTES else None
