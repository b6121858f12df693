"""Start kopf with Watchkeeper's settings, all in one place."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
from prometheus_client import start_http_server

from watchkeeper.handlers import (
    acknowledgement,
    alertpolicy,
    escalationpolicy,
    notificationchannel,
    objects,
    readiness,
    scalingpolicy,
)
from watchkeeper.kube.client import Kube
from watchkeeper.prometheus.client import PrometheusClient
from watchkeeper.runtime.config import OperatorConfig

PREFIX = "watchkeeper.io"
HANDLER_MODULES = (
    objects,
    readiness,
    alertpolicy,
    acknowledgement,
    notificationchannel,
    scalingpolicy,
    escalationpolicy,
)


async def _configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    config: OperatorConfig = memo.config
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.posting.level = logging.WARNING
    settings.batching.worker_limit = 32
    settings.watching.server_timeout = 300
    settings.execution.max_workers = 16
    settings.networking.request_timeout = 30
    settings.peering.standalone = config.peering is None
    if config.peering:
        settings.peering.name = config.peering
        settings.peering.mandatory = True
    memo.kube = await asyncio.to_thread(Kube.connect)
    memo.prometheus = PrometheusClient()
    if config.metrics_port is not None:
        start_http_server(config.metrics_port)


async def _cleanup(memo: kopf.Memo, **_: Any) -> None:
    await memo.prometheus.close()


def run_operator(config: OperatorConfig, verbose: bool = False) -> None:
    """Run until interrupted."""
    registry = kopf.OperatorRegistry()
    kopf.on.startup(registry=registry)(_configure)
    kopf.on.cleanup(registry=registry)(_cleanup)
    kopf.on.login(registry=registry)(kopf.login_via_client)
    for module in HANDLER_MODULES:
        module.register(registry, config)
    kopf.configure(verbose=verbose)
    kopf.run(
        registry=registry,
        standalone=config.peering is None,
        peering_name=config.peering,
        clusterwide=not config.namespaces,
        namespaces=list(config.namespaces),
        liveness_endpoint=config.liveness_endpoint,
        memo=kopf.Memo(config=config),
    )
