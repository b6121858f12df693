"""End to end: a ScalingPolicy's schedule raises minReplicas while its TimeInterval is
active; a missing TimeInterval is reported by Ready and raises nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.kubectl import kubectl, watchkeeper_object
from tests.test_scalingpolicy import (
    PLURAL,
    apply,
    deployment,
    replicas,
    scaling_policy,
    status,
    wait_replicas,
)
from tests.waiting import condition, eventually, wait_ready

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOAD = "wk_schedule_load"


def test_an_active_time_interval_raises_min_replicas(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    exporter.set(LOAD, 50)  # asks for 1 replica at 100 each
    deployment(apps_v1, namespace, "web", 1)
    schedules = [{"timeIntervals": ["peak"], "minReplicas": 4}]
    try:
        apply(
            kubeconfig,
            namespace,
            scaling_policy(
                "web",
                LOAD,
                behavior={"scaleDown": {"stabilizationWindow": "0s"}},
                schedules=schedules,
            ),
        )
        missing = wait_ready(custom_objects, PLURAL, namespace, "web", "False", "ReferenceNotFound")
        assert condition(missing)["message"].startswith(
            f"TimeInterval peak not found in namespace {namespace}"
        )
        eventually(lambda: status(custom_objects, namespace, "web").get("schedule"), bool)
        assert status(custom_objects, namespace, "web")["schedule"] == {"timeIntervals": []}
        assert replicas(apps_v1, namespace, "web") == 1

        year = str(datetime.now(UTC).year)
        peak = watchkeeper_object("TimeInterval", "peak", {"intervals": [{"years": [year]}]})
        apply(kubeconfig, namespace, peak)
        wait_replicas(apps_v1, namespace, "web", 4)
        wait_ready(custom_objects, PLURAL, namespace, "web", "True")
        schedule = eventually(
            lambda: status(custom_objects, namespace, "web")["schedule"],
            lambda s: s.get("minReplicas") == 4,
        )
        assert schedule["timeIntervals"] == ["peak"]

        kubectl(kubeconfig, "delete", "timeinterval", "peak", "-n", namespace)
        wait_replicas(apps_v1, namespace, "web", 1)
        wait_ready(custom_objects, PLURAL, namespace, "web", "False", "ReferenceNotFound")
    finally:
        exporter.remove(LOAD)
