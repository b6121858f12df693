"""What every runtime service is given: the adapters, the dispatcher and the object cache.
Built once at startup; nothing here is per object."""

from __future__ import annotations

from dataclasses import dataclass, field

from watchkeeper.engine.templating import RenderAll
from watchkeeper.kube.alerts import AlertStore
from watchkeeper.kube.client import Kube
from watchkeeper.kube.events import Events
from watchkeeper.notify.dispatch import Dispatcher
from watchkeeper.prometheus.client import PrometheusClient
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.health import Health
from watchkeeper.runtime.objects import ObjectCache
from watchkeeper.runtime.silence_book import SilenceBook


@dataclass(frozen=True)
class PolicyRef:
    """An AlertPolicy (or ScalingPolicy) by identity."""

    namespace: str
    name: str
    uid: str


@dataclass
class Services:
    config: OperatorConfig
    kube: Kube
    alerts: AlertStore
    events: Events
    prometheus: PrometheusClient
    dispatcher: Dispatcher
    objects: ObjectCache
    health: Health
    render: RenderAll
    """User templates, rendered off the event loop within --template-timeout."""
    alert_key: bytes
    """Signs every Alert status the operator writes (`status.proof`); never logged."""
    silences: SilenceBook = field(default_factory=SilenceBook)
    """The watched Silences, parsed once per generation."""
