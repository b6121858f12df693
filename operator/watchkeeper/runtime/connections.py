"""Build the Prometheus connection of a policy: the operator-wide URL, or the policy's own
server with credentials read from Secrets."""

from __future__ import annotations

from watchkeeper.api.common import SecretKeyRef
from watchkeeper.api.prometheus_source import PrometheusSource
from watchkeeper.kube.client import Kube
from watchkeeper.kube.secrets import SecretUnavailable, read_secret_value
from watchkeeper.notify.sender import control_character_problem
from watchkeeper.prometheus.client import Connection
from watchkeeper.runtime.config import OperatorConfig


async def resolve_connection(
    kube: Kube, config: OperatorConfig, namespace: str, source: PrometheusSource | None
) -> Connection:
    """The connection to query for a policy; raises SecretUnavailable if a Secret is missing."""
    if source is None:
        return Connection(url=config.prometheus_url)

    async def secret(ref: SecretKeyRef, multiline: bool = False) -> str:
        value = await read_secret_value(kube.api_client, namespace, ref, config.reference_policy)
        value = value if multiline else value.strip()
        problem = control_character_problem(ref, value, multiline)
        if problem is not None:
            raise SecretUnavailable(problem)
        return value

    headers: list[tuple[str, str]] = []
    if source.bearer_token_secret_ref:
        headers.append(("Authorization", f"Bearer {await secret(source.bearer_token_secret_ref)}"))
    for header in source.headers:
        headers.append((header.name, await secret(header.value_secret_ref)))
    basic_auth = None
    if source.basic_auth:
        basic_auth = (
            await secret(source.basic_auth.username_secret_ref),
            await secret(source.basic_auth.password_secret_ref),
        )
    return Connection(
        url=source.url or config.prometheus_url,
        headers=tuple(headers),
        ca_pem=await secret(source.ca_secret_ref, multiline=True) if source.ca_secret_ref else None,
        timeout=source.timeout.delta.total_seconds(),
        basic_auth=basic_auth,
    )
