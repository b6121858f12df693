"""What limits a ScalingPolicy besides its metrics, read from the watch cache (no API
call per evaluation): the firing Alerts that hold its scale-down."""

from __future__ import annotations

from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.engine.scaling_hold import firing
from watchkeeper.runtime.muting import firing_sources
from watchkeeper.runtime.services import Services


def holding(services: Services, namespace: str, spec: ScalingPolicySpec) -> tuple[str, ...]:
    """The namespace's firing Alerts (whose status the operator wrote) that hold the
    policy's scale-down, sorted by name."""
    if spec.hold_scale_down is None:
        return ()
    matchers = spec.hold_scale_down.while_alerts_fire.matchers
    return firing(matchers, firing_sources(services, namespace))
