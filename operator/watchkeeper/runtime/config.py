"""Operator-wide settings, set once from the command line and handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorConfig:
    """What `watchkeeper run` was told."""

    prometheus_url: str = "http://localhost:9090"
    recheck_interval: float = 30.0
    namespaces: tuple[str, ...] = ()
    liveness_endpoint: str | None = None
    metrics_port: int | None = None
    peering: str | None = None
    alert_retention: float = 24 * 3600.0
    status_heartbeat: float = 60.0
