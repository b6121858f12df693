"""The runtime of one operator process: adapters, caches, the scheduler and the services
it runs, leadership and the health endpoints. kopf handlers only call `seen` and `gone`."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api import (
    ALERT,
    ALERT_POLICY,
    NOTIFICATION_CHANNEL,
    SCALING_POLICY,
    KindDefinition,
)
from watchkeeper.api.common import SecretKeyRef
from watchkeeper.kube.alerts import AlertStore
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.client import Kube
from watchkeeper.kube.events import Events
from watchkeeper.kube.keys import alert_key
from watchkeeper.kube.leases import Leases
from watchkeeper.kube.secrets import read_secret_value
from watchkeeper.notify.dispatch import Dispatcher
from watchkeeper.prometheus.client import PrometheusClient
from watchkeeper.runtime.alerting import AlertingService
from watchkeeper.runtime.channels import ChannelService
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.floors import register_floor_reconciliation
from watchkeeper.runtime.grouping import GroupService
from watchkeeper.runtime.health import Health
from watchkeeper.runtime.http import HealthServer
from watchkeeper.runtime.leadership import LeaderElector
from watchkeeper.runtime.memory import FIRST_FREEZE, FREEZE_JOB, register_memory_upkeep
from watchkeeper.runtime.metrics import LEADER, SHARD_INFO, observe_prometheus_client
from watchkeeper.runtime.objects import ObjectCache
from watchkeeper.runtime.readiness import JOB_KIND as READINESS_JOB
from watchkeeper.runtime.readiness import ReadinessService
from watchkeeper.runtime.rendering import BoundedRenderer, RenderLimits
from watchkeeper.runtime.scaling import ScalingService
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import Services
from watchkeeper.runtime.silences import register_silence_upkeep
from watchkeeper.runtime.workloads import Index, WorkloadIndex

LOGGER = logging.getLogger("watchkeeper.runtime")
DELIVERY_MANAGER = "watchkeeper-delivery"
"""Field manager of a channel's lastDelivery, counters and rateLimit (the dispatcher's)."""
PRIME_RETRY = 2.0
HEALTH_PROBE = timedelta(seconds=2)
READINESS_CONCURRENCY = 8
"""Reference checks running at once: thousands of new objects (each a status write and an
Event) must not keep evaluations from the Kubernetes client's threads."""


