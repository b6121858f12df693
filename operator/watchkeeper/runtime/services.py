"""What every runtime service is given: the adapters, the dispatcher and the object cache.
Built once at startup; nothing here is per object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchkeeper.api import ALERT_POLICY
from watchkeeper.engine.inhibition import InhibitRule
from watchkeeper.engine.silences import Silence
from watchkeeper.engine.templating import RenderAll
from watchkeeper.engine.timeintervals import TimeInterval
from watchkeeper.kube.alerts import AlertStore
from watchkeeper.kube.client import Kube
from watchkeeper.kube.events import Events
from watchkeeper.notify.dispatch import Dispatcher
from watchkeeper.prometheus.client import PrometheusClient
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.health import Health
from watchkeeper.runtime.objects import ObjectCache
from watchkeeper.runtime.routing_objects import (
    ParsedObjects,
    inhibit_rule_objects,
    silence_objects,
    time_interval_objects,
)
from watchkeeper.runtime.workloads import WorkloadIndex

if TYPE_CHECKING:
    from watchkeeper.runtime.grouping import GroupService


@dataclass(frozen=True)
class PolicyRef:
    """An AlertPolicy (or a ScalingPolicy, owner of its budget warnings) by identity."""

    namespace: str
    name: str
    uid: str
    kind: str = ALERT_POLICY.kind


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
    workloads: WorkloadIndex
    """Scale targets and other autoscalers, from kopf's indexes."""
    silences: ParsedObjects[Silence] = field(default_factory=silence_objects)
    """The watched Silences, parsed once per generation."""
    inhibit_rules: ParsedObjects[InhibitRule] = field(default_factory=inhibit_rule_objects)
    """The watched InhibitRules, parsed once per generation."""
    time_intervals: ParsedObjects[TimeInterval] = field(default_factory=time_interval_objects)
    """The watched TimeIntervals, parsed once per generation."""
    groups: GroupService = field(init=False)
    """Grouped notifications (set once the scheduler exists)."""
