"""How a policy reaches Prometheus when it overrides the operator-wide connection."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .common import Between, Duration, SecretKeyRef, WatchkeeperModel


class BasicAuth(WatchkeeperModel):
    """HTTP basic authentication taken from a Secret."""

    username_secret_ref: SecretKeyRef = Field(description="Secret key holding the username.")
    password_secret_ref: SecretKeyRef = Field(description="Secret key holding the password.")


class SecretHeader(WatchkeeperModel):
    """An HTTP header whose value is taken from a Secret."""

    name: str = Field(min_length=1, max_length=256, description="Header name.")
    value_secret_ref: SecretKeyRef = Field(description="Secret key holding the header value.")


class PrometheusSource(WatchkeeperModel):
    """A Prometheus server other than the operator-wide one, with its credentials."""

    at_most_one_of = (("bearer_token_secret_ref", "basic_auth"),)

    url: str = Field(
        default="",
        max_length=2048,
        pattern=r"^(https?://.+)?$",
        description="Base URL of the Prometheus HTTP API, e.g. https://prometheus.monitoring:9090."
        " Empty means the operator-wide URL.",
    )
    bearer_token_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a bearer token sent with every query."
    )
    basic_auth: BasicAuth | None = Field(default=None, description="Basic authentication.")
    headers: list[SecretHeader] = Field(
        default_factory=list, max_length=16, description="Extra headers, values from Secrets."
    )
    ca_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a PEM CA bundle to verify the server."
    )
    timeout: Annotated[Duration, Between("100ms", "5m")] = Field(
        default=Duration("10s"), description="Timeout of one query."
    )