def identity() -> str:
    """This replica's name in the Lease: the Pod name where there is one."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}-{uuid.uuid4().hex[:6]}"


class Runtime:
    """Everything the operator runs, started by kopf's startup handler."""

    def __init__(self, config: OperatorConfig) -> None:
        self.config = config
        self.health = Health()
        self.objects = ObjectCache()
        self.scheduler = Scheduler(
            config.max_concurrent_jobs, self.health, limits={READINESS_JOB: READINESS_CONCURRENCY}
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.services: Services
        self.alerting: AlertingService
        self.readiness: ReadinessService
        self.scaling: ScalingService
        self.channels: ChannelService
        self.elector: LeaderElector | None = None

    @property
    def leading(self) -> bool:
        return self.scheduler.active.is_set()

    async def start(self, indexes: Mapping[str, Index]) -> None:
        """Start everything; `indexes` are kopf's indexes of workloads and autoscalers."""
        kube = Kube.connect()

        async def read_secret(namespace: str, ref: SecretKeyRef) -> str:
            return await read_secret_value(
                kube.api_client, namespace, ref, self.config.reference_policy
            )

        async def write_status(namespace: str, name: str, fields: dict[str, Any]) -> None:
            await kube.apply_status(
                NOTIFICATION_CHANNEL, namespace, name, fields, manager=DELIVERY_MANAGER
            )

        SHARD_INFO.labels(str(self.config.shard.index), str(self.config.shard.count)).set(1)
        key = await alert_key(  # before any evaluation: it decides which Alerts are ours
            kube.api_client,
            self.config.lease_namespace,
            lambda error: self.health.report("kubernetes", False, str(error)),
        )
        self.renderer = BoundedRenderer(RenderLimits(timeout=self.config.template_timeout))
        prometheus = PrometheusClient(self.config.max_prometheus_queries, self.config.destinations)
        observe_prometheus_client(prometheus)
        self.services = Services(
            config=self.config,
            kube=kube,
            alerts=AlertStore(kube.api_client),
            events=Events(kube.api_client),
            prometheus=prometheus,
            dispatcher=Dispatcher(
                read_secret,
                write_status,
                render=self.renderer,
                destinations=self.config.destinations,
            ),
            objects=self.objects,
            health=self.health,
            render=self.renderer,
            alert_key=key,
            workloads=WorkloadIndex(indexes, self.config.reference_policy),
        )
        self.alerting = AlertingService(self.services, self.scheduler)
        self.readiness = ReadinessService(self.services, self.scheduler)
        self.scaling = ScalingService(self.services, self.scheduler)
        register_floor_reconciliation(self.services, self.scheduler)
        register_silence_upkeep(self.services, self.scheduler)
        register_memory_upkeep(self.scheduler)
        self.channels = ChannelService(self.services, self.scheduler)
        self.services.groups = GroupService(self.services, self.scheduler)
        await self._prime()
        self.scheduler.upsert("health/kubernetes", "Health", HEALTH_PROBE, self._probe)
        self._spawn(self.scheduler.run_forever(), "scheduler")
        if self.config.metrics_port is not None:
            server = HealthServer(self.health, lambda: self.leading)
            self._spawn(
                server.serve(self.config.metrics_port, self.config.metrics_address), "health"
            )
        if self.config.leader_elect:
            lease = self.config.shard.lease_name(self.config.lease_name)
            leases = Leases(kube.api_client, self.config.lease_namespace, lease)
            self.elector = LeaderElector(leases, identity(), self._lead, self._stand_down)
            self._spawn(self.elector.run_forever(), "leader-election")
        else:
            await self._lead()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.alerting.stand_down()
        await self.services.prometheus.close()
        await self.services.dispatcher.aclose()
        await self.renderer.aclose()

    async def seen(self, kind: KindDefinition, body: Mapping[str, Any]) -> None:
        """A watched object was listed, created or changed."""
        self.objects.put(kind, body)
        self.readiness.upsert(kind, body)
        if kind is ALERT_POLICY:
            self.alerting.upsert(body)
        elif kind is SCALING_POLICY:
            self.scaling.upsert(body)
        elif kind is NOTIFICATION_CHANNEL and self.leading:
            await self.channels.maybe_test(body)

    async def gone(self, kind: KindDefinition, body: Mapping[str, Any]) -> None:
        """A watched object was deleted."""
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        self.objects.remove(kind, namespace, name)
        if kind is NOTIFICATION_CHANNEL:
            self.channels.forget(str(body["metadata"].get("uid")))
            self.services.groups.forget(namespace, name)
        self.readiness.remove(kind, namespace, name)
        if kind is ALERT_POLICY:
            await self.alerting.remove(namespace, name)
        elif kind is SCALING_POLICY:
            await self.scaling.remove(namespace, name)

    def workload_seen(self, kind: str, namespace: str, name: str, present: bool) -> None:
        """A watched workload (Deployment, StatefulSet) was listed, changed or left the
        watch."""
        self.readiness.workload_seen(kind, namespace, name, present)

    async def _prime(self) -> None:
        """Load every Alert of this shard's namespaces before the first evaluation (the
        watch then keeps them): the evaluators rebuild their state from them. Waits for
        the API server if it is down."""
        while True:
            try:
                alerts = await self.services.alerts.list_all(self.config.namespaces)
            except KubeError as error:
                self.health.report("kubernetes", False, str(error))
                await asyncio.sleep(PRIME_RETRY)
                continue
            self.health.report("kubernetes", True)
            for alert in alerts:
                if self.config.shard.carries(str(alert["metadata"]["namespace"])):
                    self.objects.put(ALERT, alert)
            return

    async def _probe(self, due: datetime) -> None:
        """While the API server is reported down, ask it whether it is back."""
        if "kubernetes" in self.health.problems():
            await self.services.kube.ping()
            self.health.report("kubernetes", True)

    async def _lead(self) -> None:
        LEADER.set(1)
        self.scheduler.lead()
        asyncio.get_running_loop().call_later(FIRST_FREEZE, self.scheduler.trigger, FREEZE_JOB)

    async def _stand_down(self) -> None:
        self.scheduler.active.clear()
        await self.alerting.stand_down()
        await self.scaling.stand_down()
        self.services.groups.stand_down()

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.create_task(self._guard(work, name), name=name)
        self._tasks.append(task)

    async def _guard(self, work: Any, name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            pass
        except Exception:  # a defect: say so loudly; readiness reports it
            LOGGER.exception("the %s loop stopped", name)
            self.health.report(name, False, "stopped on an unexpected error")
