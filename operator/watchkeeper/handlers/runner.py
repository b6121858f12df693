"""Start kopf with Watchkeeper's settings, all in one place.

kopf only watches: every handler is an `on.event` that hands the object to the runtime
(no finalizers, no progress annotations, no daemons or timers per object). Events are
posted by the runtime itself (kube/events.py), so kopf's posting level only concerns
kopf's own messages. Leader election is ours (a Lease, see runtime/leadership.py), not
kopf's peering, so every replica runs standalone and keeps its caches warm."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from watchkeeper.handlers import acknowledgement, kopf_toggles, objects, workloads
from watchkeeper.handlers.sharding import shard_filter
from watchkeeper.kube.access import ALLOW_SCALING_LABEL, ALLOWED, ReferencePolicy
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.logcontext import JobContextFilter
from watchkeeper.runtime.workloads import AUTOSCALER_RESOURCES, PODS, WORKLOAD_RESOURCES

PREFIX = "watchkeeper.io"
LOG_FORMATS = {"text": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}
"""--log-format: text lines prefixed with [namespace/name], or one JSON object a line with
the object (`object`), the run (`correlation_id`, `job`), `severity` and `timestamp`."""


class RepeatedRetries(logging.Filter):
    """During an API-server outage kopf logs every retry of every watch request: keep the
    first failure of each request, drop the repeats (the runtime's health log says when
    the API server is back)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith("Request attempt #") or message.startswith(
            "Request attempt #1 "
        )


class ForeverBackoffs:
    """kopf's API retries, never exhausted (an exhausted retry ends the operator)."""

    def __iter__(self) -> Any:
        yield from (1, 2, 5)
        while True:
            yield 10


async def _configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.posting.level = logging.WARNING  # kopf's own messages; ours go through kube/
    # One worker per object that has events; each lingers idle_timeout after its last one.
    # A worker limit would pace the initial listing at limit/idle_timeout objects a second
    # (64 workers idling 5 s took a minute to see 1,000 policies), so there is none.
    settings.batching.worker_limit = None
    settings.batching.idle_timeout = 1.0
    settings.watching.server_timeout = 300
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 30
    settings.networking.error_backoffs = ForeverBackoffs()
    settings.peering.standalone = True
    runtime: Runtime = memo.runtime
    if runtime.config.reference_policy is ReferencePolicy.LABEL:  # only opted-in workloads
        for resource in WORKLOAD_RESOURCES:
            selector = f"{ALLOW_SCALING_LABEL}={ALLOWED}"
            settings.watching.label_selectors[resource.group, resource.plural] = selector
    indexed = (*WORKLOAD_RESOURCES, *AUTOSCALER_RESOURCES, PODS)
    await runtime.start({r.index: kwargs[r.index] for r in indexed})


async def _cleanup(memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime = memo.runtime
    await runtime.stop()


def run_operator(config: OperatorConfig, verbose: bool = False, log_format: str = "text") -> None:
    """Run until interrupted."""
    kopf_toggles.install()  # before kopf builds its index barrier
    registry = kopf.OperatorRegistry()
    kopf.on.startup(registry=registry)(_configure)
    kopf.on.cleanup(registry=registry)(_cleanup)
    kopf.on.login(registry=registry)(kopf.login_via_client)
    when = shard_filter(config.shard)  # a shard's replicas see only its namespaces
    objects.register(registry, when)
    workloads.register(registry, when)
    acknowledgement.register(registry, when)
    # Text lines get a [namespace/name] prefix; JSON lines carry it as `object` instead.
    kopf.configure(
        verbose=verbose, log_format=LOG_FORMATS[log_format], log_prefix=log_format == "text"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatedRetries())
        handler.addFilter(JobContextFilter())
    if not verbose:  # routine success is not news: kopf's per-handler and access lines
        for name in ("kopf.objects", "aiohttp.access"):
            logging.getLogger(name).setLevel(logging.WARNING)
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=not config.namespaces,
        namespaces=list(config.namespaces),
        liveness_endpoint=config.liveness_endpoint,
        memo=kopf.Memo(runtime=Runtime(config)),
    )
