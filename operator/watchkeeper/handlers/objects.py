"""Bridge until the scheduler lands: feeds the watched-object cache (runtime/objects.py)
from kopf's watch streams and builds the Services every runtime service is given."""

from __future__ import annotations

from typing import Any

import kopf

from watchkeeper.api import ESCALATION_POLICY, GROUP, NOTIFICATION_CHANNEL, SCALING_POLICY, VERSION
from watchkeeper.api.common import KindDefinition
from watchkeeper.kube.alerts import AlertStore
from watchkeeper.kube.events import Events
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.objects import ObjectCache
from watchkeeper.runtime.services import Services

CACHED = (NOTIFICATION_CHANNEL, ESCALATION_POLICY, SCALING_POLICY)


def services_of(memo: kopf.Memo) -> Services:
    """The operator's Services, built on first use (after every startup handler ran)."""
    if getattr(memo, "services", None) is None:
        kube = memo.kube
        memo.services = Services(
            config=memo.config,
            kube=kube,
            alerts=AlertStore(kube.api_client),
            events=Events(kube.api_client),
            prometheus=memo.prometheus,
            dispatcher=memo.dispatcher,
            objects=memo.objects,
        )
    services: Services = memo.services
    return services


def _watcher(kind: KindDefinition) -> Any:
    async def watch(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        if type == "DELETED":
            memo.objects.remove(kind, str(body.metadata.namespace), str(body.metadata.name))
        else:
            memo.objects.put(kind, dict(body))

    return watch


async def _start(memo: kopf.Memo, **_: Any) -> None:
    memo.objects = ObjectCache()
    memo.notifiers = {}


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    kopf.on.startup(registry=registry)(_start)
    for kind in CACHED:
        kopf.on.event(GROUP, VERSION, kind.plural, registry=registry, id=f"cache-{kind.plural}")(
            _watcher(kind)
        )
