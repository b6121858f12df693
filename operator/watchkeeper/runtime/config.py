"""Operator-wide settings, set once from the command line and handed to every service."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.api.destinations import DestinationPolicy
from watchkeeper.engine.sharding import Shard
from watchkeeper.kube.access import ReferencePolicy


@dataclass(frozen=True)
class OperatorConfig:
    """What `watchkeeper run` was told."""

    prometheus_url: str = "http://localhost:9090"
    recheck_interval: float = 30.0
    namespaces: tuple[str, ...] = ()
    liveness_endpoint: str | None = None
    metrics_port: int | None = None
    metrics_address: str = "0.0.0.0"
    alert_retention: float = 24 * 3600.0
    silence_retention: float = 120 * 3600.0
    status_heartbeat: float = 300.0
    max_concurrent_jobs: int = 64
    max_prometheus_queries: int = 32
    leader_elect: bool = False
    lease_namespace: str = "default"
    lease_name: str = "watchkeeper-leader"
    shard: Shard = field(default_factory=Shard)
    """The namespaces this replica carries (--shards, --shard); its Lease is per shard."""
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)
    template_timeout: float = 1.0
    reference_policy: ReferencePolicy = ReferencePolicy.LABEL
